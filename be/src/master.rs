//! Calls to the master FE (finishTask, report, snapshotLoaderReport) and the report
//! version the FE orders tablet reports by. Below both `agent` and `tasks`: each uses it.
//!
//! The master's address comes from the last accepted heartbeat and is read at every
//! call, so a master change takes effect for calls (and retries) already under way.

use std::net::UdpSocket;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use doris_thrift::frontend_service::TSnapshotLoaderReportRequest;
use doris_thrift::master_service::{TFinishTaskRequest, TMasterResult, TReportRequest};
use doris_thrift::services::FrontendServiceClient;
use doris_thrift::status::TStatusCode;
use doris_thrift::transport::ClientOptions;
use doris_thrift::types::{TBackend, TTaskType};
use tokio::sync::watch;
use tracing::{debug, warn};

use crate::context::BeContext;
use crate::error::{BeError, Result};

/// The tablet report version and the trigger that makes every report loop send at once.
pub struct ReportState {
    /// Bumped whenever the tablet set changes; the FE ignores tablet reports older than
    /// the version it last saw in a finishTask.
    version: AtomicI64,
    now: watch::Sender<u64>,
}

impl ReportState {
    pub fn new(now_ms: i64) -> Self {
        // Upstream seeds it from the clock so it keeps growing across restarts.
        ReportState { version: AtomicI64::new(now_ms / 1000 * 10000), now: watch::channel(0).0 }
    }

    pub fn version(&self) -> i64 {
        self.version.load(Ordering::SeqCst)
    }

    /// A new report version after a change of the tablet set.
    pub fn bump_version(&self) -> i64 {
        self.version.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Wake every report loop now.
    pub fn trigger(&self) {
        self.now.send_modify(|n| *n += 1);
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.now.subscribe()
    }
}

/// Tries of one finishTask (upstream: 3).
pub const FINISH_TASK_TRIES: u32 = 3;

#[derive(Clone)]
pub struct MasterClient {
    ctx: Arc<BeContext>,
}

impl MasterClient {
    pub fn new(ctx: Arc<BeContext>) -> Self {
        MasterClient { ctx }
    }

    fn client(&self, call_timeout: Duration) -> Result<FrontendServiceClient> {
        let master = self.ctx.master();
        let addr = master
            .fe_addr
            .ok_or_else(|| BeError::Cancelled("Have not get FE Master heartbeat yet".into()))?;
        let opts = ClientOptions { call_timeout, ..Default::default() };
        Ok(FrontendServiceClient::new(self.ctx.fe_pool.channel(format!("{}:{}", addr.hostname, addr.port), opts)))
    }

    /// This BE as the FE knows it: the host the FE heartbeats and our bound ports.
    pub fn backend(&self) -> TBackend {
        let master = self.ctx.master();
        let host = master.backend_ip.clone().unwrap_or_else(|| local_ip_towards(master.fe_addr.as_ref().map(|a| a.hostname.as_str())));
        let c = &self.ctx.config;
        TBackend {
            host,
            be_port: c.be_port as i32,
            http_port: c.webserver_port as i32,
            brpc_port: Some(c.brpc_port as i32),
            is_alive: None,
            id: master.backend_id,
        }
    }

    /// Send a finishTask, retrying transport failures with backoff. The FE's own answer
    /// is logged, not retried: it already has the result.
    pub async fn finish_task(&self, req: &TFinishTaskRequest) -> Result<TMasterResult> {
        let mut last = None;
        for attempt in 0..FINISH_TASK_TRIES {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(500 << (attempt - 1))).await;
            }
            let client = match self.client(Duration::from_secs(30)) {
                Ok(c) => c,
                Err(e) => {
                    warn!(attempt, error = %e, "cannot send finishTask");
                    last = Some(e);
                    continue;
                }
            };
            match client.finish_task(req).await {
                Ok(r) => {
                    if r.status.status_code != TStatusCode::OK {
                        warn!(code = r.status.status_code.0, msgs = ?r.status.error_msgs, "the FE refused the finishTask");
                    } else {
                        debug!("finishTask sent");
                    }
                    return Ok(r);
                }
                Err(e) => {
                    warn!(attempt, error = %e, "finishTask failed");
                    last = Some(BeError::Internal(format!("finishTask failed: {e}")));
                }
            }
        }
        Err(last.unwrap_or_else(|| BeError::Internal("finishTask failed".into())))
    }

    pub async fn report(&self, req: &TReportRequest) -> Result<TMasterResult> {
        let client = self.client(Duration::from_secs(60))?;
        client.report(req).await.map_err(|e| BeError::Internal(format!("report failed: {e}")))
    }

    /// Tell the FE how far a snapshot load is. `Err(Cancelled)` when the FE answers a
    /// non-OK status (the job was cancelled); an unreachable FE is not a reason to stop,
    /// as upstream.
    pub async fn snapshot_loader_report(
        &self,
        job_id: i64,
        task_id: i64,
        task_type: TTaskType,
        finished_num: i32,
        total_num: i32,
    ) -> Result<()> {
        let req = TSnapshotLoaderReportRequest {
            job_id,
            task_id,
            task_type,
            finished_num: Some(finished_num),
            total_num: Some(total_num),
        };
        let client = match self.client(Duration::from_secs(10)) {
            Ok(c) => c,
            Err(e) => {
                warn!(job_id, task_id, error = %e, "cannot send snapshotLoaderReport");
                return Ok(());
            }
        };
        match client.snapshot_loader_report(&req).await {
            Ok(st) if st.status_code == TStatusCode::OK => Ok(()),
            Ok(st) => Err(BeError::Cancelled(format!(
                "job {job_id} stopped by the FE (status {}): {}",
                st.status_code.0,
                st.error_msgs.unwrap_or_default().join("; ")
            ))),
            Err(e) => {
                warn!(job_id, task_id, error = %e, "snapshotLoaderReport failed; going on");
                Ok(())
            }
        }
    }
}

/// The local address the kernel would use to reach `peer` (no packet is sent), for
/// when the FE did not tell us our address.
fn local_ip_towards(peer: Option<&str>) -> String {
    let probe = || -> std::io::Result<String> {
        let s = UdpSocket::bind("0.0.0.0:0")?;
        s.connect((peer.unwrap_or("8.8.8.8"), 9))?;
        Ok(s.local_addr()?.ip().to_string())
    };
    probe().unwrap_or_else(|_| "127.0.0.1".to_string())
}
