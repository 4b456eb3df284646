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

use doris_be::agent::BeHandle;
use doris_fe::backup::{ExtraInfo, NetworkAddr, RestoreState};
use doris_fe::backup::restore_job::atomic_shadow_name;
use doris_fe::rpc::snapshots;
use doris_fe::server::FeHandle;
use doris_thrift::status::{TStatus, TStatusCode};
use doris_thrift::transport::ClientPool;
use doris_thrift::types::{TBackend, TTaskType};
use fe_support::*;

/// An FE and a BE joined to it, with `a.t` at version 2; the directories live as long as
/// the test keeps them.
async fn cluster(meta: &Path, storage: &Path) -> (FeHandle, BeHandle) {
    let (fe, be) = start_cluster(fe_config(meta), be_config(storage, 18095)).await;
    create_table_t(&fe, "a").await;
    load_version(&fe, &be, "a", 2).await;
    (fe, be)
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
        .map(|t| t.name.clone())
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
    let backed_up = contents(&fe, &be, "a", "t");
    let snap = backup_local(&fe, "a", "snap1", "t").await;
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
    snapshots::restore_snapshot(&fe.backup, &req).unwrap();
    wait_restore(&fe, "a", "snap1", "DOWNLOADING").await;
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
    wait_until(30, "the DOWNLOAD tasks waited for", || {
        outstanding
            .iter()
            .all(|sig| fe.tasks.is_pending(be_id, TTaskType::DOWNLOAD, *sig))
    })
    .await;
    // The BE's progress report for the download is kept while the job runs.
    snapshots::loader_report(&fe.backup, record.job_id, outstanding[0], Some(0), Some(4)).unwrap();
    assert_eq!(
        fe.backup.jobs.progress_of(record.job_id),
        vec![(outstanding[0], (0, 4))]
    );
    Sql::new(fe.executor()).run("CANCEL RESTORE FROM a").await;
    let shown = wait_restore(&fe, "a", "snap1", "CANCELLED").await;
    let status = shown.last("Status");
    assert!(status.contains("cancelled by user"), "{status}");
    // Nothing waits for the cancelled job's tasks any more.
    assert_eq!(
        fe.tasks.pending_tasks(),
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
    let client = fe_client(&fe, &pool);
    for sig in &outstanding {
        let mut late = finish_task_req(
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
        );
        late.downloaded_tablet_ids = Some(shadow_tablets.clone());
        let r = client.finish_task(&late).await.unwrap();
        assert_eq!(r.status.status_code, TStatusCode::OK);
    }
    assert_eq!(fe.tasks.pending_count(), 0);
    let (record, _) = last_restore(&fe);
    assert_eq!(record.state, RestoreState::Cancelled);
    // Progress reports are answered CANCELLED and nothing of the job's progress is kept.
    let e = snapshots::loader_report(&fe.backup, record.job_id, outstanding[0], Some(1), Some(4))
        .unwrap_err();
    assert_eq!(e.status_code(), TStatusCode::CANCELLED);
    assert_eq!(fe.backup.jobs.progress_of(record.job_id), vec![]);
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
    snapshots::restore_snapshot(&fe.backup, &req).unwrap();
    wait_restore(&fe, "a", "snap1", "FINISHED").await;
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
    assert_eq!(fe.tasks.pending_count(), 0);

    // A later backup is at a later commit seq.
    let snap2 = backup_local(&fe, "a", "snap2", "t").await;
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
    let backed_up = contents(&fe, &be, "a", "t");
    let snap = backup_local(&fe, "a", "snapf", "t").await;
    let mut sql = Sql::new(fe.executor());
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
        snapshots::restore_snapshot(&fe.backup, &req).unwrap();
        let shown = wait_restore(&fe, "c", "snapf", "CANCELLED").await;
        let status = shown.last("Status");
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
    snapshots::restore_snapshot(&fe.backup, &req).unwrap();
    wait_restore(&fe, "c", "snapf", "FINISHED").await;
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
    sql.run(&create_repo_sql("repo1", repo_dir.path())).await;
    let ts = backup_to_repo(&fe, "a", "snapq", "repo1", "t").await;
    load_version(&fe, &be, "a", 3).await;
    let before = fe.ctx.catalog.table("a", "t").unwrap();
    sql.run(&format!(
        r#"RESTORE SNAPSHOT a.snapq FROM repo1 ON (t) PROPERTIES ("backup_timestamp" = "{ts}", "replication_num" = "1", "atomic_restore" = "true")"#
    ))
    .await;
    wait_restore(&fe, "a", "snapq", "FINISHED").await;
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
    let backed_up = contents(&fe, &be, "a", "t");
    let snap = backup_local(&fe, "a", "snapr", "t").await;
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
    snapshots::restore_snapshot(&fe.backup, &req).unwrap();
    wait_restore(&fe, "a", "snapr", "DOWNLOADING").await;
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
    edit_stored_restore(meta.path(), job_id, |record, extra| {
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
    });
    let fe = start_fe(meta.path()).await;
    wait_restore(&fe, "a", "snapr", "FINISHED").await;
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
            .map(|id| (id, rowset_ids(&be, id)))
            .collect()
    };
    let installed = rowsets(&fe);
    fe.shutdown().await;

    // What a crash right after the swap's transaction leaves: swapped, still COMMITTING.
    edit_stored_restore(meta.path(), job_id, |record, extra| {
        assert!(extra.swapped);
        assert_eq!(
            extra.replaced.iter().map(|t| t.id).collect::<Vec<_>>(),
            vec![old.id]
        );
        record.state = RestoreState::Committing;
        record.finished_time_ms = 0;
    });
    let fe = start_fe(meta.path()).await;
    let shown = wait_restore(&fe, "a", "snapr", "FINISHED").await;
    assert_eq!(shown.last("Status"), "[OK]");
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
