//! The backup job: PENDING (pick one replica per tablet, capture the meta) -> SNAPSHOTING
//! (MAKE_SNAPSHOT at the partitions' visible versions) -> [UPLOAD_SNAPSHOT -> UPLOADING]
//! -> SAVE_META (job_info) -> [UPLOAD_INFO] -> FINISHED. A `__keep_on_local__` backup skips
//! the uploads and ends by publishing a local snapshot for getSnapshot.

use std::collections::BTreeMap;
use std::time::Duration;

use doris_thrift::agent_service::{TSnapshotRequest, TUploadReq};
use doris_thrift::types::{TNetworkAddress, TTaskType};
use tokio_util::sync::CancellationToken;
use tracing::{info, info_span, warn, Span};

use super::local_snapshots::{self, LocalSnapshot};
use super::runner::{self, RunnableJob};
use super::{meta_conv, StoredJob};
use crate::backup::job_info::{JobInfoInput, TabletIds, TabletSnapshot};
use crate::backup::state::SnapshotRecord;
use crate::backup::{
    BackupJobInfo, BackupJobRecord, BackupMeta, BackupOptions, BackupState, JobHeader, JobKind,
    JobRequest, JobStatus, TableRefRecord, KEEP_ON_LOCAL_REPO_ID, KEEP_ON_LOCAL_REPO_NAME,
};
use crate::context::{Ctx, FeContext};
use crate::error::{FeError, Result};
use crate::sql::BackupStmt;
use crate::system::task_queue::{new_task, AgentTask};

/// Check a BACKUP statement, admit it and store its PENDING record; the job id.
pub fn submit(ctx: &Ctx, db_name: &str, stmt: &BackupStmt) -> Result<i64> {
    let db = ctx
        .catalog
        .database(db_name)
        .ok_or_else(|| FeError::UnknownDatabase(db_name.into()))?;
    let opts = BackupOptions::parse(&stmt.properties)?;
    let (repo_id, repo_name) = if stmt.repo == KEEP_ON_LOCAL_REPO_NAME {
        (KEEP_ON_LOCAL_REPO_ID, KEEP_ON_LOCAL_REPO_NAME.to_string())
    } else {
        let repo = super::repos::get(ctx, &stmt.repo)?;
        if repo.read_only {
            return Err(FeError::IllegalState(format!(
                "Repository {} is read only",
                repo.name
            )));
        }
        (repo.id, repo.name.clone())
    };
    let all: Vec<String> = ctx
        .catalog
        .tables(db.id)
        .into_iter()
        .map(|t| t.name)
        .collect();
    let refs: Vec<TableRefRecord> = match &stmt.tables {
        None => all
            .iter()
            .map(|t| TableRefRecord {
                table: t.clone(),
                partitions: vec![],
                alias: None,
            })
            .collect(),
        Some(r) if r.exclude => all
            .iter()
            .filter(|t| !r.tables.iter().any(|x| x.table.eq_ignore_ascii_case(t)))
            .map(|t| TableRefRecord {
                table: t.clone(),
                partitions: vec![],
                alias: None,
            })
            .collect(),
        Some(r) => {
            let mut out = Vec::new();
            for x in &r.tables {
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
                out.push(TableRefRecord {
                    table: t.name.clone(),
                    partitions: x.partitions.clone(),
                    alias: x.alias.clone(),
                });
            }
            out
        }
    };
    if refs.is_empty() {
        return Err(FeError::InvalidArgument(format!(
            "database {db_name} has no table to back up"
        )));
    }
    let job_id = ctx
        .store
        .next_id()
        .map_err(|e| FeError::Internal(e.to_string()))?;
    let header = JobHeader {
        job_id,
        label: stmt.label.clone(),
        db_id: db.id,
        db_name: db.name.clone(),
        repo_id,
        repo_name,
        table_refs: refs,
    };
    let now = FeContext::now_ms();
    let mut record = BackupJobRecord::new(header, opts.content, opts.timeout_ms, now);
    record.properties = stmt.properties.iter().cloned().collect();
    record.whole_db = stmt.tables.is_none();
    ctx.jobs.admission.try_admit(admission_request(&record), now)?;
    if let Err(e) = ctx.jobs.save(ctx, StoredJob::Backup { record }) {
        ctx.jobs.admission.finish(job_id);
        return Err(e);
    }
    info!(job_id, label = %stmt.label, db = %db_name, "backup job submitted");
    super::spawn_backup(ctx, job_id);
    Ok(job_id)
}

