use super::*;
use crate::backup::restore_job::{RestoreExtra, RestoreTablet};
use crate::backup::state::tests::header;
use crate::backup::state::SnapshotRecord;
use crate::backup::{BackupJobInfo, RestoreJobRecord, RestoreOptions};

fn tablet(i: i64) -> RestoreTablet {
    RestoreTablet {
        table_id: 1,
        partition_id: 2,
        local_tablet_id: 100_000 + i,
        local_be_id: 10_001 + i % 3,
        schema_hash: 7,
        remote_tablet_id: 200_000 + i,
        remote_schema_hash: 8,
        remote_table_id: 3,
        remote_partition_id: 4,
        remote_index_id: 5,
        local_snapshot_path: String::new(),
    }
}

/// A restore of `n` tablets, far past one chunk for the larger `n`.
fn restore(n: i64) -> StoredJob {
    let mut record = RestoreJobRecord::new(header(42, "snap", "db", -1, "__keep_on_local__", vec![]), RestoreOptions::default(), 1000);
    let mut info = BackupJobInfo { backup_time: 1_700_000_000_000, ..Default::default() };
    for i in 0..n {
        info.tablet_snapshot_path_map.insert(200_000 + i, format!("/be/snapshot/20240101.{i}.86400"));
        record.tasks.unfinished.insert(300_000 + i, 100_000 + i);
        record.snapshots.insert(
            100_000 + i,
            SnapshotRecord { db_id: 1, table_id: 1, partition_id: 2, index_id: 0, tablet_id: 100_000 + i, be_id: 10_001, schema_hash: 7, path: "/p".into(), files: vec![] },
        );
    }
    record.job_info = Some(info.into());
    let extra = RestoreExtra { tablets: (0..n).map(tablet).collect::<Vec<_>>().into(), partitions: vec![(1, 2, 3)], ..Default::default() };
    StoredJob::Restore { record, extra }
}

fn restore_parts(job: &StoredJob) -> (&RestoreJobRecord, &RestoreExtra) {
    match job {
        StoredJob::Restore { record, extra } => (record, extra),
        StoredJob::Backup { .. } => panic!("not a restore"),
    }
}

fn store() -> (tempfile::TempDir, MetaStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = MetaStore::open(dir.path()).unwrap();
    (dir, store)
}

#[test]
fn a_job_comes_back_whole_and_its_record_holds_no_tablet() {
    let (_dir, store) = store();
    let mut job = restore(5_000);
    let wrote = store.write(|w| put(w, &mut job)).unwrap();
    assert!(wrote > 6, "several chunks for 5,000 tablets, wrote {wrote}");
    let (r, x) = restore_parts(&job);
    assert_eq!(x.tablets.len(), 5_000, "the parts are back in the caller's job");
    assert!(r.job_info.is_some());

    let back = get(&store, 42).unwrap().unwrap();
    assert_eq!(restore_parts(&back), (r, x));

    let bare = store.get::<StoredJob>(Kind::Job, 42).unwrap().unwrap();
    let (br, bx) = restore_parts(&bare);
    assert!(bx.tablets.is_empty() && br.snapshots.is_empty() && br.tasks.unfinished.is_empty() && br.job_info.is_none());
    assert_eq!(bx.partitions, vec![(1, 2, 3)], "small fields stay in the record");
    assert!(serde_json::to_string(&bare).unwrap().len() < 2_000);
}

#[test]
fn a_save_writes_only_the_chunks_that_changed() {
    let (_dir, store) = store();
    let mut job = restore(5_000);
    store.write(|w| put(w, &mut job)).unwrap();
    assert_eq!(store.write(|w| put(w, &mut job)).unwrap(), 0, "nothing changed, nothing written");

    // A step that changes the state and the last tablet rewrites the chunk holding it.
    if let StoredJob::Restore { record, extra } = &mut job {
        record.state = crate::backup::RestoreState::Snapshoting;
        extra.tablets.last_mut().unwrap().local_snapshot_path = "/be/snapshot/x".into();
    }
    assert_eq!(store.write(|w| put(w, &mut job)).unwrap(), 1);
    let back = get(&store, 42).unwrap().unwrap();
    assert_eq!(restore_parts(&back), restore_parts(&job));

    // Shorter parts leave no stale chunk behind; forgetting the job drops them all.
    let mut small = restore(3);
    store.write(|w| put(w, &mut small)).unwrap();
    assert_eq!(restore_parts(&get(&store, 42).unwrap().unwrap()), restore_parts(&small));
    store.write(|w| delete(w, 42)).unwrap();
    assert!(get(&store, 42).unwrap().is_none());
    assert!(store.read_chunks(42).unwrap().is_empty());
}

/// A record stored whole by an earlier version loads as it was, and is stored split from
/// its next save on.
#[test]
fn a_record_stored_whole_still_loads() {
    let (_dir, store) = store();
    let old = restore(2_000);
    store.put(Kind::Job, 42, &old).unwrap();
    let loaded = load_all(&store).unwrap();
    assert_eq!(loaded.len(), 1);
    assert_eq!(restore_parts(&loaded[0].1), restore_parts(&old));

    let mut job = loaded.into_iter().next().unwrap().1;
    store.write(|w| put(w, &mut job)).unwrap();
    let bare = store.get::<StoredJob>(Kind::Job, 42).unwrap().unwrap();
    assert!(restore_parts(&bare).1.tablets.is_empty());
    assert_eq!(restore_parts(&get(&store, 42).unwrap().unwrap()), restore_parts(&old));
}
