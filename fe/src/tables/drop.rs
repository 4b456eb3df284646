//! DROP TABLE / DATABASE on the BEs: the catalog forgets the table first, then the BEs
//! are told to drop its replicas (failures are logged; the BEs' reports show leftovers).

use doris_thrift::agent_service::TDropTabletReq;
use tracing::warn;

use crate::binlog::ddl::{to_json, DropTableRecord};
use crate::binlog::{keeps, Binlog, BinlogKind};
use crate::catalog::{CatalogError, OlapTable, Partition};
use crate::persist::Kind;
use super::TableDdl;
use crate::system::task_queue::AgentTask;
use doris_thrift::task_body::TaskBody;

/// Tell the BEs to drop every replica of the table, restoring and temporary partitions included;
/// failures are logged, the BEs' own reports will show leftovers.
pub async fn drop_tablets(ctx: &TableDdl, table: &OlapTable) {
    drop_partition_tablets(ctx, table.id, table.all_partitions()).await
}

/// Tell the BEs to drop every replica of `partitions` (of table `table_id`); failures are
/// logged, the BEs' own reports will show leftovers.
pub async fn drop_partition_tablets<'a>(
    ctx: &TableDdl,
    table_id: i64,
    partitions: impl IntoIterator<Item = &'a Partition>,
) {
    let mut tasks = Vec::new();
    for p in partitions {
        let schema_hash = p.index.schema_hash;
        for (tablet, r) in p.index.tablets.iter().flat_map(|t| t.replicas.iter().map(move |r| (t, r))) {
            let Some(addr) = ctx.backends.get(r.backend_id).and_then(|b| b.be_addr()) else { continue };
            let Ok(sig) = ctx.store.next_id() else { continue };
            let t = TaskBody::Drop(TDropTabletReq::new(tablet.id, schema_hash, r.id, true)).into_request(sig);
            tasks.push(AgentTask { backend_id: r.backend_id, addr, request: t });
        }
    }
    for e in ctx.tasks.submit(tasks).await {
        warn!(table_id, error = %e, "DROP tasks not delivered");
    }
}

/// Ok(false) when absent and IF EXISTS was given.
/// `force`: also a table a restore is writing into (that restore then fails).
/// A table that keeps binlogs (or of a database that does) writes its DROP_TABLE entry.
pub async fn drop_table(ctx: &TableDdl, db: &str, name: &str, if_exists: bool, force: bool) -> Result<bool, CatalogError> {
    let d = ctx.catalog.database(db).ok_or_else(|| CatalogError::UnknownDatabase(db.to_string()))?;
    let current = ctx.catalog.table(db, name).ok();
    let wanted = keeps(ctx.config.enable_feature_binlog, &d, current.as_deref());
    let now = crate::context::FeContext::now_ms();
    let dropped = ctx.binlogs.record(ctx.catalog.store(), d.id, wanted, |seq| {
        let mut entry = None;
        let t = ctx.catalog.drop_table_and(db, name, if_exists, force, |w, t| {
            entry = seq.map(|seq| {
                let record = DropTableRecord {
                    commit_seq: seq,
                    db_id: t.db_id,
                    table_id: t.id,
                    table_name: t.name.clone(),
                    is_view: false,
                    raw_sql: format!("DROP TABLE `{}`{}", t.name, if force { " FORCE" } else { "" }),
                };
                Binlog::of_change(BinlogKind::DropTable, seq, t.db_id, vec![t.id], to_json(&record), now)
            });
            entry.as_ref().map_or(Ok(()), |b| w.put(Kind::Binlog, b.commit_seq, b))
        })?;
        Ok::<_, CatalogError>((t, entry))
    })?;
    match dropped {
        Some(t) => {
            drop_tablets(ctx, &t).await;
            Ok(true)
        }
        None => Ok(false),
    }
}

pub async fn drop_database(ctx: &TableDdl, name: &str, if_exists: bool, force: bool) -> Result<bool, CatalogError> {
    match ctx.catalog.drop_database(name, if_exists, force)? {
        Some(tables) => {
            for t in &tables {
                drop_tablets(ctx, t).await;
            }
            Ok(true)
        }
        None => Ok(false),
    }
}
