//! CCR incremental sync between two in-process BEs on loopback: the source's
//! `/api/_binlog/_download` and the target's `ingest_binlog` / `query_ingest_binlog` over
//! real thrift, then PUBLISH_VERSION, with real rows in real Parquet segments.

mod agent_support;
mod tmpfs_support;

use agent_support::*;
use doris_be::agent::{self, BeHandle};
use doris_be::load::csv::LoadColumn;
use doris_be::load::segment;
use doris_be::load::types::{Cell, ColKind};
use doris_be::storage::RowsetMeta;
use doris_thrift::agent_service::{TPartitionVersionInfo, TPublishVersionRequest};
use doris_thrift::backend_service::{TIngestBinlogRequest, TIngestBinlogStatus, TQueryIngestBinlogRequest, TQueryIngestBinlogResult};
use doris_thrift::status::TStatusCode;
use doris_thrift::types::{TTaskType, TUniqueId};
use reqwest::StatusCode;

const TOKEN: &str = "tok";
const PARTITION: i64 = 200; // create_req's
const SRC_TABLET: i64 = 1001;
const DST_TABLET: i64 = 2001;

async fn start(fe: &TestFe, binlog: bool, backend_id: i64) -> (BeHandle, tempfile::TempDir) {
    let root = tempfile::tempdir().unwrap();
    let mut cfg = be_config(root.path());
    cfg.enable_feature_binlog = binlog;
    let be = agent::start(cfg).await.unwrap();
    let r = heartbeat(&be, &master_info(fe.port(), 11, 1, TOKEN, backend_id)).await;
    assert_eq!(r.status.status_code, TStatusCode::OK);
    (be, root)
}

fn columns() -> Vec<LoadColumn> {
    let col = |name: &str, kind: &str, nullable| LoadColumn {
        name: name.into(),
        kind: ColKind::parse(kind).unwrap(),
        nullable,
        default_value: None,
    };
    vec![col("k1", "int", false), col("v1", "bigint", true)]
}

/// A rowset of `segments` real segments loaded by `txn_id` and published as the tablet's
/// next version. Returns its rowset id and the segments' bytes.
fn load_rowset(be: &BeHandle, tablet_id: i64, txn_id: i64, segments: usize, rows_per_segment: i32) -> (String, Vec<Vec<u8>>) {
    let storage = &be.ctx.storage;
    let dir = storage.tablet_dir(tablet_id).unwrap();
    let rowset_id = storage.next_rowset_id();
    let mut bytes = Vec::new();
    for s in 0..segments {
        let rows: Vec<Vec<Cell>> = (0..rows_per_segment)
            .map(|i| {
                let k = (s as i32) * 1000 + i + (txn_id as i32) * 100_000;
                vec![Cell::Int(k.into()), if i % 7 == 0 { Cell::Null } else { Cell::Int(i64::from(k) * 3) }]
            })
            .collect();
        let b = segment::write(&columns(), &rows).unwrap();
        std::fs::write(dir.join(format!("{rowset_id}_{s}.dat")), &b).unwrap();
        bytes.push(b);
    }
    let rs = RowsetMeta {
        rowset_id: rowset_id.clone(),
        start_version: 0,
        end_version: 0,
        num_segments: segments as u32,
        num_rows: i64::from(rows_per_segment) * segments as i64,
        data_size: bytes.iter().map(|b| b.len() as i64).sum(),
        txn_id: Some(txn_id),
        remote: false,
        creation_time_s: 0,
        delete_predicate: None,
    };
    storage.add_pending_rowset(tablet_id, txn_id, PARTITION, rs).unwrap();
    let version = storage.tablet_meta(tablet_id).unwrap().max_version() + 1;
    assert!(storage.publish_version(txn_id, PARTITION, version).unwrap().is_empty());
    (rowset_id, bytes)
}

fn ingest_req(txn_id: i64, version: i64, host: &str, port: u16, local: i64) -> TIngestBinlogRequest {
    TIngestBinlogRequest::new(
        txn_id,
        SRC_TABLET,
        version,
        host.to_string(),
        port.to_string(),
        PARTITION,
        local,
        TUniqueId { hi: -1, lo: -1 },
    )
}

