//! The pull engine against an upstream-style download API, and the requests it makes.
//!
//! A counting proxy sits in front of a real BE of ours. In upstream mode it drops what a
//! real Doris BE ignores (`with_stat`, `Range`), so the remote answers exactly as
//! upstream's download action does: names-only listings, whole files, `Content-MD5` on
//! `acquire_md5`. In transparent mode it only counts.

#[path = "pull_support/mod.rs"]
mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::response::Response;
use doris_be::error::BeError;
use doris_be::pull::pull;
use futures::TryStreamExt;
use support::*;

const TS_REMOTE: &str = "20261122020202.1.3600";
const TS_LOCAL: &str = "20261122020203.2.3600";
const TOKEN: &str = "cluster-token-xyz";

#[derive(Default)]
struct Counts {
    listings: AtomicU64,
    heads: AtomicU64,
    file_gets: AtomicU64,
    ranged_gets: AtomicU64,
}

struct Proxy {
    target: SocketAddr,
    upstream_like: bool,
    client: reqwest::Client,
    counts: Counts,
    /// File GETs whose query lacks this text wait for `gate` permits.
    hold_unless: Option<String>,
    gate: tokio::sync::Semaphore,
    /// The next this many file GETs answer 503.
    fail_next: AtomicU64,
    /// The next this many file GETs break off after `cut_at` bytes.
    cut_next: AtomicU64,
    cut_at: usize,
}

/// Take one from a countdown; false once it is at zero.
fn take_one(n: &AtomicU64) -> bool {
    n.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1)).is_ok()
}

async fn forward(State(p): State<Arc<Proxy>>, req: Request) -> Response {
    let is_dir_listing = req.uri().query().unwrap_or("").split('&').any(|kv| kv.starts_with("file=") && !kv.rsplit('/').next().unwrap_or("").contains('.'));
    let query: Vec<&str> = req
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|kv| !(p.upstream_like && kv.starts_with("with_stat=")))
        .collect();
    let url = format!("http://{}{}?{}", p.target, req.uri().path(), query.join("&"));
    let method = req.method().clone();
    if method == axum::http::Method::HEAD {
        p.counts.heads.fetch_add(1, Ordering::Relaxed);
    } else if is_dir_listing {
        p.counts.listings.fetch_add(1, Ordering::Relaxed);
    } else {
        p.counts.file_gets.fetch_add(1, Ordering::Relaxed);
    }
    if let Some(keep) = &p.hold_unless {
        if !is_dir_listing && method == axum::http::Method::GET && !url.contains(keep.as_str()) {
            p.gate.acquire().await.unwrap().forget();
        }
    }
    let file_get = !is_dir_listing && method == axum::http::Method::GET;
    if file_get && take_one(&p.fail_next) {
        return Response::builder().status(StatusCode::SERVICE_UNAVAILABLE).body(Body::from("injected")).unwrap();
    }
    let cut = file_get && take_one(&p.cut_next);
    let mut out = p.client.request(method, &url);
    if let Some(r) = req.headers().get("range") {
        p.counts.ranged_gets.fetch_add(1, Ordering::Relaxed);
        if !p.upstream_like {
            out = out.header("range", r.clone());
        }
    }
    let resp = match out.send().await {
        Ok(r) => r,
        Err(e) => return Response::builder().status(StatusCode::BAD_GATEWAY).body(Body::from(e.to_string())).unwrap(),
    };
    let mut b = Response::builder().status(resp.status());
    for name in ["content-length", "content-md5", "content-type", "content-range"] {
        if let Some(v) = resp.headers().get(name) {
            if p.upstream_like && name == "content-range" {
                continue;
            }
            b = b.header(HeaderName::from_static(name), v.clone());
        }
    }
    if cut {
        // Forward `cut_at` bytes, then break the connection mid-body.
        let limit = p.cut_at;
        let mut sent = 0usize;
        let stream = resp.bytes_stream().map_err(std::io::Error::other).and_then(move |mut chunk| {
            let left = limit.saturating_sub(sent);
            sent += chunk.len();
            let r = if left == 0 {
                Err(std::io::Error::other("injected break"))
            } else {
                chunk.truncate(left.min(chunk.len()));
                Ok(chunk)
            };
            futures::future::ready(r)
        });
        return b.body(Body::from_stream(stream)).unwrap();
    }
    b.body(Body::from_stream(resp.bytes_stream().map_err(std::io::Error::other))).unwrap()
}

