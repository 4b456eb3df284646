//! Backed-up partitions an existing table lacks: added (restoring, hidden) before their
//! tablets are created, made visible at commit, removed again by a cancel.

use std::sync::Arc;

use std::collections::BTreeMap;

use tokio_util::sync::CancellationToken;
use tracing::info;

use super::*;

/// Take the partitions this job added (still restoring) out of their tables and drop
/// their tablets. Idempotent.
pub(super) async fn remove_added_partitions(ctx: &BackupEnv, x: &RestoreExtra) -> Result<()> {
    let mut by_table: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for a in &x.added_partitions {
        by_table.entry(a.table_id).or_default().push(a.partition_id);
    }
    for (table_id, ids) in by_table {
        let removed = ctx
            .catalog
            .remove_restoring_partitions(table_id, &ids)
            .map_err(|e| FeError::Internal(e.to_string()))?;
        if removed.is_empty() {
            continue;
        }
        info!(
            table_id,
            partitions = ?removed.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            "removed the partitions the cancelled restore added"
        );
        crate::tables::drop_partition_tablets(&ctx.ddl, table_id, &removed).await;
    }
    Ok(())
}

/// Make the partitions this job added visible (a metadata-only restore has no commit).
pub(super) fn publish_added_partitions(ctx: &BackupEnv, x: &RestoreExtra) -> Result<()> {
    for a in &x.added_partitions {
        ctx.catalog
            .publish_restoring_partition(a.table_id, a.partition_id)
            .map_err(|e| FeError::Internal(e.to_string()))?;
    }
    Ok(())
}

/// Add to the existing table `t` the backed-up partitions of `tmeta` it lacks (upstream's
/// rules and texts) and create their tablets on the BEs; the table as it is then. A
/// resumed job finds the partitions it added before and only sends their CREATE tasks
/// again (a BE takes a CREATE of a tablet it has as done).
#[allow(clippy::too_many_arguments)]
pub(super) async fn add_missing_partitions(
    ctx: &BackupEnv,
    r: &mut RestoreJobRecord,
    x: &mut RestoreExtra,
    tmeta: &crate::backup::meta::TableMeta,
    tinfo: &crate::backup::job_info::BackupOlapTableInfo,
    mut t: Arc<OlapTable>,
    backed_up_name: &str,
    cancel: &CancellationToken,
) -> Result<Arc<OlapTable>> {
    let missing: Vec<&crate::backup::meta::PartitionEntry> = tmeta
        .partition
        .partitions
        .iter()
        .filter(|p| local_partition(&t, &p.name).is_none())
        .collect();
    if missing.is_empty() {
        return Ok(t);
    }
    if t.partition_kind == PartitionKind::Unpartitioned {
        // Upstream: a single partitioned table always has its partition.
        return Err(FeError::IllegalState(format!(
            "No partition exist in single partitioned table {}",
            t.name
        )));
    }
    let mut to_create = Vec::new();
    for p in missing {
        if let Some(ours) = target_partition(&t, x, &p.name) {
            to_create.push(ours.id);
            continue;
        }
        let pinfo = tinfo.partitions.get(&p.name).ok_or_else(|| {
            FeError::InvalidArgument(format!(
                "job info lacks partition {} of table {backed_up_name}",
                p.name
            ))
        })?;
        let idx = pinfo
            .indexes
            .get(backed_up_name)
            .or_else(|| pinfo.indexes.values().next())
            .ok_or_else(|| {
                FeError::InvalidArgument(format!(
                    "job info lacks the index of {backed_up_name}.{}",
                    p.name
                ))
            })?;
        let replication_num = if r.options.reserve_replica {
            p.replication_num
                .unwrap_or(tmeta.properties.replication_num)
        } else {
            r.options.replica_alloc.total() as u16
        };
        let spec = crate::catalog::NewPartitionSpec {
            name: p.name.clone(),
            bounds: meta_conv::partition_bounds(p)?,
            buckets: idx.sorted_tablet_ids().len() as u32,
            replication_num,
        };
        let part = crate::catalog::spec::build_partition(
            &t,
            &spec,
            &ctx.backends.alive_ids(),
            || Ok(ctx.store.next_id()?),
            FeContext::now_ms(),
        )
        .map_err(|e| FeError::IllegalState(e.to_string()))?;
        // The intent first: a partition registered just before a crash is known as ours.
        x.added_partitions.push(AddedPartition {
            table_id: t.id,
            partition_id: part.id,
        });
        save(ctx, r, x)?;
        info!(table = %t.name, partition = %part.name, partition_id = part.id,
              tablets = part.index.tablets.len(), replicas = replication_num,
              "adding a backed-up partition the table lacks");
        to_create.push(part.id);
        t = ctx
            .catalog
            .add_restoring_partition(t.id, part)
            .map_err(|e| FeError::IllegalState(e.to_string()))?;
    }
    let parts = t
        .restoring_partitions
        .iter()
        .filter(|p| to_create.contains(&p.id));
    let tasks = crate::tables::create_tasks_in(&ctx.ddl, &t, parts, true)
        .map_err(|e| FeError::IllegalState(e.to_string()))?;
    let timeout = ctx.config.create_timeout(tasks.len()).min(remaining(r));
    tokio::select! {
        res = ctx.tasks.run(tasks, timeout) => {
            res.map_err(|e| FeError::IllegalState(format!("Failed to create replicas for restore: {e}")))?;
        }
        _ = cancel.cancelled() => return Err(cancelled()),
    }
    Ok(t)
}
