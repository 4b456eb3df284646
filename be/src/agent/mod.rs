//! What takes requests in and talks to the master FE: heartbeats, `submit_tasks`
//! (validation, de-duplication, one bounded worker pool per task kind), `finishTask` and
//! periodic reports. `serve` starts these services; the whole BE is put together in
//! `crate::server`.

pub mod heartbeat;
pub mod intake;
pub mod pools;
pub mod registry;
pub mod report;
pub mod serve;

use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;

use tokio::sync::watch;

use crate::context::BeContext;
use crate::ingest::Ingests;
use crate::master::ReportState;
use crate::tasks::TaskEnv;

pub use crate::master::MasterClient;
pub use registry::TaskRegistry;
pub use serve::AgentServices;
// Kept at their old paths for the callers outside this crate.
pub use crate::server::{start, BeAddrs, BeHandle};

/// State shared by the agent's parts.
pub struct Agent {
    pub ctx: Arc<BeContext>,
    /// (task type, signature) in flight: de-duplication and the task report.
    pub registry: TaskRegistry,
    pub master: MasterClient,
    pub reports: Arc<ReportState>,
    /// What task executors get to run with.
    pub tasks: Arc<TaskEnv>,
    /// CCR binlog ingests (`ingest_binlog`, `query_ingest_binlog`).
    pub ingests: Arc<Ingests>,
    /// Milliseconds since the epoch when this process started (`be_start_time`).
    pub started_ms: i64,
    /// Set once a graceful shutdown began; heartbeats answer `is_shutdown`.
    pub shutting_down: AtomicBool,
    /// Report rounds done (sent or skipped), for whoever waits for a round to pass.
    pub report_rounds: AtomicU64,
}

impl Agent {
    pub fn new(ctx: Arc<BeContext>) -> Arc<Self> {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let master = MasterClient::new(ctx.clone());
        let reports = Arc::new(ReportState::new(now_ms));
        let tasks = Arc::new(TaskEnv { ctx: ctx.clone(), master: master.clone(), reports: reports.clone(), download_dirs: Default::default() });
        let ingests = Ingests::new(ctx.clone());
        Arc::new(Agent {
            ingests,
            master,
            ctx,
            registry: TaskRegistry::default(),
            reports,
            tasks,
            started_ms: now_ms,
            shutting_down: AtomicBool::new(false),
            report_rounds: AtomicU64::new(0),
        })
    }

    pub fn report_version(&self) -> i64 {
        self.reports.version()
    }

    /// A new report version after a change of the tablet set.
    pub fn bump_report_version(&self) -> i64 {
        self.reports.bump_version()
    }

    /// Wake every report loop now.
    pub fn trigger_reports(&self) {
        self.reports.trigger();
    }

    pub(crate) fn subscribe_reports(&self) -> watch::Receiver<u64> {
        self.reports.subscribe()
    }
}
