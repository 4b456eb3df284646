//! Agent tasks on one in-process BE: CREATE, de-duplication, DROP, PUBLISH_VERSION,
//! PUSH_COOLDOWN_CONF and the synchronous BackendService calls, with a recording FE.

mod agent_support;

use std::sync::atomic::Ordering;

use agent_support::*;
use doris_be::agent;
use doris_thrift::agent_service::{TCondition, TDropTabletReq, TPartitionVersionInfo, TPublishVersionRequest, TPushReq};
use doris_thrift::status::TStatusCode;
use doris_thrift::types::TTaskType;

async fn be_with_master(fe: &TestFe, root: &std::path::Path) -> agent::BeHandle {
    let be = agent::start(be_config(root)).await.unwrap();
    let r = heartbeat(&be, &master_info(fe.port(), 11, 1, "tok", 501)).await;
    assert_eq!(r.status.status_code, TStatusCode::OK);
    be
}

#[tokio::test]
async fn create_sends_finish_task_with_the_tablet_info() {
    let fe = TestFe::start().await;
    let root = tempfile::tempdir().unwrap();
    let be = be_with_master(&fe, root.path()).await;
    let v0 = be.agent.report_version();

    let r = submit(&be, vec![create_task(10, 1001)]).await;
    assert_eq!(r.status.status_code, TStatusCode::OK);
    let f = fe.wait_finish(TTaskType::CREATE, 10).await;
    assert_eq!(f.task_status.status_code, TStatusCode::OK, "{}", status_text(&f.task_status));
    assert_eq!(f.backend.host, "127.0.0.1");
    assert_eq!(f.backend.be_port, be.addrs.be.port() as i32);
    assert_eq!(f.backend.id, Some(501));
    let infos = f.finish_tablet_infos.unwrap();
    assert_eq!(infos.len(), 1);
    assert_eq!(infos[0].tablet_id, 1001);
    assert_eq!(infos[0].schema_hash, SCHEMA_HASH);
    assert_eq!(infos[0].version, 1);
    assert_eq!(infos[0].replica_id, Some(1001 + 1_000_000));
    assert!(infos[0].path_hash.is_some());
    assert!(f.report_version.unwrap() > v0, "a new tablet bumps the report version");
    let meta = be.ctx.storage.tablet_meta(1001).unwrap();
    assert_eq!(meta.schema_hash, SCHEMA_HASH);
    assert!(be.ctx.storage.tablet_dir(1001).unwrap().is_dir());

    // A bad request fails in the finishTask, with the status code of the error.
    let r = submit(&be, vec![create_task(11, 0)]).await;
    assert_eq!(r.status.status_code, TStatusCode::OK);
    let f = fe.wait_finish(TTaskType::CREATE, 11).await;
    assert_eq!(f.task_status.status_code, TStatusCode::INVALID_ARGUMENT, "{}", status_text(&f.task_status));
    assert_eq!(f.finish_tablet_infos, Some(vec![]));
    assert_eq!(be.ctx.metrics.task_count("CREATE", "failed"), 1);
    assert_eq!(be.ctx.metrics.task_count("CREATE", "succeeded"), 1);
    be.shutdown().await;
}

