//! The BE webserver over real sockets: download API (listing, bytes, HEAD, md5, ranges,
//! our `with_stat` listing), token and path checks, health, metrics, shutdown.

#[path = "pull_support/mod.rs"]
mod support;

use std::os::unix::fs::symlink;

use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, RANGE};
use reqwest::StatusCode;
use support::*;

const TOKEN: &str = "0c6ee3e4-8d6b-4bc4-9d55-2c1c5a6cbb21";
const SECRET: &str = "TOP-SECRET-CONTENT";

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// A BE with a snapshot dir holding three files, a subdir and a symlink.
async fn be_with_files() -> (Be, std::path::PathBuf, Vec<(String, Vec<u8>)>) {
    let be = start_be(TOKEN, |_| {}).await;
    let dir = be.snapshot_dir("20261122010203.1.3600", 1001);
    let files = vec![
        ("1001.hdr".to_string(), bytes(1, 777)),
        ("02000000000000aa_0.dat".to_string(), bytes(2, 1_000_003)),
        ("empty.idx".to_string(), Vec::new()),
    ];
    write_owned(&dir, &files);
    std::fs::create_dir(dir.join("subdir")).unwrap();
    symlink(dir.join("1001.hdr"), dir.join("link.hdr")).unwrap();
    (be, dir, files)
}

