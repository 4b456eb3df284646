//! MAKE_SNAPSHOT, RELEASE_SNAPSHOT, the sweeper and the `.hdr` format.

mod storage_common;

use std::os::unix::fs::{symlink, MetadataExt};

use doris_be::error::BeError;
use doris_be::storage::hdr;
use storage_common::*;

#[test]
fn storage_snapshot_is_hard_links_plus_hdr() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("r");
    let e = open(&[&root]);
    e.create_tablet(&create_req(100, 55, None)).unwrap();
    let r2 = write_rowset(&e, 100, 2, 2, 2);
    let r3 = write_rowset(&e, 100, 3, 4, 1);
    let tablet_dir = e.tablet_dir(100).unwrap();

    let snap = e.make_snapshot(&snapshot_req(100, 55, None)).unwrap();
    let canon_root = root.canonicalize().unwrap();
    assert_eq!(snap.snapshot_path.parent().unwrap(), canon_root.join("snapshot"));
    let name = snap.snapshot_path.file_name().unwrap().to_str().unwrap().to_string();
    let parts: Vec<&str> = name.split('.').collect();
    assert_eq!(parts.len(), 3, "{name}");
    assert_eq!(parts[0].len(), 14);
    assert!(parts[0].chars().all(|c| c.is_ascii_digit()));
    assert_eq!(parts[2], "172800", "default timeout is snapshot_expire_time_sec");

    let inner = snapshot_inner(&snap.snapshot_path, 100, 55);
    let mut expect = vec![
        "100.hdr".to_string(),
        format!("{}_0.dat", r2.rowset_id),
        format!("{}_1.dat", r2.rowset_id),
        format!("{}_0_10001.idx", r2.rowset_id),
        format!("{}_0.dat", r3.rowset_id),
        format!("{}_0_10001.idx", r3.rowset_id),
    ];
    expect.sort();
    assert_eq!(snap.files, expect);
    assert_eq!(files_in(&inner), expect);
    for f in expect.iter().filter(|f| !f.ends_with(".hdr")) {
        let a = std::fs::metadata(inner.join(f)).unwrap();
        let b = std::fs::metadata(tablet_dir.join(f)).unwrap();
        assert_eq!((a.dev(), a.ino()), (b.dev(), b.ino()), "{f} is a hard link");
    }
    let meta = hdr::read_file(&inner.join("100.hdr")).unwrap();
    assert_eq!(meta, e.tablet_meta(100).unwrap());
}

#[test]
fn storage_snapshot_at_a_version_and_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let e = open(&[tmp.path()]);
    e.create_tablet(&create_req(100, 55, None)).unwrap();
    let r2 = write_rowset(&e, 100, 2, 2, 1);
    let r3 = write_rowset(&e, 100, 3, 5, 1);

    let snap = e.make_snapshot(&snapshot_req(100, 55, Some(2))).unwrap();
    let inner = snapshot_inner(&snap.snapshot_path, 100, 55);
    let meta = hdr::read_file(&inner.join("100.hdr")).unwrap();
    assert_eq!(meta.max_version(), 2);
    assert_eq!(meta.rowsets.len(), 2);
    assert!(snap.files.contains(&format!("{}_0.dat", r2.rowset_id)));
    assert!(!snap.files.iter().any(|f| f.starts_with(&r3.rowset_id)));

    // Above the max version, inside a merged rowset, wrong schema hash, unknown tablet.
    let err = e.make_snapshot(&snapshot_req(100, 55, Some(6))).unwrap_err();
    assert!(matches!(err, BeError::InvalidArgument(ref m) if m.contains("above")), "{err}");
    assert!(matches!(e.make_snapshot(&snapshot_req(100, 55, Some(4))), Err(BeError::InvalidArgument(_))));
    assert!(matches!(e.make_snapshot(&snapshot_req(100, 56, None)), Err(BeError::NotFound(_))));
    assert!(matches!(e.make_snapshot(&snapshot_req(101, 55, None)), Err(BeError::NotFound(_))));

    // Two snapshots in the same second get different names; explicit timeout lands in the name.
    let mut req = snapshot_req(100, 55, None);
    req.timeout_s = Some(60);
    let a = e.make_snapshot(&req).unwrap();
    let b = e.make_snapshot(&req).unwrap();
    assert_ne!(a.snapshot_path, b.snapshot_path);
    assert!(a.snapshot_path.to_str().unwrap().ends_with(".60"));

    // Incremental: exactly the missing versions when all exist.
    let mut req = snapshot_req(100, 55, None);
    req.missing_versions = vec![2];
    let inc = e.make_snapshot(&req).unwrap();
    let m = hdr::read_file(&snapshot_inner(&inc.snapshot_path, 100, 55).join("100.hdr")).unwrap();
    assert_eq!(m.rowsets.iter().map(|r| r.rowset_id.clone()).collect::<Vec<_>>(), vec![r2.rowset_id.clone()]);
}

#[test]
fn storage_snapshot_carries_binlogs_only_when_asked() {
    let tmp = tempfile::tempdir().unwrap();
    let e = open(&[tmp.path()]);
    e.create_tablet(&create_req(9, 1, None)).unwrap();
    let rs = write_rowset(&e, 9, 2, 2, 1);
    let dir = e.tablet_dir(9).unwrap();
    std::fs::write(dir.join(format!("{}_0.binlog", rs.rowset_id)), b"b").unwrap();
    std::fs::write(dir.join("rowset_binlog_metas.pb"), b"pb").unwrap();
    let plain = e.make_snapshot(&snapshot_req(9, 1, None)).unwrap();
    assert!(!plain.files.iter().any(|f| f.contains("binlog")));
    let mut req = snapshot_req(9, 1, None);
    req.copy_binlog = true;
    let with = e.make_snapshot(&req).unwrap();
    assert!(with.files.contains(&format!("{}_0.binlog", rs.rowset_id)));
    assert!(with.files.contains(&"rowset_binlog_metas.pb".to_string()));
}

