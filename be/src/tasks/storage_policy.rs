//! PUSH_STORAGE_POLICY: adopt the storage policies and resources the FE pushes (newer
//! versions only), forget dropped policies. As upstream, the FE gets no finishTask: it
//! sees the (id, version) pairs in the next tablet report and pushes again on a mismatch.

use doris_thrift::agent_service::TPushStoragePolicyReq;
use tracing::{info, warn};

use super::{blocking, TaskEnv};

pub async fn run(env: &TaskEnv, req: TPushStoragePolicyReq) {
    let storage = env.ctx.storage.clone();
    match blocking(move || storage.push_storage_policy(&req)).await {
        Ok(out) => {
            for why in &out.invalid {
                warn!(reason = %why, "storage policy entry refused");
            }
            info!(
                resources = ?out.resources_updated,
                policies = ?out.policies_updated,
                dropped = ?out.policies_dropped,
                stale = out.stale,
                refused = out.invalid.len(),
                "storage policies pushed"
            );
            if out.changed() {
                // Let the FE see the new versions without waiting a whole report interval.
                env.reports.trigger();
            }
        }
        Err(e) => warn!(error = %e, "storage policies not applied"),
    }
}
