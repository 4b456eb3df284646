//! Periodic reports to the master FE: tasks held, tablets, disks. Nothing is sent before
//! the first heartbeat (there is no master to send to); a master change sends at once.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use doris_thrift::agent_service::{TS3StorageParam, TStoragePolicy, TStorageResource};
use doris_thrift::master_service::{TReportRequest, TTablet};
use doris_thrift::status::TStatusCode;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info_span, warn, Instrument};

use super::Agent;
use crate::error::Result;
use crate::tasks::blocking;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    Task,
    Tablet,
    Disk,
}

impl ReportKind {
    fn name(self) -> &'static str {
        match self {
            ReportKind::Task => "task",
            ReportKind::Tablet => "tablet",
            ReportKind::Disk => "disk",
        }
    }

    fn interval(self, agent: &Agent) -> Duration {
        let c = &agent.ctx.config;
        let s = match self {
            ReportKind::Task => c.report_task_interval_seconds,
            ReportKind::Tablet => c.report_tablet_interval_seconds,
            ReportKind::Disk => c.report_disk_state_interval_seconds,
        };
        Duration::from_secs(s.max(1))
    }
}

pub fn spawn(agent: Arc<Agent>, tracker: &TaskTracker, stop: CancellationToken) {
    for kind in [ReportKind::Task, ReportKind::Tablet, ReportKind::Disk] {
        let span = info_span!("report", kind = kind.name());
        tracker.spawn(report_loop(agent.clone(), kind, stop.clone(), agent.subscribe_reports()).instrument(span));
    }
}

async fn report_loop(agent: Arc<Agent>, kind: ReportKind, stop: CancellationToken, mut now: watch::Receiver<u64>) {
    let interval = kind.interval(&agent);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
            r = now.changed() => if r.is_err() { return },
        }
        report_once(&agent, kind, &stop).await;
        agent.report_rounds.fetch_add(1, Ordering::SeqCst);
    }
}

async fn report_once(agent: &Arc<Agent>, kind: ReportKind, stop: &CancellationToken) {
    if agent.ctx.master().fe_addr.is_none() {
        debug!("no heartbeat yet; report skipped");
        return;
    }
    // Built to the end (its storage reads run on the blocking pool and must not outlive
    // the loop), then sent; a send still waiting for the FE is dropped at shutdown.
    let req = match build(agent, kind).await {
        Ok(r) => r,
        Err(e) => {
            warn!(error = %e, "cannot build the report");
            return;
        }
    };
    let sent = tokio::select! {
        _ = stop.cancelled() => return,
        r = agent.master.report(&req) => r,
    };
    match sent {
        Ok(r) if r.status.status_code == TStatusCode::OK => debug!("report sent"),
        Ok(r) => warn!(code = r.status.status_code.0, msgs = ?r.status.error_msgs, "the FE refused the report"),
        Err(e) => warn!(error = %e, "report failed"),
    }
}

fn empty_report(agent: &Agent) -> TReportRequest {
    TReportRequest {
        backend: agent.master.backend(),
        report_version: None,
        tasks: None,
        tablets: None,
        disks: None,
        force_recovery: None,
        tablet_list: None,
        tablet_max_compaction_score: None,
        storage_policy: None,
        resource: None,
        num_cores: None,
        pipeline_executor_size: None,
        partitions_version: None,
    }
}

/// The request of one report of `kind`, as it stands now.
pub async fn build(agent: &Arc<Agent>, kind: ReportKind) -> Result<TReportRequest> {
    let mut req = empty_report(agent);
    match kind {
        ReportKind::Task => req.tasks = Some(agent.registry.snapshot()),
        ReportKind::Tablet => {
            // The version is read before the tablets so a tablet created meanwhile makes
            // the FE see an older version, never a newer one without the tablet.
            let version = agent.report_version();
            let storage = agent.ctx.storage.clone();
            let infos = blocking(move || Ok(storage.tablet_infos())).await?;
            let list: Vec<Box<TTablet>> =
                infos.into_iter().map(|i| Box::new(TTablet { tablet_infos: vec![Box::new(i)] })).collect();
            let map: BTreeMap<i64, Box<TTablet>> =
                list.iter().filter_map(|t| t.tablet_infos.first().map(|i| (i.tablet_id, t.clone()))).collect();
            req.report_version = Some(version);
            req.tablets = Some(map);
            req.tablet_list = Some(list);
            req.tablet_max_compaction_score = Some(0);
            // As upstream: only (id, version), so the FE can push what is missing or old.
            let set = agent.ctx.storage.storage_policies();
            req.storage_policy = Some(
                set.policy_versions()
                    .into_iter()
                    .map(|(id, v)| TStoragePolicy::new(id, None::<String>, v, None::<i64>, None::<i64>, None::<i64>))
                    .collect(),
            );
            req.resource = Some(
                set.resource_versions()
                    .into_iter()
                    .map(|(id, v)| {
                        TStorageResource::new(
                            id,
                            None::<String>,
                            v,
                            None::<TS3StorageParam>,
                            None::<doris_thrift::plan_nodes::THdfsParams>,
                        )
                    })
                    .collect(),
            );
        }
        ReportKind::Disk => {
            let storage = agent.ctx.storage.clone();
            let disks = blocking(move || Ok(storage.disk_infos())).await?;
            req.disks = Some(disks.into_iter().map(|d| (d.root_path.clone(), d)).collect());
            let cores = std::thread::available_parallelism().map(|n| n.get() as i32).unwrap_or(1);
            req.num_cores = Some(cores);
            req.pipeline_executor_size = Some(cores);
        }
    }
    Ok(req)
}
