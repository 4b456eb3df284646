//! DOWNLOAD / DOWNLOADING: one DOWNLOAD task per local backend, pulling from the source
//! backends (local snapshots, CCR) or reading the repository.

use std::collections::BTreeMap;

use tokio_util::sync::CancellationToken;

use super::*;

/// DOWNLOAD from the source BEs (local snapshots) or from the repository.
pub(super) async fn download(
    ctx: &BackupEnv,
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
    ctx: &BackupEnv,
    r: RestoreJobRecord,
    x: RestoreExtra,
    cancel: &CancellationToken,
) -> Result<()> {
    let info = job_info(&r)?;
    let repo = crate::backup::repos::get(ctx, &r.repo_name)?;
    let (backend, location, props) = repo.be_location_and_props();
    let job_id = r.job_id;
    let reqs: Vec<(i64, TDownloadReq)> = plan_from_repository(&x.tablets, &info, |ids| repo.tablet_remote_dir(&r.label, ids))
        .into_iter()
        .map(|(be, map)| {
            let req = TDownloadReq {
                src_dest_map: map,
                broker_prop: Some(props.clone()),
                storage_backend: Some(backend),
                location: Some(location.clone()),
                ..download_req(job_id)
            };
            (be, req)
        })
        .collect();
    run_downloads(ctx, r, x, reqs, cancel).await
}

/// DOWNLOAD tasks, one per local backend, pulling from the source backends.
pub(super) async fn download_from_bes(
    ctx: &BackupEnv,
    r: RestoreJobRecord,
    x: RestoreExtra,
    cancel: &CancellationToken,
) -> Result<()> {
    let info = job_info(&r)?;
    let job_id = r.job_id;
    let reqs: Vec<(i64, TDownloadReq)> = plan_from_backends(&x.tablets, &info)?
        .into_iter()
        .map(|(be, snaps)| (be, TDownloadReq { remote_tablet_snapshots: Some(snaps), ..download_req(job_id) }))
        .collect();
    run_downloads(ctx, r, x, reqs, cancel).await
}

/// The job info, shared with the job's record (not copied).
fn job_info(r: &RestoreJobRecord) -> Result<crate::backup::Shared<BackupJobInfo>> {
    r.job_info.clone().ok_or_else(|| FeError::Internal("restore job lost its job info".into()))
}

/// A DOWNLOAD request of job `job_id` with no source yet (no broker: upstream's empty
/// broker address).
fn download_req(job_id: i64) -> TDownloadReq {
    TDownloadReq {
        job_id,
        src_dest_map: BTreeMap::new(),
        broker_addr: TNetworkAddress { hostname: String::new(), port: 0 },
        broker_prop: None,
        storage_backend: None,
        location: None,
        remote_tablet_snapshots: None,
    }
}

/// Send one DOWNLOAD per local backend (recorded as the job's unfinished tasks) and wait
/// for them; DOWNLOADING, then COMMIT.
async fn run_downloads(
    ctx: &BackupEnv,
    mut r: RestoreJobRecord,
    x: RestoreExtra,
    reqs: impl IntoIterator<Item = (i64, TDownloadReq)>,
    cancel: &CancellationToken,
) -> Result<()> {
    let mut tasks = Vec::new();
    r.tasks.unfinished.clear();
    for (be, req) in reqs {
        let sig = ctx.store.next_id()?;
        tasks.push(AgentTask { backend_id: be, addr: be_addr(ctx, be)?, request: TaskBody::Download(req).into_request(sig) });
        r.tasks.unfinished.insert(sig, be);
    }
    if r.state == RestoreState::Download {
        r.move_to(RestoreState::Downloading, FeContext::now_ms())?;
    }
    save(ctx, &r, &x)?;
    run_tasks(ctx, &r, tasks, cancel).await?;
    r.tasks.unfinished.clear();
    r.move_to(RestoreState::Commit, FeContext::now_ms())?;
    save(ctx, &r, &x)
}

/// A repository restore's DOWNLOAD maps, per local backend: the repository directory of
/// each backed-up tablet (`remote_dir`) -> the local snapshot directory it fills.
pub(super) fn plan_from_repository(
    tablets: &[RestoreTablet],
    info: &BackupJobInfo,
    remote_dir: impl Fn(&TabletIds) -> String,
) -> BTreeMap<i64, BTreeMap<String, String>> {
    let mut by_be: BTreeMap<i64, BTreeMap<String, String>> = BTreeMap::new();
    for t in tablets {
        let ids = TabletIds {
            db_id: info.id,
            table_id: t.remote_table_id,
            partition_id: t.remote_partition_id,
            index_id: t.remote_index_id,
            tablet_id: t.remote_tablet_id,
        };
        by_be.entry(t.local_be_id).or_default().insert(remote_dir(&ids), t.local_dir());
    }
    by_be
}

