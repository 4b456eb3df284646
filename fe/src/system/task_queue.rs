//! Agent tasks to BEs: submit through `submit_tasks`, then wait for each task's
//! `finishTask`, matched by (backend, task type, signature).

use std::collections::BTreeMap;
use std::time::Duration;

use dashmap::DashMap;
use doris_thrift::agent_service::{TAgentServiceVersion, TAgentTaskRequest};
use doris_thrift::master_service::TFinishTaskRequest;
use doris_thrift::services::BackendServiceClient;
use doris_thrift::status::TStatusCode;
use doris_thrift::transport::{ClientOptions, ClientPool};
use doris_thrift::types::TTaskType;
use tokio::sync::oneshot;
use tracing::{debug, warn, Instrument};

type Key = (i64, i32, i64);

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("cannot submit tasks to backend {backend_id} ({addr}): {error}")]
    Submit { backend_id: i64, addr: String, error: String },
    #[error("backend {backend_id} refused the tasks: {message}")]
    Rejected { backend_id: i64, message: String },
    #[error("task {} {signature} failed on backend {backend_id}: {message}", task_type_name(*task_type))]
    Failed { backend_id: i64, task_type: TTaskType, signature: i64, message: String },
    #[error("timed out after {secs} s waiting for {} task(s) to finish; unfinished (backend, signature): {}", unfinished.len(), fmt_unfinished(unfinished))]
    Timeout { secs: u64, unfinished: Vec<(i64, i64)> },
}

fn fmt_unfinished(u: &[(i64, i64)]) -> String {
    let shown: Vec<String> = u.iter().take(10).map(|(b, s)| format!("({b}, {s})")).collect();
    let more = if u.len() > 10 { format!(" and {} more", u.len() - 10) } else { String::new() };
    format!("{}{more}", shown.join(", "))
}

/// One task for one backend.
#[derive(Debug, Clone)]
pub struct AgentTask {
    pub backend_id: i64,
    /// The BE's thrift address (host:be_port).
    pub addr: String,
    pub request: TAgentTaskRequest,
}

/// A request with every optional part empty; callers fill the one their type needs.
pub fn new_task(task_type: TTaskType, signature: i64) -> TAgentTaskRequest {
    TAgentTaskRequest::new(
        TAgentServiceVersion::V1,
        task_type,
        signature,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        chrono::Utc::now().timestamp_millis(),
        None,
        None,
    )
}

pub struct AgentTasks {
    pool: ClientPool,
    pending: DashMap<Key, oneshot::Sender<TFinishTaskRequest>>,
}

impl AgentTasks {
    pub fn new(pool: ClientPool) -> Self {
        AgentTasks { pool, pending: DashMap::new() }
    }

    fn client(&self, addr: &str) -> BackendServiceClient {
        let opts = ClientOptions { call_timeout: Duration::from_secs(30), ..Default::default() };
        BackendServiceClient::new(self.pool.channel(addr, opts))
    }

    /// Tasks awaiting their finishTask.
    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    /// Whether someone waits for this task's finishTask.
    pub fn is_pending(&self, backend_id: i64, task_type: TTaskType, signature: i64) -> bool {
        self.pending.contains_key(&(backend_id, task_type.0, signature))
    }

    /// The (backend, task type, signature) of every task awaiting its finishTask.
    pub fn pending_tasks(&self) -> Vec<(i64, TTaskType, i64)> {
        self.pending.iter().map(|e| (e.key().0, TTaskType(e.key().1), e.key().2)).collect()
    }

    /// Deliver a finishTask; false when nobody waits for it (late, duplicate or unknown).
    pub fn finish(&self, backend_id: i64, req: TFinishTaskRequest) -> bool {
        let key = (backend_id, req.task_type.0, req.signature);
        match self.pending.remove(&key) {
            Some((_, tx)) => tx.send(req).is_ok(),
            None => {
                debug!(backend_id, signature = req.signature, task_type = ?req.task_type, "finishTask for no waiting task");
                false
            }
        }
    }

    /// Submit the tasks without waiting for them to finish; submission errors are returned.
    pub async fn submit(&self, tasks: Vec<AgentTask>) -> Vec<TaskError> {
        let mut errors = Vec::new();
        for (backend_id, (addr, reqs)) in group(tasks) {
            if let Err(e) = self.submit_one(backend_id, &addr, reqs).await {
                warn!(backend_id, error = %e, "submitting agent tasks failed");
                errors.push(e);
            }
        }
        errors
    }

