//! Partition DDL on the BEs: ALTER TABLE ADD PARTITION and DROP PARTITION, TRUNCATE TABLE.
//! New tablets are made on the BEs before the catalog shows them; the catalog change and
//! its binlog (ADD_PARTITION, DROP_PARTITION, TRUNCATE_TABLE, when the table or database
//! keeps binlogs) land in one meta-store transaction; replicas no longer in the catalog are
//! dropped on the BEs afterwards.

use tracing::{info, warn};

use super::create::create_tasks;
use super::drop::drop_partition_tablets;
use super::TableDdl;
use crate::binlog::ddl::{to_json, AddPartitionRecord, DropPartitionRecord, TruncateTableRecord};
use crate::binlog::{keeps, Binlog, BinlogKind};
use crate::catalog::spec::{build_partition, fresh_partition, NewPartitionSpec, PartitionBounds};
use crate::catalog::table::{Distribution, PartitionKind};
use crate::catalog::{CatalogError, OlapTable, Partition};
use crate::context::FeContext;
use crate::persist::Kind;

/// ALTER TABLE ADD PARTITION, as the domain takes it.
#[derive(Debug, Clone)]
pub struct AddPartition {
    pub db: String,
    pub table: String,
    pub name: String,
    pub if_not_exists: bool,
    pub bounds: PartitionBounds,
    /// The table's when not given.
    pub buckets: Option<u32>,
    /// `DISTRIBUTED BY HASH(...)` when given: must be the table's columns.
    pub hash_columns: Option<Vec<String>>,
    pub replication_num: Option<u16>,
    /// Upstream's `"version_info"`: the visible version the partition starts at (the CCR
    /// syncer replays the source's, so later versions line up).
    pub version_info: Option<i64>,
}

fn normal(t: &OlapTable) -> Result<(), CatalogError> {
    if t.restore_lock.is_some() {
        return Err(CatalogError::NotNormal(t.name.clone(), t.state_name()));
    }
    Ok(())
}

fn partitioned(t: &OlapTable, what: &str) -> Result<(), CatalogError> {
    if t.partition_kind == PartitionKind::Unpartitioned {
        return Err(CatalogError::Invalid(format!("Table[{}]'s partition type is UNPARTITIONED, can not {what}", t.name)));
    }
    Ok(())
}

/// Ok(false) when the partition existed and IF NOT EXISTS was given.
pub async fn add_partition(ctx: &TableDdl, req: &AddPartition) -> Result<bool, CatalogError> {
    let db = ctx.catalog.database(&req.db).ok_or_else(|| CatalogError::UnknownDatabase(req.db.clone()))?;
    let table = ctx.catalog.table(&req.db, &req.table)?;
    normal(&table)?;
    partitioned(&table, "add partition")?;
    if req.if_not_exists && table.partitions.iter().any(|p| p.name.eq_ignore_ascii_case(&req.name)) {
        return Ok(false);
    }
    if let (Some(cols), Distribution::Hash { columns, .. }) = (&req.hash_columns, &table.distribution) {
        if !cols.iter().map(|c| c.to_ascii_lowercase()).eq(columns.iter().map(|c| c.to_ascii_lowercase())) {
            return Err(CatalogError::Invalid(format!(
                "Cannot assign hash distribution with different distribution cols. new is: {cols:?} default is: {columns:?}"
            )));
        }
    }
    let spec = NewPartitionSpec {
        name: req.name.clone(),
        bounds: req.bounds.clone(),
        buckets: req.buckets.unwrap_or_else(|| table.distribution.buckets()),
        replication_num: req.replication_num.unwrap_or(table.replication_num),
    };
    let now = FeContext::now_ms();
    let mut p = build_partition(&table, &spec, &ctx.backends.alive_ids(), || Ok(ctx.store.next_id()?), now)?;
    if let Some(v) = req.version_info {
        if v < 1 {
            return Err(CatalogError::Invalid(format!("version_info {v} of partition {} must be at least 1", req.name)));
        }
        p.visible_version = v;
        p.index.tablets.iter_mut().flat_map(|t| t.replicas.iter_mut()).for_each(|r| r.version = v);
    }
    let tasks = create_tasks(ctx, &table, [&p])?;
    let timeout = ctx.config.create_timeout(tasks.len());
    if let Err(e) = ctx.tasks.run(tasks, timeout).await {
        drop_partition_tablets(ctx, table.id, [&p]).await;
        return Err(CatalogError::CreateTablets(format!("Failed to add partition {}: {e}", p.name)));
    }
    let wanted = keeps(ctx.config.enable_feature_binlog, &db, Some(&table));
    let added = ctx.binlogs.record(ctx.catalog.store(), db.id, wanted, |seq| {
        let entry = seq.map(|seq| {
            let data = to_json(&AddPartitionRecord::new(seq, &table, &p));
            Binlog::of_change(BinlogKind::AddPartition, seq, db.id, vec![table.id], data, now)
        });
        ctx.catalog
            .try_update_table_and(
                table.id,
                |t| {
                    normal(t)?;
                    t.check_new_partition(&p)?;
                    t.partitions.push(p.clone());
                    Ok(())
                },
                |w, _, _| entry.as_ref().map_or(Ok(()), |b| w.put(Kind::Binlog, b.commit_seq, b)),
            )
            .map(|()| ((), entry.clone()))
    });
    if let Err(e) = added {
        drop_partition_tablets(ctx, table.id, [&p]).await;
        return Err(e);
    }
    info!(table_id = table.id, partition_id = p.id, partition = %p.name, version = p.visible_version, "partition added");
    Ok(true)
}