#[tokio::test]
async fn a_signature_in_flight_runs_once_and_shows_in_the_task_report() {
    let fe = TestFe::start().await;
    let root = tempfile::tempdir().unwrap();
    let repo = tempfile::tempdir().unwrap();
    let be = be_with_master(&fe, root.path()).await;
    let location = format!("file://{}", repo.path().display());

    // This DOWNLOAD asks the FE about its job first; the FE holds the answer, so the task
    // stays in flight while it is sent again.
    fe.rec.hold_loads.send_replace(true);
    let t = repo_download_task(50, 7, &location, &[]);
    assert_eq!(submit(&be, vec![t.clone(), t.clone()]).await.status.status_code, TStatusCode::OK);
    wait_for("the task to start", || async { (!fe.rec.loader_reports.lock().unwrap().is_empty()).then_some(()) }).await;
    assert_eq!(submit(&be, vec![t.clone()]).await.status.status_code, TStatusCode::OK);
    let held = fe
        .wait_report("a task report holding DOWNLOAD 50", |r| {
            r.tasks.as_ref().is_some_and(|m| m.get(&TTaskType::DOWNLOAD).is_some_and(|s| s.contains(&50)))
        })
        .await;
    assert_eq!(held.backend.id, Some(501));

    fe.rec.hold_loads.send_replace(false);
    let f = fe.wait_finish(TTaskType::DOWNLOAD, 50).await;
    assert_eq!(f.task_status.status_code, TStatusCode::OK, "{}", status_text(&f.task_status));
    assert_eq!(f.downloaded_tablet_ids, Some(vec![]));
    wait_for("the signature to be released", || async { (!be.agent.registry.contains(TTaskType::DOWNLOAD, 50)).then_some(()) }).await;
    assert_eq!(be.ctx.metrics.task_count("DOWNLOAD", "received"), 1, "the duplicates were not queued");
    assert_eq!(fe.finished_for(TTaskType::DOWNLOAD, 50).len(), 1);
    assert_eq!(fe.rec.loader_reports.lock().unwrap().len(), 1);
    let lr = fe.rec.loader_reports.lock().unwrap()[0].clone();
    assert_eq!((lr.job_id, lr.task_id, lr.task_type), (7, 50, TTaskType::DOWNLOAD));

    // Once finished, the same signature is a new task.
    assert_eq!(submit(&be, vec![t]).await.status.status_code, TStatusCode::OK);
    wait_for("a second finishTask", || async { (fe.finished_for(TTaskType::DOWNLOAD, 50).len() == 2).then_some(()) }).await;
    be.shutdown().await;
}

#[tokio::test]
async fn a_cancelled_job_stops_its_task_with_cancelled() {
    let fe = TestFe::start().await;
    let root = tempfile::tempdir().unwrap();
    let repo = tempfile::tempdir().unwrap();
    let be = be_with_master(&fe, root.path()).await;
    fe.rec.cancel_loads.store(true, Ordering::SeqCst);
    let t = repo_download_task(60, 8, &format!("file://{}", repo.path().display()), &[]);
    submit(&be, vec![t]).await;
    let f = fe.wait_finish(TTaskType::DOWNLOAD, 60).await;
    assert_eq!(f.task_status.status_code, TStatusCode::CANCELLED, "{}", status_text(&f.task_status));
    be.shutdown().await;
}

#[tokio::test]
async fn drop_stat_and_synchronous_snapshots() {
    let fe = TestFe::start().await;
    let root = tempfile::tempdir().unwrap();
    let be = be_with_master(&fe, root.path()).await;
    submit(&be, vec![create_task(20, 2001), create_task(21, 2002)]).await;
    fe.wait_finish(TTaskType::CREATE, 20).await;
    fe.wait_finish(TTaskType::CREATE, 21).await;
    add_random_rowset(&be, 2001, 1, 4096, 33);

    let client = backend_client(&be);
    let stat = client.get_tablet_stat().await.unwrap();
    assert_eq!(stat.tablets_stats.len(), 2);
    let s = &stat.tablets_stats[&2001];
    assert_eq!((s.row_count, s.data_size, s.visible_version), (Some(33), Some(4096), Some(2)));
    assert_eq!(stat.tablet_stat_list.unwrap().len(), 2);

    let r = client.make_snapshot(&snapshot_req(2001, false)).await.unwrap();
    assert_eq!(r.status.status_code, TStatusCode::OK, "{}", status_text(&r.status));
    assert_eq!(r.snapshot_version, Some(2));
    let path = std::path::PathBuf::from(r.snapshot_path.unwrap());
    assert!(path.join("2001").join(SCHEMA_HASH.to_string()).join("2001.hdr").is_file());
    let r = client.release_snapshot(&path.display().to_string()).await.unwrap();
    assert_eq!(r.status.status_code, TStatusCode::OK, "{}", status_text(&r.status));
    assert!(!path.exists());
    // Outside the snapshot dirs: refused, nothing removed.
    let r = client.release_snapshot(&root.path().join("data").display().to_string()).await.unwrap();
    assert_ne!(r.status.status_code, TStatusCode::OK);
    assert!(root.path().join("data").exists());
    let r = client.make_snapshot(&snapshot_req(999_999, false)).await.unwrap();
    assert_ne!(r.status.status_code, TStatusCode::OK);

    let drop = task(TaskBody::Drop(TDropTabletReq::new(2002, SCHEMA_HASH, None, None)), 22);
    submit(&be, vec![drop]).await;
    let f = fe.wait_finish(TTaskType::DROP, 22).await;
    assert_eq!(f.task_status.status_code, TStatusCode::OK, "{}", status_text(&f.task_status));
    assert!(be.ctx.storage.tablet_meta(2002).is_none());
    be.shutdown().await;
}

