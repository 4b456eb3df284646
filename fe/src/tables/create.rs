//! CREATE TABLE on the BEs: CREATE tasks for every replica, run and waited for; the
//! catalog registers the table only once the BEs made their part, so a failure never
//! leaves a half-made table visible.


use doris_thrift::agent_service::TCreateTabletReq;
use tracing::{info, info_span, warn, Instrument};

use super::drop::drop_tablets;
use crate::binlog::ddl::{to_json, CreateTableRecord};
use crate::binlog::{keeps, Binlog, BinlogKind};
use crate::persist::Kind;
use crate::catalog::spec::{build_table, CreateTableSpec};
use crate::catalog::{check_name, CatalogError, OlapTable, Partition};
use super::TableDdl;
use crate::context::FeContext;
use crate::system::task_queue::AgentTask;
use doris_thrift::task_body::TaskBody;

/// Ok(false) when the table existed and IF NOT EXISTS was given.
pub async fn create_table(ctx: &TableDdl, spec: &CreateTableSpec) -> Result<bool, CatalogError> {
    check_name(&spec.name, "table")?;
    let db = ctx.catalog.database(&spec.db).ok_or_else(|| CatalogError::UnknownDatabase(spec.db.clone()))?;
    if ctx.catalog.table_exists(db.id, &spec.name) {
        return if spec.if_not_exists { Ok(false) } else { Err(CatalogError::TableExists(spec.name.clone())) };
    }
    let alive = ctx.backends.alive_ids();
    let table = build_table(spec, db.id, &alive, || Ok(ctx.store.next_id()?), FeContext::now_ms())?;
    let span = info_span!("create_table", table_id = table.id, table = %table.name);
    async {
        let tasks = create_tasks(ctx, &table, &table.partitions)?;
        let n = tasks.len();
        let timeout = ctx.config.create_timeout(n);
        if let Err(e) = ctx.tasks.run(tasks, timeout).await {
            warn!(error = %e, "creating tablets failed; dropping what was made");
            drop_tablets(ctx, &table).await;
            return Err(CatalogError::CreateTablets(format!("Failed to create table {}: {e}", table.name)));
        }
        // The CREATE_TABLE binlog of a table (or database) that keeps them, with the table.
        let wanted = keeps(ctx.config.enable_feature_binlog, &db, Some(&table));
        let registered = ctx.binlogs.record(ctx.catalog.store(), db.id, wanted, |seq| {
            let entry = seq.map(|seq| {
                let record = CreateTableRecord {
                    commit_seq: seq,
                    db_id: db.id,
                    table_id: table.id,
                    sql: table.create_table_ddl(),
                    db_name: db.name.clone(),
                    table_name: table.name.clone(),
                };
                Binlog::of_change(BinlogKind::CreateTable, seq, db.id, vec![table.id], to_json(&record), table.create_time_ms)
            });
            ctx.catalog
                .register_table_and(table.clone(), |w, _| entry.as_ref().map_or(Ok(()), |b| w.put(Kind::Binlog, b.commit_seq, b)))
                .map(|()| ((), entry.clone()))
        });
        if let Err(e) = registered {
            drop_tablets(ctx, &table).await;
            return match e {
                CatalogError::TableExists(_) if spec.if_not_exists => Ok(false),
                e => Err(e),
            };
        }
        info!(replicas = n, "table created");
        Ok(true)
    }
    .instrument(span)
    .await
}

/// The CREATE tasks that make every replica of `partitions` (of `table`) on its backend:
/// CREATE TABLE's for all its partitions, a restore's for a partition it adds.
pub fn create_tasks<'a>(
    ctx: &TableDdl,
    table: &OlapTable,
    partitions: impl IntoIterator<Item = &'a Partition>,
) -> Result<Vec<AgentTask>, CatalogError> {
    let schema = table.tablet_schema();
    let policy_id = ctx.policies.policy(&table.storage_policy).map(|p| p.id);
    let mut tasks = Vec::new();
    for p in partitions {
        for (tablet, r) in p.index.tablets.iter().flat_map(|t| t.replicas.iter().map(move |r| (t, r))) {
            let be = ctx.backends.get(r.backend_id);
            let addr = be.as_ref().and_then(|b| b.be_addr()).ok_or_else(|| {
                CatalogError::CreateTablets(format!(
                    "backend {} has not answered a heartbeat yet, its be_port is unknown",
                    r.backend_id
                ))
            })?;
            let req = TCreateTabletReq::new(
                tablet.id,
                Box::new(schema.clone()),
                p.visible_version,
                p.storage_medium.to_thrift(),
                false,
                table.id,
                p.id,
                r.id,
                None,
            );
            let mut req = req;
            // A restored table may name a policy this cluster lacks: it just does not cool down.
            req.storage_policy_id = policy_id;
            let t = TaskBody::Create(req).into_request(ctx.store.next_id()?);
            tasks.push(AgentTask { backend_id: r.backend_id, addr, request: t });
        }
    }
    Ok(tasks)
}
