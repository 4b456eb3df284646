//! Backup, restore and repositories: the jobs (one file per step), their registry and
//! runners, local snapshots for CCR, repositories, and the documents they read and write.
//!
//! - [`backup_job`], [`restore_job`]: the two job kinds, one file per state step.
//! - [`registry`]: the jobs in memory, persisted (by [`job_store`]) before they are visible; [`runners`] start
//!   them; [`runner`] is the loop both kinds run; [`release`] frees BE snapshots.
//! - [`local_snapshots`]: `__keep_on_local__` snapshots for getSnapshot; [`repos`]: CREATE /
//!   DROP of repositories.
//!
//! - [`job_info`]: the `job_info` JSON document, in the shape the Java FE writes and the
//!   CCR syncer reads and extends (`extra_info`).
//! - [`meta`]: the `meta` bytes (our table metadata inside upstream's length framing).
//! - [`repository`]: a repository over `object_store` (S3 or a local directory) with
//!   upstream's file layout (`__palo_repository_<name>/__ss_<snapshot>/...`).
//! - [`state`]: job states and the persisted job records.
//! - [`properties`]: BACKUP / RESTORE `PROPERTIES` parsing and validation.
//! - [`admission`]: the one place that decides whether a new job may start.

pub mod admission;
pub mod backup_job;
mod env;
pub mod job_info;
pub mod job_store;
pub mod lifecycle;
mod lenient;
pub mod local_snapshots;
pub mod meta;
pub mod meta_conv;
pub mod properties;
pub mod registry;
pub mod release;
pub mod repos;
pub mod repository;
pub mod restore_job;
mod runner;
pub mod runners;
pub mod shared;
pub mod state;
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
pub use env::{BackupCtx, BackupEnv};
pub use lifecycle::{JobLifecycle, JobState};
pub use local_snapshots::LocalSnapshot;
pub use registry::{admission_policy, Jobs, StoredJob};
pub use release::{cancel_unfinished, release_snapshots};
pub use restore_job::RestoreExtra;
pub use shared::Shared;
pub use runners::{resume_all, spawn_backup, spawn_restore};
pub use state::{BackupJobRecord, BackupState, ErrCode, JobHeader, JobStatus, RestoreJobRecord, RestoreState, TableRefRecord, TableSelection};

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