    async fn submit_one(&self, backend_id: i64, addr: &str, reqs: Vec<TAgentTaskRequest>) -> Result<(), TaskError> {
        let span = tracing::info_span!("submit_tasks", backend_id, tasks = reqs.len());
        let r = self.client(addr).submit_tasks(&reqs).instrument(span).await.map_err(|e| TaskError::Submit {
            backend_id,
            addr: addr.to_string(),
            error: e.to_string(),
        })?;
        if r.status.status_code != TStatusCode::OK {
            return Err(TaskError::Rejected { backend_id, message: status_text(&r.status) });
        }
        Ok(())
    }

    /// Submit the tasks and wait, at most `timeout`, for every finishTask. A task that
    /// finished with a non-OK status fails the whole run.
    pub async fn run(
        &self,
        tasks: Vec<AgentTask>,
        timeout: Duration,
    ) -> Result<Vec<(i64, TFinishTaskRequest)>, TaskError> {
        let mut waiters = Vec::new();
        let keys: Vec<Key> = tasks.iter().map(|t| (t.backend_id, t.request.task_type.0, t.request.signature)).collect();
        // Register before submitting: a fast BE may answer before submit_tasks returns.
        for k in &keys {
            let (tx, rx) = oneshot::channel();
            self.pending.insert(*k, tx);
            waiters.push((*k, rx));
        }
        // The guard unregisters on every way out, including this future being dropped
        // mid-wait (a job cancelled through `select!`); a finishTask arriving later finds
        // no waiter and is answered as an unknown task.
        let _registered = Registered { tasks: self, keys };
        self.run_registered(tasks, waiters, timeout).await
    }

    async fn run_registered(
        &self,
        tasks: Vec<AgentTask>,
        waiters: Vec<(Key, oneshot::Receiver<TFinishTaskRequest>)>,
        timeout: Duration,
    ) -> Result<Vec<(i64, TFinishTaskRequest)>, TaskError> {
        for (backend_id, (addr, reqs)) in group(tasks) {
            self.submit_one(backend_id, &addr, reqs).await?;
        }
        let deadline = tokio::time::Instant::now() + timeout;
        let mut done = Vec::new();
        let mut unfinished = Vec::new();
        for ((backend_id, task_type, signature), rx) in waiters {
            match tokio::time::timeout_at(deadline, rx).await {
                Ok(Ok(req)) => {
                    if req.task_status.status_code != TStatusCode::OK {
                        return Err(TaskError::Failed {
                            backend_id,
                            task_type: TTaskType(task_type),
                            signature,
                            message: status_text(&req.task_status),
                        });
                    }
                    done.push((backend_id, req));
                }
                _ => unfinished.push((backend_id, signature)),
            }
        }
        if !unfinished.is_empty() {
            return Err(TaskError::Timeout { secs: timeout.as_secs(), unfinished });
        }
        Ok(done)
    }
}

/// Waiters registered by one `run`, removed when it ends or is dropped.
struct Registered<'a> {
    tasks: &'a AgentTasks,
    keys: Vec<Key>,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        let mut dropped = 0;
        for k in &self.keys {
            if self.tasks.pending.remove(k).is_some() {
                dropped += 1;
            }
        }
        if dropped > 0 {
            debug!(dropped, "stopped waiting for unfinished agent tasks");
        }
    }
}

fn group(tasks: Vec<AgentTask>) -> BTreeMap<i64, (String, Vec<TAgentTaskRequest>)> {
    let mut by_be: BTreeMap<i64, (String, Vec<TAgentTaskRequest>)> = BTreeMap::new();
    for t in tasks {
        by_be.entry(t.backend_id).or_insert_with(|| (t.addr.clone(), Vec::new())).1.push(t.request);
    }
    by_be
}

/// A status as one line: its messages, or its code when it has none.
pub fn status_text(s: &doris_thrift::status::TStatus) -> String {
    let msgs = s.error_msgs.clone().unwrap_or_default().join("; ");
    if msgs.is_empty() {
        format!("status code {}", s.status_code.0)
    } else {
        format!("{msgs} (status code {})", s.status_code.0)
    }
}

pub fn task_type_name(t: TTaskType) -> String {
    let name = match t {
        TTaskType::CREATE => "CREATE",
        TTaskType::DROP => "DROP",
        TTaskType::MAKE_SNAPSHOT => "MAKE_SNAPSHOT",
        TTaskType::RELEASE_SNAPSHOT => "RELEASE_SNAPSHOT",
        TTaskType::UPLOAD => "UPLOAD",
        TTaskType::DOWNLOAD => "DOWNLOAD",
        TTaskType::MOVE => "MOVE",
        TTaskType::PUBLISH_VERSION => "PUBLISH_VERSION",
        TTaskType::PUSH_COOLDOWN_CONF => "PUSH_COOLDOWN_CONF",
        TTaskType::PUSH_STORAGE_POLICY => "PUSH_STORAGE_POLICY",
        other => return format!("type {}", other.0),
    };
    name.to_string()
}