/// The job as the scheduler sees it: the tables it reads.
pub(super) fn admission_request(r: &BackupJobRecord) -> JobRequest {
    JobRequest {
        kind: JobKind::Backup,
        job_id: r.job_id,
        db_id: r.db_id,
        label: r.label.clone(),
        tables: r.table_refs.iter().map(|t| t.table.clone()).collect(),
        whole_db: r.whole_db,
    }
}

fn record(ctx: &FeContext, job_id: i64) -> Result<BackupJobRecord> {
    runner::load(ctx, job_id)
}

fn save(ctx: &FeContext, r: &BackupJobRecord) -> Result<()> {
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
        BackupJobRecord::is_timed_out(self, now_ms)
    }

    fn timeout_error(&self) -> FeError {
        FeError::Timeout(format!("backup job with label: {} timeout.", self.label))
    }

    async fn step(self, ctx: &FeContext, cancel: &CancellationToken) -> Result<()> {
        match self.state {
            BackupState::Pending => pending(ctx, self).await,
            BackupState::Snapshoting => snapshoting(ctx, self, cancel).await,
            BackupState::UploadSnapshot | BackupState::Uploading => upload(ctx, self, cancel).await,
            BackupState::SaveMeta => save_meta(ctx, self).await,
            BackupState::UploadInfo => upload_info(ctx, self).await,
            BackupState::Finished | BackupState::Cancelled => Ok(()),
        }
    }

    async fn cancel(ctx: &FeContext, job_id: i64, status: JobStatus) {
        cancel_job(ctx, job_id, status).await
    }
}

/// Drive the job until it is done.
pub async fn run(ctx: Ctx, job_id: i64, cancel: CancellationToken) {
    runner::run::<BackupJobRecord>(ctx, job_id, cancel).await
}

/// Move the job to CANCELLED (persisted), then release its BE snapshots.
pub async fn cancel_job(ctx: &FeContext, job_id: i64, status: JobStatus) {
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
    super::release_snapshots(ctx, r.snapshots.values()).await;
    info!(job_id, status = %r.status, "backup job cancelled");
}

/// Resolve tables, capture the meta (with visible versions) and choose a replica per tablet.
async fn pending(ctx: &FeContext, mut r: BackupJobRecord) -> Result<()> {
    let mut tables = Vec::new();
    let mut snapshots = BTreeMap::new();
    for tr in &r.table_refs {
        let t = ctx
            .catalog
            .table(&r.db_name, &tr.table)
            .map_err(|_| FeError::UnknownTable(tr.table.clone()))?;
        let meta = meta_conv::table_meta(&t, Some(&tr.partitions));
        for p in t
            .partitions
            .iter()
            .filter(|p| meta.partition.partitions.iter().any(|m| m.id == p.id))
        {
            for tablet in &p.index.tablets {
                let replica = tablet
                    .replicas
                    .iter()
                    .filter(|rep| {
                        ctx.backends
                            .get(rep.backend_id)
                            .is_some_and(|b| b.alive && b.be_addr().is_some())
                    })
                    .max_by_key(|rep| rep.version)
                    .ok_or_else(|| {
                        FeError::IllegalState(format!(
                            "tablet {} has no replica on an alive backend",
                            tablet.id
                        ))
                    })?;
                snapshots.insert(
                    tablet.id,
                    SnapshotRecord {
                        db_id: r.db_id,
                        table_id: t.id,
                        partition_id: p.id,
                        index_id: t.base_index_id,
                        tablet_id: tablet.id,
                        be_id: replica.backend_id,
                        schema_hash: t.schema_hash,
                        path: String::new(),
                        files: Vec::new(),
                    },
                );
            }
        }
        tables.push(meta);
    }
    crate::backup::check_tablet_count(snapshots.len(), ctx.config.max_backup_tablets_per_job)?;
    r.meta = Some(BackupMeta::new(tables));
    r.snapshots = snapshots;
    let seq = commit_seq(ctx)?;
    r.table_commit_seq_map = r
        .meta
        .as_ref()
        .unwrap()
        .tables
        .iter()
        .map(|t| (t.id, seq))
        .collect();
    r.move_to(BackupState::Snapshoting, FeContext::now_ms())?;
    save(ctx, &r)
}

