//! The real `doris-rs be` process aborted (as `kill -9` stops it: no unwinding, nothing
//! flushed) at each failpoint of a load's write, PUBLISH_VERSION, MAKE_SNAPSHOT and MOVE,
//! then started again on the same storage: every tablet is at a consistent version (its
//! committed rowsets have their files), no file is left that no committed meta names once
//! the restarted process has reported, and the task the FE sends again succeeds.
//!
//! Needs `target/debug/doris-rs` built with the failpoints
//! (`cargo build --workspace --bins --features doris-rs/failpoints`).

mod agent_support;

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};

use agent_support::process::{free_ports, write_conf, BeProcess, Ports};
use agent_support::*;
use doris_be::storage::meta_store::MetaStore;
use doris_be::storage::TabletMeta;
use doris_thrift::agent_service::{TAgentTaskRequest, TPartitionVersionInfo, TPublishVersionRequest};
use doris_thrift::status::TStatusCode;

const TOKEN: &str = "kill-steps-token";
const PARTITION: i64 = 200; // create_req's
const SIGABRT: i32 = 6;

struct Node {
    fe: TestFe,
    _work: tempfile::TempDir,
    root: PathBuf,
    conf: PathBuf,
    log: PathBuf,
    ports: Ports,
}

impl Node {
    async fn new() -> Node {
        let fe = TestFe::start().await;
        let work = tempfile::tempdir().unwrap();
        let root = work.path().join("root");
        let (conf, log, ports) = (work.path().join("be.conf"), work.path().join("be.log"), free_ports());
        write_conf(&conf, &root, ports);
        Node { fe, root, conf, log, ports, _work: work }
    }

    /// Start the BE (armed to abort at `failpoint`) and wait until it answers.
    async fn start(&self, failpoint: Option<&str>) -> BeProcess {
        let mut b = BeProcess::spawn_armed(&self.conf, &self.log, self.ports, failpoint);
        let r = b.heartbeat_as(self.fe.port(), TOKEN, 7).await;
        assert_eq!(r.status.status_code, TStatusCode::OK, "{}", b.log());
        b
    }

    /// Start it again after a crash and wait for its first tablet report, by which time
    /// it has swept what the crash left.
    async fn restart(&self) -> BeProcess {
        let seen = self.fe.rec.reports.lock().unwrap().len();
        let b = self.start(None).await;
        let rec = self.fe.rec.clone();
        wait_for("a tablet report of the restarted BE", || {
            let r = rec.reports.lock().unwrap().iter().skip(seen).any(|r| r.tablets.is_some());
            async move { r.then_some(()) }
        })
        .await;
        b
    }

    async fn run(&self, b: &BeProcess, t: TAgentTaskRequest) -> doris_thrift::master_service::TFinishTaskRequest {
        let (kind, sig) = (t.task_type, t.signature);
        assert_eq!(b.client().submit_tasks(&vec![t]).await.unwrap().status.status_code, TStatusCode::OK);
        self.fe.wait_finish(kind, sig).await
    }

    async fn run_ok(&self, b: &BeProcess, t: TAgentTaskRequest) -> doris_thrift::master_service::TFinishTaskRequest {
        let f = self.run(b, t).await;
        assert_eq!(f.task_status.status_code, TStatusCode::OK, "{}\n{}", status_text(&f.task_status), b.log());
        f
    }

    /// The task reaches the armed failpoint: the process aborts, the FE hears nothing.
    async fn crash_on(&self, b: &mut BeProcess, t: TAgentTaskRequest, failpoint: &str) {
        let (kind, sig) = (t.task_type, t.signature);
        assert_eq!(b.client().submit_tasks(&vec![t]).await.unwrap().status.status_code, TStatusCode::OK);
        self.aborted(b, failpoint).await;
        assert!(self.fe.finished_for(kind, sig).is_empty(), "no finishTask from a process that died in the task");
    }

    async fn aborted(&self, b: &mut BeProcess, failpoint: &str) {
        let status = b.exited().await;
        assert_eq!(status.signal(), Some(SIGABRT), "{status}\n{}", b.log());
        assert!(b.log().contains("failpoint reached") && b.log().contains(failpoint), "{}", b.log());
    }

    /// The committed tablet metas, read from a copy of the meta store (the process holds
    /// the store's lock; the copy opens as after a crash).
    fn committed(&self) -> Vec<TabletMeta> {
        let copy = tempfile::tempdir().unwrap();
        let path = copy.path().join("tablet_meta.redb");
        std::fs::copy(self.root.join("meta/tablet_meta.redb"), &path).unwrap();
        MetaStore::open(&path).unwrap().load_all().unwrap()
    }

