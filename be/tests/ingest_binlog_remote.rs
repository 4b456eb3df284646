//! CCR ingest of a cooled-down rowset: the source BE's binlog rowset lives in its storage
//! policy's object store (a real S3 API, moto), and `/api/_binlog/_download` streams it
//! from there to the target BE.

mod agent_support;
mod moto_support;

use agent_support::*;
use doris_be::agent::{self, BeHandle};
use doris_be::cooldown::{self, Step};
use doris_be::load::csv::LoadColumn;
use doris_be::load::segment;
use doris_be::load::types::{Cell, ColKind};
use doris_be::storage::RowsetMeta;
use doris_thrift::agent_service::{
    TObjStorageType, TPushStoragePolicyReq, TS3StorageParam, TStoragePolicy, TStorageResource,
};
use doris_thrift::backend_service::{TIngestBinlogRequest, TIngestBinlogStatus, TQueryIngestBinlogRequest};
use doris_thrift::status::TStatusCode;
use doris_thrift::types::TUniqueId;
use moto_support::*;
use reqwest::StatusCode;

const TOKEN: &str = "ccr-remote-token";
const SRC: i64 = 6001;
const DST: i64 = 6002;
const POLICY: i64 = 7;
const RESOURCE: i64 = 8;

async fn start(fe: &TestFe, root: &std::path::Path, backend_id: i64) -> BeHandle {
    let mut cfg = be_config(root);
    cfg.enable_feature_binlog = true;
    let be = agent::start(cfg).await.unwrap();
    assert_eq!(heartbeat(&be, &master_info(fe.port(), 41, 1, TOKEN, backend_id)).await.status.status_code, TStatusCode::OK);
    be
}

/// PUSH_STORAGE_POLICY (data cold at once) with the moto bucket as its resource.
async fn push_policy(be: &BeHandle, moto: &Moto) {
    let s3 = TS3StorageParam::new(
        format!("http://127.0.0.1:{}", moto.port),
        "us-east-1".to_string(),
        moto.access_key.clone(),
        moto.secret_key.clone(),
        None::<i32>,
        None::<i32>,
        None::<i32>,
        "ccr".to_string(),
        BUCKET.to_string(),
        true,
        None::<String>,
        TObjStorageType::AWS,
    );
    let resource = TStorageResource::new(RESOURCE, "remote_s3".to_string(), 1i64, s3, None::<doris_thrift::plan_nodes::THdfsParams>);
    let policy = TStoragePolicy::new(POLICY, "cold_now".to_string(), 1i64, None::<i64>, 0i64, RESOURCE);
    let req = TPushStoragePolicyReq {
        storage_policy: Some(vec![Box::new(policy)]),
        resource: Some(vec![Box::new(resource)]),
        dropped_storage_policy: None,
    };
    assert_eq!(submit(be, vec![task(TaskBody::PushStoragePolicy(req), -1)]).await.status.status_code, TStatusCode::OK);
    let ctx = be.ctx.clone();
    wait_for("the storage policy push", || {
        let ctx = ctx.clone();
        async move { (ctx.metrics.task_count("PUSH_STORAGE_POLICY", "succeeded") > 0).then_some(()) }
    })
    .await;
}

