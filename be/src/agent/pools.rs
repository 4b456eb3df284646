//! One bounded worker pool per task type: a FIFO queue and a fixed number of workers.
//! A worker runs a task, sends its finishTask, then releases the signature.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use doris_thrift::agent_service::TAgentTaskRequest;
use doris_thrift::status::TStatusCode;
use doris_thrift::types::TTaskType;
use futures::FutureExt;
use tokio::sync::{mpsc, Mutex};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{field, info_span, warn, Instrument};

use super::Agent;
use crate::error::BeError;
use crate::tasks;

pub struct Pools {
    queues: HashMap<TTaskType, mpsc::UnboundedSender<TAgentTaskRequest>>,
    tracker: TaskTracker,
    stop: CancellationToken,
}

impl Pools {
    /// The task types this BE runs, with their worker counts.
    fn sizes(agent: &Agent) -> Vec<(TTaskType, usize)> {
        let c = &agent.ctx.config;
        vec![
            (TTaskType::CREATE, c.create_tablet_worker_count),
            (TTaskType::DROP, c.drop_tablet_worker_count),
            (TTaskType::MAKE_SNAPSHOT, c.make_snapshot_worker_count),
            (TTaskType::RELEASE_SNAPSHOT, c.release_snapshot_worker_count),
            (TTaskType::UPLOAD, c.upload_worker_count),
            (TTaskType::DOWNLOAD, c.download_worker_count),
            (TTaskType::MOVE, c.move_dir_worker_count),
            (TTaskType::PUBLISH_VERSION, c.publish_version_worker_count),
            // Upstream applies confs on a single thread so a later term wins in order.
            (TTaskType::PUSH_COOLDOWN_CONF, 1),
            // One at a time, so pushes apply in the order they came.
            (TTaskType::PUSH_STORAGE_POLICY, 1),
        ]
    }

    pub fn start(agent: Arc<Agent>) -> Arc<Pools> {
        let tracker = TaskTracker::new();
        let stop = CancellationToken::new();
        let mut queues = HashMap::new();
        for (task_type, workers) in Self::sizes(&agent) {
            let (tx, rx) = mpsc::unbounded_channel::<TAgentTaskRequest>();
            let rx = Arc::new(Mutex::new(rx));
            for _ in 0..workers.max(1) {
                tracker.spawn(worker(agent.clone(), rx.clone(), stop.clone()));
            }
            queues.insert(task_type, tx);
        }
        Arc::new(Pools { queues, tracker, stop })
    }

    pub fn handles(&self, task_type: TTaskType) -> bool {
        self.queues.contains_key(&task_type)
    }

    /// Queue a task; false when no pool takes its type or the pools are stopped.
    pub fn submit(&self, task: TAgentTaskRequest) -> bool {
        match self.queues.get(&task.task_type) {
            Some(q) if !self.stop.is_cancelled() => q.send(task).is_ok(),
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

async fn worker(agent: Arc<Agent>, rx: Arc<Mutex<mpsc::UnboundedReceiver<TAgentTaskRequest>>>, stop: CancellationToken) {
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
        run_one(&agent, task).await;
    }
}

/// Run one task to its finishTask, whatever happens inside it.
pub(crate) async fn run_one(agent: &Arc<Agent>, task: TAgentTaskRequest) {
    let (task_type, signature) = (task.task_type, task.signature);
    let name = tasks::task_type_name(task_type);
    let span = info_span!("task", task_type = name, signature, tablet_id = field::Empty, job_id = field::Empty);
    agent.ctx.metrics.task(name, "running");
    let outcome = AssertUnwindSafe(tasks::execute(agent, task).instrument(span.clone())).catch_unwind().await;
    let finish = match outcome {
        Ok(f) => f,
        Err(_) => {
            // A bug in a task must not leave the FE waiting for a finishTask forever.
            let mut f = tasks::finish_request(agent, task_type, signature);
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