async fn start_proxy(target: SocketAddr, upstream_like: bool) -> (SocketAddr, Arc<Proxy>) {
    start_gated_proxy(target, upstream_like, None).await
}

async fn start_gated_proxy(target: SocketAddr, upstream_like: bool, hold_unless: Option<String>) -> (SocketAddr, Arc<Proxy>) {
    let p = Arc::new(Proxy {
        target,
        upstream_like,
        client: reqwest::Client::new(),
        counts: Counts::default(),
        hold_unless,
        gate: tokio::sync::Semaphore::new(0),
        fail_next: AtomicU64::new(0),
        cut_next: AtomicU64::new(0),
        cut_at: 1 << 20,
    });
    let app = axum::Router::new().fallback(forward).with_state(p.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await });
    (addr, p)
}

/// A snapshot to pull and the files it should bring.
type Staged = (doris_thrift::agent_service::TRemoteTabletSnapshot, Vec<(String, Vec<u8>)>);

/// `n` remote tablets, empty local dirs; snapshots point at the proxy.
fn stage(remote: &Be, local: &Be, proxy: SocketAddr, n: i64) -> Vec<Staged> {
    (0..n)
        .map(|i| {
            let files = snapshot_files(1000 + i, 50 + i as u64);
            let rdir = remote.snapshot_dir(TS_REMOTE, 1000 + i);
            write_owned(&rdir, &files);
            let ldir = local.snapshot_dir(TS_LOCAL, 2000 + i);
            std::fs::create_dir_all(&ldir).unwrap();
            let mut s = remote_snapshot(remote, &rdir, 1000 + i, &ldir, 2000 + i, TOKEN);
            s.remote_be_addr.as_mut().unwrap().port = proxy.port() as i32;
            (s, files)
        })
        .collect()
}

#[tokio::test]
async fn against_our_be_one_listing_per_tablet_and_no_heads() {
    let remote = start_be(TOKEN, |_| {}).await;
    let local = start_be("t2", |_| {}).await;
    let (proxy, p) = start_proxy(remote.addr, false).await;
    let staged = stage(&remote, &local, proxy, 3);
    let snaps: Vec<_> = staged.iter().map(|(s, _)| s.clone()).collect();
    let out = pull(&local.ctx, 1, &snaps, &Recorder::default()).await.unwrap();
    let nfiles: u64 = staged.iter().map(|(_, f)| f.len() as u64).sum();
    assert_eq!(out.files_transferred, nfiles);
    assert_eq!(p.counts.listings.load(Ordering::Relaxed), 3);
    assert_eq!(p.counts.heads.load(Ordering::Relaxed), 0);
    assert_eq!(p.counts.file_gets.load(Ordering::Relaxed), nfiles);
    for (i, (_, files)) in staged.iter().enumerate() {
        let id = 2000 + i as i64;
        assert_eq!(read_dir_files(&local.snapshot_dir(TS_LOCAL, id)), expected_local(files, id));
    }
}

