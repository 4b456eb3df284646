//! One bounded worker pool per task kind (`tasks::kinds`): a FIFO queue and a fixed
//! number of workers. A worker runs a task, sends its finishTask, then releases the
//! signature.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use doris_thrift::status::TStatusCode;
use doris_thrift::task_body::{task_type_name, TaskBody};
use doris_thrift::types::TTaskType;
use futures::FutureExt;
use tokio::sync::{mpsc, Mutex};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{field, info_span, warn, Instrument};

use super::Agent;
use crate::error::BeError;
use crate::tasks;

/// A queued task: its signature and body.
type Queued = (i64, TaskBody);

pub struct Pools {
    queues: HashMap<TTaskType, mpsc::UnboundedSender<Queued>>,
    tracker: TaskTracker,
    stop: CancellationToken,
}

impl Pools {
    pub fn start(agent: Arc<Agent>) -> Arc<Pools> {
        let tracker = TaskTracker::new();
        let stop = CancellationToken::new();
        let mut queues = HashMap::new();
        for kind in tasks::kinds::all() {
            let workers = (kind.workers)(&agent.ctx.config);
            let (tx, rx) = mpsc::unbounded_channel::<Queued>();
            let rx = Arc::new(Mutex::new(rx));
            for _ in 0..workers.max(1) {
                tracker.spawn(worker(agent.clone(), rx.clone(), stop.clone()));
            }
            queues.insert(kind.task_type, tx);
        }
        Arc::new(Pools { queues, tracker, stop })
    }

    pub fn handles(&self, task_type: TTaskType) -> bool {
        self.queues.contains_key(&task_type)
    }

    /// Queue a task; false when no pool takes its type or the pools are stopped.
    pub fn submit(&self, signature: i64, body: TaskBody) -> bool {
        match self.queues.get(&body.task_type()) {
            Some(q) if !self.stop.is_cancelled() => q.send((signature, body)).is_ok(),
            _ => false,
        }
    }

    /// Stop taking queued tasks; wait up to `grace` for running ones.
    pub async fn shutdown(&self, grace: Duration) {
        self.stop.cancel();
        self.tracker.close();
        if tokio::time::timeout(grace, self.tracker.wait()).await.is_err() {
            warn!(grace_s = grace.as_secs(), "tasks still running at shutdown; leaving them");
        }
    }
}

async fn worker(agent: Arc<Agent>, rx: Arc<Mutex<mpsc::UnboundedReceiver<Queued>>>, stop: CancellationToken) {
    loop {
        let task = {
            let mut rx = rx.lock().await;
            tokio::select! {
                biased;
                _ = stop.cancelled() => return,
                t = rx.recv() => match t {
                    Some(t) => t,
                    None => return,
                },
            }
        };
        run_one(&agent, task.0, task.1).await;
    }
}

/// Run one task to its finishTask, whatever happens inside it.
pub(crate) async fn run_one(agent: &Arc<Agent>, signature: i64, body: TaskBody) {
    let task_type = body.task_type();
    let name = task_type_name(task_type);
    let span = info_span!("task", task_type = name, signature, tablet_id = field::Empty, job_id = field::Empty);
    agent.ctx.metrics.task(name, "running");
    let outcome = AssertUnwindSafe(tasks::execute(agent.tasks.clone(), signature, body).instrument(span.clone())).catch_unwind().await;
    let finish = match outcome {
        Ok(f) => f,
        Err(_) => {
            // A bug in a task must not leave the FE waiting for a finishTask forever.
            let mut f = agent.tasks.finish_request(task_type, signature);
            f.task_status = BeError::Internal(format!("{name} task {signature} panicked")).to_status();
            Some(f)
        }
    };
    match finish {
        Some(mut f) => {
            let ok = f.task_status.status_code == TStatusCode::OK;
            agent.ctx.metrics.task(name, if ok { "succeeded" } else { "failed" });
            f.backend = agent.master.backend();
            if let Err(e) = agent.master.finish_task(&f).instrument(span.clone()).await {
                let _g = span.enter();
                warn!(error = %e, "giving up on finishTask; the FE will resend the task");
            }
        }
        // Tasks without a finishTask (PUSH_COOLDOWN_CONF, PUSH_STORAGE_POLICY) count as succeeded once applied.
        None => agent.ctx.metrics.task(name, "succeeded"),
    }
    agent.registry.remove(task_type, signature);
}
