//! The agent task kinds this BE runs, each declared once: its type (and so its request
//! member, see `TaskBody`), its worker pool size, whether the FE gets a finishTask, and
//! its executor (which fills the finishTask fields upstream fills for it). Intake
//! validation, the pools, dispatch and names all read this table, so a new kind is one
//! entry here plus its executor file.

use std::sync::Arc;

use doris_thrift::master_service::TFinishTaskRequest;
use doris_thrift::task_body::{task_type_name, TaskBody};
use doris_thrift::types::TTaskType;
use futures::future::BoxFuture;
use tracing::warn;

use super::{clone, cooldown_conf, create, download, drop, move_dir, publish, push, release, snapshot, storage_policy, upload};
use super::TaskEnv;
use crate::config::BeConfig;
use crate::error::{BeError, Result};

/// Runs one task to the finishTask to send (None for kinds the FE expects none for).
type Run = fn(Arc<TaskEnv>, i64, TaskBody) -> BoxFuture<'static, Option<TFinishTaskRequest>>;

pub struct TaskKind {
    pub task_type: TTaskType,
    /// Workers of its pool, from the config.
    pub workers: fn(&BeConfig) -> usize,
    /// Whether the FE waits for a finishTask (the others it learns about from reports).
    pub sends_finish: bool,
    run: Run,
}

impl TaskKind {
    pub fn name(&self) -> &'static str {
        task_type_name(self.task_type)
    }

    pub fn run(&self, env: Arc<TaskEnv>, signature: i64, body: TaskBody) -> BoxFuture<'static, Option<TFinishTaskRequest>> {
        (self.run)(env, signature, body)
    }
}

/// An entry: `finish` executors are `run(&TaskEnv, signature, req, &mut finish) -> Result<()>`,
/// `silent` ones `run(&TaskEnv, req)` (they log their own outcome).
macro_rules! kind {
    ($tt:ident, $variant:ident, $workers:expr, finish: $exec:path) => {
        TaskKind {
            task_type: TTaskType::$tt,
            workers: $workers,
            sends_finish: true,
            run: |env, signature, body| {
                Box::pin(async move {
                    let mut finish = env.finish_request(TTaskType::$tt, signature);
                    let result = match body {
                        TaskBody::$variant(req) => $exec(&env, signature, req, &mut finish).await,
                        other => Err(mismatch(&other)),
                    };
                    Some(conclude(finish, result))
                })
            },
        }
    };
    ($tt:ident, $variant:ident, $workers:expr, silent: $exec:path) => {
        TaskKind {
            task_type: TTaskType::$tt,
            workers: $workers,
            sends_finish: false,
            run: |env, _signature, body| {
                Box::pin(async move {
                    match body {
                        TaskBody::$variant(req) => $exec(&env, req).await,
                        other => warn!(error = %mismatch(&other), "task ignored"),
                    }
                    None
                })
            },
        }
    };
}

static KINDS: [TaskKind; 12] = [
    kind!(CREATE, Create, |c| c.create_tablet_worker_count, finish: create::run),
    kind!(DROP, Drop, |c| c.drop_tablet_worker_count, finish: drop::run),
    kind!(MAKE_SNAPSHOT, MakeSnapshot, |c| c.make_snapshot_worker_count, finish: snapshot::run),
    kind!(RELEASE_SNAPSHOT, ReleaseSnapshot, |c| c.release_snapshot_worker_count, finish: release::run),
    kind!(UPLOAD, Upload, |c| c.upload_worker_count, finish: upload::run),
    kind!(DOWNLOAD, Download, |c| c.download_worker_count, finish: download::run),
    kind!(MOVE, Move, |c| c.move_dir_worker_count, finish: move_dir::run),
    kind!(PUBLISH_VERSION, PublishVersion, |c| c.publish_version_worker_count, finish: publish::run),
    kind!(REALTIME_PUSH, RealtimePush, |c| c.push_worker_count_normal_priority, finish: push::run),
    kind!(CLONE, Clone, |c| c.clone_worker_count, finish: clone::run),
    // Upstream applies confs on a single thread so a later term wins in order.
    kind!(PUSH_COOLDOWN_CONF, PushCooldownConf, |_| 1, silent: cooldown_conf::run),
    // One at a time, so pushes apply in the order they came.
    kind!(PUSH_STORAGE_POLICY, PushStoragePolicy, |_| 1, silent: storage_policy::run),
];

/// Every kind this BE runs.
pub fn all() -> &'static [TaskKind] {
    &KINDS
}

/// The kind of a task type, None when this BE does not run it.
pub fn of(task_type: TTaskType) -> Option<&'static TaskKind> {
    KINDS.iter().find(|k| k.task_type == task_type)
}

/// A body queued under another kind's type: a bug, reported as the task's failure.
fn mismatch(body: &TaskBody) -> BeError {
    BeError::Internal(format!("a {} body reached another kind's executor", task_type_name(body.task_type())))
}

fn conclude(mut finish: TFinishTaskRequest, result: Result<()>) -> TFinishTaskRequest {
    match result {
        Ok(()) => tracing::info!("task succeeded"),
        Err(e) => {
            warn!(error = %e, "task failed");
            finish.task_status = e.to_status();
        }
    }
    finish
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_is_declared_once_and_has_a_request_member() {
        for (i, k) in KINDS.iter().enumerate() {
            assert!(TaskBody::member_name(k.task_type).is_some(), "{}", k.name());
            assert!(KINDS[i + 1..].iter().all(|o| o.task_type != k.task_type), "{} twice", k.name());
            assert!(std::ptr::eq(of(k.task_type).unwrap(), k));
        }
        assert!(of(TTaskType::ALTER).is_none());
    }

    #[test]
    fn only_the_push_kinds_send_no_finish_task() {
        let silent: Vec<_> = KINDS.iter().filter(|k| !k.sends_finish).map(|k| k.task_type).collect();
        assert_eq!(silent, vec![TTaskType::PUSH_COOLDOWN_CONF, TTaskType::PUSH_STORAGE_POLICY]);
    }

    #[test]
    fn pool_sizes_come_from_the_config() {
        let c = BeConfig::default();
        assert_eq!((of(TTaskType::CREATE).unwrap().workers)(&c), c.create_tablet_worker_count);
        assert_eq!((of(TTaskType::PUSH_STORAGE_POLICY).unwrap().workers)(&c), 1);
    }
}
