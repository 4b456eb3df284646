//! MOVE: install a downloaded snapshot into its local tablet.

use std::sync::Arc;

use doris_thrift::agent_service::TMoveDirReq;

use super::{blocking, record_job, record_tablet};
use crate::agent::Agent;
use crate::error::Result;

pub async fn run(agent: &Arc<Agent>, req: &TMoveDirReq) -> Result<()> {
    record_tablet(req.tablet_id);
    record_job(req.job_id);
    let storage = agent.ctx.storage.clone();
    let r = req.clone();
    let meta = blocking(move || storage.move_dir(&r)).await?;
    tracing::info!(version = meta.max_version(), rows = meta.num_rows(), "snapshot installed");
    Ok(())
}
