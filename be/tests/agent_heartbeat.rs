//! Heartbeats and submit_tasks intake against a BE running in-process on real sockets.

mod agent_support;

use agent_support::*;
use doris_be::agent;
use doris_thrift::status::TStatusCode;
use doris_thrift::types::TTaskType;

#[tokio::test]
async fn heartbeat_adopts_the_master_and_refuses_other_clusters_and_older_epochs() {
    let fe = TestFe::start().await;
    let root = tempfile::tempdir().unwrap();
    let be = agent::start(be_config(root.path())).await.unwrap();
    let before = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;

    let r = heartbeat(&be, &master_info(fe.port(), 4242, 5, "tok-1", 10001)).await;
    assert_eq!(r.status.status_code, TStatusCode::OK, "{}", status_text(&r.status));
    let info = &r.backend_info;
    assert_eq!(info.be_port, be.addrs.be.port() as i32);
    assert_eq!(info.http_port, be.addrs.http.port() as i32);
    assert_eq!(info.be_rpc_port, Some(-1));
    assert_eq!(info.brpc_port, Some(18060));
    assert_eq!(info.version.as_deref(), Some(concat!("doris-rs-", env!("CARGO_PKG_VERSION"))));
    assert_eq!(info.be_node_role.as_deref(), Some("mix"));
    assert_eq!(info.is_shutdown, Some(false));
    let start = info.be_start_time.unwrap();
    assert!(start > 1_600_000_000_000 && start <= before + 1000, "be_start_time {start} is not ms since the epoch");

    let m = be.ctx.master();
    assert_eq!(m.cluster_id, 4242);
    assert_eq!(m.epoch, 5);
    assert_eq!(m.token, "tok-1");
    assert_eq!(m.fe_addr.as_ref().map(|a| (a.hostname.as_str(), a.port)), Some(("127.0.0.1", fe.port())));
    assert_eq!(m.fe_http_port, Some(8030));
    assert_eq!(m.backend_id, Some(10001));
    assert_eq!(m.backend_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(be.ctx.storage.cluster_id(), Some(4242));

    // Another cluster: refused with upstream's code and text, nothing adopted.
    let r = heartbeat(&be, &master_info(fe.port(), 777, 9, "tok-1", 10001)).await;
    assert_eq!(r.status.status_code, TStatusCode::INTERNAL_ERROR);
    assert!(status_text(&r.status).starts_with("invalid cluster id. ignore."), "{}", status_text(&r.status));
    assert!(status_text(&r.status).contains("777"), "{}", status_text(&r.status));
    assert_eq!(be.ctx.master().epoch, 5);

    // A lower epoch: an old master still heartbeating.
    let r = heartbeat(&be, &master_info(fe.port(), 4242, 4, "tok-1", 10001)).await;
    assert_eq!(r.status.status_code, TStatusCode::INTERNAL_ERROR);
    assert!(status_text(&r.status).starts_with("epoch is not greater than local. ignore heartbeat."), "{}", status_text(&r.status));
    assert_eq!(be.ctx.master().epoch, 5);

    // Another master with the same epoch is refused too; with a higher one it takes over.
    let mut other = master_info(fe.port() + 1, 4242, 5, "tok-1", 10001);
    let r = heartbeat(&be, &other).await;
    assert_eq!(r.status.status_code, TStatusCode::INTERNAL_ERROR);
    other.epoch = 6;
    let r = heartbeat(&be, &other).await;
    assert_eq!(r.status.status_code, TStatusCode::OK);
    assert_eq!(be.ctx.master().fe_addr.unwrap().port, fe.port() + 1);

    // A different token is refused (values stay out of the message).
    let r = heartbeat(&be, &master_info(fe.port() + 1, 4242, 6, "tok-2", 10001)).await;
    assert_eq!(r.status.status_code, TStatusCode::INTERNAL_ERROR);
    assert!(!status_text(&r.status).contains("tok-"), "{}", status_text(&r.status));
    assert_eq!(be.ctx.token(), "tok-1");
    be.shutdown().await;
}

#[tokio::test]
async fn the_cluster_id_survives_a_restart() {
    let fe = TestFe::start().await;
    let root = tempfile::tempdir().unwrap();
    let be = agent::start(be_config(root.path())).await.unwrap();
    assert_eq!(heartbeat(&be, &master_info(fe.port(), 31, 1, "t", 1)).await.status.status_code, TStatusCode::OK);
    be.shutdown().await;

    let be = agent::start(be_config(root.path())).await.unwrap();
    assert_eq!(be.ctx.master().cluster_id, 31, "the recorded cluster id is loaded at start-up");
    let r = heartbeat(&be, &master_info(fe.port(), 32, 1, "t", 1)).await;
    assert_eq!(r.status.status_code, TStatusCode::INTERNAL_ERROR, "{}", status_text(&r.status));
    assert!(status_text(&r.status).contains("Record cluster id =31"), "{}", status_text(&r.status));
    assert_eq!(heartbeat(&be, &master_info(fe.port(), 31, 1, "t", 1)).await.status.status_code, TStatusCode::OK);
    be.shutdown().await;
}

#[tokio::test]
async fn submit_tasks_refuses_before_a_heartbeat_and_names_what_is_wrong() {
    let fe = TestFe::start().await;
    let root = tempfile::tempdir().unwrap();
    let be = agent::start(be_config(root.path())).await.unwrap();

    let r = submit(&be, vec![create_task(1, 5001)]).await;
    assert_eq!(r.status.status_code, TStatusCode::CANCELLED);
    assert!(status_text(&r.status).contains("Have not get FE Master heartbeat yet"), "{}", status_text(&r.status));
    assert!(be.ctx.storage.tablet_meta(5001).is_none());

    heartbeat(&be, &master_info(fe.port(), 1, 1, "t", 1)).await;
    // A CREATE without its request member, an unsupported type, and a good task in one batch.
    let bad = bare_task(TTaskType::CREATE, 2);
    let unsupported = bare_task(TTaskType::ALTER, 3);
    let r = submit(&be, vec![bad, unsupported, create_task(4, 5004)]).await;
    assert_eq!(r.status.status_code, TStatusCode::INVALID_ARGUMENT);
    let text = status_text(&r.status);
    assert!(text.contains("task(signature=2) has wrong request member = create_tablet_req"), "{text}");
    assert!(text.contains("task(signature=3, type=ALTER) has wrong task type"), "{text}");
    // The good one still ran; the refused ones produced no finishTask.
    let f = fe.wait_finish(TTaskType::CREATE, 4).await;
    assert_eq!(f.task_status.status_code, TStatusCode::OK);
    assert!(fe.finished_for(TTaskType::CREATE, 2).is_empty());
    be.shutdown().await;
}

#[tokio::test]
async fn reports_wait_for_the_first_heartbeat_then_carry_tasks_tablets_and_disks() {
    let fe = TestFe::start().await;
    let root = tempfile::tempdir().unwrap();
    let be = agent::start(be_config(root.path())).await.unwrap();
    // The tablet created directly in storage is what the first tablet report will show.
    be.ctx.storage.create_tablet(&create_req(6001, 7)).unwrap();
    // Every report loop goes round twice without a master: nothing may be sent.
    let rounds = &be.agent.report_rounds;
    wait_for("six report rounds", || async { (rounds.load(std::sync::atomic::Ordering::SeqCst) >= 6).then_some(()) }).await;
    assert_eq!(fe.rec.reports.lock().unwrap().len(), 0, "nothing is reported before the first heartbeat");

    heartbeat(&be, &master_info(fe.port(), 1, 1, "t", 99)).await;
    let tablets = fe.wait_report("a tablet report", |r| r.tablets.is_some()).await;
    assert_eq!(tablets.backend.host, "127.0.0.1");
    assert_eq!(tablets.backend.be_port, be.addrs.be.port() as i32);
    assert_eq!(tablets.backend.http_port, be.addrs.http.port() as i32);
    assert_eq!(tablets.backend.brpc_port, Some(18060));
    assert_eq!(tablets.backend.id, Some(99));
    assert!(tablets.report_version.is_some());
    let t = &tablets.tablets.as_ref().unwrap()[&6001];
    assert_eq!(t.tablet_infos[0].tablet_id, 6001);
    assert_eq!(t.tablet_infos[0].version, 1);
    assert_eq!(tablets.tablet_list.as_ref().unwrap().len(), 1);

    let disks = fe.wait_report("a disk report", |r| r.disks.is_some()).await;
    let disks = disks.disks.unwrap();
    assert_eq!(disks.len(), 1);
    let d = disks.values().next().unwrap();
    assert!(d.disk_total_capacity > 0);

    let tasks = fe.wait_report("a task report", |r| r.tasks.is_some()).await;
    assert!(tasks.tasks.unwrap().values().all(|s| s.is_empty()), "no task is held");
    be.shutdown().await;
}
