//! Helpers shared by the storage_* integration tests: real engines on temp dirs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use doris_be::config::BeConfig;
use doris_be::storage::{MoveSpec, RowsetMeta, SnapshotSpec, StorageEngine};
use doris_thrift::agent_service::{TCreateTabletReq, TTabletSchema};
use doris_thrift::descriptors::TColumn;
use doris_thrift::types::{TAggregationType, TColumnType, TKeysType, TPrimitiveType, TStorageType};

pub fn config(roots: &[&Path]) -> BeConfig {
    BeConfig {
        storage_root_paths: roots.iter().map(|p| p.to_path_buf()).collect(),
        snapshot_expire_time_sec: 172800,
        ..Default::default()
    }
}

pub fn open(roots: &[&Path]) -> Arc<StorageEngine> {
    StorageEngine::open(&config(roots)).expect("open engine")
}

pub fn schema(schema_hash: i32) -> TTabletSchema {
    TTabletSchema::new(
        1,
        schema_hash,
        TKeysType::AGG_KEYS,
        TStorageType::COLUMN,
        vec![
            TColumn::new("k1".to_string(), TColumnType::new(TPrimitiveType::INT, None, None, None, None, None), None, true, false, None, None, None, None, 0, None),
            TColumn::new(
                "v1".to_string(),
                TColumnType::new(TPrimitiveType::VARCHAR, 32, None, None, None, None),
                TAggregationType::REPLACE,
                false,
                true,
                "x".to_string(), None, None,
                None,
                1, None),
            TColumn::new(
                "v2".to_string(),
                TColumnType::new(TPrimitiveType::DECIMAL64, None, None, 18, 4, None),
                TAggregationType::SUM,
                false,
                true,
                None, None, None,
                None,
                None, None),
        ], None, None, None, None, None, None, None)
}

pub fn create_req(tablet_id: i64, schema_hash: i32, version: Option<i64>) -> TCreateTabletReq {
    TCreateTabletReq::new(tablet_id, Box::new(schema(schema_hash)), version, None, None, 100 + tablet_id, 200 + tablet_id, None, None, None, 300 + tablet_id, None, None, None, None)
}

/// Write `segments` segment files (+ one index file) of a new rowset into the tablet dir
/// and add it as versions [start, end]. Returns the rowset.
pub fn write_rowset(engine: &StorageEngine, tablet_id: i64, start: i64, end: i64, segments: u32) -> RowsetMeta {
    let dir = engine.tablet_dir(tablet_id).unwrap();
    let id = engine.next_rowset_id();
    let mut size = 0;
    for s in 0..segments {
        let body = segment_bytes(&id, s);
        size += body.len() as i64;
        std::fs::write(dir.join(format!("{id}_{s}.dat")), &body).unwrap();
    }
    if segments > 0 {
        std::fs::write(dir.join(format!("{id}_0_10001.idx")), format!("index of {id}")).unwrap();
    }
    let rs = RowsetMeta {
        rowset_id: id,
        start_version: start,
        end_version: end,
        num_segments: segments,
        num_rows: 10 * segments as i64,
        data_size: size,
        txn_id: None,
        remote: false,
        creation_time_s: 0,
        delete_predicate: None,
    };
    engine.add_rowset(tablet_id, rs.clone()).unwrap();
    rs
}

/// Deterministic segment contents so moved data can be checked byte for byte.
pub fn segment_bytes(rowset_id: &str, seg: u32) -> Vec<u8> {
    format!("segment {seg} of rowset {rowset_id}\n").repeat(50).into_bytes()
}

pub fn snapshot_req(tablet_id: i64, schema_hash: i32, version: Option<i64>) -> SnapshotSpec {
    SnapshotSpec { tablet_id, schema_hash, version, ..SnapshotSpec::default() }
}

pub fn move_req(tablet_id: i64, schema_hash: i32, src: &Path) -> MoveSpec {
    MoveSpec { tablet_id, schema_hash, src: src.to_path_buf(), overwrite: true }
}

pub fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    v.sort();
    v
}

/// A snapshot's `<tablet_id>/<schema_hash>` dir.
pub fn snapshot_inner(snapshot_path: &Path, tablet_id: i64, schema_hash: i32) -> PathBuf {
    snapshot_path.join(tablet_id.to_string()).join(schema_hash.to_string())
}

/// What a DOWNLOAD leaves for MOVE: the snapshot's files copied into
/// `<dst_root>/snapshot/<name>/<dst_tablet>/<dst_hash>/`, the `.hdr` renamed to the local id.
pub fn download_like(src_inner: &Path, src_tablet: i64, dst_root: &Path, name: &str, dst_tablet: i64, dst_hash: i32) -> PathBuf {
    let dst = dst_root.join("snapshot").join(name).join(dst_tablet.to_string()).join(dst_hash.to_string());
    std::fs::create_dir_all(&dst).unwrap();
    for f in files_in(src_inner) {
        let to = if f == format!("{src_tablet}.hdr") { format!("{dst_tablet}.hdr") } else { f.clone() };
        std::fs::copy(src_inner.join(&f), dst.join(to)).unwrap();
    }
    dst
}

/// Source tablet 100 (hash 55) on `src_root` with rowsets [0,1] [2,2] [3,4]; its snapshot
/// downloaded for tablet 200 (hash 66) on `dst_root`. Returns (source rowsets, src dir).
pub fn prepare_move(src_root: &Path, dst_root: &Path) -> (Vec<RowsetMeta>, PathBuf) {
    let e = open(&[src_root]);
    e.create_tablet(&create_req(100, 55, None)).unwrap();
    write_rowset(&e, 100, 2, 2, 2);
    write_rowset(&e, 100, 3, 4, 1);
    let snap = e.make_snapshot(&snapshot_req(100, 55, None)).unwrap();
    let inner = snapshot_inner(&snap.snapshot_path, 100, 55);
    let dst = download_like(&inner, 100, dst_root, "20250101000000.0.86400", 200, 66);
    (e.tablet_meta(100).unwrap().rowsets, dst)
}
