//! The real `doris-rs be` binary as a child process (built with
//! `cargo build --workspace --bins --features doris-rs/failpoints`): started on a conf
//! file, optionally armed to abort at a failpoint (`DORIS_RS_FAILPOINT`), killed, and
//! started again on the same storage.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use doris_thrift::heartbeat_service::THeartbeatResult;
use doris_thrift::services::{BackendServiceClient, HeartbeatServiceClient};
use doris_thrift::transport::{ClientOptions, ClientPool};

use super::{master_info, wait_for};

pub fn binary() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("target"));
    let bin = target.join("debug").join("doris-rs");
    assert!(bin.is_file(), "{} is missing: run `cargo build --bin doris-rs` first", bin.display());
    bin
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// (be_port, heartbeat_service_port, webserver_port)
pub type Ports = (u16, u16, u16);

pub fn free_ports() -> Ports {
    (free_port(), free_port(), free_port())
}

/// A be.conf for one storage root and `ports`, with fast reports.
pub fn write_conf(conf: &Path, root: &Path, ports: Ports) {
    std::fs::write(
        conf,
        format!(
            "be_port = {}\nheartbeat_service_port = {}\nwebserver_port = {}\nbrpc_port = 18062\n\
             storage_root_path = {}\nreport_task_interval_seconds = 1\nreport_tablet_interval_seconds = 1\n\
             storage_min_left_capacity_bytes = 0\n",
            ports.0,
            ports.1,
            ports.2,
            root.display()
        ),
    )
    .unwrap();
}

pub struct BeProcess {
    pub child: Child,
    pub log: PathBuf,
    pub heartbeat: String,
    pub be: String,
    pub http: String,
}

impl BeProcess {
    pub fn spawn(conf: &Path, log: &Path, ports: Ports) -> BeProcess {
        Self::spawn_armed(conf, log, ports, None)
    }

    /// Started with `DORIS_RS_FAILPOINT=<failpoint>`: it aborts when it gets there.
    pub fn spawn_armed(conf: &Path, log: &Path, ports: Ports, failpoint: Option<&str>) -> BeProcess {
        let out = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
        let mut cmd = Command::new(binary());
        cmd.args(["be", "--conf"])
            .arg(conf)
            .env("RUST_LOG", "info")
            .env_remove("DORIS_RS_FAILPOINT")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out);
        if let Some(f) = failpoint {
            cmd.env("DORIS_RS_FAILPOINT", f);
        }
        let child = cmd.spawn().expect("spawn doris-rs be");
        BeProcess {
            child,
            log: log.to_path_buf(),
            be: format!("127.0.0.1:{}", ports.0),
            heartbeat: format!("127.0.0.1:{}", ports.1),
            http: format!("127.0.0.1:{}", ports.2),
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Heartbeat (as `backend_id`, with `token`) until the process answers (it is up
    /// once it does).
    pub async fn heartbeat_as(&mut self, fe_port: i32, token: &str, backend_id: i64) -> THeartbeatResult {
        let pool = ClientPool::new();
        let m = master_info(fe_port, 5, 1, token, backend_id);
        let addr = self.heartbeat.clone();
        let child = std::cell::RefCell::new(&mut self.child);
        let log = self.log.clone();
        wait_for("the BE process to answer heartbeats", || {
            let c = HeartbeatServiceClient::new(pool.channel(addr.clone(), ClientOptions::default()));
            let m = m.clone();
            if let Ok(Some(status)) = child.borrow_mut().try_wait() {
                panic!("the BE process exited with {status}:\n{}", std::fs::read_to_string(&log).unwrap_or_default());
            }
            async move { c.heartbeat(&m).await.ok() }
        })
        .await
    }

    pub fn client(&self) -> BackendServiceClient {
        BackendServiceClient::new(ClientPool::new().channel(self.be.clone(), ClientOptions::default()))
    }

    /// Wait until the process ended by itself; its exit status.
    pub async fn exited(&mut self) -> std::process::ExitStatus {
        let child = std::cell::RefCell::new(&mut self.child);
        wait_for("the BE process to exit", || {
            let s = child.borrow_mut().try_wait().ok().flatten();
            async move { s }
        })
        .await
    }
}

impl Drop for BeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
