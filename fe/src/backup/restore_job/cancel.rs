//! Cancelling a restore: release our snapshots, drop what the job made, give the held
//! tables back, persist CANCELLED; and `clean_tables` / `clean_partitions` at commit.


use std::sync::Arc;

use tracing::{info, warn};

use super::*;

/// Clean up (release our snapshots, drop the tables we created), then persist CANCELLED.
/// A restart between the two finds the job unfinished and cleans up again.
pub async fn cancel_job(ctx: &BackupEnv, job_id: i64, status: JobStatus) {
    let Ok((mut r, x)) = load(ctx, job_id) else {
        return;
    };
    if r.state.is_done() {
        return;
    }
    if x.swapped {
        // The shadows are the visible tables now; the job finishes when it runs again.
        warn!(job_id, status = %status, "restore already swapped its tables in; not cancelling");
        return;
    }
    crate::backup::release_snapshots(ctx, snapshot_records(&r, &x).iter()).await;
    let mut ours: Vec<Arc<OlapTable>> = x
        .created_tables
        .iter()
        .filter_map(|id| ctx.catalog.table_by_id(*id))
        .collect();
    // A shadow created just before a crash, before its id was recorded.
    for s in x.atomic.iter().filter(|s| s.shadow_table_id == 0) {
        if let Ok(t) = ctx.catalog.table(&r.db_name, &atomic_shadow_name(&s.table)) {
            if !ours.iter().any(|o| o.id == t.id) {
                ours.push(t);
            }
        }
    }
    for t in ours {
        // Only while the name still belongs to our table: never drop someone else's.
        if ctx.catalog.table(&r.db_name, &t.name).map(|c| c.id).ok() != Some(t.id) {
            continue;
        }
        if let Err(e) = crate::tables::drop_table(&ctx.ddl, &r.db_name, &t.name, true, true).await {
            warn!(table = %t.name, error = %e, "cannot drop a table the restore created");
        }
    }
    if let Err(e) = remove_added_partitions(ctx, &x).await {
        // Not cancelled: the job is tried again (and cleaned up again) at the next start.
        warn!(job_id, error = %e, "cannot remove the partitions the restore added");
        return;
    }
    if let Err(e) = release_tables(ctx, job_id) {
        warn!(job_id, error = %e, "the job is tried again (and cleaned up again) at the next start");
        return;
    }
    if let Err(e) = r.cancel(status, FeContext::now_ms()) {
        warn!(job_id, error = %e, "cannot cancel the job");
        return;
    }
    let job = StoredJob::Restore {
        record: r.clone(),
        extra: x,
    };
    if let Err(e) = ctx.jobs.save_cancelled(ctx, job).await {
        warn!(job_id, error = %e, "the cancellation is not persisted; the job resumes at the next start");
        return;
    }
    info!(job_id, status = %r.status, "restore job cancelled");
}

/// `clean_tables`: drop the database's tables that were not restored; `clean_partitions`:
/// drop the restored tables' partitions the backup does not have (upstream's rules).
/// Idempotent, so a restart in COMMITTING may run it again.
pub(super) async fn clean(ctx: &BackupEnv, r: &RestoreJobRecord, x: &RestoreExtra) -> Result<()> {
    if !r.options.clean_tables && !r.options.clean_partitions {
        return Ok(());
    }
    // Tables whose data was restored; a metadata-only restore has none, only created ones.
    let restored: std::collections::BTreeSet<i64> =
        x.partitions.iter().map(|(t, _, _)| *t).collect();
    if r.options.clean_tables {
        for t in not_restored(&ctx.catalog.tables(r.db_id), x) {
            info!(table = %t.name, "clean_tables: dropping a table the snapshot does not have");
            crate::tables::drop_table(&ctx.ddl, &r.db_name, &t.name, true, true)
                .await
                .map_err(|e| FeError::Internal(e.to_string()))?;
        }
    }
    if r.options.clean_partitions {
        for tid in &restored {
            let keep: Vec<i64> = x
                .partitions
                .iter()
                .filter(|(t, _, _)| t == tid)
                .map(|(_, p, _)| *p)
                .collect();
            let Some(t) = ctx.catalog.table_by_id(*tid) else {
                continue;
            };
            if t.partitions.iter().all(|p| keep.contains(&p.id)) {
                continue;
            }
            let dropped = ctx
                .catalog
                .drop_partitions_except(*tid, &keep)
                .map_err(|e| FeError::Internal(e.to_string()))?;
            info!(table = %t.name, partitions = dropped.len(), "clean_partitions: dropping partitions the snapshot does not have");
            crate::tables::drop_partition_tablets(&ctx.ddl, t.id, &dropped).await;
        }
    }
    Ok(())
}

/// The tables of the database `clean_tables` drops: those the restore neither filled nor
/// created; an atomic restore's targets are left to its swap.
pub(super) fn not_restored<'a>(tables: &'a [Arc<OlapTable>], x: &RestoreExtra) -> Vec<&'a Arc<OlapTable>> {
    let restored: std::collections::BTreeSet<i64> = x.partitions.iter().map(|(t, _, _)| *t).collect();
    tables
        .iter()
        .filter(|t| {
            !restored.contains(&t.id)
                && !x.created_tables.contains(&t.id)
                && !x.atomic.iter().any(|s| s.table == t.name)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::fixtures::two_partition_table;

    fn named(id: i64, name: &str) -> Arc<OlapTable> {
        let mut t = two_partition_table();
        t.id = id;
        t.name = name.into();
        Arc::new(t)
    }

    /// Filled, created and atomically replaced tables stay; the others go.
    #[test]
    fn clean_tables_drops_only_what_the_restore_did_not_touch() {
        let tables = [named(1, "filled"), named(2, "created"), named(3, "swapped"), named(4, "other"), named(5, "more")];
        let x = RestoreExtra {
            partitions: vec![(1, 10, 3)],
            created_tables: vec![2],
            atomic: vec![AtomicSwap { table: "swapped".into(), shadow_table_id: 30 }],
            ..Default::default()
        };
        let names: Vec<&str> = not_restored(&tables, &x).iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["other", "more"]);
    }
}
