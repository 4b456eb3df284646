//! Storage work on a BE whose disk fills up, on a real tmpfs (see `tmpfs_support`):
//! MAKE_SNAPSHOT, a tablet meta commit and MOVE fail with a status naming the disk, leave
//! the tablet at its previous version and nothing of the attempt on disk, and the same
//! work succeeds once there is room again.

mod storage_common;
mod tmpfs_support;

use std::path::Path;

use doris_be::error::BeError;
use storage_common::*;
use tmpfs_support::*;

/// A full-disk error that names the file (and so the disk) it could not write.
fn assert_disk_full(e: &BeError, root: &Path) {
    assert!(matches!(e, BeError::DiskFull(_)), "{e:?}");
    let text = e.to_string();
    assert!(text.contains(&root.display().to_string()) && text.contains("No space left"), "{text}");
    assert_eq!(e.code(), doris_thrift::status::TStatusCode::LIMIT_REACH);
}

#[test]
fn a_snapshot_on_a_full_disk_fails_naming_it_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(_m) = mount_tmpfs(&tmp.path().join("root"), 4) else { return };
    let root = tmp.path().join("root").canonicalize().unwrap();
    let e = open(&[&root]);
    e.create_tablet(&create_req(10, 1, None)).unwrap();
    write_rowset(&e, 10, 2, 2, 2);
    let before = e.tablet_meta(10).unwrap();
    let files_before = files_in(&e.tablet_dir(10).unwrap());

    // Links cost no space; the header the snapshot writes does.
    let filler = fill(&root);
    let err = e.make_snapshot(&snapshot_req(10, 1, None)).unwrap_err();
    eprintln!("MAKE_SNAPSHOT on the full disk: [{:?}] {err}", err.code());
    assert_disk_full(&err, &root);
    assert!(entries(&root.join("snapshot")).is_empty(), "the staging dir is gone");
    assert_eq!(e.tablet_meta(10).unwrap(), before);
    assert_eq!(files_in(&e.tablet_dir(10).unwrap()), files_before);

    std::fs::remove_file(filler).unwrap();
    let snap = e.make_snapshot(&snapshot_req(10, 1, None)).unwrap();
    let inner = snapshot_inner(&snap.snapshot_path, 10, 1);
    assert!(inner.join("10.hdr").is_file());
    assert_eq!(files_in(&inner).len(), files_before.len() + 1);
}

#[test]
fn a_meta_commit_on_a_full_disk_fails_and_the_store_recovers() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(_m) = mount_tmpfs(&tmp.path().join("root"), 4) else { return };
    let root = tmp.path().join("root").canonicalize().unwrap();
    let e = open(&[&root]);
    e.create_tablet(&create_req(1, 1, None)).unwrap();
    let filler = fill(&root);

    // The meta store's file has some free pages; new tablets use them up, then a commit
    // needs a page the disk does not have.
    let mut failed = None;
    for id in 2..5000 {
        if let Err(err) = e.create_tablet(&create_req(id, 1, None)) {
            failed = Some((id, err));
            break;
        }
    }
    let (id, err) = failed.expect("a commit on a full disk fails");
    eprintln!("CREATE of tablet {id} on the full disk: [{:?}] {err}", err.code());
    assert!(matches!(err, BeError::DiskFull(_)), "{err:?}");
    assert!(err.to_string().contains(&root.display().to_string()), "{err}");
    assert!(e.tablet_meta(id).is_none(), "the failed CREATE is not there");
    assert!(!e.tablet_ids().contains(&id));
    let created: Vec<i64> = (1..id).collect();
    assert_eq!(e.tablet_ids(), created);

    // Room again: the store (reopened after the failed commit) takes changes again.
    std::fs::remove_file(filler).unwrap();
    e.create_tablet(&create_req(id, 1, None)).unwrap();
    write_rowset(&e, 1, 2, 2, 1);
    let meta_1 = e.tablet_meta(1).unwrap();
    drop(e);
    let e = open(&[&root]);
    let mut all = created.clone();
    all.push(id);
    assert_eq!(e.tablet_ids(), all, "every committed tablet survives a reopen");
    assert_eq!(e.tablet_meta(1).unwrap(), meta_1);
}

#[test]
fn a_move_copying_onto_a_full_disk_keeps_the_old_tablet_and_frees_its_copies() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(_m) = mount_tmpfs(&tmp.path().join("small"), 4) else { return };
    let small = tmp.path().join("small").canonicalize().unwrap();
    let big = tmp.path().join("big");
    // Tablet 200 on the tmpfs; the downloaded snapshot on another file system, so MOVE
    // copies (a hard link cannot cross) and the copy needs space.
    {
        let e = open(&[&small]);
        e.create_tablet(&create_req(200, 66, None)).unwrap();
        write_rowset(&e, 200, 2, 2, 1);
    }
    let (_, src) = prepare_move(&tmp.path().join("source"), &big);
    let e = open(&[&small, &big]);
    let before = e.tablet_meta(200).unwrap();
    let dir = e.tablet_dir(200).unwrap();
    assert!(dir.starts_with(&small));
    let files_before = files_in(&dir);

    let filler = fill(&small);
    let err = e.move_dir(&move_req(200, 66, &src)).unwrap_err();
    eprintln!("MOVE onto the full disk: [{:?}] {err}", err.code());
    assert_disk_full(&err, &small);
    assert_eq!(e.tablet_meta(200).unwrap(), before, "the tablet reads its previous version");
    assert_eq!(files_in(&dir), files_before, "copies of the failed MOVE are removed");
    assert!(!src.join("LOADED").exists());

    std::fs::remove_file(filler).unwrap();
    let m = e.move_dir(&move_req(200, 66, &src)).unwrap();
    assert_eq!(m.max_version(), 4);
    assert!(src.join("LOADED").exists());
}
