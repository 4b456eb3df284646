//! The real `doris-rs be` binary: start-up errors and a graceful stop on SIGTERM.
//! Needs `target/debug/doris-rs` (`cargo build --bin doris-rs`).

mod agent_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use agent_support::*;
use doris_thrift::services::HeartbeatServiceClient;
use doris_thrift::status::TStatusCode;
use doris_thrift::transport::{ClientOptions, ClientPool};

fn binary() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("target"));
    let bin = target.join("debug").join("doris-rs");
    assert!(bin.is_file(), "{} is missing: run `cargo build --bin doris-rs` first", bin.display());
    bin
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn a_bad_conf_fails_start_up_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("be.conf");
    std::fs::write(&conf, "be_port = 9060\nwebserver_port = eighty\n").unwrap();
    let out = Command::new(binary()).args(["be", "--conf"]).arg(&conf).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("webserver_port"), "{err}");

    let out = Command::new(binary()).args(["be", "--conf"]).arg(dir.path().join("missing.conf")).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.conf"));
}

// Multi-threaded: the test FE must keep answering while this thread waits on the child.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_be_gracefully_and_the_cluster_id_stays() {
    let fe = TestFe::start().await;
    let dir = tempfile::tempdir().unwrap();
    let hb_port = free_port();
    let conf = dir.path().join("be.conf");
    std::fs::write(
        &conf,
        format!(
            "be_port = {}\nheartbeat_service_port = {hb_port}\nwebserver_port = {}\nstorage_root_path = {}\n",
            free_port(),
            free_port(),
            dir.path().join("storage").display()
        ),
    )
    .unwrap();
    let log = dir.path().join("be.log");
    let start = || {
        let out = std::fs::OpenOptions::new().create(true).append(true).open(&log).unwrap();
        Command::new(binary())
            .args(["be", "--conf"])
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap()
    };
    let heartbeat = |cluster: i32| {
        let m = master_info(fe.port(), cluster, 1, "t", 1);
        async move {
            let pool = ClientPool::new();
            wait_for("the BE process to answer heartbeats", || {
                let c = HeartbeatServiceClient::new(pool.channel(format!("127.0.0.1:{hb_port}"), ClientOptions::default()));
                let m = m.clone();
                async move { c.heartbeat(&m).await.ok() }
            })
            .await
        }
    };

    let mut child = start();
    assert_eq!(heartbeat(8).await.status.status_code, TStatusCode::OK);
    let st = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap();
    assert!(st.success());
    let status = child.wait().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "exit {status}:\n{text}");
    assert!(text.contains("doris-rs BE started") && text.contains("doris-rs BE stopped"), "{text}");

    let mut child = start();
    let r = heartbeat(9).await;
    assert_eq!(r.status.status_code, TStatusCode::INTERNAL_ERROR, "the recorded cluster id 8 is kept");
    let _ = child.kill();
    let _ = child.wait();
}
