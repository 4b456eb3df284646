//! A pull (DOWNLOAD) into a BE whose disk is small, a real tmpfs (see `tmpfs_support`):
//! upstream's flood stage refuses it before anything is written, and a disk that fills
//! up mid-pull fails it with a status naming the disk, the files it wrote removed at once;
//! with room again, the same pull succeeds.

#[path = "pull_support/mod.rs"]
mod support;
mod tmpfs_support;

use std::sync::atomic::Ordering;

use doris_be::error::BeError;
use doris_be::pull::pull;
use support::gate::Gate;
use support::*;
use tmpfs_support::{fill, mount_tmpfs, MIB};

const TS_REMOTE: &str = "20261122010203.7.3600";
const TS_LOCAL: &str = "20261122010204.8.3600";
const REMOTE_TOKEN: &str = "remote-cluster-token";

/// A header, a small segment (received in memory) and a big one (streamed to a `.part`).
fn files(big: usize) -> Vec<(String, Vec<u8>)> {
    vec![
        ("1001.hdr".into(), bytes(1, 700)),
        ("020000000000000b4a4f0fca5a3b8e7a_0.dat".into(), bytes(2, 300_000)),
        ("020000000000000c4a4f0fca5a3b8e7a_0.dat".into(), bytes(3, big)),
    ]
}

#[tokio::test]
async fn a_pull_past_the_flood_stage_is_refused_with_upstreams_text_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let Some(_m) = mount_tmpfs(&dir.path().join("root"), 8) else { return };
    let remote = start_be(REMOTE_TOKEN, |_| {}).await;
    let local = start_be_in(dir, "local-token", "root", |c| {
        c.storage_flood_stage_usage_percent = 90;
        c.storage_flood_stage_left_capacity_bytes = MIB as u64;
    })
    .await;
    let files = files(2 * MIB);
    let rdir = remote.snapshot_dir(TS_REMOTE, 1001);
    write_owned(&rdir, &files);
    let ldir = local.snapshot_dir(TS_LOCAL, 2001);
    std::fs::create_dir_all(&ldir).unwrap();
    let snap = remote_snapshot(&remote, &rdir, 1001, &ldir, 2001, REMOTE_TOKEN);

    // Other data leaves 2.5 MiB: the pull's 2.3 MiB would leave under 1 MiB, over 90 % used.
    let avail = fs4::available_space(&local.root).unwrap();
    let other = local.root.join("other");
    std::fs::write(&other, vec![7u8; avail as usize - 5 * MIB / 2]).unwrap();
    let err = pull(&local.ctx, 1, std::slice::from_ref(&snap), &Recorder::default()).await.unwrap_err();
    assert!(matches!(err, BeError::DiskFull(_)), "{err:?}");
    let text = err.to_string();
    eprintln!("pull past the flood stage: {text}");
    assert!(text.contains(&format!("reach the capacity limit of path {}", ldir.display())), "{text}");
    assert!(text.contains("storage_flood_stage_usage_percent = 90"), "{text}");
    assert!(read_dir_files(&ldir).is_empty(), "nothing written");
    assert_eq!(local.ctx.metrics.download_bytes.load(Ordering::Relaxed), 0);

    std::fs::remove_file(other).unwrap();
    let out = pull(&local.ctx, 1, &[snap], &Recorder::default()).await.unwrap();
    assert_eq!(out.downloaded_tablet_ids, vec![2001]);
    assert_eq!(read_dir_files(&ldir), expected_local(&files, 2001));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_that_fills_the_disk_fails_naming_it_removes_what_it_wrote_and_a_retry_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let Some(_m) = mount_tmpfs(&dir.path().join("root"), 8) else { return };
    let remote = start_be(REMOTE_TOKEN, |_| {}).await;
    // Flood stage off (a percentage never reached): the file system itself says no.
    let local = start_be_in(dir, "local-token", "root", |c| {
        c.storage_flood_stage_usage_percent = 101;
        c.storage_flood_stage_left_capacity_bytes = 0;
    })
    .await;
    let files = files(3 * MIB);
    let rdir = remote.snapshot_dir(TS_REMOTE, 1001);
    write_owned(&rdir, &files);
    let ldir = local.snapshot_dir(TS_LOCAL, 2001);
    std::fs::create_dir_all(&ldir).unwrap();
    // Replies stop after 1 MiB: the big segment is then part-way into its `.part`.
    const HOLD: u64 = MIB as u64;
    let gate = Gate::start(remote.addr, HOLD).await;
    let mut snap = remote_snapshot(&remote, &rdir, 1001, &ldir, 2001, REMOTE_TOKEN);
    snap.remote_be_addr.as_mut().unwrap().port = i32::from(gate.port);

    let (ctx, s) = (local.ctx.clone(), snap.clone());
    let running = tokio::spawn(async move { pull(&ctx, 1, &[s], &Recorder::default()).await });
    let start = std::time::Instant::now();
    while !gate.holding(HOLD) {
        assert!(start.elapsed().as_secs() < 30, "the pull never reached the gate");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // The disk fills while 2 MiB of the segment are still to come.
    let filler = fill(&local.root);
    gate.open();
    let err = running.await.unwrap().unwrap_err();
    assert!(matches!(err, BeError::DiskFull(_)), "{err:?}");
    let text = err.to_string();
    eprintln!("pull that filled the disk: {text}");
    assert!(text.contains(&ldir.display().to_string()) && text.contains("No space left"), "{text}");
    assert!(read_dir_files(&ldir).is_empty(), "the `.part` and the files already placed are removed: {:?}", read_dir_files(&ldir).keys());

    std::fs::remove_file(filler).unwrap();
    let out = pull(&local.ctx, 1, &[snap], &Recorder::default()).await.unwrap();
    assert_eq!(out.downloaded_tablet_ids, vec![2001]);
    assert_eq!(read_dir_files(&ldir), expected_local(&files, 2001));
}
