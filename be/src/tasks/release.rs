//! RELEASE_SNAPSHOT: remove a snapshot directory.

use std::path::PathBuf;
use std::sync::Arc;

use doris_thrift::agent_service::TReleaseSnapshotRequest;

use super::blocking;
use crate::agent::Agent;
use crate::error::Result;

pub async fn run(agent: &Arc<Agent>, req: &TReleaseSnapshotRequest) -> Result<()> {
    let storage = agent.ctx.storage.clone();
    let path = PathBuf::from(&req.snapshot_path);
    blocking(move || storage.release_snapshot(&path)).await
}