/// The commit sequence a snapshot taken now is at. Upstream records each table's latest
/// binlog commit seq; without binlogs we take a fresh id from the meta store's generator.
/// Every committed change (load transactions, tables, partitions, jobs) draws its id from
/// that generator, whose ceiling is persisted ahead of use and never handed out twice, so
/// the value is non-zero, cluster-wide, durable across restarts and strictly greater than
/// the seq of any earlier snapshot: what a CCR syncer compares commit seqs for.
fn commit_seq(ctx: &FeContext) -> Result<i64> {
    ctx.store
        .next_id()
        .map_err(|e| FeError::Internal(e.to_string()))
}

fn remaining(r: &BackupJobRecord) -> Duration {
    runner::remaining(r.create_time_ms, r.timeout_ms)
}

/// MAKE_SNAPSHOT for every tablet at its partition's captured visible version.
async fn snapshoting(
    ctx: &FeContext,
    mut r: BackupJobRecord,
    cancel: &CancellationToken,
) -> Result<()> {
    let meta = r
        .meta
        .clone()
        .ok_or_else(|| FeError::Internal("backup job lost its meta".into()))?;
    let version_of = |table_id: i64, partition_id: i64| -> i64 {
        meta.table_by_id(table_id)
            .and_then(|t| t.partition.partitions.iter().find(|p| p.id == partition_id))
            .map(|p| p.visible_version)
            .unwrap_or(1)
    };
    let mut tasks = Vec::new();
    let mut by_sig = BTreeMap::new();
    r.tasks.unfinished.clear();
    // A metadata-only backup lists the tablets without taking their data.
    let metadata_only = r.content == crate::backup::BackupContent::MetadataOnly;
    for s in r.snapshots.values().filter(|_| !metadata_only) {
        let addr = ctx
            .backends
            .get(s.be_id)
            .and_then(|b| b.be_addr())
            .ok_or_else(|| {
                FeError::IllegalState(format!("backend {} is unknown or not reachable", s.be_id))
            })?;
        let sig = ctx
            .store
            .next_id()
            .map_err(|e| FeError::Internal(e.to_string()))?;
        let mut t = new_task(TTaskType::MAKE_SNAPSHOT, sig);
        // Local snapshots are read by the CCR syncer's restore long after the backup.
        let timeout_s = ctx
            .config
            .local_snapshot_ttl_second
            .max(r.timeout_ms as u64 / 1000) as i64;
        t.snapshot_req = Some(Box::new(snapshot_req(
            s.tablet_id,
            s.schema_hash,
            Some(version_of(s.table_id, s.partition_id)),
            timeout_s,
        )));
        tasks.push(AgentTask {
            backend_id: s.be_id,
            addr,
            request: t,
        });
        by_sig.insert(sig, s.tablet_id);
        r.tasks.unfinished.insert(sig, s.tablet_id);
    }
    // Persist the task list first: SHOW BACKUP shows it, a restart re-sends the step.
    save(ctx, &r)?;
    let (done, outcome) = if tasks.is_empty() {
        (Vec::new(), Ok(()))
    } else {
        tokio::select! {
            res = ctx.tasks.run_keeping(tasks, remaining(&r)) => res,
            _ = cancel.cancelled() => {
                // Answers still to come find no waiter: the FE releases those snapshots.
                return Err(runner::cancelled(JobKind::Backup));
            }
        }
    };
    // Record whatever was made, even on failure, so the cancel that follows releases it.
    for (_, fin) in done {
        let Some(tablet_id) = by_sig.get(&fin.signature) else {
            continue;
        };
        if let Some(s) = r.snapshots.get_mut(tablet_id) {
            s.path = fin.snapshot_path.clone().unwrap_or_default();
            s.files = fin.snapshot_files.clone().unwrap_or_default();
        }
    }
    if let Err(e) = outcome {
        save(ctx, &r)?;
        return Err(FeError::Internal(e.to_string()));
    }
    if let Some(missing) = r
        .snapshots
        .values()
        .find(|s| s.path.is_empty() && !metadata_only)
    {
        return Err(FeError::Internal(format!(
            "tablet {} got no snapshot path",
            missing.tablet_id
        )));
    }
    r.tasks.unfinished.clear();
    let now = FeContext::now_ms();
    r.move_to(BackupState::UploadSnapshot, now)?;
    if r.repo_id == KEEP_ON_LOCAL_REPO_ID || metadata_only {
        r.move_to(BackupState::Uploading, now)?;
        r.move_to(BackupState::SaveMeta, now)?;
    }
    info!(tablets = r.snapshots.len(), "snapshots made");
    save(ctx, &r)
}

