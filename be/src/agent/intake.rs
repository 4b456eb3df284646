//! BackendService: `submit_tasks` (validate, de-duplicate, queue), the synchronous
//! calls `make_snapshot`, `release_snapshot`, `get_tablet_stat`, and CCR's
//! `ingest_binlog` / `query_ingest_binlog` (the work is in `crate::ingest`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use doris_thrift::agent_service::{TAgentResult, TAgentTaskRequest, TSnapshotRequest};
use doris_thrift::backend_service::{
    TIngestBinlogRequest, TIngestBinlogResult, TIngestBinlogStatus, TQueryIngestBinlogRequest, TQueryIngestBinlogResult,
    TTabletStat, TTabletStatResult,
};
use doris_thrift::services::BackendServiceHandler;
use doris_thrift::status::TStatus;
use doris_thrift::task_body::{task_type_name, TaskBody};
use thrift::ApplicationError;
use tracing::{debug, info, warn};

use super::pools::Pools;
use super::Agent;
use crate::error::{ok_status, BeError, Result};
use crate::ingest::QueryStatus;
use crate::storage::SnapshotSpec;
use crate::tasks::blocking;

pub struct BackendHandler {
    agent: Arc<Agent>,
    pools: Arc<Pools>,
}

impl BackendHandler {
    pub fn new(agent: Arc<Agent>, pools: Arc<Pools>) -> Self {
        BackendHandler { agent, pools }
    }

    /// Queue one task; Ok(false) when it is a duplicate of one held.
    fn accept(&self, task: TAgentTaskRequest) -> Result<bool> {
        let (signature, body) = validate(task, &self.pools)?;
        let task_type = body.task_type();
        if !self.agent.registry.register(task_type, signature) {
            debug!(task_type = task_type_name(task_type), signature, "duplicate task ignored");
            return Ok(false);
        }
        self.agent.ctx.metrics.task(task_type_name(task_type), "received");
        if !self.pools.submit(signature, body) {
            self.agent.registry.remove(task_type, signature);
            return Err(BeError::Cancelled("the BE is shutting down".into()));
        }
        Ok(true)
    }
}

/// The task's signature and body: the request member its type needs (upstream's
/// messages when it is missing or the type unknown), and a pool that runs it.
fn validate(task: TAgentTaskRequest, pools: &Pools) -> Result<(i64, TaskBody)> {
    let (sig, body) = TaskBody::from_request(task).map_err(|e| BeError::InvalidArgument(e.to_string()))?;
    if !pools.handles(body.task_type()) {
        let name = task_type_name(body.task_type());
        return Err(BeError::InvalidArgument(format!("task(signature={sig}) type {name} has no worker pool")));
    }
    Ok((sig, body))
}

fn agent_result(status: TStatus) -> TAgentResult {
    TAgentResult { status, snapshot_path: None, allow_incremental_clone: None, snapshot_version: None }
}

#[async_trait::async_trait]
impl BackendServiceHandler for BackendHandler {
    async fn submit_tasks(&self, tasks: Vec<TAgentTaskRequest>) -> Result<TAgentResult, ApplicationError> {
        // Without a master there is nobody to send finishTask to (upstream refuses too).
        if self.agent.ctx.master().fe_addr.is_none() {
            return Ok(agent_result(BeError::Cancelled("Have not get FE Master heartbeat yet".into()).to_status()));
        }
        // As upstream, every task is tried and one status answers the batch; it carries
        // every refusal so none is hidden.
        let mut refused: Vec<BeError> = Vec::new();
        let (mut queued, mut dup) = (0, 0);
        for task in tasks {
            let (t, s) = (task.task_type, task.signature);
            match self.accept(task) {
                Ok(true) => queued += 1,
                Ok(false) => dup += 1,
                Err(e) => {
                    warn!(task_type = task_type_name(t), signature = s, error = %e, "task refused");
                    refused.push(e);
                }
            }
        }
        debug!(queued, duplicates = dup, refused = refused.len(), "submit_tasks");
        let status = match refused.first() {
            None => ok_status(),
            Some(first) => TStatus {
                status_code: first.code(),
                error_msgs: Some(refused.iter().map(|e| e.to_string()).collect()),
            },
        };
        Ok(agent_result(status))
    }