#[test]
fn storage_release_is_confined_to_snapshot_dirs() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("r");
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let e = open(&[&root]);
    e.create_tablet(&create_req(100, 55, None)).unwrap();
    let snap = e.make_snapshot(&snapshot_req(100, 55, None)).unwrap();

    // Outside any root, a tablet dir, the snapshot dir itself, '..', relative, symlink out.
    assert!(matches!(e.release_snapshot(&outside), Err(BeError::NotAuthorized(_))));
    assert!(outside.exists());
    let tablet_dir = e.tablet_dir(100).unwrap();
    assert!(matches!(e.release_snapshot(&tablet_dir), Err(BeError::NotAuthorized(_))));
    assert!(tablet_dir.exists());
    assert!(matches!(e.release_snapshot(&root.join("snapshot")), Err(BeError::InvalidArgument(_))));
    let dotdot = snap.snapshot_path.join("../../data");
    assert!(matches!(e.release_snapshot(&dotdot), Err(BeError::InvalidArgument(_))));
    assert!(matches!(e.release_snapshot(std::path::Path::new("snapshot/x")), Err(BeError::InvalidArgument(_))));
    symlink(&outside, root.join("snapshot/evil")).unwrap();
    assert!(matches!(e.release_snapshot(&root.join("snapshot/evil")), Err(BeError::NotAuthorized(_))));
    assert!(outside.exists());

    // A path inside the snapshot removes the whole timestamp dir; again is OK.
    e.release_snapshot(&snapshot_inner(&snap.snapshot_path, 100, 55)).unwrap();
    assert!(!snap.snapshot_path.exists());
    e.release_snapshot(&snap.snapshot_path).unwrap();
    // The tablet's files survive (the snapshot held links).
    assert!(e.tablet_dir(100).unwrap().is_dir());
}

#[test]
fn storage_sweeper_removes_expired_snapshots() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("r");
    let e = open(&[&root]);
    e.create_tablet(&create_req(100, 55, None)).unwrap();
    let fresh = e.make_snapshot(&snapshot_req(100, 55, None)).unwrap();
    let snap_root = root.join("snapshot");
    // Old beyond its own timeout; old beyond the config's expiry; not a snapshot name.
    std::fs::create_dir_all(snap_root.join("20200101000000.1.60/1/1")).unwrap();
    std::fs::create_dir_all(snap_root.join("20200101000000.2.999999999")).unwrap();
    std::fs::create_dir_all(snap_root.join("not-a-snapshot")).unwrap();
    assert_eq!(e.sweep_expired_snapshots().unwrap(), 2);
    assert!(fresh.snapshot_path.exists());
    assert!(snap_root.join("not-a-snapshot").exists());
    assert!(!snap_root.join("20200101000000.1.60").exists());

    // Its own short timeout counts once passed.
    let mut req = snapshot_req(100, 55, None);
    req.timeout_s = Some(10);
    let short = e.make_snapshot(&req).unwrap();
    let later = chrono::Local::now().naive_local() + chrono::Duration::seconds(60);
    assert_eq!(e.sweep_expired_snapshots_at(later).unwrap(), 1);
    assert!(!short.snapshot_path.exists());
    assert!(fresh.snapshot_path.exists());
}

#[test]
fn storage_hdr_detects_corruption_truncation_and_newer_versions() {
    let tmp = tempfile::tempdir().unwrap();
    let e = open(&[tmp.path()]);
    let meta = e.create_tablet(&create_req(100, 55, None)).unwrap();
    let bytes = hdr::encode(&meta).unwrap();
    assert_eq!(&bytes[..8], b"DRSTMETA");
    assert_eq!(u32::from_be_bytes(bytes[8..12].try_into().unwrap()), 1);
    assert_eq!(u64::from_be_bytes(bytes[12..20].try_into().unwrap()) as usize, bytes.len() - 24);
    assert_eq!(hdr::decode(&bytes).unwrap(), meta);

    let corrupt = |b: &[u8], want: &str| {
        let err = hdr::decode(b).unwrap_err();
        assert!(matches!(err, BeError::Corruption(ref m) if m.contains(want)), "want {want:?}, got {err}");
    };
    corrupt(&bytes[..10], "truncated");
    corrupt(&bytes[..bytes.len() - 1], "length");
    let mut flipped = bytes.clone();
    let last = flipped.len() - 2;
    flipped[last] ^= 0x01;
    corrupt(&flipped, "checksum");
    let mut magic = bytes.clone();
    magic[0] = b'X';
    corrupt(&magic, "magic");
    let mut newer = bytes.clone();
    newer[8..12].copy_from_slice(&2u32.to_be_bytes());
    corrupt(&newer, "newer");
    // A valid frame around a body that is not a tablet meta.
    let body = b"{\"hello\":1}";
    let mut framed = b"DRSTMETA".to_vec();
    framed.extend_from_slice(&1u32.to_be_bytes());
    framed.extend_from_slice(&(body.len() as u64).to_be_bytes());
    framed.extend_from_slice(&crc32fast::hash(body).to_be_bytes());
    framed.extend_from_slice(body);
    corrupt(&framed, "not a tablet meta");

    let p = tmp.path().join("x.hdr");
    std::fs::write(&p, &bytes[..30]).unwrap();
    let err = hdr::read_file(&p).unwrap_err();
    assert!(err.to_string().contains("x.hdr"), "{err}");
}
