//! RELEASE_SNAPSHOT: remove a snapshot directory.

use std::path::PathBuf;

use doris_thrift::agent_service::TReleaseSnapshotRequest;
use doris_thrift::master_service::TFinishTaskRequest;

use super::{blocking, TaskEnv};
use crate::error::Result;

pub async fn run(env: &TaskEnv, _signature: i64, req: TReleaseSnapshotRequest, _finish: &mut TFinishTaskRequest) -> Result<()> {
    let storage = env.ctx.storage.clone();
    let path = PathBuf::from(&req.snapshot_path);
    blocking(move || storage.release_snapshot(&path)).await
}
