//! PUSH_COOLDOWN_CONF: adopt (cooldown replica, term) per tablet when the term is newer.
//! The FE expects no finishTask; it sees the terms in the next tablet report.

use doris_thrift::agent_service::TPushCooldownConfReq;
use tracing::{info, warn};

use super::{blocking, TaskEnv};

pub async fn run(env: &TaskEnv, req: TPushCooldownConfReq) {
    for conf in &req.cooldown_confs {
        let tablet_id = conf.tablet_id;
        let (Some(replica_id), Some(term)) = (conf.cooldown_replica_id, conf.cooldown_term) else {
            warn!(tablet_id, "cooldown conf without replica id or term ignored");
            continue;
        };
        let storage = env.ctx.storage.clone();
        match blocking(move || storage.apply_cooldown_conf(tablet_id, replica_id, term)).await {
            Ok(true) => {
                info!(tablet_id, cooldown_replica_id = replica_id, cooldown_term = term, "cooldown conf applied")
            }
            Ok(false) => info!(tablet_id, cooldown_term = term, "stale cooldown conf ignored"),
            Err(e) => warn!(tablet_id, error = %e, "cooldown conf not applied"),
        }
    }
}
