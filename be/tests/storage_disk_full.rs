//! A BE whose storage root fills up, on a real small file system (a tmpfs the test mounts;
//! it needs root, as CI runs, and says so and passes when it cannot mount): upstream's
//! flood stage refuses new load data before the disk is full, a write that runs out of
//! space mid-way leaves nothing behind, and space freed by dropping a load's rowsets lets
//! the next load in.

#[path = "pull_support/mod.rs"]
mod support;
mod storage_common;
mod tmpfs_support;

use reqwest::StatusCode;
use tmpfs_support::{entries as files_of, mount_tmpfs, MIB};

const TOKEN: &str = "3b9d27a4-5c1e-4f0a-9c7d-disk-full-test";

async fn send_rowset(be: &support::Be, tablet: i64, txn: i64, body: Vec<u8>) -> (StatusCode, String) {
    let url = format!(
        "http://{}/api/_internal/load/rowset?tablet_id={tablet}&txn_id={txn}&partition_id={}&num_rows=1",
        be.addr,
        300 + tablet
    );
    let r = reqwest::Client::new().post(url).header("token", TOKEN).body(body).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

#[tokio::test]
async fn a_full_disk_refuses_load_data_keeps_nothing_of_a_failed_write_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let Some(_mounted) = mount_tmpfs(&dir.path().join("root"), 8) else { return };
    // Flood stage: refuse once a write would leave the 8 MiB root >= 50 % full with at
    // most 3 MiB left.
    let be = support::start_be_in(dir, TOKEN, "root", |c| {
        c.storage_flood_stage_usage_percent = 50;
        c.storage_flood_stage_left_capacity_bytes = 3 * MIB as u64;
    })
    .await;
    be.ctx.storage.create_tablet(&storage_common::create_req(7, 11, None)).unwrap();
    let tablet_dir = be.ctx.storage.tablet_dir(7).unwrap();
    let before = files_of(&tablet_dir);

    // 2 MiB fits (4+ MiB left after it).
    let (st, body) = send_rowset(&be, 7, 1, vec![1; 2 * MIB]).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let after_first = files_of(&tablet_dir);
    assert_eq!(after_first.len(), before.len() + 1);

    // 3 MiB more would leave under 3 MiB: refused by the flood stage, nothing written.
    let (st, body) = send_rowset(&be, 7, 2, vec![2; 3 * MIB]).await;
    assert_ne!(st, StatusCode::OK);
    assert!(body.contains("exceed capacity limit") && body.contains("storage_flood_stage_usage_percent"), "{body}");
    assert_eq!(files_of(&tablet_dir), after_first);

    // Dropping the first load's rowset frees its space: the same 3 MiB goes in now.
    let abort = format!("http://{}/api/_internal/load/abort?tablet_id=7&txn_id=1", be.addr);
    let r = reqwest::Client::new().post(abort).header("token", TOKEN).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(files_of(&tablet_dir), before);
    let (st, body) = send_rowset(&be, 7, 3, vec![3; 3 * MIB]).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(be.ctx.storage.tablet_meta(7).unwrap().pending.len(), 1);
    drop(be);
}

#[tokio::test]
async fn a_write_that_runs_out_of_space_leaves_no_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    let Some(_mounted) = mount_tmpfs(&dir.path().join("root"), 4) else { return };
    // Flood stage off (a percentage never reached): the file system itself says no.
    let be = support::start_be_in(dir, TOKEN, "root", |c| {
        c.storage_flood_stage_usage_percent = 101;
        c.storage_flood_stage_left_capacity_bytes = 0;
    })
    .await;
    be.ctx.storage.create_tablet(&storage_common::create_req(8, 11, None)).unwrap();
    let tablet_dir = be.ctx.storage.tablet_dir(8).unwrap();
    let before = files_of(&tablet_dir);
    let (st, body) = send_rowset(&be, 8, 1, vec![4; 6 * MIB]).await;
    assert_ne!(st, StatusCode::OK);
    assert!(body.to_lowercase().contains("no space"), "{body}");
    assert_eq!(files_of(&tablet_dir), before, "the partial segment is removed");
    assert!(be.ctx.storage.tablet_meta(8).unwrap().pending.is_empty());
    // The space is there again for a load that fits.
    let (st, body) = send_rowset(&be, 8, 2, vec![5; MIB]).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    drop(be);
}
