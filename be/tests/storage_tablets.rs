//! Tablets: create, reopen, drop, rowsets, publish, cooldown, reports, confinement.

mod storage_common;

use std::os::unix::fs::symlink;

use doris_be::error::BeError;
use doris_be::storage::{PendingRowset, RowsetMeta};
use storage_common::*;

#[test]
fn storage_create_persists_across_reopen_with_schema_names() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root1");
    let meta = {
        let e = open(&[&root]);
        let m = e.create_tablet(&create_req(10001, 555, Some(3))).unwrap();
        assert_eq!(m.rowsets.len(), 1);
        assert_eq!((m.rowsets[0].start_version, m.rowsets[0].end_version), (0, 3));
        assert_eq!(m.rowsets[0].num_segments, 0);
        assert_eq!(m.rowsets[0].rowset_id.len(), 34);
        assert!(m.rowsets[0].rowset_id.starts_with("02"));
        assert!(m.rowsets[0].rowset_id.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
        assert_eq!(m.shard_id, (10001 % 1024) as u32);
        assert_eq!((m.replica_id, m.table_id, m.partition_id), (10301, 10101, 10201));
        assert_eq!(m.schema.keys_type, "AGG_KEYS");
        let names: Vec<(&str, &str, &str)> =
            m.schema.columns.iter().map(|c| (c.name.as_str(), c.type_name.as_str(), c.aggregation.as_str())).collect();
        assert_eq!(names, vec![("k1", "INT", "NONE"), ("v1", "VARCHAR", "REPLACE"), ("v2", "DECIMAL64", "SUM")]);
        assert_eq!(m.schema.columns[1].len, Some(32));
        assert_eq!(m.schema.columns[1].default_value.as_deref(), Some("x"));
        assert_eq!((m.schema.columns[2].precision, m.schema.columns[2].scale), (Some(18), Some(4)));
        assert_eq!(m.schema.columns[2].unique_id, 2, "unset unique id falls back to the position");
        let dir = e.tablet_dir(10001).unwrap();
        assert!(dir.is_dir());
        assert!(dir.ends_with(format!("data/{}/10001/555", 10001 % 1024)));
        assert!(root.join("meta/tablet_meta.redb").is_file());
        m
    };
    let e = open(&[&root]);
    assert_eq!(e.tablet_ids(), vec![10001]);
    assert_eq!(e.tablet_meta(10001).unwrap(), meta);
}

#[test]
fn storage_create_again_same_hash_is_noop_other_hash_is_already_exist() {
    let tmp = tempfile::tempdir().unwrap();
    let e = open(&[tmp.path()]);
    let m1 = e.create_tablet(&create_req(7, 1, None)).unwrap();
    assert_eq!(m1.max_version(), 1);
    let m2 = e.create_tablet(&create_req(7, 1, Some(9))).unwrap();
    assert_eq!(m1, m2, "same schema hash: unchanged");
    let err = e.create_tablet(&create_req(7, 2, None)).unwrap_err();
    assert!(matches!(err, BeError::AlreadyExist(_)), "{err}");
    assert_eq!(e.tablet_meta(7).unwrap(), m1);
}

#[test]
fn storage_create_refuses_bad_schema() {
    let tmp = tempfile::tempdir().unwrap();
    let e = open(&[tmp.path()]);
    let mut req = create_req(8, 1, None);
    req.tablet_schema.columns[0].column_type.type_ = doris_thrift::types::TPrimitiveType(999);
    let err = e.create_tablet(&req).unwrap_err();
    assert!(matches!(err, BeError::InvalidArgument(ref m) if m.contains("k1")), "{err}");
    let mut req = create_req(8, 1, None);
    req.tablet_schema.columns.clear();
    assert!(matches!(e.create_tablet(&req), Err(BeError::InvalidArgument(_))));
    assert!(e.tablet_meta(8).is_none());
}