#[tokio::test]
async fn against_an_upstream_be_heads_give_sizes_and_md5s() {
    let remote = start_be(TOKEN, |_| {}).await;
    let local = start_be("t2", |_| {}).await;
    let (proxy, p) = start_proxy(remote.addr, true).await;
    let mut staged = stage(&remote, &local, proxy, 3);
    let snaps: Vec<_> = staged.iter().map(|(s, _)| s.clone()).collect();
    // A partial copy of a big file: the upstream API ignores Range, so it comes whole.
    let big = ("big_0.dat".to_string(), bytes(77, 1_500_000));
    write_owned(&remote.snapshot_dir(TS_REMOTE, 1000), std::slice::from_ref(&big));
    let l0 = local.snapshot_dir(TS_LOCAL, 2000);
    write_files(&l0, &[("big_0.dat.part", big.1[..100_000].to_vec())]);
    staged[0].1.push(big);

    let out = pull(&local.ctx, 1, &snaps, &Recorder::default()).await.unwrap();
    let nfiles: u64 = staged.iter().map(|(_, f)| f.len() as u64).sum();
    let nbytes: u64 = staged.iter().flat_map(|(_, f)| f.iter().map(|(_, b)| b.len() as u64)).sum();
    assert_eq!(out.files_transferred, nfiles);
    assert_eq!(out.bytes_transferred, nbytes);
    assert_eq!(p.counts.listings.load(Ordering::Relaxed), 3);
    assert_eq!(p.counts.heads.load(Ordering::Relaxed), nfiles);
    assert_eq!(p.counts.ranged_gets.load(Ordering::Relaxed), 1);
    for (i, (_, files)) in staged.iter().enumerate() {
        let id = 2000 + i as i64;
        assert_eq!(read_dir_files(&local.snapshot_dir(TS_LOCAL, id)), expected_local(files, id));
    }

    // A re-run hashes local files against the HEAD md5s and moves nothing.
    let again = pull(&local.ctx, 1, &snaps, &Recorder::default()).await.unwrap();
    assert_eq!(again.bytes_transferred, 0);
    assert_eq!(again.files_skipped, nfiles);

    // Bit rot at the source (bytes change, size and mtime do not) is caught by md5.
    let rdir = remote.snapshot_dir(TS_REMOTE, 1001);
    let victim = rdir.join(&staged[1].1[1].0);
    let mtime = std::fs::metadata(&victim).unwrap().modified().unwrap();
    let mut rotten = std::fs::read(&victim).unwrap();
    rotten[7] ^= 1;
    std::fs::write(&victim, &rotten).unwrap();
    std::fs::File::options().write(true).open(&victim).unwrap().set_modified(mtime).unwrap();
    std::fs::remove_file(local.snapshot_dir(TS_LOCAL, 2001).join(&staged[1].1[1].0)).unwrap();
    let err = pull(&local.ctx, 1, &snaps, &Recorder::default()).await.unwrap_err();
    assert!(matches!(err, BeError::Corruption(_)), "{err}");
}

#[tokio::test]
async fn against_an_upstream_be_without_md5_checks_size_decides() {
    let remote = start_be(TOKEN, |_| {}).await;
    let local = start_be("t2", |c| c.download_verify_md5 = false).await;
    let (proxy, p) = start_proxy(remote.addr, true).await;
    let staged = stage(&remote, &local, proxy, 2);
    let snaps: Vec<_> = staged.iter().map(|(s, _)| s.clone()).collect();
    pull(&local.ctx, 1, &snaps, &Recorder::default()).await.unwrap();
    let heads_first = p.counts.heads.load(Ordering::Relaxed);
    assert_eq!(heads_first, staged.iter().map(|(_, f)| f.len() as u64).sum::<u64>());
    // Upstream's rule on a re-run: same size is done, the header is fetched again.
    let again = pull(&local.ctx, 1, &snaps, &Recorder::default()).await.unwrap();
    assert_eq!(again.files_transferred, 2);
    assert_eq!(again.bytes_transferred, 2 * 700);
    for (i, (_, files)) in staged.iter().enumerate() {
        let id = 2000 + i as i64;
        assert_eq!(read_dir_files(&local.snapshot_dir(TS_LOCAL, id)), expected_local(files, id));
    }
}

#[tokio::test]
async fn a_job_cancelled_part_way_stops_at_once() {
    let remote = start_be(TOKEN, |_| {}).await;
    let local = start_be("t2", |c| c.download_parallelism = 2).await;
    // Only tablet 1000's files get through; the others' GETs wait at the gate, so the
    // first tablet is the only one that can finish before the FE says "cancelled".
    let (proxy, p) = start_gated_proxy(remote.addr, false, Some("/1000/".into())).await;
    let staged = stage(&remote, &local, proxy, 6);
    let snaps: Vec<_> = staged.iter().map(|(s, _)| s.clone()).collect();
    let rec = Recorder { fail_at: Some(1), ..Default::default() };
    let err = pull(&local.ctx, 3, &snaps, &rec).await.unwrap_err();
    assert!(matches!(err, BeError::Cancelled(_)), "{err}");
    assert_eq!(*rec.calls.lock().unwrap(), vec![(0, 6), (1, 6)]);
    assert_eq!(read_dir_files(&local.snapshot_dir(TS_LOCAL, 2000)), expected_local(&staged[0].1, 2000));
    for i in 1..6 {
        let got = read_dir_files(&local.snapshot_dir(TS_LOCAL, 2000 + i));
        assert!(got.keys().all(|n| n.ends_with(".part")), "tablet {i} got files after the cancellation: {:?}", got.keys());
    }
    // The finished tablet is complete: a re-run of it moves nothing.
    p.gate.add_permits(1000);
    let again = pull(&local.ctx, 3, &snaps[..1], &Recorder::default()).await.unwrap();
    assert_eq!(again.bytes_transferred, 0);
}

