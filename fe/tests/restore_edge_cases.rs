//! Restores that used to fail or panic, on an in-process FE with an in-process BE, with
//! rows put in by real stream loads and read back by SELECT:
//! - an UNPARTITIONED table (its only partition named after the table) restored under an
//!   alias, from a repository (RESTORE statement) and from a local snapshot (CCR's
//!   restoreSnapshot), and atomically in place: the restore job panicked looking up the
//!   backed-up partition name in the new table;
//! - UNIQUE KEY and AGGREGATE KEY tables restored into new tables: the UNIQUE one was
//!   cancelled because its value columns were created with an aggregation;
//! - SHOW RESTORE's `Timestamp` of a restoreSnapshot restore: it was empty.

mod fe_support;

use std::collections::BTreeMap;
use std::path::Path;

use doris_be::agent::BeHandle;
use doris_fe::backup::time::snapshot_timestamp;
use doris_fe::catalog::OlapTable;
use doris_fe::rpc::snapshots::{self, SnapshotAnswer};
use doris_fe::server::FeHandle;
use doris_thrift::frontend_service::TRestoreSnapshotRequest;
use fe_support::*;

/// An FE and a BE joined to it, with an empty database `a`.
async fn cluster(meta: &Path, storage: &Path) -> (FeHandle, BeHandle) {
    let (fe, be) = start_cluster(fe_config(meta), be_config(storage, 18_097)).await;
    Sql::new(fe.executor()).run("CREATE DATABASE a").await;
    (fe, be)
}

/// Every row of `db.table`, ordered by all its columns.
async fn scan(fe: &FeHandle, db: &str, table: &str) -> Vec<Vec<String>> {
    let t = fe.ctx.catalog.table(db, table).unwrap();
    let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    Sql::new(fe.executor())
        .rows(&format!(
            "SELECT * FROM {db}.{table} ORDER BY {}",
            names.join(", ")
        ))
        .await
        .rows
}

/// SHOW CREATE TABLE's statement with the table's own name replaced by `t`.
async fn create_stmt(fe: &FeHandle, db: &str, table: &str) -> String {
    let t = Sql::new(fe.executor())
        .rows(&format!("SHOW CREATE TABLE {db}.{table}"))
        .await;
    t.get(&t.rows[0], "Create Table").replacen(
        &format!("CREATE TABLE `{table}`"),
        "CREATE TABLE `t`",
        1,
    )
}

/// (name, visible version) of each partition.
fn partitions(t: &OlapTable) -> Vec<(String, i64)> {
    t.partitions
        .iter()
        .map(|p| (p.name.clone(), p.visible_version))
        .collect()
}

/// restoreSnapshot of `tables` (with their aliases) as the CCR syncer sends it,
/// downloading from our own BE.
fn restore_req_from(
    fe: &FeHandle,
    be: &BeHandle,
    label: &str,
    snap: &SnapshotAnswer,
    tables: &[(&str, Option<&str>)],
    atomic: bool,
) -> TRestoreSnapshotRequest {
    let job_info = job_info_via(fe, snap, be.addrs.http.port(), &fe.ctx.cluster.token);
    let mut req = restore_req("a", label, snap, job_info, atomic, &[]);
    req.table_refs = Some(table_refs(tables));
    req
}

