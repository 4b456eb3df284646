//! The restore job: PENDING (create missing tables with the backed-up schema, or check an
//! existing table's signature; map backed-up tablets to local ones in bucket order) ->
//! SNAPSHOTING (MAKE_SNAPSHOT on the local tablets for a local directory to fill) ->
//! DOWNLOAD -> DOWNLOADING (DOWNLOAD tasks pulling the source BEs' snapshots) -> COMMIT ->
//! COMMITTING (MOVE with overwrite, then the backed-up visible versions) -> FINISHED.
//! Cancelling at any state releases our snapshots and drops the tables the job created.
//!
//! A backed-up partition an existing RANGE/LIST table lacks is added, as upstream does: it
//! must not intersect any partition of the table; it gets new ids, the backup's bucket count
//! and the restore's replica allocation, and is registered in the table as a restoring
//! partition (tablets known to reports, nothing else sees it) before its tablets are
//! created. It is restored like any other partition and made visible at commit; a cancel
//! removes it and drops its tablets.
//!
//! `atomic_restore` restores every table into a new shadow table named
//! `__doris_atomic_restore_prefix__<name>` (upstream's name) and, at commit, swaps it in
//! place of the existing table in one store transaction that also records the swap in the
//! job; until then the visible table is untouched, and a cancel only drops the shadows.
//! `force_replace` (effective with `atomic_restore` only, as upstream) lets the shadow
//! replace an existing table whose schema differs instead of failing the job.

mod cancel;
mod commit;
mod download;
mod partitions;
mod prepare;
mod snapshot;
mod submit;
mod tables;

use std::time::Duration;

use doris_thrift::agent_service::{TDownloadReq, TMoveDirReq, TRemoteTabletSnapshot};
use doris_thrift::types::TNetworkAddress;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use tracing::{info_span, Span};

use crate::backup::runner::{self, RunnableJob};
use crate::backup::{meta_conv, StoredJob};
use crate::backup::job_info::TabletIds;
use crate::backup::state::SnapshotRecord;
use crate::backup::shared::Shared;
use crate::backup::{
    BackupJobInfo, BackupMeta, JobHeader, JobKind, JobRequest, JobStatus, RestoreJobRecord,
    RestoreOptions, RestoreState, TableRefRecord, KEEP_ON_LOCAL_REPO_ID, KEEP_ON_LOCAL_REPO_NAME,
};
use crate::catalog::table::{Partition, PartitionKind};
use crate::catalog::{OlapTable, RestoreLock};
use crate::load::txn::TxnState;
use crate::backup::{BackupCtx, BackupEnv};
use crate::context::FeContext;
use crate::backup::JobLifecycle;
use crate::error::{FeError, Result};
use crate::system::task_queue::AgentTask;
use doris_thrift::task_body::TaskBody;

pub use cancel::cancel_job;
use cancel::*;
use commit::*;
use download::*;
use partitions::*;
use prepare::*;
use snapshot::*;
use tables::*;
pub use submit::{submit, submit_from_repository, RepositoryRestore, RestoreRequest};
pub(crate) use submit::admission_request;

/// Upstream `RestoreJob.ATOMIC_RESTORE_TABLE_PREFIX`.
pub const ATOMIC_RESTORE_TABLE_PREFIX: &str = "__doris_atomic_restore_prefix__";

/// The shadow table an atomic restore of `table` fills (upstream `tableAliasWithAtomicRestore`).
pub fn atomic_shadow_name(table: &str) -> String {
    format!("{ATOMIC_RESTORE_TABLE_PREFIX}{table}")
}

