//! Job states (upstream names) and the job records persisted after every state change.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::admission::JobKind;
use super::job_info::{BackupContent, BackupJobInfo};
use super::meta::BackupMeta;
use super::properties::{ReplicaAllocation, RestoreOptions};
use super::shared::Shared;
use crate::error::FeError;

crate::job_state!(
    /// Backup: PENDING -> SNAPSHOTING -> UPLOAD_SNAPSHOT -> UPLOADING -> SAVE_META ->
    /// UPLOAD_INFO -> FINISHED, or CANCELLED.
    BackupState {
        Pending => "PENDING",
        Snapshoting => "SNAPSHOTING",
        UploadSnapshot => "UPLOAD_SNAPSHOT",
        Uploading => "UPLOADING",
        SaveMeta => "SAVE_META",
        UploadInfo => "UPLOAD_INFO",
        Finished => "FINISHED",
        Cancelled => "CANCELLED",
    }
);

crate::job_state!(
    /// Restore: PENDING -> SNAPSHOTING -> DOWNLOAD -> DOWNLOADING -> COMMIT -> COMMITTING ->
    /// FINISHED, or CANCELLED.
    RestoreState {
        Pending => "PENDING",
        Snapshoting => "SNAPSHOTING",
        Download => "DOWNLOAD",
        Downloading => "DOWNLOADING",
        Commit => "COMMIT",
        Committing => "COMMITTING",
        Finished => "FINISHED",
        Cancelled => "CANCELLED",
    }
);

/// Upstream `backup.Status.ErrCode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrCode {
    #[default]
    Ok,
    NotFound,
    BadFile,
    CreateRemotePathFailed,
    IsDir,
    IsFile,
    Timeout,
    BadConnection,
    CommonError,
    OlapVersionAlreadyMerged,
}

impl ErrCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrCode::Ok => "OK",
            ErrCode::NotFound => "NOT_FOUND",
            ErrCode::BadFile => "BAD_FILE",
            ErrCode::CreateRemotePathFailed => "CREATE_REMOTE_PATH_FAILED",
            ErrCode::IsDir => "IS_DIR",
            ErrCode::IsFile => "IS_FILE",
            ErrCode::Timeout => "TIMEOUT",
            ErrCode::BadConnection => "BAD_CONNECTION",
            ErrCode::CommonError => "COMMON_ERROR",
            ErrCode::OlapVersionAlreadyMerged => "OLAP_VERSION_ALREADY_MERGED",
        }
    }
}

/// A job's status, shown as `[OK]` or `[COMMON_ERROR, msg: ...]` (SHOW BACKUP/RESTORE `Status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct JobStatus {
    pub code: ErrCode,
    #[serde(default)]
    pub msg: String,
}

impl JobStatus {
    pub fn ok() -> Self {
        JobStatus::default()
    }

    pub fn error(code: ErrCode, msg: impl Into<String>) -> Self {
        JobStatus { code, msg: msg.into() }
    }

    pub fn is_ok(&self) -> bool {
        self.code == ErrCode::Ok
    }

    /// The status a job gets from an error.
    pub fn from_error(e: &FeError) -> Self {
        let code = match e {
            FeError::Timeout(_) => ErrCode::Timeout,
            FeError::NotFound(_) | FeError::SnapshotNotExist(_) => ErrCode::NotFound,
            _ => ErrCode::CommonError,
        };
        JobStatus::error(code, e.to_string())
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}", self.code.as_str())?;
        if !self.is_ok() {
            write!(f, ", msg: {}", self.msg)?;
        }
        f.write_str("]")
    }
}

/// One `tbl [PARTITION (p, ...)] [AS alias]` of a job, after resolution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableRefRecord {
    pub table: String,
    #[serde(default)]
    pub partitions: Vec<String>,
    #[serde(default)]
    pub alias: Option<String>,
}

