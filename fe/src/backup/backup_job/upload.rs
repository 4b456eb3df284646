//! UPLOAD_SNAPSHOT / UPLOADING and UPLOAD_INFO: snapshot files, then meta and job info,
//! into the repository.

use std::collections::BTreeMap;

use tokio_util::sync::CancellationToken;
use tracing::info;

use super::*;

/// UPLOAD tasks (one per backend) copying the snapshot dirs into the repository; the
/// uploaded `<file>.<md5>` names become the tablets' files in the job info.
pub(super) async fn upload(ctx: &BackupEnv, mut r: BackupJobRecord, cancel: &CancellationToken) -> Result<()> {
    let repo = crate::backup::repos::get(ctx, &r.repo_name)?;
    let (backend, location, props) = repo.be_location_and_props();
    let mut by_be: BTreeMap<i64, BTreeMap<String, String>> = BTreeMap::new();
    for s in r.snapshots.values() {
        let ids = TabletIds {
            db_id: s.db_id,
            table_id: s.table_id,
            partition_id: s.partition_id,
            index_id: s.index_id,
            tablet_id: s.tablet_id,
        };
        by_be.entry(s.be_id).or_default().insert(
            format!("{}/{}/{}", s.path, s.tablet_id, s.schema_hash),
            repo.tablet_remote_dir(&r.label, &ids),
        );
    }
    let mut tasks = Vec::new();
    r.tasks.unfinished.clear();
    for (be, map) in by_be {
        let addr = ctx
            .backends
            .get(be)
            .and_then(|b| b.be_addr())
            .ok_or_else(|| {
                FeError::IllegalState(format!("backend {be} is unknown or not reachable"))
            })?;
        let sig = ctx
            .store
            .next_id()?;
        let t = TaskBody::Upload(TUploadReq {
            job_id: r.job_id,
            src_dest_map: map,
            broker_addr: TNetworkAddress {
                hostname: String::new(),
                port: 0,
            },
            broker_prop: Some(props.clone()),
            storage_backend: Some(backend),
            location: Some(location.clone()),
        }).into_request(sig);
        tasks.push(AgentTask {
            backend_id: be,
            addr,
            request: t,
        });
        r.tasks.unfinished.insert(sig, be);
    }
    if r.state == BackupState::UploadSnapshot {
        r.move_to(BackupState::Uploading, FeContext::now_ms())?;
    }
    save(ctx, &r)?;
    let done = tokio::select! {
        res = ctx.tasks.run(tasks, remaining(&r)) => res.map_err(|e| FeError::Internal(e.to_string()))?,
        _ = cancel.cancelled() => return Err(runner::cancelled(JobKind::Backup)),
    };
    for (_, fin) in done {
        for (tablet, files) in fin.tablet_files.clone().unwrap_or_default() {
            if let Some(s) = r.snapshots.get_mut(&tablet) {
                s.files = files;
            }
        }
    }
    r.tasks.unfinished.clear();
    r.move_to(BackupState::SaveMeta, FeContext::now_ms())?;
    info!(tablets = r.snapshots.len(), repo = %r.repo_name, "snapshots uploaded");
    save(ctx, &r)
}

/// Meta and job info into the repository, then FINISHED and the BE snapshots released.
pub(super) async fn upload_info(ctx: &BackupEnv, mut r: BackupJobRecord) -> Result<()> {
    let repo = crate::backup::repos::get(ctx, &r.repo_name)?;
    let meta = r
        .meta
        .clone()
        .ok_or_else(|| FeError::Internal("backup job lost its meta".into()))?;
    let info = r
        .job_info
        .clone()
        .ok_or_else(|| FeError::Internal("backup job lost its job info".into()))?;
    let ts = r
        .snapshot_timestamp
        .clone()
        .unwrap_or_else(|| crate::backup::time::snapshot_timestamp(r.create_time_ms));
    repo.upload_meta_and_info(&r.label, &ts, &meta.encode(), info.to_json().as_bytes())
        .await?;
    r.snapshot_timestamp = Some(ts);
    r.move_to(BackupState::Finished, FeContext::now_ms())?;
    save(ctx, &r)?;
    crate::backup::release_snapshots(ctx, r.snapshots.values()).await;
    info!(repo = %r.repo_name, "backup finished");
    Ok(())
}
