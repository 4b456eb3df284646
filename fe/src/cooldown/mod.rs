//! The FE's side of cooldown, as upstream's: storage resources and policies (`policies`),
//! pushed to every BE with PUSH_STORAGE_POLICY; one cooldown replica per tablet of a table
//! with a storage policy, chosen among its alive replicas with a term that grows on every
//! new choice, pushed with PUSH_COOLDOWN_CONF to each replica whose report shows an older
//! term. The BEs do the uploading and following (`be/src/cooldown.rs`).

pub mod policies;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use doris_thrift::agent_service::{TCooldownConf, TPushCooldownConfReq, TPushStoragePolicyReq};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use std::sync::Arc;

use crate::system::task_queue::AgentTasks;
use crate::system::task_queue::AgentTask;
use doris_thrift::task_body::TaskBody;

crate::module_handle!(
    /// What the cooldown loop uses: the policies and agent tasks to push them.
    Cooldown { policies: Arc<Policies>, tasks: Arc<AgentTasks> }
);

pub use policies::{Policies, PolicyError, PolicySpec, Resource, ResourceSpec, StoragePolicy};

/// A push the BE's reports do not confirm is sent again after this long.
const REPUSH_AFTER: Duration = Duration::from_secs(10);

/// What was pushed to whom, so a loop pass sends only what is missing.
#[derive(Default)]
struct Pushed {
    /// Backend -> (policy generation, when).
    policies: HashMap<i64, (u64, Instant)>,
    /// (tablet, backend) -> (term, when).
    confs: HashMap<(i64, i64), (i64, Instant)>,
}

/// Every heartbeat interval: push policies where needed, choose cooldown replicas, push confs.
pub async fn run(ctx: Cooldown, stop: CancellationToken) {
    let every = Duration::from_secs_f64(ctx.config.heartbeat_interval_second.clamp(0.1, 10.0));
    let mut pushed = Pushed::default();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        push_policies(&ctx, &mut pushed).await;
        // Without a policy no table cools down: the catalog walks below are skipped.
        if ctx.policies.has_policies() {
            choose_cooldown_replicas(&ctx);
            push_confs(&ctx, &mut pushed).await;
        }
    }
}

async fn push_policies(ctx: &Cooldown, pushed: &mut Pushed) {
    let generation = ctx.policies.generation();
    let (policies, resources, dropped) = ctx.policies.push_content();
    if policies.is_empty() && resources.is_empty() && dropped.is_empty() {
        return;
    }
    let mut tasks = Vec::new();
    for be in ctx.backends.all().into_iter().filter(|b| b.alive) {
        let Some(addr) = be.be_addr() else { continue };
        let due = match pushed.policies.get(&be.id) {
            None => true,
            Some((g, at)) => *g != generation || (ctx.policies.backend_differs(be.id) == Some(true) && at.elapsed() >= REPUSH_AFTER),
        };
        if !due {
            continue;
        }
        let Ok(sig) = ctx.store.next_id() else { return };
        let t = TaskBody::PushStoragePolicy(TPushStoragePolicyReq {
            storage_policy: Some(policies.iter().cloned().map(Box::new).collect()),
            resource: Some(resources.iter().cloned().map(Box::new).collect()),
            dropped_storage_policy: Some(dropped.clone()),
        }).into_request(sig);
        tasks.push(AgentTask { backend_id: be.id, addr, request: t });
        pushed.policies.insert(be.id, (generation, Instant::now()));
    }
    if tasks.is_empty() {
        return;
    }
    info!(backends = tasks.len(), policies = policies.len(), "pushing storage policies");
    for e in ctx.tasks.submit(tasks).await {
        warn!(error = %e, "storage policy push failed; sent again once its report shows it missing");
    }
}

/// Give every tablet of a table with a storage policy a cooldown replica on an alive
/// backend: a new choice (none yet, or its backend is not alive) bumps the term.
fn choose_cooldown_replicas(ctx: &Cooldown) {
    let alive: Vec<i64> = ctx.backends.alive_ids();
    for table in cooled_tables(ctx) {
        let needs = table.partitions.iter().flat_map(|p| &p.index.tablets).any(|t| needs_choice(t, &alive));
        if !needs {
            continue;
        }
        let res = ctx.catalog.update_table(table.id, |t| {
            let mut chosen = 0;
            for tablet in t.partitions.iter_mut().flat_map(|p| p.index.tablets.iter_mut()) {
                if !needs_choice(tablet, &alive) {
                    continue;
                }
                let Some(r) = tablet.replicas.iter().filter(|r| alive.contains(&r.backend_id)).min_by_key(|r| r.id) else {
                    continue;
                };
                tablet.cooldown_replica_id = r.id;
                tablet.cooldown_term += 1;
                chosen += 1;
            }
            chosen
        });
        match res {
            Ok(n) if n > 0 => info!(table = %table.name, tablets = n, "cooldown replicas chosen"),
            Ok(_) => {}
            Err(e) => warn!(table = %table.name, error = %e, "cannot store the cooldown replicas"),
        }
    }
}

/// The tables whose storage policy exists: the only ones with cooldown replicas.
fn cooled_tables(ctx: &Cooldown) -> Vec<std::sync::Arc<crate::catalog::OlapTable>> {
    ctx.catalog
        .databases()
        .into_iter()
        .flat_map(|db| ctx.catalog.tables(db.id))
        .filter(|t| !t.storage_policy.is_empty() && ctx.policies.policy(&t.storage_policy).is_some())
        .collect()
}

fn needs_choice(t: &crate::catalog::Tablet, alive: &[i64]) -> bool {
    let current = t.replicas.iter().find(|r| r.id == t.cooldown_replica_id);
    let usable = current.is_some_and(|r| alive.contains(&r.backend_id));
    !usable && t.replicas.iter().any(|r| alive.contains(&r.backend_id))
}

/// PUSH_COOLDOWN_CONF to each alive replica whose report shows an older term than the
/// tablet's, at most every [`REPUSH_AFTER`] per replica and term.
async fn push_confs(ctx: &Cooldown, pushed: &mut Pushed) {
    let mut per_backend: HashMap<i64, Vec<TCooldownConf>> = HashMap::new();
    for table in cooled_tables(ctx) {
        for tablet in table.partitions.iter().flat_map(|p| &p.index.tablets) {
            if tablet.cooldown_term <= 0 {
                continue;
            }
            for r in tablet.replicas.iter().filter(|r| r.cooldown_term < tablet.cooldown_term) {
                let key = (tablet.id, r.backend_id);
                if pushed.confs.get(&key).is_some_and(|(term, at)| *term == tablet.cooldown_term && at.elapsed() < REPUSH_AFTER) {
                    continue;
                }
                pushed.confs.insert(key, (tablet.cooldown_term, Instant::now()));
                per_backend.entry(r.backend_id).or_default().push(TCooldownConf::new(
                    tablet.id,
                    tablet.cooldown_replica_id,
                    tablet.cooldown_term,
                ));
            }
        }
    }
    let mut tasks = Vec::new();
    for (backend_id, confs) in per_backend {
        let Some(addr) = ctx.backends.get(backend_id).filter(|b| b.alive).and_then(|b| b.be_addr()) else { continue };
        let Ok(sig) = ctx.store.next_id() else { return };
        let t = TaskBody::PushCooldownConf(TPushCooldownConfReq { cooldown_confs: confs }).into_request(sig);
        tasks.push(AgentTask { backend_id, addr, request: t });
    }
    for e in ctx.tasks.submit(tasks).await {
        warn!(error = %e, "cooldown conf push failed; sent again");
    }
}
