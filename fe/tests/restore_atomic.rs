//! Restore semantics and job robustness, on an in-process FE with an in-process BE (so the
//! tests can put real rowset files into tablets and look at what the BE holds):
//! - `atomic_restore` fills a shadow table and swaps it in for the existing one at commit;
//!   a cancelled one drops the shadow and leaves the visible table as it was;
//! - a cancelled job leaves no waiter in the agent task queue, and a late finishTask for
//!   one of its tasks is answered and changes nothing;
//! - `force_replace` (with `atomic_restore`) replaces a table of another schema;
//! - an FE restart before the swap resumes into it, one after the swap only finishes;
//! - backups carry a non-zero, increasing commit seq.

mod fe_support;

use std::collections::BTreeMap;
use std::path::Path;

use doris_be::agent::{self, BeHandle};
use doris_be::storage::RowsetMeta;
use doris_fe::backup::{ExtraInfo, NetworkAddr, RestoreState};
use doris_fe::jobs::restore_job::atomic_shadow_name;
use doris_fe::jobs::StoredJob;
use doris_fe::persist::{Kind, MetaStore};
use doris_fe::rpc::snapshots::{self, SnapshotAnswer};
use doris_fe::server::FeHandle;
use doris_thrift::frontend_service::{TGetSnapshotRequest, TRestoreSnapshotRequest, TSnapshotType};
use doris_thrift::master_service::TFinishTaskRequest;
use doris_thrift::services::FrontendServiceClient;
use doris_thrift::status::{TStatus, TStatusCode};
use doris_thrift::transport::{ClientOptions, ClientPool};
use doris_thrift::types::{TBackend, TTaskType};
use fe_support::*;

/// An FE and a BE joined to it; the directories live as long as the test keeps them.
async fn cluster(meta: &Path, storage: &Path) -> (FeHandle, BeHandle) {
    let fe = start_fe(meta).await;
    let be = agent::start(be_config(storage, 18095)).await.unwrap();
    add_backend(&fe, &be, 1).await;
    (fe, be)
}

/// Each tablet's `.dat` contents by (partition, bucket).
type Contents = BTreeMap<(String, usize), Vec<Vec<u8>>>;

fn contents(fe: &FeHandle, be: &BeHandle, db: &str, table: &str) -> Contents {
    let t = fe.ctx.catalog.table(db, table).unwrap();
    let mut out = BTreeMap::new();
    for p in &t.partitions {
        for (i, tablet) in p.index.tablets.iter().enumerate() {
            out.insert((p.name.clone(), i), dat_contents(be, tablet.id));
        }
    }
    out
}

/// `db.t`: 2 range partitions x 2 buckets, one replica each.
async fn create_table(fe: &FeHandle, db: &str) {
    let mut sql = Sql::new(fe.ctx.clone());
    sql.run(&format!("CREATE DATABASE IF NOT EXISTS {db}"))
        .await;
    sql.run(&format!(
        r#"CREATE TABLE {db}.t (k INT, v VARCHAR(32)) DUPLICATE KEY(k)
           PARTITION BY RANGE(k) (PARTITION p1 VALUES LESS THAN ("100"), PARTITION p2 VALUES LESS THAN ("200"))
           DISTRIBUTED BY HASH(k) BUCKETS 2 PROPERTIES ("replication_num" = "1")"#
    ))
    .await;
}

