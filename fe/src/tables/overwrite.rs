//! INSERT OVERWRITE's partition work, as upstream: each partition overwritten gets a
//! temporary partition with the same range (or values), buckets and replication, made on
//! the BEs first, then recorded in the table (durable, hidden from reads). The rows are
//! loaded into the temporary partitions; on success one catalog change puts each in the
//! place of the partition it stands for (under that partition's name), and the old
//! tablets are dropped on the BEs; on failure the temporary partitions are removed and
//! dropped, the table unchanged. An FE that dies in between leaves temporary partitions
//! no overwrite will finish: [`drop_leftovers`] removes them at the next start.

use tracing::{info, warn};

use super::create::create_tasks;
use super::drop::drop_partition_tablets;
use super::TableDdl;
use crate::binlog::keeps;
use crate::catalog::spec::fresh_partition;
use crate::catalog::{CatalogError, OlapTable, Partition};
use crate::context::FeContext;

/// An overwrite under way: the temporary partition standing for each partition.
#[derive(Debug, Clone)]
pub struct Overwrite {
    pub table_id: i64,
    /// (id of the partition overwritten, its temporary partition).
    pub pairs: Vec<(i64, Partition)>,
}

impl Overwrite {
    /// The temporary partitions' names, for the load.
    pub fn temp_names(&self) -> Vec<String> {
        self.pairs.iter().map(|(_, p)| p.name.clone()).collect()
    }
}

fn normal(t: &OlapTable) -> Result<(), CatalogError> {
    if t.restore_lock.is_some() {
        return Err(CatalogError::NotNormal(t.name.clone(), t.state_name()));
    }
    Ok(())
}

/// Make the temporary partitions of `partitions` of `db.table` (all of them when none are
/// named) on the BEs and record them in the table.
pub async fn begin_overwrite(ctx: &TableDdl, db: &str, table: &str, partitions: &[String]) -> Result<Overwrite, CatalogError> {
    let d = ctx.catalog.database(db).ok_or_else(|| CatalogError::UnknownDatabase(db.to_string()))?;
    let t = ctx.catalog.table(db, table)?;
    normal(&t)?;
    if keeps(ctx.config.enable_feature_binlog, &d, Some(&t)) {
        // A replica of this table (CCR) would not learn of the swap.
        return Err(CatalogError::Invalid(format!(
            "INSERT OVERWRITE of table {} is not supported by doris-rs: it keeps binlogs",
            t.name
        )));
    }
    let old: Vec<&Partition> = if partitions.is_empty() {
        t.partitions.iter().collect()
    } else {
        partitions
            .iter()
            .map(|n| t.partition(n).ok_or_else(|| CatalogError::Invalid(format!("Unknown partition '{n}' in table '{}'", t.name))))
            .collect::<Result<_, _>>()?
    };
    let now = FeContext::now_ms();
    let alive = ctx.backends.alive_ids();
    let mut pairs = Vec::with_capacity(old.len());
    for p in old {
        let mut temp = fresh_partition(p, &alive, || Ok(ctx.store.next_id()?), now)?;
        temp.name = format!("iot_temp_{}_{}", temp.id, p.name);
        pairs.push((p.id, temp));
    }
    let tasks = create_tasks(ctx, &t, pairs.iter().map(|(_, p)| p))?;
    let timeout = ctx.config.create_timeout(tasks.len());
    if let Err(e) = ctx.tasks.run(tasks, timeout).await {
        drop_partition_tablets(ctx, t.id, pairs.iter().map(|(_, p)| p)).await;
        return Err(CatalogError::CreateTablets(format!("Failed to create temporary partitions of table {}: {e}", t.name)));
    }
    let recorded = ctx.catalog.try_update_table_and(
        t.id,
        |t| {
            normal(t)?;
            for (old_id, temp) in &pairs {
                if !t.partitions.iter().any(|p| p.id == *old_id) {
                    return Err(CatalogError::Invalid(format!("partitions of table {} changed meanwhile; try again", t.name)));
                }
                t.temp_partitions.push(temp.clone());
            }
            Ok(())
        },
        |_, _, _| Ok(()),
    );
    if let Err(e) = recorded {
        drop_partition_tablets(ctx, t.id, pairs.iter().map(|(_, p)| p)).await;
        return Err(e);
    }
    info!(table_id = t.id, partitions = pairs.len(), "temporary partitions made for INSERT OVERWRITE");
    Ok(Overwrite { table_id: t.id, pairs })
}

/// Put each temporary partition in the place of the partition it stands for, in one
/// catalog change; the old partitions' tablets are then dropped on the BEs.
pub async fn commit_overwrite(ctx: &TableDdl, ov: &Overwrite) -> Result<(), CatalogError> {
    let replaced = ctx.catalog.try_update_table_and(
        ov.table_id,
        |t| {
            normal(t)?;
            let mut replaced = Vec::with_capacity(ov.pairs.len());
            for (old_id, temp) in &ov.pairs {
                let i = t.temp_partitions.iter().position(|p| p.id == temp.id).ok_or_else(|| {
                    CatalogError::Invalid(format!("temporary partition {} of table {} is gone", temp.name, t.name))
                })?;
                let slot = t.partitions.iter_mut().find(|p| p.id == *old_id).ok_or_else(|| {
                    CatalogError::Invalid(format!("partitions of table {} changed meanwhile; try again", t.name))
                })?;
                let mut new = t.temp_partitions.remove(i);
                new.name = slot.name.clone();
                replaced.push(std::mem::replace(slot, new));
            }
            Ok(replaced)
        },
        |_, _, _| Ok(()),
    )?;
    info!(table_id = ov.table_id, partitions = replaced.len(), "INSERT OVERWRITE replaced partitions");
    drop_partition_tablets(ctx, ov.table_id, replaced.iter()).await;
    Ok(())
}

/// Remove the temporary partitions of a failed overwrite and drop their tablets.
pub async fn abort_overwrite(ctx: &TableDdl, ov: &Overwrite) {
    let ids: Vec<i64> = ov.pairs.iter().map(|(_, p)| p.id).collect();
    let removed = ctx.catalog.try_update_table_and(
        ov.table_id,
        |t| Ok(t.temp_partitions.retain(|p| !ids.contains(&p.id))),
        |_, _, _| Ok(()),
    );
    if let Err(e) = removed {
        warn!(table_id = ov.table_id, error = %e, "cannot remove the temporary partitions of a failed overwrite");
    }
    drop_partition_tablets(ctx, ov.table_id, ov.pairs.iter().map(|(_, p)| p)).await;
}

/// At start: the temporary partitions left by overwrites a crash interrupted (no overwrite
/// outlives its FE) are removed and their tablets dropped.
pub async fn drop_leftovers(ctx: &TableDdl) {
    for d in ctx.catalog.databases() {
        for t in ctx.catalog.tables(d.id).into_iter().filter(|t| !t.temp_partitions.is_empty()) {
            let ids: Vec<i64> = t.temp_partitions.iter().map(|p| p.id).collect();
            let removed =
                ctx.catalog.try_update_table_and(t.id, |t| Ok(t.temp_partitions.retain(|p| !ids.contains(&p.id))), |_, _, _| Ok(()));
            match removed {
                Ok(()) => {
                    info!(table_id = t.id, partitions = ids.len(), "dropping temporary partitions of an interrupted overwrite");
                    drop_partition_tablets(ctx, t.id, t.temp_partitions.iter()).await;
                }
                Err(e) => warn!(table_id = t.id, error = %e, "cannot remove leftover temporary partitions"),
            }
        }
    }
}