#[tokio::test]
async fn directory_listing_names_then_stat_lines() {
    let (be, dir, files) = be_with_files().await;
    let c = client();
    let r = c.get(be.url(&format!("token={TOKEN}&file={}", dir.display()))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body = r.text().await.unwrap();
    // Regular files only, one per line; no subdir, no symlink.
    assert_eq!(body, "02000000000000aa_0.dat\n1001.hdr\nempty.idx\n");

    let r = c
        .get(be.url(&format!("token={TOKEN}&file={}/&with_stat=true&channel=ingest_binlog", dir.display())))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body = r.text().await.unwrap();
    let mut want: Vec<String> = files.iter().map(|(n, b)| format!("{n}\t{}\t{}", b.len(), md5_hex(b))).collect();
    want.sort();
    assert_eq!(body.lines().collect::<Vec<_>>(), want);

    // Sizes without hashing, for clients that do not verify md5s.
    let r = c
        .get(be.url(&format!("token={TOKEN}&file={}&with_stat=true&with_md5=false", dir.display())))
        .send()
        .await
        .unwrap();
    let body = r.text().await.unwrap();
    let mut want: Vec<String> = files.iter().map(|(n, b)| format!("{n}\t{}", b.len())).collect();
    want.sort();
    assert_eq!(body.lines().collect::<Vec<_>>(), want);
}

#[tokio::test]
async fn file_bytes_head_md5_and_ranges() {
    let (be, dir, files) = be_with_files().await;
    let c = client();
    let (name, data) = &files[1];
    let q = format!("token={TOKEN}&file={}/{name}", dir.display());

    let r = c.get(be.url(&q)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[CONTENT_LENGTH], data.len().to_string().as_str());
    assert!(r.headers().get("Content-MD5").is_none());
    assert_eq!(r.bytes().await.unwrap().as_ref(), data.as_slice());

    let r = c.head(be.url(&q)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[CONTENT_LENGTH], data.len().to_string().as_str());
    assert!(r.bytes().await.unwrap().is_empty());

    let r = c.head(be.url(&format!("{q}&acquire_md5=true"))).send().await.unwrap();
    assert_eq!(r.headers()["Content-MD5"], md5_hex(data).as_str());
    assert_eq!(r.headers()[CONTENT_LENGTH], data.len().to_string().as_str());
    let r = c.get(be.url(&format!("{q}&acquire_md5=true"))).send().await.unwrap();
    assert_eq!(r.headers()["Content-MD5"], md5_hex(data).as_str());
    assert_eq!(r.bytes().await.unwrap().as_ref(), data.as_slice());

    // Open-ended, bounded and suffix ranges.
    let r = c.get(be.url(&q)).header(RANGE, "bytes=1000-").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.headers()[CONTENT_RANGE], format!("bytes 1000-{}/{}", data.len() - 1, data.len()).as_str());
    assert_eq!(r.headers()[CONTENT_LENGTH], (data.len() - 1000).to_string().as_str());
    assert_eq!(r.bytes().await.unwrap().as_ref(), &data[1000..]);

    let r = c.get(be.url(&q)).header(RANGE, "bytes=10-19").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.headers()[CONTENT_RANGE], format!("bytes 10-19/{}", data.len()).as_str());
    assert_eq!(r.bytes().await.unwrap().as_ref(), &data[10..20]);

    let r = c.get(be.url(&q)).header(RANGE, "bytes=-5").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.bytes().await.unwrap().as_ref(), &data[data.len() - 5..]);

    let r = c.head(be.url(&q)).header(RANGE, "bytes=7-").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.headers()[CONTENT_LENGTH], (data.len() - 7).to_string().as_str());

    let r = c.get(be.url(&q)).header(RANGE, format!("bytes={}-", data.len())).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(r.headers()[CONTENT_RANGE], format!("bytes */{}", data.len()).as_str());

    // Several ranges are not supported: the whole file, as a client must accept.
    let r = c.get(be.url(&q)).header(RANGE, "bytes=0-1,5-6").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.unwrap().len(), data.len());

    // An empty file.
    let r = c.get(be.url(&format!("token={TOKEN}&file={}/empty.idx", dir.display()))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[CONTENT_LENGTH], "0");
    assert!(r.bytes().await.unwrap().is_empty());

    // Missing file inside a root.
    let r = c.get(be.url(&format!("token={TOKEN}&file={}/nope.dat", dir.display()))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn listing_md5s_are_cached_until_the_file_changes() {
    let (be, dir, _files) = be_with_files().await;
    let c = client();
    let q = be.url(&format!("token={TOKEN}&file={}&with_stat=true", dir.display()));
    let first = c.get(&q).send().await.unwrap().text().await.unwrap();
    // Rewrite a file with new bytes of the same size: its mtime changes, so the md5 too.
    let p = dir.join("1001.hdr");
    std::fs::write(&p, bytes(99, 777)).unwrap();
    // Pin a distinct mtime: clocks can be coarser than the two writes are apart.
    let f = std::fs::File::options().write(true).open(&p).unwrap();
    f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000)).unwrap();
    let second = c.get(&q).send().await.unwrap().text().await.unwrap();
    assert_ne!(first, second);
    assert!(second.contains(&format!("1001.hdr\t777\t{}", md5_hex(&bytes(99, 777)))), "{second}");
}

