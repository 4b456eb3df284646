//! The snapshot pull engine between two real BEs on 127.0.0.1 (separate storage roots,
//! real webservers, real files).

#[path = "pull_support/mod.rs"]
mod support;

use std::sync::atomic::Ordering;

use doris_be::error::BeError;
use doris_be::pull::pull;
use support::*;

const TS_REMOTE: &str = "20261122010203.7.3600";
const TS_LOCAL: &str = "20261122010204.8.3600";
const REMOTE_TOKEN: &str = "remote-cluster-token";

struct Pair {
    remote: Be,
    local: Be,
}

async fn pair(tweak_local: impl FnOnce(&mut doris_be::config::BeConfig)) -> Pair {
    let remote = start_be(REMOTE_TOKEN, |_| {}).await;
    let local = start_be("local-token", tweak_local).await;
    Pair { remote, local }
}

/// Remote tablet `remote_id` with `files`, an empty local dir for `local_id`.
fn stage(p: &Pair, remote_id: i64, local_id: i64, files: &[(String, Vec<u8>)]) -> doris_thrift::agent_service::TRemoteTabletSnapshot {
    let rdir = p.remote.snapshot_dir(TS_REMOTE, remote_id);
    write_owned(&rdir, files);
    let ldir = p.local.snapshot_dir(TS_LOCAL, local_id);
    std::fs::create_dir_all(&ldir).unwrap();
    remote_snapshot(&p.remote, &rdir, remote_id, &ldir, local_id, REMOTE_TOKEN)
}

fn total_bytes(files: &[(String, Vec<u8>)]) -> u64 {
    files.iter().map(|(_, b)| b.len() as u64).sum()
}

#[tokio::test]
async fn pull_copies_renames_hdr_deletes_extras_and_a_rerun_moves_nothing() {
    let p = pair(|_| {}).await;
    let files = snapshot_files(1001, 10);
    let snap = stage(&p, 1001, 2001, &files);
    let ldir = p.local.snapshot_dir(TS_LOCAL, 2001);
    // What MAKE_SNAPSHOT left locally: the local tablet's own header and an old rowset.
    write_files(&ldir, &[("2001.hdr", bytes(500, 300)), ("0200000000000001_0.dat", bytes(501, 999))]);
    // A stray partial file of a name the remote lacks.
    write_files(&ldir, &[("gone.dat.part", bytes(502, 10))]);

    let rec = Recorder::default();
    let out = pull(&p.local.ctx, 77, std::slice::from_ref(&snap), &rec).await.unwrap();
    assert_eq!(out.downloaded_tablet_ids, vec![2001]);
    assert_eq!(out.files_transferred, files.len() as u64);
    assert_eq!(out.bytes_transferred, total_bytes(&files));
    assert_eq!(out.files_skipped, 0);
    assert_eq!(read_dir_files(&ldir), expected_local(&files, 2001));
    assert_eq!(*rec.calls.lock().unwrap(), vec![(0, 1), (1, 1)]);
    let m = &p.local.ctx.metrics;
    assert_eq!(m.download_bytes.load(Ordering::Relaxed), total_bytes(&files));
    assert_eq!(m.download_files.load(Ordering::Relaxed), files.len() as u64);
    assert_eq!(m.download_errors.load(Ordering::Relaxed), 0);

    // Again: everything is complete locally, nothing moves.
    let out = pull(&p.local.ctx, 77, std::slice::from_ref(&snap), &Recorder::default()).await.unwrap();
    assert_eq!(out.bytes_transferred, 0);
    assert_eq!(out.files_transferred, 0);
    assert_eq!(out.files_skipped, files.len() as u64);
    assert_eq!(out.downloaded_tablet_ids, vec![2001]);

    // A local file damaged in place (same size): only it is fetched again.
    let victim = ldir.join("020000000000000b4a4f0fca5a3b8e7a_0.idx");
    std::fs::write(&victim, bytes(999, 4_096)).unwrap();
    let out = pull(&p.local.ctx, 77, std::slice::from_ref(&snap), &Recorder::default()).await.unwrap();
    assert_eq!(out.bytes_transferred, 4_096);
    assert_eq!(out.files_transferred, 1);
    assert_eq!(out.files_skipped, files.len() as u64 - 1);
    assert_eq!(read_dir_files(&ldir), expected_local(&files, 2001));
}

