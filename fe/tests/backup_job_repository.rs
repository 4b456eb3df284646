//! Backup to a `file://` repository and restore into another database (one FE and one
//! in-process BE, so the test can put real rowset files into the tablets); then an FE
//! restart in the middle of a backup: the stored job resumes and finishes. (The same with
//! a real `kill -9` of an FE process, in every job state: tests/e2e/test_fe_kill_jobs.py.)

mod fe_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use doris_be::agent::BeHandle;
use doris_fe::config::FeConfig;
use doris_fe::persist::{MetaStore, Named};
use doris_fe::rpc::snapshots;
use doris_fe::server::FeHandle;
use doris_thrift::status::TStatusCode;
use fe_support::*;

/// An FE on `conf` and a BE on `storage` joined to it, with `a.t` at version 2; that
/// table's contents.
async fn cluster(conf: FeConfig, storage: &Path) -> (FeHandle, BeHandle, Contents) {
    // brpc port the in-process BE reports (nothing listens on it).
    let (fe, be) = start_cluster(conf, be_config(storage, 18081)).await;
    let expected = table_with_data(&fe, &be, "a").await;
    (fe, be, expected)
}

/// The repository's data files (`<file>.<md5>`).
fn uploaded_files(repo: &Path) -> Vec<PathBuf> {
    files_under(repo)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".dat."))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_to_file_repository_and_restore_into_another_database() {
    let meta = tempfile::tempdir().unwrap();
    let storage = tempfile::tempdir().unwrap();
    let repo_dir = tempfile::tempdir().unwrap();
    let (fe, be, expected) = cluster(fe_config(meta.path()), storage.path()).await;
    let mut sql = Sql::new(fe.executor());

    sql.run(&create_repo_sql("repo1", repo_dir.path())).await;
    let repos = sql.rows("SHOW REPOSITORIES").await;
    assert_eq!(repos.column("RepoName"), vec!["repo1".to_string()]);
    assert!(sql
        .try_run(&create_repo_sql("repo1", repo_dir.path()))
        .await
        .is_err());
    // A repository that does not exist is refused.
    assert!(sql
        .try_run("BACKUP SNAPSHOT a.s0 TO nope ON (t)")
        .await
        .is_err());

    sql.run(r#"BACKUP SNAPSHOT a.snapb TO repo1 ON (t) PROPERTIES ("type" = "full")"#)
        .await;
    let shown = wait_backup(&fe, "a", "snapb", "FINISHED").await;
    assert_eq!(shown.get(&shown.rows[0], "Status"), "[OK]");

    // The repository holds every tablet's data as `<file>.<md5>`, byte for byte.
    let uploaded = uploaded_files(repo_dir.path());
    assert_eq!(uploaded.len(), 4, "{uploaded:?}");
    let mut up: Vec<Vec<u8>> = uploaded.iter().map(|p| std::fs::read(p).unwrap()).collect();
    up.sort();
    let mut want: Vec<Vec<u8>> = expected.values().flatten().cloned().collect();
    want.sort();
    assert_eq!(up, want);
    // The backup's BE snapshots are released once it finished.
    wait_until(30, "backup snapshots released", || {
        snapshot_dirs(storage.path()).is_empty()
    })
    .await;

    let snaps = sql
        .rows(r#"SHOW SNAPSHOT ON repo1 WHERE SNAPSHOT = "snapb""#)
        .await;
    assert_eq!(snaps.rows.len(), 1);
    assert_eq!(snaps.get(&snaps.rows[0], "Status"), "OK");
    let ts = snaps.get(&snaps.rows[0], "Timestamp").to_string();
    assert!(!ts.is_empty() && !ts.contains('\n'), "{ts}");

    // Restore into another database under another name.
    sql.run("CREATE DATABASE b").await;
    assert!(sql.try_run(r#"RESTORE SNAPSHOT b.snapb FROM repo1 ON (t AS t2) PROPERTIES ("replication_num" = "1")"#).await.is_err(), "backup_timestamp is required");
    sql.run(&format!(
        r#"RESTORE SNAPSHOT b.snapb FROM repo1 ON (t AS t2) PROPERTIES ("backup_timestamp" = "{ts}", "replication_num" = "1")"#
    ))
    .await;
    let shown = wait_restore(&fe, "b", "snapb", "FINISHED").await;
    assert_eq!(shown.get(&shown.rows[0], "Timestamp"), ts);
    let restored = fe.ctx.catalog.table("b", "t2").unwrap();
    for p in &restored.partitions {
        assert_eq!(p.visible_version, 2);
        for (i, tablet) in p.index.tablets.iter().enumerate() {
            assert_eq!(
                dat_contents(&be, tablet.id),
                expected[&(p.name.clone(), i)],
                "tablet {} of {}",
                tablet.id,
                p.name
            );
        }
    }
    wait_until(30, "restore snapshots released", || {
        snapshot_dirs(storage.path()).is_empty()
    })
    .await;

    // A metadata-only backup uploads no data; restoring it creates the table only.
    sql.run(
        r#"BACKUP SNAPSHOT a.metaonly TO repo1 ON (t) PROPERTIES ("content" = "metadata_only")"#,
    )
    .await;
    wait_backup(&fe, "a", "metaonly", "FINISHED").await;
    assert_eq!(uploaded_files(repo_dir.path()).len(), 4);
    let snaps = sql
        .rows(r#"SHOW SNAPSHOT ON repo1 WHERE SNAPSHOT = "metaonly""#)
        .await;
    let ts2 = snaps.get(&snaps.rows[0], "Timestamp").to_string();
    sql.run(&format!(
        r#"RESTORE SNAPSHOT b.metaonly FROM repo1 ON (t AS t3) PROPERTIES ("backup_timestamp" = "{ts2}", "replication_num" = "1")"#
    ))
    .await;
    wait_restore(&fe, "b", "metaonly", "FINISHED").await;
    let t3 = fe.ctx.catalog.table("b", "t3").unwrap();
    assert_eq!(t3.partitions.len(), 2);
    assert!(t3
        .tablets()
        .all(|(_, tb)| dat_contents(&be, tb.id).is_empty()));

    // CANCEL with nothing running; DROP REPOSITORY keeps the data.
    assert!(sql.try_run("CANCEL BACKUP FROM a").await.is_err());
    sql.run("DROP REPOSITORY repo1").await;
    assert!(sql.rows("SHOW REPOSITORIES").await.rows.is_empty());
    assert_eq!(uploaded_files(repo_dir.path()).len(), 4);

    fe.shutdown().await;
    be.shutdown().await;
}

/// The FE stops right after persisting SNAPSHOTING (the stored record is put back to that
/// state, as a crash there leaves it): on restart the job resumes, re-sends its snapshot
/// tasks and finishes; its local snapshot survives a further restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_job_resumes_after_fe_restart() {
    let meta = tempfile::tempdir().unwrap();
    let storage = tempfile::tempdir().unwrap();
    let (fe, be, _) = cluster(fe_config(meta.path()), storage.path()).await;
    Sql::new(fe.executor())
        .run(r#"BACKUP SNAPSHOT a.snapr TO __keep_on_local__ ON (t) PROPERTIES ("type" = "full")"#)
        .await;
    wait_backup(&fe, "a", "snapr", "FINISHED").await;
    let job_id = fe.backup.jobs.backups()[0].job_id;
    fe.shutdown().await;

    // What a crash right after the SNAPSHOTING record was written leaves behind. A finished
    // local backup's record hands its meta and per-tablet snapshots to the local snapshot;
    // a SNAPSHOTING record still has them.
    let stored: Vec<(String, doris_fe::backup::LocalSnapshot)> =
        MetaStore::open(meta.path()).unwrap().load_all_named(Named::LocalSnapshot).unwrap();
    let local = stored.into_iter().find(|(l, _)| l == "snapr").expect("local snapshot stored").1;
    edit_stored_backup(meta.path(), job_id, |record| {
        assert!(record.meta.is_none() && record.snapshots.is_empty(), "a finished local backup keeps no second copy");
        record.state = doris_fe::backup::BackupState::Snapshoting;
        record.finished_time_ms = 0;
        record.snapshot_finished_time_ms = 0;
        record.job_info = None;
        record.meta = Some(doris_fe::backup::BackupMeta::decode(&local.meta).unwrap().into());
        for mut s in local.snapshots {
            s.path.clear();
            s.files.clear();
            record.snapshots.insert(s.tablet_id, s);
        }
    });
    MetaStore::open(meta.path())
        .unwrap()
        .delete_named(Named::LocalSnapshot, "snapr")
        .unwrap();

    let fe = start_fe(meta.path()).await;
    assert!(fe.backup.jobs.local_snapshot("snapr").is_none());
    let shown = wait_backup(&fe, "a", "snapr", "FINISHED").await;
    assert_eq!(shown.get(&shown.rows[0], "JobId"), job_id.to_string());
    let snap = fe
        .backup
        .jobs
        .local_snapshot("snapr")
        .expect("the resumed job published its local snapshot");
    assert_eq!(snap.job_id, job_id);
    for s in &snap.snapshots {
        assert!(
            Path::new(&s.path).join(s.tablet_id.to_string()).is_dir(),
            "{} is on the BE",
            s.path
        );
    }
    fe.shutdown().await;

    // Local snapshots survive a restart (upstream loses them).
    let fe = start_fe(meta.path()).await;
    assert_eq!(
        fe.backup.jobs.local_snapshot("snapr").map(|s| s.job_id),
        Some(job_id)
    );
    fe.shutdown().await;
    be.shutdown().await;
}

/// A restore whose download cannot reach the source is cancelled and cleans up (the table
/// it created dropped, its BE snapshots released); a local snapshot past its TTL is
/// dropped and its BE snapshots released.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_restore_cleans_up_and_local_snapshots_expire() {
    let meta = tempfile::tempdir().unwrap();
    let storage = tempfile::tempdir().unwrap();
    let mut conf = fe_config(meta.path());
    conf.set("local_snapshot_ttl_second", "6").unwrap();
    let (fe, be, _) = cluster(conf, storage.path()).await;
    let mut sql = Sql::new(fe.executor());
    let snap = backup_local(&fe, "a", "snapc", "t").await;
    let backup_dirs = snapshot_dirs(storage.path());
    assert_eq!(backup_dirs.len(), 4, "one snapshot per tablet");

    // Nothing listens on port 1: every download attempt fails.
    sql.run("CREATE DATABASE c").await;
    let req = restore_req("c", "snapc", &snap, job_info_via(&fe, &snap, 1, "t"), false, &[]);
    snapshots::restore_snapshot(&fe.backup, &req).unwrap();
    let shown = wait_restore(&fe, "c", "snapc", "CANCELLED").await;
    let status = shown.last("Status");
    assert!(status.starts_with("[COMMON_ERROR"), "{status}");
    assert!(
        fe.ctx.catalog.table("c", "t").is_err(),
        "the created table is dropped"
    );
    let mut want = backup_dirs.clone();
    want.sort();
    wait_until(30, "the restore's snapshots released", || {
        let mut now = snapshot_dirs(storage.path());
        now.sort();
        now == want
    })
    .await;

    // A source that accepts connections and never answers keeps the job in DOWNLOADING
    // until CANCEL RESTORE; then the BE's progress reports are answered CANCELLED.
    let (silent_port, _hold) = silent_source().await;
    let req = restore_req(
        "c",
        "snapc",
        &snap,
        job_info_via(&fe, &snap, silent_port, "t"),
        false,
        &[],
    );
    snapshots::restore_snapshot(&fe.backup, &req).unwrap();
    wait_restore(&fe, "c", "snapc", "DOWNLOADING").await;
    let job_id = last_restore(&fe).0.job_id;
    snapshots::loader_report(&fe.backup, job_id, 1, Some(0), Some(1)).unwrap();
    sql.run("CANCEL RESTORE FROM c").await;
    let shown = wait_restore(&fe, "c", "snapc", "CANCELLED").await;
    let status = shown.last("Status");
    assert!(status.contains("cancelled by user"), "{status}");
    let e = snapshots::loader_report(&fe.backup, job_id, 1, Some(0), Some(1)).unwrap_err();
    assert_eq!(e.status_code(), TStatusCode::CANCELLED);
    assert!(
        fe.ctx.catalog.table("c", "t").is_err(),
        "the created table is dropped"
    );

    // Past the TTL: gone from the FE and from the BE.
    wait_until(60, "the local snapshot to expire", || {
        fe.backup.jobs.local_snapshot("snapc").is_none() && snapshot_dirs(storage.path()).is_empty()
    })
    .await;
    let e = snapshots::get_snapshot(&fe.backup, &snapshot_req("a", "snapc"))
        .err()
        .unwrap();
    assert_eq!(e.status_code(), TStatusCode::SNAPSHOT_NOT_EXIST);
    drop(sql);
    fe.shutdown().await;
    be.shutdown().await;
}

/// A restore whose FE stopped right after it created its table (the stored record put
/// back to PENDING with the created table recorded) resumes on restart: the table is
/// restored into, not created twice, and the data arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_job_resumes_after_fe_restart() {
    let meta = tempfile::tempdir().unwrap();
    let storage = tempfile::tempdir().unwrap();
    let (fe, be, expected) = cluster(fe_config(meta.path()), storage.path()).await;
    let snap = backup_local(&fe, "a", "snapd", "t").await;
    let job_info = job_info_via(&fe, &snap, be.addrs.http.port(), &fe.ctx.cluster.token);
    Sql::new(fe.executor()).run("CREATE DATABASE c").await;
    let req = restore_req("c", "snapd", &snap, job_info, false, &[]);
    snapshots::restore_snapshot(&fe.backup, &req).unwrap();
    wait_restore(&fe, "c", "snapd", "FINISHED").await;
    let table_id = fe.ctx.catalog.table("c", "t").unwrap().id;
    let job_id = fe.backup.jobs.restores()[0].job_id;
    // MOVE gives installed rowsets new ids: changed ids show the resumed job installed
    // the data again.
    let before: BTreeMap<i64, Vec<String>> = tablet_ids(&fe, "c", "t")
        .into_iter()
        .map(|id| (id, rowset_ids(&be, id)))
        .collect();
    fe.shutdown().await;

    edit_stored_restore(meta.path(), job_id, |record, extra| {
        assert_eq!(extra.created_tables, vec![table_id]);
        record.state = doris_fe::backup::RestoreState::Pending;
        record.finished_time_ms = 0;
        extra.tablets.clear();
        extra.partitions.clear();
    });
    let restored_tablets: Vec<i64> = {
        let fe = start_fe(meta.path()).await;
        let ids = tablet_ids(&fe, "c", "t");
        let shown = wait_restore(&fe, "c", "snapd", "FINISHED").await;
        assert_eq!(shown.get(&shown.rows[0], "JobId"), job_id.to_string());
        let t = fe.ctx.catalog.table("c", "t").unwrap();
        assert_eq!(t.id, table_id, "the table is not created twice");
        for p in &t.partitions {
            assert_eq!(p.visible_version, 2);
            for (i, tablet) in p.index.tablets.iter().enumerate() {
                assert_eq!(dat_contents(&be, tablet.id), expected[&(p.name.clone(), i)]);
            }
        }
        fe.shutdown().await;
        ids
    };
    assert_eq!(restored_tablets.len(), 4);
    for t in &restored_tablets {
        let now = rowset_ids(&be, *t);
        assert!(!now.is_empty());
        assert_ne!(
            now, before[t],
            "tablet {t} was installed again by the resumed job"
        );
    }
    be.shutdown().await;
}