#[test]
fn storage_new_tablets_go_to_the_root_with_fewest() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let e = open(&[&a, &b]);
    for id in 1..=4 {
        e.create_tablet(&create_req(id, 1, None)).unwrap();
    }
    let on_a = e.tablet_ids().into_iter().filter(|id| e.tablet_dir(*id).unwrap().starts_with(a.canonicalize().unwrap())).count();
    assert_eq!(on_a, 2);
    let disks = e.disk_infos();
    assert_eq!(disks.len(), 2);
    assert_ne!(disks[0].path_hash, disks[1].path_hash);
    assert!(disks.iter().all(|d| d.used && d.disk_total_capacity > 0 && d.disk_available_capacity.unwrap() > 0));
}

/// The per-root counts placement uses follow drops and are rebuilt at open.
#[test]
fn storage_placement_counts_follow_drops_and_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let on = |e: &doris_be::storage::StorageEngine, root: &std::path::Path| {
        e.tablet_ids().into_iter().filter(|id| e.tablet_dir(*id).unwrap().starts_with(root.canonicalize().unwrap())).collect::<Vec<_>>()
    };
    {
        let e = open(&[&a, &b]);
        for id in 1..=4 {
            e.create_tablet(&create_req(id, 1, None)).unwrap();
        }
        for id in on(&e, &b) {
            e.drop_tablet(id, 0).unwrap();
        }
        e.create_tablet(&create_req(5, 1, None)).unwrap();
        assert_eq!(on(&e, &b), vec![5], "b dropped to none, so the next tablet goes there, not to the first root");
    }
    let e = open(&[&a, &b]);
    e.create_tablet(&create_req(6, 1, None)).unwrap();
    assert_eq!(on(&e, &b), vec![5, 6], "after reopening, b still holds fewer");
    assert_eq!(on(&e, &a).len(), 2);
}

#[test]
fn storage_drop_removes_meta_and_files_and_missing_is_ok() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("r");
    {
        let e = open(&[&root]);
        e.create_tablet(&create_req(42, 9, None)).unwrap();
        write_rowset(&e, 42, 2, 2, 2);
        let dir = e.tablet_dir(42).unwrap();
        e.drop_tablet(42, 0).unwrap();
        assert!(!dir.exists());
        assert!(!dir.parent().unwrap().exists(), "the <tablet_id> dir goes too");
        assert!(e.tablet_meta(42).is_none());
        assert!(matches!(e.tablet_dir(42), Err(BeError::NotFound(_))));
        e.drop_tablet(42, 0).unwrap();
        e.drop_tablet(4242, 0).unwrap();
    }
    let e = open(&[&root]);
    assert!(e.tablet_ids().is_empty());
}

/// A DROP naming another replica (an older one the FE thought an orphan) leaves the tablet;
/// its own replica id, or none (0, an older FE), drops it.
#[test]
fn storage_drop_of_another_replica_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let e = open(&[&tmp.path().join("r")]);
    e.create_tablet(&create_req(42, 9, None)).unwrap();
    e.create_tablet(&create_req(43, 9, None)).unwrap();
    let dir = e.tablet_dir(42).unwrap();
    match e.drop_tablet(42, 999) {
        Err(BeError::Aborted(m)) => assert_eq!(m, "replica_id not match(342 vs 999)"),
        other => panic!("expected Aborted, got {other:?}"),
    }
    assert!(dir.exists() && e.tablet_meta(42).is_some());
    e.drop_tablet(42, 342).unwrap();
    assert!(!dir.exists() && e.tablet_meta(42).is_none());
    e.drop_tablet(43, 0).unwrap();
    assert!(e.tablet_ids().is_empty());
}