    fn tablet_dir(&self, m: &TabletMeta) -> PathBuf {
        self.root.join("data").join(m.shard_id.to_string()).join(m.tablet_id.to_string()).join(m.schema_hash.to_string())
    }

    fn meta(&self, tablet_id: i64) -> TabletMeta {
        self.committed().into_iter().find(|m| m.tablet_id == tablet_id).unwrap_or_else(|| panic!("tablet {tablet_id} committed"))
    }

    /// Every committed tablet's dir holds exactly the files of its rowsets (visible and
    /// pending), no tablet dir is left without a meta, no snapshot is half-built.
    fn assert_consistent_no_orphans(&self) {
        let metas = self.committed();
        let mut dirs: Vec<PathBuf> = Vec::new();
        for m in &metas {
            let mut expect: Vec<String> = m
                .rowsets
                .iter()
                .chain(m.pending.iter().map(|p| &p.rowset))
                .filter(|r| !r.remote)
                .flat_map(|r| r.segment_files())
                .collect();
            expect.sort();
            let dir = self.tablet_dir(m);
            assert_eq!(files(&dir), expect, "tablet {} at version {}", m.tablet_id, m.max_version());
            // Versions are contiguous from 0.
            let mut next = 0;
            for r in &m.rowsets {
                assert_eq!(r.start_version, next, "tablet {}", m.tablet_id);
                next = r.end_version + 1;
            }
            dirs.push(dir.parent().unwrap().to_path_buf());
        }
        for shard in entries(&self.root.join("data")) {
            for t in entries(&self.root.join("data").join(&shard)) {
                let d = self.root.join("data").join(&shard).join(&t);
                assert!(dirs.contains(&d), "{} has no committed meta", d.display());
            }
        }
        let staging: Vec<String> = entries(&self.root.join("snapshot")).into_iter().filter(|n| n.starts_with(".tmp.")).collect();
        assert!(staging.is_empty(), "half-built snapshots: {staging:?}");
    }

    /// A load's segment for `tablet_id`, through the endpoint a stream load writes with.
    async fn send_rowset(&self, tablet_id: i64, txn_id: i64, rows: usize) -> reqwest::Result<reqwest::Response> {
        let url = format!(
            "http://127.0.0.1:{}/api/_internal/load/rowset?tablet_id={tablet_id}&txn_id={txn_id}&partition_id={PARTITION}&num_rows={rows}",
            self.ports.2
        );
        reqwest::Client::new().post(url).header("token", TOKEN).body(random_bytes(rows * 16)).send().await
    }
}

fn entries(dir: &Path) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut v: Vec<String> = rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

fn files(dir: &Path) -> Vec<String> {
    entries(dir).into_iter().filter(|n| dir.join(n).is_file()).collect()
}

fn publish(sig: i64, txn_id: i64, version: i64) -> TAgentTaskRequest {
    let req = TPublishVersionRequest::new(txn_id, vec![TPartitionVersionInfo::new(PARTITION, version, 0)], None, None);
    task(TaskBody::PublishVersion(req), sig)
}

