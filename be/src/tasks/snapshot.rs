//! MAKE_SNAPSHOT: finishTask carries `snapshot_path` and, with `list_files`, the file
//! names in `<snapshot_path>/<tablet_id>/<schema_hash>/`.

use doris_thrift::agent_service::TSnapshotRequest;
use doris_thrift::master_service::TFinishTaskRequest;

use super::{blocking, record_tablet, TaskEnv};
use crate::error::Result;
use crate::storage::SnapshotSpec;

pub async fn run(env: &TaskEnv, _signature: i64, req: TSnapshotRequest, finish: &mut TFinishTaskRequest) -> Result<()> {
    record_tablet(req.tablet_id);
    // Upstream always sets both, empty on failure.
    finish.snapshot_path = Some(String::new());
    finish.snapshot_files = Some(Vec::new());
    let storage = env.ctx.storage.clone();
    let spec = SnapshotSpec::from(&req);
    let info = blocking(move || storage.make_snapshot(&spec)).await?;
    finish.snapshot_path = Some(info.snapshot_path.display().to_string());
    if req.list_files == Some(true) {
        let mut files = info.files;
        files.sort();
        finish.snapshot_files = Some(files);
    }
    tracing::info!(snapshot_path = %info.snapshot_path.display(), "snapshot made");
    Ok(())
}

impl From<&TSnapshotRequest> for SnapshotSpec {
    fn from(req: &TSnapshotRequest) -> SnapshotSpec {
        SnapshotSpec {
            tablet_id: req.tablet_id,
            schema_hash: req.schema_hash,
            version: req.version,
            missing_versions: req.missing_version.clone().unwrap_or_default(),
            copy_binlog: req.is_copy_binlog.unwrap_or(false),
            timeout_s: req.timeout,
        }
    }
}
