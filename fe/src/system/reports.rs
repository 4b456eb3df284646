//! BE reports and finishTask intake: replica facts into the catalog, disks into the
//! backend, finished tasks to whoever waits for them. Two kinds of leftovers are cleaned
//! up here, as upstream does: tablets no table holds (CREATE tasks of an FE that died,
//! tables whose DROP never arrived) are dropped from their BE, and snapshots of
//! MAKE_SNAPSHOT tasks nobody waits for any more are released.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use doris_thrift::agent_service::{TDropTabletReq, TReleaseSnapshotRequest};
use doris_thrift::master_service::{TFinishTaskRequest, TReportRequest, TTabletInfo};
use doris_thrift::types::TBackend;
use tracing::{debug, info, info_span, warn};

use super::backends::{host_port, Backend, Disk};
use super::task_queue::{AgentTask, AgentTasks, Finished};
use doris_thrift::task_body::TaskBody;
use crate::catalog::ReplicaReport;
use crate::config::FeConfig;
use std::sync::Arc;

use crate::backup::Jobs;
use crate::context::FeContext;
use crate::cooldown::Policies;

crate::module_handle!(
    /// What report intake uses: agent tasks (waiters, DROP and RELEASE_SNAPSHOT of
    /// leftovers), the jobs (whose snapshots are kept) and the policies (what BEs have).
    Reports { tasks: Arc<AgentTasks>, jobs: Arc<Jobs>, policies: Arc<Policies> }
);

/// The least time a reported tablet must stay unknown before it is dropped, whatever
/// `max_create_table_timeout_second` says.
pub const MIN_ORPHAN_GRACE: Duration = Duration::from_secs(10);

/// How long a tablet stays unknown in a BE's reports before we drop it, and between two
/// DROPs of one that is still reported.
///
/// CREATE TABLE makes the tablets on the BEs first and registers the table only once every
/// CREATE task finished, so a tablet can exist before the catalog knows it. While its CREATE
/// task's `run` goes on the tablet is never dropped (`AgentTasks::is_creating`), however
/// long that takes; this grace covers what follows (registering the table right after the
/// run) and anything else that might briefly hold a tablet the catalog has not got yet.
/// At least as long as CREATE TABLE may wait for its tasks, and never shorter than
/// [`MIN_ORPHAN_GRACE`], so a tiny create timeout does not make dropping hasty. The first
/// sighting is kept in memory only: a restarted FE starts counting again, which only
/// delays a drop.
pub fn orphan_grace(config: &FeConfig) -> Duration {
    Duration::from_secs(config.max_create_table_timeout_second).max(MIN_ORPHAN_GRACE)
}

/// One unknown tablet of one backend.
#[derive(Debug, Clone, Copy)]
struct Unknown {
    since: Instant,
    dropped_at: Option<Instant>,
}

/// Tablets BEs report that no table holds: when each was first reported unknown and when
/// a DROP was last sent for it, per (backend, tablet).
#[derive(Debug, Default)]
pub struct UnknownTablets {
    seen: Mutex<HashMap<(i64, i64), Unknown>>,
}

impl UnknownTablets {
    /// A full tablet report of `backend_id` listed `unknown` (tablets no table holds and
    /// no CREATE makes); the ones to DROP now: unknown for `grace` since first reported,
    /// or since their last DROP.
    pub fn observe(&self, backend_id: i64, unknown: &[i64], now: Instant, grace: Duration) -> Vec<i64> {
        let mut seen = self.seen.lock().unwrap();
        let current: HashSet<i64> = unknown.iter().copied().collect();
        // A tablet gone from the report, or known now, starts from scratch if it comes back.
        seen.retain(|(be, t), _| *be != backend_id || current.contains(t));
        let mut due = Vec::new();
        for &t in &current {
            let e = seen.entry((backend_id, t)).or_insert(Unknown { since: now, dropped_at: None });
            let from = e.dropped_at.unwrap_or(e.since);
            if now.saturating_duration_since(from) >= grace {
                e.dropped_at = Some(now);
                due.push(t);
            }
        }
        due.sort_unstable();
        due
    }

    /// How many (backend, tablet) pairs are being counted.
    pub fn len(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("backend {0} is not part of this cluster; add it with ALTER SYSTEM ADD BACKEND")]
    UnknownBackend(String),
    #[error("cannot record the report: {0}")]
    Store(String),
}

fn backend_of(ctx: &FeContext, b: &TBackend) -> Result<Backend, ReportError> {
    if let Some(id) = b.id {
        if let Some(be) = ctx.backends.get(id) {
            return Ok(be);
        }
    }
    ctx.backends
        .find_by_be_addr(&b.host, b.be_port)
        .ok_or_else(|| ReportError::UnknownBackend(host_port(&b.host, b.be_port)))
}