/// Ok(false) when the partition was absent and IF EXISTS was given.
pub async fn drop_partition(ctx: &TableDdl, db: &str, table: &str, name: &str, if_exists: bool, force: bool) -> Result<bool, CatalogError> {
    let d = ctx.catalog.database(db).ok_or_else(|| CatalogError::UnknownDatabase(db.to_string()))?;
    let t = ctx.catalog.table(db, table)?;
    partitioned(&t, "drop partition")?;
    if !t.partitions.iter().any(|p| p.name.eq_ignore_ascii_case(name)) {
        return if if_exists {
            Ok(false)
        } else {
            Err(CatalogError::Invalid(format!("Error in list of partitions to {name}: partition does not exist")))
        };
    }
    let now = FeContext::now_ms();
    let wanted = keeps(ctx.config.enable_feature_binlog, &d, Some(&t));
    let dropped: Partition = ctx.binlogs.record(ctx.catalog.store(), d.id, wanted, |seq| {
        let mut entry = None;
        let p = ctx.catalog.try_update_table_and(
            t.id,
            |t| {
                normal(t)?;
                let i = t
                    .partitions
                    .iter()
                    .position(|p| p.name.eq_ignore_ascii_case(name))
                    .ok_or_else(|| CatalogError::Invalid(format!("Error in list of partitions to {name}: partition does not exist")))?;
                Ok(t.partitions.remove(i))
            },
            |w, t, p| {
                entry = seq.map(|seq| {
                    let data = to_json(&DropPartitionRecord::new(seq, t, p, force));
                    Binlog::of_change(BinlogKind::DropPartition, seq, t.db_id, vec![t.id], data, now)
                });
                entry.as_ref().map_or(Ok(()), |b| w.put(Kind::Binlog, b.commit_seq, b))
            },
        )?;
        Ok::<_, CatalogError>((p, entry))
    })?;
    info!(table_id = t.id, partition_id = dropped.id, partition = %dropped.name, "partition dropped");
    drop_partition_tablets(ctx, t.id, [&dropped]).await;
    Ok(true)
}

/// TRUNCATE TABLE, of the named partitions or (none named) of all: each is replaced by an
/// empty one with new ids, made on the BEs first.
pub async fn truncate(ctx: &TableDdl, db: &str, table: &str, partitions: &[String]) -> Result<(), CatalogError> {
    let d = ctx.catalog.database(db).ok_or_else(|| CatalogError::UnknownDatabase(db.to_string()))?;
    let t = ctx.catalog.table(db, table)?;
    normal(&t)?;
    let old: Vec<&Partition> = if partitions.is_empty() {
        t.partitions.iter().collect()
    } else {
        partitions
            .iter()
            .map(|n| {
                t.partitions
                    .iter()
                    .find(|p| p.name.eq_ignore_ascii_case(n))
                    .ok_or_else(|| CatalogError::Invalid(format!("Partition {n} does not exist in table {}", t.name)))
            })
            .collect::<Result<_, _>>()?
    };
    let now = FeContext::now_ms();
    let alive = ctx.backends.alive_ids();
    let fresh: Vec<(i64, Partition)> = old
        .iter()
        .map(|p| Ok((p.id, fresh_partition(p, &alive, || Ok(ctx.store.next_id()?), now)?)))
        .collect::<Result<_, CatalogError>>()?;
    let tasks = create_tasks(ctx, &t, fresh.iter().map(|(_, p)| p))?;
    let timeout = ctx.config.create_timeout(tasks.len());
    if let Err(e) = ctx.tasks.run(tasks, timeout).await {
        drop_partition_tablets(ctx, t.id, fresh.iter().map(|(_, p)| p)).await;
        return Err(CatalogError::CreateTablets(format!("Failed to truncate table {}: {e}", t.name)));
    }
    let wanted = keeps(ctx.config.enable_feature_binlog, &d, Some(&t));
    let swapped = ctx.binlogs.record(ctx.catalog.store(), d.id, wanted, |seq| {
        let entry = seq.map(|seq| {
            let data = to_json(&TruncateTableRecord::new(seq, &d.name, &t, partitions));
            Binlog::of_change(BinlogKind::TruncateTable, seq, d.id, vec![t.id], data, now)
        });
        ctx.catalog
            .try_update_table_and(
                t.id,
                |t| {
                    normal(t)?;
                    let mut replaced = Vec::new();
                    for (old_id, new) in &fresh {
                        let slot = t.partitions.iter_mut().find(|p| p.id == *old_id).ok_or_else(|| {
                            CatalogError::Invalid(format!("partition {} of table {} changed meanwhile; try again", new.name, t.name))
                        })?;
                        replaced.push(std::mem::replace(slot, new.clone()));
                    }
                    Ok(replaced)
                },
                |w, _, _| entry.as_ref().map_or(Ok(()), |b| w.put(Kind::Binlog, b.commit_seq, b)),
            )
            .map(|r| (r, entry.clone()))
    });
    match swapped {
        Ok(replaced) => {
            info!(table_id = t.id, partitions = replaced.len(), "table truncated");
            drop_partition_tablets(ctx, t.id, replaced.iter()).await;
            Ok(())
        }
        Err(e) => {
            warn!(table_id = t.id, error = %e, "truncate failed; dropping the new tablets");
            drop_partition_tablets(ctx, t.id, fresh.iter().map(|(_, p)| p)).await;
            Err(e)
        }
    }
}
