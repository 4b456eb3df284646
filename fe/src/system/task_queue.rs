//! Agent tasks to BEs: submit through `submit_tasks`, then wait for each task's
//! `finishTask`, matched by (backend, task type, signature).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dashmap::DashMap;
use doris_thrift::agent_service::TAgentTaskRequest;
use doris_thrift::master_service::TFinishTaskRequest;
use doris_thrift::services::BackendServiceClient;
use doris_thrift::status::TStatusCode;
use doris_thrift::transport::{ClientOptions, ClientPool};
use doris_thrift::types::TTaskType;
use tokio::sync::oneshot;
use tracing::{debug, warn, Instrument};

use super::down_watch::{self, ByBackend, Liveness, DOWN_CHECK};
use super::reports::UnknownTablets;

/// (backend, task type, signature).
pub(super) type Key = (i64, i32, i64);

/// How long a delivered MAKE_SNAPSHOT stays remembered after its `run` ended. Its waiter
/// records the snapshot path in a job record right after `run` returns (no await in
/// between); from then on that record protects the snapshot. This only has to outlast
/// that step, with a wide margin.
const DELIVERED_RETENTION: Duration = Duration::from_secs(600);
/// A delivered entry whose `run` never reported its end (a waiter dropped while the answer
/// was on its way) is forgotten after this long, so the map stays bounded.
const DELIVERED_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

/// What became of a finishTask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finished {
    /// Handed to the task's waiter.
    Delivered,
    /// Nobody waits for it: late, duplicate or unknown.
    NoWaiter,
    /// A successful MAKE_SNAPSHOT nobody waits for and whose answer no waiter got from this
    /// FE: the snapshot is nobody's, unless a stored record names its path (which the
    /// caller, who can see the job records, checks before releasing it).
    UnclaimedSnapshot { path: String },
}

/// A MAKE_SNAPSHOT answer handed to a waiter.
struct Delivered {
    at: Instant,
    /// When the `run` that waited for it ended; None while it goes on.
    run_ended: Option<Instant>,
    /// The snapshot it made: a second run of the same task (sent again, after an FE
    /// restart or a lost submit) makes another one, which nobody keeps.
    path: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("cannot submit tasks to backend {backend_id} ({addr}): {error}")]
    Submit { backend_id: i64, addr: String, error: String },
    #[error("task {} {signature} failed on backend {backend_id}: {message}", task_type_name(*task_type))]
    Failed { backend_id: i64, task_type: TTaskType, signature: i64, message: String },
    #[error("timed out after {secs} s waiting for {} task(s) to finish; unfinished (backend, signature): {}{}", unfinished.len(), fmt_unfinished(unfinished), if refused.is_empty() { String::new() } else { format!("; {refused}") })]
    Timeout { secs: u64, unfinished: Vec<(i64, i64)>, refused: String },
    #[error("backend {backend_id} ({addr}) has been unreachable for {down_secs} s, longer than max_backend_down_time_second ({max_secs} s); {unfinished} of its task(s) unfinished")]
    BackendDown { backend_id: i64, addr: String, down_secs: u64, max_secs: u64, unfinished: usize },
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

/// Someone waiting for a task's finishTask, and what it takes to send the task again.
/// A run waits for a task per tablet: the answer and the request are boxed so that the
/// channel and the map entry stay small (both were hundreds of bytes a task inline).
struct Waiter {
    tx: oneshot::Sender<Box<TFinishTaskRequest>>,
    /// The BE's address and the request; None for the kinds upstream never resends.
    resend: Option<Box<(String, TAgentTaskRequest)>>,
    /// When it was last sent.
    sent: Instant,
}

/// Task types upstream's report diff leaves out: a lost CREATE fails its table's creation
/// instead (it is not resent), as do consistency checks and medium migrations.
fn resendable(t: TTaskType) -> bool {
    !matches!(t, TTaskType::CREATE | TTaskType::CHECK_CONSISTENCY | TTaskType::STORAGE_MEDIUM_MIGRATE)
}

pub struct AgentTasks {
    pool: ClientPool,
    pending: DashMap<Key, Waiter>,
    /// Tablets of the CREATE tasks of every `run` still going, with how many such tasks
    /// (one per replica). Their tablets may be on BEs before their table is in the catalog.
    creating: Mutex<HashMap<i64, usize>>,
    /// MAKE_SNAPSHOT answers handed to a waiter: a duplicate finishTask of one of them must
    /// not release a snapshot its job may keep.
    delivered: Mutex<HashMap<Key, Delivered>>,
    /// Tablets BEs report that no table holds, and the DROPs sent for them (reports.rs).
    pub unknown_tablets: UnknownTablets,
    /// How long backends have been unreachable: a run gives up on one down too long.
    liveness: Arc<dyn Liveness>,
}