#[tokio::test]
async fn a_partial_file_is_resumed_with_a_range_request() {
    let p = pair(|_| {}).await;
    let big = bytes(42, 3 * 1024 * 1024 + 17);
    let files = vec![("1001.hdr".to_string(), bytes(41, 500)), ("big_0.dat".to_string(), big.clone())];
    let snap = stage(&p, 1001, 2001, &files);
    let ldir = p.local.snapshot_dir(TS_LOCAL, 2001);
    // A crash left the first 1 MiB + 5 bytes of the big file, and the header complete.
    let have = 1024 * 1024 + 5;
    write_files(&ldir, &[("big_0.dat.part", big[..have].to_vec()), ("2001.hdr", files[0].1.clone())]);

    let out = pull(&p.local.ctx, 1, &[snap], &Recorder::default()).await.unwrap();
    assert_eq!(out.bytes_transferred, (big.len() - have) as u64);
    assert_eq!(out.files_transferred, 1);
    assert_eq!(out.files_skipped, 1);
    assert_eq!(read_dir_files(&ldir), expected_local(&files, 2001));
}

#[tokio::test]
async fn a_partial_file_with_bad_bytes_is_fetched_again_whole() {
    let p = pair(|_| {}).await;
    let big = bytes(43, 2 * 1024 * 1024);
    let files = vec![("1001.hdr".to_string(), bytes(44, 500)), ("big_0.dat".to_string(), big.clone())];
    let snap = stage(&p, 1001, 2001, &files);
    let ldir = p.local.snapshot_dir(TS_LOCAL, 2001);
    let have = 700_000;
    write_files(&ldir, &[("big_0.dat.part", bytes(7, have))]); // not the remote's bytes

    let out = pull(&p.local.ctx, 1, &[snap], &Recorder::default()).await.unwrap();
    // The resumed tail, then (md5 mismatch) the whole file, then the header.
    assert_eq!(out.bytes_transferred, (big.len() - have + big.len() + 500) as u64);
    assert_eq!(read_dir_files(&ldir), expected_local(&files, 2001));
    assert!(p.local.ctx.metrics.download_errors.load(Ordering::Relaxed) >= 1);
}

#[tokio::test]
async fn a_corrupted_remote_file_fails_with_corruption() {
    let p = pair(|_| {}).await;
    let files = snapshot_files(1001, 20);
    let snap = stage(&p, 1001, 2001, &files);
    let rdir = p.remote.snapshot_dir(TS_REMOTE, 1001);
    let name = "020000000000000b4a4f0fca5a3b8e7a_0.dat";

    // The remote hashes its files for a listing and remembers the md5 per (path, size,
    // mtime). Bit rot then changes the bytes but neither size nor mtime, so the remote
    // keeps announcing the old md5 while serving different bytes.
    let c = reqwest::Client::new();
    let listing = c
        .get(p.remote.url(&format!("token={REMOTE_TOKEN}&file={}&with_stat=true", rdir.display())))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(listing.contains(name));
    let path = rdir.join(name);
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    let mut rotten = std::fs::read(&path).unwrap();
    rotten[12_345] ^= 0x40;
    std::fs::write(&path, &rotten).unwrap();
    std::fs::File::options().write(true).open(&path).unwrap().set_modified(mtime).unwrap();

    let err = pull(&p.local.ctx, 1, &[snap], &Recorder::default()).await.unwrap_err();
    assert!(matches!(err, BeError::Corruption(_)), "{err}");
    assert!(err.to_string().contains(name), "{err}");
    let ldir = p.local.snapshot_dir(TS_LOCAL, 2001);
    let local = read_dir_files(&ldir);
    assert!(!local.contains_key(name), "a corrupt file must not land");
    assert!(!local.contains_key(&format!("{name}.part")), "nor stay as a partial file");
    assert!(p.local.ctx.metrics.download_errors.load(Ordering::Relaxed) >= 1);
}

