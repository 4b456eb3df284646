//! Crash safety: a child process (this test binary, running the hidden `storage_crash_child` test)
//! aborts at a failpoint in the middle of an operation, as `kill -9` would stop it; the
//! parent then reopens the storage and checks it shows the old or the new state, whole.

mod storage_common;

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use doris_be::storage::{StorageEngine, FAILPOINT_ENV};
use storage_common::*;

const OP_ENV: &str = "DORIS_RS_CRASH_OP";
const ROOT_ENV: &str = "DORIS_RS_CRASH_ROOT";
const SRC_ENV: &str = "DORIS_RS_CRASH_SRC";
const SIGABRT: i32 = 6;

/// Runs only as the child of a crash test (it does nothing without the env vars).
#[test]
#[ignore = "child process of the crash tests"]
fn storage_crash_child() {
    let (Ok(op), Ok(root)) = (std::env::var(OP_ENV), std::env::var(ROOT_ENV)) else { return };
    let root = PathBuf::from(root);
    let e = open(&[&root]);
    match op.as_str() {
        "create" => drop(e.create_tablet(&create_req(7, 1, None))),
        "drop" => drop(e.drop_tablet(8, 0)),
        "add_rowset" => drop(write_rowset(&e, 9, 2, 2, 2)),
        "snapshot" => drop(e.make_snapshot(&snapshot_req(10, 1, None))),
        "move" => drop(e.move_dir(&move_req(200, 66, Path::new(&std::env::var(SRC_ENV).unwrap())))),
        other => panic!("unknown op {other}"),
    }
    panic!("failpoint {:?} was not reached", std::env::var(FAILPOINT_ENV));
}

fn crash(op: &str, failpoint: &str, root: &Path, src: Option<&Path>) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "storage_crash_child", "--ignored", "--nocapture", "--test-threads=1"])
        .env(OP_ENV, op)
        .env(ROOT_ENV, root)
        .env(FAILPOINT_ENV, failpoint);
    if let Some(s) = src {
        cmd.env(SRC_ENV, s);
    }
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.signal(),
        Some(SIGABRT),
        "child should abort at {failpoint}: {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every tablet's committed rowsets have their files, and no rowset file is unaccounted for.
fn assert_consistent(e: &StorageEngine) {
    for id in e.tablet_ids() {
        let m = e.tablet_meta(id).unwrap();
        let dir = e.tablet_dir(id).unwrap();
        let mut expect: Vec<String> = Vec::new();
        for r in &m.rowsets {
            expect.extend(r.segment_files());
            if r.num_segments > 0 {
                expect.push(format!("{}_0_10001.idx", r.rowset_id));
            }
        }
        expect.sort();
        assert_eq!(files_in(&dir), expect, "tablet {id}");
    }
}

#[test]
fn storage_crash_after_create_dir_leaves_no_tablet() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("r");
    drop(open(&[&root]));
    crash("create", "create_tablet.after_dir", &root, None);
    assert!(root.join("data/7/7/1").is_dir(), "the child got as far as the dir");
    let e = open(&[&root]);
    assert!(e.tablet_meta(7).is_none());
    assert!(!root.join("data/7/7").exists());
    e.create_tablet(&create_req(7, 1, None)).unwrap();
    assert_consistent(&e);
}

#[test]
fn storage_crash_after_drop_commit_finishes_the_drop() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("r");
    let dir = {
        let e = open(&[&root]);
        e.create_tablet(&create_req(8, 1, None)).unwrap();
        write_rowset(&e, 8, 2, 2, 1);
        e.tablet_dir(8).unwrap()
    };
    crash("drop", "drop_tablet.after_meta", &root, None);
    assert!(dir.is_dir(), "files were still there at the crash");
    let e = open(&[&root]);
    assert!(e.tablet_meta(8).is_none());
    assert!(!dir.parent().unwrap().exists());
}