#[test]
fn storage_add_rowset_requires_contiguous_versions_and_files() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("r");
    let e = open(&[&root]);
    e.create_tablet(&create_req(5, 1, None)).unwrap();
    let rs = write_rowset(&e, 5, 2, 3, 2);
    let m = e.tablet_meta(5).unwrap();
    assert_eq!(m.max_version(), 3);
    assert_eq!(m.num_rows(), 20);
    assert_eq!(m.data_size(), rs.data_size);

    let dir = e.tablet_dir(5).unwrap();
    let gap = RowsetMeta { rowset_id: e.next_rowset_id(), start_version: 5, end_version: 5, num_segments: 0, num_rows: 0, data_size: 0, txn_id: None, remote: false, creation_time_s: 0, delete_predicate: None };
    assert!(matches!(e.add_rowset(5, gap), Err(BeError::InvalidArgument(_))));
    let overlap = RowsetMeta { rowset_id: e.next_rowset_id(), start_version: 3, end_version: 4, num_segments: 0, num_rows: 0, data_size: 0, txn_id: None, remote: false, creation_time_s: 0, delete_predicate: None };
    assert!(matches!(e.add_rowset(5, overlap), Err(BeError::InvalidArgument(_))));
    let missing = RowsetMeta { rowset_id: e.next_rowset_id(), start_version: 4, end_version: 4, num_segments: 1, num_rows: 1, data_size: 1, txn_id: None, remote: false, creation_time_s: 0, delete_predicate: None };
    assert!(matches!(e.add_rowset(5, missing.clone()), Err(BeError::NotFound(_))));
    std::fs::write(dir.join(format!("{}_0.dat", missing.rowset_id)), b"x").unwrap();
    assert_eq!(e.add_rowset(5, missing).unwrap().max_version(), 4);
    assert!(matches!(e.add_rowset(404, rs), Err(BeError::NotFound(_))));
}

#[test]
fn storage_publish_makes_pending_rowsets_visible() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("r");
    {
        let e = open(&[&root]);
        e.create_tablet(&create_req(1, 1, None)).unwrap();
        e.create_tablet(&create_req(2, 1, None)).unwrap();
        let part = e.tablet_meta(1).unwrap().partition_id;
        let dir = e.tablet_dir(1).unwrap();
        let id = e.next_rowset_id();
        std::fs::write(dir.join(format!("{id}_0.dat")), b"rows").unwrap();
        let rs = RowsetMeta { rowset_id: id.clone(), start_version: 0, end_version: 0, num_segments: 1, num_rows: 3, data_size: 4, txn_id: Some(77), remote: false, creation_time_s: 0, delete_predicate: None };
        e.add_pending_rowset(1, 77, part, rs).unwrap();
        assert_eq!(e.tablet_infos().iter().find(|i| i.tablet_id == 1).unwrap().transaction_ids, Some(vec![77]));
        // Wrong partition: nothing happens.
        assert!(e.publish_version(77, part + 1, 2).unwrap().is_empty());
        assert_eq!(e.tablet_meta(1).unwrap().pending.len(), 1);
        // A version that does not follow fails for that tablet only.
        assert_eq!(e.publish_version(77, part, 5).unwrap(), vec![1]);
        assert!(e.publish_version(77, part, 2).unwrap().is_empty());
        let m = e.tablet_meta(1).unwrap();
        assert!(m.pending.is_empty());
        let last = m.rowsets.last().unwrap();
        assert_eq!((last.rowset_id.as_str(), last.start_version, last.end_version, last.txn_id), (id.as_str(), 2, 2, Some(77)));
        assert_eq!(e.tablet_meta(2).unwrap().max_version(), 1);
    }
    let e = open(&[&root]);
    assert_eq!(e.tablet_meta(1).unwrap().max_version(), 2);
    assert_eq!(e.tablet_meta(1).unwrap().pending, Vec::<PendingRowset>::new());
}

