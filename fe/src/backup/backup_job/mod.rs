//! The backup job: PENDING (pick one replica per tablet, capture the meta) -> SNAPSHOTING
//! (MAKE_SNAPSHOT at the partitions' visible versions) -> [UPLOAD_SNAPSHOT -> UPLOADING]
//! -> SAVE_META (job_info) -> [UPLOAD_INFO] -> FINISHED. A `__keep_on_local__` backup skips
//! the uploads and ends by publishing a local snapshot for getSnapshot.

mod prepare;
mod save_meta;
mod snapshot;
mod upload;

use std::time::Duration;

use doris_thrift::agent_service::{TSnapshotRequest, TUploadReq};
use doris_thrift::types::TNetworkAddress;
use tokio_util::sync::CancellationToken;
use tracing::{info, info_span, warn, Span};

use crate::backup::local_snapshots::{self, LocalSnapshot};
use crate::backup::runner::{self, RunnableJob};
use crate::backup::{meta_conv, StoredJob};
use crate::backup::job_info::{JobInfoInput, TabletIds, TabletSnapshot};
use crate::backup::state::SnapshotRecord;
use crate::backup::state::TableRefRecord;
use crate::backup::{
    BackupJobInfo, BackupJobRecord, BackupMeta, BackupOptions, BackupState, JobHeader, JobKind,
    JobRequest, JobStatus, TableSelection, KEEP_ON_LOCAL_REPO_ID, KEEP_ON_LOCAL_REPO_NAME,
};
use crate::backup::{BackupCtx, BackupEnv};
use crate::context::FeContext;
use crate::backup::JobLifecycle;
use crate::error::{FeError, Result};
use crate::system::task_queue::AgentTask;
use crate::system::backends::Backend;
use doris_thrift::task_body::TaskBody;

use prepare::*;
use save_meta::*;
use snapshot::*;
use upload::*;

/// What BACKUP asks for.
#[derive(Debug, Clone)]
pub struct BackupRequest {
    pub db_name: String,
    /// The snapshot name.
    pub label: String,
    pub repo: String,
    pub tables: TableSelection,
    pub properties: Vec<(String, String)>,
}

/// Check a backup request, admit it and store its PENDING record; the job id.
pub fn submit(ctx: &BackupCtx, req: BackupRequest) -> Result<i64> {
    let db_name = req.db_name.as_str();
    let db = ctx
        .catalog
        .database(db_name)
        .ok_or_else(|| FeError::UnknownDatabase(db_name.into()))?;
    let opts = BackupOptions::parse(&req.properties)?;
    let mut repository = None;
    let (repo_id, repo_name) = if req.repo == KEEP_ON_LOCAL_REPO_NAME {
        (KEEP_ON_LOCAL_REPO_ID, KEEP_ON_LOCAL_REPO_NAME.to_string())
    } else {
        let repo = crate::backup::repos::get(ctx, &req.repo)?;
        if repo.read_only {
            return Err(FeError::IllegalState(format!(
                "Repository {} is read only",
                repo.name
            )));
        }
        let ids = (repo.id, repo.name.clone());
        repository = Some(repo);
        ids
    };
    let all: Vec<String> = ctx
        .catalog
        .tables(db.id)
        .into_iter()
        .map(|t| t.name.clone())
        .collect();
    let mut refs = req.tables.resolve(all.iter().map(String::as_str));
    if let TableSelection::Only(_) = &req.tables {
        // Named tables must exist; their names take the catalog's spelling.
        for x in refs.iter_mut() {
            let t = ctx
                .catalog
                .table(db_name, &x.table)
                .map_err(|_| FeError::UnknownTable(x.table.clone()))?;
            for p in &x.partitions {
                if t.partition(p).is_none() {
                    return Err(FeError::NotFound(format!(
                        "partition {p} of table {}",
                        t.name
                    )));
                }
            }
            x.table = t.name.clone();
        }
    }
    if refs.is_empty() {
        return Err(FeError::InvalidArgument(format!(
            "database {db_name} has no table to back up"
        )));
    }
    if let Some(repo) = &repository {
        crate::backup::repository::check_backends_can_use(repo, || replica_backends(ctx, db_name, &refs), "BACKUP")?;
    }
    let job_id = ctx
        .store
        .next_id()?;
    let header = JobHeader {
        job_id,
        label: req.label.clone(),
        db_id: db.id,
        db_name: db.name.clone(),
        repo_id,
        repo_name,
        table_refs: refs,
    };
    let now = FeContext::now_ms();
    let mut record = BackupJobRecord::new(header, opts.content, opts.timeout_ms, now);
    record.whole_db = req.tables == TableSelection::All;
    record.properties = req.properties.into_iter().collect();
    ctx.jobs.submit(ctx, StoredJob::Backup { record })?;
    info!(job_id, label = %req.label, db = %db_name, "backup job submitted");
    crate::backup::spawn_backup(ctx, job_id);
    Ok(job_id)
}

/// The BEs holding a replica of the tables a backup reads: those its tasks go to.
fn replica_backends(ctx: &BackupCtx, db_name: &str, refs: &[TableRefRecord]) -> Vec<Backend> {
    let mut ids = std::collections::BTreeSet::new();
    for r in refs {
        if let Ok(t) = ctx.catalog.table(db_name, &r.table) {
            ids.extend(t.tablets().flat_map(|(_, tablet)| tablet.replicas.iter().map(|x| x.backend_id)));
        }
    }
    ids.into_iter().filter_map(|id| ctx.backends.get(id)).collect()
}

