//! Backup and restore jobs: running them by statement or as the CCR syncer does, polling
//! SHOW BACKUP/SHOW RESTORE, and the stored jobs an FE restart resumes.

use std::collections::BTreeMap;
use std::path::Path;

use doris_fe::backup::{BackupJobRecord, RestoreJobRecord};
use doris_fe::backup::{job_store, RestoreExtra, StoredJob};
use doris_fe::persist::MetaStore;
use doris_fe::rpc::snapshots::{self, SnapshotAnswer};
use doris_fe::server::FeHandle;
use doris_thrift::frontend_service::{
    TGetSnapshotRequest, TRestoreSnapshotRequest, TSnapshotType, TTableRef,
};

use super::{wait_for, Sql, Table, ROOT_PASSWORD};

/// Poll SHOW BACKUP for snapshot `label` of `db` until its newest job is in `want`; the
/// result set. A job that ended in another state fails the test with its status.
pub async fn wait_backup(fe: &FeHandle, db: &str, label: &str, want: &str) -> Table {
    let stmt = format!(r#"SHOW BACKUP FROM {db} WHERE SnapshotName = "{label}""#);
    wait_job(fe, &stmt, want).await
}

/// [`wait_backup`] for SHOW RESTORE of label `label` in `db`.
pub async fn wait_restore(fe: &FeHandle, db: &str, label: &str, want: &str) -> Table {
    let stmt = format!(r#"SHOW RESTORE FROM {db} WHERE Label = "{label}""#);
    wait_job(fe, &stmt, want).await
}

async fn wait_job(fe: &FeHandle, stmt: &str, want: &str) -> Table {
    let exec = fe.executor();
    wait_for(120, &format!("{stmt} to reach {want}"), || {
        let exec = exec.clone();
        async move {
            let t = Sql::new(exec).rows(stmt).await;
            let row = t.rows.last()?;
            let state = t.get(row, "State");
            if state == want {
                return Some(t);
            }
            if state == "FINISHED" || state == "CANCELLED" {
                panic!("{stmt}: job ended {state} ({}), expected {want}", t.get(row, "Status"));
            }
            None
        }
    })
    .await
}

/// CREATE REPOSITORY `name` on a local directory.
pub fn create_repo_sql(name: &str, dir: &Path) -> String {
    format!(
        r#"CREATE REPOSITORY {name} WITH LOCAL ON LOCATION "file://{}""#,
        dir.display()
    )
}

/// BACKUP `tables` of `db` to `repo`, waited for; the snapshot's timestamp in the repository.
pub async fn backup_to_repo(fe: &FeHandle, db: &str, label: &str, repo: &str, tables: &str) -> String {
    let mut sql = Sql::new(fe.executor());
    sql.run(&format!("BACKUP SNAPSHOT {db}.{label} TO {repo} ON ({tables})"))
        .await;
    wait_backup(fe, db, label, "FINISHED").await;
    let snaps = sql
        .rows(&format!(r#"SHOW SNAPSHOT ON {repo} WHERE SNAPSHOT = "{label}""#))
        .await;
    snaps.get(&snaps.rows[0], "Timestamp").to_string()
}

/// BACKUP `tables` of `db` to `__keep_on_local__`, waited for, then getSnapshot as the
/// syncer does.
pub async fn backup_local(fe: &FeHandle, db: &str, label: &str, tables: &str) -> SnapshotAnswer {
    Sql::new(fe.executor())
        .run(&format!(
            "BACKUP SNAPSHOT {db}.{label} TO __keep_on_local__ ON ({tables})"
        ))
        .await;
    wait_backup(fe, db, label, "FINISHED").await;
    snapshots::get_snapshot(&fe.backup, &snapshot_req(db, label)).unwrap()
}

/// getSnapshot of local snapshot `label` of `db`, as root.
pub fn snapshot_req(db: &str, label: &str) -> TGetSnapshotRequest {
    TGetSnapshotRequest {
        user: Some("root".into()),
        passwd: Some(ROOT_PASSWORD.into()),
        db: Some(db.into()),
        label_name: Some(label.into()),
        snapshot_type: Some(TSnapshotType::LOCAL),
        ..Default::default()
    }
}

/// The snapshot's job info with the syncer's `extra_info`: the download from the (only)
/// backend goes to `port` on loopback, with `token`.
pub fn job_info_via(fe: &FeHandle, snap: &SnapshotAnswer, port: u16, token: &str) -> Vec<u8> {
    let mut info: serde_json::Value = serde_json::from_slice(&snap.job_info).unwrap();
    let be_id = fe.ctx.backends.all()[0].id;
    info["extra_info"] = serde_json::json!({
        "be_network_map": {be_id.to_string(): {"ip": "127.0.0.1", "port": port}},
        "token": token,
    });
    serde_json::to_vec(&info).unwrap()
}

/// restoreSnapshot of local snapshot `label` into `db` as the syncer sends it: one replica,
/// every table of the snapshot, `props` on top.
pub fn restore_req(
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
        properties: Some(properties),
        meta: Some(snap.meta.clone()),
        job_info: Some(job_info),
        atomic_restore: atomic.then_some(true),
        ..Default::default()
    }
}

/// restoreSnapshot's table refs: (table, alias).
#[allow(clippy::vec_box)] // the generated request's field type
pub fn table_refs(refs: &[(&str, Option<&str>)]) -> Vec<Box<TTableRef>> {
    refs.iter()
        .map(|(t, a)| {
            Box::new(TTableRef {
                table: Some(t.to_string()),
                alias_name: a.map(str::to_string),
            })
        })
        .collect()
}

/// A "source BE" that accepts connections and never answers: a restore downloading from
/// it stays in DOWNLOADING. Aborting the task closes the connections.
pub async fn silent_source() -> (u16, tokio::task::JoinHandle<()>) {
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

/// The newest restore job of the FE.
pub fn last_restore(fe: &FeHandle) -> (RestoreJobRecord, RestoreExtra) {
    let id = fe
        .backup
        .jobs
        .restores()
        .iter()
        .map(|r| r.job_id)
        .max()
        .unwrap();
    match fe.backup.jobs.get(id) {
        Some(StoredJob::Restore { record, extra }) => (record, extra),
        other => panic!("job {id} is {other:?}"),
    }
}

/// Change backup job `job_id` as stored in the stopped FE's `meta`, as a crash would have
/// left it.
pub fn edit_stored_backup(meta: &Path, job_id: i64, edit: impl FnOnce(&mut BackupJobRecord)) {
    let store = MetaStore::open(meta).unwrap();
    let Some(StoredJob::Backup { mut record }) = job_store::get(&store, job_id).unwrap()
    else {
        panic!("stored job {job_id} is not a backup")
    };
    edit(&mut record);
    store.write(|w| job_store::put(w, &mut StoredJob::Backup { record })).unwrap();
}

/// [`edit_stored_backup`] for a restore job.
pub fn edit_stored_restore(
    meta: &Path,
    job_id: i64,
    edit: impl FnOnce(&mut RestoreJobRecord, &mut RestoreExtra),
) {
    let store = MetaStore::open(meta).unwrap();
    let Some(StoredJob::Restore { mut record, mut extra }) = job_store::get(&store, job_id).unwrap()
    else {
        panic!("stored job {job_id} is not a restore")
    };
    edit(&mut record, &mut extra);
    store.write(|w| job_store::put(w, &mut StoredJob::Restore { record, extra })).unwrap();
}
