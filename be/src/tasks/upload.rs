//! UPLOAD: copy local snapshot dirs into a repository as `<file>.<md5>`; finishTask
//! carries `tablet_files` (tablet id -> uploaded names with their checksums).

use std::collections::BTreeMap;
use std::path::Path;

use doris_thrift::agent_service::TUploadReq;
use doris_thrift::master_service::TFinishTaskRequest;
use doris_thrift::types::TTaskType;
use tracing::{debug, info};

use super::progress::FeProgress;
use super::{record_job, TaskEnv};
use crate::repository::{local_files, md5_file, tablet_and_schema_hash, Repository};
use crate::error::{BeError, Result};
use crate::pull::PullProgress;

pub async fn run(env: &TaskEnv, signature: i64, req: TUploadReq, finish: &mut TFinishTaskRequest) -> Result<()> {
    record_job(req.job_id);
    finish.tablet_files = Some(BTreeMap::new());
    let progress = FeProgress { master: env.master.clone(), job_id: req.job_id, task_id: signature, task_type: TTaskType::UPLOAD };
    // A job cancelled while the task was queued stops here.
    progress.report(0, 0).await?;
    let repo = Repository::open(
        req.storage_backend,
        req.location.as_deref(),
        req.broker_prop.as_ref(),
        req.src_dest_map.values().next().map(|s| s.as_str()),
    )?;
    for src in req.src_dest_map.keys() {
        // Only our own snapshot dirs may leave this BE.
        let dir = env.ctx.storage.confine(Path::new(src)).ok_or_else(|| {
            BeError::NotAuthorized(format!("upload source {src} is not under a storage root"))
        })?;
        if !dir.is_dir() {
            return Err(BeError::NotFound(format!("snapshot path is not directory or does not exist: {src}")));
        }
    }
    let total = req.src_dest_map.len() as i32;
    let mut tablet_files: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for (done, (src, dest)) in req.src_dest_map.iter().enumerate() {
        let (tablet_id, _) = tablet_and_schema_hash(src)?;
        let remote_dir = repo.resolve(dest)?;
        let remote = repo.list_with_checksum(&remote_dir).await?;
        let src_dir = Path::new(src);
        let mut names = Vec::new();
        for file in local_files(src_dir)? {
            let local = src_dir.join(&file);
            let md5 = md5_file(&local).await?;
            names.push(format!("{file}.{md5}"));
            if remote.get(&file).is_some_and(|r| r.md5 == md5) {
                debug!(file, "already in the repository");
                continue;
            }
            repo.upload(&local, &Repository::child(&remote_dir, &format!("{file}.{md5}"))).await?;
        }
        info!(tablet_id, files = names.len(), remote = %remote_dir, "tablet uploaded");
        tablet_files.insert(tablet_id, names);
        progress.report(done as i32 + 1, total).await?;
    }
    finish.tablet_files = Some(tablet_files);
    Ok(())
}
