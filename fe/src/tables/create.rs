//! CREATE TABLE on the BEs: CREATE tasks for every replica, run and waited for; the
//! catalog registers the table only once the BEs made their part, so a failure never
//! leaves a half-made table visible.


use doris_thrift::agent_service::{
    TBinlogConfig, TCompressionType, TCreateTabletReq, TStorageFormat, TTabletSchema, TTabletType,
};
use tracing::{info, info_span, warn, Instrument};

use super::drop::drop_tablets;
use crate::binlog::ddl::{to_json, CreateTableRecord};
use crate::binlog::{keeps, Binlog, BinlogKind};
use crate::persist::Kind;
use crate::catalog::spec::{build_table, CreateTableSpec, HiddenDefaults};
use crate::catalog::{check_name, CatalogError, OlapTable, Partition};
use super::TableDdl;
use crate::context::FeContext;
use crate::system::task_queue::AgentTask;
use doris_thrift::task_body::TaskBody;

/// Ok(false) when the table existed and IF NOT EXISTS was given.
pub async fn create_table(ctx: &TableDdl, spec: &CreateTableSpec) -> Result<bool, CatalogError> {
    create_table_in(ctx, spec, false).await
}

/// [`create_table`]; a restore's tablets are made in restore mode.
pub async fn create_table_in(ctx: &TableDdl, spec: &CreateTableSpec, in_restore_mode: bool) -> Result<bool, CatalogError> {
    check_name(&spec.name, "table")?;
    let db = ctx.catalog.database(&spec.db).ok_or_else(|| CatalogError::UnknownDatabase(spec.db.clone()))?;
    if ctx.catalog.table_exists(db.id, &spec.name) {
        return if spec.if_not_exists { Ok(false) } else { Err(CatalogError::TableExists(spec.name.clone())) };
    }
    let alive = ctx.backends.alive_ids();
    let mut spec = spec.clone();
    spec.hidden.get_or_insert(HiddenDefaults {
        batch_delete: ctx.config.enable_batch_delete_by_default,
        version_column: ctx.config.enable_hidden_version_column_by_default,
    });
    let table = build_table(&spec, db.id, &alive, || Ok(ctx.store.next_id()?), FeContext::now_ms())?;
    let span = info_span!("create_table", table_id = table.id, table = %table.name);
    async {
        let tasks = create_tasks_in(ctx, &table, &table.partitions, in_restore_mode)?;
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
/// CREATE TABLE's for all its partitions, ADD PARTITION's, INSERT OVERWRITE's temporary ones.
pub fn create_tasks<'a>(
    ctx: &TableDdl,
    table: &OlapTable,
    partitions: impl IntoIterator<Item = &'a Partition>,
) -> Result<Vec<AgentTask>, CatalogError> {
    create_tasks_in(ctx, table, partitions, false)
}

/// [`create_tasks`], for a restore when `in_restore_mode` (upstream's restore marks its
/// replicas so).
pub fn create_tasks_in<'a>(
    ctx: &TableDdl,
    table: &OlapTable,
    partitions: impl IntoIterator<Item = &'a Partition>,
    in_restore_mode: bool,
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
            // A restored table may name a policy this cluster lacks: it just does not cool down.
            let req = create_tablet_req(table, &schema, p, tablet.id, r.id, policy_id, in_restore_mode);
            let t = TaskBody::Create(req).into_request(ctx.store.next_id()?);
            tasks.push(AgentTask { backend_id: r.backend_id, addr, request: t });
        }
    }
    Ok(tasks)
}

/// One replica's CREATE request as the Java FE's CreateReplicaTask fills it: V2 segments,
/// LZ4F, a disk tablet, size-based compaction, merge-on-write as the table is, the table's
/// binlog settings; restore mode and the storage policy only when set.
pub fn create_tablet_req(
    table: &OlapTable,
    schema: &TTabletSchema,
    p: &Partition,
    tablet_id: i64,
    replica_id: i64,
    policy_id: Option<i64>,
    in_restore_mode: bool,
) -> TCreateTabletReq {
    let binlog = table.binlog();
    TCreateTabletReq::new(
        tablet_id,
        Box::new(schema.clone()),
        p.visible_version,
        p.storage_medium.to_thrift(),
        in_restore_mode.then_some(true),
        table.id,
        p.id,
        TStorageFormat::V2,
        TTabletType::TABLET_TYPE_DISK,
        TCompressionType::LZ4F,
        replica_id,
        table.merge_on_write(),
        policy_id.filter(|id| *id > 0),
        TBinlogConfig::new(binlog.enable, binlog.ttl_seconds, binlog.max_bytes, binlog.max_history_nums),
        "size_based".to_string(),
    )
}