#[tokio::test]
async fn transient_failures_are_retried_and_a_broken_transfer_resumes() {
    let remote = start_be(TOKEN, |_| {}).await;
    let local = start_be("t2", |c| c.download_max_retries = 3).await;
    let (proxy, p) = start_proxy(remote.addr, false).await;
    let mut staged = stage(&remote, &local, proxy, 1);
    let big = ("big_0.dat".to_string(), bytes(88, 3 * 1024 * 1024 + 3));
    write_owned(&remote.snapshot_dir(TS_REMOTE, 1000), std::slice::from_ref(&big));
    staged[0].1.push(big.clone());
    let snaps: Vec<_> = staged.iter().map(|(s, _)| s.clone()).collect();

    // Two 503s, on whichever file GETs come first: each is retried.
    local.ctx.metrics.download_errors.store(0, Ordering::Relaxed);
    p.fail_next.store(2, Ordering::SeqCst);
    let out = pull(&local.ctx, 1, &snaps, &Recorder::default()).await.unwrap();
    assert_eq!(read_dir_files(&local.snapshot_dir(TS_LOCAL, 2000)), expected_local(&staged[0].1, 2000));
    assert_eq!(local.ctx.metrics.download_errors.load(Ordering::Relaxed), 2);
    let total: u64 = staged[0].1.iter().map(|(_, b)| b.len() as u64).sum();
    assert_eq!(out.bytes_transferred, total);

    // Now only the big file is missing; its transfer breaks after 1 MiB and the retry
    // continues from what arrived (a Range request), so no byte moves twice.
    std::fs::remove_file(local.snapshot_dir(TS_LOCAL, 2000).join("big_0.dat")).unwrap();
    p.cut_next.store(1, Ordering::SeqCst);
    let ranged_before = p.counts.ranged_gets.load(Ordering::Relaxed);
    let out = pull(&local.ctx, 1, &snaps, &Recorder::default()).await.unwrap();
    assert_eq!(read_dir_files(&local.snapshot_dir(TS_LOCAL, 2000)), expected_local(&staged[0].1, 2000));
    assert_eq!(out.files_transferred, 1);
    assert_eq!(out.bytes_transferred, big.1.len() as u64);
    assert_eq!(p.counts.ranged_gets.load(Ordering::Relaxed), ranged_before + 1);
    assert_eq!(local.ctx.metrics.download_errors.load(Ordering::Relaxed), 3);
}

#[tokio::test]
async fn a_remote_that_keeps_failing_gives_up_after_the_retries() {
    let remote = start_be(TOKEN, |_| {}).await;
    let local = start_be("t2", |c| c.download_max_retries = 2).await;
    let (proxy, p) = start_proxy(remote.addr, false).await;
    let staged = stage(&remote, &local, proxy, 1);
    let snaps: Vec<_> = staged.iter().map(|(s, _)| s.clone()).collect();
    p.fail_next.store(u64::MAX, Ordering::SeqCst);
    let err = pull(&local.ctx, 1, &snaps, &Recorder::default()).await.unwrap_err();
    assert!(matches!(err, BeError::Http(_)) && err.to_string().contains("503"), "{err}");
    // One file's three attempts fail; other files may have failed alongside before the
    // pull stopped.
    assert!(local.ctx.metrics.download_errors.load(Ordering::Relaxed) >= 3);
    assert!(!err.to_string().contains(TOKEN));
}
