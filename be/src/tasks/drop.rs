//! DROP: remove a tablet (a missing one is fine: the FE may resend).

use doris_thrift::agent_service::TDropTabletReq;
use doris_thrift::master_service::TFinishTaskRequest;

use super::{blocking, record_tablet, TaskEnv};
use crate::error::Result;

pub async fn run(env: &TaskEnv, _signature: i64, req: TDropTabletReq, _finish: &mut TFinishTaskRequest) -> Result<()> {
    record_tablet(req.tablet_id);
    let storage = env.ctx.storage.clone();
    let (id, replica_id) = (req.tablet_id, req.replica_id.unwrap_or(0));
    blocking(move || storage.drop_tablet(id, replica_id)).await
}