#[test]
fn storage_cooldown_conf_applies_only_newer_terms_and_persists() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("r");
    {
        let e = open(&[&root]);
        e.create_tablet(&create_req(3, 1, None)).unwrap();
        assert!(e.apply_cooldown_conf(3, 1001, 1).unwrap());
        assert!(!e.apply_cooldown_conf(3, 1002, 1).unwrap(), "same term is stale");
        assert!(e.apply_cooldown_conf(3, 1002, 5).unwrap());
        assert!(!e.apply_cooldown_conf(3, 1003, 4).unwrap(), "lower term is stale");
        assert!(matches!(e.apply_cooldown_conf(99, 1, 1), Err(BeError::NotFound(_))));
        e.update_meta(3, |m| {
            m.cooldown.cooldown_meta_id = Some((11, -12));
            Ok(())
        })
        .unwrap();
    }
    let e = open(&[&root]);
    let c = e.tablet_meta(3).unwrap().cooldown;
    assert_eq!((c.cooldown_replica_id, c.cooldown_term, c.cooldown_meta_id), (1002, 5, Some((11, -12))));
    assert!(!e.apply_cooldown_conf(3, 1004, 5).unwrap());
    assert!(e.apply_cooldown_conf(3, 1004, 6).unwrap());
    let info = e.tablet_infos().into_iter().find(|i| i.tablet_id == 3).unwrap();
    assert_eq!(info.cooldown_term, Some(6));
    let id = info.cooldown_meta_id.unwrap();
    assert_eq!((id.hi, id.lo), (11, -12));
}

#[test]
fn storage_tablet_infos_report_the_meta() {
    let tmp = tempfile::tempdir().unwrap();
    let e = open(&[tmp.path()]);
    e.create_tablet(&create_req(11, 77, None)).unwrap();
    let rs = write_rowset(&e, 11, 2, 2, 3);
    let infos = e.tablet_infos();
    assert_eq!(infos.len(), 1);
    let i = &infos[0];
    assert_eq!((i.tablet_id, i.schema_hash, i.version, i.version_hash), (11, 77, 2, 0));
    assert_eq!((i.row_count, i.data_size), (30, rs.data_size));
    assert_eq!((i.replica_id, i.partition_id), (Some(311), Some(211)));
    assert_eq!((i.total_version_count, i.visible_version_count), (Some(2), Some(2)));
    assert_eq!(i.path_hash, Some(e.data_dirs()[0].path_hash));
    assert_eq!((i.used, i.remote_data_size, i.cooldown_term, i.cooldown_meta_id.clone()), (Some(true), Some(0), Some(0), None));
    assert_eq!(e.disk_infos()[0].data_used_capacity, rs.data_size);
}

#[test]
fn storage_cluster_id_is_recorded_in_every_root() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    {
        let e = open(&[&a, &b]);
        assert_eq!(e.cluster_id(), None);
        e.set_cluster_id(123456).unwrap();
        e.set_cluster_id(123456).unwrap();
        assert!(matches!(e.set_cluster_id(7), Err(BeError::InvalidArgument(_))));
    }
    assert_eq!(std::fs::read_to_string(a.join("cluster_id")).unwrap().trim(), "123456");
    assert_eq!(std::fs::read_to_string(b.join("cluster_id")).unwrap().trim(), "123456");
    // A new root added later inherits the id.
    let c = tmp.path().join("c");
    let e = open(&[&a, &b, &c]);
    assert_eq!(e.cluster_id(), Some(123456));
    assert_eq!(std::fs::read_to_string(c.join("cluster_id")).unwrap().trim(), "123456");
    drop(e);
    std::fs::write(c.join("cluster_id"), "99").unwrap();
    assert!(matches!(doris_be::storage::StorageEngine::open(&config(&[&a, &c])), Err(BeError::Corruption(_))));
}