/// UPLOAD tasks (one per backend) copying the snapshot dirs into the repository; the
/// uploaded `<file>.<md5>` names become the tablets' files in the job info.
async fn upload(ctx: &FeContext, mut r: BackupJobRecord, cancel: &CancellationToken) -> Result<()> {
    let repo = super::repos::get(ctx, &r.repo_name)?;
    let (backend, location, props) = repo.be_location_and_props();
    let mut by_be: BTreeMap<i64, BTreeMap<String, String>> = BTreeMap::new();
    for s in r.snapshots.values() {
        let ids = TabletIds {
            db_id: s.db_id,
            table_id: s.table_id,
            partition_id: s.partition_id,
            index_id: s.index_id,
            tablet_id: s.tablet_id,
        };
        by_be.entry(s.be_id).or_default().insert(
            format!("{}/{}/{}", s.path, s.tablet_id, s.schema_hash),
            repo.tablet_remote_dir(&r.label, &ids),
        );
    }
    let mut tasks = Vec::new();
    r.tasks.unfinished.clear();
    for (be, map) in by_be {
        let addr = ctx
            .backends
            .get(be)
            .and_then(|b| b.be_addr())
            .ok_or_else(|| {
                FeError::IllegalState(format!("backend {be} is unknown or not reachable"))
            })?;
        let sig = ctx
            .store
            .next_id()
            .map_err(|e| FeError::Internal(e.to_string()))?;
        let mut t = new_task(TTaskType::UPLOAD, sig);
        t.upload_req = Some(Box::new(TUploadReq {
            job_id: r.job_id,
            src_dest_map: map,
            broker_addr: TNetworkAddress {
                hostname: String::new(),
                port: 0,
            },
            broker_prop: Some(props.clone()),
            storage_backend: Some(backend),
            location: Some(location.clone()),
        }));
        tasks.push(AgentTask {
            backend_id: be,
            addr,
            request: t,
        });
        r.tasks.unfinished.insert(sig, be);
    }
    if r.state == BackupState::UploadSnapshot {
        r.move_to(BackupState::Uploading, FeContext::now_ms())?;
    }
    save(ctx, &r)?;
    let done = tokio::select! {
        res = ctx.tasks.run(tasks, remaining(&r)) => res.map_err(|e| FeError::Internal(e.to_string()))?,
        _ = cancel.cancelled() => return Err(runner::cancelled(JobKind::Backup)),
    };
    for (_, fin) in done {
        for (tablet, files) in fin.tablet_files.clone().unwrap_or_default() {
            if let Some(s) = r.snapshots.get_mut(&tablet) {
                s.files = files;
            }
        }
    }
    r.tasks.unfinished.clear();
    r.move_to(BackupState::SaveMeta, FeContext::now_ms())?;
    info!(tablets = r.snapshots.len(), repo = %r.repo_name, "snapshots uploaded");
    save(ctx, &r)
}

