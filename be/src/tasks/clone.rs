//! CLONE: a replica that missed versions (its BE was down during a load, or it failed a
//! publish) catches up from a healthy replica, as upstream's `EngineCloneTask` does: ask
//! a source BE for a snapshot of the tablet at the wanted version (`make_snapshot` over
//! thrift), pull its files with the verified pull engine, install them over the local
//! tablet (MOVE's install: the local tablet's pending rowsets and cooldown state stay),
//! then release the source snapshot. Source BEs are tried in the order given.
//! finishTask carries the tablet's info (`finish_tablet_infos`) and `report_version`.
//!
//! Only an existing local tablet is repaired; making a new replica (upstream's clone of a
//! missing tablet) is not done.

use std::path::PathBuf;
use std::time::Duration;

use doris_thrift::agent_service::{TCloneReq, TRemoteTabletSnapshot, TSnapshotRequest};
use doris_thrift::master_service::TFinishTaskRequest;
use doris_thrift::services::BackendServiceClient;
use doris_thrift::status::TStatusCode;
use doris_thrift::transport::ClientOptions;
use doris_thrift::types::{TBackend, TNetworkAddress};
use tracing::{info, warn};

use super::{blocking, record_tablet, TaskEnv};
use crate::error::{BeError, Result};
use crate::pull::PullProgress;
use crate::storage::MoveSpec;

/// A clone has no job on the FE to report progress to.
struct Silent;

#[async_trait::async_trait]
impl PullProgress for Silent {
    async fn report(&self, _finished: i32, _total: i32) -> Result<()> {
        Ok(())
    }
}

pub async fn run(env: &TaskEnv, signature: i64, req: TCloneReq, finish: &mut TFinishTaskRequest) -> Result<()> {
    let tablet_id = req.tablet_id;
    record_tablet(tablet_id);
    let meta = env.ctx.storage.tablet_meta(tablet_id).ok_or_else(|| BeError::NotFound(format!("tablet {tablet_id}")))?;
    if meta.schema_hash != req.schema_hash {
        return Err(BeError::InvalidArgument(format!(
            "tablet {tablet_id} has schema hash {}, the clone asks for {}",
            meta.schema_hash, req.schema_hash
        )));
    }
    let wanted = req.version.unwrap_or(0);
    if wanted <= 0 || meta.max_version() < wanted {
        let mut last = BeError::InvalidArgument(format!("clone of tablet {tablet_id} names no source backend"));
        let mut done = false;
        for src in &req.src_backends {
            match clone_from(env, signature, &req, src, wanted).await {
                Ok(v) => {
                    info!(tablet_id, from = %src.host, be_port = src.be_port, version = v, "tablet cloned");
                    done = true;
                    break;
                }
                Err(e) => {
                    warn!(tablet_id, from = %src.host, be_port = src.be_port, error = %e, "clone from this source failed");
                    last = e;
                }
            }
        }
        if !done {
            return Err(last);
        }
    } else {
        info!(tablet_id, version = meta.max_version(), wanted, "tablet already holds the version; nothing to clone");
    }
    // A report soon tells the FE the new version too.
    finish.report_version = Some(env.reports.bump_version());
    env.reports.trigger();
    finish.finish_tablet_infos = env.ctx.storage.tablet_info(tablet_id).map(|i| vec![Box::new(i)]);
    Ok(())
}

/// One source: snapshot there, pull here, install, release there. The version installed.
async fn clone_from(env: &TaskEnv, signature: i64, req: &TCloneReq, src: &TBackend, wanted: i64) -> Result<i64> {
    let tablet_id = req.tablet_id;
    let timeout = Duration::from_secs(req.timeout_s.filter(|t| *t > 0).map_or(3600, |t| t as u64));
    let opts = ClientOptions { call_timeout: timeout.min(Duration::from_secs(600)), ..Default::default() };
    let client = BackendServiceClient::new(env.ctx.fe_pool.channel(format!("{}:{}", src.host, src.be_port), opts));
    let version = (wanted > 0).then_some(wanted);
    let snap_req = TSnapshotRequest::new(tablet_id, req.schema_hash, version, None, timeout.as_secs() as i64, None, None, false, None, None, None, None, None, None);
    let r = client.make_snapshot(&snap_req).await.map_err(|e| BeError::Internal(format!("make_snapshot on {}: {e}", src.host)))?;
    if r.status.status_code != TStatusCode::OK {
        let msg = r.status.error_msgs.clone().unwrap_or_default().join("; ");
        return Err(BeError::Internal(format!("make_snapshot on {}:{} refused: {msg}", src.host, src.be_port)));
    }
    let snapshot_path = r.snapshot_path.clone().unwrap_or_default();
    let out = pull_and_install(env, signature, req, src, &snapshot_path).await;
    // The source snapshot is released whatever happened (it expires there anyway).
    match client.release_snapshot(&snapshot_path).await {
        Ok(r) if r.status.status_code == TStatusCode::OK => {}
        Ok(r) => warn!(tablet_id, snapshot_path, status = ?r.status, "release_snapshot refused"),
        Err(e) => warn!(tablet_id, snapshot_path, error = %e, "release_snapshot failed"),
    }
    out
}

async fn pull_and_install(env: &TaskEnv, signature: i64, req: &TCloneReq, src: &TBackend, snapshot_path: &str) -> Result<i64> {
    let tablet_id = req.tablet_id;
    let root = env.ctx.storage.data_dir_of(tablet_id).ok_or_else(|| BeError::NotFound(format!("tablet {tablet_id}")))?;
    let base: PathBuf = root.root.join("clone").join(format!("{tablet_id}.{signature}"));
    let local = base.join(tablet_id.to_string()).join(req.schema_hash.to_string());
    let mk = local.clone();
    blocking(move || std::fs::create_dir_all(&mk).map_err(|e| BeError::io(mk.display().to_string(), e))).await?;
    let snap = TRemoteTabletSnapshot::new(
        tablet_id,
        local.display().to_string(),
        tablet_id,
        src.id,
        TNetworkAddress::new(src.host.clone(), src.http_port),
        format!("{snapshot_path}/{tablet_id}/{}", req.schema_hash),
        env.ctx.token(),
    );
    let installed = async {
        crate::pull::pull(&env.ctx, signature, &[snap], &Silent).await?;
        let storage = env.ctx.storage.clone();
        let spec = MoveSpec { tablet_id, schema_hash: req.schema_hash, src: local.clone(), overwrite: true };
        let meta = blocking(move || storage.move_dir(&spec)).await?;
        Ok::<i64, BeError>(meta.max_version())
    }
    .await;
    let rm = base.clone();
    let _ = blocking(move || std::fs::remove_dir_all(&rm).map_err(|e| BeError::io(rm.display().to_string(), e))).await;
    installed
}
