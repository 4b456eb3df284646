//! Leftovers on BEs the FE cleans up, on an in-process FE with an in-process BE (real
//! sockets, real tablet and snapshot directories):
//! - a tablet no table holds is dropped from the BE once it has been reported unknown for
//!   the grace period; a tablet whose CREATE task is still being waited for is not, however
//!   long that takes, and becomes droppable once nobody waits for its CREATE any more;
//! - the snapshot of a MAKE_SNAPSHOT whose finishTask finds no waiter is released (the FE
//!   restarted, or its job stopped waiting), unless a waiter already got that answer or a
//!   job records the snapshot.

mod fe_support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use doris_be::agent::BeHandle;
use doris_fe::catalog::OlapTable;
use doris_fe::server::FeHandle;
use doris_fe::system::reports::{self, orphan_grace};
use doris_thrift::task_body::TaskBody;
use doris_fe::system::{AgentTask, Finished, TaskError};
use doris_thrift::agent_service::{TAgentResult, TAgentTaskRequest, TCreateTabletReq, TSnapshotRequest};
use doris_thrift::master_service::TFinishTaskRequest;
use doris_thrift::services::{BackendServiceHandler, BackendServiceServer};
use doris_thrift::status::{TStatus, TStatusCode};
use doris_thrift::transport::{ClientPool, ServerOptions, ThriftServer};
use doris_thrift::types::{TStorageMedium, TTaskType};
use fe_support::*;

/// An FE whose orphan grace is 10 s (`max_create_table_timeout_second`) and a BE joined to it.
async fn cluster(meta: &Path, storage: &Path, brpc: u16) -> (FeHandle, BeHandle) {
    let mut conf = fe_config(meta);
    conf.set("max_create_table_timeout_second", "10").unwrap();
    let (fe, be) = start_cluster(conf, be_config(storage, brpc)).await;
    assert_eq!(orphan_grace(&fe.ctx.config), Duration::from_secs(10));
    (fe, be)
}

