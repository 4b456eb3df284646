//! SNAPSHOTING: a local snapshot of every target replica, the directory DOWNLOAD fills.

use std::collections::BTreeMap;

use tokio_util::sync::CancellationToken;

use super::*;

/// A local snapshot of every target replica: the directory DOWNLOAD fills.
pub(super) async fn snapshoting(
    ctx: &BackupEnv,
    mut r: RestoreJobRecord,
    mut x: RestoreExtra,
    cancel: &CancellationToken,
) -> Result<()> {
    let mut tasks = Vec::new();
    let mut by_sig = BTreeMap::new();
    let sent = r.tasks.sent_signatures();
    for (i, t) in x.tablets.iter().enumerate() {
        let sig = match sent.get(&t.local_tablet_id) {
            Some(sig) => *sig,
            None => ctx.store.next_id()?,
        };
        let task = TaskBody::MakeSnapshot(crate::backup::backup_job::snapshot_req(
            t.local_tablet_id,
            t.schema_hash,
            // No version: the BE snapshots its latest one. Upstream master sends -1 for
            // the same meaning; the visible version would fail on a replica that lags.
            None,
            (r.timeout_ms / 1000).max(60),
        )).into_request(sig);
        tasks.push(AgentTask {
            backend_id: t.local_be_id,
            addr: be_addr(ctx, t.local_be_id)?,
            request: task,
        });
        by_sig.insert(sig, i);
    }
    r.tasks.unfinished = by_sig
        .iter()
        .map(|(s, i)| (*s, x.tablets[*i].local_tablet_id))
        .collect();
    save(ctx, &r, &x)?;
    let (done, outcome) = tokio::select! {
        res = ctx.tasks.run_keeping(tasks, remaining(&r)) => res,
        _ = cancel.cancelled() => return Err(cancelled()),
    };
    // Record whatever was made, even on failure, so the cancel that follows releases it.
    for (_, fin) in &done {
        if let Some(i) = by_sig.get(&fin.signature) {
            x.tablets[*i].local_snapshot_path = fin.snapshot_path.clone().unwrap_or_default();
        }
    }
    if let Err(e) = outcome {
        save(ctx, &r, &x)?;
        return Err(FeError::Internal(e.to_string()));
    }
    r.tasks.unfinished.clear();
    r.move_to(RestoreState::Download, FeContext::now_ms())?;
    save(ctx, &r, &x)
}
