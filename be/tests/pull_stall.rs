//! A source BE that stops answering: the pull gives up on it (or resumes past it) after a
//! bounded number of attempts, tells the FE it is still at work meanwhile, and names the
//! silent BE in the status. Each test waits out a reply timeout (`download_reply_timeout_sec`,
//! set to its minimum of 3 s here) once or twice.

mod agent_support;
#[path = "pull_support/mod.rs"]
mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use doris_be::agent;
use doris_be::pull::pull;
use doris_thrift::agent_service::TRemoteTabletSnapshot;
use doris_thrift::status::TStatusCode;
use doris_thrift::types::{TNetworkAddress, TTaskType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Accepts connections, reads what is sent, never answers; counts the connections.
async fn frozen_remote() -> (u16, Arc<AtomicU64>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicU64::new(0));
    let n = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            n.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while matches!(s.read(&mut buf).await, Ok(k) if k > 0) {}
            });
        }
    });
    (port, accepted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_source_fails_the_download_task_naming_it() {
    use agent_support::*;
    let fe = TestFe::start().await;
    let work = tempfile::tempdir().unwrap();
    let mut config = be_config(&work.path().join("b"));
    config.download_max_retries = 1;
    config.set("download_reply_timeout_sec", "3").unwrap();
    let b = agent::start(config).await.unwrap();
    assert_eq!(heartbeat(&b, &master_info(fe.port(), 5, 1, "tok", 1)).await.status.status_code, TStatusCode::OK);
    // Named as a fresh snapshot, so the BE's sweeper of expired snapshots leaves it alone.
    let ts = format!("{}.1.86400", chrono::Local::now().format("%Y%m%d%H%M%S"));
    let local = work.path().join("b/snapshot").join(ts).join("2001").join(SCHEMA_HASH.to_string());
    std::fs::create_dir_all(&local).unwrap();

    let (port, accepted) = frozen_remote().await;
    let snap = TRemoteTabletSnapshot {
        local_tablet_id: Some(2001),
        local_snapshot_path: Some(local.display().to_string()),
        remote_tablet_id: Some(1001),
        remote_be_id: Some(7),
        remote_be_addr: Some(TNetworkAddress { hostname: "127.0.0.1".into(), port: port as i32 }),
        remote_snapshot_path: Some(format!("/frozen/snapshot/20261205010203.1.3600/1001/{SCHEMA_HASH}")),
        remote_token: Some("remote-token".into()),
    };
    assert_eq!(submit(&b, vec![download_task(40, 9, vec![snap])]).await.status.status_code, TStatusCode::OK);

    let f = fe.wait_finish(TTaskType::DOWNLOAD, 40).await;
    let msg = status_text(&f.task_status);
    assert_eq!(f.task_status.status_code, TStatusCode::TIMEOUT, "{msg}");
    assert!(msg.contains(&format!("127.0.0.1:{port}")), "the status names the silent BE: {msg}");
    assert!(msg.contains("2 attempts"), "{msg}");
    assert!(!msg.contains("remote-token"), "{msg}");
    assert_eq!(f.downloaded_tablet_ids, Some(vec![]));
    // One listing attempt plus download_max_retries = 1 retry, each on a new connection.
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
    assert_eq!(b.ctx.metrics.download_errors.load(Ordering::Relaxed), 2);
    // The FE heard from the task when it started and again when the retry began.
    let reports: Vec<_> = fe
        .rec
        .loader_reports
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.task_id == 40)
        .map(|r| (r.finished_num, r.total_num))
        .collect();
    assert_eq!(reports, vec![(Some(0), Some(1)), (Some(0), Some(1))]);
    assert!(std::fs::read_dir(&local).unwrap().next().is_none(), "nothing was written");
    b.shutdown().await;
}

/// Forwards to `target`. The first connection whose replies pass `freeze_after` bytes
/// stops passing them there and stays open (a source that froze mid-transfer); every
/// other connection passes everything.
async fn freezing_proxy(target: std::net::SocketAddr, freeze_after: u64) -> (u16, Arc<AtomicBool>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let froze = Arc::new(AtomicBool::new(false));
    let f = froze.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = l.accept().await {
            let froze = f.clone();
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(target).await else { return };
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut cr, &mut sw).await;
                });
                let mut passed = 0u64;
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let n = match sr.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    if passed + n as u64 >= freeze_after && !froze.swap(true, Ordering::SeqCst) {
                        let keep = (freeze_after - passed) as usize;
                        let _ = cw.write_all(&buf[..keep]).await;
                        // Never return: both sockets stay open, passing nothing more.
                        return std::future::pending::<()>().await;
                    }
                    passed += n as u64;
                    if cw.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, froze)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_frozen_mid_file_is_left_and_the_file_resumed() {
    use support::*;
    let remote = start_be("remote-token", |_| {}).await;
    let local = start_be("local-token", |c| {
        c.download_max_retries = 1;
        c.set("download_reply_timeout_sec", "3").unwrap();
    })
    .await;
    let big = bytes(77, 6 << 20);
    let files = vec![("1001.hdr".to_string(), bytes(78, 600)), ("big_0.dat".to_string(), big.clone())];
    let rdir = remote.snapshot_dir("20261205010203.1.3600", 1001);
    write_owned(&rdir, &files);
    let ldir = local.snapshot_dir("20261205010204.2.3600", 2001);
    std::fs::create_dir_all(&ldir).unwrap();

    let (port, froze) = freezing_proxy(remote.addr, 2 << 20).await;
    let mut snap = remote_snapshot(&remote, &rdir, 1001, &ldir, 2001, "remote-token");
    snap.remote_be_addr.as_mut().unwrap().port = port as i32;

    let rec = Recorder::default();
    let out = tokio::time::timeout(agent_support::DEADLINE, pull(&local.ctx, 3, &[snap], &rec))
        .await
        .expect("the pull hangs on the frozen connection")
        .unwrap();
    assert!(froze.load(Ordering::SeqCst), "the proxy froze a transfer");
    assert_eq!(read_dir_files(&ldir), expected_local(&files, 2001));
    // What arrived before the freeze was kept and continued from: every byte moved once.
    let total: u64 = files.iter().map(|(_, b)| b.len() as u64).sum();
    assert_eq!(out.bytes_transferred, total);
    assert_eq!(out.files_transferred, 2);
    assert_eq!(local.ctx.metrics.download_errors.load(Ordering::Relaxed), 1);
    // Started, still at it while the retry waited, done.
    assert_eq!(*rec.calls.lock().unwrap(), vec![(0, 1), (0, 1), (1, 1)]);
}
