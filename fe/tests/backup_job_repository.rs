//! Backup to a `file://` repository and restore into another database (one FE and one
//! in-process BE, so the test can put real rowset files into the tablets); then an FE
//! restart in the middle of a backup: the stored job resumes and finishes. (The same with
//! a real `kill -9` of an FE process, in every job state: tests/e2e/test_fe_kill_jobs.py.)

mod fe_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use doris_be::agent;
use doris_fe::jobs::StoredJob;
use doris_fe::persist::{Kind, MetaStore, Named};
use doris_fe::server::start;
use fe_support::*;

/// brpc port the in-process BE reports (nothing listens on it).
const BRPC: u16 = 18081;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_to_file_repository_and_restore_into_another_database() {
    let meta = tempfile::tempdir().unwrap();
    let storage = tempfile::tempdir().unwrap();
    let repo_dir = tempfile::tempdir().unwrap();
    let fe = start_fe(meta.path()).await;
    let be = agent::start(be_config(storage.path(), BRPC)).await.unwrap();
    let mut sql = Sql::new(fe.ctx.clone());
    add_backend(&fe, &be, 1).await;
    let expected = table_with_data(&fe, &be, "a").await;

    sql.run(&format!(
        r#"CREATE REPOSITORY repo1 WITH LOCAL ON LOCATION "file://{}""#,
        repo_dir.path().display()
    ))
    .await;
    let repos = sql.rows("SHOW REPOSITORIES").await;
    assert_eq!(repos.column("RepoName"), vec!["repo1".to_string()]);
    assert!(sql
        .try_run(&format!(
            r#"CREATE REPOSITORY repo1 WITH LOCAL ON LOCATION "file://{}""#,
            repo_dir.path().display()
        ))
        .await
        .is_err());
    // A repository that does not exist is refused.
    assert!(sql
        .try_run("BACKUP SNAPSHOT a.s0 TO nope ON (t)")
        .await
        .is_err());

    sql.run(r#"BACKUP SNAPSHOT a.snapb TO repo1 ON (t) PROPERTIES ("type" = "full")"#)
        .await;
    let shown = wait_done(
        &fe,
        r#"SHOW BACKUP FROM a WHERE SnapshotName = "snapb""#,
        "backup FINISHED",
    )
    .await;
    assert_eq!(shown.get(&shown.rows[0], "Status"), "[OK]");

    // The repository holds every tablet's data as `<file>.<md5>`, byte for byte.
    let uploaded: Vec<PathBuf> = files_under(repo_dir.path())
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".dat."))
        .collect();
    assert_eq!(uploaded.len(), 4, "{uploaded:?}");
    let mut up: Vec<Vec<u8>> = uploaded.iter().map(|p| std::fs::read(p).unwrap()).collect();
    up.sort();
    let mut want: Vec<Vec<u8>> = expected.iter().flat_map(|(_, v)| v.clone()).collect();
    want.sort();
    assert_eq!(up, want);
    // The backup's BE snapshots are released once it finished.
    wait_for(30, "backup snapshots released", || {
        let n = snapshot_dirs(storage.path()).len();
        async move { (n == 0).then_some(()) }
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
    let shown = wait_done(
        &fe,
        r#"SHOW RESTORE FROM b WHERE Label = "snapb""#,
        "restore FINISHED",
    )
    .await;
    assert_eq!(shown.get(&shown.rows[0], "Timestamp"), ts);
    let restored = fe.ctx.catalog.table("b", "t2").unwrap();
    for p in &restored.partitions {
        assert_eq!(p.visible_version, 2);
        for (i, tablet) in p.index.tablets.iter().enumerate() {
            let want = &expected
                .iter()
                .find(|(k, _)| *k == (p.name.clone(), i))
                .unwrap()
                .1;
            assert_eq!(
                &dat_contents(&be, tablet.id),
                want,
                "tablet {} of {}",
                tablet.id,
                p.name
            );
        }
    }
    wait_for(30, "restore snapshots released", || {
        let n = snapshot_dirs(storage.path()).len();
        async move { (n == 0).then_some(()) }
    })
    .await;

    // A metadata-only backup uploads no data; restoring it creates the table only.
    sql.run(
        r#"BACKUP SNAPSHOT a.metaonly TO repo1 ON (t) PROPERTIES ("content" = "metadata_only")"#,
    )
    .await;
    wait_done(
        &fe,
        r#"SHOW BACKUP FROM a WHERE SnapshotName = "metaonly""#,
        "metadata-only backup FINISHED",
    )
    .await;
    assert_eq!(
        files_under(repo_dir.path())
            .iter()
            .filter(|p| p.to_string_lossy().contains(".dat."))
            .count(),
        4
    );
    let snaps = sql
        .rows(r#"SHOW SNAPSHOT ON repo1 WHERE SNAPSHOT = "metaonly""#)
        .await;
    let ts2 = snaps.get(&snaps.rows[0], "Timestamp").to_string();
    sql.run(&format!(
        r#"RESTORE SNAPSHOT b.metaonly FROM repo1 ON (t AS t3) PROPERTIES ("backup_timestamp" = "{ts2}", "replication_num" = "1")"#
    ))
    .await;
    wait_done(
        &fe,
        r#"SHOW RESTORE FROM b WHERE Label = "metaonly""#,
        "metadata-only restore FINISHED",
    )
    .await;
    let t3 = fe.ctx.catalog.table("b", "t3").unwrap();
    assert_eq!(t3.partitions.len(), 2);
    assert!(t3
        .tablets()
        .all(|(_, tb)| dat_contents(&be, tb.id).is_empty()));

    // CANCEL with nothing running; DROP REPOSITORY keeps the data.
    assert!(sql.try_run("CANCEL BACKUP FROM a").await.is_err());
    sql.run("DROP REPOSITORY repo1").await;
    assert!(sql.rows("SHOW REPOSITORIES").await.rows.is_empty());
    assert_eq!(
        files_under(repo_dir.path())
            .iter()
            .filter(|p| p.to_string_lossy().contains(".dat."))
            .count(),
        4
    );

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
    let be = agent::start(be_config(storage.path(), BRPC)).await.unwrap();
    let fe = start_fe(meta.path()).await;
    let mut sql = Sql::new(fe.ctx.clone());
    add_backend(&fe, &be, 1).await;
    table_with_data(&fe, &be, "a").await;
    sql.run(r#"BACKUP SNAPSHOT a.snapr TO __keep_on_local__ ON (t) PROPERTIES ("type" = "full")"#)
        .await;
    wait_done(
        &fe,
        r#"SHOW BACKUP FROM a WHERE SnapshotName = "snapr""#,
        "backup FINISHED",
    )
    .await;
    let job_id = fe.ctx.jobs.backups()[0].job_id;
    drop(sql);
    fe.shutdown().await;

    // What a crash right after the SNAPSHOTING record was written leaves behind.
    {
        let store = MetaStore::open(meta.path()).unwrap();
        let Some(StoredJob::Backup { mut record }) =
            store.get::<StoredJob>(Kind::Job, job_id).unwrap()
        else {
            panic!("stored job {job_id} is not a backup")
        };
        record.state = doris_fe::backup::BackupState::Snapshoting;
        record.finished_time_ms = 0;
        record.snapshot_finished_time_ms = 0;
        record.job_info = None;
        for s in record.snapshots.values_mut() {
            s.path.clear();
            s.files.clear();
        }
        store
            .put(Kind::Job, job_id, &StoredJob::Backup { record })
            .unwrap();
        store.delete_named(Named::LocalSnapshot, "snapr").unwrap();
    }

    let fe = start_fe(meta.path()).await;
    assert!(fe.ctx.jobs.local_snapshot("snapr").is_none());
    let shown = wait_done(
        &fe,
        r#"SHOW BACKUP FROM a WHERE SnapshotName = "snapr""#,
        "resumed backup FINISHED",
    )
    .await;
    assert_eq!(shown.get(&shown.rows[0], "JobId"), job_id.to_string());
    let snap = fe
        .ctx
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
        fe.ctx.jobs.local_snapshot("snapr").map(|s| s.job_id),
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
    use doris_thrift::frontend_service::{
        TGetSnapshotRequest, TRestoreSnapshotRequest, TSnapshotType,
    };
    let meta = tempfile::tempdir().unwrap();
    let storage = tempfile::tempdir().unwrap();
    let be = agent::start(be_config(storage.path(), BRPC)).await.unwrap();
    let mut conf = fe_config(meta.path());
    conf.set("local_snapshot_ttl_second", "6").unwrap();
    let fe = start(conf).await.unwrap();
    let mut sql = Sql::new(fe.ctx.clone());
    add_backend(&fe, &be, 1).await;
    table_with_data(&fe, &be, "a").await;
    sql.run(r#"BACKUP SNAPSHOT a.snapc TO __keep_on_local__ ON (t)"#)
        .await;
    wait_done(
        &fe,
        r#"SHOW BACKUP FROM a WHERE SnapshotName = "snapc""#,
        "backup FINISHED",
    )
    .await;
    let backup_dirs = snapshot_dirs(storage.path());
    assert_eq!(backup_dirs.len(), 4, "one snapshot per tablet");

    let get = TGetSnapshotRequest {
        user: Some("root".into()),
        passwd: Some(ROOT_PASSWORD.into()),
        db: Some("a".into()),
        label_name: Some("snapc".into()),
        snapshot_type: Some(TSnapshotType::LOCAL),
        ..Default::default()
    };
    let snap = doris_fe::rpc::snapshots::get_snapshot(&fe.ctx, &get).unwrap();
    let mut info: serde_json::Value = serde_json::from_slice(&snap.job_info).unwrap();
    let be_id = fe.ctx.backends.all()[0].id;
    // Nothing listens on port 1: every download attempt fails.
    info["extra_info"] = serde_json::json!({"be_network_map": {be_id.to_string(): {"ip": "127.0.0.1", "port": 1}}, "token": "t"});
    sql.run("CREATE DATABASE c").await;
    let req = TRestoreSnapshotRequest {
        user: Some("root".into()),
        passwd: Some(ROOT_PASSWORD.into()),
        db: Some("c".into()),
        label_name: Some("snapc".into()),
        repo_name: Some("__keep_on_local__".into()),
        properties: Some([("replication_num".to_string(), "1".to_string())].into()),
        meta: Some(snap.meta.clone()),
        job_info: Some(serde_json::to_vec(&info).unwrap()),
        ..Default::default()
    };
    doris_fe::rpc::snapshots::restore_snapshot(&fe.ctx, &req).unwrap();
    let ctx = fe.ctx.clone();
    let status = wait_for(120, "the failed restore to be cancelled", || {
        let ctx = ctx.clone();
        async move {
            let t = Sql::new(ctx)
                .rows(r#"SHOW RESTORE FROM c WHERE Label = "snapc""#)
                .await;
            let row = t.rows.last()?.clone();
            (t.get(&row, "State") == "CANCELLED").then(|| t.get(&row, "Status").to_string())
        }
    })
    .await;
    assert!(status.starts_with("[COMMON_ERROR"), "{status}");
    assert!(
        fe.ctx.catalog.table("c", "t").is_err(),
        "the created table is dropped"
    );
    let mut want = backup_dirs.clone();
    want.sort();
    wait_for(30, "the restore's snapshots released", || {
        let mut now = snapshot_dirs(storage.path());
        now.sort();
        let want = want.clone();
        async move { (now == want).then_some(()) }
    })
    .await;

    // A source that accepts connections and never answers keeps the job in DOWNLOADING
    // until CANCEL RESTORE; then the BE's progress reports are answered CANCELLED.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let _hold = tokio::spawn(async move {
        let mut conns = Vec::new();
        while let Ok((c, _)) = silent.accept().await {
            conns.push(c);
        }
    });
    info["extra_info"] = serde_json::json!({"be_network_map": {be_id.to_string(): {"ip": "127.0.0.1", "port": silent_port}}, "token": "t"});
    let mut req2 = req.clone();
    req2.job_info = Some(serde_json::to_vec(&info).unwrap());
    doris_fe::rpc::snapshots::restore_snapshot(&fe.ctx, &req2).unwrap();
    let ctx = fe.ctx.clone();
    wait_for(60, "the restore to download", || {
        let ctx = ctx.clone();
        async move {
            let t = Sql::new(ctx)
                .rows(r#"SHOW RESTORE FROM c WHERE Label = "snapc""#)
                .await;
            let row = t.rows.last()?.clone();
            (t.get(&row, "State") == "DOWNLOADING").then_some(())
        }
    })
    .await;
    let job_id = fe
        .ctx
        .jobs
        .restores()
        .iter()
        .map(|r| r.job_id)
        .max()
        .unwrap();
    doris_fe::rpc::snapshots::loader_report(&fe.ctx, job_id, 1, Some(0), Some(1)).unwrap();
    sql.run("CANCEL RESTORE FROM c").await;
    let ctx = fe.ctx.clone();
    let status = wait_for(60, "the restore cancelled by the user", || {
        let ctx = ctx.clone();
        async move {
            let t = Sql::new(ctx)
                .rows(r#"SHOW RESTORE FROM c WHERE Label = "snapc""#)
                .await;
            let row = t.rows.last()?.clone();
            (t.get(&row, "State") == "CANCELLED").then(|| t.get(&row, "Status").to_string())
        }
    })
    .await;
    assert!(status.contains("cancelled by user"), "{status}");
    let e =
        doris_fe::rpc::snapshots::loader_report(&fe.ctx, job_id, 1, Some(0), Some(1)).unwrap_err();
    assert_eq!(
        e.status_code(),
        doris_thrift::status::TStatusCode::CANCELLED
    );
    assert!(
        fe.ctx.catalog.table("c", "t").is_err(),
        "the created table is dropped"
    );

    // Past the TTL: gone from the FE and from the BE.
    wait_for(60, "the local snapshot to expire", || {
        let gone = fe.ctx.jobs.local_snapshot("snapc").is_none()
            && snapshot_dirs(storage.path()).is_empty();
        async move { gone.then_some(()) }
    })
    .await;
    let e = doris_fe::rpc::snapshots::get_snapshot(&fe.ctx, &get)
        .err()
        .unwrap();
    assert_eq!(
        e.status_code(),
        doris_thrift::status::TStatusCode::SNAPSHOT_NOT_EXIST
    );
    drop(sql);
    fe.shutdown().await;
    be.shutdown().await;
}

/// A restore whose FE stopped right after it created its table (the stored record put
/// back to PENDING with the created table recorded) resumes on restart: the table is
/// restored into, not created twice, and the data arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_job_resumes_after_fe_restart() {
    use doris_thrift::frontend_service::{
        TGetSnapshotRequest, TRestoreSnapshotRequest, TSnapshotType,
    };
    let meta = tempfile::tempdir().unwrap();
    let storage = tempfile::tempdir().unwrap();
    let be = agent::start(be_config(storage.path(), BRPC)).await.unwrap();
    let fe = start_fe(meta.path()).await;
    let mut sql = Sql::new(fe.ctx.clone());
    add_backend(&fe, &be, 1).await;
    let expected = table_with_data(&fe, &be, "a").await;
    sql.run(r#"BACKUP SNAPSHOT a.snapd TO __keep_on_local__ ON (t)"#)
        .await;
    wait_done(
        &fe,
        r#"SHOW BACKUP FROM a WHERE SnapshotName = "snapd""#,
        "backup FINISHED",
    )
    .await;
    let get = TGetSnapshotRequest {
        user: Some("root".into()),
        passwd: Some(ROOT_PASSWORD.into()),
        db: Some("a".into()),
        label_name: Some("snapd".into()),
        snapshot_type: Some(TSnapshotType::LOCAL),
        ..Default::default()
    };
    let snap = doris_fe::rpc::snapshots::get_snapshot(&fe.ctx, &get).unwrap();
    let mut info: serde_json::Value = serde_json::from_slice(&snap.job_info).unwrap();
    let b = fe.ctx.backends.all()[0].clone();
    info["extra_info"] = serde_json::json!({
        "be_network_map": {b.id.to_string(): {"ip": "127.0.0.1", "port": be.addrs.http.port()}},
        "token": fe.ctx.cluster.token,
    });
    sql.run("CREATE DATABASE c").await;
    let req = TRestoreSnapshotRequest {
        user: Some("root".into()),
        passwd: Some(ROOT_PASSWORD.into()),
        db: Some("c".into()),
        label_name: Some("snapd".into()),
        repo_name: Some("__keep_on_local__".into()),
        properties: Some([("replication_num".to_string(), "1".to_string())].into()),
        meta: Some(snap.meta.clone()),
        job_info: Some(serde_json::to_vec(&info).unwrap()),
        ..Default::default()
    };
    doris_fe::rpc::snapshots::restore_snapshot(&fe.ctx, &req).unwrap();
    wait_done(
        &fe,
        r#"SHOW RESTORE FROM c WHERE Label = "snapd""#,
        "restore FINISHED",
    )
    .await;
    let table_id = fe.ctx.catalog.table("c", "t").unwrap().id;
    let job_id = fe.ctx.jobs.restores()[0].job_id;
    // MOVE gives installed rowsets new ids: changed ids show the resumed job installed
    // the data again.
    let rowset_ids = |tablet: i64| -> Vec<String> {
        be.ctx
            .storage
            .tablet_meta(tablet)
            .unwrap()
            .rowsets
            .iter()
            .map(|r| r.rowset_id.clone())
            .collect()
    };
    let before: BTreeMap<i64, Vec<String>> = fe
        .ctx
        .catalog
        .table("c", "t")
        .unwrap()
        .tablets()
        .map(|(_, t)| (t.id, rowset_ids(t.id)))
        .collect();
    drop(sql);
    fe.shutdown().await;

    {
        let store = MetaStore::open(meta.path()).unwrap();
        let Some(StoredJob::Restore {
            mut record,
            mut extra,
        }) = store.get::<StoredJob>(Kind::Job, job_id).unwrap()
        else {
            panic!("stored job {job_id} is not a restore")
        };
        assert_eq!(extra.created_tables, vec![table_id]);
        record.state = doris_fe::backup::RestoreState::Pending;
        record.finished_time_ms = 0;
        extra.tablets.clear();
        extra.partitions.clear();
        store
            .put(Kind::Job, job_id, &StoredJob::Restore { record, extra })
            .unwrap();
    }
    let restored_tablets: Vec<i64> = {
        let fe = start_fe(meta.path()).await;
        let ids: Vec<i64> = fe
            .ctx
            .catalog
            .table("c", "t")
            .unwrap()
            .tablets()
            .map(|(_, t)| t.id)
            .collect();
        let shown = wait_done(
            &fe,
            r#"SHOW RESTORE FROM c WHERE Label = "snapd""#,
            "resumed restore FINISHED",
        )
        .await;
        assert_eq!(shown.get(&shown.rows[0], "JobId"), job_id.to_string());
        let t = fe.ctx.catalog.table("c", "t").unwrap();
        assert_eq!(t.id, table_id, "the table is not created twice");
        for p in &t.partitions {
            assert_eq!(p.visible_version, 2);
            for (i, tablet) in p.index.tablets.iter().enumerate() {
                let want = &expected
                    .iter()
                    .find(|(k, _)| *k == (p.name.clone(), i))
                    .unwrap()
                    .1;
                assert_eq!(&dat_contents(&be, tablet.id), want);
            }
        }
        fe.shutdown().await;
        ids
    };
    assert_eq!(restored_tablets.len(), 4);
    for t in &restored_tablets {
        let now = rowset_ids(*t);
        assert!(!now.is_empty());
        assert_ne!(
            now, before[t],
            "tablet {t} was installed again by the resumed job"
        );
    }
    be.shutdown().await;
}