/// An unpartitioned table restored under an alias (statement route and restoreSnapshot
/// route) and atomically over itself: every restore finishes with all the rows, the
/// backed-up version, and the single partition named after the table, as upstream's
/// `OlapTable.setName` names it. The restoreSnapshot restore shows the backup's time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unpartitioned_table_restores_under_an_alias() {
    let meta = tempfile::tempdir().unwrap();
    let storage = tempfile::tempdir().unwrap();
    let repo_dir = tempfile::tempdir().unwrap();
    let (fe, be) = cluster(meta.path(), storage.path()).await;
    let mut sql = Sql::new(fe.executor());
    sql.run(
        r#"CREATE TABLE a.t (k INT NOT NULL, v VARCHAR(32)) DUPLICATE KEY(k)
           DISTRIBUTED BY HASH(k) BUCKETS 2 PROPERTIES ("replication_num" = "1")"#,
    )
    .await;
    stream_load(&be, "a", "t", "l1", "1,one\n2,two\n3,three\n").await;
    stream_load(&be, "a", "t", "l2", "4,four\n5,five\n").await;
    let source = fe.ctx.catalog.table("a", "t").unwrap();
    assert_eq!(partitions(&source), vec![("t".to_string(), 3)]);
    let rows = scan(&fe, "a", "t").await;
    assert_eq!(rows.len(), 5);

    // 1. RESTORE ... ON (t AS t2) from a repository.
    sql.run(&create_repo_sql("repo1", repo_dir.path())).await;
    let ts = backup_to_repo(&fe, "a", "snap_repo", "repo1", "t").await;
    sql.run(&format!(
        r#"RESTORE SNAPSHOT a.snap_repo FROM repo1 ON (t AS t2) PROPERTIES ("backup_timestamp" = "{ts}", "replication_num" = "1")"#
    ))
    .await;
    wait_restore(&fe, "a", "snap_repo", "FINISHED").await;
    let t2 = fe.ctx.catalog.table("a", "t2").unwrap();
    assert_eq!(partitions(&t2), vec![("t2".to_string(), 3)]);
    assert_eq!(scan(&fe, "a", "t2").await, rows);

    // 2. The same through restoreSnapshot (CCR), into t3: SHOW RESTORE's Timestamp is the
    //    backup's time from the job info.
    let snap = backup_local(&fe, "a", "snap_local", "t").await;
    let info: serde_json::Value = serde_json::from_slice(&snap.job_info).unwrap();
    let backup_time = info["backup_time"].as_i64().unwrap();
    let req = restore_req_from(&fe, &be, "snap_local", &snap, &[("t", Some("t3"))], false);
    snapshots::restore_snapshot(&fe.backup, &req).unwrap();
    let shown = wait_restore(&fe, "a", "snap_local", "FINISHED").await;
    let timestamp = shown.last("Timestamp");
    assert_eq!(timestamp, snapshot_timestamp(backup_time));
    assert_eq!(timestamp.len(), "yyyy-MM-dd-HH-mm-ss".len(), "{timestamp}");
    let t3 = fe.ctx.catalog.table("a", "t3").unwrap();
    assert_eq!(partitions(&t3), vec![("t3".to_string(), 3)]);
    assert_eq!(scan(&fe, "a", "t3").await, rows);

    // 3. An atomic restore over t after more rows came in: the shadow's partition takes
    //    the table's name with it, and t is back to the backed-up rows.
    stream_load(&be, "a", "t", "l3", "6,six\n").await;
    assert_eq!(scan(&fe, "a", "t").await.len(), 6);
    let req = restore_req_from(&fe, &be, "snap_local", &snap, &[("t", None)], true);
    snapshots::restore_snapshot(&fe.backup, &req).unwrap();
    wait_restore(&fe, "a", "snap_local", "FINISHED").await;
    let t = fe.ctx.catalog.table("a", "t").unwrap();
    assert_ne!(t.id, source.id, "the shadow took t's place");
    assert_eq!(partitions(&t), vec![("t".to_string(), 3)]);
    assert_eq!(scan(&fe, "a", "t").await, rows);

    drop(sql);
    fe.shutdown().await;
    be.shutdown().await;
}

