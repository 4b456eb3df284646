//! Result sets of SHOW BACKUP, SHOW RESTORE, SHOW REPOSITORIES and SHOW SNAPSHOT, column
//! for column and value for value as the Java FE prints them (every cell is text; times
//! are `yyyy-MM-dd HH:mm:ss` or `NULL`; Status is `[OK]` or `[CODE, msg: ...]`). The CCR
//! syncer reads State, SnapshotName, Label, Status, Timestamp, ReplicationNum and CreateTime.

use crate::backup::job_info::BackupJobInfo;
use crate::backup::repository::{Repository, SnapshotEntry};
use crate::backup::state::{BackupJobRecord, RestoreJobRecord, TableRefRecord, TaskBook};
use crate::backup::time::{format_time, NULL_STRING};
use crate::mysql::{OutColumn, Value};
use crate::sql::{like_match, NameFilter};

pub const BACKUP_COLUMNS: &[&str] = &[
    "JobId",
    "SnapshotName",
    "DbName",
    "State",
    "BackupObjs",
    "CreateTime",
    "SnapshotFinishedTime",
    "UploadFinishedTime",
    "FinishedTime",
    "UnfinishedTasks",
    "Progress",
    "TaskErrMsg",
    "Status",
    "Timeout",
];

pub const RESTORE_COLUMNS: &[&str] = &[
    "JobId",
    "Label",
    "Timestamp",
    "DbName",
    "State",
    "AllowLoad",
    "ReplicationNum",
    "ReplicaAllocation",
    "ReserveReplica",
    "ReserveDynamicPartitionEnable",
    "RestoreObjs",
    "CreateTime",
    "MetaPreparedTime",
    "SnapshotFinishedTime",
    "DownloadFinishedTime",
    "FinishedTime",
    "UnfinishedTasks",
    "Progress",
    "TaskErrMsg",
    "Status",
    "Timeout",
];

pub const REPOSITORY_COLUMNS: &[&str] =
    &["RepoId", "RepoName", "CreateTime", "IsReadOnly", "Location", "Broker", "Type", "ErrMsg"];

/// SHOW SNAPSHOT ON repo [WHERE SNAPSHOT = "s"].
pub const SNAPSHOT_COLUMNS: &[&str] = &["Snapshot", "Timestamp", "Status"];
/// SHOW SNAPSHOT ON repo WHERE SNAPSHOT = "s" AND TIMESTAMP = "t".
pub const SNAPSHOT_DETAIL_COLUMNS: &[&str] = &["Snapshot", "Timestamp", "Database", "Details", "Status"];

/// Upstream caps each task list shown at 100 entries.
const MAX_TASKS_SHOWN: usize = 100;

pub fn columns(names: &[&str]) -> Vec<OutColumn> {
    names.iter().map(|n| OutColumn::text(*n)).collect()
}

fn s(v: impl Into<String>) -> Value {
    Value::Str(v.into())
}

/// Whether a label matches `WHERE SnapshotName/Label = "x"` (case-insensitive, like
/// upstream's labels) or `LIKE "pattern"`.
pub fn name_matches(name: &str, filter: Option<&NameFilter>) -> bool {
    match filter {
        None => true,
        Some(NameFilter::Eq(x)) => name.eq_ignore_ascii_case(x),
        Some(NameFilter::Like(p)) => like_match(p, name),
    }
}