fn client(pool: &ClientPool, addr: &str) -> BackendServiceClient {
    let opts = ClientOptions { call_timeout: Duration::from_secs(30), ..Default::default() };
    BackendServiceClient::new(pool.channel(addr, opts))
}

impl AgentTasks {
    pub fn new(pool: ClientPool, liveness: Arc<dyn Liveness>) -> Self {
        AgentTasks {
            liveness,
            pool,
            pending: DashMap::new(),
            creating: Mutex::new(HashMap::new()),
            delivered: Mutex::new(HashMap::new()),
            unknown_tablets: UnknownTablets::default(),
        }
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

    /// Whether a CREATE task of a `run` still going makes this tablet (on any backend).
    pub fn is_creating(&self, tablet_id: i64) -> bool {
        self.creating.lock().unwrap().contains_key(&tablet_id)
    }

    /// A task report of `backend_id` listed `held`: send again the tasks someone waits for
    /// that it no longer holds (a BE restarted and lost its queue, or refused the batch),
    /// once `wait` has passed since they were last sent, as upstream's report diff does.
    /// How many were sent again.
    pub fn resend_missing(&self, backend_id: i64, held: &BTreeMap<TTaskType, std::collections::BTreeSet<i64>>, wait: Duration) -> usize {
        let now = Instant::now();
        let mut again: Vec<AgentTask> = Vec::new();
        for mut e in self.pending.iter_mut() {
            let (be, task_type, signature) = *e.key();
            if be != backend_id || held.get(&TTaskType(task_type)).is_some_and(|s| s.contains(&signature)) {
                continue;
            }
            let w = e.value_mut();
            let Some(resend) = &w.resend else { continue };
            let (addr, request) = &**resend;
            if now.saturating_duration_since(w.sent) < wait {
                continue;
            }
            w.sent = now;
            again.push(AgentTask { backend_id, addr: addr.clone(), request: request.clone() });
        }
        let n = again.len();
        if n > 0 {
            warn!(backend_id, tasks = n, "tasks missing from the backend's task report; sending them again");
            self.submit_detached(again);
        }
        n
    }

    /// Deliver a finishTask to its waiter, if any.
    pub fn finish(&self, backend_id: i64, req: TFinishTaskRequest) -> Finished {
        let key = (backend_id, req.task_type.0, req.signature);
        let snapshot = req.task_type == TTaskType::MAKE_SNAPSHOT;
        let req = match self.pending.remove(&key) {
            Some((_, Waiter { tx, .. })) => {
                // Remembered before the waiter can see it, so its run's end finds it.
                if snapshot {
                    let path = req.snapshot_path.clone().unwrap_or_default();
                    self.delivered.lock().unwrap().insert(key, Delivered { at: Instant::now(), run_ended: None, path });
                }
                match tx.send(Box::new(req)) {
                    Ok(()) => return Finished::Delivered,
                    // The waiter gave up in the meantime: it never saw this answer.
                    Err(req) => {
                        if snapshot {
                            self.delivered.lock().unwrap().remove(&key);
                        }
                        *req
                    }
                }
            }
            None => req,
        };
        debug!(backend_id, signature = req.signature, task_type = ?req.task_type, "finishTask for no waiting task");
        let path = req.snapshot_path.as_deref().unwrap_or_default();
        if snapshot
            && req.task_status.status_code == TStatusCode::OK
            && !path.is_empty()
            && self.delivered.lock().unwrap().get(&key).is_none_or(|d| d.path != path)
        {
            return Finished::UnclaimedSnapshot { path: path.to_string() };
        }
        Finished::NoWaiter
    }

    /// Submit the tasks without waiting for them to finish; submission errors are returned.
    pub async fn submit(&self, tasks: Vec<AgentTask>) -> Vec<TaskError> {
        submit_all(&self.pool, tasks).await
    }

    /// Submit the tasks in the background (for callers that cannot wait, like report
    /// intake); failures are logged.
    pub fn submit_detached(&self, tasks: Vec<AgentTask>) {
        if tasks.is_empty() {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            warn!(tasks = tasks.len(), "no runtime to submit agent tasks on; dropped");
            return;
        };
        let pool = self.pool.clone();
        rt.spawn(
            async move {
                submit_all(&pool, tasks).await;
            }
            .in_current_span(),
        );
    }

    /// Submit the tasks and wait, at most `timeout`, for every finishTask. A task that
    /// finished with a non-OK status fails the whole run.
    /// The answers stay boxed: a run of a task per tablet collects one each.
    pub async fn run(
        &self,
        tasks: Vec<AgentTask>,
        timeout: Duration,
    ) -> Result<Vec<(i64, Box<TFinishTaskRequest>)>, TaskError> {
        let (done, outcome) = self.run_keeping(tasks, timeout).await;
        outcome.map(|()| done)
    }

    /// [`run`](Self::run), but the tasks that did succeed are handed back even when the
    /// run fails: a job records the snapshots they made, so its cancel releases them.
    pub async fn run_keeping(
        &self,
        tasks: Vec<AgentTask>,
        timeout: Duration,
    ) -> (Vec<(i64, Box<TFinishTaskRequest>)>, Result<(), TaskError>) {
        let mut waiters = Vec::new();
        let keys: Vec<Key> = tasks.iter().map(|t| (t.backend_id, t.request.task_type.0, t.request.signature)).collect();
        let creating: Vec<i64> = tasks
            .iter()
            .filter(|t| t.request.task_type == TTaskType::CREATE)
            .filter_map(|t| t.request.create_tablet_req.as_ref().map(|c| c.tablet_id))
            .collect();
        // Before submitting: from the first CREATE on, reports may list the tablet.
        {
            let mut c = self.creating.lock().unwrap();
            for id in &creating {
                *c.entry(*id).or_insert(0) += 1;
            }
        }
        // Register before submitting: a fast BE may answer before submit_tasks returns.
        let now = Instant::now();
        for (k, t) in keys.iter().zip(&tasks) {
            let (tx, rx) = oneshot::channel();
            let resend = resendable(t.request.task_type).then(|| Box::new((t.addr.clone(), t.request.clone())));
            self.pending.insert(*k, Waiter { tx, resend, sent: now });
            waiters.push((*k, rx));
        }
        // The guard unregisters on every way out, including this future being dropped
        // mid-wait (a job cancelled through `select!`); a finishTask arriving later finds
        // no waiter and is answered as an unknown task.
        let _registered = Registered { tasks: self, keys, creating };
        self.run_registered(tasks, waiters, timeout).await
    }

    /// Submit the tasks and wait, at most `timeout`, for each one's answer, whatever it
    /// is: per task (in the given order) its finishTask (OK or not), or why there is none
    /// (its backend took no tasks, or it did not finish in time). For callers that decide
    /// per backend, like a publish that needs only a quorum.
    pub async fn run_answers(&self, tasks: Vec<AgentTask>, timeout: Duration) -> Vec<(i64, Result<TFinishTaskRequest, String>)> {
        let keys: Vec<Key> = tasks.iter().map(|t| (t.backend_id, t.request.task_type.0, t.request.signature)).collect();
        let now = Instant::now();
        let mut waiters = Vec::new();
        for (k, t) in keys.iter().zip(&tasks) {
            let (tx, rx) = oneshot::channel();
            let resend = resendable(t.request.task_type).then(|| Box::new((t.addr.clone(), t.request.clone())));
            self.pending.insert(*k, Waiter { tx, resend, sent: now });
            waiters.push((*k, rx));
        }
        let _registered = Registered { tasks: self, keys, creating: Vec::new() };
        let mut unsent: HashMap<i64, String> = HashMap::new();
        for (backend_id, addr, reqs) in batches(tasks) {
            if let Err(e) = submit_one(&self.pool, backend_id, &addr, reqs).await {
                unsent.insert(backend_id, e.to_string());
            }
        }
        let deadline = tokio::time::Instant::now() + timeout;
        let mut out = Vec::with_capacity(waiters.len());
        for ((backend_id, _, signature), rx) in waiters {
            if let Some(e) = unsent.get(&backend_id) {
                out.push((backend_id, Err(e.clone())));
                continue;
            }
            let answer = tokio::time::timeout_at(deadline, rx).await.ok().and_then(|r| r.ok()).map(|b| *b);
            out.push((backend_id, answer.ok_or_else(|| format!("task {signature} did not finish within {} s", timeout.as_secs()))));
        }
        out
    }

    async fn run_registered(
        &self,
        tasks: Vec<AgentTask>,
        waiters: Vec<(Key, oneshot::Receiver<Box<TFinishTaskRequest>>)>,
        timeout: Duration,
    ) -> (Vec<(i64, Box<TFinishTaskRequest>)>, Result<(), TaskError>) {
        let mut done = Vec::new();
        let mut failed = None;
        let mut refused = Vec::new();
        let by_be = by_backend(&tasks);
        // Ends (with the error to fail on) once a backend of the run is down too long.
        let watch = self.watch_down(&by_be);
        tokio::pin!(watch);
        for (backend_id, addr, reqs) in batches(tasks) {
            let fatal = reqs.iter().any(|r| !resendable(r.task_type));
            // Other backends may already run theirs: keep waiting for what was submitted.
            // Biased: nothing is sent to a backend already down too long (the watch's first
            // look is immediate).
            let submitted = tokio::select! {
                biased;
                e = &mut watch => {
                    failed = Some(e);
                    break;
                }
                r = submit_one(&self.pool, backend_id, &addr, reqs) => r,
            };
            match submitted {
                Ok(None) => {}
                Ok(Some(message)) => refused.push(format!("backend {backend_id} refused tasks: {message}")),
                // As upstream, an unsent task that the report diff resends is still waited
                // for: the backend's next task report lacks it and it is sent again; a
                // backend that stays away runs into the down bound.
                Err(e) if !fatal => {
                    warn!(backend_id, error = %e, "tasks not delivered; they are resent once the backend reports");
                    refused.push(e.to_string());
                }
                Err(e) => {
                    failed.get_or_insert(e);
                }
            }
        }
        let deadline = tokio::time::Instant::now() + timeout;
        let mut unfinished = Vec::new();
        for ((backend_id, task_type, signature), mut rx) in waiters {
            // Once the run has failed, take only the answers already here.
            let answer = if failed.is_some() {
                rx.try_recv().ok()
            } else {
                tokio::select! {
                    biased;
                    r = &mut rx => r.ok(),
                    _ = tokio::time::sleep_until(deadline) => None,
                    e = &mut watch => {
                        failed = Some(e);
                        rx.try_recv().ok()
                    }
                }
            };
            match answer {
                Some(req) if req.task_status.status_code == TStatusCode::OK => done.push((backend_id, req)),
                Some(req) => {
                    failed.get_or_insert(TaskError::Failed {
                        backend_id,
                        task_type: TTaskType(task_type),
                        signature,
                        message: status_text(&req.task_status),
                    });
                }
                None if failed.is_none() => unfinished.push((backend_id, signature)),
                None => {}
            }
        }
        if failed.is_none() && !unfinished.is_empty() {
            failed = Some(TaskError::Timeout { secs: timeout.as_secs(), unfinished, refused: refused.join("; ") });
        }
        (done, failed.map_or(Ok(()), Err))
    }

    /// Resolves, with the error the run fails with, once a backend of `by_be` with
    /// unanswered tasks has been down longer than `max_backend_down_time_second`.
    async fn watch_down(&self, by_be: &ByBackend) -> TaskError {
        let mut tick = tokio::time::interval(DOWN_CHECK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tick.tick().await;
            if let Some(e) = down_watch::first_down(&*self.liveness, by_be, |k| self.pending.contains_key(k)) {
                warn!(error = %e, "giving up on the tasks of an unreachable backend");
                return e;
            }
        }
    }
}

/// The tasks' keys per backend, with the backend's address.
fn by_backend(tasks: &[AgentTask]) -> ByBackend {
    let mut by_be = ByBackend::new();
    for t in tasks {
        by_be
            .entry(t.backend_id)
            .or_insert_with(|| (t.addr.clone(), Vec::new()))
            .1
            .push((t.backend_id, t.request.task_type.0, t.request.signature));
    }
    by_be
}

async fn submit_all(pool: &ClientPool, tasks: Vec<AgentTask>) -> Vec<TaskError> {
    let mut errors = Vec::new();
    for (backend_id, addr, reqs) in batches(tasks) {
        if let Err(e) = submit_one(pool, backend_id, &addr, reqs).await {
            warn!(backend_id, error = %e, "submitting agent tasks failed");
            errors.push(e);
        }
    }
    errors
}

async fn submit_one(
    pool: &ClientPool,
    backend_id: i64,
    addr: &str,
    reqs: Vec<TAgentTaskRequest>,
) -> Result<Option<String>, TaskError> {
    let span = tracing::info_span!("submit_tasks", backend_id, tasks = reqs.len());
    let r = client(pool, addr).submit_tasks(&reqs).instrument(span).await.map_err(|e| TaskError::Submit {
        backend_id,
        addr: addr.to_string(),
        error: e.to_string(),
    })?;
    if r.status.status_code != TStatusCode::OK {
        // One status answers the whole batch, though the BE queued the tasks it could: as
        // upstream, the batch counts as sent. A task the BE did not take is missing from
        // its next task report and sent again; one it never takes runs into the timeout,
        // which then names this refusal.
        let message = status_text(&r.status);
        warn!(backend_id, %message, "the backend refused some tasks of the batch");
        return Ok(Some(message));
    }
    Ok(None)
}

/// Waiters (and CREATE tablets) registered by one `run`, removed when it ends or is dropped.
struct Registered<'a> {
    tasks: &'a AgentTasks,
    keys: Vec<Key>,
    creating: Vec<i64>,
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
        if !self.creating.is_empty() {
            let mut c = self.tasks.creating.lock().unwrap_or_else(|e| e.into_inner());
            for id in &self.creating {
                if let Some(n) = c.get_mut(id) {
                    *n -= 1;
                    if *n == 0 {
                        c.remove(id);
                    }
                }
            }
        }
        let now = Instant::now();
        let mut d = self.tasks.delivered.lock().unwrap_or_else(|e| e.into_inner());
        for k in &self.keys {
            if let Some(e) = d.get_mut(k) {
                e.run_ended.get_or_insert(now);
            }
        }
        d.retain(|_, e| match e.run_ended {
            Some(end) => now.duration_since(end) < DELIVERED_RETENTION,
            None => now.duration_since(e.at) < DELIVERED_MAX_AGE,
        });
    }
}

