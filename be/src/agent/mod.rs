//! What takes requests in and talks to the master FE: heartbeats, `submit_tasks`
//! (validation, de-duplication, one bounded worker pool per task type), `finishTask`,
//! periodic reports, and BE start-up (`server::start`).

pub mod heartbeat;
pub mod intake;
pub mod master;
pub mod pools;
pub mod registry;
pub mod report;
pub mod server;

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::watch;

use crate::context::BeContext;

pub use master::MasterClient;
pub use registry::TaskRegistry;
pub use server::{start, BeAddrs, BeHandle};

/// State shared by the agent's parts.
pub struct Agent {
    pub ctx: Arc<BeContext>,
    /// (task type, signature) in flight: de-duplication and the task report.
    pub registry: TaskRegistry,
    pub master: MasterClient,
    /// Bumped whenever the tablet set changes; the FE ignores tablet reports older than
    /// the version it last saw in a finishTask.
    pub report_version: AtomicI64,
    /// Milliseconds since the epoch when this process started (`be_start_time`).
    pub started_ms: i64,
    /// Set once a graceful shutdown began; heartbeats answer `is_shutdown`.
    pub shutting_down: AtomicBool,
    /// Report rounds done (sent or skipped), for whoever waits for a round to pass.
    pub report_rounds: AtomicU64,
    /// Bumped to make every report loop send at once (master changed or restarted).
    report_now: watch::Sender<u64>,
}

impl Agent {
    pub fn new(ctx: Arc<BeContext>) -> Arc<Self> {
        let now_ms = chrono::Utc::now().timestamp_millis();
        Arc::new(Agent {
            master: MasterClient::new(ctx.clone()),
            ctx,
            registry: TaskRegistry::default(),
            // Upstream seeds it from the clock so it keeps growing across restarts.
            report_version: AtomicI64::new(now_ms / 1000 * 10000),
            started_ms: now_ms,
            shutting_down: AtomicBool::new(false),
            report_rounds: AtomicU64::new(0),
            report_now: watch::channel(0).0,
        })
    }

    pub fn report_version(&self) -> i64 {
        self.report_version.load(Ordering::SeqCst)
    }

    /// A new report version after a change of the tablet set.
    pub fn bump_report_version(&self) -> i64 {
        self.report_version.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Wake every report loop now.
    pub fn trigger_reports(&self) {
        self.report_now.send_modify(|n| *n += 1);
    }

    pub(crate) fn subscribe_reports(&self) -> watch::Receiver<u64> {
        self.report_now.subscribe()
    }
}