#[tokio::test]
async fn token_is_required_and_checked() {
    let (be, dir, _) = be_with_files().await;
    let c = client();
    let f = format!("{}/1001.hdr", dir.display());
    for q in [
        format!("file={f}"),
        format!("token=&file={f}"),
        format!("token=wrong&file={f}"),
        format!("token={}&file={f}", &TOKEN[..TOKEN.len() - 1]),
        format!("token={TOKEN}x&file={f}"),
        format!("token={}&file={f}", TOKEN.to_uppercase()),
    ] {
        let r = c.get(be.url(&q)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{q}");
        let body = r.text().await.unwrap();
        assert!(body.contains("NOT_AUTHORIZED"), "{body}");
    }
    // Before any heartbeat the BE has no token: nothing is served.
    be.ctx.master.write().unwrap().token.clear();
    let r = c.get(be.url(&format!("token=&file={f}"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn path_attacks_are_refused() {
    // Two BEs in one process; roots `be1` and `be1x` side by side so a string-prefix
    // check would let be1 serve be1x's files.
    let base = tempfile::tempdir().unwrap();
    let outside = base.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret"), SECRET).unwrap();
    let base_path = base.path().to_path_buf();
    let be = start_be_in(base, TOKEN, "be1", |_| {}).await;
    let other = {
        let d = tempfile::tempdir_in(&base_path).unwrap();
        start_be_in(d, "other-token", "be1x", |_| {}).await
    };
    // A sibling root with a shared name prefix, configured by hand.
    let sibling = base_path.join("be1x");
    std::fs::create_dir_all(sibling.join("snapshot")).unwrap();
    std::fs::write(sibling.join("snapshot/secret"), SECRET).unwrap();
    let other_file = other.root.join("snapshot/secret");
    std::fs::write(&other_file, SECRET).unwrap();

    let root = be.root.clone();
    let snap = root.join("snapshot");
    std::fs::write(snap.join("ok.dat"), b"fine").unwrap();
    symlink(outside.join("secret"), snap.join("link_out")).unwrap();
    symlink(&outside, snap.join("linkdir")).unwrap();
    symlink(&other.root, snap.join("link_other_be")).unwrap();
    let o = outside.display();
    let r = root.display();

    let attacks: Vec<(String, &[u16])> = vec![
        (format!("file={r}/../outside/secret"), &[403]),
        (format!("file={r}/snapshot/%2e%2e/%2e%2e/outside/secret"), &[403]),
        (format!("file={r}/snapshot/%2E%2E/%2E%2E/outside/secret"), &[403]),
        (format!("file={r}/snapshot/.."), &[403]),
        (format!("file={r}/snapshot/..%2f..%2foutside%2fsecret"), &[403]),
        (format!("file={r}\\..\\..\\outside\\secret"), &[403]),
        (format!("file={r}/snapshot/%252e%252e/%252e%252e/outside/secret"), &[404]),
        ("file=/etc/passwd".to_string(), &[401]),
        ("file=/etc/passwd/".to_string(), &[404]),
        ("file=//etc//passwd".to_string(), &[401]),
        ("file=%2Fetc%2Fpasswd".to_string(), &[401]),
        ("file=/proc/self/root/etc/passwd".to_string(), &[401]),
        ("file=/dev/zero".to_string(), &[401]),
        (format!("file={o}/secret"), &[401]),
        (format!("file={o}"), &[401]),
        (format!("file={r}/snapshot/link_out"), &[401]),
        (format!("file={r}/snapshot/linkdir/secret"), &[401]),
        (format!("file={r}/snapshot/linkdir/"), &[401]),
        (format!("file={r}/snapshot/link_other_be/snapshot/secret"), &[401]),
        (format!("file={}", other_file.display()), &[401]),
        (format!("file={}/snapshot/secret", sibling.display()), &[401]),
        (format!("file={r}x/snapshot/secret"), &[401, 404]),
        (format!("file={r}/snapshot/ok.dat%00/../../outside/secret"), &[400]),
        (format!("file={r}/snapshot/ok.dat%00"), &[400]),
        ("file=snapshot/ok.dat".to_string(), &[403]),
        ("file=./outside/secret".to_string(), &[403]),
        ("file=~/outside/secret".to_string(), &[403]),
        ("file=".to_string(), &[400]),
        (String::new(), &[400]),
        (format!("file=/etc/passwd&file={r}/snapshot/ok.dat"), &[401]),
        (format!("file={r}/snapshot/ok.dat/"), &[404]),
        (format!("file={r}/snapshot/ok.dat/."), &[404]),
        (format!("file={r}/snapshot/%E2%80%A5/outside/secret"), &[404]),
        (format!("file={r}/snapshot/%ff"), &[400, 404]),
    ];
    assert!(attacks.len() >= 20);
    let c = client();
    for (q, codes) in &attacks {
        let url = be.url(&format!("token={TOKEN}&{q}"));
        for method in [reqwest::Method::GET, reqwest::Method::HEAD] {
            let resp = c.request(method.clone(), &url).send().await.unwrap();
            let status = resp.status().as_u16();
            let body = resp.text().await.unwrap();
            assert!(codes.contains(&status), "{method} {q}: got {status} {body}");
            assert!(!body.contains(SECRET) && !body.contains("root:"), "{q} leaked: {body}");
        }
    }
    // The same BE serves its own files, through a symlink-free path.
    let ok = c.get(be.url(&format!("token={TOKEN}&file={r}//snapshot/./ok.dat"))).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.text().await.unwrap(), "fine");
    // And the other BE, with its own token, serves its own file but refuses ours.
    let r2 = c
        .get(other.url(&format!("token=other-token&file={}", other_file.display())))
        .send()
        .await
        .unwrap();
    assert_eq!(r2.status(), StatusCode::OK);
    let r3 = c.get(other.url(&format!("token={TOKEN}&file={}", other_file.display()))).send().await.unwrap();
    assert_eq!(r3.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn health_metrics_and_graceful_shutdown() {
    let be = start_be(TOKEN, |_| {}).await;
    let c = client();
    let r = c.get(format!("http://{}/api/health", be.addr)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[CONTENT_TYPE], "application/json");
    let v: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(v["status"], "OK");
    assert_eq!(v["msg"], "To Be Added");

    be.ctx.metrics.download_files.fetch_add(3, std::sync::atomic::Ordering::Relaxed);
    let r = c.get(format!("http://{}/metrics", be.addr)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[CONTENT_TYPE], "text/plain; version=0.0.4");
    let body = r.text().await.unwrap();
    assert!(body.contains("doris_be_download_files_total 3"), "{body}");

    let r = c.get(format!("http://{}/no/such/route", be.addr)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    drop(c); // close our keep-alive connection so shutdown has nothing to wait for
    be.stop.cancel();
    be.server.await.unwrap().unwrap();
    assert!(tokio::net::TcpStream::connect(be.addr).await.is_err());
}

#[tokio::test]
async fn large_file_streams_intact() {
    let be = start_be(TOKEN, |_| {}).await;
    let dir = be.snapshot_dir("20261122010203.2.3600", 7);
    let data = bytes(7, 24 * 1024 * 1024 + 13);
    write_files(&dir, &[("big.dat", data.clone())]);
    let r = client().get(be.url(&format!("token={TOKEN}&file={}/big.dat", dir.display()))).send().await.unwrap();
    assert_eq!(r.headers()[CONTENT_LENGTH], data.len().to_string().as_str());
    let got = r.bytes().await.unwrap();
    assert_eq!(got.len(), data.len());
    assert!(got.as_ref() == data.as_slice());
}

/// A peer that stops reading a large download does not hold the webserver's shutdown: the
/// server ends once the grace is over, and stops listening.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_download_does_not_hold_shutdown() {
    let be = start_be(TOKEN, |_| {}).await;
    let dir = be.snapshot_dir("20261122010203.3.3600", 8);
    write_files(&dir, &[("big.dat", bytes(8, 64 * 1024 * 1024))]);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = doris_be::http::CancellationToken::new();
    let grace = std::time::Duration::from_millis(300);
    let server = tokio::spawn(doris_be::http::serve_draining(be.ctx.clone(), listener, stop.clone(), grace));
    let url = format!("http://{addr}/api/_tablet/_download?token={TOKEN}&file={}/big.dat", dir.display());
    // Headers only: the 64 MiB body stays unread, far beyond the socket buffers.
    let stalled = client().get(url).send().await.unwrap();
    assert_eq!(stalled.status(), StatusCode::OK);
    stop.cancel();
    let ended = tokio::time::timeout(std::time::Duration::from_secs(30), server).await;
    assert!(matches!(ended, Ok(Ok(Ok(())))), "the server ended after its grace: {ended:?}");
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "no longer listening");
    drop(stalled);
}
