//! MOVE: install a downloaded snapshot into its local tablet.

use doris_thrift::agent_service::TMoveDirReq;
use doris_thrift::master_service::TFinishTaskRequest;

use super::{blocking, record_job, record_tablet, TaskEnv};
use crate::error::Result;
use crate::storage::MoveSpec;

pub async fn run(env: &TaskEnv, _signature: i64, req: TMoveDirReq, _finish: &mut TFinishTaskRequest) -> Result<()> {
    record_tablet(req.tablet_id);
    record_job(req.job_id);
    let storage = env.ctx.storage.clone();
    let spec = MoveSpec::from(&req);
    let meta = blocking(move || storage.move_dir(&spec)).await?;
    tracing::info!(version = meta.max_version(), rows = meta.num_rows(), "snapshot installed");
    Ok(())
}

impl From<&TMoveDirReq> for MoveSpec {
    fn from(req: &TMoveDirReq) -> MoveSpec {
        MoveSpec { tablet_id: req.tablet_id, schema_hash: req.schema_hash, src: req.src.clone().into(), overwrite: req.overwrite }
    }
}
