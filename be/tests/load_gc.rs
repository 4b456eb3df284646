//! Dropping a load's pending rowsets on a real engine: every tablet's rowset of the txn
//! and its files go, other txns' pending rowsets and the committed rowsets stay, and the
//! result survives a reopen.

mod storage_common;

use doris_be::load::gc::{clear_txn, drop_pending, pending_txns};
use doris_be::storage::{RowsetMeta, StorageEngine};
use storage_common::*;

/// A pending rowset of `txn_id` with one segment file, as a load's replica write leaves it.
fn write_pending(engine: &StorageEngine, tablet_id: i64, txn_id: i64) -> std::path::PathBuf {
    let dir = engine.tablet_dir(tablet_id).unwrap();
    let id = engine.next_rowset_id();
    let path = dir.join(format!("{id}_0.dat"));
    std::fs::write(&path, format!("rows of txn {txn_id}")).unwrap();
    let rs = RowsetMeta {
        rowset_id: id,
        start_version: 0,
        end_version: 0,
        num_segments: 1,
        num_rows: 1,
        data_size: 10,
        txn_id: Some(txn_id),
        remote: false,
        creation_time_s: 0,
        delete_predicate: None,
    };
    engine.add_pending_rowset(tablet_id, txn_id, 300 + tablet_id, rs).unwrap();
    path
}

#[test]
fn clearing_a_txn_drops_its_rowsets_and_files_only() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let (t1, t2) = (7001, 7002);
    let committed_files;
    let (kept, dropped);
    {
        let engine = open(&[&root]);
        engine.create_tablet(&create_req(t1, 11, None)).unwrap();
        engine.create_tablet(&create_req(t2, 11, None)).unwrap();
        let committed = write_rowset(&engine, t1, 2, 2, 2);
        let dir = engine.tablet_dir(t1).unwrap();
        committed_files = committed.segment_files().into_iter().map(|f| dir.join(f)).collect::<Vec<_>>();
        dropped = vec![write_pending(&engine, t1, 5), write_pending(&engine, t2, 5)];
        kept = write_pending(&engine, t1, 6);
        assert_eq!(pending_txns(&engine).into_iter().collect::<Vec<_>>(), vec![(5, vec![t1, t2]), (6, vec![t1])]);

        assert_eq!(clear_txn(&engine, 5).unwrap(), 2);
        assert!(dropped.iter().all(|f| !f.exists()));
        assert!(kept.is_file());
        assert!(committed_files.iter().all(|f| f.is_file()));
        assert_eq!(pending_txns(&engine).into_iter().collect::<Vec<_>>(), vec![(6, vec![t1])]);
        // Again, or on a tablet without the txn: nothing to do.
        assert_eq!(clear_txn(&engine, 5).unwrap(), 0);
        assert_eq!(drop_pending(&engine, t2, 6).unwrap(), 0);
        assert_eq!(engine.tablet_meta(t1).unwrap().max_version(), 2);
    }
    let engine = open(&[&root]);
    assert_eq!(pending_txns(&engine).into_iter().collect::<Vec<_>>(), vec![(6, vec![t1])]);
    assert!(kept.is_file() && committed_files.iter().all(|f| f.is_file()));
    assert_eq!(engine.tablet_meta(t1).unwrap().rowsets.iter().map(|r| r.end_version).max(), Some(2));
}