fn query_req(txn_id: i64, tablet_id: i64) -> TQueryIngestBinlogRequest {
    TQueryIngestBinlogRequest::new(txn_id, PARTITION, tablet_id, TUniqueId { hi: -1, lo: -1 })
}

/// Poll until the ingest is no longer DOING.
async fn settled(be: &BeHandle, txn_id: i64, tablet_id: i64) -> TQueryIngestBinlogResult {
    let c = backend_client(be);
    wait_for("the ingest to end", || async {
        let r = c.query_ingest_binlog(&query_req(txn_id, tablet_id)).await.unwrap();
        (r.status != Some(TIngestBinlogStatus::DOING)).then_some(r)
    })
    .await
}

fn binlog_url(be: &BeHandle, query: &str) -> String {
    format!("http://{}/api/_binlog/_download?{query}", be.addrs.http)
}

/// Regular files in a tablet's directory.
fn tablet_files(be: &BeHandle, tablet_id: i64) -> Vec<String> {
    let dir = be.ctx.storage.tablet_dir(tablet_id).unwrap();
    let mut v: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn an_upsert_is_ingested_published_and_scans_like_the_source() {
    let fe = TestFe::start().await;
    let (src, _r1) = start(&fe, true, 501).await;
    let (dst, _r2) = start(&fe, true, 502).await;
    src.ctx.storage.create_tablet(&create_req(SRC_TABLET, 11)).unwrap();
    dst.ctx.storage.create_tablet(&create_req(DST_TABLET, 21)).unwrap();
    let (_, seg_bytes) = load_rowset(&src, SRC_TABLET, 7, 3, 500); // version 2 on the source

    let client = backend_client(&dst);
    let txn = 9001; // the target cluster's txn
    let r = client.ingest_binlog(&ingest_req(txn, 2, "127.0.0.1", src.addrs.http.port(), DST_TABLET)).await.unwrap();
    let status = r.status.unwrap();
    assert_eq!(status.status_code, TStatusCode::OK, "{}", status_text(&status));
    assert_eq!(r.is_async, Some(true));
    let q = settled(&dst, txn, DST_TABLET).await;
    assert_eq!(q.status, Some(TIngestBinlogStatus::OK), "{:?}", q.err_msg);

    // The txn's pending rowset holds the source's bytes under a new rowset id.
    let meta = dst.ctx.storage.tablet_meta(DST_TABLET).unwrap();
    assert_eq!(meta.pending.len(), 1);
    let p = &meta.pending[0];
    assert_eq!((p.txn_id, p.partition_id, p.rowset.txn_id), (txn, PARTITION, Some(txn)));
    assert_eq!((p.rowset.start_version, p.rowset.end_version, p.rowset.num_segments, p.rowset.num_rows), (0, 0, 3, 1500));
    let src_ids: Vec<String> = src.ctx.storage.tablet_meta(SRC_TABLET).unwrap().rowsets.iter().map(|r| r.rowset_id.clone()).collect();
    assert!(!src_ids.contains(&p.rowset.rowset_id), "a new local rowset id");
    let dir = dst.ctx.storage.tablet_dir(DST_TABLET).unwrap();
    for (i, want) in seg_bytes.iter().enumerate() {
        assert_eq!(&std::fs::read(dir.join(format!("{}_{i}.dat", p.rowset.rowset_id))).unwrap(), want, "segment {i}");
    }
    assert_eq!(p.rowset.data_size, seg_bytes.iter().map(|b| b.len() as i64).sum::<i64>());

    // The target FE's commit publishes it like any load.
    let publish = TPublishVersionRequest::new(txn, vec![TPartitionVersionInfo::new(PARTITION, 2, 0)], None, None);
    submit(&dst, vec![task(TaskBody::PublishVersion(publish), 77)]).await;
    let f = fe.wait_finish(TTaskType::PUBLISH_VERSION, 77).await;
    assert_eq!(f.task_status.status_code, TStatusCode::OK, "{}", status_text(&f.task_status));
    assert_eq!(f.succ_tablets, Some([(DST_TABLET, 2)].into_iter().collect()));
    let want = scan_int_rows(src.addrs.http, TOKEN, SRC_TABLET, 2).await;
    let got = scan_int_rows(dst.addrs.http, TOKEN, DST_TABLET, 2).await;
    assert_eq!(got.1.len(), 1500);
    assert_eq!(got, want);
    assert_eq!(got.0, ["k1", "v1"]);

    // Asking again changes nothing and still answers OK.
    let files = tablet_files(&dst, DST_TABLET);
    let r = client.ingest_binlog(&ingest_req(txn, 2, "127.0.0.1", src.addrs.http.port(), DST_TABLET)).await.unwrap();
    assert_eq!(r.status.unwrap().status_code, TStatusCode::OK);
    assert_eq!(settled(&dst, txn, DST_TABLET).await.status, Some(TIngestBinlogStatus::OK));
    assert_eq!(tablet_files(&dst, DST_TABLET), files);
    assert_eq!(dst.ctx.storage.tablet_meta(DST_TABLET).unwrap().rowsets.len(), 2);

    // The next binlog: an empty rowset (no segments) comes over too.
    let (_, none) = load_rowset(&src, SRC_TABLET, 8, 0, 0);
    assert!(none.is_empty());
    let r = client.ingest_binlog(&ingest_req(txn + 1, 3, "127.0.0.1", src.addrs.http.port(), DST_TABLET)).await.unwrap();
    assert_eq!(r.status.unwrap().status_code, TStatusCode::OK);
    let q = settled(&dst, txn + 1, DST_TABLET).await;
    assert_eq!(q.status, Some(TIngestBinlogStatus::OK), "{:?}", q.err_msg);
    src.shutdown().await;
    dst.shutdown().await;
}

#[tokio::test]
async fn the_download_endpoint_answers_upstream_shapes_and_clear_errors() {
    let fe = TestFe::start().await;
    let (src, _r1) = start(&fe, true, 501).await;
    src.ctx.storage.create_tablet(&create_req(SRC_TABLET, 11)).unwrap();
    let (rowset_id, segs) = load_rowset(&src, SRC_TABLET, 7, 2, 300);
    let c = reqwest::Client::new();
    let get = |q: String| {
        let c = c.clone();
        let url = binlog_url(&src, &q);
        async move {
            let r = c.get(url).send().await.unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };

    let t = SRC_TABLET;
    assert_eq!(get(format!("method=get_binlog_info&tablet_id={t}&binlog_version=2")).await, (StatusCode::OK, format!("{rowset_id}:2")));
    let (s, body) = get("method=get_binlog_info&tablet_id=4242&binlog_version=2".into()).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(body.contains("tablet is not exist, tablet_id=4242"), "{body}");
    for v in [1, 3] {
        // Version 1 is the tablet's first rowset [0, 1]: no binlog. Version 3 does not exist.
        let (s, body) = get(format!("method=get_binlog_info&tablet_id={t}&binlog_version={v}")).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
        assert!(body.starts_with(&format!("get binlog info failed, binlog_version={v}")), "{body}");
        assert!(body.contains("versions end at 2"), "{body}");
    }
    let (s, body) = get("method=get_binlog_info&binlog_version=2".into()).await;
    assert_eq!((s, body.as_str()), (StatusCode::BAD_REQUEST, "parameter tablet_id not specified in url."));
    let (s, body) = get(format!("method=get_binlog_info&tablet_id={t}&binlog_version=two")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");

    let (s, body) = get(format!("method=get_rowset_meta&tablet_id={t}&rowset_id={rowset_id}&binlog_version=2")).await;
    assert_eq!(s, StatusCode::OK);
    let meta: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(meta["rowset_id"], rowset_id.as_str());
    assert_eq!((meta["start_version"].as_i64(), meta["num_segments"].as_i64(), meta["num_rows"].as_i64()), (Some(2), Some(2), Some(600)));
    assert_eq!(meta["tablet_id"], t);
    assert_eq!(meta["tablet_schema"]["columns"].as_array().unwrap().len(), 2);
    let (s, body) = get(format!("method=get_rowset_meta&tablet_id={t}&rowset_id=02ffff&binlog_version=2")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(body.starts_with("get rowset meta failed, rowset_id=02ffff"), "{body}");

    // Segment bytes, whole, by HEAD (size and md5) and by range.
    let seg = |i: i64| binlog_url(&src, &format!("method=get_segment_file&tablet_id={t}&rowset_id={rowset_id}&segment_index={i}"));
    let r = c.get(seg(1)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.content_length(), Some(segs[1].len() as u64));
    assert_eq!(r.bytes().await.unwrap().as_ref(), segs[1].as_slice());
    let r = c.head(format!("{}&acquire_md5=true", seg(0))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-length"].to_str().unwrap(), segs[0].len().to_string());
    use md5::{Digest, Md5};
    assert_eq!(r.headers()["content-md5"].to_str().unwrap(), hex::encode(Md5::digest(&segs[0])));
    let r = c.get(seg(0)).header("Range", "bytes=100-").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.bytes().await.unwrap().as_ref(), &segs[0][100..]);
    for bad in [seg(2), seg(-1), binlog_url(&src, &format!("method=get_segment_file&tablet_id={t}&rowset_id=02dead&segment_index=0"))] {
        let r = c.get(bad).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert!(r.text().await.unwrap().starts_with("file not exist."));
    }
    let (s, body) = get(format!("method=get_segment_index_file&tablet_id={t}&rowset_id={rowset_id}&segment_index=0")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(body.contains("no segment index files"), "{body}");
    let (s, body) = get("method=list_everything".into()).await;
    assert_eq!((s, body.as_str()), (StatusCode::NOT_IMPLEMENTED, "invalid method: list_everything"));

    // A BE with binlogs off serves none of it.
    let (off, _r2) = start(&fe, false, 502).await;
    off.ctx.storage.create_tablet(&create_req(SRC_TABLET, 12)).unwrap();
    let r = c.get(binlog_url(&off, &format!("method=get_binlog_info&tablet_id={t}&binlog_version=1"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(r.text().await.unwrap().starts_with("binlog feature is not enabled."));
    src.shutdown().await;
    off.shutdown().await;
}

#[tokio::test]
async fn failed_ingests_leave_nothing_behind_and_say_why() {
    let fe = TestFe::start().await;
    let (src, _r1) = start(&fe, true, 501).await;
    let (dst, _r2) = start(&fe, true, 502).await;
    src.ctx.storage.create_tablet(&create_req(SRC_TABLET, 11)).unwrap();
    dst.ctx.storage.create_tablet(&create_req(DST_TABLET, 21)).unwrap();
    let (rowset_id, _) = load_rowset(&src, SRC_TABLET, 7, 2, 50);
    let client = backend_client(&dst);
    let before = tablet_files(&dst, DST_TABLET);
    let port = src.addrs.http.port();

    // Nobody listens at the remote address.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = dead.local_addr().unwrap().port();
    drop(dead);
    let r = client.ingest_binlog(&ingest_req(31, 2, "127.0.0.1", dead_port, DST_TABLET)).await.unwrap();
    assert_eq!(r.status.unwrap().status_code, TStatusCode::OK);
    let q = settled(&dst, 31, DST_TABLET).await;
    assert_eq!(q.status, Some(TIngestBinlogStatus::FAILED));
    let msg = q.err_msg.unwrap();
    assert!(msg.contains(&format!("127.0.0.1:{dead_port}")) && msg.contains("get_binlog_info"), "{msg}");

    // A version the source lacks: its 404 text comes through.
    client.ingest_binlog(&ingest_req(32, 5, "127.0.0.1", port, DST_TABLET)).await.unwrap();
    let msg = settled(&dst, 32, DST_TABLET).await.err_msg.unwrap();
    assert!(msg.contains("get binlog info failed, binlog_version=5") && msg.contains("404"), "{msg}");

    // A segment gone at the source: fails before anything is written.
    let src_dir = src.ctx.storage.tablet_dir(SRC_TABLET).unwrap();
    let seg1 = src_dir.join(format!("{rowset_id}_1.dat"));
    let kept = std::fs::read(&seg1).unwrap();
    std::fs::remove_file(&seg1).unwrap();
    client.ingest_binlog(&ingest_req(33, 2, "127.0.0.1", port, DST_TABLET)).await.unwrap();
    let q = settled(&dst, 33, DST_TABLET).await;
    assert_eq!(q.status, Some(TIngestBinlogStatus::FAILED));
    let msg = q.err_msg.unwrap();
    // A HEAD answer has no body: the status says it.
    assert!(msg.contains("size of segment 1") && msg.contains("HTTP 404"), "{msg}");
    std::fs::write(&seg1, kept).unwrap();

    // A target tablet keyed differently: refused.
    let mut other = create_req(DST_TABLET + 1, 22);
    other.tablet_schema.columns[0].column_name = "k9".into();
    dst.ctx.storage.create_tablet(&other).unwrap();
    client.ingest_binlog(&ingest_req(34, 2, "127.0.0.1", port, DST_TABLET + 1)).await.unwrap();
    let q = settled(&dst, 34, DST_TABLET + 1).await;
    assert_eq!(q.status, Some(TIngestBinlogStatus::FAILED));
    assert!(q.err_msg.as_deref().unwrap().contains(r#"key columns ["k1"], local tablet 2002 has ["k9"]"#), "{:?}", q.err_msg);
    // One with a value column more (a light schema change added it): ingested as it is.
    let mut wide = create_req(DST_TABLET + 2, 23);
    let extra = wide.tablet_schema.columns[1].clone();
    wide.tablet_schema.columns.push(doris_thrift::descriptors::TColumn { column_name: "v2".into(), ..extra });
    dst.ctx.storage.create_tablet(&wide).unwrap();
    client.ingest_binlog(&ingest_req(35, 2, "127.0.0.1", port, DST_TABLET + 2)).await.unwrap();
    let q = settled(&dst, 35, DST_TABLET + 2).await;
    assert_eq!(q.status, Some(TIngestBinlogStatus::OK), "{:?}", q.err_msg);

    // Nothing was left on the target, and a failed ingest can be asked again.
    let meta = dst.ctx.storage.tablet_meta(DST_TABLET).unwrap();
    assert!(meta.pending.is_empty());
    assert_eq!(tablet_files(&dst, DST_TABLET), before);
    assert!(tablet_files(&dst, DST_TABLET + 1).is_empty());
    client.ingest_binlog(&ingest_req(33, 2, "127.0.0.1", port, DST_TABLET)).await.unwrap();
    let q = settled(&dst, 33, DST_TABLET).await;
    assert_eq!(q.status, Some(TIngestBinlogStatus::OK), "{:?}", q.err_msg);
    src.shutdown().await;
    dst.shutdown().await;
}

/// A target whose disk is past upstream's flood stage refuses the ingest before writing
/// ("no enough space", naming the disk); with room again the same ingest goes in.
#[tokio::test]
async fn an_ingest_past_the_flood_stage_is_refused_and_writes_nothing() {
    let fe = TestFe::start().await;
    let (src, _r1) = start(&fe, true, 501).await;
    let tmp = tempfile::tempdir().unwrap();
    let Some(_m) = tmpfs_support::mount_tmpfs(&tmp.path().join("root"), 8) else { return };
    let root = tmp.path().join("root").canonicalize().unwrap();
    let mut cfg = be_config(&root);
    cfg.enable_feature_binlog = true;
    cfg.storage_flood_stage_usage_percent = 90;
    cfg.storage_flood_stage_left_capacity_bytes = 1 << 20;
    let dst = agent::start(cfg).await.unwrap();
    assert_eq!(heartbeat(&dst, &master_info(fe.port(), 11, 1, TOKEN, 502)).await.status.status_code, TStatusCode::OK);
    src.ctx.storage.create_tablet(&create_req(SRC_TABLET, 11)).unwrap();
    dst.ctx.storage.create_tablet(&create_req(DST_TABLET, 21)).unwrap();
    load_rowset(&src, SRC_TABLET, 7, 2, 500);
    let before = tablet_files(&dst, DST_TABLET);

    // Other data leaves half a MiB: any segment goes past 90 % used with under 1 MiB left.
    let other = root.join("other");
    std::fs::write(&other, vec![7u8; fs4::available_space(&root).unwrap() as usize - (512 << 10)]).unwrap();
    let client = backend_client(&dst);
    let port = src.addrs.http.port();
    client.ingest_binlog(&ingest_req(41, 2, "127.0.0.1", port, DST_TABLET)).await.unwrap();
    let q = settled(&dst, 41, DST_TABLET).await;
    assert_eq!(q.status, Some(TIngestBinlogStatus::FAILED));
    let msg = q.err_msg.unwrap();
    eprintln!("ingest past the flood stage: {msg}");
    assert!(msg.contains("no enough space") && msg.contains(&format!("reach the capacity limit of path {}", root.display())), "{msg}");
    assert_eq!(tablet_files(&dst, DST_TABLET), before);
    assert!(dst.ctx.storage.tablet_meta(DST_TABLET).unwrap().pending.is_empty());

    std::fs::remove_file(other).unwrap();
    client.ingest_binlog(&ingest_req(41, 2, "127.0.0.1", port, DST_TABLET)).await.unwrap();
    let q = settled(&dst, 41, DST_TABLET).await;
    assert_eq!(q.status, Some(TIngestBinlogStatus::OK), "{:?}", q.err_msg);
    assert_eq!(dst.ctx.storage.tablet_meta(DST_TABLET).unwrap().pending.len(), 1);
    src.shutdown().await;
    dst.shutdown().await;
}

#[tokio::test]
async fn bad_requests_are_refused_with_upstream_texts() {
    let fe = TestFe::start().await;
    let (dst, _r) = start(&fe, true, 502).await;
    dst.ctx.storage.create_tablet(&create_req(DST_TABLET, 21)).unwrap();
    let client = backend_client(&dst);
    let full = ingest_req(41, 2, "127.0.0.1", 1, DST_TABLET);
    type Unset = Box<dyn Fn(&mut TIngestBinlogRequest)>;
    let cases: Vec<(&str, Unset)> = vec![
        ("txn_id is empty", Box::new(|r| r.txn_id = None)),
        ("remote_tablet_id is empty", Box::new(|r| r.remote_tablet_id = None)),
        ("binlog_version is empty", Box::new(|r| r.binlog_version = None)),
        ("remote_host is empty", Box::new(|r| r.remote_host = None)),
        ("remote_port is empty", Box::new(|r| r.remote_port = Some(String::new()))),
        ("partition_id is empty", Box::new(|r| r.partition_id = None)),
        ("local_tablet_id is empty", Box::new(|r| r.local_tablet_id = None)),
        ("load_id is empty", Box::new(|r| r.load_id = None)),
    ];
    for (want, f) in cases {
        let mut req = full.clone();
        f(&mut req);
        let r = client.ingest_binlog(&req).await.unwrap();
        let s = r.status.unwrap();
        assert_eq!((s.status_code, status_text(&s)), (TStatusCode::ANALYSIS_ERROR, want.to_string()));
        assert_eq!(r.is_async, None);
    }
    let r = client.ingest_binlog(&ingest_req(41, 2, "127.0.0.1", 1, 777)).await.unwrap();
    let s = r.status.unwrap();
    assert_eq!((s.status_code, status_text(&s)), (TStatusCode::TABLET_MISSING, "tablet 777 not found".to_string()));

    // Queries: an unknown txn, a bad request, an unknown tablet.
    let q = client.query_ingest_binlog(&query_req(4242, DST_TABLET)).await.unwrap();
    assert_eq!(q.status, Some(TIngestBinlogStatus::NOT_FOUND));
    let mut bad = query_req(4242, DST_TABLET);
    bad.partition_id = None;
    let q = client.query_ingest_binlog(&bad).await.unwrap();
    assert_eq!((q.status, q.err_msg.as_deref()), (Some(TIngestBinlogStatus::ANALYSIS_ERROR), Some("partition_id is empty")));
    let q = client.query_ingest_binlog(&query_req(4242, 777)).await.unwrap();
    assert_eq!((q.status, q.err_msg.as_deref()), (Some(TIngestBinlogStatus::NOT_FOUND), Some("tablet 777 not found")));

    // With binlogs off the BE refuses before looking at the request.
    let (off, _r2) = start(&fe, false, 503).await;
    let r = backend_client(&off).ingest_binlog(&TIngestBinlogRequest::new(None, None, None, None, None, None, None, None)).await.unwrap();
    let s = r.status.unwrap();
    assert_eq!((s.status_code, status_text(&s)), (TStatusCode::RUNTIME_ERROR, "enable feature binlog is false".to_string()));
    dst.shutdown().await;
    off.shutdown().await;
}