/// Load version `version` of `db.t`: one rowset with real bytes per tablet, the partitions'
/// visible version moved to it and the BE's reports caught up.
async fn load_version(fe: &FeHandle, be: &BeHandle, db: &str, version: i64) {
    let table = fe.ctx.catalog.table(db, "t").unwrap();
    for (_, tablet) in table.tablets() {
        let storage = &be.ctx.storage;
        let rowset_id = storage.next_rowset_id();
        let bytes: Vec<u8> = (0..4096u32)
            .map(|x| (x as i64 * 7 + tablet.id * 3 + version * 11) as u8)
            .collect();
        let dir = storage.tablet_dir(tablet.id).unwrap();
        std::fs::write(dir.join(format!("{rowset_id}_0.dat")), &bytes).unwrap();
        let rs = RowsetMeta {
            rowset_id,
            start_version: version,
            end_version: version,
            num_segments: 1,
            num_rows: 5,
            data_size: bytes.len() as i64,
            txn_id: None,
            remote: false,
        };
        storage.add_rowset(tablet.id, rs).unwrap();
    }
    fe.ctx
        .catalog
        .update_table(table.id, |t| {
            for p in t.partitions.iter_mut() {
                p.visible_version = version;
            }
        })
        .unwrap();
    let ctx = fe.ctx.clone();
    let db = db.to_string();
    wait_for(30, "replica versions reported", || {
        let t = ctx.catalog.table(&db, "t").unwrap();
        async move {
            t.tablets()
                .all(|(_, tb)| tb.replicas.iter().all(|r| r.version == version))
                .then_some(())
        }
    })
    .await;
}

/// The last job's row of a SHOW statement once it is in `want` (FINISHED or CANCELLED).
async fn wait_state(fe: &FeHandle, stmt: &str, want: &str) -> (String, String) {
    let ctx = fe.ctx.clone();
    let stmt = stmt.to_string();
    let want = want.to_string();
    wait_for(90, &format!("{stmt} to reach {want}"), || {
        let ctx = ctx.clone();
        let stmt = stmt.clone();
        let want = want.clone();
        async move {
            let t = Sql::new(ctx).rows(&stmt).await;
            let row = t.rows.last()?.clone();
            let state = t.get(&row, "State").to_string();
            let status = t.get(&row, "Status").to_string();
            if state == want {
                return Some((state, status));
            }
            if (state == "FINISHED" || state == "CANCELLED") && state != want {
                panic!("{stmt}: job ended {state} ({status}), expected {want}");
            }
            None
        }
    })
    .await
}