/// Which tables a BACKUP or RESTORE names: every one (no ON clause), the listed ones, or
/// every one but those of an EXCLUDE clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableSelection {
    All,
    Only(Vec<TableRefRecord>),
    Except(Vec<String>),
}

impl TableSelection {
    /// Resolve against the tables there are (`all`): ON lists are returned as given,
    /// the other two become whole-table refs. EXCLUDE compares names case-insensitively.
    pub fn resolve<'a>(&self, all: impl IntoIterator<Item = &'a str>) -> Vec<TableRefRecord> {
        let whole = |t: &str| TableRefRecord { table: t.to_string(), partitions: vec![], alias: None };
        match self {
            TableSelection::Only(refs) => refs.clone(),
            TableSelection::All => all.into_iter().map(whole).collect(),
            TableSelection::Except(out) => all
                .into_iter()
                .filter(|t| !out.iter().any(|x| x.eq_ignore_ascii_case(t)))
                .map(whole)
                .collect(),
        }
    }
}

/// One finished tablet snapshot on a backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotRecord {
    pub db_id: i64,
    pub table_id: i64,
    pub partition_id: i64,
    pub index_id: i64,
    pub tablet_id: i64,
    pub be_id: i64,
    pub schema_hash: i32,
    /// The snapshot directory on the backend (`.../snapshot/<ts>.<seq>.<timeout>`).
    pub path: String,
    #[serde(default)]
    pub files: Vec<String>,
}

/// Task bookkeeping shared by both job kinds.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TaskBook {
    /// Agent task signature -> tablet id (snapshot/upload) or backend id (download).
    #[serde(default)]
    pub unfinished: BTreeMap<i64, i64>,
    /// Signature -> (finished, total) reported by the backend.
    #[serde(default)]
    pub progress: BTreeMap<i64, (i64, i64)>,
    /// Signature -> the last error of that task.
    #[serde(default)]
    pub errors: BTreeMap<i64, String>,
}

impl TaskBook {
    /// Tablet (or backend) id -> the signature its task was last sent under, from the
    /// unfinished tasks a step stored before sending. A step run again after an FE restart
    /// sends each task under that signature: a BE still holding it does not run it twice
    /// (it de-duplicates by signature), and its answer to the first send ends this wait.
    pub fn sent_signatures(&self) -> std::collections::HashMap<i64, i64> {
        self.unfinished.iter().map(|(sig, id)| (*id, *sig)).collect()
    }
}

/// A backup job as persisted after every state change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupJobRecord {
    pub job_id: i64,
    /// The snapshot name.
    pub label: String,
    pub db_id: i64,
    pub db_name: String,
    pub repo_id: i64,
    pub repo_name: String,
    pub state: BackupState,
    pub table_refs: Vec<TableRefRecord>,
    /// Submitted without an ON clause (or restoring with `clean_tables`): the job covers
    /// the whole database, for the table-level scheduler.
    #[serde(default)]
    pub whole_db: bool,
    pub content: BackupContent,
    pub create_time_ms: i64,
    #[serde(default)]
    pub snapshot_finished_time_ms: i64,
    #[serde(default)]
    pub upload_finished_time_ms: i64,
    #[serde(default)]
    pub finished_time_ms: i64,
    pub timeout_ms: i64,
    #[serde(default)]
    pub tasks: TaskBook,
    #[serde(default)]
    pub status: JobStatus,
    /// Tablet id -> its snapshot.
    #[serde(default)]
    pub snapshots: BTreeMap<i64, SnapshotRecord>,
    /// Table id -> binlog commit seq when the snapshot was taken (CCR).
    #[serde(default)]
    pub table_commit_seq_map: BTreeMap<i64, i64>,
    /// Set in SAVE_META.
    #[serde(default)]
    pub job_info: Option<Shared<BackupJobInfo>>,
    #[serde(default)]
    pub meta: Option<Shared<BackupMeta>>,
    /// The `__info_` timestamp the repository files carry.
    #[serde(default)]
    pub snapshot_timestamp: Option<String>,
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