/// Version 2 of the source tablet: one real segment of `n` rows; its bytes.
fn add_version_2(be: &BeHandle, n: i64) -> (String, Vec<u8>) {
    let cols = vec![
        LoadColumn { name: "k1".into(), kind: ColKind::parse("int").unwrap(), nullable: false, default_value: None },
        LoadColumn { name: "v1".into(), kind: ColKind::parse("bigint").unwrap(), nullable: true, default_value: None },
    ];
    let rows: Vec<Vec<Cell>> = (0..n).map(|i| vec![Cell::Int(i), Cell::Int(i * i)]).collect();
    let bytes = segment::write(&cols, &rows).unwrap();
    let storage = &be.ctx.storage;
    let id = storage.next_rowset_id();
    std::fs::write(storage.tablet_dir(SRC).unwrap().join(format!("{id}_0.dat")), &bytes).unwrap();
    let rs = RowsetMeta {
        rowset_id: id.clone(),
        start_version: 2,
        end_version: 2,
        num_segments: 1,
        num_rows: n,
        data_size: bytes.len() as i64,
        txn_id: Some(3),
        remote: false,
        creation_time_s: 0,
        delete_predicate: None,
    };
    storage.add_rowset(SRC, rs).unwrap();
    (id, bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cooled_down_rowset_is_streamed_from_the_store_to_the_target() {
    let moto = tokio::task::spawn_blocking(|| start_moto(false)).await.unwrap();
    let fe = TestFe::start().await;
    let (dir_s, dir_t) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let src = start(&fe, dir_s.path(), 10001).await;
    let dst = start(&fe, dir_t.path(), 10002).await;
    let mut req = create_req(SRC, 1);
    req.storage_policy_id = Some(POLICY);
    src.ctx.storage.create_tablet(&req).unwrap();
    dst.ctx.storage.create_tablet(&create_req(DST, 2)).unwrap();
    push_policy(&src, &moto).await;
    let (rowset_id, bytes) = add_version_2(&src, 2000);

    // The source is its tablet's cooldown replica: the rowset moves to the store.
    assert!(src.ctx.storage.apply_cooldown_conf(SRC, 1, 1).unwrap());
    let (done, failed) = cooldown::run_pass(&src.ctx.storage).await;
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(done, vec![(SRC, Step::Uploaded(2))]);
    let meta = src.ctx.storage.tablet_meta(SRC).unwrap();
    assert!(meta.rowsets.iter().all(|r| r.remote));
    assert!(std::fs::read_dir(src.ctx.storage.tablet_dir(SRC).unwrap()).unwrap().next().is_none(), "no local copy");

    // The endpoint serves it from the store: whole, by HEAD and by range.
    let url = format!(
        "http://{}/api/_binlog/_download?method=get_segment_file&tablet_id={SRC}&rowset_id={rowset_id}&segment_index=0",
        src.addrs.http
    );
    let c = reqwest::Client::new();
    let r = c.get(&url).send().await.unwrap();
    assert_eq!((r.status(), r.content_length()), (StatusCode::OK, Some(bytes.len() as u64)));
    assert_eq!(r.bytes().await.unwrap().as_ref(), bytes.as_slice());
    let r = c.head(&url).send().await.unwrap();
    assert_eq!(r.headers()["content-length"].to_str().unwrap(), bytes.len().to_string());
    let r = c.get(&url).header("Range", "bytes=5-99").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.headers()["content-range"].to_str().unwrap(), format!("bytes 5-99/{}", bytes.len()));
    assert_eq!(r.bytes().await.unwrap().as_ref(), &bytes[5..100]);

    // The target ingests it as a local rowset with the same bytes.
    let req = TIngestBinlogRequest::new(
        70i64,
        SRC,
        2i64,
        "127.0.0.1".to_string(),
        src.addrs.http.port().to_string(),
        200i64,
        DST,
        TUniqueId { hi: -1, lo: -1 },
    );
    let client = backend_client(&dst);
    assert_eq!(client.ingest_binlog(&req).await.unwrap().status.unwrap().status_code, TStatusCode::OK);
    let q = wait_for("the ingest to end", || async {
        let r = client.query_ingest_binlog(&TQueryIngestBinlogRequest::new(70i64, 200i64, DST, TUniqueId { hi: -1, lo: -1 })).await.unwrap();
        (r.status != Some(TIngestBinlogStatus::DOING)).then_some(r)
    })
    .await;
    assert_eq!(q.status, Some(TIngestBinlogStatus::OK), "{:?}", q.err_msg);
    let p = dst.ctx.storage.tablet_meta(DST).unwrap().pending[0].clone();
    assert!(!p.rowset.remote);
    assert_eq!(p.rowset.num_rows, 2000);
    let got = std::fs::read(dst.ctx.storage.tablet_dir(DST).unwrap().join(format!("{}_0.dat", p.rowset.rowset_id))).unwrap();
    assert_eq!(got, bytes);
    src.shutdown().await;
    dst.shutdown().await;
}
