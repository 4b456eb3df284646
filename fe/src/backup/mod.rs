//! Backup, restore and repositories: the parts that do not need the catalog.
//!
//! - [`job_info`]: the `job_info` JSON document, in the shape the Java FE writes and the
//!   CCR syncer reads and extends (`extra_info`).
//! - [`meta`]: the `meta` bytes (our table metadata inside upstream's length framing).
//! - [`repository`]: a repository over `object_store` (S3 or a local directory) with
//!   upstream's file layout (`__palo_repository_<name>/__ss_<snapshot>/...`).
//! - [`state`]: job states and the persisted job records.
//! - [`show`]: rows of SHOW BACKUP / RESTORE / REPOSITORIES / SNAPSHOT.
//! - [`properties`]: BACKUP / RESTORE `PROPERTIES` parsing and validation.
//! - [`admission`]: the one place that decides whether a new job may start.

pub mod admission;
pub mod job_info;
pub mod meta;
pub mod properties;
pub mod repository;
pub mod show;
pub mod state;
mod lenient;
pub mod time;

/// The repository name that keeps snapshots on the BEs (no upload); used by CCR.
pub const KEEP_ON_LOCAL_REPO_NAME: &str = "__keep_on_local__";
/// The repository id upstream gives [`KEEP_ON_LOCAL_REPO_NAME`].
pub const KEEP_ON_LOCAL_REPO_ID: i64 = -1;

pub use admission::{Admission, AdmissionPolicy, JobKind, JobRequest, OneJobPerDatabase, Queued, TableLevel};
pub use job_info::{BackupContent, BackupJobInfo, ExtraInfo, JobInfoInput, NetworkAddr, TabletIds, TabletSnapshot};
pub use meta::{BackupMeta, TableMeta};
pub use properties::{BackupOptions, ReplicaAllocation, RestoreOptions};
pub use repository::{Repository, SnapshotEntry, StorageKind};
pub use state::{BackupJobRecord, BackupState, ErrCode, JobHeader, JobStatus, RestoreJobRecord, RestoreState, TableRefRecord};

/// Refuse a job involving more than `max_backup_tablets_per_job` tablets (upstream's text;
/// upstream checks backups, its table-level scheduler restores too).
pub fn check_tablet_count(n: usize, limit: usize) -> crate::error::Result<()> {
    if n > limit {
        return Err(crate::error::FeError::IllegalState(format!(
            "the num involved tablets {n} exceeds the limit {limit}, which might cause the FE OOM, change config `max_backup_tablets_per_job` to change this limitation"
        )));
    }
    Ok(())
}