async fn backup_local(fe: &FeHandle, db: &str, label: &str) -> SnapshotAnswer {
    Sql::new(fe.ctx.clone())
        .run(&format!(
            "BACKUP SNAPSHOT {db}.{label} TO __keep_on_local__ ON (t)"
        ))
        .await;
    wait_state(
        fe,
        &format!(r#"SHOW BACKUP FROM {db} WHERE SnapshotName = "{label}""#),
        "FINISHED",
    )
    .await;
    let get = TGetSnapshotRequest {
        user: Some("root".into()),
        passwd: Some(ROOT_PASSWORD.into()),
        db: Some(db.into()),
        label_name: Some(label.into()),
        snapshot_type: Some(TSnapshotType::LOCAL),
        ..Default::default()
    };
    snapshots::get_snapshot(&fe.ctx, &get).unwrap()
}

/// The snapshot's job info with `extra_info` pointing the download at `port` on loopback.
fn job_info_via(fe: &FeHandle, snap: &SnapshotAnswer, port: u16, token: &str) -> Vec<u8> {
    let mut info: serde_json::Value = serde_json::from_slice(&snap.job_info).unwrap();
    let be_id = fe.ctx.backends.all()[0].id;
    info["extra_info"] = serde_json::json!({
        "be_network_map": {be_id.to_string(): {"ip": "127.0.0.1", "port": port}},
        "token": token,
    });
    serde_json::to_vec(&info).unwrap()
}

fn restore_req(
    db: &str,
    label: &str,
    snap: &SnapshotAnswer,
    job_info: Vec<u8>,
    atomic: bool,
    props: &[(&str, &str)],
) -> TRestoreSnapshotRequest {
    let mut properties: BTreeMap<String, String> =
        [("replication_num".to_string(), "1".to_string())].into();
    for (k, v) in props {
        properties.insert(k.to_string(), v.to_string());
    }
    TRestoreSnapshotRequest {
        user: Some("root".into()),
        passwd: Some(ROOT_PASSWORD.into()),
        db: Some(db.into()),
        label_name: Some(label.into()),
        repo_name: Some("__keep_on_local__".into()),
        properties: Some(properties.into_iter().collect()),
        meta: Some(snap.meta.clone()),
        job_info: Some(job_info),
        atomic_restore: atomic.then_some(true),
        ..Default::default()
    }
}

/// A "source BE" that accepts connections and never answers: the restore stays in
/// DOWNLOADING with its DOWNLOAD task outstanding. Aborting the task closes them all.
async fn silent_source() -> (u16, tokio::task::JoinHandle<()>) {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let hold = tokio::spawn(async move {
        let mut conns = Vec::new();
        while let Ok((c, _)) = silent.accept().await {
            conns.push(c);
        }
    });
    (port, hold)
}

fn last_restore(
    fe: &FeHandle,
) -> (
    doris_fe::backup::RestoreJobRecord,
    doris_fe::jobs::RestoreExtra,
) {
    let id = fe
        .ctx
        .jobs
        .restores()
        .iter()
        .map(|r| r.job_id)
        .max()
        .unwrap();
    match fe.ctx.jobs.get(id) {
        Some(StoredJob::Restore { record, extra }) => (record, extra),
        other => panic!("job {id} is {other:?}"),
    }
}

async fn wait_tablets_dropped(be: &BeHandle, ids: &[i64], what: &str) {
    wait_for(30, what, || {
        let gone = ids
            .iter()
            .all(|id| be.ctx.storage.tablet_meta(*id).is_none());
        async move { gone.then_some(()) }
    })
    .await;
}

fn tablet_ids(fe: &FeHandle, db: &str, table: &str) -> Vec<i64> {
    fe.ctx
        .catalog
        .table(db, table)
        .unwrap()
        .tablets()
        .map(|(_, t)| t.id)
        .collect()
}

/// What identifies a table's layout: id, columns, tablets, partition versions (replica
/// facts change with every BE report).
fn shape(t: &doris_fe::catalog::OlapTable) -> (i64, Vec<String>, Vec<i64>, Vec<i64>) {
    (
        t.id,
        t.columns.iter().map(|c| c.name.clone()).collect(),
        t.tablets().map(|(_, tb)| tb.id).collect(),
        t.partitions.iter().map(|p| p.visible_version).collect(),
    )
}

fn table_names(fe: &FeHandle, db: &str) -> Vec<String> {
    let db = fe.ctx.catalog.database(db).unwrap();
    fe.ctx
        .catalog
        .tables(db.id)
        .into_iter()
        .map(|t| t.name)
        .collect()
}

/// Cancel an atomic restore with its DOWNLOAD outstanding (the shadow dropped, the table
/// untouched, no waiter left, a late finishTask harmless), then run one to the end: the
/// shadow takes the table's place and the old table's tablets go. Commit seqs grow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn atomic_restore_swaps_in_place_and_cancel_leaves_the_table() {
    let meta = tempfile::tempdir().unwrap();
    let storage = tempfile::tempdir().unwrap();
    let (fe, be) = cluster(meta.path(), storage.path()).await;
    create_table(&fe, "a").await;
    load_version(&fe, &be, "a", 2).await;
    let backed_up = contents(&fe, &be, "a", "t");
    let snap = backup_local(&fe, "a", "snap1").await;
    // The commit seq: non-zero, the same in the job info's table map.
    assert!(snap.commit_seq > 0, "commit seq {}", snap.commit_seq);
    let info: serde_json::Value = serde_json::from_slice(&snap.job_info).unwrap();
    let old = fe.ctx.catalog.table("a", "t").unwrap();
    assert_eq!(
        info["table_commit_seq_map"][old.id.to_string()].as_i64(),
        Some(snap.commit_seq),
        "{}",
        info["table_commit_seq_map"]
    );

    // The table moves on after the backup: version 3 on top.
    load_version(&fe, &be, "a", 3).await;
    let current = contents(&fe, &be, "a", "t");
    assert_ne!(current, backed_up);

    // 1. Cancelled while downloading.
    let (port, hold) = silent_source().await;
    let req = restore_req(
        "a",
        "snap1",
        &snap,
        job_info_via(&fe, &snap, port, "t"),
        true,
        &[],
    );
    snapshots::restore_snapshot(&fe.ctx, &req).unwrap();
    wait_state(
        &fe,
        r#"SHOW RESTORE FROM a WHERE Label = "snap1""#,
        "DOWNLOADING",
    )
    .await;
    let shadow = atomic_shadow_name("t");
    assert_eq!(shadow, "__doris_atomic_restore_prefix__t");
    let shadow_tablets = tablet_ids(&fe, "a", &shadow);
    assert_eq!(shadow_tablets.len(), 4);
    assert_eq!(
        fe.ctx.catalog.table("a", "t").unwrap().id,
        old.id,
        "the visible table is untouched"
    );
    let (record, _) = last_restore(&fe);
    let be_id = fe.ctx.backends.all()[0].id;
    let outstanding: Vec<i64> = record.tasks.unfinished.keys().copied().collect();
    assert!(!outstanding.is_empty());
    // DOWNLOADING is stored before the tasks go out; then each one is waited for.
    wait_for(30, "the DOWNLOAD tasks waited for", || {
        let all = outstanding
            .iter()
            .all(|sig| fe.ctx.tasks.is_pending(be_id, TTaskType::DOWNLOAD, *sig));
        async move { all.then_some(()) }
    })
    .await;
    // The BE's progress report for the download is kept while the job runs.
    snapshots::loader_report(&fe.ctx, record.job_id, outstanding[0], Some(0), Some(4)).unwrap();
    assert_eq!(
        fe.ctx.jobs.progress_of(record.job_id),
        vec![(outstanding[0], (0, 4))]
    );
    Sql::new(fe.ctx.clone()).run("CANCEL RESTORE FROM a").await;
    let (_, status) = wait_state(
        &fe,
        r#"SHOW RESTORE FROM a WHERE Label = "snap1""#,
        "CANCELLED",
    )
    .await;
    assert!(status.contains("cancelled by user"), "{status}");
    // Nothing waits for the cancelled job's tasks any more.
    assert_eq!(
        fe.ctx.tasks.pending_tasks(),
        vec![],
        "the task queue is empty"
    );
    // The shadow is gone, from the catalog and the BE; the table is as it was.
    assert_eq!(table_names(&fe, "a"), vec!["t".to_string()]);
    wait_tablets_dropped(&be, &shadow_tablets, "the shadow's tablets dropped").await;
    let t = fe.ctx.catalog.table("a", "t").unwrap();
    assert_eq!(t.id, old.id);
    assert!(t.partitions.iter().all(|p| p.visible_version == 3));
    assert_eq!(contents(&fe, &be, "a", "t"), current);

    // A late finishTask for the cancelled DOWNLOAD, over the wire as a BE sends it: it is
    // answered OK and changes nothing.
    let b = fe.ctx.backends.all()[0].clone();
    let pool = ClientPool::new();
    let client =
        FrontendServiceClient::new(pool.channel(fe.rpc_addr.to_string(), ClientOptions::default()));
    for sig in &outstanding {
        let late = TFinishTaskRequest::new(
            TBackend {
                host: b.host.clone(),
                be_port: b.be_port,
                http_port: b.http_port,
                brpc_port: None,
                is_alive: None,
                id: Some(b.id),
            },
            TTaskType::DOWNLOAD,
            *sig,
            TStatus {
                status_code: TStatusCode::OK,
                error_msgs: None,
            },
            1i64,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            Some(shadow_tablets.clone()),
            None,
            None,
            None,
            None,
            None,
            None,
        );
        let r = client.finish_task(&late).await.unwrap();
        assert_eq!(r.status.status_code, TStatusCode::OK);
    }
    assert_eq!(fe.ctx.tasks.pending_count(), 0);
    let (record, _) = last_restore(&fe);
    assert_eq!(record.state, RestoreState::Cancelled);
    // Progress reports are answered CANCELLED and nothing of the job's progress is kept.
    let e = snapshots::loader_report(&fe.ctx, record.job_id, outstanding[0], Some(1), Some(4))
        .unwrap_err();
    assert_eq!(e.status_code(), TStatusCode::CANCELLED);
    assert_eq!(fe.ctx.jobs.progress_of(record.job_id), vec![]);
    assert_eq!(fe.ctx.catalog.table("a", "t").unwrap().id, old.id);
    hold.abort();

    // 2. To the end: the restored data under the old name, in a new table.
    let token = fe.ctx.cluster.token.clone();
    let req = restore_req(
        "a",
        "snap1",
        &snap,
        job_info_via(&fe, &snap, be.addrs.http.port(), &token),
        true,
        &[],
    );
    snapshots::restore_snapshot(&fe.ctx, &req).unwrap();
    wait_state(
        &fe,
        r#"SHOW RESTORE FROM a WHERE Label = "snap1""#,
        "FINISHED",
    )
    .await;
    assert_eq!(
        table_names(&fe, "a"),
        vec!["t".to_string()],
        "no shadow is left"
    );
    let t = fe.ctx.catalog.table("a", "t").unwrap();
    assert_ne!(t.id, old.id, "the shadow took the table's place");
    assert!(fe.ctx.catalog.table_by_id(old.id).is_none());
    assert!(t.partitions.iter().all(|p| p.visible_version == 2));
    assert_eq!(contents(&fe, &be, "a", "t"), backed_up);
    let old_tablets: Vec<i64> = old.tablets().map(|(_, t)| t.id).collect();
    wait_tablets_dropped(&be, &old_tablets, "the replaced table's tablets dropped").await;
    let (_, extra) = last_restore(&fe);
    assert!(extra.swapped);
    assert_eq!(
        extra.replaced.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![old.id]
    );
    assert_eq!(fe.ctx.tasks.pending_count(), 0);

    // A later backup is at a later commit seq.
    let snap2 = backup_local(&fe, "a", "snap2").await;
    assert!(
        snap2.commit_seq > snap.commit_seq,
        "{} then {}",
        snap.commit_seq,
        snap2.commit_seq
    );

    fe.shutdown().await;
    be.shutdown().await;
}