/// Hand a finishTask to its waiter. Unknown tasks are fine (a restarted FE, a late reply);
/// the snapshot of a MAKE_SNAPSHOT nobody waits for and nothing records is released, which
/// the answer says with `UnclaimedSnapshot` (a recorded one is answered `NoWaiter`).
pub fn finish_task(ctx: &Reports, req: TFinishTaskRequest) -> Result<Finished, ReportError> {
    let be = backend_of(ctx, &req.backend)?;
    let _g = info_span!("finish_task", backend_id = be.id, signature = req.signature).entered();
    let signature = req.signature;
    let outcome = ctx.tasks.finish(be.id, req);
    let Finished::UnclaimedSnapshot { path } = &outcome else {
        return Ok(outcome);
    };
    // The queue knows no waiter got this answer from this FE. A job record may still name
    // the path: the answer reached an FE that recorded it and died before telling the BE,
    // which sends it again to us. Such a snapshot is the job's; it is released with it.
    if ctx.jobs.owns_snapshot(be.id, path) {
        debug!(path = %path, "unwaited MAKE_SNAPSHOT is recorded by a job; kept");
        return Ok(Finished::NoWaiter);
    }
    let Some(addr) = be.be_addr() else {
        return Ok(Finished::NoWaiter);
    };
    let sig = match ctx.store.next_id() {
        Ok(s) => s,
        Err(e) => {
            warn!(error = %e, "no signature for RELEASE_SNAPSHOT; the BE expires the snapshot itself");
            return Ok(Finished::NoWaiter);
        }
    };
    info!(backend_id = be.id, signature, path = %path, "releasing the snapshot of a MAKE_SNAPSHOT nobody waits for");
    let t = TaskBody::ReleaseSnapshot(TReleaseSnapshotRequest { snapshot_path: path.clone() }).into_request(sig);
    ctx.tasks.submit_detached(vec![AgentTask { backend_id: be.id, addr, request: t }]);
    Ok(outcome)
}


pub fn apply_report(ctx: &Reports, req: &TReportRequest) -> Result<(), ReportError> {
    let be = backend_of(ctx, &req.backend)?;
    let _g = info_span!("report", backend_id = be.id).entered();
    if let Some(disks) = &req.disks {
        let disks: Vec<Disk> = disks
            .values()
            .map(|d| Disk {
                root_path: d.root_path.clone(),
                total: d.disk_total_capacity,
                data_used: d.data_used_capacity,
                available: d.disk_available_capacity.unwrap_or(0),
                trash_used: d.trash_used_capacity.unwrap_or(0),
                remote_used: d.remote_used_capacity.unwrap_or(0),
                used: d.used,
            })
            .collect();
        ctx.backends
            .update(be.id, |b| {
                b.disks = disks.into_iter().map(|d| (d.root_path.clone(), d)).collect();
                false
            })
            .map_err(|e| ReportError::Store(e.to_string()))?;
    }
    if req.storage_policy.is_some() || req.resource.is_some() {
        let ids = |v: Vec<(Option<i64>, Option<i64>)>| -> Vec<(i64, i64)> {
            v.into_iter().map(|(id, ver)| (id.unwrap_or(-1), ver.unwrap_or(-1))).collect()
        };
        let policies = ids(req.storage_policy.iter().flatten().map(|p| (p.id, p.version)).collect());
        let resources = ids(req.resource.iter().flatten().map(|r| (r.id, r.version)).collect());
        ctx.policies.observe_report(be.id, &policies, &resources);
    }
    if let Some(held) = &req.tasks {
        let wait = Duration::from_millis(ctx.config.agent_task_resend_wait_time_ms);
        ctx.tasks.resend_missing(be.id, held, wait);
    }
    if let Some(n) = req.num_cores {
        let _ = ctx.backends.update(be.id, |b| {
            b.cpu_cores = n;
            false
        });
    }
    let mut infos: Vec<&TTabletInfo> = Vec::new();
    if let Some(tablets) = &req.tablets {
        infos.extend(tablets.values().flat_map(|t| t.tablet_infos.iter().map(|b| &**b)));
    }
    if let Some(list) = &req.tablet_list {
        infos.extend(list.iter().flat_map(|t| t.tablet_infos.iter().map(|b| &**b)));
    }
    if !infos.is_empty() {
        let reports: Vec<ReplicaReport> = infos.iter().map(|i| replica_report(i)).collect();
        let changed = ctx
            .catalog
            .apply_replica_reports(be.id, &reports, FeContext::now_ms())
            .map_err(|e| ReportError::Store(e.to_string()))?;
        debug!(tablets = reports.len(), changed, "tablet report applied");
    }
    // A tablet report lists every tablet of the BE (an empty one included).
    if req.tablets.is_some() || req.tablet_list.is_some() {
        drop_unknown_tablets(ctx, &be, &infos);
    }
    Ok(())
}

