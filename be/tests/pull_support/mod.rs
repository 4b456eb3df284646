//! Shared by the http_* and pull_* tests: real BE contexts with their own storage roots,
//! serving the real webserver on 127.0.0.1, and snapshot directories on disk.
#![allow(dead_code)]

pub mod gate;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use doris_be::config::BeConfig;
use doris_be::error::{BeError, Result};
use doris_be::http::CancellationToken;
use doris_be::pull::PullProgress;
use doris_be::storage::StorageEngine;
use doris_be::BeContext;
use doris_thrift::agent_service::TRemoteTabletSnapshot;
use doris_thrift::types::TNetworkAddress;

pub const SCHEMA_HASH: i64 = 368169781;

pub struct Be {
    pub ctx: Arc<BeContext>,
    pub addr: SocketAddr,
    pub root: PathBuf,
    pub stop: CancellationToken,
    pub server: tokio::task::JoinHandle<std::io::Result<()>>,
    pub dir: tempfile::TempDir,
}

impl Be {
    pub fn url(&self, query: &str) -> String {
        format!("http://{}/api/_tablet/_download?{query}", self.addr)
    }

    pub fn snapshot_dir(&self, ts: &str, tablet_id: i64) -> PathBuf {
        self.root.join("snapshot").join(ts).join(tablet_id.to_string()).join(SCHEMA_HASH.to_string())
    }
}

/// A BE with one storage root `<tmp>/<root_name>`, its token set as a heartbeat would.
pub async fn start_be_named(token: &str, root_name: &str, tweak: impl FnOnce(&mut BeConfig)) -> Be {
    let dir = tempfile::tempdir().unwrap();
    start_be_in(dir, token, root_name, tweak).await
}

pub async fn start_be(token: &str, tweak: impl FnOnce(&mut BeConfig)) -> Be {
    start_be_named(token, "root", tweak).await
}

pub async fn start_be_in(dir: tempfile::TempDir, token: &str, root_name: &str, tweak: impl FnOnce(&mut BeConfig)) -> Be {
    let root = dir.path().join(root_name);
    let mut config = BeConfig { storage_root_paths: vec![root.clone()], storage_min_left_capacity_bytes: 0, ..Default::default() };
    tweak(&mut config);
    let storage = StorageEngine::open(&config).unwrap();
    let ctx = BeContext::new(config, storage);
    ctx.master.write().unwrap().token = token.to_string();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    let server = tokio::spawn(doris_be::http::serve(ctx.clone(), listener, stop.clone()));
    let root = root.canonicalize().unwrap();
    Be { ctx, addr, root, stop, server, dir }
}

/// Write `files` into `dir` (created).
pub fn write_files(dir: &Path, files: &[(&str, Vec<u8>)]) {
    std::fs::create_dir_all(dir).unwrap();
    for (n, b) in files {
        std::fs::write(dir.join(n), b).unwrap();
    }
}

/// Deterministic pseudo-random bytes, different per seed.
pub fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A typical snapshot: header, segment and index files, CCR binlog files.
pub fn snapshot_files(tablet_id: i64, seed: u64) -> Vec<(String, Vec<u8>)> {
    vec![
        (format!("{tablet_id}.hdr"), bytes(seed, 700)),
        ("020000000000000b4a4f0fca5a3b8e7a_0.dat".into(), bytes(seed + 1, 300_000)),
        ("020000000000000b4a4f0fca5a3b8e7a_0.idx".into(), bytes(seed + 2, 4_096)),
        ("020000000000000c4a4f0fca5a3b8e7a_0.dat".into(), bytes(seed + 3, 1)),
        ("020000000000000c4a4f0fca5a3b8e7a_0.binlog".into(), bytes(seed + 4, 5_000)),
        ("020000000000000c4a4f0fca5a3b8e7a_0.binlog-index".into(), bytes(seed + 5, 64)),
        ("rowset_binlog_metas.pb".into(), bytes(seed + 6, 200)),
        ("empty.idx".into(), Vec::new()),
    ]
}

pub fn write_owned(dir: &Path, files: &[(String, Vec<u8>)]) {
    let v: Vec<(&str, Vec<u8>)> = files.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
    write_files(dir, &v);
}

/// name -> bytes of every regular file in `dir`.
pub fn read_dir_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut m = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            m.insert(e.file_name().into_string().unwrap(), std::fs::read(e.path()).unwrap());
        }
    }
    m
}

/// What `files` should look like once pulled into local tablet `local_id`.
pub fn expected_local(files: &[(String, Vec<u8>)], local_id: i64) -> BTreeMap<String, Vec<u8>> {
    files
        .iter()
        .map(|(n, b)| (if n.ends_with(".hdr") { format!("{local_id}.hdr") } else { n.clone() }, b.clone()))
        .collect()
}

pub fn remote_snapshot(
    remote: &Be,
    remote_dir: &Path,
    remote_tablet_id: i64,
    local_dir: &Path,
    local_tablet_id: i64,
    token: &str,
) -> TRemoteTabletSnapshot {
    TRemoteTabletSnapshot::new(
        local_tablet_id,
        local_dir.display().to_string(),
        remote_tablet_id,
        10001i64,
        TNetworkAddress { hostname: "127.0.0.1".into(), port: remote.addr.port() as i32 },
        remote_dir.display().to_string(),
        token.to_string(),
    )
}

/// Records every report; fails with `Cancelled` once `fail_at` reports were made.
#[derive(Default)]
pub struct Recorder {
    pub calls: Mutex<Vec<(i32, i32)>>,
    pub fail_at: Option<usize>,
}

#[async_trait::async_trait]
impl PullProgress for Recorder {
    async fn report(&self, finished: i32, total: i32) -> Result<()> {
        let mut c = self.calls.lock().unwrap();
        c.push((finished, total));
        if self.fail_at.is_some_and(|n| c.len() > n) {
            return Err(BeError::Cancelled("job cancelled by the FE".into()));
        }
        Ok(())
    }
}

pub fn md5_hex(b: &[u8]) -> String {
    use md5::{Digest, Md5};
    hex::encode(Md5::digest(b))
}