/// An existing table of another schema: refused with upstream's text by an atomic restore
/// and by a plain one given `force_replace` (it needs `atomic_restore`); replaced when both
/// are given.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_replace_replaces_a_table_of_another_schema() {
    let meta = tempfile::tempdir().unwrap();
    let storage = tempfile::tempdir().unwrap();
    let (fe, be) = cluster(meta.path(), storage.path()).await;
    create_table(&fe, "a").await;
    load_version(&fe, &be, "a", 2).await;
    let backed_up = contents(&fe, &be, "a", "t");
    let snap = backup_local(&fe, "a", "snapf").await;
    let mut sql = Sql::new(fe.ctx.clone());
    sql.run("CREATE DATABASE c").await;
    sql.run(
        r#"CREATE TABLE c.t (k INT, v VARCHAR(32), w BIGINT) DUPLICATE KEY(k)
           DISTRIBUTED BY HASH(k) BUCKETS 1 PROPERTIES ("replication_num" = "1")"#,
    )
    .await;
    let other = fe.ctx.catalog.table("c", "t").unwrap();
    let token = fe.ctx.cluster.token.clone();
    let info = job_info_via(&fe, &snap, be.addrs.http.port(), &token);

    for (atomic, props) in [(true, vec![]), (false, vec![("force_replace", "true")])] {
        let req = restore_req("c", "snapf", &snap, info.clone(), atomic, &props);
        snapshots::restore_snapshot(&fe.ctx, &req).unwrap();
        let (_, status) = wait_state(
            &fe,
            r#"SHOW RESTORE FROM c WHERE Label = "snapf""#,
            "CANCELLED",
        )
        .await;
        assert!(
            status.contains("Table t already exist but with different schema"),
            "{status}"
        );
        assert_eq!(table_names(&fe, "c"), vec!["t".to_string()]);
        assert_eq!(
            shape(&fe.ctx.catalog.table("c", "t").unwrap()),
            shape(&other),
            "untouched"
        );
    }

    let req = restore_req(
        "c",
        "snapf",
        &snap,
        info,
        true,
        &[("force_replace", "true")],
    );
    snapshots::restore_snapshot(&fe.ctx, &req).unwrap();
    wait_state(
        &fe,
        r#"SHOW RESTORE FROM c WHERE Label = "snapf""#,
        "FINISHED",
    )
    .await;
    assert_eq!(table_names(&fe, "c"), vec!["t".to_string()]);
    let t = fe.ctx.catalog.table("c", "t").unwrap();
    assert_ne!(t.id, other.id);
    assert_eq!(
        t.columns
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        vec!["k", "v"],
        "the backed-up schema"
    );
    assert_eq!(contents(&fe, &be, "c", "t"), backed_up);
    let other_tablets: Vec<i64> = other.tablets().map(|(_, t)| t.id).collect();
    wait_tablets_dropped(&be, &other_tablets, "the replaced table's tablets dropped").await;

    // The statement route, from a file repository: RESTORE with "atomic_restore" over a
    // table that moved on since the backup.
    let repo_dir = tempfile::tempdir().unwrap();
    sql.run(&format!(
        r#"CREATE REPOSITORY repo1 WITH LOCAL ON LOCATION "file://{}""#,
        repo_dir.path().display()
    ))
    .await;
    sql.run("BACKUP SNAPSHOT a.snapq TO repo1 ON (t)").await;
    wait_state(
        &fe,
        r#"SHOW BACKUP FROM a WHERE SnapshotName = "snapq""#,
        "FINISHED",
    )
    .await;
    let snaps = sql
        .rows(r#"SHOW SNAPSHOT ON repo1 WHERE SNAPSHOT = "snapq""#)
        .await;
    let ts = snaps.get(&snaps.rows[0], "Timestamp").to_string();
    load_version(&fe, &be, "a", 3).await;
    let before = fe.ctx.catalog.table("a", "t").unwrap();
    sql.run(&format!(
        r#"RESTORE SNAPSHOT a.snapq FROM repo1 ON (t) PROPERTIES ("backup_timestamp" = "{ts}", "replication_num" = "1", "atomic_restore" = "true")"#
    ))
    .await;
    wait_state(
        &fe,
        r#"SHOW RESTORE FROM a WHERE Label = "snapq""#,
        "FINISHED",
    )
    .await;
    assert_eq!(table_names(&fe, "a"), vec!["t".to_string()]);
    let t = fe.ctx.catalog.table("a", "t").unwrap();
    assert_ne!(t.id, before.id);
    assert!(t.partitions.iter().all(|p| p.visible_version == 2));
    assert_eq!(contents(&fe, &be, "a", "t"), backed_up);
    drop(sql);
    fe.shutdown().await;
    be.shutdown().await;
}

