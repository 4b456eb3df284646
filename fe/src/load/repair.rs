//! Repair of lagging replicas: a replica that did not write or publish a load's version
//! (its BE was down, or it failed a publish) is marked lagging at publish. Once its BE is
//! alive again, this daemon sends it a CLONE task naming the tablet's healthy replicas as
//! sources and the partition's visible version; the BE pulls the tablet from one of them
//! and answers with the version it now holds, which ends the lag (a tablet report that
//! shows the version does too). Upstream's TabletScheduler does this for VERSION_INCOMPLETE
//! tablets; here only existing replicas are repaired (no new replica is made).

use std::collections::HashSet;
use std::time::Duration;

use doris_thrift::agent_service::TCloneReq;
use doris_thrift::status::TStatusCode;
use doris_thrift::task_body::TaskBody;
use doris_thrift::types::TBackend;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::Loads;
use crate::catalog::lagging::LaggingReplica;
use crate::system::task_queue::{status_text, AgentTask};

/// How often lagging replicas are looked for.
const ROUND_EVERY: Duration = Duration::from_secs(5);
/// How long one round waits for its CLONE tasks (upstream's clone timeout is minutes
/// per GB; a task still running on the BE is answered late and simply retried).
const CLONE_WAIT: Duration = Duration::from_secs(600);
/// The `timeout_s` a CLONE task carries.
const CLONE_TIMEOUT_S: i32 = 3600;

pub async fn run(ctx: Loads, stop: CancellationToken) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = round(&ctx) => {}
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(ROUND_EVERY) => {}
        }
    }
}

/// One round: a CLONE for every lagging replica whose BE is alive and whose tablet has a
/// healthy replica on an alive BE; wait for them; record the replicas that caught up.
pub async fn round(ctx: &Loads) -> usize {
    let lagging = ctx.catalog.lagging_replicas();
    if lagging.is_empty() {
        return 0;
    }
    let mut tasks = Vec::new();
    let mut sent: Vec<LaggingReplica> = Vec::new();
    // One clone per tablet and backend at a time.
    let mut seen = HashSet::new();
    for l in lagging {
        if !seen.insert((l.tablet_id, l.backend_id)) {
            continue;
        }
        let Some(dest) = ctx.backends.get(l.backend_id).filter(|b| b.alive) else { continue };
        let Some(addr) = dest.be_addr() else { continue };
        let sources: Vec<TBackend> = l
            .healthy
            .iter()
            .filter_map(|id| ctx.backends.get(*id))
            .filter(|b| b.alive && b.be_port > 0 && b.http_port > 0)
            .map(|b| TBackend::new(b.host.clone(), b.be_port, b.http_port, None, true, b.id))
            .collect();
        if sources.is_empty() {
            continue;
        }
        let req = TCloneReq::new(
            l.tablet_id,
            l.schema_hash,
            sources,
            None,
            l.visible_version,
            None,
            None,
            None,
            None,
            CLONE_TIMEOUT_S,
            l.replica_id,
            l.partition_id,
            l.table_id,
        );
        info!(tablet_id = l.tablet_id, backend_id = l.backend_id, version = l.visible_version, "cloning a lagging replica");
        // Upstream signs a clone with its tablet id.
        let request = TaskBody::Clone(req).into_request(l.tablet_id);
        tasks.push(AgentTask { backend_id: l.backend_id, addr, request });
        sent.push(l);
    }
    if tasks.is_empty() {
        return 0;
    }
    let answers = ctx.tasks.run_answers(tasks, CLONE_WAIT).await;
    let mut repaired = 0;
    for (l, (_, answer)) in sent.iter().zip(answers) {
        let req = match answer {
            Ok(r) if r.task_status.status_code == TStatusCode::OK => r,
            Ok(r) => {
                warn!(tablet_id = l.tablet_id, backend_id = l.backend_id, error = %status_text(&r.task_status), "clone failed; retried");
                continue;
            }
            Err(e) => {
                warn!(tablet_id = l.tablet_id, backend_id = l.backend_id, error = %e, "clone not answered; retried");
                continue;
            }
        };
        let version = req.finish_tablet_infos.iter().flatten().find(|i| i.tablet_id == l.tablet_id).map(|i| i.version);
        let Some(version) = version else {
            warn!(tablet_id = l.tablet_id, backend_id = l.backend_id, "clone answered without the tablet's info");
            continue;
        };
        match ctx.catalog.replica_caught_up(l.table_id, l.tablet_id, l.backend_id, version) {
            Ok(true) => {
                info!(tablet_id = l.tablet_id, backend_id = l.backend_id, version, "lagging replica repaired");
                repaired += 1;
            }
            Ok(false) => info!(tablet_id = l.tablet_id, backend_id = l.backend_id, version, "cloned, but still behind"),
            Err(e) => warn!(tablet_id = l.tablet_id, error = %e, "cannot record the repaired replica"),
        }
    }
    repaired
}
