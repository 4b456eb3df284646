//! MAKE_SNAPSHOT: finishTask carries `snapshot_path` and, with `list_files`, the file
//! names in `<snapshot_path>/<tablet_id>/<schema_hash>/`.

use doris_thrift::agent_service::TSnapshotRequest;
use doris_thrift::master_service::TFinishTaskRequest;

use super::{blocking, record_tablet, TaskEnv};
use crate::error::Result;

pub async fn run(env: &TaskEnv, _signature: i64, req: TSnapshotRequest, finish: &mut TFinishTaskRequest) -> Result<()> {
    record_tablet(req.tablet_id);
    // Upstream always sets both, empty on failure.
    finish.snapshot_path = Some(String::new());
    finish.snapshot_files = Some(Vec::new());
    let storage = env.ctx.storage.clone();
    let r = req.clone();
    let info = blocking(move || storage.make_snapshot(&r)).await?;
    finish.snapshot_path = Some(info.snapshot_path.display().to_string());
    if req.list_files == Some(true) {
        let mut files = info.files;
        files.sort();
        finish.snapshot_files = Some(files);
    }
    tracing::info!(snapshot_path = %info.snapshot_path.display(), "snapshot made");
    Ok(())
}