    async fn make_snapshot(&self, snapshot_request: TSnapshotRequest) -> Result<TAgentResult, ApplicationError> {
        let storage = self.agent.ctx.storage.clone();
        let spec = SnapshotSpec::from(&snapshot_request);
        let mut r = match blocking(move || storage.make_snapshot(&spec)).await {
            Ok(info) => {
                let path = info.snapshot_path.display().to_string();
                info!(tablet_id = snapshot_request.tablet_id, snapshot_path = %path, "snapshot made");
                let mut r = agent_result(ok_status());
                r.snapshot_path = Some(path);
                r.allow_incremental_clone = Some(false);
                r
            }
            Err(e) => {
                warn!(tablet_id = snapshot_request.tablet_id, error = %e, "make_snapshot failed");
                agent_result(e.to_status())
            }
        };
        r.snapshot_version = snapshot_request.preferred_snapshot_version;
        Ok(r)
    }

    async fn release_snapshot(&self, snapshot_path: String) -> Result<TAgentResult, ApplicationError> {
        let storage = self.agent.ctx.storage.clone();
        let path = PathBuf::from(&snapshot_path);
        let status = match blocking(move || storage.release_snapshot(&path)).await {
            Ok(()) => ok_status(),
            Err(e) => {
                warn!(snapshot_path, error = %e, "release_snapshot failed");
                e.to_status()
            }
        };
        Ok(agent_result(status))
    }

    async fn get_tablet_stat(&self) -> Result<TTabletStatResult, ApplicationError> {
        let storage = self.agent.ctx.storage.clone();
        let infos = blocking(move || Ok(storage.tablet_infos()))
            .await
            .map_err(|e| ApplicationError::new(thrift::ApplicationErrorKind::InternalError, e.to_string()))?;
        let list: Vec<TTabletStat> = infos
            .iter()
            .map(|i| TTabletStat {
                tablet_id: i.tablet_id,
                data_size: Some(i.data_size),
                row_count: Some(i.row_count),
                total_version_count: i.total_version_count,
                remote_data_size: i.remote_data_size,
                visible_version_count: i.visible_version_count,
                visible_version: Some(i.version),
            })
            .collect();
        let map: BTreeMap<i64, TTabletStat> = list.iter().map(|s| (s.tablet_id, s.clone())).collect();
        Ok(TTabletStatResult { tablets_stats: map, tablet_stat_list: Some(list) })
    }

    async fn ingest_binlog(&self, req: TIngestBinlogRequest) -> Result<TIngestBinlogResult, ApplicationError> {
        let result = match self.agent.ingests.submit(&req) {
            Ok(how) => {
                debug!(txn_id = ?req.txn_id, tablet_id = ?req.local_tablet_id, ?how, "ingest_binlog accepted");
                TIngestBinlogResult { status: Some(ok_status()), is_async: Some(true) }
            }
            Err(e) => {
                warn!(txn_id = ?req.txn_id, tablet_id = ?req.local_tablet_id, error = %e, "ingest_binlog refused");
                TIngestBinlogResult { status: Some(e.to_status()), is_async: None }
            }
        };
        Ok(result)
    }

    async fn query_ingest_binlog(&self, req: TQueryIngestBinlogRequest) -> Result<TQueryIngestBinlogResult, ApplicationError> {
        let a = self.agent.ingests.query(&req);
        let status = match a.status {
            QueryStatus::AnalysisError => TIngestBinlogStatus::ANALYSIS_ERROR,
            QueryStatus::NotFound => TIngestBinlogStatus::NOT_FOUND,
            QueryStatus::Doing => TIngestBinlogStatus::DOING,
            QueryStatus::Ok => TIngestBinlogStatus::OK,
            QueryStatus::Failed => TIngestBinlogStatus::FAILED,
        };
        Ok(TQueryIngestBinlogResult { status: Some(status), err_msg: a.err_msg })
    }
}
