//! MOVE: installing a downloaded snapshot into a local tablet.

mod storage_common;

use doris_be::error::BeError;
use doris_be::storage::hdr;
use storage_common::*;

#[test]
fn storage_move_renames_rowsets_rewrites_ids_and_is_idempotent() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let (src_rowsets, src) = prepare_move(&a, &b);
    let src_files = files_in(&src);

    let e = open(&[&b]);
    let before = e.create_tablet(&create_req(200, 66, None)).unwrap();
    let old_rowset = write_rowset(&e, 200, 2, 2, 1);
    let dir = e.tablet_dir(200).unwrap();

    let m = e.move_dir(&move_req(200, 66, &src)).unwrap();
    assert_eq!((m.tablet_id, m.schema_hash), (200, 66));
    assert_eq!((m.replica_id, m.table_id, m.partition_id), (before.replica_id, before.table_id, before.partition_id));
    assert_eq!(m.shard_id, before.shard_id);
    let versions: Vec<(i64, i64)> = m.rowsets.iter().map(|r| (r.start_version, r.end_version)).collect();
    assert_eq!(versions, vec![(0, 1), (2, 2), (3, 4)]);
    assert_eq!(m.num_rows(), 30);
    for (new, old) in m.rowsets.iter().zip(&src_rowsets) {
        assert_ne!(new.rowset_id, old.rowset_id, "every rowset gets a new id");
        assert_eq!((new.num_segments, new.num_rows, new.data_size), (old.num_segments, old.num_rows, old.data_size));
        for s in 0..new.num_segments {
            let bytes = std::fs::read(dir.join(format!("{}_{s}.dat", new.rowset_id))).unwrap();
            assert_eq!(bytes, segment_bytes(&old.rowset_id, s), "segment content follows the rename");
        }
    }
    // Exactly the new rowsets' files: the old tablet's files are gone.
    let mut expect: Vec<String> = Vec::new();
    for r in m.rowsets.iter().filter(|r| r.num_segments > 0) {
        expect.extend(r.segment_files());
        expect.push(format!("{}_0_10001.idx", r.rowset_id));
    }
    expect.sort();
    assert_eq!(files_in(&dir), expect);
    assert!(!files_in(&dir).iter().any(|f| f.starts_with(&old_rowset.rowset_id)));
    assert!(src.join("LOADED").is_file());
    assert_eq!(e.tablet_meta(200).unwrap(), m);

    // Again: OK, nothing changes.
    let again = e.move_dir(&move_req(200, 66, &src)).unwrap();
    assert_eq!(again, m);
    assert_eq!(files_in(&dir), expect);
    let mut with_marker = src_files.clone();
    with_marker.push("LOADED".into());
    with_marker.sort();
    assert_eq!(files_in(&src), with_marker, "src is left as it was, plus the marker");

    drop(e);
    let e = open(&[&b]);
    assert_eq!(e.tablet_meta(200).unwrap(), m);
    assert_eq!(files_in(&e.tablet_dir(200).unwrap()), expect);
    // A snapshot of the restored tablet is self-consistent.
    let snap = e.make_snapshot(&snapshot_req(200, 66, None)).unwrap();
    let h = hdr::read_file(&snapshot_inner(&snap.snapshot_path, 200, 66).join("200.hdr")).unwrap();
    assert_eq!(h.tablet_id, 200);
    assert_eq!(h.rowsets, m.rowsets);
}

#[test]
fn storage_move_keeps_binlog_files_beside_the_data() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let (src_rowsets, src) = prepare_move(&a, &b);
    let r = &src_rowsets[1];
    std::fs::write(src.join(format!("{}_0.binlog", r.rowset_id)), b"binlog").unwrap();
    std::fs::write(src.join(format!("{}_0.binlog-index", r.rowset_id)), b"binlog-index").unwrap();
    std::fs::write(src.join("rowset_binlog_metas.pb"), b"metas").unwrap();
    let e = open(&[&b]);
    e.create_tablet(&create_req(200, 66, None)).unwrap();
    let m = e.move_dir(&move_req(200, 66, &src)).unwrap();
    let dir = e.tablet_dir(200).unwrap();
    let new_id = &m.rowsets[1].rowset_id;
    assert_eq!(std::fs::read(dir.join(format!("{new_id}_0.binlog"))).unwrap(), b"binlog");
    assert_eq!(std::fs::read(dir.join(format!("{new_id}_0.binlog-index"))).unwrap(), b"binlog-index");
    assert_eq!(std::fs::read(dir.join("rowset_binlog_metas.pb")).unwrap(), b"metas");
    assert_eq!(m.rowsets.len(), 3, "binlog files are not rowsets");
}

#[test]
fn storage_move_refuses_bad_sources() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let (src_rowsets, src) = prepare_move(&a, &b);
    let e = open(&[&b]);
    let before = e.create_tablet(&create_req(200, 66, None)).unwrap();

    // Outside our roots (root a belongs to another engine here).
    let foreign = a.join("snapshot");
    assert!(matches!(e.move_dir(&move_req(200, 66, &foreign)), Err(BeError::NotAuthorized(_))));
    // Unknown tablet, wrong schema hash, missing dir, no overwrite.
    assert!(matches!(e.move_dir(&move_req(201, 66, &src)), Err(BeError::NotFound(_))));
    assert!(matches!(e.move_dir(&move_req(200, 67, &src)), Err(BeError::NotFound(_))));
    assert!(matches!(e.move_dir(&move_req(200, 66, &b.join("snapshot/nope"))), Err(BeError::NotFound(_))));
    let mut req = move_req(200, 66, &src);
    req.overwrite = false;
    assert!(matches!(e.move_dir(&req), Err(BeError::InvalidArgument(_))));

    // An unexpected file name.
    std::fs::write(src.join("notes.txt"), b"?").unwrap();
    let err = e.move_dir(&move_req(200, 66, &src)).unwrap_err();
    assert!(matches!(err, BeError::InvalidArgument(ref m) if m.contains("notes.txt")), "{err}");
    std::fs::remove_file(src.join("notes.txt")).unwrap();
    // A segment the header names is missing.
    let seg = src.join(format!("{}_1.dat", src_rowsets[1].rowset_id));
    let saved = std::fs::read(&seg).unwrap();
    std::fs::remove_file(&seg).unwrap();
    let err = e.move_dir(&move_req(200, 66, &src)).unwrap_err();
    assert!(matches!(err, BeError::Corruption(ref m) if m.contains("_1.dat")), "{err}");
    std::fs::write(&seg, saved).unwrap();
    // A damaged header.
    let hdr_path = src.join("200.hdr");
    let good = std::fs::read(&hdr_path).unwrap();
    std::fs::write(&hdr_path, &good[..good.len() - 3]).unwrap();
    assert!(matches!(e.move_dir(&move_req(200, 66, &src)), Err(BeError::Corruption(_))));
    // Two headers.
    std::fs::write(&hdr_path, &good).unwrap();
    std::fs::write(src.join("100.hdr"), &good).unwrap();
    assert!(matches!(e.move_dir(&move_req(200, 66, &src)), Err(BeError::InvalidArgument(_))));
    std::fs::remove_file(src.join("100.hdr")).unwrap();

    // None of that touched the tablet; the fixed source now moves fine.
    assert_eq!(e.tablet_meta(200).unwrap(), before);
    assert!(files_in(&e.tablet_dir(200).unwrap()).is_empty());
    assert!(!src.join("LOADED").exists());
    assert_eq!(e.move_dir(&move_req(200, 66, &src)).unwrap().max_version(), 4);
}