/// A UNIQUE KEY and an AGGREGATE KEY table restored into another database: both finish
/// with the source's rows and a SHOW CREATE TABLE equal to the source's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unique_and_aggregate_tables_restore_into_new_tables() {
    let meta = tempfile::tempdir().unwrap();
    let storage = tempfile::tempdir().unwrap();
    let repo_dir = tempfile::tempdir().unwrap();
    let (fe, be) = cluster(meta.path(), storage.path()).await;
    let mut sql = Sql::new(fe.executor());
    sql.run(
        r#"CREATE TABLE a.u (k INT NOT NULL, v VARCHAR(32), n BIGINT) UNIQUE KEY(k)
           PARTITION BY RANGE(k) (PARTITION p1 VALUES LESS THAN ("100"), PARTITION p2 VALUES LESS THAN ("200"))
           DISTRIBUTED BY HASH(k) BUCKETS 2 PROPERTIES ("replication_num" = "1")"#,
    )
    .await;
    sql.run(
        r#"CREATE TABLE a.g (k INT NOT NULL, s BIGINT SUM, m INT MAX, r VARCHAR(16) REPLACE) AGGREGATE KEY(k)
           DISTRIBUTED BY HASH(k) BUCKETS 3 PROPERTIES ("replication_num" = "1")"#,
    )
    .await;
    stream_load(&be, "a", "u", "u1", "1,a,10\n150,b,20\n7,c,30\n").await;
    stream_load(&be, "a", "u", "u2", "8,d,40\n199,e,50\n").await;
    stream_load(&be, "a", "g", "g1", "1,5,3,x\n2,6,4,y\n").await;
    stream_load(&be, "a", "g", "g2", "3,7,9,z\n").await;
    let mut expected = BTreeMap::new();
    for table in ["u", "g"] {
        let rows = scan(&fe, "a", table).await;
        assert!(!rows.is_empty());
        expected.insert(table, (rows, create_stmt(&fe, "a", table).await));
    }

    sql.run(&create_repo_sql("repo1", repo_dir.path())).await;
    let ts = backup_to_repo(&fe, "a", "snap_keys", "repo1", "u, g").await;
    sql.run("CREATE DATABASE b").await;
    sql.run(&format!(
        r#"RESTORE SNAPSHOT b.snap_keys FROM repo1 ON (u, g) PROPERTIES ("backup_timestamp" = "{ts}", "replication_num" = "1")"#
    ))
    .await;
    let shown = wait_restore(&fe, "b", "snap_keys", "FINISHED").await;
    assert_eq!(shown.get(&shown.rows[0], "Status"), "[OK]");
    for (table, (rows, stmt)) in &expected {
        assert_eq!(&scan(&fe, "b", table).await, rows, "rows of {table}");
        assert_eq!(
            &create_stmt(&fe, "b", table).await,
            stmt,
            "SHOW CREATE TABLE of {table}"
        );
        let src = fe.ctx.catalog.table("a", table).unwrap();
        let dst = fe.ctx.catalog.table("b", table).unwrap();
        assert_eq!(partitions(&dst), partitions(&src));
    }

    drop(sql);
    fe.shutdown().await;
    be.shutdown().await;
}

/// What a stream load answered: (Status, Message).
fn load_outcome(answer: &serde_json::Value) -> (String, String) {
    (
        answer["Status"].as_str().unwrap_or_default().to_string(),
        answer["Message"].as_str().unwrap_or_default().to_string(),
    )
}

/// SHOW PARTITIONS' State of each partition of `a.t`.
async fn partition_states(fe: &FeHandle) -> BTreeMap<String, String> {
    let t = Sql::new(fe.executor()).rows("SHOW PARTITIONS FROM a.t").await;
    t.rows
        .iter()
        .map(|r| (t.get(r, "PartitionName").to_string(), t.get(r, "State").to_string()))
        .collect()
}