/// A restore job as persisted after every state change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestoreJobRecord {
    pub job_id: i64,
    pub label: String,
    /// The backup timestamp restored (empty for a local snapshot without one).
    pub backup_timestamp: String,
    pub db_id: i64,
    pub db_name: String,
    pub repo_id: i64,
    pub repo_name: String,
    pub state: RestoreState,
    pub table_refs: Vec<TableRefRecord>,
    /// Submitted without an ON clause (or restoring with `clean_tables`): the job covers
    /// the whole database, for the table-level scheduler.
    #[serde(default)]
    pub whole_db: bool,
    pub options: RestoreOptions,
    pub create_time_ms: i64,
    #[serde(default)]
    pub meta_prepared_time_ms: i64,
    #[serde(default)]
    pub snapshot_finished_time_ms: i64,
    #[serde(default)]
    pub download_finished_time_ms: i64,
    #[serde(default)]
    pub finished_time_ms: i64,
    pub timeout_ms: i64,
    #[serde(default)]
    pub tasks: TaskBook,
    #[serde(default)]
    pub status: JobStatus,
    #[serde(default)]
    pub job_info: Option<Shared<BackupJobInfo>>,
    #[serde(default)]
    pub meta: Option<Shared<BackupMeta>>,
    /// Local snapshots of the restore targets: tablet id -> snapshot.
    #[serde(default)]
    pub snapshots: BTreeMap<i64, SnapshotRecord>,
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

/// Who a job is: what both job kinds are created with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobHeader {
    pub job_id: i64,
    /// The snapshot name (backup) or the label of the snapshot restored.
    pub label: String,
    pub db_id: i64,
    pub db_name: String,
    pub repo_id: i64,
    pub repo_name: String,
    pub table_refs: Vec<TableRefRecord>,
}

impl BackupJobRecord {
    pub fn new(h: JobHeader, content: BackupContent, timeout_ms: i64, now_ms: i64) -> Self {
        BackupJobRecord {
            job_id: h.job_id,
            label: h.label,
            db_id: h.db_id,
            db_name: h.db_name,
            repo_id: h.repo_id,
            repo_name: h.repo_name,
            state: BackupState::Pending,
            table_refs: h.table_refs,
            whole_db: false,
            content,
            create_time_ms: now_ms,
            snapshot_finished_time_ms: 0,
            upload_finished_time_ms: 0,
            finished_time_ms: 0,
            timeout_ms,
            tasks: TaskBook::default(),
            status: JobStatus::ok(),
            snapshots: BTreeMap::new(),
            table_commit_seq_map: BTreeMap::new(),
            job_info: None,
            meta: None,
            snapshot_timestamp: None,
            properties: BTreeMap::new(),
        }
    }

}

impl RestoreJobRecord {
    pub fn new(h: JobHeader, options: RestoreOptions, now_ms: i64) -> Self {
        RestoreJobRecord {
            job_id: h.job_id,
            label: h.label,
            backup_timestamp: options.backup_timestamp.clone().unwrap_or_default(),
            db_id: h.db_id,
            db_name: h.db_name,
            repo_id: h.repo_id,
            repo_name: h.repo_name,
            state: RestoreState::Pending,
            table_refs: h.table_refs,
            whole_db: false,
            timeout_ms: options.timeout_ms,
            options,
            create_time_ms: now_ms,
            meta_prepared_time_ms: 0,
            snapshot_finished_time_ms: 0,
            download_finished_time_ms: 0,
            finished_time_ms: 0,
            tasks: TaskBook::default(),
            status: JobStatus::ok(),
            job_info: None,
            meta: None,
            snapshots: BTreeMap::new(),
            properties: BTreeMap::new(),
        }
    }

    pub fn replica_alloc(&self) -> &ReplicaAllocation {
        &self.options.replica_alloc
    }