#[test]
fn storage_crash_before_add_rowset_commit_keeps_old_version() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("r");
    let before = {
        let e = open(&[&root]);
        e.create_tablet(&create_req(9, 1, None)).unwrap()
    };
    crash("add_rowset", "add_rowset.before_meta", &root, None);
    let e = open(&[&root]);
    assert_eq!(e.tablet_meta(9).unwrap(), before);
    assert_consistent(&e);
    write_rowset(&e, 9, 2, 2, 1);
    assert_eq!(e.tablet_meta(9).unwrap().max_version(), 2);
}

#[test]
fn storage_crash_while_building_snapshot_leaves_no_snapshot() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("r");
    {
        let e = open(&[&root]);
        e.create_tablet(&create_req(10, 1, None)).unwrap();
        write_rowset(&e, 10, 2, 2, 1);
    }
    crash("snapshot", "make_snapshot.after_link", &root, None);
    assert_eq!(files_in(&root.join("snapshot")).len(), 1, "the staging dir was there at the crash");
    let e = open(&[&root]);
    assert!(files_in(&root.join("snapshot")).is_empty());
    assert_consistent(&e);
}

/// (tablet 200's meta and files before the MOVE, src dir, source rowsets)
fn move_setup(tmp: &Path) -> (PathBuf, PathBuf, Vec<doris_be::storage::RowsetMeta>, doris_be::storage::TabletMeta, Vec<String>) {
    let (a, b) = (tmp.join("a"), tmp.join("b"));
    let (src_rowsets, src) = prepare_move(&a, &b);
    let e = open(&[&b]);
    e.create_tablet(&create_req(200, 66, None)).unwrap();
    write_rowset(&e, 200, 2, 2, 1);
    let meta = e.tablet_meta(200).unwrap();
    let files = files_in(&e.tablet_dir(200).unwrap());
    (b, src, src_rowsets, meta, files)
}

#[test]
fn storage_crash_after_move_links_keeps_old_tablet() {
    let tmp = tempfile::tempdir().unwrap();
    let (root, src, _, before, before_files) = move_setup(tmp.path());
    crash("move", "move_dir.after_link", &root, Some(&src));
    let e = open(&[&root]);
    assert_eq!(e.tablet_meta(200).unwrap(), before);
    assert_eq!(files_in(&e.tablet_dir(200).unwrap()), before_files, "linked files were swept");
    assert!(!src.join("LOADED").exists());
    assert_consistent(&e);
    // The MOVE can simply be retried.
    let m = e.move_dir(&move_req(200, 66, &src)).unwrap();
    assert_eq!(m.max_version(), 4);
    assert_consistent(&e);
}

#[test]
fn storage_crash_after_move_commit_shows_new_tablet() {
    let tmp = tempfile::tempdir().unwrap();
    let (root, src, src_rowsets, before, _) = move_setup(tmp.path());
    crash("move", "move_dir.after_meta", &root, Some(&src));
    let e = open(&[&root]);
    let m = e.tablet_meta(200).unwrap();
    let versions: Vec<(i64, i64)> = m.rowsets.iter().map(|r| (r.start_version, r.end_version)).collect();
    assert_eq!(versions, vec![(0, 1), (2, 2), (3, 4)]);
    assert_eq!((m.tablet_id, m.schema_hash, m.replica_id), (200, 66, before.replica_id));
    assert_consistent(&e);
    let dir = e.tablet_dir(200).unwrap();
    for (new, old) in m.rowsets.iter().zip(&src_rowsets) {
        for s in 0..new.num_segments {
            assert_eq!(std::fs::read(dir.join(format!("{}_{s}.dat", new.rowset_id))).unwrap(), segment_bytes(&old.rowset_id, s));
        }
    }
    // No marker was written: a retried MOVE installs the same data again, consistently.
    assert!(!src.join("LOADED").exists());
    let again = e.move_dir(&move_req(200, 66, &src)).unwrap();
    assert_eq!(again.rowsets.iter().map(|r| (r.start_version, r.end_version)).collect::<Vec<_>>(), versions);
    assert!(src.join("LOADED").exists());
    assert_consistent(&e);
}
