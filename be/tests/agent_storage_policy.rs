//! PUSH_STORAGE_POLICY on one in-process BE: policies and resources are adopted by
//! version, dropped ones forgotten, invalid entries refused, the tablet report carries
//! (id, version) pairs, a tablet resolves its policy, and all of it survives a restart.

mod agent_support;

use agent_support::*;
use doris_be::agent;
use doris_be::storage::ResourceKind;
use doris_thrift::agent_service::{
    TAgentTaskRequest, TObjStorageType, TPushStoragePolicyReq, TS3StorageParam, TStoragePolicy, TStorageResource,
};
use doris_thrift::master_service::TReportRequest;
use doris_thrift::plan_nodes::THdfsParams;
use doris_thrift::status::TStatusCode;
use doris_thrift::types::TTaskType;

async fn be_with_master(fe: &TestFe, root: &std::path::Path) -> agent::BeHandle {
    let be = agent::start(be_config(root)).await.unwrap();
    let r = heartbeat(&be, &master_info(fe.port(), 12, 1, "tok", 601)).await;
    assert_eq!(r.status.status_code, TStatusCode::OK);
    be
}

fn s3_resource(id: i64, version: i64, bucket: Option<&str>) -> Box<TStorageResource> {
    Box::new(TStorageResource::new(
        id,
        format!("remote_s3_{id}"),
        version,
        TS3StorageParam::new(
            "http://127.0.0.1:9000".to_string(),
            "us-east-1".to_string(),
            "AKIDEXAMPLE".to_string(),
            "secret".to_string(),
            None::<i32>,
            None::<i32>,
            None::<i32>,
            "cold_data".to_string(),
            bucket.map(str::to_string),
            true,
            None::<String>,
            TObjStorageType::AWS,
        ),
        None::<THdfsParams>,
    ))
}

fn policy(id: i64, version: i64, resource_id: i64, ttl: i64) -> Box<TStoragePolicy> {
    Box::new(TStoragePolicy::new(id, format!("policy_{id}"), version, None::<i64>, ttl, resource_id))
}

#[allow(clippy::vec_box)] // the generated request's field types
fn push_task(policies: Vec<Box<TStoragePolicy>>, resources: Vec<Box<TStorageResource>>, dropped: Vec<i64>) -> TAgentTaskRequest {
    let req = TPushStoragePolicyReq {
        storage_policy: Some(policies),
        resource: Some(resources),
        dropped_storage_policy: Some(dropped),
    };
    task(TaskBody::PushStoragePolicy(req), -1)
}

async fn pushes_done(be: &agent::BeHandle, n: u64) {
    let ctx = be.ctx.clone();
    wait_for(&format!("{n} storage policy pushes"), || {
        let ctx = ctx.clone();
        async move { (ctx.metrics.task_count("PUSH_STORAGE_POLICY", "succeeded") >= n).then_some(()) }
    })
    .await;
}

#[allow(clippy::type_complexity)]
fn reported(r: &TReportRequest) -> Option<(Vec<(i64, i64)>, Vec<(i64, i64)>)> {
    let p = r.storage_policy.as_ref()?.iter().map(|p| (p.id.unwrap_or(-1), p.version.unwrap_or(-1))).collect();
    let res = r.resource.as_ref()?.iter().map(|p| (p.id.unwrap_or(-1), p.version.unwrap_or(-1))).collect();
    Some((p, res))
}