#[tokio::test]
async fn publish_version_makes_pending_rowsets_visible() {
    let fe = TestFe::start().await;
    let root = tempfile::tempdir().unwrap();
    let be = be_with_master(&fe, root.path()).await;
    submit(&be, vec![create_task(30, 3001), create_task(31, 3002)]).await;
    fe.wait_finish(TTaskType::CREATE, 30).await;
    fe.wait_finish(TTaskType::CREATE, 31).await;
    // Partition 200 (create_req's) gets txn 900 on both tablets.
    for tablet in [3001, 3002] {
        let dir = be.ctx.storage.tablet_dir(tablet).unwrap();
        let rowset_id = be.ctx.storage.next_rowset_id();
        std::fs::write(dir.join(format!("{rowset_id}_0.dat")), random_bytes(100)).unwrap();
        let rs = doris_be::storage::RowsetMeta {
            rowset_id,
            start_version: 0,
            end_version: 0,
            num_segments: 1,
            num_rows: 5,
            data_size: 100,
            txn_id: Some(900),
            remote: false,
            creation_time_s: 0,
            delete_predicate: None,
        };
        be.ctx.storage.add_pending_rowset(tablet, 900, 200, rs).unwrap();
    }
    let publish = |sig: i64, version: i64| {
        let req = TPublishVersionRequest::new(900, vec![TPartitionVersionInfo::new(200, version, 0)], None, None);
        task(TaskBody::PublishVersion(req), sig)
    };
    // Version 3 does not follow version 1: both tablets fail.
    submit(&be, vec![publish(40, 3)]).await;
    let f = fe.wait_finish(TTaskType::PUBLISH_VERSION, 40).await;
    assert_ne!(f.task_status.status_code, TStatusCode::OK);
    assert_eq!(f.error_tablet_ids, Some(vec![3001, 3002]));
    assert_eq!(f.succ_tablets, Some(Default::default()));

    submit(&be, vec![publish(41, 2)]).await;
    let f = fe.wait_finish(TTaskType::PUBLISH_VERSION, 41).await;
    assert_eq!(f.task_status.status_code, TStatusCode::OK, "{}", status_text(&f.task_status));
    assert_eq!(f.error_tablet_ids, Some(vec![]));
    assert_eq!(f.succ_tablets, Some([(3001, 2), (3002, 2)].into_iter().collect()));
    assert!(f.report_version.is_some());
    // Rows gained per table and tablet, as upstream's publish reports them.
    let mut delta: std::collections::BTreeMap<i64, std::collections::BTreeMap<i64, i64>> = Default::default();
    for tablet in [3001, 3002] {
        delta.entry(be.ctx.storage.tablet_meta(tablet).unwrap().table_id).or_default().insert(tablet, 5);
    }
    assert_eq!(f.table_id_to_tablet_id_to_delta_num_rows, Some(delta));
    for tablet in [3001, 3002] {
        let m = be.ctx.storage.tablet_meta(tablet).unwrap();
        assert_eq!((m.max_version(), m.num_rows()), (2, 5));
        assert!(m.pending.is_empty());
    }
    be.shutdown().await;
}

