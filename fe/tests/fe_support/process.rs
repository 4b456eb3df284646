//! BEs as OS processes of the `doris-rs` binary (`doris-rs be --conf be.conf`).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::wait_for;

/// The `doris-rs` binary: DORIS_RS_BIN, or the workspace's debug build.
pub fn binary() -> PathBuf {
    let p = std::env::var_os("DORIS_RS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug/doris-rs"));
    assert!(
        p.exists(),
        "{} is missing: build it first with `cargo build -p doris-rs` (or set DORIS_RS_BIN)",
        p.display()
    );
    p
}

pub fn free_port() -> u16 {
    // Bound and released: another process could take it in between, which is rare enough
    // on a test machine and fails loudly (the BE cannot bind) rather than silently.
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `doris-rs be` process; killed and reaped on drop.
pub struct BeProcess {
    pub child: Child,
    pub be_port: u16,
    pub hb_port: u16,
    pub http_port: u16,
    pub dir: tempfile::TempDir,
}

impl Drop for BeProcess {
    fn drop(&mut self) {
        // Only the process this test started.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start a BE process in its own temporary directory and wait until it listens.
pub async fn spawn_be() -> BeProcess {
    let dir = tempfile::tempdir().unwrap();
    let (be_port, hb_port, http_port, brpc_port) =
        (free_port(), free_port(), free_port(), free_port());
    let storage = dir.path().join("storage");
    std::fs::create_dir_all(&storage).unwrap();
    let conf = dir.path().join("be.conf");
    std::fs::write(
        &conf,
        format!(
            "be_port = {be_port}\nheartbeat_service_port = {hb_port}\nwebserver_port = {http_port}\nbrpc_port = {brpc_port}\n\
             storage_root_path = {}\npriority_networks = 127.0.0.0/8\nreport_tablet_interval_seconds = 1\n\
             report_disk_state_interval_seconds = 1\nreport_task_interval_seconds = 1\n",
            storage.display()
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.path().join("be.log")).unwrap();
    let child = Command::new(binary())
        .args(["be", "--conf"])
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn doris-rs be");
    let mut be = BeProcess {
        child,
        be_port,
        hb_port,
        http_port,
        dir,
    };
    let what = format!("the BE to listen on {hb_port}/{be_port}");
    wait_for(60, &what, || {
        if let Ok(Some(status)) = be.child.try_wait() {
            let log = std::fs::read_to_string(be.dir.path().join("be.log")).unwrap_or_default();
            panic!("BE exited with {status} before listening:\n{log}");
        }
        async move {
            let hb = tokio::net::TcpStream::connect(("127.0.0.1", hb_port)).await;
            let rpc = tokio::net::TcpStream::connect(("127.0.0.1", be_port)).await;
            (hb.is_ok() && rpc.is_ok()).then_some(())
        }
    })
    .await;
    be
}
