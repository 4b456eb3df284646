//! Single-replica cooldown against a real S3 API (moto): two in-process BEs hold a replica
//! each of one tablet with a storage policy, driven the way an FE drives them
//! (PUSH_STORAGE_POLICY, PUSH_COOLDOWN_CONF). The cooldown replica uploads its cold
//! rowsets byte for byte and writes the remote meta; the other replica follows it; both
//! scan the same rows from the store; a change of cooldown replica (new term) is followed
//! the other way; snapshots of remote data are refused; a restart keeps it all.

mod agent_support;
mod moto_support;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use agent_support::*;
use doris_be::agent::{self, BeHandle};
use doris_be::cooldown::{self, RemoteStore, Step};
use doris_be::load::csv::LoadColumn;
use doris_be::load::segment;
use doris_be::load::types::{Cell, ColKind};
use doris_be::storage::{RowsetMeta, SnapshotSpec, TabletMeta};
use doris_thrift::agent_service::{
    TAgentTaskRequest, TObjStorageType, TPushStoragePolicyReq, TS3StorageParam, TStoragePolicy, TStorageResource,
};
use doris_thrift::status::TStatusCode;
use moto_support::*;

const TOKEN: &str = "cooldown-cluster-token";
const TABLET: i64 = 5001;
const POLICY: i64 = 7;
const RESOURCE: i64 = 8;

async fn be(fe: &TestFe, root: &Path, backend_id: i64) -> BeHandle {
    let be = agent::start(be_config(root)).await.unwrap();
    let r = heartbeat(&be, &master_info(fe.port(), 41, 1, TOKEN, backend_id)).await;
    assert_eq!(r.status.status_code, TStatusCode::OK);
    be
}

async fn ok_task(fe: &TestFe, be: &BeHandle, t: TAgentTaskRequest) {
    let (ty, sig) = (t.task_type, t.signature);
    let r = submit(be, vec![t]).await;
    assert_eq!(r.status.status_code, TStatusCode::OK, "{}", status_text(&r.status));
    let f = fe.wait_finish(ty, sig).await;
    assert_eq!(f.task_status.status_code, TStatusCode::OK, "{}", status_text(&f.task_status));
}

/// The moto bucket as a storage resource, under root path `cold`, reached at `port` (moto's,
/// or a proxy's in front of it).
fn resource_via(moto: &Moto, port: u16) -> Box<TStorageResource> {
    Box::new(TStorageResource::new(
        RESOURCE,
        "remote_s3".to_string(),
        1i64,
        TS3StorageParam::new(
            format!("http://127.0.0.1:{port}"),
            "us-east-1".to_string(),
            moto.access_key.clone(),
            moto.secret_key.clone(),
            None::<i32>,
            None::<i32>,
            None::<i32>,
            "cold".to_string(),
            BUCKET.to_string(),
            true,
            None::<String>,
            TObjStorageType::AWS,
        ),
        None::<doris_thrift::plan_nodes::THdfsParams>,
    ))
}

/// PUSH_STORAGE_POLICY of the policy (at `version`, data cold `ttl` seconds after it is
/// written) and the resource; the push is a task without finishTask, so wait for it.
async fn push_policy(be: &BeHandle, moto: &Moto, version: i64, ttl: i64) {
    push_policy_via(be, moto, moto.port, version, ttl).await
}

async fn push_policy_via(be: &BeHandle, moto: &Moto, port: u16, version: i64, ttl: i64) {
    let t = task(
        TaskBody::PushStoragePolicy(TPushStoragePolicyReq {
            storage_policy: Some(vec![Box::new(TStoragePolicy::new(POLICY, "cold_after".to_string(), version, None::<i64>, ttl, RESOURCE))]),
            resource: Some(vec![resource_via(moto, port)]),
            dropped_storage_policy: None,
        }),
        -1,
    );
    let before = be.ctx.metrics.task_count("PUSH_STORAGE_POLICY", "succeeded");
    assert_eq!(submit(be, vec![t]).await.status.status_code, TStatusCode::OK);
    let ctx = be.ctx.clone();
    wait_for("the storage policy push", || {
        let ctx = ctx.clone();
        async move { (ctx.metrics.task_count("PUSH_STORAGE_POLICY", "succeeded") > before).then_some(()) }
    })
    .await;
}