#[tokio::test]
async fn cooldown_conf_applies_only_newer_terms_survives_restart_and_is_reported() {
    let fe = TestFe::start().await;
    let root = tempfile::tempdir().unwrap();
    let be = be_with_master(&fe, root.path()).await;
    submit(&be, vec![create_task(70, 7001)]).await;
    fe.wait_finish(TTaskType::CREATE, 70).await;
    let ctx = be.ctx.clone();
    let applied = move |n: u64| {
        let ctx = ctx.clone();
        async move { (ctx.metrics.task_count("PUSH_COOLDOWN_CONF", "succeeded") >= n).then_some(()) }
    };

    submit(&be, vec![cooldown_task(-1, &[(7001, 555, 3), (424242, 1, 9)])]).await;
    wait_for("the first conf", || applied(1)).await;
    let c = be.ctx.storage.tablet_meta(7001).unwrap().cooldown;
    assert_eq!((c.cooldown_replica_id, c.cooldown_term), (555, 3));

    // Same signature is not de-duplicated for this type; lower and equal terms are ignored.
    submit(&be, vec![cooldown_task(-1, &[(7001, 666, 2)]), cooldown_task(-1, &[(7001, 777, 3)])]).await;
    wait_for("the stale confs", || applied(3)).await;
    let c = be.ctx.storage.tablet_meta(7001).unwrap().cooldown;
    assert_eq!((c.cooldown_replica_id, c.cooldown_term), (555, 3));

    submit(&be, vec![cooldown_task(-1, &[(7001, 888, 5)])]).await;
    wait_for("the newer conf", || applied(4)).await;
    let c = be.ctx.storage.tablet_meta(7001).unwrap().cooldown;
    assert_eq!((c.cooldown_replica_id, c.cooldown_term), (888, 5));
    let rep = fe
        .wait_report("a tablet report with term 5", |r| {
            r.tablets.as_ref().and_then(|t| t.get(&7001)).is_some_and(|t| t.tablet_infos[0].cooldown_term == Some(5))
        })
        .await;
    assert_eq!(rep.tablets.unwrap()[&7001].tablet_infos[0].replica_id, Some(7001 + 1_000_000));
    assert!(fe.rec.finished.lock().unwrap().iter().all(|f| f.task_type != TTaskType::PUSH_COOLDOWN_CONF), "no finishTask for cooldown confs");
    // The storage must be released for the restart.
    drop(applied);
    be.shutdown().await;

    let fe2 = TestFe::start().await;
    let be = be_with_master(&fe2, root.path()).await;
    let c = be.ctx.storage.tablet_meta(7001).unwrap().cooldown;
    assert_eq!((c.cooldown_replica_id, c.cooldown_term), (888, 5));
    fe2.wait_report("a tablet report after restart with term 5", |r| {
        r.tablets.as_ref().and_then(|t| t.get(&7001)).is_some_and(|t| t.tablet_infos[0].cooldown_term == Some(5))
    })
    .await;
    be.shutdown().await;
}

#[tokio::test]
async fn shutdown_drains_running_tasks_and_heartbeats_say_so() {
    let fe = TestFe::start().await;
    let root = tempfile::tempdir().unwrap();
    let repo = tempfile::tempdir().unwrap();
    let be = be_with_master(&fe, root.path()).await;
    let hb_addr = be.addrs.heartbeat;
    let be_addr = be.addrs.be;

    fe.rec.hold_loads.send_replace(true);
    submit(&be, vec![repo_download_task(80, 9, &format!("file://{}", repo.path().display()), &[])]).await;
    wait_for("the task to start", || async { (!fe.rec.loader_reports.lock().unwrap().is_empty()).then_some(()) }).await;

    let agent = be.agent.clone();
    let stopping = tokio::spawn(be.shutdown());
    wait_for("the shutdown to begin", || async { agent.shutting_down.load(Ordering::SeqCst).then_some(()) }).await;
    // The agent port is closed first: no new task gets in.
    let pool = doris_thrift::transport::ClientPool::new();
    let c = doris_thrift::services::BackendServiceClient::new(pool.channel(be_addr.to_string(), Default::default()));
    wait_for("the agent port to close", || async { c.submit_tasks(&vec![create_task(81, 8001)]).await.is_err().then_some(()) }).await;
    // Heartbeats still answer while the running task drains, and say the BE is stopping.
    let hb = doris_thrift::services::HeartbeatServiceClient::new(pool.channel(hb_addr.to_string(), Default::default()));
    let r = hb.heartbeat(&master_info(fe.port(), 11, 1, "tok", 501)).await.unwrap();
    assert_eq!(r.backend_info.is_shutdown, Some(true));
    assert!(!stopping.is_finished());

    fe.rec.hold_loads.send_replace(false);
    stopping.await.unwrap();
    let f = fe.wait_finish(TTaskType::DOWNLOAD, 80).await;
    assert_eq!(f.task_status.status_code, TStatusCode::OK, "the running task finished before the BE stopped");
    assert!(fe.finished_for(TTaskType::CREATE, 81).is_empty());
}

