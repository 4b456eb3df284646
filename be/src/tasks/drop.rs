//! DROP: remove a tablet (a missing one is fine: the FE may resend).

use std::sync::Arc;

use doris_thrift::agent_service::TDropTabletReq;

use super::{blocking, record_tablet};
use crate::agent::Agent;
use crate::error::Result;

pub async fn run(agent: &Arc<Agent>, req: &TDropTabletReq) -> Result<()> {
    record_tablet(req.tablet_id);
    let storage = agent.ctx.storage.clone();
    let (id, replica_id) = (req.tablet_id, req.replica_id.unwrap_or(0));
    blocking(move || storage.drop_tablet(id, replica_id)).await
}