/// Restore bookkeeping beyond the shared record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RestoreExtra {
    /// Tables this job created (dropped again on cancel).
    #[serde(default)]
    pub created_tables: Vec<i64>,
    /// One entry per local replica to fill.
    #[serde(default)]
    pub tablets: Shared<Vec<RestoreTablet>>,
    /// (local table id, local partition id, backed-up visible version).
    #[serde(default)]
    pub partitions: Vec<(i64, i64, i64)>,
    /// Atomic restore: the shadow tables and the names they take at commit.
    #[serde(default)]
    pub atomic: Vec<AtomicSwap>,
    /// Set in the transaction that swapped the shadows in: from then on the job only
    /// finishes, it is never cancelled (the shadows are the visible tables now).
    #[serde(default)]
    pub swapped: bool,
    /// The tables the swap replaced; their tablets are dropped on the BEs after it.
    #[serde(default)]
    pub replaced: Vec<OlapTable>,
    /// Partitions this job adds to existing tables, recorded before they are registered
    /// (restoring) in their table, so a cancel or restart knows them as ours.
    #[serde(default)]
    pub added_partitions: Vec<AddedPartition>,
    /// (existing table id, the backed-up table's AUTO_INCREMENT ceiling): raised to at
    /// commit, so values the restored rows hold are not handed out again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub auto_increment_ceilings: Vec<(i64, i64)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddedPartition {
    pub table_id: i64,
    pub partition_id: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AtomicSwap {
    /// The name the shadow takes (the restore's table name or alias).
    pub table: String,
    /// 0 until the shadow exists: the entry is persisted before the shadow is created, so
    /// a shadow made just before a crash is known to be ours.
    pub shadow_table_id: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestoreTablet {
    pub table_id: i64,
    pub partition_id: i64,
    pub local_tablet_id: i64,
    pub local_be_id: i64,
    pub schema_hash: i32,
    pub remote_tablet_id: i64,
    pub remote_schema_hash: i32,
    /// The backed-up ids around the remote tablet (repository layout).
    #[serde(default)]
    pub remote_table_id: i64,
    #[serde(default)]
    pub remote_partition_id: i64,
    #[serde(default)]
    pub remote_index_id: i64,
    /// The local snapshot directory (`.../snapshot/<ts>.<seq>.<timeout>`), once made.
    #[serde(default)]
    pub local_snapshot_path: String,
}

impl RestoreTablet {
    fn local_dir(&self) -> String {
        format!(
            "{}/{}/{}",
            self.local_snapshot_path, self.local_tablet_id, self.schema_hash
        )
    }
}

fn load(ctx: &BackupEnv, job_id: i64) -> Result<(RestoreJobRecord, RestoreExtra)> {
    runner::load(ctx, job_id)
}

fn save(ctx: &BackupEnv, r: &RestoreJobRecord, x: &RestoreExtra) -> Result<()> {
    ctx.jobs.save(
        ctx,
        StoredJob::Restore {
            record: r.clone(),
            extra: x.clone(),
        },
    )
}

fn remaining(r: &RestoreJobRecord) -> Duration {
    runner::remaining(r.create_time_ms, r.timeout_ms)
}

fn cancelled() -> FeError {
    runner::cancelled(JobKind::Restore)
}

impl RunnableJob for (RestoreJobRecord, RestoreExtra) {
    const KIND: JobKind = JobKind::Restore;

    fn from_stored(job: StoredJob) -> Option<Self> {
        match job {
            StoredJob::Restore { record, extra } => Some((record, extra)),
            StoredJob::Backup { .. } => None,
        }
    }

    fn span(&self, job_id: i64) -> Span {
        info_span!("restore_job", job_id, label = %self.0.label)
    }

    fn is_done(&self) -> bool {
        self.0.state.is_done()
    }

    /// Once swapped the job is committed: it finishes whatever happens.
    fn stoppable(&self) -> bool {
        !self.1.swapped
    }

    fn is_timed_out(&self, now_ms: i64) -> bool {
        self.0.is_timed_out(now_ms)
    }

    fn timeout_error(&self) -> FeError {
        FeError::Timeout(format!(
            "restore job with label: {}  timeout.",
            self.0.label
        ))
    }

    async fn step(self, ctx: &BackupEnv, cancel: &CancellationToken) -> Result<()> {
        let (r, x) = self;
        match r.state {
            RestoreState::Pending => pending(ctx, r, x, cancel).await,
            RestoreState::Snapshoting => snapshoting(ctx, r, x, cancel).await,
            RestoreState::Download | RestoreState::Downloading => download(ctx, r, x, cancel).await,
            RestoreState::Commit | RestoreState::Committing => commit(ctx, r, x, cancel).await,
            RestoreState::Finished | RestoreState::Cancelled => Ok(()),
        }
    }

    async fn cancel(ctx: &BackupEnv, job_id: i64, status: JobStatus) {
        cancel_job(ctx, job_id, status).await
    }
}

/// Drive the job until it is done.
pub async fn run(ctx: BackupCtx, job_id: i64, cancel: CancellationToken, _resumed: bool) {
    runner::run::<(RestoreJobRecord, RestoreExtra)>(ctx, job_id, cancel).await
}

fn snapshot_records(r: &RestoreJobRecord, x: &RestoreExtra) -> Vec<SnapshotRecord> {
    x.tablets
        .iter()
        .filter(|t| !t.local_snapshot_path.is_empty())
        .map(|t| SnapshotRecord {
            db_id: r.db_id,
            table_id: t.table_id,
            partition_id: t.partition_id,
            index_id: 0,
            tablet_id: t.local_tablet_id,
            be_id: t.local_be_id,
            schema_hash: t.schema_hash,
            path: t.local_snapshot_path.clone(),
            files: vec![],
        })
        .collect()
}

fn be_addr(ctx: &BackupEnv, be_id: i64) -> Result<String> {
    ctx.backends
        .get(be_id)
        .and_then(|b| b.be_addr())
        .ok_or_else(|| {
            FeError::IllegalState(format!("backend {be_id} is unknown or not reachable"))
        })
}

async fn run_tasks(
    ctx: &BackupEnv,
    r: &RestoreJobRecord,
    tasks: Vec<AgentTask>,
    cancel: &CancellationToken,
) -> Result<Vec<(i64, Box<doris_thrift::master_service::TFinishTaskRequest>)>> {
    tokio::select! {
        res = ctx.tasks.run(tasks, remaining(r)) => res.map_err(|e| FeError::Internal(e.to_string())),
        _ = cancel.cancelled() => Err(cancelled()),
    }
}