/// REALTIME_PUSH of push type DELETE: the conditions become the transaction's pending
/// rowset (no segments, the predicate in its meta), finishTask as upstream's push fills it;
/// PUBLISH_VERSION makes it visible. Other push types and unknown columns are refused.
#[tokio::test]
async fn a_delete_push_keeps_its_predicate_as_a_pending_rowset() {
    let fe = TestFe::start().await;
    let root = tempfile::tempdir().unwrap();
    let be = be_with_master(&fe, root.path()).await;
    submit(&be, vec![create_task(50, 5001)]).await;
    fe.wait_finish(TTaskType::CREATE, 50).await;
    let partition = be.ctx.storage.tablet_meta(5001).unwrap().partition_id;
    let push = |sig: i64, push_type: doris_thrift::types::TPushType, column: &str| {
        let cond = TCondition::new(column.to_string(), "*=".to_string(), vec!["1".to_string(), "2".to_string()]);
        let req = TPushReq {
            tablet_id: 5001,
            schema_hash: 11,
            version: -1,
            version_hash: 0,
            timeout: 60,
            push_type,
            delete_conditions: Some(vec![cond]),
            need_decompress: Some(true),
            transaction_id: Some(910),
            partition_id: Some(partition),
            is_schema_changing: Some(false),
            columns_desc: None,
        };
        task(TaskBody::RealtimePush(req), sig)
    };
    submit(&be, vec![push(51, doris_thrift::types::TPushType::DELETE, "k1")]).await;
    let f = fe.wait_finish(TTaskType::REALTIME_PUSH, 51).await;
    assert_eq!(f.task_status.status_code, TStatusCode::OK, "{}", status_text(&f.task_status));
    assert_eq!(f.request_version, Some(-1));
    assert_eq!(f.finish_tablet_infos.as_ref().map(|v| v[0].tablet_id), Some(5001));
    assert!(f.report_version.is_some());
    let m = be.ctx.storage.tablet_meta(5001).unwrap();
    let pending = &m.pending[0];
    assert_eq!((pending.txn_id, pending.rowset.num_segments), (910, 0));
    let pred = pending.rowset.delete_predicate.clone().unwrap();
    assert_eq!((pred[0].column.as_str(), pred[0].op.as_str(), pred[0].values.clone()), ("k1", "*=", vec!["1".to_string(), "2".to_string()]));
    // Sent again (the FE resends what a report does not list): still one pending rowset.
    submit(&be, vec![push(52, doris_thrift::types::TPushType::DELETE, "k1")]).await;
    assert_eq!(fe.wait_finish(TTaskType::REALTIME_PUSH, 52).await.task_status.status_code, TStatusCode::OK);
    assert_eq!(be.ctx.storage.tablet_meta(5001).unwrap().pending.len(), 1);

    let publish = TPublishVersionRequest::new(910, vec![TPartitionVersionInfo::new(partition, 2, 0)], None, None);
    submit(&be, vec![task(TaskBody::PublishVersion(publish), 53)]).await;
    assert_eq!(fe.wait_finish(TTaskType::PUBLISH_VERSION, 53).await.task_status.status_code, TStatusCode::OK);
    let m = be.ctx.storage.tablet_meta(5001).unwrap();
    assert_eq!(m.max_version(), 2);
    assert!(m.rowsets.iter().any(|r| r.end_version == 2 && r.delete_predicate.is_some()));

    submit(&be, vec![push(54, doris_thrift::types::TPushType::LOAD_V2, "k1")]).await;
    let f = fe.wait_finish(TTaskType::REALTIME_PUSH, 54).await;
    assert_ne!(f.task_status.status_code, TStatusCode::OK);
    assert!(f.finish_tablet_infos.is_none(), "no tablet info for a failed push");
    submit(&be, vec![push(55, doris_thrift::types::TPushType::DELETE, "nope")]).await;
    let f = fe.wait_finish(TTaskType::REALTIME_PUSH, 55).await;
    assert!(status_text(&f.task_status).contains("column nope"), "{}", status_text(&f.task_status));
    be.shutdown().await;
}
