//! Queries and INSERT: planned and run by the query engine (`crate::query`); a query's
//! answer spelled as a MySQL result set, an INSERT's rows loaded (`crate::load::insert`).

use crate::context::Ctx;
use crate::error::FeError;
use crate::mysql::{query_output, QueryOutput};
use crate::query::{Outcome, QueryEngine, QueryEnv};

pub async fn run(ctx: &Ctx, engine: &QueryEngine, sql: &str, env: &QueryEnv) -> Result<QueryOutput, FeError> {
    match engine.execute(sql, env).await? {
        Outcome::Rows(result) => query_output(&result),
        Outcome::Insert(rows) => {
            let target = crate::auth::Scope::table(&rows.db, &rows.table);
            ctx.users.require(&env.user, &target, crate::auth::Priv::Load)?;
            let done = crate::load::insert::insert(ctx, &rows.db, &rows.table, &rows.columns, &rows.batches).await?;
            // Upstream's OK info for an INSERT.
            let info = format!("{{'label':'{}', 'status':'VISIBLE', 'txnId':'{}'}}", done.label, done.txn_id);
            Ok(QueryOutput::Ok { affected_rows: done.rows, info })
        }
    }
}
