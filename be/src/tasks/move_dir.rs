//! MOVE: install a downloaded snapshot into its local tablet.

use doris_thrift::agent_service::TMoveDirReq;
use doris_thrift::master_service::TFinishTaskRequest;

use super::{blocking, record_job, record_tablet, TaskEnv};
use crate::error::Result;

pub async fn run(env: &TaskEnv, _signature: i64, req: TMoveDirReq, _finish: &mut TFinishTaskRequest) -> Result<()> {
    record_tablet(req.tablet_id);
    record_job(req.job_id);
    let storage = env.ctx.storage.clone();
    let meta = blocking(move || storage.move_dir(&req)).await?;
    tracing::info!(version = meta.max_version(), rows = meta.num_rows(), "snapshot installed");
    Ok(())
}