/// `d.t`: one partition, 2 buckets, one replica each.
async fn table(fe: &FeHandle) -> std::sync::Arc<OlapTable> {
    let mut sql = Sql::new(fe.executor());
    sql.run("CREATE DATABASE d").await;
    sql.run(r#"CREATE TABLE d.t (k INT, v VARCHAR(32)) DUPLICATE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 2 PROPERTIES ("replication_num" = "1")"#)
        .await;
    fe.ctx.catalog.table("d", "t").unwrap()
}

/// A CREATE request for a new tablet `tablet_id` with the schema of `like`.
fn create_req(fe: &FeHandle, like: &OlapTable, tablet_id: i64) -> TCreateTabletReq {
    let p = &like.partitions[0];
    TCreateTabletReq::new(
        tablet_id,
        Box::new(like.tablet_schema()),
        p.visible_version,
        TStorageMedium::HDD,
        false,
        like.id,
        p.id, None, None, None,
        fe.ctx.store.next_id().unwrap(), None,
        None, None, None)
}

/// A backend that takes every task and never reports one finished: whoever waits for
/// its tasks waits until it gives up.
struct SilentBe;

#[async_trait::async_trait]
impl BackendServiceHandler for SilentBe {
    async fn submit_tasks(&self, _t: Vec<TAgentTaskRequest>) -> Result<TAgentResult, thrift::ApplicationError> {
        Ok(TAgentResult::new(TStatus { status_code: TStatusCode::OK, error_msgs: None }, None, None, None))
    }
}

async fn silent_be() -> ThriftServer {
    ThriftServer::bind("127.0.0.1:0", Arc::new(BackendServiceServer(Arc::new(SilentBe))), ServerOptions::default())
        .await
        .unwrap()
}

async fn wait_dropped(be: &BeHandle, tablet_id: i64, dir: &Path, what: &str) {
    wait_until(90, what, || !on_be(be, tablet_id) && !dir.exists()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_tablets_are_dropped_but_not_while_their_create_is_waited_for() {
    let meta = tempfile::tempdir().unwrap();
    let storage = tempfile::tempdir().unwrap();
    let (fe, be) = cluster(meta.path(), storage.path(), 18101).await;
    let t = table(&fe).await;
    let known: Vec<i64> = t.tablets().map(|(_, tb)| tb.id).collect();
    let be_id = fe.ctx.backends.all()[0].id;
    let be_addr = be.addrs.be.to_string();

    // A table being created: its CREATE on our BE finishes, but the run also waits for a
    // task of a backend that never answers, so the tablet stays uncatalogued and waited for
    // until we stop the run.
    let creating = fe.ctx.store.next_id().unwrap();
    let silent = silent_be().await;
    let create = TaskBody::Create(create_req(&fe, &t, creating)).into_request(fe.ctx.store.next_id().unwrap());
    let other = TaskBody::Create(create_req(&fe, &t, fe.ctx.store.next_id().unwrap())).into_request(fe.ctx.store.next_id().unwrap());
    let tasks = vec![
        AgentTask { backend_id: be_id, addr: be_addr.clone(), request: create },
        AgentTask { backend_id: be_id + 1_000_000, addr: silent.local_addr().to_string(), request: other },
    ];
    let agent_tasks = fe.tasks.clone();
    let run = tokio::spawn(async move { agent_tasks.run(tasks, Duration::from_secs(3600)).await });
    wait_until(30, "the CREATE to make its tablet on the BE", || on_be(&be, creating)).await;
    assert!(fe.tasks.is_creating(creating));
    let creating_dir = be.ctx.storage.tablet_dir(creating).unwrap();

    // Left by nothing we know: made on the BE directly, after the one being created.
    let orphan = fe.ctx.store.next_id().unwrap();
    be.ctx.storage.create_tablet(&create_req(&fe, &t, orphan)).unwrap();
    let orphan_dir = be.ctx.storage.tablet_dir(orphan).unwrap();
    assert!(orphan_dir.is_dir());
    wait_dropped(&be, orphan, &orphan_dir, "the unknown tablet dropped from the BE").await;

    // The tablet being created was reported unknown for longer than the orphan (it was on
    // the BE first), yet it stays, and so do the table's.
    assert!(on_be(&be, creating) && creating_dir.is_dir(), "a tablet being created was dropped");
    assert!(known.iter().all(|id| on_be(&be, *id)), "a tablet of a table was dropped");
    assert!(!run.is_finished());

    // Nobody waits for its CREATE any more (the creating job went away): now it is an
    // orphan like any other.
    run.abort();
    assert!(run.await.unwrap_err().is_cancelled());
    assert!(!fe.tasks.is_creating(creating));
    assert_eq!(fe.tasks.pending_count(), 0);
    wait_dropped(&be, creating, &creating_dir, "the abandoned tablet dropped from the BE").await;
    assert!(known.iter().all(|id| on_be(&be, *id)), "a tablet of a table was dropped");
    assert_eq!(Sql::new(fe.executor()).rows("SHOW TABLETS FROM d.t").await.rows.len(), 2);

    fe.shutdown().await;
    be.shutdown().await;
}

/// A MAKE_SNAPSHOT task of `tablet` (of `t`) at version 1.
fn snapshot_task(t: &OlapTable, tablet: i64, signature: i64) -> TAgentTaskRequest {
    // A long timeout: the BE's own expiry must not be what removes it.
    let task = TaskBody::MakeSnapshot(TSnapshotRequest::new(
        tablet, t.schema_hash, 1i64, None, 3600i64, None, true, None, None, None, None, None, None, None,
    )).into_request(signature);
    task
}

/// MAKE_SNAPSHOT of `tablet` at version 1, waited for; its finishTask.
async fn snapshot(fe: &FeHandle, be: &BeHandle, t: &OlapTable, tablet: i64) -> TFinishTaskRequest {
    let be_id = fe.ctx.backends.all()[0].id;
    let task = snapshot_task(t, tablet, fe.ctx.store.next_id().unwrap());
    let done = fe
        .tasks
        .run(vec![AgentTask { backend_id: be_id, addr: be.addrs.be.to_string(), request: task }], Duration::from_secs(60))
        .await
        .unwrap();
    let fin = done.into_iter().next().unwrap().1;
    assert!(Path::new(fin.snapshot_path.as_deref().unwrap()).is_dir(), "{fin:?}");
    *fin
}

fn path_of(fin: &TFinishTaskRequest) -> PathBuf {
    PathBuf::from(fin.snapshot_path.clone().unwrap())
}

async fn wait_released(path: &Path, what: &str) {
    wait_until(60, what, || !path.exists()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_nobody_waits_for_are_released_and_claimed_ones_kept() {
    let meta = tempfile::tempdir().unwrap();
    let storage = tempfile::tempdir().unwrap();
    let (fe, be) = cluster(meta.path(), storage.path(), 18102).await;
    let t = table(&fe).await;
    let tablet = t.tablets().next().unwrap().1.id;
    let be_id = fe.ctx.backends.all()[0].id;

    // 1. A duplicate finishTask of an answer its waiter got: its run's caller may keep the
    //    snapshot, so it stays although no job records it.
    let kept = snapshot(&fe, &be, &t, tablet).await;
    assert_eq!(reports::finish_task(&fe.reports, kept.clone()).unwrap(), Finished::NoWaiter);

    // 2. A snapshot a job records (a local backup keeps its snapshots for CCR), answered
    //    again under a signature this FE never waited for (the FE that did has restarted).
    Sql::new(fe.executor()).run("BACKUP SNAPSHOT d.snap TO __keep_on_local__ ON (t)").await;
    wait_backup(&fe, "d", "snap", "FINISHED").await;
    // A finished local backup hands its snapshots to the local snapshot it published.
    let recorded = fe.backup.jobs.local_snapshot("snap").unwrap().snapshots[0].clone();
    let mut again = kept.clone();
    again.signature = fe.ctx.store.next_id().unwrap();
    again.snapshot_path = Some(recorded.path.clone());
    assert_eq!(reports::finish_task(&fe.reports, again).unwrap(), Finished::NoWaiter);

    // 3. The FE restarted while the BE made it: the answer arrives, over the wire, under a
    //    signature nobody here waits for nor ever did.
    let restarted = snapshot(&fe, &be, &t, tablet).await;
    let mut late = restarted.clone();
    late.signature = fe.ctx.store.next_id().unwrap();
    let client = fe_client(&fe, &ClientPool::new());
    let r = client.finish_task(&late).await.unwrap();
    assert_eq!(r.status.status_code, TStatusCode::OK);
    wait_released(&path_of(&restarted), "the unwaited snapshot released").await;

    // 4. Its job stopped waiting (cancelled): the waiter is gone when the answer arrives.
    let cancelled = snapshot(&fe, &be, &t, tablet).await;
    let sig = fe.ctx.store.next_id().unwrap();
    let task = snapshot_task(&t, tablet, sig);
    // Sent to a backend that never answers, so the answer comes only when we send it.
    let silent = silent_be().await;
    let agent_tasks = fe.tasks.clone();
    let tasks = vec![AgentTask { backend_id: be_id, addr: silent.local_addr().to_string(), request: task }];
    let waiting = tokio::spawn(async move { agent_tasks.run(tasks, Duration::from_secs(3600)).await });
    wait_until(30, "the MAKE_SNAPSHOT waited for", || {
        fe.tasks.is_pending(be_id, TTaskType::MAKE_SNAPSHOT, sig)
    })
    .await;
    waiting.abort();
    assert!(waiting.await.unwrap_err().is_cancelled());
    let mut answer = cancelled.clone();
    answer.signature = sig;
    assert_eq!(
        reports::finish_task(&fe.reports, answer).unwrap(),
        Finished::UnclaimedSnapshot { path: cancelled.snapshot_path.clone().unwrap() }
    );
    wait_released(&path_of(&cancelled), "the cancelled job's snapshot released").await;

    // The claimed ones are still there (no RELEASE was ever sent for them).
    assert!(path_of(&kept).is_dir());
    assert!(Path::new(&recorded.path).is_dir());
    assert_eq!(fe.tasks.pending_count(), 0);

    fe.shutdown().await;
    be.shutdown().await;
}

/// A run that fails still hands back what its other tasks made, so a job can record those
/// snapshots and its cancel release them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_run_hands_back_the_snapshots_that_were_made() {
    let meta = tempfile::tempdir().unwrap();
    let storage = tempfile::tempdir().unwrap();
    let (fe, be) = cluster(meta.path(), storage.path(), 18103).await;
    let t = table(&fe).await;
    let tablet = t.tablets().next().unwrap().1.id;
    let be_id = fe.ctx.backends.all()[0].id;
    let addr = be.addrs.be.to_string();
    let made = fe.ctx.store.next_id().unwrap();
    let fails = fe.ctx.store.next_id().unwrap();
    // The good task is waited for first, so its answer is in hand when the bad one fails.
    let tasks = vec![
        AgentTask { backend_id: be_id, addr: addr.clone(), request: snapshot_task(&t, tablet, made) },
        AgentTask { backend_id: be_id, addr, request: snapshot_task(&t, 987_654_321, fails) },
    ];
    let (done, outcome) = fe.tasks.run_keeping(tasks, Duration::from_secs(60)).await;
    match outcome {
        Err(TaskError::Failed { signature, task_type, .. }) => {
            assert_eq!((signature, task_type), (fails, TTaskType::MAKE_SNAPSHOT));
        }
        other => panic!("expected the missing tablet's snapshot to fail the run, got {other:?}"),
    }
    assert_eq!(done.len(), 1, "{done:?}");
    let (from, fin) = &done[0];
    assert_eq!((*from, fin.signature), (be_id, made));
    assert!(path_of(fin).is_dir(), "the snapshot handed back is on the BE: {fin:?}");
}
