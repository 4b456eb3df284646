//! Runs of agent tasks under faults: a submission that does not get through, a backend
//! down past `max_backend_down_time_second`, a task run twice.

use std::sync::Arc;
use std::time::Duration;

use doris_thrift::master_service::TFinishTaskRequest;
use doris_thrift::status::{TStatus, TStatusCode};
use doris_thrift::task_body::TaskBody;
use doris_thrift::transport::ClientPool;
use doris_thrift::types::{TBackend, TTaskType};

use super::down_watch::Liveness;
use super::task_queue::{AgentTask, AgentTasks, Finished, TaskError};

/// Every backend down for the given time (None: all answer); the bound is 5 s.
struct Down(Option<Duration>);

impl Liveness for Down {
    fn down_for(&self, _backend_id: i64) -> Option<Duration> {
        self.0
    }
    fn max_down(&self) -> Duration {
        Duration::from_secs(5)
    }
}

fn agent_tasks(down: Option<Duration>) -> Arc<AgentTasks> {
    Arc::new(AgentTasks::new(ClientPool::new(), Arc::new(Down(down))))
}

/// Nothing listens on port 1: a submission is refused at connect.
const NOWHERE: &str = "127.0.0.1:1";
const BE: i64 = 7;

fn snapshot_task(signature: i64) -> AgentTask {
    let req = crate::backup::backup_job::snapshot_req(100, 1, Some(2), 60);
    AgentTask { backend_id: BE, addr: NOWHERE.into(), request: TaskBody::MakeSnapshot(req).into_request(signature) }
}

fn snapshot_done(signature: i64, path: &str) -> TFinishTaskRequest {
    TFinishTaskRequest {
        backend: TBackend { host: "127.0.0.1".into(), be_port: 1, http_port: 2, brpc_port: None, is_alive: None, id: Some(BE) },
        task_type: TTaskType::MAKE_SNAPSHOT,
        signature,
        task_status: TStatus { status_code: TStatusCode::OK, error_msgs: None },
        report_version: None,
        finish_tablet_infos: None,
        tablet_checksum: None,
        request_version: None,
        request_version_hash: None,
        snapshot_path: Some(path.into()),
        error_tablet_ids: None,
        snapshot_files: Some(vec!["100.hdr".into()]),
        tablet_files: None,
        downloaded_tablet_ids: None,
        copy_size: None,
        copy_time_ms: None,
        succ_tablets: None,
        table_id_to_delta_num_rows: None,
        table_id_to_tablet_id_to_delta_num_rows: None,
        resp_partitions: None,
    }
}

/// A MAKE_SNAPSHOT whose submission failed is still waited for (the report diff sends it
/// again once its backend reports), so its answer finishes the run. A second answer for
/// it with another snapshot (the task ran twice) is nobody's; the same answer again is not.
#[tokio::test]
async fn an_undelivered_task_is_still_waited_for_and_a_second_snapshot_is_unclaimed() {
    let tasks = agent_tasks(None);
    let run = tokio::spawn({
        let tasks = tasks.clone();
        async move { tasks.run(vec![snapshot_task(41)], Duration::from_secs(60)).await }
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !tasks.is_pending(BE, TTaskType::MAKE_SNAPSHOT, 41) {
        assert!(tokio::time::Instant::now() < deadline, "the task is registered");
        tokio::task::yield_now().await;
    }
    assert_eq!(tasks.finish(BE, snapshot_done(41, "/snap/a")), Finished::Delivered);
    let done = run.await.unwrap().expect("the refused submission does not fail the run");
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].1.snapshot_path.as_deref(), Some("/snap/a"));
    assert_eq!(tasks.finish(BE, snapshot_done(41, "/snap/a")), Finished::NoWaiter);
    assert_eq!(tasks.finish(BE, snapshot_done(41, "/snap/b")), Finished::UnclaimedSnapshot { path: "/snap/b".into() });
    assert_eq!(tasks.pending_count(), 0);
}

/// A run whose backend has been down longer than the bound fails at once, naming it.
#[tokio::test]
async fn a_backend_down_past_the_bound_fails_the_run() {
    let tasks = agent_tasks(Some(Duration::from_secs(10)));
    let e = tasks.run(vec![snapshot_task(42), snapshot_task(43)], Duration::from_secs(3600)).await.unwrap_err();
    assert!(
        matches!(e, TaskError::BackendDown { backend_id: BE, down_secs: 10, max_secs: 5, unfinished: 2, .. }),
        "{e}"
    );
    assert_eq!(tasks.pending_count(), 0, "its waiters are gone");
}