    /// The backed-up snapshot's timestamp (`yyyy-MM-dd-HH-mm-ss`, local time) from its job
    /// info, as upstream names a restore of a local snapshot; left as is without a time.
    pub fn set_backup_timestamp_from(&mut self, info: &BackupJobInfo) {
        if info.backup_time > 0 {
            self.backup_timestamp = super::time::snapshot_timestamp(info.backup_time);
        }
    }

    /// SHOW RESTORE's `Timestamp`. Records of local-snapshot restores stored before the
    /// timestamp was recorded get it from their job info.
    pub fn shown_backup_timestamp(&self) -> String {
        match &self.job_info {
            Some(info)
                if self.backup_timestamp.is_empty()
                    && self.repo_id == super::KEEP_ON_LOCAL_REPO_ID
                    && info.backup_time > 0 =>
            {
                super::time::snapshot_timestamp(info.backup_time)
            }
            _ => self.backup_timestamp.clone(),
        }
    }

}

crate::job_lifecycle!(BackupJobRecord, BackupState, JobKind::Backup, |r, to, now| match to {
    BackupState::UploadSnapshot => r.snapshot_finished_time_ms = now,
    BackupState::SaveMeta => r.upload_finished_time_ms = now,
    BackupState::Finished | BackupState::Cancelled => r.finished_time_ms = now,
    _ => {}
});