/// PUSH_COOLDOWN_CONF (no finishTask): wait until the tablet has the term.
async fn push_conf(be: &BeHandle, sig: i64, replica: i64, term: i64) {
    assert_eq!(submit(be, vec![cooldown_task(sig, &[(TABLET, replica, term)])]).await.status.status_code, TStatusCode::OK);
    let ctx = be.ctx.clone();
    wait_for("the cooldown conf", || {
        let ctx = ctx.clone();
        async move { (ctx.storage.tablet_meta(TABLET)?.cooldown.cooldown_term == term).then_some(()) }
    })
    .await;
}

/// A rowset of real rows (k1 INT, v1 BIGINT) as the next version; its segment's bytes.
fn add_rows(be: &BeHandle, rows: &[(i32, i64)]) -> Vec<u8> {
    let cols = vec![
        LoadColumn { name: "k1".into(), kind: ColKind::parse("int").unwrap(), nullable: false, default_value: None },
        LoadColumn { name: "v1".into(), kind: ColKind::parse("bigint").unwrap(), nullable: true, default_value: None },
    ];
    let cells: Vec<Vec<Cell>> = rows.iter().map(|(k, v)| vec![Cell::Int(*k as i64), Cell::Int(*v)]).collect();
    let bytes = segment::write(&cols, &cells).unwrap();
    let storage = &be.ctx.storage;
    let id = storage.next_rowset_id();
    std::fs::write(storage.tablet_dir(TABLET).unwrap().join(format!("{id}_0.dat")), &bytes).unwrap();
    let v = storage.tablet_meta(TABLET).unwrap().max_version() + 1;
    let rs = RowsetMeta {
        rowset_id: id,
        start_version: v,
        end_version: v,
        num_segments: 1,
        num_rows: rows.len() as i64,
        data_size: bytes.len() as i64,
        txn_id: None,
        remote: false,
        creation_time_s: chrono::Utc::now().timestamp(),
        delete_predicate: None,
    };
    storage.add_rowset(TABLET, rs).unwrap();
    bytes
}

/// The rows a scan of the tablet at its version answers, sorted.
async fn scan(be: &BeHandle) -> Vec<(i64, i64)> {
    let version = be.ctx.storage.tablet_meta(TABLET).unwrap().max_version();
    let (_, rows) = scan_int_rows(be.addrs.http, TOKEN, TABLET, version).await;
    let mut rows: Vec<(i64, i64)> = rows.into_iter().map(|r| (r[0], r[1])).collect();
    rows.sort();
    rows
}

fn meta(be: &BeHandle) -> TabletMeta {
    be.ctx.storage.tablet_meta(TABLET).unwrap()
}

fn local_files(be: &BeHandle) -> Vec<String> {
    let dir = be.ctx.storage.tablet_dir(TABLET).unwrap();
    let mut v: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    v.sort();
    v
}