/// `[db.tbl PARTITION (p1, p2) AS alias], [db.t2]`.
pub fn table_refs_text(db: &str, refs: &[TableRefRecord]) -> String {
    refs.iter()
        .map(|r| {
            let mut out = format!("[{db}.{}", r.table);
            if !r.partitions.is_empty() {
                out.push_str(&format!(" PARTITION ({})", r.partitions.join(", ")));
            }
            if let Some(a) = &r.alias {
                out.push_str(&format!(" AS {a}"));
            }
            out.push(']');
            out
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// SHOW BACKUP brackets each `signature=tablet` (newer upstream BackupJob); SHOW RESTORE
/// prints them bare (upstream RestoreJob).
fn unfinished_text(t: &TaskBook, bracketed: bool) -> String {
    t.unfinished
        .iter()
        .take(MAX_TASKS_SHOWN)
        .map(|(k, v)| if bracketed { format!("[{k}={v}]") } else { format!("{k}={v}") })
        .collect::<Vec<_>>()
        .join(", ")
}

fn progress_text(t: &TaskBook) -> String {
    t.progress.iter().take(MAX_TASKS_SHOWN).map(|(k, (a, b))| format!("[{k}: {a}/{b}]")).collect::<Vec<_>>().join(", ")
}

fn errors_text(t: &TaskBook) -> String {
    t.errors.iter().take(MAX_TASKS_SHOWN).map(|(k, m)| format!("[{k}: {m}]")).collect::<Vec<_>>().join(", ")
}

pub fn backup_row(j: &BackupJobRecord) -> Vec<Value> {
    vec![
        s(j.job_id.to_string()),
        s(&j.label),
        s(&j.db_name),
        s(j.state.as_str()),
        s(table_refs_text(&j.db_name, &j.table_refs)),
        s(format_time(j.create_time_ms)),
        s(format_time(j.snapshot_finished_time_ms)),
        s(format_time(j.upload_finished_time_ms)),
        s(format_time(j.finished_time_ms)),
        s(unfinished_text(&j.tasks, true)),
        s(progress_text(&j.tasks)),
        s(errors_text(&j.tasks)),
        s(j.status.to_string()),
        s((j.timeout_ms / 1000).to_string()),
    ]
}

/// SHOW BACKUP [FROM db] [WHERE SnapshotName ...]: the rows of `db_name`'s matching jobs,
/// oldest first, each with its job id (`with_queue` adds the queue cells).
pub fn backup_rows<'a>(
    jobs: &mut dyn Iterator<Item = &'a BackupJobRecord>,
    db_name: &str,
    filter: Option<&NameFilter>,
) -> Vec<(i64, Vec<Value>)> {
    let mut js: Vec<&BackupJobRecord> = jobs.filter(|j| j.db_name == db_name && name_matches(&j.label, filter)).collect();
    js.sort_by_key(|j| (j.create_time_ms, j.job_id));
    js.into_iter().map(|j| (j.job_id, backup_row(j))).collect()
}

/// The QueuePos and BlockReason cells of a job.
pub type QueueCells<'a> = dyn Fn(i64) -> (String, String) + 'a;

/// Columns `names` and the rows, with QueuePos and BlockReason appended when the
/// table-level scheduler shows its queue (upstream has these columns only then).
pub fn with_queue(
    names: &[&str],
    rows: Vec<(i64, Vec<Value>)>,
    queue: Option<&QueueCells<'_>>,
) -> (Vec<OutColumn>, Vec<Vec<Value>>) {
    let Some(queue) = queue else {
        return (columns(names), rows.into_iter().map(|(_, row)| row).collect());
    };
    let rows = rows
        .into_iter()
        .map(|(id, mut row)| {
            let (pos, reason) = queue(id);
            row.push(s(pos));
            row.push(s(reason));
            row
        })
        .collect();
    let mut all = names.to_vec();
    all.extend(QUEUE_COLUMNS);
    (columns(&all), rows)
}

/// Appended to SHOW BACKUP/RESTORE by the table-level scheduler.
pub const QUEUE_COLUMNS: &[&str] = &["QueuePos", "BlockReason"];

pub fn restore_row(j: &RestoreJobRecord) -> Vec<Value> {
    let alloc = j.replica_alloc();
    vec![
        s(j.job_id.to_string()),
        s(&j.label),
        s(j.shown_backup_timestamp()),
        s(&j.db_name),
        s(j.state.as_str()),
        s(j.options.allow_load.to_string()),
        s(alloc.total().to_string()),
        s(alloc.to_create_stmt()),
        s(j.options.reserve_replica.to_string()),
        s(j.options.reserve_dynamic_partition_enable.to_string()),
        s(j.job_info.as_deref().map(BackupJobInfo::brief).unwrap_or_default()),
        s(format_time(j.create_time_ms)),
        s(format_time(j.meta_prepared_time_ms)),
        s(format_time(j.snapshot_finished_time_ms)),
        s(format_time(j.download_finished_time_ms)),
        s(format_time(j.finished_time_ms)),
        s(unfinished_text(&j.tasks, false)),
        s(progress_text(&j.tasks)),
        s(errors_text(&j.tasks)),
        s(j.status.to_string()),
        s((j.timeout_ms / 1000).to_string()),
    ]
}

/// SHOW RESTORE [FROM db] [WHERE Label ...]: the rows of `db_name`'s matching jobs,
/// oldest first, each with its job id (`with_queue` adds the queue cells).
pub fn restore_rows<'a>(
    jobs: &mut dyn Iterator<Item = &'a RestoreJobRecord>,
    db_name: &str,
    filter: Option<&NameFilter>,
) -> Vec<(i64, Vec<Value>)> {
    let mut js: Vec<&RestoreJobRecord> = jobs.filter(|j| j.db_name == db_name && name_matches(&j.label, filter)).collect();
    js.sort_by_key(|j| (j.create_time_ms, j.job_id));
    js.into_iter().map(|j| (j.job_id, restore_row(j))).collect()
}

pub fn repository_row(r: &Repository) -> Vec<Value> {
    vec![
        s(r.id.to_string()),
        s(&r.name),
        s(format_time(r.create_time_ms)),
        s(r.read_only.to_string()),
        s(&r.location),
        s("-"),
        s(r.storage.as_str()),
        s(r.err_msg.clone().unwrap_or_else(|| NULL_STRING.to_string())),
    ]
}

pub fn show_repositories<'a>(repos: impl IntoIterator<Item = &'a Repository>) -> (Vec<OutColumn>, Vec<Vec<Value>>) {
    let mut rs: Vec<&Repository> = repos.into_iter().collect();
    rs.sort_by_key(|r| r.id);
    (columns(REPOSITORY_COLUMNS), rs.into_iter().map(repository_row).collect())
}