#[tokio::test]
async fn a_wrong_token_fails_with_not_authorized() {
    let p = pair(|_| {}).await;
    let files = snapshot_files(1001, 30);
    let mut snap = stage(&p, 1001, 2001, &files);
    snap.remote_token = Some("stolen-or-stale-token".into());
    let err = pull(&p.local.ctx, 1, &[snap], &Recorder::default()).await.unwrap_err();
    assert!(matches!(err, BeError::NotAuthorized(_)), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("remote BE refused the token"), "{msg}");
    assert!(!msg.contains("stolen-or-stale-token"), "the token must not appear: {msg}");
    assert!(read_dir_files(&p.local.snapshot_dir(TS_LOCAL, 2001)).is_empty());
}

#[tokio::test]
async fn many_tablets_share_one_pool_and_report_progress() {
    let p = pair(|c| c.download_parallelism = 3).await;
    let mut snaps = Vec::new();
    let mut all = Vec::new();
    for i in 0..25i64 {
        let files = snapshot_files(1000 + i, 100 + i as u64 * 10);
        snaps.push(stage(&p, 1000 + i, 2000 + i, &files));
        all.push((2000 + i, files));
    }
    let rec = Recorder::default();
    let out = pull(&p.local.ctx, 5, &snaps, &rec).await.unwrap();
    let mut ids = out.downloaded_tablet_ids.clone();
    ids.sort();
    assert_eq!(ids, (2000..2025).collect::<Vec<_>>());
    for (id, files) in &all {
        assert_eq!(read_dir_files(&p.local.snapshot_dir(TS_LOCAL, *id)), expected_local(files, *id));
    }
    let calls = rec.calls.lock().unwrap().clone();
    // Reports go at most every second (a round trip to the FE per tablet would pace the
    // pull), always the last one; the count only grows.
    assert_eq!(calls.first(), Some(&(0, 25)));
    assert_eq!(calls.last(), Some(&(25, 25)));
    assert!(calls.windows(2).all(|w| w[1].0 > w[0].0), "{calls:?}");
}

#[tokio::test]
async fn upstream_mode_gives_the_same_files() {
    let p = pair(|_| {}).await;
    let up = start_be("local-token-2", |c| c.download_upstream_mode = true).await;
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for i in 0..4i64 {
        let files = snapshot_files(1000 + i, 300 + i as u64);
        let s = stage(&p, 1000 + i, 2000 + i, &files);
        let ldir = up.snapshot_dir(TS_LOCAL, 2000 + i);
        std::fs::create_dir_all(&ldir).unwrap();
        // An extra local file, and a header of another size: deleted and replaced.
        write_files(&ldir, &[("old_0.dat", bytes(1, 10)), (&format!("{}.hdr", 2000 + i), bytes(2, 3))]);
        let mut u = s.clone();
        u.local_snapshot_path = Some(ldir.display().to_string());
        ours.push(s);
        theirs.push(u);
    }
    let rec = Recorder::default();
    let a = pull(&p.local.ctx, 9, &ours, &Recorder::default()).await.unwrap();
    let b = pull(&up.ctx, 9, &theirs, &rec).await.unwrap();
    assert_eq!(a.downloaded_tablet_ids, b.downloaded_tablet_ids);
    assert_eq!(a.bytes_transferred, b.bytes_transferred);
    for i in 0..4i64 {
        assert_eq!(
            read_dir_files(&p.local.snapshot_dir(TS_LOCAL, 2000 + i)),
            read_dir_files(&up.snapshot_dir(TS_LOCAL, 2000 + i))
        );
    }
    let calls = rec.calls.lock().unwrap().clone();
    assert_eq!((calls.first(), calls.last()), (Some(&(0, 4)), Some(&(4, 4))), "{calls:?}");
    // Upstream's re-run keeps same-size files but always fetches the header again.
    let again = pull(&up.ctx, 9, &theirs, &Recorder::default()).await.unwrap();
    assert_eq!(again.files_transferred, 4);
    assert_eq!(again.bytes_transferred, 4 * 700);
}

