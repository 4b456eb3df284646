//! Upstream's table-level backup/restore scheduler (`enable_table_level_backup_concurrency`)
//! on an in-process FE and BE: backups of one database run side by side, restores of
//! different tables run side by side, a restore into a table another restore holds waits
//! in the queue (SHOW RESTORE's QueuePos and BlockReason say why) and runs once that one
//! ends, CANCEL ... WHERE LABEL picks jobs, the queue survives an FE restart, and a job
//! queued past `backup_pending_job_timeout_ms` is cancelled. Also the scheduler's memory
//! guard: a backup or restore of more than `max_backup_tablets_per_job` tablets is cancelled.
//!
//! Restores are held in DOWNLOADING by a download source that never answers.

mod fe_support;

use std::path::Path;

use doris_fe::config::FeConfig;
use doris_fe::rpc::snapshots::{self, SnapshotAnswer};
use doris_fe::server::{start, FeHandle};
use fe_support::*;

fn conf(meta: &Path, extra: &[(&str, &str)]) -> FeConfig {
    let mut c = fe_config(meta);
    c.set("enable_table_level_backup_concurrency", "true").unwrap();
    for (k, v) in extra {
        c.set(k, v).unwrap();
    }
    c
}

/// The newest SHOW RESTORE row of `label`: (State, QueuePos, BlockReason, Status).
async fn restore_cells(fe: &FeHandle, label: &str) -> (String, String, String, String) {
    let t = Sql::new(fe.executor())
        .rows(&format!(r#"SHOW RESTORE FROM a WHERE Label = "{label}""#))
        .await;
    let row = t.rows.last().unwrap_or_else(|| panic!("no restore {label}"));
    let get = |c: &str| t.get(row, c).to_string();
    (get("State"), get("QueuePos"), get("BlockReason"), get("Status"))
}

async fn backup_cells(fe: &FeHandle, label: &str) -> (String, String, String) {
    let t = Sql::new(fe.executor())
        .rows(&format!(r#"SHOW BACKUP FROM a WHERE SnapshotName = "{label}""#))
        .await;
    let row = t.rows.last().unwrap_or_else(|| panic!("no backup {label}"));
    let get = |c: &str| t.get(row, c).to_string();
    (get("State"), get("QueuePos"), get("BlockReason"))
}

/// Wait until `label`'s newest restore shows `want` as (State, QueuePos, BlockReason).
async fn wait_queue(fe: &FeHandle, label: &str, want: (&str, &str, &str)) {
    let exec = fe.executor();
    wait_for(60, &format!("restore {label} to show {want:?}"), || {
        let exec = exec.clone();
        async move {
            let t = Sql::new(exec).rows(&format!(r#"SHOW RESTORE FROM a WHERE Label = "{label}""#)).await;
            let row = t.rows.last()?;
            let got = (t.get(row, "State"), t.get(row, "QueuePos"), t.get(row, "BlockReason"));
            (got == want).then_some(())
        }
    })
    .await
}

/// restoreSnapshot of `table` in snapshot `snap` into `a.alias`, downloading from `port`
/// (a source that never answers holds the job in DOWNLOADING).
fn restore_into(fe: &FeHandle, label: &str, snap: &SnapshotAnswer, table: &str, alias: &str, port: u16) {
    let mut req = restore_req("a", label, snap, job_info_via(fe, snap, port, "t"), false, &[]);
    req.table_refs = Some(table_refs(&[(table, Some(alias))]));
    snapshots::restore_snapshot(&fe.backup, &req).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_of_one_database_run_side_by_side_unless_they_conflict() {
    let meta = tempfile::tempdir().unwrap();
    let storage = tempfile::tempdir().unwrap();
    let (fe, be) = start_cluster(conf(meta.path(), &[]), be_config(storage.path(), 18_111)).await;
    let mut sql = Sql::new(fe.executor());
    sql.run("CREATE DATABASE a").await;
    for t in ["t1", "t2"] {
        sql.run(&format!(
            r#"CREATE TABLE a.{t} (k INT, v VARCHAR(32)) DUPLICATE KEY(k)
               DISTRIBUTED BY HASH(k) BUCKETS 2 PROPERTIES ("replication_num" = "1")"#
        ))
        .await;
        stream_load(&be, "a", t, &format!("load_{t}"), "1,one\n2,two\n").await;
    }

    // Three backups at once (the default scheduler refuses the second).
    for (label, table) in [("b1", "t1"), ("b2", "t2"), ("b3", "t1")] {
        sql.run(&format!("BACKUP SNAPSHOT a.{label} TO __keep_on_local__ ON ({table})")).await;
    }
    for label in ["b1", "b2", "b3"] {
        wait_backup(&fe, "a", label, "FINISHED").await;
    }
    let shown = sql.rows("SHOW BACKUP FROM a").await;
    assert_eq!(&shown.names[shown.names.len() - 2..], ["QueuePos", "BlockReason"]);
    assert_eq!(backup_cells(&fe, "b2").await, ("FINISHED".into(), String::new(), String::new()));
    let snap = |label: &str| snapshots::get_snapshot(&fe.backup, &snapshot_req("a", label)).unwrap();
    let (s1, s2, s3) = (snap("b1"), snap("b2"), snap("b3"));

    // Restores into x1 and x2 run together; one more into x1 waits for the first.
    let (port, hold) = silent_source().await;
    restore_into(&fe, "b1", &s1, "t1", "x1", port);
    restore_into(&fe, "b2", &s2, "t2", "x2", port);
    wait_restore(&fe, "a", "b1", "DOWNLOADING").await;
    wait_restore(&fe, "a", "b2", "DOWNLOADING").await;
    assert_eq!(restore_cells(&fe, "b2").await.1, "Running");
    restore_into(&fe, "b3", &s3, "t1", "x1", port);
    wait_queue(&fe, "b3", ("PENDING", "1", "Table conflict: x1")).await;
    // A backup waits for the restores (all three: the queued one goes first).
    sql.run("BACKUP SNAPSHOT a.b4 TO __keep_on_local__ ON (t2)").await;
    assert_eq!(
        backup_cells(&fe, "b4").await,
        ("PENDING".into(), "2".into(), "Waiting for 3 restore(s) to complete".into())
    );
    // The same snapshot restored twice at once is refused.
    let mut again = restore_req("a", "b2", &s2, job_info_via(&fe, &s2, port, "t"), false, &[]);
    again.table_refs = Some(table_refs(&[("t2", Some("x9"))]));
    let e = snapshots::restore_snapshot(&fe.backup, &again).unwrap_err();
    assert_eq!(e.to_string(), "Label already exists: b2");

    // Cancelling b1 by label lets b3 into x1.
    sql.run(r#"CANCEL RESTORE FROM a WHERE LABEL = "b1""#).await;
    wait_restore(&fe, "a", "b1", "CANCELLED").await;
    wait_restore(&fe, "a", "b3", "DOWNLOADING").await;
    assert_eq!(restore_cells(&fe, "b3").await.1, "Running");
    assert_eq!(restore_cells(&fe, "b2").await.0, "DOWNLOADING", "b2 is not touched");
    assert_eq!(backup_cells(&fe, "b4").await.2, "Waiting for 2 restore(s) to complete");

    // LIKE cancels every match; then the backup runs.
    sql.run("CANCEL RESTORE FROM a WHERE LABEL LIKE 'b%'").await;
    wait_restore(&fe, "a", "b2", "CANCELLED").await;
    wait_restore(&fe, "a", "b3", "CANCELLED").await;
    wait_backup(&fe, "a", "b4", "FINISHED").await;
    let e = sql.try_run(r#"CANCEL BACKUP FROM a WHERE LABEL = "nope""#).await.unwrap_err();
    assert_eq!(e.to_string(), "No backup job with label 'nope' is currently running");
    let e = sql.try_run("CANCEL RESTORE FROM a").await.unwrap_err();
    assert_eq!(e.to_string(), "No restore job is currently running");
    assert!(fe.ctx.catalog.table("a", "x1").is_err() && fe.ctx.catalog.table("a", "x2").is_err());

    // The queue survives a restart: the running restore goes on, the queued one waits.
    restore_into(&fe, "b1", &s1, "t1", "x1", port);
    wait_restore(&fe, "a", "b1", "DOWNLOADING").await;
    restore_into(&fe, "b3", &s3, "t1", "x1", port);
    wait_queue(&fe, "b3", ("PENDING", "1", "Table conflict: x1")).await;
    drop(sql); // it holds the FE's context, which keeps the meta store open
    fe.shutdown().await;
    let fe = start(conf(meta.path(), &[])).await.unwrap();
    wait_restore(&fe, "a", "b1", "DOWNLOADING").await;
    wait_queue(&fe, "b3", ("PENDING", "1", "Table conflict: x1")).await;
    fe.shutdown().await;

    // Queued for longer than backup_pending_job_timeout_ms: cancelled; the running job is not.
    let fe = start(conf(meta.path(), &[("backup_pending_job_timeout_ms", "1")])).await.unwrap();
    let (state, _, _, status) = wait_for(60, "b3 to time out", || {
        let fe = &fe;
        async move {
            let cells = restore_cells(fe, "b3").await;
            (cells.0 == "CANCELLED").then_some(cells)
        }
    })
    .await;
    assert_eq!(state, "CANCELLED");
    assert_eq!(status, "[TIMEOUT, msg: Job pending timeout after 1ms]");
    wait_restore(&fe, "a", "b1", "DOWNLOADING").await;
    Sql::new(fe.executor()).run("CANCEL RESTORE FROM a").await;
    wait_restore(&fe, "a", "b1", "CANCELLED").await;
    hold.abort();
    fe.shutdown().await;
    be.shutdown().await;
}

/// Without the switch, SHOW BACKUP has upstream's columns and a second job is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_scheduler_runs_one_job_per_database() {
    let meta = tempfile::tempdir().unwrap();
    let storage = tempfile::tempdir().unwrap();
    let (fe, be) = start_cluster(fe_config(meta.path()), be_config(storage.path(), 18_112)).await;
    let mut sql = Sql::new(fe.executor());
    sql.run("CREATE DATABASE a").await;
    sql.run(
        r#"CREATE TABLE a.t1 (k INT, v VARCHAR(32)) DUPLICATE KEY(k)
           DISTRIBUTED BY HASH(k) BUCKETS 2 PROPERTIES ("replication_num" = "1")"#,
    )
    .await;
    let snap = backup_local(&fe, "a", "b1", "t1").await;
    let (port, hold) = silent_source().await;
    restore_into(&fe, "b1", &snap, "t1", "x1", port);
    wait_restore(&fe, "a", "b1", "DOWNLOADING").await;
    let e = sql.try_run("BACKUP SNAPSHOT a.b2 TO __keep_on_local__ ON (t1)").await.unwrap_err();
    assert!(e.to_string().starts_with("Can only run one backup or restore job of a database at same time"), "{e}");
    let shown = sql.rows("SHOW RESTORE FROM a").await;
    assert_eq!(shown.names.last().unwrap(), "Timeout");
    sql.run("CANCEL RESTORE FROM a WHERE LABEL = 'b1'").await;
    wait_restore(&fe, "a", "b1", "CANCELLED").await;
    hold.abort();
    fe.shutdown().await;
    be.shutdown().await;
}

/// A backup over `max_backup_tablets_per_job` is cancelled with upstream's message; so is
/// a restore (the limit lowered by an FE restart after the backup), before it creates anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_over_the_tablet_limit_are_cancelled() {
    let meta = tempfile::tempdir().unwrap();
    let storage = tempfile::tempdir().unwrap();
    let limited = |n: &str| {
        let mut c = fe_config(meta.path());
        c.set("max_backup_tablets_per_job", n).unwrap();
        c
    };
    let (fe, be) = start_cluster(limited("3"), be_config(storage.path(), 18_113)).await;
    let mut sql = Sql::new(fe.executor());
    sql.run("CREATE DATABASE a").await;
    for (t, buckets) in [("t2", 2), ("t4", 4)] {
        sql.run(&format!(
            r#"CREATE TABLE a.{t} (k INT, v VARCHAR(32)) DUPLICATE KEY(k)
               DISTRIBUTED BY HASH(k) BUCKETS {buckets} PROPERTIES ("replication_num" = "1")"#
        ))
        .await;
    }
    let over = |n: usize, limit: usize| {
        format!(
            "[COMMON_ERROR, msg: the num involved tablets {n} exceeds the limit {limit}, which might cause the FE OOM, change config `max_backup_tablets_per_job` to change this limitation]"
        )
    };
    sql.run("BACKUP SNAPSHOT a.b4 TO __keep_on_local__ ON (t4)").await;
    let shown = wait_backup(&fe, "a", "b4", "CANCELLED").await;
    assert_eq!(shown.last("Status"), over(4, 3));
    let snap = backup_local(&fe, "a", "b2", "t2").await;
    drop(sql);
    fe.shutdown().await;

    let fe = start(limited("1")).await.unwrap();
    restore_into(&fe, "b2", &snap, "t2", "x2", be.addrs.http.port());
    let shown = wait_restore(&fe, "a", "b2", "CANCELLED").await;
    assert_eq!(shown.last("Status"), over(2, 1));
    assert!(fe.ctx.catalog.table("a", "x2").is_err(), "nothing was created");
    fe.shutdown().await;
    be.shutdown().await;
}
