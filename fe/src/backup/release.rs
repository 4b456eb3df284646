//! RELEASE_SNAPSHOT of the BE snapshots a job or local snapshot no longer needs, and
//! CANCEL BACKUP / RESTORE.


use doris_thrift::agent_service::TReleaseSnapshotRequest;
use tracing::{info, warn};

use crate::backup::state::SnapshotRecord;
use crate::backup::JobKind;
use crate::backup::BackupEnv;
use super::StoredJob;
use crate::system::task_queue::AgentTask;
use doris_thrift::task_body::TaskBody;


/// Send RELEASE_SNAPSHOT for each snapshot; failures are logged (BEs also expire them).
pub async fn release_snapshots<'a>(
    ctx: &BackupEnv,
    snaps: impl IntoIterator<Item = &'a SnapshotRecord>,
) {
    let mut tasks = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for s in snaps {
        if s.path.is_empty() || !seen.insert((s.be_id, s.path.clone())) {
            continue;
        }
        let Some(addr) = ctx.backends.get(s.be_id).and_then(|b| b.be_addr()) else {
            continue;
        };
        let Ok(sig) = ctx.store.next_id() else {
            continue;
        };
        let t = TaskBody::ReleaseSnapshot(TReleaseSnapshotRequest {
            snapshot_path: s.path.clone(),
        }).into_request(sig);
        tasks.push(AgentTask {
            backend_id: s.be_id,
            addr,
            request: t,
        });
    }
    for e in ctx.tasks.submit(tasks).await {
        warn!(error = %e, "RELEASE_SNAPSHOT not delivered");
    }
}

/// CANCEL BACKUP/RESTORE: ask every unfinished job of `kind` in `db` whose label matches
/// to cancel (queued ones included); how many were asked.
pub fn cancel_unfinished(
    ctx: &BackupEnv,
    db_id: i64,
    kind: JobKind,
    label_matches: impl Fn(&str) -> bool,
) -> usize {
    let ids: Vec<i64> = ctx
        .jobs
        .unfinished()
        .into_iter()
        .filter_map(|j| match (&j, kind) {
            (StoredJob::Backup { record }, JobKind::Backup) => {
                Some((record.db_id, record.label.clone(), record.job_id))
            }
            (StoredJob::Restore { record, .. }, JobKind::Restore) => {
                Some((record.db_id, record.label.clone(), record.job_id))
            }
            _ => None,
        })
        .filter(|(db, label, _)| *db == db_id && label_matches(label))
        .map(|(_, _, id)| id)
        .collect();
    for id in &ids {
        info!(job_id = id, "{} job cancel requested", kind.name());
        ctx.jobs.request_cancel(*id);
    }
    ids.len()
}
