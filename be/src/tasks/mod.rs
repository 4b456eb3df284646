//! One agent task each: run it against storage (or a repository, or another BE) and
//! fill the finishTask fields upstream fills for its type. `kinds` is the table of the
//! kinds this BE runs; `env` what their executors get.

pub mod clone;
pub mod cooldown_conf;
pub mod create;
pub mod download;
pub mod drop;
pub mod env;
pub mod kinds;
pub mod move_dir;
pub mod progress;
pub mod publish;
pub mod push;
pub mod release;
pub mod snapshot;
pub mod storage_policy;
pub mod upload;

use std::sync::Arc;

use doris_thrift::master_service::TFinishTaskRequest;
use doris_thrift::task_body::{task_type_name, TaskBody};

pub use env::TaskEnv;

use crate::error::{BeError, Result};

/// Run a storage call on the blocking pool (storage does file IO and fsyncs).
pub async fn blocking<T, F>(f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    tokio::task::spawn_blocking(f).await.map_err(|e| BeError::Internal(format!("storage call failed: {e}")))?
}

/// Run one task; the finishTask to send, or None for kinds the FE expects none for.
pub async fn execute(env: Arc<TaskEnv>, signature: i64, body: TaskBody) -> Option<TFinishTaskRequest> {
    let task_type = body.task_type();
    match kinds::of(task_type) {
        Some(kind) => kind.run(env, signature, body).await,
        None => {
            let mut finish = env.finish_request(task_type, signature);
            let e = BeError::InvalidArgument(format!("task type {} is not run by this BE", task_type_name(task_type)));
            finish.task_status = e.to_status();
            Some(finish)
        }
    }
}

/// Record ids on the current task span.
pub(crate) fn record_tablet(tablet_id: i64) {
    tracing::Span::current().record("tablet_id", tablet_id);
}

pub(crate) fn record_job(job_id: i64) {
    tracing::Span::current().record("job_id", job_id);
}
