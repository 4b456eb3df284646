//! SNAPSHOTING: MAKE_SNAPSHOT of every chosen replica at its partition's captured version.

use std::collections::BTreeMap;

use tokio_util::sync::CancellationToken;
use tracing::info;

use super::*;

/// MAKE_SNAPSHOT for every tablet at its partition's captured visible version.
pub(super) async fn snapshoting(
    ctx: &BackupEnv,
    mut r: BackupJobRecord,
    cancel: &CancellationToken,
) -> Result<()> {
    let meta = r
        .meta
        .clone()
        .ok_or_else(|| FeError::Internal("backup job lost its meta".into()))?;
    let version_of = partition_versions(&meta);
    let mut tasks = Vec::new();
    let mut by_sig = BTreeMap::new();
    let sent = r.tasks.sent_signatures();
    r.tasks.unfinished.clear();
    // A metadata-only backup lists the tablets without taking their data.
    let metadata_only = r.content == crate::backup::BackupContent::MetadataOnly;
    for s in r.snapshots.values().filter(|_| !metadata_only) {
        let addr = ctx
            .backends
            .get(s.be_id)
            .and_then(|b| b.be_addr())
            .ok_or_else(|| {
                FeError::IllegalState(format!("backend {} is unknown or not reachable", s.be_id))
            })?;
        let sig = match sent.get(&s.tablet_id) {
            Some(sig) => *sig,
            None => ctx.store.next_id()?,
        };
        // Local snapshots are read by the CCR syncer's restore long after the backup.
        let timeout_s = ctx
            .config
            .local_snapshot_ttl_second
            .max(r.timeout_ms as u64 / 1000) as i64;
        let t = TaskBody::MakeSnapshot(snapshot_req(
            s.tablet_id,
            s.schema_hash,
            Some(version_of.get(&s.partition_id).copied().unwrap_or(1)),
            timeout_s,
        )).into_request(sig);
        tasks.push(AgentTask {
            backend_id: s.be_id,
            addr,
            request: t,
        });
        by_sig.insert(sig, s.tablet_id);
        r.tasks.unfinished.insert(sig, s.tablet_id);
    }
    // Persist the task list first: SHOW BACKUP shows it, a restart re-sends the step.
    save(ctx, &r)?;
    let (done, outcome) = if tasks.is_empty() {
        (Vec::new(), Ok(()))
    } else {
        tokio::select! {
            res = ctx.tasks.run_keeping(tasks, remaining(&r)) => res,
            _ = cancel.cancelled() => {
                // Answers still to come find no waiter: the FE releases those snapshots.
                return Err(runner::cancelled(JobKind::Backup));
            }
        }
    };
    // Record whatever was made, even on failure, so the cancel that follows releases it.
    for (_, fin) in done {
        let Some(tablet_id) = by_sig.get(&fin.signature) else {
            continue;
        };
        if let Some(s) = r.snapshots.get_mut(tablet_id) {
            s.path = fin.snapshot_path.clone().unwrap_or_default();
            s.files = fin.snapshot_files.clone().unwrap_or_default();
        }
    }
    if let Err(e) = outcome {
        save(ctx, &r)?;
        return Err(FeError::Internal(e.to_string()));
    }
    if let Some(missing) = r
        .snapshots
        .values()
        .find(|s| s.path.is_empty() && !metadata_only)
    {
        return Err(FeError::Internal(format!(
            "tablet {} got no snapshot path",
            missing.tablet_id
        )));
    }
    r.tasks.unfinished.clear();
    let now = FeContext::now_ms();
    r.move_to(BackupState::UploadSnapshot, now)?;
    if r.repo_id == KEEP_ON_LOCAL_REPO_ID || metadata_only {
        r.move_to(BackupState::Uploading, now)?;
        r.move_to(BackupState::SaveMeta, now)?;
    }
    info!(tablets = r.snapshots.len(), "snapshots made");
    save(ctx, &r)
}

/// Partition id -> the visible version the backup captured, looked up once per job
/// (not per tablet).
pub(super) fn partition_versions(meta: &BackupMeta) -> std::collections::HashMap<i64, i64> {
    meta.tables
        .iter()
        .flat_map(|t| t.partition.partitions.iter())
        .map(|p| (p.id, p.visible_version))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::fixtures::two_partition_table;

    /// Each partition's captured visible version, from every table of the meta.
    #[test]
    fn versions_come_from_the_captured_meta() {
        let mut t = two_partition_table();
        t.partitions[0].visible_version = 7;
        t.partitions[1].visible_version = 9;
        let meta = BackupMeta::new(vec![meta_conv::table_meta(&t, None)]);
        let v = partition_versions(&meta);
        assert_eq!(v.len(), 2);
        assert_eq!(v[&t.partitions[0].id], 7);
        assert_eq!(v[&t.partitions[1].id], 9);
    }
}