/// SHOW SNAPSHOT rows from [`Repository::list_snapshots`]: timestamps one per line.
pub fn snapshot_rows(entries: &[SnapshotEntry]) -> (Vec<OutColumn>, Vec<Vec<Value>>) {
    let rows = entries
        .iter()
        .map(|e| {
            let ts = if e.timestamps.is_empty() { NULL_STRING.to_string() } else { e.timestamps.join("\n") };
            vec![s(&e.name), s(ts), s(&e.status)]
        })
        .collect();
    (columns(SNAPSHOT_COLUMNS), rows)
}

/// The detailed SHOW SNAPSHOT row of one snapshot timestamp, given its job info or why it
/// could not be read.
pub fn snapshot_detail_row(snapshot: &str, timestamp: &str, info: Result<&BackupJobInfo, String>) -> Vec<Value> {
    match info {
        Ok(i) => vec![s(snapshot), s(timestamp), s(&i.database), s(i.brief()), s("OK")],
        Err(e) => vec![s(snapshot), s(timestamp), s(NULL_STRING), s(NULL_STRING), s(format!("Failed to get info: {e}"))],
    }
}

/// SHOW SNAPSHOT ON repo [WHERE SNAPSHOT = "s" [AND TIMESTAMP = "t"]]: every snapshot,
/// one snapshot, or the details of one backup of it.
pub async fn show_snapshot(
    repo: &Repository,
    snapshot: Option<&str>,
    timestamp: Option<&str>,
) -> crate::error::Result<(Vec<OutColumn>, Vec<Vec<Value>>)> {
    match (snapshot, timestamp) {
        (None, None) => Ok(snapshot_rows(&repo.list_snapshots().await?)),
        (Some(s), None) => Ok(snapshot_rows(&[repo.snapshot_entry(s).await])),
        (Some(s), Some(t)) => {
            let info = repo.read_job_info(s, t).await.map_err(|e| e.to_string());
            Ok((columns(SNAPSHOT_DETAIL_COLUMNS), vec![snapshot_detail_row(s, t, info.as_ref().map_err(Clone::clone))]))
        }
        (None, Some(_)) => Err(crate::error::FeError::InvalidArgument(
            "SHOW SNAPSHOT with a TIMESTAMP needs a SNAPSHOT too: WHERE SNAPSHOT = \"name\" AND TIMESTAMP = \"...\"".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show_backup<'a>(
        jobs: impl IntoIterator<Item = &'a BackupJobRecord>,
        db_name: &str,
        filter: Option<&NameFilter>,
        queue: Option<&QueueCells<'_>>,
    ) -> (Vec<OutColumn>, Vec<Vec<Value>>) {
        with_queue(BACKUP_COLUMNS, backup_rows(&mut jobs.into_iter(), db_name, filter), queue)
    }

    fn show_restore<'a>(
        jobs: impl IntoIterator<Item = &'a RestoreJobRecord>,
        db_name: &str,
        filter: Option<&NameFilter>,
        queue: Option<&QueueCells<'_>>,
    ) -> (Vec<OutColumn>, Vec<Vec<Value>>) {
        with_queue(RESTORE_COLUMNS, restore_rows(&mut jobs.into_iter(), db_name, filter), queue)
    }
    use crate::backup::JobLifecycle;
    use crate::backup::job_info::BackupContent;
    use crate::backup::properties::{ReplicaAllocation, RestoreOptions};
    use crate::backup::state::tests::header;
    use crate::backup::state::{BackupState, ErrCode, JobStatus, RestoreState};
    use crate::backup::time::format_time;

    fn text(row: &[Value]) -> Vec<String> {
        row.iter().map(|v| String::from_utf8(v.to_text().expect("SHOW cells are never SQL NULL")).unwrap()).collect()
    }

    fn backup_job() -> BackupJobRecord {
        let refs = vec![
            TableRefRecord { table: "orders".into(), partitions: vec![], alias: None },
            TableRefRecord { table: "items".into(), partitions: vec!["p1".into(), "p2".into()], alias: None },
        ];
        BackupJobRecord::new(header(10086, "ccrs_1", "src_db", -1, "__keep_on_local__", refs), BackupContent::All, 86_400_000, 1_700_000_000_000)
    }

    #[test]
    fn show_backup_columns_and_values() {
        let mut j = backup_job();
        j.move_to(BackupState::Snapshoting, 1_700_000_001_000).unwrap();
        j.tasks.unfinished.insert(30001, 20001);
        j.tasks.progress.insert(30001, (3, 10));
        j.tasks.errors.insert(30002, "disk full".into());
        let (cols, rows) = show_backup([&j], "src_db", None, None);
        let names: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, BACKUP_COLUMNS);
        let r = text(&rows[0]);
        assert_eq!(r.len(), 14);
        assert_eq!(r[0], "10086");
        assert_eq!(r[1], "ccrs_1");
        assert_eq!(r[2], "src_db");
        assert_eq!(r[3], "SNAPSHOTING");
        assert_eq!(r[4], "[src_db.orders], [src_db.items PARTITION (p1, p2)]");
        assert_eq!(r[5], format_time(1_700_000_000_000));
        assert_eq!(r[6], "NULL");
        assert_eq!(r[8], "NULL");
        assert_eq!(r[9], "[30001=20001]");
        assert_eq!(r[10], "[30001: 3/10]");
        assert_eq!(r[11], "[30002: disk full]");
        assert_eq!(r[12], "[OK]");
        assert_eq!(r[13], "86400");
    }

    #[test]
    fn show_backup_filters() {
        let a = backup_job();
        let mut b = backup_job();
        b.label = "other".into();
        b.job_id = 2;
        let mut c = backup_job();
        c.db_name = "db2".into();
        let jobs = [a, b, c];
        assert_eq!(show_backup(&jobs, "src_db", None, None).1.len(), 2);
        let (_, rows) = show_backup(&jobs, "src_db", Some(&NameFilter::Eq("CCRS_1".into())), None);
        assert_eq!(rows.len(), 1);
        assert_eq!(text(&rows[0])[1], "ccrs_1");
        assert_eq!(show_backup(&jobs, "src_db", Some(&NameFilter::Like("ccrs%".into())), None).1.len(), 1);
        assert_eq!(show_backup(&jobs, "src_db", Some(&NameFilter::Eq("nope".into())), None).1.len(), 0);
    }

    #[test]
    fn show_restore_columns_and_values() {
        let o = RestoreOptions {
            backup_timestamp: Some("2024-01-01-08-00-00".into()),
            reserve_replica: true,
            replica_alloc: ReplicaAllocation::with_default_tag(1),
            ..Default::default()
        };
        let mut j = RestoreJobRecord::new(header(20001, "ccrs_1", "dst_db", -1, "__keep_on_local__", vec![]), o, 1_700_000_000_000);
        j.move_to(RestoreState::Snapshoting, 1_700_000_002_000).unwrap();
        j.tasks.unfinished.insert(40001, 10002);
        j.tasks.unfinished.insert(40002, 10003);
        j.cancel(JobStatus::error(ErrCode::CommonError, "Table t already exist but with different schema"), 1_700_000_003_000).unwrap();
        let (cols, rows) = show_restore([&j], "dst_db", Some(&NameFilter::Eq("ccrs_1".into())), None);
        let names: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, RESTORE_COLUMNS);
        let r = text(&rows[0]);
        assert_eq!(r.len(), 21);
        assert_eq!(&r[..10], &[
            "20001", "ccrs_1", "2024-01-01-08-00-00", "dst_db", "CANCELLED", "false", "1", "tag.location.default: 1", "true", "false",
        ]);
        assert_eq!(r[10], "", "no job info yet");
        assert_eq!(r[11], format_time(1_700_000_000_000));
        assert_eq!(r[12], format_time(1_700_000_002_000));
        assert_eq!(r[13], "NULL");
        assert_eq!(r[15], format_time(1_700_000_003_000));
        assert_eq!(r[16], "40001=10002, 40002=10003");
        assert_eq!(r[19], "[COMMON_ERROR, msg: Table t already exist but with different schema]");
        assert_eq!(r[20], "86400");
        // The syncer parses ReplicationNum as an integer.
        assert!(r[6].parse::<i64>().is_ok());
    }

    #[test]
    fn snapshot_rows_shape() {
        let entries = vec![
            SnapshotEntry { name: "s1".into(), timestamps: vec!["2024-01-01-00-00-00".into(), "2024-01-02-00-00-00".into()], status: "OK".into() },
            SnapshotEntry { name: "s2".into(), timestamps: vec![], status: "ERROR: No info file found".into() },
        ];
        let (cols, rows) = snapshot_rows(&entries);
        assert_eq!(cols.len(), 3);
        assert_eq!(text(&rows[0]), ["s1", "2024-01-01-00-00-00\n2024-01-02-00-00-00", "OK"]);
        assert_eq!(text(&rows[1]), ["s2", "NULL", "ERROR: No info file found"]);
        let info = BackupJobInfo { name: "s1".into(), database: "db1".into(), ..Default::default() };
        let r = text(&snapshot_detail_row("s1", "t", Ok(&info)));
        assert_eq!(r[2], "db1");
        assert!(r[3].contains("\"olap_table_list\""));
        assert_eq!(r[4], "OK");
        let r = text(&snapshot_detail_row("s1", "t", Err("gone".into())));
        assert_eq!(r[4], "Failed to get info: gone");
    }
}