/// Tasks per submit_tasks call at most. One call per BE grew with the job (tens of MB for
/// a 300,000-tablet one), held whole by both ends and bounded by the BE's
/// `thrift_max_message_size`; batches keep calls small and let every BE start at once.
pub const SUBMIT_BATCH: usize = 2000;

fn group(tasks: Vec<AgentTask>) -> BTreeMap<i64, (String, Vec<TAgentTaskRequest>)> {
    let mut by_be: BTreeMap<i64, (String, Vec<TAgentTaskRequest>)> = BTreeMap::new();
    for t in tasks {
        by_be.entry(t.backend_id).or_insert_with(|| (t.addr.clone(), Vec::new())).1.push(t.request);
    }
    by_be
}

/// The tasks as submit_tasks calls: per backend, batches of at most [`SUBMIT_BATCH`] in
/// their order, the backends' batches taken in turn.
fn batches(tasks: Vec<AgentTask>) -> Vec<(i64, String, Vec<TAgentTaskRequest>)> {
    let mut per_be: Vec<_> = group(tasks).into_iter().map(|(id, (addr, reqs))| (id, addr, reqs.into_iter())).collect();
    let mut out = Vec::new();
    loop {
        let before = out.len();
        for (id, addr, reqs) in per_be.iter_mut() {
            let batch: Vec<TAgentTaskRequest> = reqs.by_ref().take(SUBMIT_BATCH).collect();
            if !batch.is_empty() {
                out.push((*id, addr.clone(), batch));
            }
        }
        if out.len() == before {
            return out;
        }
    }
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

#[cfg(test)]
mod tests {
    use doris_thrift::agent_service::TReleaseSnapshotRequest;
    use doris_thrift::task_body::TaskBody;

    use super::*;

    fn task(backend_id: i64, signature: i64) -> AgentTask {
        let body = TaskBody::ReleaseSnapshot(TReleaseSnapshotRequest { snapshot_path: String::new() });
        AgentTask { backend_id, addr: format!("be{backend_id}:9060"), request: body.into_request(signature) }
    }

    /// Each backend's tasks go in batches of at most SUBMIT_BATCH, in their order, the
    /// backends taking turns; nothing is lost or sent twice.
    #[test]
    fn tasks_are_submitted_in_bounded_batches_taking_turns() {
        let mut tasks = Vec::new();
        for sig in 0..(2 * SUBMIT_BATCH as i64 + 5) {
            tasks.push(task(1, sig));
        }
        for sig in 0..3 {
            tasks.push(task(2, 100_000 + sig));
        }
        let b = batches(tasks);
        let shape: Vec<(i64, usize)> = b.iter().map(|(id, _, reqs)| (*id, reqs.len())).collect();
        assert_eq!(shape, vec![(1, SUBMIT_BATCH), (2, 3), (1, SUBMIT_BATCH), (1, 5)]);
        assert!(b.iter().all(|(id, addr, _)| *addr == format!("be{id}:9060")));
        let sigs: Vec<i64> = b.iter().filter(|(id, _, _)| *id == 1).flat_map(|(_, _, r)| r.iter().map(|t| t.signature)).collect();
        assert_eq!(sigs, (0..(2 * SUBMIT_BATCH as i64 + 5)).collect::<Vec<_>>());
    }
}
