//! DOWNLOAD: fill local snapshot dirs from a repository (`src_dest_map`) or pull them
//! from other BEs (`remote_tablet_snapshots`); finishTask carries `downloaded_tablet_ids`.

use std::collections::BTreeSet;
use std::path::Path;

use doris_thrift::agent_service::{TDownloadReq, TRemoteTabletSnapshot};
use doris_thrift::master_service::TFinishTaskRequest;
use doris_thrift::types::TTaskType;
use tracing::{debug, info, warn};

use super::progress::FeProgress;
use super::{record_job, TaskEnv};
use crate::repository::{local_files, local_name, md5_file, remote_tablet_id, tablet_and_schema_hash, Repository};
use crate::error::{BeError, Result};
use crate::pull::PullProgress;

pub async fn run(env: &TaskEnv, signature: i64, req: TDownloadReq, finish: &mut TFinishTaskRequest) -> Result<()> {
    record_job(req.job_id);
    finish.downloaded_tablet_ids = Some(Vec::new());
    let progress = FeProgress { master: env.master.clone(), job_id: req.job_id, task_id: signature, task_type: TTaskType::DOWNLOAD };
    let dirs: Vec<String> = match &req.remote_tablet_snapshots {
        Some(snaps) => snaps.iter().filter_map(|s| s.local_snapshot_path.clone()).collect(),
        None => req.src_dest_map.values().cloned().collect(),
    };
    let _writing = env.download_dirs.lock_all(dirs).await;
    let ids = match &req.remote_tablet_snapshots {
        Some(snaps) => from_remote_bes(env, req.job_id, snaps, &progress).await?,
        None => from_repository(env, &req, &progress).await?,
    };
    finish.downloaded_tablet_ids = Some(ids);
    Ok(())
}

async fn from_remote_bes(
    env: &TaskEnv,
    job_id: i64,
    snaps: &[Box<TRemoteTabletSnapshot>],
    progress: &FeProgress,
) -> Result<Vec<i64>> {
    // The pull engine checks every field and local dir before it starts.
    let snaps: Vec<TRemoteTabletSnapshot> = snaps.iter().map(|s| (**s).clone()).collect();
    let outcome = crate::pull::pull(&env.ctx, job_id, &snaps, progress).await?;
    info!(
        tablets = outcome.downloaded_tablet_ids.len(),
        bytes = outcome.bytes_transferred,
        files = outcome.files_transferred,
        skipped = outcome.files_skipped,
        "snapshots pulled"
    );
    Ok(outcome.downloaded_tablet_ids)
}

async fn from_repository(env: &TaskEnv, req: &TDownloadReq, progress: &FeProgress) -> Result<Vec<i64>> {
    // A job cancelled while the task was queued stops here.
    progress.report(0, 0).await?;
    let repo = Repository::open(
        req.storage_backend,
        req.location.as_deref(),
        req.broker_prop.as_ref(),
        req.src_dest_map.keys().next().map(|s| s.as_str()),
    )?;
    for local in req.src_dest_map.values() {
        let dir = env.ctx.storage.confine(Path::new(local)).ok_or_else(|| {
            BeError::NotAuthorized(format!("download destination {local} is not under a storage root"))
        })?;
        if !dir.is_dir() {
            return Err(BeError::NotFound(format!("snapshot path is not directory or does not exist: {local}")));
        }
    }
    let total = req.src_dest_map.len() as i32;
    let mut downloaded = Vec::new();
    for (done, (remote, local)) in req.src_dest_map.iter().enumerate() {
        let (local_tablet_id, _) = tablet_and_schema_hash(local)?;
        let remote_id = remote_tablet_id(remote)?;
        if env.ctx.storage.tablet_meta(local_tablet_id).is_none() {
            return Err(BeError::NotFound(format!("failed to get local tablet: {local_tablet_id}")));
        }
        let remote_dir = repo.resolve(remote)?;
        let remote_files = repo.list_with_checksum(&remote_dir).await?;
        if remote_files.is_empty() {
            return Err(BeError::NotFound(format!("get nothing from remote path: {remote}")));
        }
        let local_dir = Path::new(local);
        let have: BTreeSet<String> = local_files(local_dir)?.into_iter().collect();
        let mut bytes = 0u64;
        for (name, file) in &remote_files {
            let target = local_name(name, local_tablet_id);
            // The header is always fetched: it carries the ids MOVE rewrites.
            if !name.ends_with(".hdr") && have.contains(&target) && md5_file(&local_dir.join(&target)).await? == file.md5 {
                debug!(file = %name, "already downloaded");
                continue;
            }
            ensure_space(env, local_dir, file.size)?;
            bytes += repo.download(&file.location, &local_dir.join(&target), &file.md5).await?;
        }
        // Files of an earlier attempt the repository does not have any more.
        for f in &have {
            let remote_name = if f.ends_with(".hdr") { format!("{remote_id}.hdr") } else { f.clone() };
            if !remote_files.contains_key(&remote_name) {
                if let Err(e) = std::fs::remove_file(local_dir.join(f)) {
                    warn!(file = %f, error = %e, "cannot remove a stale local file");
                }
            }
        }
        info!(tablet_id = local_tablet_id, remote_tablet_id = remote_id, bytes, "tablet downloaded");
        downloaded.push(local_tablet_id);
        progress.report(done as i32 + 1, total).await?;
    }
    Ok(downloaded)
}

/// Room for `need` more bytes in `dir`: `storage_min_left_capacity_bytes` kept free and
/// upstream's flood stage, as a pull from other BEs checks.
fn ensure_space(env: &TaskEnv, dir: &Path, need: u64) -> Result<()> {
    let limits = crate::pull::space::SpaceLimits::of(&env.ctx.config);
    crate::pull::space::check_capacity(&[(dir.to_path_buf(), need)], &limits)
}