#[tokio::test]
async fn a_cancelled_job_stops() {
    let p = pair(|c| c.download_parallelism = 1).await;
    let mut snaps = Vec::new();
    for i in 0..6i64 {
        snaps.push(stage(&p, 1000 + i, 2000 + i, &snapshot_files(1000 + i, i as u64)));
    }
    // Cancelled before anything moved: nothing is written.
    let rec = Recorder { fail_at: Some(0), ..Default::default() };
    let err = pull(&p.local.ctx, 3, &snaps, &rec).await.unwrap_err();
    assert!(matches!(err, BeError::Cancelled(_)), "{err}");
    assert_eq!(p.local.ctx.metrics.download_bytes.load(Ordering::Relaxed), 0);
    for i in 0..6 {
        assert!(read_dir_files(&p.local.snapshot_dir(TS_LOCAL, 2000 + i)).is_empty());
    }

    // Cancellation part way is in pull_real_be_compat.rs, where a gate can hold the
    // remote's answers so what "part way" means does not depend on timing.
}

#[tokio::test]
async fn not_enough_space_fails_before_writing() {
    let p = pair(|c| c.storage_min_left_capacity_bytes = u64::MAX / 2).await;
    let snap = stage(&p, 1001, 2001, &snapshot_files(1001, 1));
    let err = pull(&p.local.ctx, 1, &[snap], &Recorder::default()).await.unwrap_err();
    assert!(matches!(err, BeError::DiskFull(_)), "{err}");
    assert!(read_dir_files(&p.local.snapshot_dir(TS_LOCAL, 2001)).is_empty());
    assert_eq!(p.local.ctx.metrics.download_bytes.load(Ordering::Relaxed), 0);
}

#[tokio::test]
async fn bad_requests_are_refused_clearly() {
    let p = pair(|_| {}).await;
    let snap = stage(&p, 1001, 2001, &snapshot_files(1001, 1));

    let mut s = snap.clone();
    s.remote_be_addr = None;
    let e = pull(&p.local.ctx, 1, &[s], &Recorder::default()).await.unwrap_err();
    assert!(matches!(e, BeError::InvalidArgument(_)) && e.to_string().contains("remote_be_addr"), "{e}");

    let mut s = snap.clone();
    s.local_snapshot_path = Some(p.local.root.join("snapshot/nope").display().to_string());
    let e = pull(&p.local.ctx, 1, &[s], &Recorder::default()).await.unwrap_err();
    assert!(e.to_string().contains("does not exist"), "{e}");

    // A local dir outside our roots: the FE must not make us write anywhere.
    let elsewhere = tempfile::tempdir().unwrap();
    let mut s = snap.clone();
    s.local_snapshot_path = Some(elsewhere.path().display().to_string());
    let e = pull(&p.local.ctx, 1, &[s], &Recorder::default()).await.unwrap_err();
    assert!(matches!(e, BeError::InvalidArgument(_)) && e.to_string().contains("storage root"), "{e}");
    assert!(std::fs::read_dir(elsewhere.path()).unwrap().next().is_none());

    // The same local dir twice.
    let e = pull(&p.local.ctx, 1, &[snap.clone(), snap.clone()], &Recorder::default()).await.unwrap_err();
    assert!(matches!(e, BeError::InvalidArgument(_)), "{e}");

    // A remote dir that does not exist.
    let mut s = snap.clone();
    s.remote_snapshot_path = Some(p.remote.root.join("snapshot/missing/1/2").display().to_string());
    let e = pull(&p.local.ctx, 1, &[s], &Recorder::default()).await.unwrap_err();
    assert!(matches!(e, BeError::Http(_)) && e.to_string().contains("404"), "{e}");

    // Nothing listening at the remote address.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = l.local_addr().unwrap().port();
    drop(l);
    let mut s = snap.clone();
    s.remote_be_addr.as_mut().unwrap().port = dead_port as i32;
    let e = pull(&p.local.ctx, 1, &[s], &Recorder::default()).await.unwrap_err();
    assert!(matches!(e, BeError::Http(_)), "{e}");
    assert!(!e.to_string().contains(REMOTE_TOKEN), "{e}");
}
