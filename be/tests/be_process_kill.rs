//! The real `doris-rs be` binary: killed with SIGKILL in the middle of a large pull,
//! restarted, sent the task again. It completes, and the restarted process moves only
//! about what was missing.
//!
//! Needs `target/debug/doris-rs` (`cargo build --bin doris-rs`). Source BE A runs
//! in-process; B reaches A's webserver through a proxy in this test that stops passing
//! bytes at 40% of the data, which holds B mid-pull for the kill.
//!
//! The snapshot is 2 GiB. A's segment files are sparse (a distinct random block every
//! MiB, holes between) so the source costs 1/16 of that on disk; B receives, hashes and
//! writes every byte, holes included. Everything lives in one temp dir, removed when the
//! test ends, failed or not.

mod agent_support;
#[path = "pull_support/gate.rs"]
mod gate;

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use agent_support::process::{free_port, BeProcess};
use agent_support::*;
use doris_be::agent::{self, BeHandle};
use doris_thrift::agent_service::TRemoteTabletSnapshot;
use doris_thrift::status::TStatusCode;
use doris_thrift::types::{TNetworkAddress, TTaskType};

const TOKEN: &str = "kill-test-token";
const SEGMENTS: u32 = 8;
const SEGMENT_BYTES: u64 = 256 << 20;
/// In every STRIDE bytes of a segment, the first BLOCK are random and the rest a hole.
const STRIDE: u64 = 1 << 20;
const BLOCK: usize = 64 << 10;

/// The pulled bytes the process counted (`doris_be_download_bytes_total`).
async fn download_bytes(b: &BeProcess) -> u64 {
    let body = reqwest::get(format!("http://{}/metrics", b.http)).await.unwrap().text().await.unwrap();
    body.lines()
        .find_map(|l| l.strip_prefix("doris_be_download_bytes_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no doris_be_download_bytes_total in /metrics:\n{body}"))
}