crate::job_lifecycle!(RestoreJobRecord, RestoreState, JobKind::Restore, |r, to, now| match to {
    RestoreState::Snapshoting => r.meta_prepared_time_ms = now,
    RestoreState::Download => r.snapshot_finished_time_ms = now,
    RestoreState::Commit => r.download_finished_time_ms = now,
    RestoreState::Finished | RestoreState::Cancelled => r.finished_time_ms = now,
    _ => {}
});

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::backup::{JobLifecycle, JobState};
    use crate::backup::meta::tests_support::sample_meta;

    pub(crate) fn header(job_id: i64, label: &str, db_name: &str, repo_id: i64, repo_name: &str, refs: Vec<TableRefRecord>) -> JobHeader {
        JobHeader {
            job_id,
            label: label.into(),
            db_id: 1,
            db_name: db_name.into(),
            repo_id,
            repo_name: repo_name.into(),
            table_refs: refs,
        }
    }

    #[test]
    fn state_names_are_upstream() {
        let names: Vec<&str> = BackupState::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(names, ["PENDING", "SNAPSHOTING", "UPLOAD_SNAPSHOT", "UPLOADING", "SAVE_META", "UPLOAD_INFO", "FINISHED", "CANCELLED"]);
        let names: Vec<&str> = RestoreState::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(names, ["PENDING", "SNAPSHOTING", "DOWNLOAD", "DOWNLOADING", "COMMIT", "COMMITTING", "FINISHED", "CANCELLED"]);
        assert_eq!(serde_json::to_string(&BackupState::UploadSnapshot).unwrap(), "\"UPLOAD_SNAPSHOT\"");
        assert_eq!("upload_info".parse::<BackupState>().unwrap(), BackupState::UploadInfo);
        assert!("SNAPSHOTTING".parse::<RestoreState>().is_err());
    }

    #[test]
    fn transitions() {
        assert!(BackupState::Pending.can_move_to(BackupState::Snapshoting));
        assert!(!BackupState::Pending.can_move_to(BackupState::Uploading));
        assert!(BackupState::Uploading.can_move_to(BackupState::Cancelled));
        assert!(!BackupState::Finished.can_move_to(BackupState::Cancelled));
        assert!(!BackupState::Cancelled.can_move_to(BackupState::Cancelled));
        assert_eq!(RestoreState::Committing.next(), Some(RestoreState::Finished));
        assert_eq!(RestoreState::Finished.next(), None);
    }

    #[test]
    fn status_text() {
        assert_eq!(JobStatus::ok().to_string(), "[OK]");
        assert_eq!(
            JobStatus::error(ErrCode::CommonError, "Table t already exist but with different schema").to_string(),
            "[COMMON_ERROR, msg: Table t already exist but with different schema]"
        );
        assert_eq!(JobStatus::from_error(&FeError::Timeout("x".into())).code, ErrCode::Timeout);
    }

    #[test]
    fn backup_record_walks_and_persists() {
        let mut r = BackupJobRecord::new(header(7, "snap", "db", -1, "__keep_on_local__", vec![]), BackupContent::All, 86_400_000, 1000);
        for (i, s) in BackupState::ALL[1..7].iter().enumerate() {
            r.move_to(*s, 2000 + i as i64).unwrap();
        }
        assert_eq!(r.state, BackupState::Finished);
        assert_eq!(r.snapshot_finished_time_ms, 2001);
        assert_eq!(r.upload_finished_time_ms, 2003);
        assert_eq!(r.finished_time_ms, 2005);
        let e = r.move_to(BackupState::Cancelled, 3000).unwrap_err();
        assert_eq!(e.to_string(), "backup job 7 cannot move from FINISHED to CANCELLED");
        r.meta = Some(sample_meta().into());
        r.tasks.unfinished.insert(11, 22);
        r.tasks.progress.insert(11, (1, 2));
        let back = serde_json::from_slice::<BackupJobRecord>(&serde_json::to_vec(&r).unwrap()).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn restore_record_cancel_and_timeout() {
        let o = RestoreOptions { backup_timestamp: Some("2024-01-01-00-00-00".into()), timeout_ms: 600_000, ..Default::default() };
        let mut r = RestoreJobRecord::new(header(8, "snap", "db", 3, "repo", vec![]), o, 1000);
        assert_eq!(r.backup_timestamp, "2024-01-01-00-00-00");
        assert!(!r.is_timed_out(601_000));
        assert!(r.is_timed_out(601_001));
        r.move_to(RestoreState::Snapshoting, 5).unwrap();
        assert_eq!(r.meta_prepared_time_ms, 5);
        r.cancel(JobStatus::error(ErrCode::Timeout, "restore job with label: snap  timeout."), 9).unwrap();
        assert_eq!(r.state, RestoreState::Cancelled);
        assert_eq!(r.finished_time_ms, 9);
        assert!(!r.is_timed_out(10_000_000));
        assert_eq!(serde_json::from_slice::<RestoreJobRecord>(&serde_json::to_vec(&r).unwrap()).unwrap(), r);
        assert!(serde_json::from_slice::<RestoreJobRecord>(b"{}").is_err());
    }

    /// A local-snapshot restore (CCR's restoreSnapshot) takes the backup's time from the
    /// job info; one stored without it shows the same; a repository restore keeps its
    /// `backup_timestamp` property.
    #[test]
    fn restore_timestamp_of_local_snapshots() {
        let info = BackupJobInfo { backup_time: 1_700_000_000_000, ..Default::default() };
        let expected = crate::backup::time::snapshot_timestamp(1_700_000_000_000);
        let local = || RestoreJobRecord::new(header(9, "snap", "db", -1, "__keep_on_local__", vec![]), RestoreOptions::default(), 1000);
        let mut r = local();
        assert_eq!(r.backup_timestamp, "");
        r.set_backup_timestamp_from(&info);
        assert_eq!(r.backup_timestamp, expected);
        assert_eq!(r.shown_backup_timestamp(), expected);

        let mut stored_before = local();
        stored_before.job_info = Some(info.clone().into());
        assert_eq!(stored_before.shown_backup_timestamp(), expected);

        let mut unknown = local();
        unknown.set_backup_timestamp_from(&BackupJobInfo::default());
        assert_eq!(unknown.backup_timestamp, "", "no time, no timestamp");

        let o = RestoreOptions { backup_timestamp: Some("2024-01-01-00-00-00".into()), ..Default::default() };
        let mut repo = RestoreJobRecord::new(header(10, "snap", "db", 3, "repo", vec![]), o, 1000);
        repo.job_info = Some(info.into());
        assert_eq!(repo.shown_backup_timestamp(), "2024-01-01-00-00-00");
    }
}
