//! DOWNLOAD / DOWNLOADING: one DOWNLOAD task per local backend, pulling from the source
//! backends (local snapshots, CCR) or reading the repository.

use std::collections::BTreeMap;

use tokio_util::sync::CancellationToken;

use super::*;

/// DOWNLOAD from the source BEs (local snapshots) or from the repository.
pub(super) async fn download(
    ctx: &FeContext,
    r: RestoreJobRecord,
    x: RestoreExtra,
    cancel: &CancellationToken,
) -> Result<()> {
    if r.repo_id == KEEP_ON_LOCAL_REPO_ID {
        download_from_bes(ctx, r, x, cancel).await
    } else {
        download_from_repo(ctx, r, x, cancel).await
    }
}

/// DOWNLOAD tasks, one per local backend, reading the repository's tablet dirs.
pub(super) async fn download_from_repo(
    ctx: &FeContext,
    mut r: RestoreJobRecord,
    x: RestoreExtra,
    cancel: &CancellationToken,
) -> Result<()> {
    let info = r
        .job_info
        .clone()
        .ok_or_else(|| FeError::Internal("restore job lost its job info".into()))?;
    let repo = crate::backup::repos::get(ctx, &r.repo_name)?;
    let (backend, location, props) = repo.be_location_and_props();
    let mut by_be: BTreeMap<i64, BTreeMap<String, String>> = BTreeMap::new();
    for t in &x.tablets {
        let ids = TabletIds {
            db_id: info.id,
            table_id: t.remote_table_id,
            partition_id: t.remote_partition_id,
            index_id: t.remote_index_id,
            tablet_id: t.remote_tablet_id,
        };
        by_be
            .entry(t.local_be_id)
            .or_default()
            .insert(repo.tablet_remote_dir(&r.label, &ids), t.local_dir());
    }
    let mut tasks = Vec::new();
    r.tasks.unfinished.clear();
    for (be, map) in by_be {
        let sig = next_sig(ctx)?;
        let mut task = new_task(TTaskType::DOWNLOAD, sig);
        task.download_req = Some(Box::new(TDownloadReq {
            job_id: r.job_id,
            src_dest_map: map,
            broker_addr: TNetworkAddress {
                hostname: String::new(),
                port: 0,
            },
            broker_prop: Some(props.clone()),
            storage_backend: Some(backend),
            location: Some(location.clone()),
            remote_tablet_snapshots: None,
        }));
        tasks.push(AgentTask {
            backend_id: be,
            addr: be_addr(ctx, be)?,
            request: task,
        });
        r.tasks.unfinished.insert(sig, be);
    }
    finish_download(ctx, r, x, tasks, cancel).await
}

pub(super) async fn finish_download(
    ctx: &FeContext,
    mut r: RestoreJobRecord,
    x: RestoreExtra,
    tasks: Vec<AgentTask>,
    cancel: &CancellationToken,
) -> Result<()> {
    if r.state == RestoreState::Download {
        r.move_to(RestoreState::Downloading, FeContext::now_ms())?;
    }
    save(ctx, &r, &x)?;
    run_tasks(ctx, &r, tasks, cancel).await?;
    r.tasks.unfinished.clear();
    r.move_to(RestoreState::Commit, FeContext::now_ms())?;
    save(ctx, &r, &x)
}

/// DOWNLOAD tasks, one per local backend, pulling from the source backends.
pub(super) async fn download_from_bes(
    ctx: &FeContext,
    mut r: RestoreJobRecord,
    x: RestoreExtra,
    cancel: &CancellationToken,
) -> Result<()> {
    let info = r
        .job_info
        .clone()
        .ok_or_else(|| FeError::Internal("restore job lost its job info".into()))?;
    let token = info.token().map(str::to_string);
    let mut by_be: BTreeMap<i64, Vec<Box<TRemoteTabletSnapshot>>> = BTreeMap::new();
    for t in &x.tablets {
        let remote_be = *info.tablet_be_map.get(&t.remote_tablet_id).ok_or_else(|| {
            FeError::InvalidArgument(format!(
                "job_info tablet_be_map lacks tablet {}",
                t.remote_tablet_id
            ))
        })?;
        let remote_path = info
            .tablet_snapshot_path_map
            .get(&t.remote_tablet_id)
            .ok_or_else(|| {
                FeError::InvalidArgument(format!(
                    "job_info tablet_snapshot_path_map lacks tablet {}",
                    t.remote_tablet_id
                ))
            })?;
        let addr = info.be_addr(remote_be).ok_or_else(|| {
            FeError::InvalidArgument(format!(
                "job_info extra_info.be_network_map lacks backend {remote_be}"
            ))
        })?;
        by_be
            .entry(t.local_be_id)
            .or_default()
            .push(Box::new(TRemoteTabletSnapshot {
                local_tablet_id: Some(t.local_tablet_id),
                local_snapshot_path: Some(t.local_dir()),
                remote_tablet_id: Some(t.remote_tablet_id),
                remote_be_id: Some(remote_be),
                remote_be_addr: Some(TNetworkAddress {
                    hostname: addr.ip.clone(),
                    port: addr.port,
                }),
                remote_snapshot_path: Some(format!(
                    "{remote_path}/{}/{}",
                    t.remote_tablet_id, t.remote_schema_hash
                )),
                remote_token: token.clone(),
            }));
    }
    let mut tasks = Vec::new();
    r.tasks.unfinished.clear();
    for (be, snaps) in by_be {
        let sig = next_sig(ctx)?;
        let mut task = new_task(TTaskType::DOWNLOAD, sig);
        task.download_req = Some(Box::new(TDownloadReq {
            job_id: r.job_id,
            src_dest_map: BTreeMap::new(),
            broker_addr: TNetworkAddress {
                hostname: String::new(),
                port: 0,
            },
            broker_prop: None,
            storage_backend: None,
            location: None,
            remote_tablet_snapshots: Some(snaps),
        }));
        tasks.push(AgentTask {
            backend_id: be,
            addr: be_addr(ctx, be)?,
            request: task,
        });
        r.tasks.unfinished.insert(sig, be);
    }
    finish_download(ctx, r, x, tasks, cancel).await
}