#[tokio::test]
async fn storage_policies_are_adopted_by_version_reported_resolved_and_kept_across_restart() {
    let fe = TestFe::start().await;
    let root = tempfile::tempdir().unwrap();
    let be = be_with_master(&fe, root.path()).await;
    let mut create = create_task(80, 8001);
    create.create_tablet_req.as_mut().unwrap().storage_policy_id = Some(3);
    submit(&be, vec![create]).await;
    fe.wait_finish(TTaskType::CREATE, 80).await;
    let e = be.ctx.storage.tablet_storage_policy(8001).unwrap_err();
    assert!(e.to_string().contains("could not find storage_policy, storage_policy_id=3"), "{e}");

    // Resource 31 has no bucket: refused; policy 4 is kept but cannot resolve.
    let r = submit(
        &be,
        vec![push_task(vec![policy(3, 1, 30, 3600), policy(4, 1, 31, 60)], vec![s3_resource(30, 1, Some("cold")), s3_resource(31, 1, None)], vec![])],
    )
    .await;
    assert_eq!(r.status.status_code, TStatusCode::OK, "{}", status_text(&r.status));
    pushes_done(&be, 1).await;
    let (p, res) = be.ctx.storage.tablet_storage_policy(8001).unwrap();
    assert_eq!((p.id, p.version, p.cooldown_ttl, p.resource_id), (3, 1, Some(3600), 30));
    let ResourceKind::S3(s3) = &res.kind else { panic!("an s3 resource: {res:?}") };
    assert_eq!((s3.bucket.as_str(), s3.root_path.as_str(), s3.access_key.as_str(), s3.use_path_style), ("cold", "cold_data", "AKIDEXAMPLE", true));
    let e = be.ctx.storage.resolve_storage_policy(4).unwrap_err();
    assert_eq!(e.to_string(), "not found: could not find resource, resource_id=31");
    let rep = fe
        .wait_report("a tablet report with both policies", |r| reported(r).is_some_and(|(p, _)| p.len() == 2))
        .await;
    assert_eq!(reported(&rep).unwrap(), (vec![(3, 1), (4, 1)], vec![(30, 1)]));

    // Drop 4, a newer policy 3 (new ttl), the same resource version again (stale), and an
    // HDFS resource (kept for the report, not usable for cooldown).
    let hdfs = Box::new(TStorageResource::new(32i64, "hdfs".to_string(), 1i64, None::<TS3StorageParam>, THdfsParams {}));
    submit(&be, vec![push_task(vec![policy(3, 2, 30, 7200)], vec![s3_resource(30, 1, Some("other")), hdfs], vec![4])]).await;
    pushes_done(&be, 2).await;
    let (p, res) = be.ctx.storage.tablet_storage_policy(8001).unwrap();
    assert_eq!((p.version, p.cooldown_ttl), (2, Some(7200)));
    let ResourceKind::S3(s3) = &res.kind else { panic!("an s3 resource") };
    assert_eq!(s3.bucket, "cold", "a resource push with the same version is stale");
    assert!(be.ctx.storage.resolve_storage_policy(4).is_err(), "dropped");
    fe.wait_report("a tablet report after the drop", |r| reported(r) == Some((vec![(3, 2)], vec![(30, 1), (32, 1)]))).await;

    // A task without its request member is refused at submit.
    let r = submit(&be, vec![bare_task(TTaskType::PUSH_STORAGE_POLICY, 9)]).await;
    assert_eq!(r.status.status_code, TStatusCode::INVALID_ARGUMENT);
    assert!(status_text(&r.status).contains("push_storage_policy_req"), "{}", status_text(&r.status));
    assert!(
        fe.rec.finished.lock().unwrap().iter().all(|f| f.task_type != TTaskType::PUSH_STORAGE_POLICY),
        "upstream sends no finishTask for storage policies"
    );
    be.shutdown().await;

    // Restart on the same root: the policies are still there and reported.
    let fe2 = TestFe::start().await;
    let be = be_with_master(&fe2, root.path()).await;
    let (p, res) = be.ctx.storage.tablet_storage_policy(8001).unwrap();
    assert_eq!((p.id, p.version, res.id, res.version), (3, 2, 30, 1));
    fe2.wait_report("a tablet report after restart", |r| reported(r) == Some((vec![(3, 2)], vec![(30, 1), (32, 1)]))).await;
    be.shutdown().await;
}
