//! COMMIT / COMMITTING: MOVE the downloaded snapshots in, set the backed-up versions, the
//! atomic swap, and the tail that finishes the job.

use std::collections::BTreeMap;

use tokio_util::sync::CancellationToken;
use tracing::info;

use super::*;

/// MOVE the downloaded snapshots into the tablets, then the backed-up versions.
pub(super) async fn commit(
    ctx: &BackupEnv,
    mut r: RestoreJobRecord,
    mut x: RestoreExtra,
    cancel: &CancellationToken,
) -> Result<()> {
    if x.swapped {
        // Resumed after the swap was committed: only the tail is left.
        return finish(ctx, r, x).await;
    }
    let mut tasks = Vec::new();
    r.tasks.unfinished.clear();
    for t in x.tablets.iter() {
        let sig = ctx.store.next_id()?;
        let task = TaskBody::Move(TMoveDirReq {
            tablet_id: t.local_tablet_id,
            schema_hash: t.schema_hash,
            src: t.local_dir(),
            job_id: r.job_id,
            overwrite: true,
        }).into_request(sig);
        tasks.push(AgentTask {
            backend_id: t.local_be_id,
            addr: be_addr(ctx, t.local_be_id)?,
            request: task,
        });
        r.tasks.unfinished.insert(sig, t.local_tablet_id);
    }
    if r.state == RestoreState::Commit {
        r.move_to(RestoreState::Committing, FeContext::now_ms())?;
    }
    save(ctx, &r, &x)?;
    run_tasks(ctx, &r, tasks, cancel).await?;
    let mut by_table: BTreeMap<i64, Vec<(i64, i64)>> = BTreeMap::new();
    for (tid, pid, v) in &x.partitions {
        by_table.entry(*tid).or_default().push((*pid, *v));
    }
    let now = FeContext::now_ms();
    for (tid, parts) in by_table {
        ctx.catalog
            .commit_restore(tid, r.job_id, &parts, now)
            .map_err(|e| FeError::Internal(e.to_string()))?;
    }
    // Restored rows hold AUTO_INCREMENT values below the backed-up table's ceiling.
    for (tid, ceiling) in &x.auto_increment_ceilings {
        ctx.catalog
            .update_table(*tid, |t| {
                if t.columns.iter().any(|c| c.auto_increment.is_some()) {
                    t.auto_increment_ceiling = Some(t.auto_increment_ceiling.unwrap_or(*ceiling).max(*ceiling));
                }
            })
            .map_err(|e| FeError::Internal(e.to_string()))?;
    }
    clean(ctx, &r, &x).await?;
    if !x.atomic.is_empty() {
        swap(ctx, &mut r, &mut x)?;
    }
    finish(ctx, r, x).await
}

/// Atomic restore's commit point: every shadow takes its table's name and the tables it
/// replaces are removed, in one store transaction together with the job record marked
/// swapped. A restart before it finds the old tables and the shadows (and redoes the
/// commit); after it, the new tables and a job that only has to finish.
pub(super) fn swap(ctx: &BackupEnv, r: &mut RestoreJobRecord, x: &mut RestoreExtra) -> Result<()> {
    let swaps: Vec<(i64, String)> = x
        .atomic
        .iter()
        .map(|s| (s.shadow_table_id, s.table.clone()))
        .collect();
    let mut after = x.clone();
    after.swapped = true;
    r.tasks.unfinished.clear();
    let mut job = StoredJob::Restore {
        record: r.clone(),
        extra: after,
    };
    let replaced = ctx
        .catalog
        .replace_tables(r.db_id, &swaps, |w, replaced| {
            if let StoredJob::Restore { extra, .. } = &mut job {
                extra.replaced = replaced.to_vec();
            }
            crate::backup::job_store::put(w, &mut job).map(|_| ())
        })
        .map_err(|e| FeError::Internal(format!("replacing the restored tables: {e}")))?;
    ctx.jobs.publish(ctx, job.clone());
    if let StoredJob::Restore { extra, .. } = job {
        *x = extra;
    }
    info!(
        tables = ?swaps.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>(),
        replaced = ?replaced.iter().map(|t| t.id).collect::<Vec<_>>(),
        "atomic restore swapped the restored tables in"
    );
    Ok(())
}

/// Drop what the swap replaced, release our snapshots, FINISHED. Safe to run again.
pub(super) async fn finish(ctx: &BackupEnv, mut r: RestoreJobRecord, x: RestoreExtra) -> Result<()> {
    for t in &x.replaced {
        crate::tables::drop_tablets(&ctx.ddl, t).await;
    }
    crate::backup::release_snapshots(ctx, snapshot_records(&r, &x).iter()).await;
    release_tables(ctx, r.job_id)?;
    r.tasks.unfinished.clear();
    r.move_to(RestoreState::Finished, FeContext::now_ms())?;
    save(ctx, &r, &x)?;
    info!(tablets = x.tablets.len(), "restore finished");
    Ok(())
}
