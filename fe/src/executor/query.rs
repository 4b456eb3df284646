//! Queries and INSERT: planned and run by the query engine (`crate::query`); a query's
//! answer spelled as a MySQL result set, an INSERT's rows loaded (`crate::load::insert`,
//! `crate::load::overwrite`).

use crate::context::Ctx;
use crate::error::FeError;
use crate::load::insert::InsertTarget;
use crate::load::txn::TxnStore;
use crate::mysql::{query_output, QueryOutput};
use crate::mysql::Value;
use crate::query::{QueryEngine, QueryEnv, SysVar};
use crate::workload::WorkloadGroups;
use crate::sql::InsertStmt;
use crate::tables::TableDdl;

/// The session's `query_timeout` (seconds), which also bounds a wait in the query queue.
pub fn timeout(env: &QueryEnv) -> std::time::Duration {
    match env.variables.session.get("query_timeout") {
        Some(SysVar::Int(s)) if *s > 0 => std::time::Duration::from_secs(*s as u64),
        _ => std::time::Duration::from_secs(900),
    }
}

/// SHOW WORKLOAD GROUPS.
pub fn show_workload_groups(groups: &WorkloadGroups, like: Option<&str>) -> QueryOutput {
    let rows = groups.show(like).into_iter().map(|r| r.into_iter().map(Value::from).collect()).collect();
    QueryOutput::text_rows(&crate::workload::show_columns(), rows)
}

pub async fn run(_ctx: &Ctx, engine: &QueryEngine, sql: &str, env: &QueryEnv) -> Result<QueryOutput, FeError> {
    query_output(&engine.run(sql, env).await?)
}

pub async fn insert(
    ddl: &TableDdl,
    txns: &TxnStore,
    engine: &QueryEngine,
    stmt: InsertStmt,
    env: &QueryEnv,
) -> Result<QueryOutput, FeError> {
    let db = match stmt.table.db {
        Some(db) => db,
        None => env.current_db.clone().ok_or(FeError::NoDatabaseSelected)?,
    };
    let table = stmt.table.table;
    ddl.users.require(&env.identity(), &crate::auth::Scope::table(&db, &table), crate::auth::Priv::Load)?;
    ddl.catalog.table(&db, &table)?;
    let rows = engine.run(&stmt.source, env).await?;
    let target = InsertTarget {
        db,
        table,
        columns: stmt.columns,
        label: stmt.label,
        partitions: stmt.partitions,
        temporary: false,
        user: env.user.clone(),
    };
    let done = if stmt.overwrite {
        crate::load::overwrite::overwrite(ddl, txns, &target, &rows.batches).await?
    } else {
        crate::load::insert::insert(ddl, txns, &target, &rows.batches).await?
    };
    // Upstream's OK info for an INSERT.
    let info = format!("{{'label':'{}', 'status':'VISIBLE', 'txnId':'{}'}}", done.label, done.txn_id);
    Ok(QueryOutput::Ok { affected_rows: done.rows, info })
}