/// The FE stops while an atomic restore downloads (shadow made, table untouched): restarted,
/// the job goes on with the same shadow and swaps it in. Stopped again right after the
/// swap's transaction (the stored job put back to COMMITTING, swapped): restarted, the job
/// only finishes, without moving data again or swapping twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn atomic_restore_survives_fe_restarts() {
    let meta = tempfile::tempdir().unwrap();
    let storage = tempfile::tempdir().unwrap();
    let (fe, be) = cluster(meta.path(), storage.path()).await;
    create_table(&fe, "a").await;
    load_version(&fe, &be, "a", 2).await;
    let backed_up = contents(&fe, &be, "a", "t");
    let snap = backup_local(&fe, "a", "snapr").await;
    load_version(&fe, &be, "a", 3).await;
    let old = fe.ctx.catalog.table("a", "t").unwrap();

    let (port, hold) = silent_source().await;
    let req = restore_req(
        "a",
        "snapr",
        &snap,
        job_info_via(&fe, &snap, port, "t"),
        true,
        &[],
    );
    snapshots::restore_snapshot(&fe.ctx, &req).unwrap();
    wait_state(
        &fe,
        r#"SHOW RESTORE FROM a WHERE Label = "snapr""#,
        "DOWNLOADING",
    )
    .await;
    let shadow_id = fe
        .ctx
        .catalog
        .table("a", &atomic_shadow_name("t"))
        .unwrap()
        .id;
    let (record, _) = last_restore(&fe);
    let job_id = record.job_id;
    let token = fe.ctx.cluster.token.clone();
    fe.shutdown().await;
    // The held connections close: the first FE's download fails on the BE.
    hold.abort();

    // The restarted FE reaches the source through the real BE.
    {
        let store = MetaStore::open(meta.path()).unwrap();
        let Some(StoredJob::Restore { mut record, extra }) =
            store.get::<StoredJob>(Kind::Job, job_id).unwrap()
        else {
            panic!("stored job {job_id} is not a restore")
        };
        assert_eq!(record.state, RestoreState::Downloading);
        assert!(!extra.swapped);
        let info = record.job_info.as_mut().unwrap();
        let be_id = *info.tablet_be_map.values().next().unwrap();
        info.extra_info = Some(ExtraInfo {
            be_network_map: [(
                be_id,
                NetworkAddr {
                    ip: "127.0.0.1".into(),
                    port: be.addrs.http.port() as i32,
                },
            )]
            .into(),
            token: Some(token.clone()),
        });
        store
            .put(Kind::Job, job_id, &StoredJob::Restore { record, extra })
            .unwrap();
    }
    let fe = start_fe(meta.path()).await;
    wait_state(
        &fe,
        r#"SHOW RESTORE FROM a WHERE Label = "snapr""#,
        "FINISHED",
    )
    .await;
    assert_eq!(table_names(&fe, "a"), vec!["t".to_string()]);
    let t = fe.ctx.catalog.table("a", "t").unwrap();
    assert_eq!(
        t.id, shadow_id,
        "the shadow made before the restart took the table's place"
    );
    assert!(t.partitions.iter().all(|p| p.visible_version == 2));
    assert_eq!(contents(&fe, &be, "a", "t"), backed_up);
    let old_tablets: Vec<i64> = old.tablets().map(|(_, t)| t.id).collect();
    wait_tablets_dropped(&be, &old_tablets, "the replaced table's tablets dropped").await;
    let rowsets = |fe: &FeHandle| -> BTreeMap<i64, Vec<String>> {
        tablet_ids(fe, "a", "t")
            .into_iter()
            .map(|id| {
                let m = be.ctx.storage.tablet_meta(id).unwrap();
                (id, m.rowsets.iter().map(|r| r.rowset_id.clone()).collect())
            })
            .collect()
    };
    let installed = rowsets(&fe);
    fe.shutdown().await;

    // What a crash right after the swap's transaction leaves: swapped, still COMMITTING.
    {
        let store = MetaStore::open(meta.path()).unwrap();
        let Some(StoredJob::Restore { mut record, extra }) =
            store.get::<StoredJob>(Kind::Job, job_id).unwrap()
        else {
            panic!("stored job {job_id} is not a restore")
        };
        assert!(extra.swapped);
        assert_eq!(
            extra.replaced.iter().map(|t| t.id).collect::<Vec<_>>(),
            vec![old.id]
        );
        record.state = RestoreState::Committing;
        record.finished_time_ms = 0;
        store
            .put(Kind::Job, job_id, &StoredJob::Restore { record, extra })
            .unwrap();
    }
    let fe = start_fe(meta.path()).await;
    let (_, status) = wait_state(
        &fe,
        r#"SHOW RESTORE FROM a WHERE Label = "snapr""#,
        "FINISHED",
    )
    .await;
    assert_eq!(status, "[OK]");
    assert_eq!(table_names(&fe, "a"), vec!["t".to_string()]);
    assert_eq!(
        fe.ctx.catalog.table("a", "t").unwrap().id,
        shadow_id,
        "not swapped twice"
    );
    assert_eq!(rowsets(&fe), installed, "the data is not moved again");
    assert_eq!(contents(&fe, &be, "a", "t"), backed_up);
    fe.shutdown().await;
    be.shutdown().await;
}