/// A local-snapshot restore's DOWNLOAD lists, per local backend: where each backed-up
/// tablet's snapshot is (backend, address, directory, token from the job info) and the
/// local snapshot directory it fills. A job info that lacks any of it is refused.
pub(super) fn plan_from_backends(
    tablets: &[RestoreTablet],
    info: &BackupJobInfo,
) -> Result<BTreeMap<i64, Vec<Box<TRemoteTabletSnapshot>>>> {
    let token = info.token().map(str::to_string);
    let mut by_be: BTreeMap<i64, Vec<Box<TRemoteTabletSnapshot>>> = BTreeMap::new();
    for t in tablets {
        let remote_be = *info.tablet_be_map.get(&t.remote_tablet_id).ok_or_else(|| {
            FeError::InvalidArgument(format!("job_info tablet_be_map lacks tablet {}", t.remote_tablet_id))
        })?;
        let remote_path = info.tablet_snapshot_path_map.get(&t.remote_tablet_id).ok_or_else(|| {
            FeError::InvalidArgument(format!("job_info tablet_snapshot_path_map lacks tablet {}", t.remote_tablet_id))
        })?;
        let addr = info.be_addr(remote_be).ok_or_else(|| {
            FeError::InvalidArgument(format!("job_info extra_info.be_network_map lacks backend {remote_be}"))
        })?;
        by_be.entry(t.local_be_id).or_default().push(Box::new(TRemoteTabletSnapshot {
            local_tablet_id: Some(t.local_tablet_id),
            local_snapshot_path: Some(t.local_dir()),
            remote_tablet_id: Some(t.remote_tablet_id),
            remote_be_id: Some(remote_be),
            remote_be_addr: Some(TNetworkAddress { hostname: addr.ip.clone(), port: addr.port }),
            remote_snapshot_path: Some(format!("{remote_path}/{}/{}", t.remote_tablet_id, t.remote_schema_hash)),
            remote_token: token.clone(),
        }));
    }
    Ok(by_be)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::{ExtraInfo, NetworkAddr};

    fn tablet(local: i64, be: i64, remote: i64) -> RestoreTablet {
        RestoreTablet {
            table_id: 1,
            partition_id: 2,
            local_tablet_id: local,
            local_be_id: be,
            schema_hash: 33,
            remote_tablet_id: remote,
            remote_schema_hash: 44,
            remote_table_id: 11,
            remote_partition_id: 12,
            remote_index_id: 13,
            local_snapshot_path: format!("/be{be}/snapshot/s{local}"),
        }
    }

    fn info() -> BackupJobInfo {
        let mut info = BackupJobInfo { id: 10, ..Default::default() };
        for (remote, be) in [(501, 91), (502, 92), (503, 91)] {
            info.tablet_be_map.insert(remote, be);
            info.tablet_snapshot_path_map.insert(remote, format!("/src{be}/snapshot/x"));
        }
        let mut extra = ExtraInfo { token: Some("tok".into()), ..Default::default() };
        for be in [91, 92] {
            extra.be_network_map.insert(be, NetworkAddr { ip: format!("10.0.0.{be}"), port: 8040, ..Default::default() });
        }
        info.extra_info = Some(extra);
        info
    }

    /// One DOWNLOAD per local backend, each tablet pulled from where the job info says
    /// its snapshot is, with the source's token.
    #[test]
    fn backend_plan_groups_by_local_backend() {
        let tablets = [tablet(1, 7, 501), tablet(2, 8, 502), tablet(3, 7, 503)];
        let plan = plan_from_backends(&tablets, &info()).unwrap();
        assert_eq!(plan.keys().copied().collect::<Vec<_>>(), [7, 8]);
        let on7 = &plan[&7];
        assert_eq!(on7.len(), 2);
        assert_eq!(on7[0].local_tablet_id, Some(1));
        assert_eq!(on7[0].local_snapshot_path.as_deref(), Some("/be7/snapshot/s1/1/33"));
        assert_eq!(on7[0].remote_be_id, Some(91));
        assert_eq!(on7[0].remote_snapshot_path.as_deref(), Some("/src91/snapshot/x/501/44"));
        let addr = on7[0].remote_be_addr.as_ref().unwrap();
        assert_eq!((addr.hostname.as_str(), addr.port), ("10.0.0.91", 8040));
        assert_eq!(on7[0].remote_token.as_deref(), Some("tok"));
        assert_eq!(plan[&8][0].remote_be_id, Some(92));
    }

    /// A job info that does not say where a tablet's snapshot is fails the plan, naming it.
    #[test]
    fn backend_plan_refuses_an_incomplete_job_info() {
        let mut i = info();
        i.tablet_be_map.remove(&502);
        let e = plan_from_backends(&[tablet(2, 8, 502)], &i).unwrap_err();
        assert!(e.to_string().contains("tablet_be_map lacks tablet 502"), "{e}");
        let mut i = info();
        i.extra_info = None;
        let e = plan_from_backends(&[tablet(2, 8, 502)], &i).unwrap_err();
        assert!(e.to_string().contains("be_network_map lacks backend 92"), "{e}");
    }

    /// A repository restore maps each backed-up tablet's directory (named by the job
    /// info's db id and the tablet's backed-up ids) to its local snapshot directory.
    #[test]
    fn repository_plan_maps_remote_dirs_to_local_dirs() {
        let tablets = [tablet(1, 7, 501), tablet(2, 8, 502)];
        let plan = plan_from_repository(&tablets, &info(), |ids| {
            format!("repo/{}/{}/{}/{}/{}", ids.db_id, ids.table_id, ids.partition_id, ids.index_id, ids.tablet_id)
        });
        assert_eq!(plan.len(), 2);
        assert_eq!(plan[&7]["repo/10/11/12/13/501"], "/be7/snapshot/s1/1/33");
        assert_eq!(plan[&8]["repo/10/11/12/13/502"], "/be8/snapshot/s2/2/33");
    }
}