/// Meta and job info into the repository, then FINISHED and the BE snapshots released.
async fn upload_info(ctx: &FeContext, mut r: BackupJobRecord) -> Result<()> {
    let repo = super::repos::get(ctx, &r.repo_name)?;
    let meta = r
        .meta
        .clone()
        .ok_or_else(|| FeError::Internal("backup job lost its meta".into()))?;
    let info = r
        .job_info
        .clone()
        .ok_or_else(|| FeError::Internal("backup job lost its job info".into()))?;
    let ts = r
        .snapshot_timestamp
        .clone()
        .unwrap_or_else(|| crate::backup::time::snapshot_timestamp(r.create_time_ms));
    repo.upload_meta_and_info(&r.label, &ts, &meta.encode(), info.to_json().as_bytes())
        .await?;
    r.snapshot_timestamp = Some(ts);
    r.move_to(BackupState::Finished, FeContext::now_ms())?;
    save(ctx, &r)?;
    super::release_snapshots(ctx, r.snapshots.values()).await;
    info!(repo = %r.repo_name, "backup finished");
    Ok(())
}

/// Build the job info; a local backup publishes its local snapshot and finishes.
async fn save_meta(ctx: &FeContext, mut r: BackupJobRecord) -> Result<()> {
    let meta = r
        .meta
        .clone()
        .ok_or_else(|| FeError::Internal("backup job lost its meta".into()))?;
    // Tablets in bucket order: the catalog's order within each partition.
    let mut tablets = Vec::new();
    for t in &meta.tables {
        let local = ctx.catalog.table_by_id(t.id);
        for p in &t.partition.partitions {
            let order: Vec<i64> = match local
                .as_ref()
                .and_then(|lt| lt.partitions.iter().find(|lp| lp.id == p.id))
            {
                Some(lp) => lp.index.tablets.iter().map(|x| x.id).collect(),
                None => r
                    .snapshots
                    .values()
                    .filter(|s| s.partition_id == p.id)
                    .map(|s| s.tablet_id)
                    .collect(),
            };
            for id in order {
                let Some(s) = r.snapshots.get(&id) else {
                    continue;
                };
                tablets.push(TabletSnapshot {
                    ids: TabletIds {
                        db_id: s.db_id,
                        table_id: s.table_id,
                        partition_id: s.partition_id,
                        index_id: s.index_id,
                        tablet_id: s.tablet_id,
                    },
                    be_id: s.be_id,
                    snapshot_path: s.path.clone(),
                    files: s.files.clone(),
                });
            }
        }
    }
    let info = BackupJobInfo::build(&JobInfoInput {
        label: &r.label,
        db_name: &r.db_name,
        db_id: r.db_id,
        backup_time: r.create_time_ms,
        content: r.content,
        meta: &meta,
        tablets: &tablets,
        table_commit_seq_map: Some(r.table_commit_seq_map.clone()),
    })?;
    r.job_info = Some(info.clone());
    if r.repo_id != KEEP_ON_LOCAL_REPO_ID {
        r.move_to(BackupState::UploadInfo, FeContext::now_ms())?;
        return save(ctx, &r);
    }
    let now = FeContext::now_ms();
    r.move_to(BackupState::UploadInfo, now)?;
    r.move_to(BackupState::Finished, now)?;
    let snap = LocalSnapshot {
        label: r.label.clone(),
        db_id: r.db_id,
        db_name: r.db_name.clone(),
        job_id: r.job_id,
        meta: meta.encode(),
        job_info: info.to_json(),
        create_time_ms: now,
        ttl_ms: ctx.config.local_snapshot_ttl_second as i64 * 1000,
        commit_seq: r.table_commit_seq_map.values().copied().max().unwrap_or(0),
        snapshots: r.snapshots.values().cloned().collect(),
    };
    local_snapshots::publish(ctx, snap, StoredJob::Backup { record: r }).await?;
    info!("local snapshot saved; backup finished");
    Ok(())
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