/// The job as the scheduler sees it: the tables it reads.
pub(crate) fn admission_request(r: &BackupJobRecord) -> JobRequest {
    JobRequest {
        kind: JobKind::Backup,
        job_id: r.job_id,
        db_id: r.db_id,
        label: r.label.clone(),
        tables: r.table_refs.iter().map(|t| t.table.clone()).collect(),
        whole_db: r.whole_db,
    }
}

fn record(ctx: &BackupEnv, job_id: i64) -> Result<BackupJobRecord> {
    runner::load(ctx, job_id)
}

fn save(ctx: &BackupEnv, r: &BackupJobRecord) -> Result<()> {
    ctx.jobs.save(ctx, StoredJob::Backup { record: r.clone() })
}

impl RunnableJob for BackupJobRecord {
    const KIND: JobKind = JobKind::Backup;

    fn from_stored(job: StoredJob) -> Option<Self> {
        match job {
            StoredJob::Backup { record } => Some(record),
            StoredJob::Restore { .. } => None,
        }
    }

    fn span(&self, job_id: i64) -> Span {
        info_span!("backup_job", job_id, label = %self.label)
    }

    fn is_done(&self) -> bool {
        self.state.is_done()
    }

    fn is_timed_out(&self, now_ms: i64) -> bool {
        JobLifecycle::is_timed_out(self, now_ms)
    }

    fn timeout_error(&self) -> FeError {
        FeError::Timeout(format!("backup job with label: {} timeout.", self.label))
    }

    async fn step(self, ctx: &BackupEnv, cancel: &CancellationToken) -> Result<()> {
        match self.state {
            BackupState::Pending => pending(ctx, self).await,
            BackupState::Snapshoting => snapshoting(ctx, self, cancel).await,
            BackupState::UploadSnapshot | BackupState::Uploading => upload(ctx, self, cancel).await,
            BackupState::SaveMeta => save_meta(ctx, self).await,
            BackupState::UploadInfo => upload_info(ctx, self).await,
            BackupState::Finished | BackupState::Cancelled => Ok(()),
        }
    }

    async fn cancel(ctx: &BackupEnv, job_id: i64, status: JobStatus) {
        cancel_job(ctx, job_id, status).await
    }
}

/// Drive the job until it is done.
pub async fn run(ctx: BackupCtx, job_id: i64, cancel: CancellationToken) {
    runner::run::<BackupJobRecord>(ctx, job_id, cancel).await
}

/// Move the job to CANCELLED (persisted), then release its BE snapshots.
pub async fn cancel_job(ctx: &BackupEnv, job_id: i64, status: JobStatus) {
    let Ok(mut r) = record(ctx, job_id) else {
        return;
    };
    if r.state.is_done() {
        return;
    }
    if let Err(e) = r.cancel(status, FeContext::now_ms()) {
        warn!(job_id, error = %e, "cannot cancel the job");
        return;
    }
    let job = StoredJob::Backup { record: r.clone() };
    if let Err(e) = ctx.jobs.save_cancelled(ctx, job).await {
        warn!(job_id, error = %e, "the cancellation is not persisted; the job resumes at the next start");
        return;
    }
    crate::backup::release_snapshots(ctx, r.snapshots.values()).await;
    info!(job_id, status = %r.status, "backup job cancelled");
}


fn remaining(r: &BackupJobRecord) -> Duration {
    runner::remaining(r.create_time_ms, r.timeout_ms)
}

/// Upstream `Types.thrift` `TPREFER_SNAPSHOT_REQ_VERSION`: the snapshot format an FE asks
/// BEs for. The generated code does not carry thrift constants.
pub(crate) const PREFERRED_SNAPSHOT_VERSION: i32 = 4;

/// A MAKE_SNAPSHOT request as upstream's `SnapshotTask` fills it: the tablet at `version`
/// (its partition's visible version), the file list in the answer, kept `timeout_s`.
pub(crate) fn snapshot_req(
    tablet_id: i64,
    schema_hash: i32,
    version: Option<i64>,
    timeout_s: i64,
) -> TSnapshotRequest {
    TSnapshotRequest {
        tablet_id,
        schema_hash,
        version,
        version_hash: None,
        timeout: Some(timeout_s),
        missing_version: None,
        list_files: Some(true),
        allow_incremental_clone: None,
        preferred_snapshot_version: Some(PREFERRED_SNAPSHOT_VERSION),
        is_copy_tablet_task: Some(false),
        start_version: None,
        end_version: None,
        is_copy_binlog: None,
        ref_tablet_id: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What upstream's SnapshotTask sets for a backup or restore snapshot.
    #[test]
    fn snapshot_requests_are_filled_like_upstream() {
        let r = snapshot_req(10_001, 77, Some(5), 3600);
        assert_eq!((r.tablet_id, r.schema_hash), (10_001, 77));
        assert_eq!(r.version, Some(5));
        assert_eq!(r.timeout, Some(3600));
        assert_eq!(r.list_files, Some(true));
        assert_eq!(r.preferred_snapshot_version, Some(4));
        assert_eq!(r.is_copy_tablet_task, Some(false));
        assert_eq!(r.missing_version, None);
        assert_eq!((r.start_version, r.end_version), (None, None));
        assert_eq!(r.is_copy_binlog, None);
        assert_eq!(r.ref_tablet_id, None);
    }
}