fn version(m: &TabletMeta) -> (i64, usize) {
    (m.max_version(), m.pending.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_while_receiving_a_load_segment() {
    let n = Node::new().await;
    let mut b = n.start(Some("load_rowset.before_meta")).await;
    n.run_ok(&b, create_task(1, 100)).await;
    assert!(n.send_rowset(100, 5, 100).await.is_err(), "the process died before answering");
    n.aborted(&mut b, "load_rowset.before_meta").await;
    let dir = n.tablet_dir(&n.meta(100));
    assert_eq!(files(&dir).len(), 1, "the segment was on disk at the crash");
    assert_eq!(version(&n.meta(100)), (1, 0));

    let b = n.restart().await;
    n.assert_consistent_no_orphans();
    assert!(files(&dir).is_empty(), "the segment no meta names is gone");
    // The coordinator's retry goes in and publishes.
    let r = n.send_rowset(100, 5, 100).await.unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    n.run_ok(&b, publish(2, 5, 2)).await;
    assert_eq!(version(&n.meta(100)), (2, 0));
    n.assert_consistent_no_orphans();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_each_step_of_publish_version() {
    let n = Node::new().await;
    let b = n.start(None).await;
    for (sig, t) in [(1, 100), (2, 101)] {
        n.run_ok(&b, create_task(sig, t)).await;
    }
    // Two loads pending on both tablets: txn 5 (to publish as version 2), txn 6 (3).
    for txn in [5, 6] {
        for t in [100, 101] {
            assert!(n.send_rowset(t, txn, 10).await.unwrap().status().is_success());
        }
    }
    drop(b); // SIGKILL

    // Before the commit: both tablets still at 1, both txns pending.
    let mut b = n.start(Some("publish_version.before_meta")).await;
    n.crash_on(&mut b, publish(10, 5, 2), "publish_version.before_meta").await;
    assert_eq!([version(&n.meta(100)), version(&n.meta(101))], [(1, 2), (1, 2)]);
    drop(b);

    // After the first tablet's commit: 100 at 2, 101 still waiting for txn 5.
    let mut b = n.start(Some("publish_version.after_meta")).await;
    n.crash_on(&mut b, publish(11, 5, 2), "publish_version.after_meta").await;
    assert_eq!([version(&n.meta(100)), version(&n.meta(101))], [(2, 1), (1, 2)]);

    // The FE sends the publish again: both tablets at 2, then the next txn at 3.
    let b = n.restart().await;
    n.assert_consistent_no_orphans();
    let f = n.run_ok(&b, publish(12, 5, 2)).await;
    assert_eq!(f.error_tablet_ids.unwrap_or_default(), Vec::<i64>::new());
    assert_eq!([version(&n.meta(100)), version(&n.meta(101))], [(2, 1), (2, 1)]);
    n.run_ok(&b, publish(13, 6, 3)).await;
    assert_eq!([version(&n.meta(100)), version(&n.meta(101))], [(3, 0), (3, 0)]);
    n.assert_consistent_no_orphans();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_each_step_of_make_snapshot_and_move() {
    let n = Node::new().await;
    let b = n.start(None).await;
    for (sig, t) in [(1, 100), (2, 101)] {
        n.run_ok(&b, create_task(sig, t)).await;
    }
    assert!(n.send_rowset(100, 5, 50).await.unwrap().status().is_success());
    n.run_ok(&b, publish(3, 5, 2)).await;
    assert!(n.send_rowset(101, 6, 20).await.unwrap().status().is_success());
    n.run_ok(&b, publish(4, 6, 2)).await;
    drop(b);
    let snapshots = || entries(&n.root.join("snapshot"));

    // MAKE_SNAPSHOT: staging filled, not renamed -> swept at the restart.
    let mut b = n.start(Some("make_snapshot.after_link")).await;
    n.crash_on(&mut b, snapshot_task(10, 100, true), "make_snapshot.after_link").await;
    assert_eq!(snapshots().len(), 1);
    assert!(snapshots()[0].starts_with(".tmp."));
    drop(b);
    // Renamed, never reported: a snapshot no FE knows, which expires like any other.
    let mut b = n.start(Some("make_snapshot.after_rename")).await;
    n.crash_on(&mut b, snapshot_task(11, 100, true), "make_snapshot.after_rename").await;
    let b = n.restart().await;
    n.assert_consistent_no_orphans();
    assert_eq!(snapshots().len(), 1, "the unreported snapshot stays until it expires: {:?}", snapshots());
    let f = n.run_ok(&b, snapshot_task(12, 100, true)).await;
    let snap = PathBuf::from(f.snapshot_path.unwrap());
    let src = snap.join("100").join(SCHEMA_HASH.to_string());
    assert!(src.join("100.hdr").is_file());
    drop(b);

    // MOVE tablet 100's snapshot into tablet 101: links placed, meta not committed.
    let before_101 = n.meta(101);
    let mut b = n.start(Some("move_dir.after_link")).await;
    n.crash_on(&mut b, move_task(20, 101, &src.display().to_string(), 9), "move_dir.after_link").await;
    assert_eq!(files(&n.tablet_dir(&before_101)).len(), 2, "the linked segment was there at the crash");
    drop(b);
    let b = n.restart().await;
    n.assert_consistent_no_orphans();
    assert_eq!(n.meta(101), before_101, "tablet 101 reads its old version");
    drop(b);
    // Meta committed, old files not yet removed, no LOADED marker.
    let mut b = n.start(Some("move_dir.after_meta")).await;
    n.crash_on(&mut b, move_task(21, 101, &src.display().to_string(), 9), "move_dir.after_meta").await;
    let b = n.restart().await;
    n.assert_consistent_no_orphans();
    let moved = n.meta(101);
    let rows = |m: &TabletMeta| m.rowsets.iter().map(|r| r.num_rows).collect::<Vec<_>>();
    assert_eq!(rows(&moved), rows(&n.meta(100)), "tablet 101 holds tablet 100's data");
    // The FE sends the MOVE again: OK, same data.
    n.run_ok(&b, move_task(22, 101, &src.display().to_string(), 9)).await;
    assert_eq!(rows(&n.meta(101)), rows(&n.meta(100)));
    n.assert_consistent_no_orphans();
}