/// A restore holds what it overwrites, as upstream's RESTORE table state does: while one
/// restores partition p1 of the existing `a.t`, loads into p1 are refused (stream loads and
/// a load begun before the restore that commits after it) and loads into p2 go on; a table
/// the restore creates refuses every load, also after an FE restart, unless the restore has
/// `allow_load` (then it is RESTORE_WITH_LOAD); a cancelled or finished restore lets loads
/// in again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_refuses_loads_into_what_it_overwrites() {
    use doris_thrift::frontend_service::{TLoadTxnBeginRequest, TLoadTxnCommitRequest};
    use doris_thrift::status::TStatusCode;
    use doris_thrift::types::TTabletCommitInfo;

    let meta = tempfile::tempdir().unwrap();
    let storage = tempfile::tempdir().unwrap();
    let (fe, be) = cluster(meta.path(), storage.path()).await;
    let mut sql = Sql::new(fe.executor());
    sql.run(
        r#"CREATE TABLE a.t (k INT NOT NULL, v VARCHAR(32)) DUPLICATE KEY(k)
           PARTITION BY RANGE(k) (PARTITION p1 VALUES LESS THAN ("100"), PARTITION p2 VALUES LESS THAN ("200"))
           DISTRIBUTED BY HASH(k) BUCKETS 2 PROPERTIES ("replication_num" = "1")"#,
    )
    .await;
    stream_load(&be, "a", "t", "l1", "1,one\n2,two\n150,x\n").await;
    let snap = backup_local(&fe, "a", "s1", "t PARTITION (p1)").await;
    let begin = |label: &str| {
        TLoadTxnBeginRequest::new(
            None, "root".to_string(), ROOT_PASSWORD.to_string(), "a".to_string(), "t".to_string(),
            None, label.to_string(), None, None, None, None, None, None, None, None,
        )
    };
    let early = doris_fe::load::rpc::begin(&fe.loads, begin("early")).await;
    assert_eq!(early.status.status_code, TStatusCode::OK, "{:?}", early.status);

    // 1. Restoring p1 of the existing table from a source that never answers: held in
    //    DOWNLOADING.
    let (port, hold) = silent_source().await;
    let via_silent = |fe: &FeHandle, label: &str, snap: &SnapshotAnswer, alias: Option<&str>, props: &[(&str, &str)]| {
        let mut req = restore_req("a", label, snap, job_info_via(fe, snap, port, "t"), false, props);
        req.table_refs = Some(table_refs(&[("t", alias)]));
        req
    };
    snapshots::restore_snapshot(&fe.backup, &via_silent(&fe, "s1", &snap, None, &[])).unwrap();
    wait_restore(&fe, "a", "s1", "DOWNLOADING").await;
    assert_eq!(
        partition_states(&fe).await,
        [("p1".to_string(), "RESTORE".to_string()), ("p2".to_string(), "NORMAL".to_string())].into()
    );
    let held = "Table [t], Partition [p1] is in restore process. Can not load into it";
    let (status, msg) = load_outcome(&stream_load_answer(&be, "a", "t", "l2", "3,three\n").await);
    assert_eq!(status, "Fail");
    assert!(msg.contains(held), "{msg}");
    // p2 is not restored: loads into it go on.
    stream_load(&be, "a", "t", "l3", "151,y\n").await;
    // The load begun before the restore, committing p1's tablets now: refused.
    let t = fe.ctx.catalog.table("a", "t").unwrap();
    let be_id = fe.ctx.backends.all()[0].id;
    let infos: Vec<TTabletCommitInfo> = t.partitions[0]
        .index
        .tablets
        .iter()
        .map(|tb| TTabletCommitInfo::new(tb.id, be_id, None))
        .collect();
    let commit = TLoadTxnCommitRequest::new(
        None, "root".to_string(), ROOT_PASSWORD.to_string(), "a".to_string(), "t".to_string(), None,
        early.txn_id.unwrap(), true, infos, None, None, None, None, None, None, None, None, None,
    );
    let st = doris_fe::load::rpc::commit(&fe.loads, commit).await.status;
    assert_ne!(st.status_code, TStatusCode::OK);
    assert!(st.error_msgs.as_ref().unwrap()[0].contains(held), "{st:?}");
    assert_eq!(partitions(&fe.ctx.catalog.table("a", "t").unwrap()), vec![("p1".into(), 2), ("p2".into(), 3)]);

    // 2. Cancelled: p1 takes loads again.
    sql.run("CANCEL RESTORE FROM a").await;
    wait_restore(&fe, "a", "s1", "CANCELLED").await;
    assert!(partition_states(&fe).await.values().all(|s| s == "NORMAL"));
    stream_load(&be, "a", "t", "l4", "4,four\n").await;
    assert_eq!(scan(&fe, "a", "t").await.len(), 5);

    // 3. Into a new table t2: it exists while restoring, and refuses every load, also
    //    after an FE restart (the resumed job holds it still).
    let snap2 = backup_local(&fe, "a", "s2", "t").await;
    snapshots::restore_snapshot(&fe.backup, &via_silent(&fe, "s2", &snap2, Some("t2"), &[])).unwrap();
    wait_restore(&fe, "a", "s2", "DOWNLOADING").await;
    let whole = "Table t2 is in restore process. Can not load into it";
    let (status, msg) = load_outcome(&stream_load_answer(&be, "a", "t2", "l5", "5,five\n").await);
    assert_eq!(status, "Fail");
    assert!(msg.contains(whole), "{msg}");
    // Nor can it be dropped, or its database, without FORCE (upstream's words).
    let refused = "The table [t2]'s state is RESTORE, cannot be dropped. please cancel the operation on olap table firstly.";
    for stmt in ["DROP TABLE a.t2", "DROP DATABASE a"] {
        let e = sql.try_run(stmt).await.unwrap_err();
        assert!(e.to_string().starts_with(refused), "{stmt}: {e}");
    }
    drop(sql);
    fe.shutdown().await;
    let fe = start_fe(meta.path()).await;
    let mut sql = Sql::new(fe.executor());
    wait_restore(&fe, "a", "s2", "DOWNLOADING").await;
    let (status, msg) = load_outcome(&stream_load_answer(&be, "a", "t2", "l6", "5,five\n").await);
    assert_eq!(status, "Fail");
    assert!(msg.contains(whole), "{msg}");
    // Cancelled at once, also while the resumed job still waits for its backends.
    sql.run("CANCEL RESTORE FROM a").await;
    let shown = wait_restore(&fe, "a", "s2", "CANCELLED").await;
    assert!(shown.last("Status").contains("cancelled by user"), "{}", shown.last("Status"));
    assert!(fe.ctx.catalog.table("a", "t2").is_err(), "the table the restore made is dropped");

    // 4. `allow_load`: the table the restore makes takes loads while it restores.
    snapshots::restore_snapshot(&fe.backup, &via_silent(&fe, "s2", &snap2, Some("t3"), &[("allow_load", "true")]))
        .unwrap();
    wait_restore(&fe, "a", "s2", "DOWNLOADING").await;
    stream_load(&be, "a", "t3", "l7", "6,six\n").await;
    // Upstream's RESTORE_WITH_LOAD: loads go on, DROP still needs FORCE.
    assert_eq!(fe.ctx.catalog.table("a", "t3").unwrap().state_name(), "RESTORE_WITH_LOAD");
    let e = sql.try_run("DROP TABLE a.t3").await.unwrap_err();
    assert!(e.to_string().starts_with("The table [t3]'s state is RESTORE_WITH_LOAD, cannot be dropped."), "{e}");
    sql.run("CANCEL RESTORE FROM a").await;
    wait_restore(&fe, "a", "s2", "CANCELLED").await;
    hold.abort();

    // 5. A restore that finishes lets loads in from the restored version on.
    let req = restore_req_from(&fe, &be, "s2", &snap2, &[("t", Some("t4"))], false);
    snapshots::restore_snapshot(&fe.backup, &req).unwrap();
    wait_restore(&fe, "a", "s2", "FINISHED").await;
    stream_load(&be, "a", "t4", "l8", "7,seven\n").await;
    let t4 = fe.ctx.catalog.table("a", "t4").unwrap();
    assert!(t4.restore_lock.is_none());
    assert_eq!(scan(&fe, "a", "t4").await.len(), 6);

    drop(sql);
    fe.shutdown().await;
    be.shutdown().await;
}