async fn pass(be: &BeHandle) -> Vec<(i64, Step)> {
    let (done, failed) = cooldown::run_pass(&be.ctx.storage).await;
    assert!(failed.is_empty(), "{failed:?}");
    done
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cooldown_replica_uploads_cold_rowsets_and_the_other_follows() {
    let moto = tokio::task::spawn_blocking(|| start_moto(false)).await.unwrap();
    let fe = TestFe::start().await;
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = be(&fe, dir_a.path(), 10001).await;
    let b = be(&fe, dir_b.path(), 10002).await;
    for (be, replica, sig) in [(&a, 1, 11), (&b, 2, 12)] {
        let mut req = create_req(TABLET, replica);
        req.storage_policy_id = Some(POLICY);
        ok_task(&fe, be, task(TaskBody::Create(req), sig)).await;
        push_policy(be, &moto, 1, 0).await;
    }
    // The same rows on both replicas, as a load writes them (each with its own rowset ids).
    let batches = [vec![(1, 10), (2, 20)], vec![(3, 30)]];
    let mut segments = Vec::new();
    for rows in &batches {
        segments.push(add_rows(&a, rows));
        add_rows(&b, rows);
    }
    let all_rows = vec![(1, 10), (2, 20), (3, 30)];
    assert_eq!(scan(&a).await, all_rows);
    // No cooldown conf yet: nothing moves.
    assert!(pass(&a).await.is_empty() && pass(&b).await.is_empty());

    // Replica 1 (on A) becomes the cooldown replica in term 1.
    push_conf(&a, 21, 1, 1).await;
    push_conf(&b, 22, 1, 1).await;
    assert!(pass(&b).await.is_empty(), "nothing to follow before A wrote its remote meta");
    let before_a = meta(&a);
    assert_eq!(pass(&a).await, vec![(TABLET, Step::Uploaded(3))], "[0,1] and the two loads");
    let after_a = meta(&a);
    assert!(after_a.rowsets.iter().all(|r| r.remote));
    assert_eq!(local_files(&a), Vec::<String>::new(), "the local copies are gone");
    let meta_id = after_a.cooldown.cooldown_meta_id.expect("a cooldown meta id");

    // In the store: each segment byte for byte, and the remote meta of (replica 1, term 1).
    let store = RemoteStore::open(&be_resource(&a)).unwrap();
    for (rs, bytes) in before_a.rowsets.iter().filter(|r| r.num_segments > 0).zip(&segments) {
        let key = store.segment_key(TABLET, &format!("{}_0.dat", rs.rowset_id));
        assert_eq!(key.as_ref(), format!("cold/data/{TABLET}/{}_0.dat", rs.rowset_id));
        assert_eq!(store.get(&key).await.unwrap().unwrap().as_ref(), bytes.as_slice());
    }
    let remote = store.meta(TABLET, 1, 1).await.unwrap().expect("the remote meta");
    assert_eq!(remote.cooldown_meta_id, meta_id);
    assert_eq!(remote.rowsets, after_a.rowsets);
    assert_eq!(store.meta_key(TABLET, 1, 1).as_ref(), format!("cold/data/{TABLET}/1.1.meta"));
    // A second pass has nothing to do.
    assert!(pass(&a).await.is_empty());

    // B takes A's remote rowsets in place of its own.
    assert_eq!(pass(&b).await, vec![(TABLET, Step::Followed)]);
    let after_b = meta(&b);
    assert_eq!(after_b.rowsets, after_a.rowsets);
    assert_eq!(after_b.cooldown.cooldown_meta_id, Some(meta_id));
    assert_eq!(local_files(&b), Vec::<String>::new());
    assert_eq!(scan(&a).await, all_rows, "A reads its rows from the store");
    assert_eq!(scan(&b).await, all_rows, "so does B");
    let info = a.ctx.storage.tablet_info(TABLET).unwrap();
    assert_eq!((info.data_size, info.remote_data_size), (0, Some(after_a.remote_data_size())));
    assert!(after_a.remote_data_size() > 0);
    let reported = b.ctx.storage.tablet_info(TABLET).unwrap().cooldown_meta_id.unwrap();
    assert_eq!((reported.hi, reported.lo), meta_id);

    // Newer data stays local while it is warm; scans read both.
    push_policy(&a, &moto, 2, 3600).await;
    push_policy(&b, &moto, 2, 3600).await;
    add_rows(&a, &[(4, 40)]);
    add_rows(&b, &[(4, 40)]);
    assert!(pass(&a).await.is_empty(), "version 4 is not cold for an hour");
    assert_eq!(scan(&a).await, [all_rows.clone(), vec![(4, 40)]].concat());
    // A snapshot would carry rowsets keyed by this tablet in the store: refused.
    let e = a.ctx.storage.make_snapshot(&SnapshotSpec::from(&snapshot_req(TABLET, true))).unwrap_err();
    assert!(e.to_string().contains("is cooled down to remote storage; snapshots of remote data are not supported"), "{e}");

    // A restart keeps the remote rowsets and reads them. A local copy a cooldown cut short
    // would leave behind (here put back by hand) is removed.
    let leftover = format!("{}_0.dat", after_a.rowsets[1].rowset_id);
    std::fs::write(a.ctx.storage.tablet_dir(TABLET).unwrap().join(&leftover), &segments[0]).unwrap();
    a.shutdown().await;
    let a = agent::start(be_config(dir_a.path())).await.unwrap();
    heartbeat(&a, &master_info(fe.port(), 41, 1, TOKEN, 10001)).await;
    assert_eq!(meta(&a).rowsets.iter().filter(|r| r.remote).count(), 3);
    assert!(!local_files(&a).contains(&leftover), "{:?}", local_files(&a));
    assert_eq!(scan(&a).await, [all_rows.clone(), vec![(4, 40)]].concat());

    // Replica 2 (on B) takes over in term 2: it publishes what is remote under its term,
    // and A follows it, keeping its own warm version 4.
    push_conf(&a, 31, 2, 2).await;
    push_conf(&b, 32, 2, 2).await;
    assert!(pass(&a).await.is_empty(), "B has not written its term's meta yet");
    assert_eq!(pass(&b).await, vec![(TABLET, Step::Published)]);
    let b_meta = meta(&b);
    assert_ne!(b_meta.cooldown.cooldown_meta_id, Some(meta_id), "a new meta id for the new term");
    assert_eq!(pass(&a).await, vec![(TABLET, Step::Followed)]);
    let a_meta = meta(&a);
    assert_eq!(a_meta.cooldown.cooldown_meta_id, b_meta.cooldown.cooldown_meta_id);
    assert_eq!(a_meta.max_version(), 4);
    assert!(!a_meta.rowsets.iter().find(|r| r.end_version == 4).unwrap().remote);
    assert_eq!(scan(&a).await, [all_rows, vec![(4, 40)]].concat());

    a.shutdown().await;
    b.shutdown().await;
}

/// The resource the BE holds for the policy (as cooldown resolves it).
fn be_resource(be: &BeHandle) -> doris_be::storage::StorageResource {
    be.ctx.storage.resolve_storage_policy(POLICY).unwrap().1
}

/// A proxy in front of moto that, while `full` is set, answers every request as an object
/// store out of space does (HTTP 507 InsufficientStorage) and forwards nothing.
async fn full_store_proxy(moto_port: u16, full: Arc<AtomicBool>) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = l.accept().await {
            let full = full.clone();
            tokio::spawn(async move {
                if !full.load(Ordering::SeqCst) {
                    let Ok(mut server) = tokio::net::TcpStream::connect(("127.0.0.1", moto_port)).await else { return };
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    return;
                }
                // Read the request (head, then its body by Content-Length) and refuse it.
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                let head_end = loop {
                    let Ok(n) = client.read(&mut chunk).await else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                while buf.len() < head_end + len {
                    match client.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InsufficientStorage</Code>\
                            <Message>Storage backend has reached its minimum free drive threshold.</Message></Error>";
                let reply = format!(
                    "HTTP/1.1 507 Insufficient Storage\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = client.write_all(reply.as_bytes()).await;
                let _ = client.shutdown().await;
            });
        }
    });
    port
}

/// The object store is out of space during a cooldown: the pass fails saying so, the
/// tablet keeps its local rowsets (all its rows read as before, nothing marked remote), and
/// the next pass, with room again, cools it down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cooldown_to_a_full_store_keeps_the_tablet_local_and_the_next_pass_finishes() {
    let moto = tokio::task::spawn_blocking(|| start_moto(false)).await.unwrap();
    let full = Arc::new(AtomicBool::new(false));
    let proxy = full_store_proxy(moto.port, full.clone()).await;
    let fe = TestFe::start().await;
    let dir = tempfile::tempdir().unwrap();
    let a = be(&fe, dir.path(), 10001).await;
    let mut req = create_req(TABLET, 1);
    req.storage_policy_id = Some(POLICY);
    ok_task(&fe, &a, task(TaskBody::Create(req), 11)).await;
    push_policy_via(&a, &moto, proxy, 1, 0).await;
    add_rows(&a, &[(1, 10), (2, 20)]);
    add_rows(&a, &[(3, 30)]);
    push_conf(&a, 21, 1, 1).await;
    let (before, files) = (meta(&a), local_files(&a));
    let rows = scan(&a).await;

    full.store(true, Ordering::SeqCst);
    let (done, failed) = cooldown::run_pass(&a.ctx.storage).await;
    assert!(done.is_empty(), "{done:?}");
    let [(tablet, err)] = failed.as_slice() else { panic!("one tablet failed: {failed:?}") };
    eprintln!("cooldown to a full store: {err}");
    assert_eq!(*tablet, TABLET);
    assert!(err.to_string().contains("507") && err.to_string().contains(&format!("cold/data/{TABLET}/")), "{err}");
    assert_eq!(meta(&a), before, "nothing marked remote");
    assert_eq!(local_files(&a), files, "the local copies stay");
    assert_eq!(scan(&a).await, rows);

    full.store(false, Ordering::SeqCst);
    assert_eq!(pass(&a).await, vec![(TABLET, Step::Uploaded(3))]);
    assert!(meta(&a).rowsets.iter().all(|r| r.remote));
    assert_eq!(local_files(&a), Vec::<String>::new());
    assert_eq!(scan(&a).await, rows, "read from the store now");
    a.shutdown().await;
}