/// DROP the tablets of a full tablet report that no table holds and no CREATE is making,
/// once they have been unknown for [`orphan_grace`] (upstream's ReportHandler deletes
/// such tablets from the BE too).
fn drop_unknown_tablets(ctx: &Reports, be: &Backend, infos: &[&TTabletInfo]) {
    let Some(addr) = be.be_addr() else { return };
    // A BE sends `tablets` and `tablet_list` alike: one info per tablet.
    let by_id: BTreeMap<i64, &TTabletInfo> = infos.iter().map(|i| (i.tablet_id, *i)).collect();
    let unknown: Vec<i64> = ctx
        .catalog
        .unknown_tablet_ids(by_id.keys().copied())
        .into_iter()
        .filter(|id| !ctx.tasks.is_creating(*id))
        .collect();
    let due = ctx.tasks.unknown_tablets.observe(be.id, &unknown, Instant::now(), orphan_grace(&ctx.config));
    if !unknown.is_empty() {
        debug!(unknown = unknown.len(), due = due.len(), "tablets no table holds");
    }
    let mut tasks = Vec::new();
    for id in due {
        let info = by_id[&id];
        let sig = match ctx.store.next_id() {
            Ok(s) => s,
            Err(e) => {
                warn!(error = %e, "no signature for DROP; retried after the next grace period");
                break;
            }
        };
        info!(tablet_id = id, backend_id = be.id, "dropping a tablet no table holds from its backend");
        let t = TaskBody::Drop(TDropTabletReq::new(id, info.schema_hash, info.replica_id, true)).into_request(sig);
        tasks.push(AgentTask { backend_id: be.id, addr: addr.clone(), request: t });
    }
    ctx.tasks.submit_detached(tasks);
}

pub fn replica_report(i: &TTabletInfo) -> ReplicaReport {
    ReplicaReport {
        tablet_id: i.tablet_id,
        version: i.version,
        row_count: i.row_count,
        data_size: i.data_size,
        remote_data_size: i.remote_data_size.unwrap_or(0),
        version_count: i.total_version_count.unwrap_or(0),
        path_hash: i.path_hash.unwrap_or(0),
        cooldown_term: i.cooldown_term,
        cooldown_meta_id: i.cooldown_meta_id.as_ref().map(|u| (u.hi, u.lo)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRACE: Duration = Duration::from_secs(10);

    #[test]
    fn unknown_tablets_are_due_after_the_grace_and_again_a_grace_later() {
        let u = UnknownTablets::default();
        let t0 = Instant::now();
        assert_eq!(u.observe(1, &[7, 8], t0, GRACE), Vec::<i64>::new());
        assert_eq!(u.observe(1, &[7, 8], t0 + Duration::from_secs(9), GRACE), Vec::<i64>::new());
        assert_eq!(u.observe(1, &[7, 8], t0 + GRACE, GRACE), vec![7, 8]);
        // Sent once per grace period while still reported.
        assert_eq!(u.observe(1, &[7, 8], t0 + Duration::from_secs(15), GRACE), Vec::<i64>::new());
        assert_eq!(u.observe(1, &[7, 8], t0 + Duration::from_secs(20), GRACE), vec![7, 8]);
    }

    #[test]
    fn a_tablet_known_or_gone_meanwhile_starts_counting_again() {
        let u = UnknownTablets::default();
        let t0 = Instant::now();
        u.observe(1, &[7, 8], t0, GRACE);
        // 7 became known (its table was registered): not in the unknown list any more.
        u.observe(1, &[8], t0 + Duration::from_secs(5), GRACE);
        assert_eq!(u.observe(1, &[7, 8], t0 + GRACE, GRACE), vec![8]);
        assert_eq!(u.observe(1, &[7], t0 + Duration::from_secs(19), GRACE), Vec::<i64>::new());
        assert_eq!(u.observe(1, &[7], t0 + Duration::from_secs(20), GRACE), vec![7]);
        // An empty report forgets the backend's tablets.
        u.observe(1, &[], t0 + Duration::from_secs(21), GRACE);
        assert!(u.is_empty());
    }

    #[test]
    fn backends_are_counted_apart() {
        let u = UnknownTablets::default();
        let t0 = Instant::now();
        u.observe(1, &[7], t0, GRACE);
        u.observe(2, &[7], t0 + Duration::from_secs(5), GRACE);
        // A report of backend 2 does not touch backend 1's count, nor the reverse.
        assert_eq!(u.observe(1, &[7], t0 + GRACE, GRACE), vec![7]);
        assert_eq!(u.observe(2, &[7], t0 + GRACE, GRACE), Vec::<i64>::new());
        assert_eq!(u.observe(2, &[7], t0 + Duration::from_secs(15), GRACE), vec![7]);
        assert_eq!(u.len(), 2);
    }

    #[test]
    fn the_grace_outlasts_create_table_and_has_a_floor() {
        let mut c = FeConfig::default();
        c.set("max_create_table_timeout_second", "1").unwrap();
        assert_eq!(orphan_grace(&c), MIN_ORPHAN_GRACE);
        c.set("max_create_table_timeout_second", "120").unwrap();
        assert_eq!(orphan_grace(&c), Duration::from_secs(120));
    }
}