/// `BLOCK` pseudo-random bytes, different for every (segment, block).
fn block(seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(BLOCK);
    while out.len() < BLOCK {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

/// A rowset of sparse segments in `tablet_id` (as `add_random_rowset` makes dense ones).
fn add_sparse_rowset(a: &BeHandle, tablet_id: i64) -> Vec<String> {
    let storage = &a.ctx.storage;
    let dir = storage.tablet_dir(tablet_id).unwrap();
    let rowset_id = storage.next_rowset_id();
    let mut names = Vec::new();
    for s in 0..SEGMENTS {
        let name = format!("{rowset_id}_{s}.dat");
        let f = std::fs::File::create(dir.join(&name)).unwrap();
        f.set_len(SEGMENT_BYTES).unwrap();
        for (i, off) in (0..SEGMENT_BYTES).step_by(STRIDE as usize).enumerate() {
            f.write_all_at(&block(u64::from(s) << 32 | i as u64), off).unwrap();
        }
        names.push(name);
    }
    let v = storage.tablet_meta(tablet_id).unwrap().max_version() + 1;
    storage
        .add_rowset(
            tablet_id,
            doris_be::storage::RowsetMeta {
                rowset_id,
                start_version: v,
                end_version: v,
                num_segments: SEGMENTS,
                num_rows: 1_000_000,
                data_size: (SEGMENT_BYTES * u64::from(SEGMENTS)) as i64,
                txn_id: None,
                remote: false,
                creation_time_s: 0,
                delete_predicate: None,
            },
        )
        .unwrap();
    names
}

/// Whether two files hold the same bytes, compared piece by piece.
fn same_bytes(a: &Path, b: &Path) -> bool {
    use std::io::Read;
    let (mut fa, mut fb) = (std::fs::File::open(a).unwrap(), std::fs::File::open(b).unwrap());
    if fa.metadata().unwrap().len() != fb.metadata().unwrap().len() {
        return false;
    }
    let (mut ba, mut bb) = (vec![0u8; 8 << 20], vec![0u8; 8 << 20]);
    loop {
        let n = fa.read(&mut ba).unwrap();
        if n == 0 {
            return true;
        }
        fb.read_exact(&mut bb[..n]).unwrap();
        if ba[..n] != bb[..n] {
            return false;
        }
    }
}

async fn source_be(fe: &TestFe, root: &Path) -> (BeHandle, PathBuf, Vec<String>) {
    let a = agent::start(be_config(root)).await.unwrap();
    assert_eq!(heartbeat(&a, &master_info(fe.port(), 5, 1, TOKEN, 1)).await.status.status_code, TStatusCode::OK);
    submit(&a, vec![create_task(1, 100)]).await;
    fe.wait_finish(TTaskType::CREATE, 1).await;
    let files = add_sparse_rowset(&a, 100);
    submit(&a, vec![snapshot_task(2, 100, true)]).await;
    let f = fe.wait_finish(TTaskType::MAKE_SNAPSHOT, 2).await;
    assert_eq!(f.task_status.status_code, TStatusCode::OK, "{}", status_text(&f.task_status));
    let dir = PathBuf::from(f.snapshot_path.unwrap()).join("100").join(SCHEMA_HASH.to_string());
    (a, dir, files)
}

/// Bytes of data files (complete or partial) in a local snapshot dir.
fn data_bytes_on_disk(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| !e.file_name().to_string_lossy().ends_with(".hdr"))
        .map(|e| e.metadata().unwrap().len())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_be_resumes_its_pull_after_restart() {
    let fe = TestFe::start().await;
    let work = tempfile::tempdir().unwrap();
    let (a, a_dir, files) = source_be(&fe, &work.path().join("a")).await;
    let data_total = u64::from(SEGMENTS) * SEGMENT_BYTES;
    let proxy = gate::Gate::start(a.addrs.http, data_total * 2 / 5).await;

    let ports = (free_port(), free_port(), free_port());
    let conf = work.path().join("be.conf");
    std::fs::write(
        &conf,
        format!(
            "be_port = {}\nheartbeat_service_port = {}\nwebserver_port = {}\nbrpc_port = 18062\n\
             storage_root_path = {}\nreport_task_interval_seconds = 1\nstorage_min_left_capacity_bytes = 0\n",
            ports.0,
            ports.1,
            ports.2,
            work.path().join("b").display()
        ),
    )
    .unwrap();
    let log = work.path().join("be.log");
    let mut b = BeProcess::spawn(&conf, &log, ports);
    assert_eq!(b.heartbeat_as(fe.port(), TOKEN, 2).await.status.status_code, TStatusCode::OK, "{}", b.log());

    // B's tablet and the snapshot dir the pull fills, as a restore prepares them.
    let r = b.client().submit_tasks(&vec![create_task(10, 200)]).await.unwrap();
    assert_eq!(r.status.status_code, TStatusCode::OK);
    assert_eq!(fe.wait_finish(TTaskType::CREATE, 10).await.task_status.status_code, TStatusCode::OK);
    b.client().submit_tasks(&vec![snapshot_task(11, 200, false)]).await.unwrap();
    let f = fe.wait_finish(TTaskType::MAKE_SNAPSHOT, 11).await;
    assert_eq!(f.task_status.status_code, TStatusCode::OK, "{}", status_text(&f.task_status));
    let b_dir = PathBuf::from(f.snapshot_path.unwrap()).join("200").join(SCHEMA_HASH.to_string());

    let download = download_task(
        12,
        99,
        vec![TRemoteTabletSnapshot {
            local_tablet_id: Some(200),
            local_snapshot_path: Some(b_dir.display().to_string()),
            remote_tablet_id: Some(100),
            remote_be_id: Some(1),
            remote_be_addr: Some(TNetworkAddress { hostname: "127.0.0.1".into(), port: proxy.port as i32 }),
            remote_snapshot_path: Some(a_dir.display().to_string()),
            remote_token: Some(TOKEN.into()),
        }],
    );
    assert_eq!(b.client().submit_tasks(&vec![download.clone()]).await.unwrap().status.status_code, TStatusCode::OK);

    // The proxy holds B at 40%: wait until B has written a good part of it, then kill it.
    let http = b.http.clone();
    wait_for("B to write part of the data", || {
        let http = http.clone();
        let proxy_full = proxy.holding(data_total * 2 / 5);
        async move {
            let body = reqwest::get(format!("http://{http}/metrics")).await.ok()?.text().await.ok()?;
            let n: u64 = body.lines().find_map(|l| l.strip_prefix("doris_be_download_bytes_total "))?.trim().parse().ok()?;
            (proxy_full && n >= data_total / 4).then_some(())
        }
    })
    .await;
    b.child.kill().unwrap();
    b.child.wait().unwrap();
    assert!(fe.finished_for(TTaskType::DOWNLOAD, 12).is_empty(), "the killed process never finished the task");
    let on_disk = data_bytes_on_disk(&b_dir);
    assert!(on_disk > 0 && on_disk < data_total, "a partial pull is on disk: {on_disk} of {data_total}");
    let missing = data_total - on_disk;

    // Restart with the same conf; the FE re-sends the task it never got a finishTask for.
    proxy.open();
    let mut b = BeProcess::spawn(&conf, &log, ports);
    assert_eq!(b.heartbeat_as(fe.port(), TOKEN, 2).await.status.status_code, TStatusCode::OK, "{}", b.log());
    assert_eq!(b.client().submit_tasks(&vec![download]).await.unwrap().status.status_code, TStatusCode::OK);
    let f = fe.wait_finish(TTaskType::DOWNLOAD, 12).await;
    assert_eq!(f.task_status.status_code, TStatusCode::OK, "{}\n{}", status_text(&f.task_status), b.log());
    assert_eq!(f.downloaded_tablet_ids, Some(vec![200]));
    for name in &files {
        assert!(same_bytes(&a_dir.join(name), &b_dir.join(name)), "{name} is byte-identical");
    }
    assert!(b_dir.join("200.hdr").is_file());

    // The restarted process moved what was missing (plus the small header), not it all.
    let moved = download_bytes(&b).await;
    let slack = 1 << 20;
    eprintln!("pull resumed: {moved} bytes moved after restart, {missing} missing, {data_total} in all");
    assert!(moved >= missing, "moved {moved} < missing {missing}");
    assert!(moved <= missing + slack, "moved {moved} bytes, but only {missing} were missing (of {data_total})");
    drop(b);
    a.shutdown().await;
}
