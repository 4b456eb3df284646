//! UPLOAD_SNAPSHOT / UPLOADING and UPLOAD_INFO: snapshot files, then meta and job info,
//! into the repository.

use std::collections::BTreeMap;

use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::*;

/// How many times a backend's UPLOAD is sent before its wrong answer fails the job.
const UPLOAD_TRIES: usize = 3;

/// UPLOAD tasks (one per backend) copying the snapshot dirs into the repository; the
/// uploaded `<file>.<md5>` names become the tablets' files in the job info. Each answer is
/// checked as upstream checks it (`check_uploaded`); a backend whose answer is wrong gets
/// its task again, up to `UPLOAD_TRIES` times.
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
    if r.state == BackupState::UploadSnapshot {
        r.move_to(BackupState::Uploading, FeContext::now_ms())?;
    }
    let mut pending = by_be;
    let mut last_wrong = String::new();
    for _attempt in 0..UPLOAD_TRIES {
        if pending.is_empty() {
            break;
        }
        let mut tasks = Vec::new();
        let mut be_of_sig = BTreeMap::new();
        r.tasks.unfinished.clear();
        for (be, map) in &pending {
            let addr = ctx
                .backends
                .get(*be)
                .and_then(|b| b.be_addr())
                .ok_or_else(|| FeError::IllegalState(format!("backend {be} is unknown or not reachable")))?;
            let sig = ctx.store.next_id()?;
            let t = TaskBody::Upload(TUploadReq {
                job_id: r.job_id,
                src_dest_map: map.clone(),
                broker_addr: TNetworkAddress { hostname: String::new(), port: 0 },
                broker_prop: Some(props.clone()),
                storage_backend: Some(backend),
                location: Some(location.clone()),
            })
            .into_request(sig);
            tasks.push(AgentTask { backend_id: *be, addr, request: t });
            r.tasks.unfinished.insert(sig, *be);
            be_of_sig.insert(sig, *be);
        }
        save(ctx, &r)?;
        let done = tokio::select! {
            res = ctx.tasks.run(tasks, remaining(&r)) => res.map_err(|e| FeError::Internal(e.to_string()))?,
            _ = cancel.cancelled() => return Err(runner::cancelled(JobKind::Backup)),
        };
        for (_, fin) in done {
            let Some(be) = be_of_sig.get(&fin.signature).copied() else { continue };
            let files = fin.tablet_files.clone().unwrap_or_default();
            match check_uploaded(&r.snapshots, be, &files) {
                Ok(()) => {
                    for (tablet, names) in files {
                        if let Some(s) = r.snapshots.get_mut(&tablet) {
                            s.files = names;
                        }
                    }
                    pending.remove(&be);
                }
                Err(why) => {
                    warn!(backend = be, %why, "upload answer does not match the snapshot; sending the task again");
                    last_wrong = why;
                }
            }
        }
    }
    if !pending.is_empty() {
        return Err(FeError::IllegalState(last_wrong));
    }
    r.tasks.unfinished.clear();
    r.move_to(BackupState::SaveMeta, FeContext::now_ms())?;
    info!(tablets = r.snapshots.len(), repo = %r.repo_name, "snapshots uploaded");
    save(ctx, &r)
}

/// An UPLOAD's `tablet_files` against the snapshots it uploaded, as upstream checks them:
/// something was uploaded, and each tablet's names, their `.<md5>` suffix stripped, are
/// the snapshot's files (as many, and each of them). The texts are upstream's.
fn check_uploaded(
    snapshots: &BTreeMap<i64, SnapshotRecord>,
    be: i64,
    tablet_files: &BTreeMap<i64, Vec<String>>,
) -> std::result::Result<(), String> {
    if tablet_files.is_empty() {
        return Err(format!("upload snapshot files failed because nothing is uploaded. be: {be}"));
    }
    for (tablet, names) in tablet_files {
        let Some(s) = snapshots.get(tablet) else {
            return Err(format!("upload snapshot files failed because tablet {tablet} is not in the job. be: {be}"));
        };
        let uploaded: Vec<&str> = names.iter().map(|n| n.rsplit_once('.').map_or(n.as_str(), |(f, _)| f)).collect();
        if uploaded.len() != s.files.len() {
            return Err(format!(
                "upload snapshot files failed because file num is wrong. expect: {}, actual:{}, tablet: {tablet}, be: {be}",
                s.files.len(),
                uploaded.len()
            ));
        }
        if s.files.iter().any(|f| !uploaded.contains(&f.as_str())) {
            return Err(format!(
                "upload snapshot files failed because file is different. expect: [{}], actual: [{}], tablet: {tablet}, be: {be}",
                s.files.join(", "),
                uploaded.join(", ")
            ));
        }
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(tablet: i64, files: &[&str]) -> (i64, SnapshotRecord) {
        let s = SnapshotRecord {
            db_id: 1,
            table_id: 2,
            partition_id: 3,
            index_id: 4,
            tablet_id: tablet,
            be_id: 9,
            schema_hash: 5,
            path: "/snap".into(),
            files: files.iter().map(|f| f.to_string()).collect(),
        };
        (tablet, s)
    }

    fn answer(pairs: &[(i64, &[&str])]) -> BTreeMap<i64, Vec<String>> {
        pairs.iter().map(|(t, n)| (*t, n.iter().map(|s| s.to_string()).collect())).collect()
    }

    #[test]
    fn upload_answers_are_checked_as_upstream_checks_them() {
        let snaps: BTreeMap<i64, SnapshotRecord> = [snap(7, &["7.hdr", "r1_0.dat"]), snap(8, &["8.hdr"])].into();
        assert!(check_uploaded(&snaps, 9, &answer(&[(7, &["7.hdr.aa11", "r1_0.dat.bb22"]), (8, &["8.hdr.cc33"])])).is_ok());
        let e = check_uploaded(&snaps, 9, &BTreeMap::new()).unwrap_err();
        assert_eq!(e, "upload snapshot files failed because nothing is uploaded. be: 9");
        let e = check_uploaded(&snaps, 9, &answer(&[(7, &["7.hdr.aa11"])])).unwrap_err();
        assert!(e.contains("file num is wrong. expect: 2, actual:1, tablet: 7, be: 9"), "{e}");
        let e = check_uploaded(&snaps, 9, &answer(&[(7, &["7.hdr.aa11", "r2_0.dat.bb22"])])).unwrap_err();
        assert!(e.contains("file is different. expect: [7.hdr, r1_0.dat], actual: [7.hdr, r2_0.dat], tablet: 7"), "{e}");
        assert!(check_uploaded(&snaps, 9, &answer(&[(99, &["x.1"])])).is_err());
    }
}