#[test]
fn storage_confine_rejects_escapes_and_symlinks_out() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret"), b"s").unwrap();
    let e = open(&[&root]);
    let canon = root.canonicalize().unwrap();
    std::fs::write(root.join("data/f"), b"x").unwrap();

    assert_eq!(e.confine(&root.join("data/f")), Some(canon.join("data/f")));
    assert_eq!(e.confine(&root.join("snapshot/../data/f")), Some(canon.join("data/f")), "'..' that stays inside is fine");
    assert_eq!(e.confine(&root.join("data/../../outside/secret")), None);
    assert_eq!(e.confine(&outside.join("secret")), None);
    assert_eq!(e.confine(std::path::Path::new("/etc/passwd")), None);
    // Not existing yet: still confined by its existing ancestor.
    assert_eq!(e.confine(&root.join("snapshot/new/file")), Some(canon.join("snapshot/new/file")));
    assert_eq!(e.confine(&root.join("snapshot/new/../../../outside")), None);
    // A symlink inside the root pointing out of it.
    symlink(&outside, root.join("data/escape")).unwrap();
    assert_eq!(e.confine(&root.join("data/escape/secret")), None);
    assert_eq!(e.confine(&root.join("data/escape/missing")), None);
    // Relative paths are taken from the working directory.
    let rel = pathdiff(&root.join("data/f"));
    assert_eq!(e.confine(&rel), Some(canon.join("data/f")));
}

/// `path` relative to the current directory (via enough `..` to reach `/`).
fn pathdiff(path: &std::path::Path) -> std::path::PathBuf {
    let cwd = std::env::current_dir().unwrap();
    let mut rel = std::path::PathBuf::new();
    for _ in cwd.components().skip(1) {
        rel.push("..");
    }
    rel.join(path.strip_prefix("/").unwrap())
}

#[test]
fn storage_leftovers_without_meta_are_removed_at_open() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("r");
    let (keep_dir, orphan_file, live_files) = {
        let e = open(&[&root]);
        e.create_tablet(&create_req(21, 1, None)).unwrap();
        let rs = write_rowset(&e, 21, 2, 2, 1);
        let dir = e.tablet_dir(21).unwrap();
        let orphan = dir.join(format!("{}_0.dat", e.next_rowset_id()));
        std::fs::write(&orphan, b"orphan").unwrap();
        (dir, orphan, vec![format!("{}_0.dat", rs.rowset_id), format!("{}_0_10001.idx", rs.rowset_id)])
    };
    let ghost = root.join("data/5/99999/1");
    std::fs::create_dir_all(&ghost).unwrap();
    std::fs::write(ghost.join("x_0.dat"), b"x").unwrap();
    let stale_hash = keep_dir.parent().unwrap().join("2");
    std::fs::create_dir_all(&stale_hash).unwrap();
    std::fs::create_dir_all(root.join("snapshot/.tmp.20200101000000.1.10/21/1")).unwrap();
    std::fs::write(keep_dir.join("unrelated.txt"), b"kept").unwrap();

    let e = open(&[&root]);
    assert!(!root.join("data/5/99999").exists());
    assert!(!stale_hash.exists());
    assert!(!orphan_file.exists());
    assert!(!root.join("snapshot/.tmp.20200101000000.1.10").exists());
    let mut expect = live_files;
    expect.push("unrelated.txt".into());
    expect.sort();
    assert_eq!(files_in(&keep_dir), expect);
    assert_eq!(e.tablet_ids(), vec![21]);
}

#[test]
fn storage_concurrent_operations_serialize_per_tablet() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("r");
    let e = open(&[&root]);
    e.create_tablet(&create_req(1, 1, None)).unwrap();
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let e = e.clone();
            std::thread::spawn(move || {
                // Everyone races to create tablet 2 and to snapshot tablet 1.
                let created = e.create_tablet(&create_req(2, 1, None)).unwrap();
                let snap = e.make_snapshot(&snapshot_req(1, 1, None)).unwrap();
                e.create_tablet(&create_req(100 + i, 1, None)).unwrap();
                (created, snap.snapshot_path)
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let first = &results[0].0;
    assert!(results.iter().all(|(m, _)| m == first), "one creation won; the rest saw it unchanged");
    let mut paths: Vec<_> = results.iter().map(|(_, p)| p.clone()).collect();
    paths.sort();
    paths.dedup();
    assert_eq!(paths.len(), 8, "every snapshot got its own directory");
    assert_eq!(e.tablet_ids().len(), 10);
    drop(e);
    let e = open(&[&root]);
    assert_eq!(e.tablet_meta(2).as_ref(), Some(first));
    assert_eq!(e.tablet_ids().len(), 10);
}
