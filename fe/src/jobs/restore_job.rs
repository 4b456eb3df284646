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

use std::collections::BTreeMap;
use std::time::Duration;

use doris_thrift::agent_service::{TDownloadReq, TMoveDirReq, TRemoteTabletSnapshot};
use doris_thrift::types::{TNetworkAddress, TTaskType};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use tracing::{info, info_span, warn, Span};

use super::runner::{self, RunnableJob};
use super::{meta_conv, StoredJob};
use crate::backup::job_info::TabletIds;
use crate::backup::state::SnapshotRecord;
use crate::backup::{
    BackupJobInfo, BackupMeta, JobHeader, JobKind, JobRequest, JobStatus, RestoreJobRecord,
    RestoreOptions, RestoreState, TableRefRecord, KEEP_ON_LOCAL_REPO_ID, KEEP_ON_LOCAL_REPO_NAME,
};
use crate::catalog::table::{Partition, PartitionKind};
use crate::catalog::{OlapTable, RestoreLock};
use crate::load::txn::TxnState;
use crate::context::{Ctx, FeContext};
use crate::error::{FeError, Result};
use crate::persist::Kind;
use crate::system::task_queue::{new_task, AgentTask};

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
    pub tablets: Vec<RestoreTablet>,
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

/// What a restore is asked to do.
pub struct RestoreRequest<'a> {
    pub db_name: &'a str,
    pub label: &'a str,
    pub repo_name: &'a str,
    pub table_refs: Vec<TableRefRecord>,
    pub properties: Vec<(String, String)>,
    pub meta: BackupMeta,
    pub job_info: BackupJobInfo,
    /// A RESTORE statement without an ON clause. A restoreSnapshot call without
    /// table_refs is not one: it restores the tables its job info names (upstream does
    /// the same, so CCR syncs of different tables run side by side).
    pub whole_db: bool,
}

/// The job as the scheduler sees it: the local tables it replaces.
pub(super) fn admission_request(r: &RestoreJobRecord) -> JobRequest {
    let tables: Vec<String> = if r.table_refs.is_empty() {
        r.job_info.as_ref().map(|i| i.backup_objects.keys().cloned().collect()).unwrap_or_default()
    } else {
        r.table_refs.iter().map(|t| t.alias.clone().unwrap_or_else(|| t.table.clone())).collect()
    };
    JobRequest {
        kind: JobKind::Restore,
        job_id: r.job_id,
        db_id: r.db_id,
        label: r.label.clone(),
        tables,
        whole_db: r.whole_db,
    }
}

/// Admit the restore and store its PENDING record; the job id.
pub fn submit(ctx: &Ctx, req: RestoreRequest<'_>) -> Result<i64> {
    let db = ctx
        .catalog
        .database(req.db_name)
        .ok_or_else(|| FeError::UnknownDatabase(req.db_name.into()))?;
    let local = req.repo_name == KEEP_ON_LOCAL_REPO_NAME;
    let repo_id = if local {
        KEEP_ON_LOCAL_REPO_ID
    } else {
        super::repos::get(ctx, req.repo_name)?.id
    };
    let mut options = RestoreOptions::parse(&req.properties, local)?;
    // Upstream keeps force_replace only together with atomic_restore and ignores it alone.
    options.force_replace &= options.atomic_restore;
    if !req.job_info.is_success() {
        return Err(FeError::InvalidArgument(format!(
            "snapshot {} is not a successful backup",
            req.label
        )));
    }
    for r in &req.table_refs {
        if !req.job_info.backup_objects.contains_key(&r.table) {
            return Err(FeError::InvalidArgument(format!(
                "Table {} does not exist in snapshot {}",
                r.table, req.label
            )));
        }
    }
    let job_id = ctx
        .store
        .next_id()
        .map_err(|e| FeError::Internal(e.to_string()))?;
    let header = JobHeader {
        job_id,
        label: req.label.to_string(),
        db_id: db.id,
        db_name: db.name.clone(),
        repo_id,
        repo_name: req.repo_name.to_string(),
        table_refs: req.table_refs,
    };
    let now = FeContext::now_ms();
    let clean_tables = options.clean_tables;
    let mut record = RestoreJobRecord::new(header, options, now);
    // Dropping the tables the snapshot lacks touches tables of the database outside the
    // job: schedule it as a whole-database restore.
    record.whole_db = req.whole_db || clean_tables;
    if local {
        // Upstream: a restore of a local snapshot (CCR's restoreSnapshot) shows the
        // backup's time from the job info, not a `backup_timestamp` property.
        record.set_backup_timestamp_from(&req.job_info);
    }
    record.meta = Some(req.meta);
    record.job_info = Some(req.job_info);
    record.properties = req.properties.into_iter().collect();
    ctx.jobs.admission.try_admit(admission_request(&record), now)?;
    if let Err(e) = ctx.jobs.save(
        ctx,
        StoredJob::Restore {
            record,
            extra: RestoreExtra::default(),
        },
    ) {
        ctx.jobs.admission.finish(job_id);
        return Err(e);
    }
    info!(job_id, label = %req.label, db = %req.db_name, "restore job submitted");
    super::spawn_restore(ctx, job_id, false);
    Ok(job_id)
}

fn load(ctx: &FeContext, job_id: i64) -> Result<(RestoreJobRecord, RestoreExtra)> {
    runner::load(ctx, job_id)
}

fn save(ctx: &FeContext, r: &RestoreJobRecord, x: &RestoreExtra) -> Result<()> {
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

    async fn step(self, ctx: &FeContext, cancel: &CancellationToken) -> Result<()> {
        let (r, x) = self;
        match r.state {
            RestoreState::Pending => pending(ctx, r, x, cancel).await,
            RestoreState::Snapshoting => snapshoting(ctx, r, x, cancel).await,
            RestoreState::Download | RestoreState::Downloading => download(ctx, r, x, cancel).await,
            RestoreState::Commit | RestoreState::Committing => commit(ctx, r, x, cancel).await,
            RestoreState::Finished | RestoreState::Cancelled => Ok(()),
        }
    }

    async fn cancel(ctx: &FeContext, job_id: i64, status: JobStatus) {
        cancel_job(ctx, job_id, status).await
    }
}

/// Drive the job until it is done.
pub async fn run(ctx: Ctx, job_id: i64, cancel: CancellationToken, _resumed: bool) {
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

/// Clean up (release our snapshots, drop the tables we created), then persist CANCELLED.
/// A restart between the two finds the job unfinished and cleans up again.
pub async fn cancel_job(ctx: &FeContext, job_id: i64, status: JobStatus) {
    let Ok((mut r, x)) = load(ctx, job_id) else {
        return;
    };
    if r.state.is_done() {
        return;
    }
    if x.swapped {
        // The shadows are the visible tables now; the job finishes when it runs again.
        warn!(job_id, status = %status, "restore already swapped its tables in; not cancelling");
        return;
    }
    super::release_snapshots(ctx, snapshot_records(&r, &x).iter()).await;
    let mut ours: Vec<OlapTable> = x
        .created_tables
        .iter()
        .filter_map(|id| ctx.catalog.table_by_id(*id))
        .collect();
    // A shadow created just before a crash, before its id was recorded.
    for s in x.atomic.iter().filter(|s| s.shadow_table_id == 0) {
        if let Ok(t) = ctx.catalog.table(&r.db_name, &atomic_shadow_name(&s.table)) {
            if !ours.iter().any(|o| o.id == t.id) {
                ours.push(t);
            }
        }
    }
    for t in ours {
        // Only while the name still belongs to our table: never drop someone else's.
        if ctx.catalog.table(&r.db_name, &t.name).map(|c| c.id).ok() != Some(t.id) {
            continue;
        }
        if let Err(e) = crate::catalog::ddl::drop_table(ctx, &r.db_name, &t.name, true, true).await {
            warn!(table = %t.name, error = %e, "cannot drop a table the restore created");
        }
    }
    if let Err(e) = remove_added_partitions(ctx, &x).await {
        // Not cancelled: the job is tried again (and cleaned up again) at the next start.
        warn!(job_id, error = %e, "cannot remove the partitions the restore added");
        return;
    }
    if let Err(e) = release_tables(ctx, job_id) {
        warn!(job_id, error = %e, "the job is tried again (and cleaned up again) at the next start");
        return;
    }
    if let Err(e) = r.cancel(status, FeContext::now_ms()) {
        warn!(job_id, error = %e, "cannot cancel the job");
        return;
    }
    let job = StoredJob::Restore {
        record: r.clone(),
        extra: x,
    };
    if let Err(e) = ctx.jobs.save_cancelled(ctx, job).await {
        warn!(job_id, error = %e, "the cancellation is not persisted; the job resumes at the next start");
        return;
    }
    info!(job_id, status = %r.status, "restore job cancelled");
}

/// Take the partitions this job added (still restoring) out of their tables and drop
/// their tablets. Idempotent.
async fn remove_added_partitions(ctx: &FeContext, x: &RestoreExtra) -> Result<()> {
    let mut by_table: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for a in &x.added_partitions {
        by_table.entry(a.table_id).or_default().push(a.partition_id);
    }
    for (table_id, ids) in by_table {
        let removed = ctx
            .catalog
            .remove_restoring_partitions(table_id, &ids)
            .map_err(|e| FeError::Internal(e.to_string()))?;
        if removed.is_empty() {
            continue;
        }
        info!(
            table_id,
            partitions = ?removed.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            "removed the partitions the cancelled restore added"
        );
        crate::catalog::ddl::drop_partition_tablets(ctx, table_id, &removed).await;
    }
    Ok(())
}

/// Make the partitions this job added visible (a metadata-only restore has no commit).
fn publish_added_partitions(ctx: &FeContext, x: &RestoreExtra) -> Result<()> {
    for a in &x.added_partitions {
        ctx.catalog
            .update_table(a.table_id, |t| {
                t.publish_restoring_partition(a.partition_id)
            })
            .map_err(|e| FeError::Internal(e.to_string()))?;
    }
    Ok(())
}

/// Tables: create the missing ones, check the existing ones (adding the partitions they
/// lack); map tablets.
async fn pending(
    ctx: &FeContext,
    mut r: RestoreJobRecord,
    mut x: RestoreExtra,
    cancel: &CancellationToken,
) -> Result<()> {
    let meta = r
        .meta
        .clone()
        .ok_or_else(|| FeError::Internal("restore job lost its meta".into()))?;
    let info = r
        .job_info
        .clone()
        .ok_or_else(|| FeError::Internal("restore job lost its job info".into()))?;
    let wanted: Vec<(String, Option<String>, Vec<String>)> = if r.table_refs.is_empty() {
        info.backup_objects
            .keys()
            .map(|n| (n.clone(), None, vec![]))
            .collect()
    } else {
        r.table_refs
            .iter()
            .map(|t| (t.table.clone(), t.alias.clone(), t.partitions.clone()))
            .collect()
    };
    let involved: usize = wanted
        .iter()
        .filter_map(|(name, _, parts)| info.backup_objects.get(name).map(|t| (t, parts)))
        .flat_map(|(t, parts)| {
            t.partitions
                .iter()
                .filter(move |(p, _)| parts.is_empty() || parts.iter().any(|w| w.eq_ignore_ascii_case(p)))
        })
        .flat_map(|(_, p)| p.indexes.values())
        .map(|i| i.tablets.len())
        .sum();
    crate::backup::check_tablet_count(involved, ctx.config.max_backup_tablets_per_job)?;
    x.tablets.clear();
    x.partitions.clear();
    for (name, alias, parts) in wanted {
        let tinfo = info.backup_objects.get(&name).ok_or_else(|| {
            FeError::InvalidArgument(format!(
                "Table {name} does not exist in snapshot {}",
                r.label
            ))
        })?;
        let mut tmeta = meta
            .table_by_id(tinfo.id)
            .or_else(|| meta.table(&name))
            .cloned()
            .ok_or_else(|| {
                FeError::InvalidArgument(format!(
                    "the meta of snapshot {} lacks table {name}",
                    r.label
                ))
            })?;
        if !parts.is_empty() {
            tmeta
                .partition
                .partitions
                .retain(|p| parts.iter().any(|q| q.eq_ignore_ascii_case(&p.name)));
        }
        let local_name = alias.unwrap_or_else(|| name.clone());
        let existing = ctx.catalog.table(&r.db_name, &local_name).ok();
        let local = if r.options.atomic_restore {
            if let Some(t) = &existing {
                let lm = meta_conv::table_meta(t, None);
                if let Err(e) = tmeta.check_same_schema(&lm, &local_name) {
                    if !r.options.force_replace {
                        return Err(e);
                    }
                    info!(table = %local_name, "the existing table has another schema; force_replace replaces it");
                }
            }
            shadow_table(ctx, &mut r, &mut x, &tmeta, &local_name).await?
        } else if let Some(t) = existing {
            let lm = meta_conv::table_meta(&t, None);
            tmeta.check_same_schema(&lm, &local_name)?;
            add_missing_partitions(ctx, &mut r, &mut x, &tmeta, tinfo, t, &name, cancel).await?
        } else {
            let t = create_from_meta(ctx, &r, &tmeta, &local_name).await?;
            x.created_tables.push(t.id);
            // Persist at once: a cancel or restart must know to drop it.
            save(ctx, &r, &x)?;
            t
        };
        for p in &tmeta.partition.partitions {
            let pinfo = tinfo.partitions.get(&p.name).ok_or_else(|| {
                FeError::InvalidArgument(format!(
                    "job info lacks partition {} of table {name}",
                    p.name
                ))
            })?;
            let lp = target_partition(&local, &x, &p.name).ok_or_else(|| {
                // A meta that disagrees with itself (e.g. an UNPARTITIONED table listing
                // several partitions) can get here; an error cancels the job cleanly.
                FeError::IllegalState(format!(
                    "table {local_name} has no partition for {} of the backup",
                    p.name
                ))
            })?;
            let idx = pinfo
                .indexes
                .get(&name)
                .or_else(|| pinfo.indexes.values().next())
                .ok_or_else(|| {
                    FeError::InvalidArgument(format!(
                        "job info lacks the index of {name}.{}",
                        p.name
                    ))
                })?;
            let remote_ids = idx.sorted_tablet_ids();
            if remote_ids.len() != lp.index.tablets.len() {
                return Err(FeError::IllegalState(format!(
                    "partition {} of {local_name} has {} tablets, the backup has {}",
                    p.name,
                    lp.index.tablets.len(),
                    remote_ids.len()
                )));
            }
            for (remote, lt) in remote_ids.iter().zip(&lp.index.tablets) {
                for rep in &lt.replicas {
                    x.tablets.push(RestoreTablet {
                        table_id: local.id,
                        partition_id: lp.id,
                        local_tablet_id: lt.id,
                        local_be_id: rep.backend_id,
                        schema_hash: local.schema_hash,
                        remote_tablet_id: *remote,
                        remote_schema_hash: idx.schema_hash,
                        remote_table_id: tinfo.id,
                        remote_partition_id: pinfo.id,
                        remote_index_id: idx.id,
                        local_snapshot_path: String::new(),
                    });
                }
            }
            x.partitions.push((local.id, lp.id, pinfo.version));
        }
        // A table made for the restore (new, or a shadow) is held whole, with loads going
        // on if the restore allows them (upstream's RESTORE_WITH_LOAD); an existing one
        // only where it is overwritten, whatever `allow_load` says (as upstream checks the
        // partition's state before the table's).
        let made = x.created_tables.contains(&local.id) || x.atomic.iter().any(|s| s.shadow_table_id == local.id);
        let lock = if made {
            RestoreLock { job_id: r.job_id, partition_ids: Vec::new(), allow_load: r.options.allow_load }
        } else {
            let held = x.partitions.iter().filter(|(t, _, _)| *t == local.id).map(|(_, p, _)| *p).collect();
            RestoreLock { job_id: r.job_id, partition_ids: held, allow_load: r.options.allow_load }
        };
        hold_table(ctx, &local, lock).await?;
    }
    let now = FeContext::now_ms();
    r.move_to(RestoreState::Snapshoting, now)?;
    if info.content == crate::backup::BackupContent::MetadataOnly {
        // Tables only: nothing to download. An atomic restore still has its swap to do,
        // which COMMITTING does (with no tablet to move).
        x.tablets.clear();
        x.partitions.clear();
        // Added partitions stay empty, as upstream's do: visible now.
        publish_added_partitions(ctx, &x)?;
        if x.atomic.is_empty() {
            release_tables(ctx, r.job_id)?;
        }
        let last = if x.atomic.is_empty() {
            RestoreState::Finished
        } else {
            RestoreState::Committing
        };
        for s in [
            RestoreState::Download,
            RestoreState::Downloading,
            RestoreState::Commit,
            RestoreState::Committing,
            RestoreState::Finished,
        ] {
            r.move_to(s, now)?;
            if s == last {
                break;
            }
        }
    }
    save(ctx, &r, &x)
}

/// Hold `table` as `hold` says (upstream sets its state to RESTORE or RESTORE_WITH_LOAD):
/// from now on loads into its partitions (none: any) are refused, unless it allows loads,
/// and DROP needs FORCE, until the job commits or is cancelled.
/// Taken under the table's load lock, so no load commits into it meanwhile; refused while a
/// load of the table is committed but not yet visible, or another running restore holds it.
async fn hold_table(ctx: &FeContext, table: &OlapTable, hold: RestoreLock) -> Result<()> {
    let job_id = hold.job_id;
    let txns = crate::load::publish::store(ctx)?;
    let lock = txns.table_lock(table.id);
    let _guard = lock.lock_owned().await;
    if txns.in_state(TxnState::Committed)?.iter().any(|t| t.table_id == table.id) {
        return Err(FeError::IllegalState(format!("Table {}'s has unfinished load job", table.name)));
    }
    let running: Vec<i64> = ctx.jobs.unfinished().iter().map(StoredJob::job_id).collect();
    ctx.catalog
        .update_table(table.id, |t| {
            if let Some(l) = &t.restore_lock {
                if l.job_id != job_id && running.contains(&l.job_id) {
                    return Err(FeError::IllegalState(format!("Table {}'s state is not NORMAL: RESTORE", t.name)));
                }
            }
            t.restore_lock = Some(hold.clone());
            Ok(())
        })
        .map_err(|e| FeError::Internal(e.to_string()))?
}

/// Let loads into the tables job `job_id` held again.
fn release_tables(ctx: &FeContext, job_id: i64) -> Result<()> {
    let released = ctx
        .catalog
        .release_restore_locks(|j| j == job_id)
        .map_err(|e| FeError::Internal(format!("releasing the restored tables: {e}")))?;
    if !released.is_empty() {
        info!(tables = ?released, "loads allowed again");
    }
    Ok(())
}

/// The partition of `local` that takes the backed-up partition `name`. An unpartitioned
/// table's only partition is named after its table, so with an alias (or an atomic
/// restore's shadow) the names differ: like upstream, it is matched as the only one.
fn local_partition<'a>(local: &'a OlapTable, name: &str) -> Option<&'a Partition> {
    match (&local.partition_kind, local.partitions.as_slice()) {
        (PartitionKind::Unpartitioned, [only]) => Some(only),
        _ => local.partition(name),
    }
}

/// [`local_partition`], or the restoring partition this job added for `name`.
fn target_partition<'a>(
    local: &'a OlapTable,
    x: &RestoreExtra,
    name: &str,
) -> Option<&'a Partition> {
    local_partition(local, name).or_else(|| {
        local
            .restoring_partition(name)
            .filter(|p| x.added_partitions.iter().any(|a| a.partition_id == p.id))
    })
}

/// Add to the existing table `t` the backed-up partitions of `tmeta` it lacks (upstream's
/// rules and texts) and create their tablets on the BEs; the table as it is then. A
/// resumed job finds the partitions it added before and only sends their CREATE tasks
/// again (a BE takes a CREATE of a tablet it has as done).
#[allow(clippy::too_many_arguments)]
async fn add_missing_partitions(
    ctx: &FeContext,
    r: &mut RestoreJobRecord,
    x: &mut RestoreExtra,
    tmeta: &crate::backup::meta::TableMeta,
    tinfo: &crate::backup::job_info::BackupOlapTableInfo,
    mut t: OlapTable,
    backed_up_name: &str,
    cancel: &CancellationToken,
) -> Result<OlapTable> {
    let missing: Vec<&crate::backup::meta::PartitionEntry> = tmeta
        .partition
        .partitions
        .iter()
        .filter(|p| local_partition(&t, &p.name).is_none())
        .collect();
    if missing.is_empty() {
        return Ok(t);
    }
    if t.partition_kind == PartitionKind::Unpartitioned {
        // Upstream: a single partitioned table always has its partition.
        return Err(FeError::IllegalState(format!(
            "No partition exist in single partitioned table {}",
            t.name
        )));
    }
    let mut to_create = Vec::new();
    for p in missing {
        if let Some(ours) = target_partition(&t, x, &p.name) {
            to_create.push(ours.id);
            continue;
        }
        let pinfo = tinfo.partitions.get(&p.name).ok_or_else(|| {
            FeError::InvalidArgument(format!(
                "job info lacks partition {} of table {backed_up_name}",
                p.name
            ))
        })?;
        let idx = pinfo
            .indexes
            .get(backed_up_name)
            .or_else(|| pinfo.indexes.values().next())
            .ok_or_else(|| {
                FeError::InvalidArgument(format!(
                    "job info lacks the index of {backed_up_name}.{}",
                    p.name
                ))
            })?;
        let replication_num = if r.options.reserve_replica {
            p.replication_num
                .unwrap_or(tmeta.properties.replication_num)
        } else {
            r.options.replica_alloc.total() as u16
        };
        let spec = crate::catalog::NewPartitionSpec {
            name: p.name.clone(),
            bounds: meta_conv::partition_bounds(p)?,
            buckets: idx.sorted_tablet_ids().len() as u32,
            replication_num,
        };
        let part = crate::catalog::spec::build_partition(
            &t,
            &spec,
            &ctx.backends.alive_ids(),
            || Ok(ctx.store.next_id()?),
            FeContext::now_ms(),
        )
        .map_err(|e| FeError::IllegalState(e.to_string()))?;
        // The intent first: a partition registered just before a crash is known as ours.
        x.added_partitions.push(AddedPartition {
            table_id: t.id,
            partition_id: part.id,
        });
        save(ctx, r, x)?;
        info!(table = %t.name, partition = %part.name, partition_id = part.id,
              tablets = part.index.tablets.len(), replicas = replication_num,
              "adding a backed-up partition the table lacks");
        to_create.push(part.id);
        t = ctx
            .catalog
            .add_restoring_partition(t.id, part)
            .map_err(|e| FeError::IllegalState(e.to_string()))?;
    }
    let parts = t
        .restoring_partitions
        .iter()
        .filter(|p| to_create.contains(&p.id));
    let tasks = crate::catalog::ddl::create_tasks(ctx, &t, parts)
        .map_err(|e| FeError::IllegalState(e.to_string()))?;
    let timeout = Duration::from_secs(ctx.config.max_create_table_timeout_second).min(remaining(r));
    tokio::select! {
        res = ctx.tasks.run(tasks, timeout) => {
            res.map_err(|e| FeError::IllegalState(format!("Failed to create replicas for restore: {e}")))?;
        }
        _ = cancel.cancelled() => return Err(cancelled()),
    }
    Ok(t)
}

/// Upstream's `OlapTable.setName` renames an unpartitioned table's only partition with the
/// table. A shadow is created under its own name but becomes `target` at the swap (which
/// only renames the table), so its partition takes the final name now. Idempotent.
fn name_single_partition(ctx: &FeContext, t: OlapTable, target: &str) -> Result<OlapTable> {
    if t.partition_kind != PartitionKind::Unpartitioned
        || t.partitions.len() != 1
        || t.partitions[0].name == target
    {
        return Ok(t);
    }
    ctx.catalog
        .update_table(t.id, |t| {
            t.partitions[0].name = target.to_string();
            t.clone()
        })
        .map_err(|e| FeError::Internal(e.to_string()))
}

/// Create `name` with the backed-up schema (not yet recorded as ours).
async fn create_from_meta(
    ctx: &FeContext,
    r: &RestoreJobRecord,
    tmeta: &crate::backup::meta::TableMeta,
    name: &str,
) -> Result<OlapTable> {
    let n = if r.options.reserve_replica {
        tmeta.properties.replication_num
    } else {
        r.options.replica_alloc.total() as u16
    };
    let spec = meta_conv::create_spec(tmeta, &r.db_name, name, n)?;
    crate::catalog::ddl::create_table(ctx, &spec)
        .await
        .map_err(|e| FeError::IllegalState(e.to_string()))?;
    let t = ctx
        .catalog
        .table(&r.db_name, name)
        .map_err(|e| FeError::Internal(e.to_string()))?;
    info!(table = %name, table_id = t.id, replicas = n, "restore target table created");
    Ok(t)
}

/// The shadow table an atomic restore of `target` fills: made on the first run, found
/// again when the job resumes.
async fn shadow_table(
    ctx: &FeContext,
    r: &mut RestoreJobRecord,
    x: &mut RestoreExtra,
    tmeta: &crate::backup::meta::TableMeta,
    target: &str,
) -> Result<OlapTable> {
    let shadow = atomic_shadow_name(target);
    let (i, fresh) = match x.atomic.iter().position(|s| s.table == target) {
        Some(i) => (i, false),
        None => {
            x.atomic.push(AtomicSwap {
                table: target.to_string(),
                shadow_table_id: 0,
            });
            // The intent first: a shadow created just before a crash is then known as ours.
            save(ctx, r, x)?;
            (x.atomic.len() - 1, true)
        }
    };
    if let Ok(t) = ctx.catalog.table(&r.db_name, &shadow) {
        let recorded = x.atomic[i].shadow_table_id;
        let ours = x.created_tables.contains(&t.id) || (!fresh && recorded == 0);
        if !ours {
            // Upstream's refusal when the restored table's name is taken.
            return Err(FeError::IllegalState(format!(
                "Table {shadow} already exist in db: {}",
                r.db_name
            )));
        }
        if recorded != t.id || !x.created_tables.contains(&t.id) {
            x.atomic[i].shadow_table_id = t.id;
            if !x.created_tables.contains(&t.id) {
                x.created_tables.push(t.id);
            }
            save(ctx, r, x)?;
        }
        return name_single_partition(ctx, t, target);
    }
    let t = create_from_meta(ctx, r, tmeta, &shadow).await?;
    x.created_tables.push(t.id);
    x.atomic[i].shadow_table_id = t.id;
    save(ctx, r, x)?;
    name_single_partition(ctx, t, target)
}

fn be_addr(ctx: &FeContext, be_id: i64) -> Result<String> {
    ctx.backends
        .get(be_id)
        .and_then(|b| b.be_addr())
        .ok_or_else(|| {
            FeError::IllegalState(format!("backend {be_id} is unknown or not reachable"))
        })
}

fn next_sig(ctx: &FeContext) -> Result<i64> {
    ctx.store
        .next_id()
        .map_err(|e| FeError::Internal(e.to_string()))
}

async fn run_tasks(
    ctx: &FeContext,
    r: &RestoreJobRecord,
    tasks: Vec<AgentTask>,
    cancel: &CancellationToken,
) -> Result<Vec<(i64, doris_thrift::master_service::TFinishTaskRequest)>> {
    tokio::select! {
        res = ctx.tasks.run(tasks, remaining(r)) => res.map_err(|e| FeError::Internal(e.to_string())),
        _ = cancel.cancelled() => Err(cancelled()),
    }
}

/// A local snapshot of every target replica: the directory DOWNLOAD fills.
async fn snapshoting(
    ctx: &FeContext,
    mut r: RestoreJobRecord,
    mut x: RestoreExtra,
    cancel: &CancellationToken,
) -> Result<()> {
    let mut tasks = Vec::new();
    let mut by_sig = BTreeMap::new();
    for (i, t) in x.tablets.iter().enumerate() {
        let sig = next_sig(ctx)?;
        let mut task = new_task(TTaskType::MAKE_SNAPSHOT, sig);
        task.snapshot_req = Some(Box::new(super::backup_job::snapshot_req(
            t.local_tablet_id,
            t.schema_hash,
            // No version: the BE snapshots its latest one. Upstream master sends -1 for
            // the same meaning; the visible version would fail on a replica that lags.
            None,
            (r.timeout_ms / 1000).max(60),
        )));
        tasks.push(AgentTask {
            backend_id: t.local_be_id,
            addr: be_addr(ctx, t.local_be_id)?,
            request: task,
        });
        by_sig.insert(sig, i);
    }
    r.tasks.unfinished = by_sig
        .iter()
        .map(|(s, i)| (*s, x.tablets[*i].local_tablet_id))
        .collect();
    save(ctx, &r, &x)?;
    let (done, outcome) = tokio::select! {
        res = ctx.tasks.run_keeping(tasks, remaining(&r)) => res,
        _ = cancel.cancelled() => return Err(cancelled()),
    };
    // Record whatever was made, even on failure, so the cancel that follows releases it.
    for (_, fin) in &done {
        if let Some(i) = by_sig.get(&fin.signature) {
            x.tablets[*i].local_snapshot_path = fin.snapshot_path.clone().unwrap_or_default();
        }
    }
    if let Err(e) = outcome {
        save(ctx, &r, &x)?;
        return Err(FeError::Internal(e.to_string()));
    }
    r.tasks.unfinished.clear();
    r.move_to(RestoreState::Download, FeContext::now_ms())?;
    save(ctx, &r, &x)
}

/// DOWNLOAD from the source BEs (local snapshots) or from the repository.
async fn download(
    ctx: &FeContext,
    r: RestoreJobRecord,
    x: RestoreExtra,
    cancel: &CancellationToken,
) -> Result<()> {
    if r.repo_id == KEEP_ON_LOCAL_REPO_ID {
        download_from_bes(ctx, r, x, cancel).await
    } else {
        download_from_repo(ctx, r, x, cancel).await
    }
}

/// DOWNLOAD tasks, one per local backend, reading the repository's tablet dirs.
async fn download_from_repo(
    ctx: &FeContext,
    mut r: RestoreJobRecord,
    x: RestoreExtra,
    cancel: &CancellationToken,
) -> Result<()> {
    let info = r
        .job_info
        .clone()
        .ok_or_else(|| FeError::Internal("restore job lost its job info".into()))?;
    let repo = super::repos::get(ctx, &r.repo_name)?;
    let (backend, location, props) = repo.be_location_and_props();
    let mut by_be: BTreeMap<i64, BTreeMap<String, String>> = BTreeMap::new();
    for t in &x.tablets {
        let ids = TabletIds {
            db_id: info.id,
            table_id: t.remote_table_id,
            partition_id: t.remote_partition_id,
            index_id: t.remote_index_id,
            tablet_id: t.remote_tablet_id,
        };
        by_be
            .entry(t.local_be_id)
            .or_default()
            .insert(repo.tablet_remote_dir(&r.label, &ids), t.local_dir());
    }
    let mut tasks = Vec::new();
    r.tasks.unfinished.clear();
    for (be, map) in by_be {
        let sig = next_sig(ctx)?;
        let mut task = new_task(TTaskType::DOWNLOAD, sig);
        task.download_req = Some(Box::new(TDownloadReq {
            job_id: r.job_id,
            src_dest_map: map,
            broker_addr: TNetworkAddress {
                hostname: String::new(),
                port: 0,
            },
            broker_prop: Some(props.clone()),
            storage_backend: Some(backend),
            location: Some(location.clone()),
            remote_tablet_snapshots: None,
        }));
        tasks.push(AgentTask {
            backend_id: be,
            addr: be_addr(ctx, be)?,
            request: task,
        });
        r.tasks.unfinished.insert(sig, be);
    }
    finish_download(ctx, r, x, tasks, cancel).await
}

async fn finish_download(
    ctx: &FeContext,
    mut r: RestoreJobRecord,
    x: RestoreExtra,
    tasks: Vec<AgentTask>,
    cancel: &CancellationToken,
) -> Result<()> {
    if r.state == RestoreState::Download {
        r.move_to(RestoreState::Downloading, FeContext::now_ms())?;
    }
    save(ctx, &r, &x)?;
    run_tasks(ctx, &r, tasks, cancel).await?;
    r.tasks.unfinished.clear();
    r.move_to(RestoreState::Commit, FeContext::now_ms())?;
    save(ctx, &r, &x)
}

/// DOWNLOAD tasks, one per local backend, pulling from the source backends.
async fn download_from_bes(
    ctx: &FeContext,
    mut r: RestoreJobRecord,
    x: RestoreExtra,
    cancel: &CancellationToken,
) -> Result<()> {
    let info = r
        .job_info
        .clone()
        .ok_or_else(|| FeError::Internal("restore job lost its job info".into()))?;
    let token = info.token().map(str::to_string);
    let mut by_be: BTreeMap<i64, Vec<Box<TRemoteTabletSnapshot>>> = BTreeMap::new();
    for t in &x.tablets {
        let remote_be = *info.tablet_be_map.get(&t.remote_tablet_id).ok_or_else(|| {
            FeError::InvalidArgument(format!(
                "job_info tablet_be_map lacks tablet {}",
                t.remote_tablet_id
            ))
        })?;
        let remote_path = info
            .tablet_snapshot_path_map
            .get(&t.remote_tablet_id)
            .ok_or_else(|| {
                FeError::InvalidArgument(format!(
                    "job_info tablet_snapshot_path_map lacks tablet {}",
                    t.remote_tablet_id
                ))
            })?;
        let addr = info.be_addr(remote_be).ok_or_else(|| {
            FeError::InvalidArgument(format!(
                "job_info extra_info.be_network_map lacks backend {remote_be}"
            ))
        })?;
        by_be
            .entry(t.local_be_id)
            .or_default()
            .push(Box::new(TRemoteTabletSnapshot {
                local_tablet_id: Some(t.local_tablet_id),
                local_snapshot_path: Some(t.local_dir()),
                remote_tablet_id: Some(t.remote_tablet_id),
                remote_be_id: Some(remote_be),
                remote_be_addr: Some(TNetworkAddress {
                    hostname: addr.ip.clone(),
                    port: addr.port,
                }),
                remote_snapshot_path: Some(format!(
                    "{remote_path}/{}/{}",
                    t.remote_tablet_id, t.remote_schema_hash
                )),
                remote_token: token.clone(),
            }));
    }
    let mut tasks = Vec::new();
    r.tasks.unfinished.clear();
    for (be, snaps) in by_be {
        let sig = next_sig(ctx)?;
        let mut task = new_task(TTaskType::DOWNLOAD, sig);
        task.download_req = Some(Box::new(TDownloadReq {
            job_id: r.job_id,
            src_dest_map: BTreeMap::new(),
            broker_addr: TNetworkAddress {
                hostname: String::new(),
                port: 0,
            },
            broker_prop: None,
            storage_backend: None,
            location: None,
            remote_tablet_snapshots: Some(snaps),
        }));
        tasks.push(AgentTask {
            backend_id: be,
            addr: be_addr(ctx, be)?,
            request: task,
        });
        r.tasks.unfinished.insert(sig, be);
    }
    finish_download(ctx, r, x, tasks, cancel).await
}

/// MOVE the downloaded snapshots into the tablets, then the backed-up versions.
async fn commit(
    ctx: &FeContext,
    mut r: RestoreJobRecord,
    mut x: RestoreExtra,
    cancel: &CancellationToken,
) -> Result<()> {
    if x.swapped {
        // Resumed after the swap was committed: only the tail is left.
        return finish(ctx, r, x).await;
    }
    let mut tasks = Vec::new();
    r.tasks.unfinished.clear();
    for t in &x.tablets {
        let sig = next_sig(ctx)?;
        let mut task = new_task(TTaskType::MOVE, sig);
        task.move_dir_req = Some(Box::new(TMoveDirReq {
            tablet_id: t.local_tablet_id,
            schema_hash: t.schema_hash,
            src: t.local_dir(),
            job_id: r.job_id,
            overwrite: true,
        }));
        tasks.push(AgentTask {
            backend_id: t.local_be_id,
            addr: be_addr(ctx, t.local_be_id)?,
            request: task,
        });
        r.tasks.unfinished.insert(sig, t.local_tablet_id);
    }
    if r.state == RestoreState::Commit {
        r.move_to(RestoreState::Committing, FeContext::now_ms())?;
    }
    save(ctx, &r, &x)?;
    run_tasks(ctx, &r, tasks, cancel).await?;
    let mut by_table: BTreeMap<i64, Vec<(i64, i64)>> = BTreeMap::new();
    for (tid, pid, v) in &x.partitions {
        by_table.entry(*tid).or_default().push((*pid, *v));
    }
    let now = FeContext::now_ms();
    for (tid, parts) in by_table {
        ctx.catalog
            .update_table(tid, |t| {
                // Loads may go on from the restored versions: released in the same write.
                if t.restore_lock.as_ref().is_some_and(|l| l.job_id == r.job_id) {
                    t.restore_lock = None;
                }
                // The partitions this job added join the visible ones (no-op once they did).
                for (pid, _) in &parts {
                    t.publish_restoring_partition(*pid);
                }
                for p in t.partitions.iter_mut() {
                    if let Some((_, v)) = parts.iter().find(|(pid, _)| *pid == p.id) {
                        p.visible_version = *v;
                        p.visible_version_time_ms = now;
                        for tablet in p.index.tablets.iter_mut() {
                            for rep in tablet.replicas.iter_mut() {
                                rep.version = *v;
                            }
                        }
                    }
                }
            })
            .map_err(|e| FeError::Internal(e.to_string()))?;
    }
    clean(ctx, &r, &x).await?;
    if !x.atomic.is_empty() {
        swap(ctx, &mut r, &mut x)?;
    }
    finish(ctx, r, x).await
}

/// Atomic restore's commit point: every shadow takes its table's name and the tables it
/// replaces are removed, in one store transaction together with the job record marked
/// swapped. A restart before it finds the old tables and the shadows (and redoes the
/// commit); after it, the new tables and a job that only has to finish.
fn swap(ctx: &FeContext, r: &mut RestoreJobRecord, x: &mut RestoreExtra) -> Result<()> {
    let swaps: Vec<(i64, String)> = x
        .atomic
        .iter()
        .map(|s| (s.shadow_table_id, s.table.clone()))
        .collect();
    let mut after = x.clone();
    after.swapped = true;
    r.tasks.unfinished.clear();
    let job_id = r.job_id;
    let mut job = StoredJob::Restore {
        record: r.clone(),
        extra: after,
    };
    let replaced = ctx
        .catalog
        .replace_tables(r.db_id, &swaps, |w, replaced| {
            if let StoredJob::Restore { extra, .. } = &mut job {
                extra.replaced = replaced.to_vec();
            }
            w.put(Kind::Job, job_id, &job)
        })
        .map_err(|e| FeError::Internal(format!("replacing the restored tables: {e}")))?;
    ctx.jobs.publish(ctx, job.clone());
    if let StoredJob::Restore { extra, .. } = job {
        *x = extra;
    }
    info!(
        tables = ?swaps.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>(),
        replaced = ?replaced.iter().map(|t| t.id).collect::<Vec<_>>(),
        "atomic restore swapped the restored tables in"
    );
    Ok(())
}

/// Drop what the swap replaced, release our snapshots, FINISHED. Safe to run again.
async fn finish(ctx: &FeContext, mut r: RestoreJobRecord, x: RestoreExtra) -> Result<()> {
    for t in &x.replaced {
        crate::catalog::ddl::drop_tablets(ctx, t).await;
    }
    super::release_snapshots(ctx, snapshot_records(&r, &x).iter()).await;
    release_tables(ctx, r.job_id)?;
    r.tasks.unfinished.clear();
    r.move_to(RestoreState::Finished, FeContext::now_ms())?;
    save(ctx, &r, &x)?;
    info!(tablets = x.tablets.len(), "restore finished");
    Ok(())
}

/// `clean_tables`: drop the database's tables that were not restored; `clean_partitions`:
/// drop the restored tables' partitions the backup does not have (upstream's rules).
/// Idempotent, so a restart in COMMITTING may run it again.
async fn clean(ctx: &FeContext, r: &RestoreJobRecord, x: &RestoreExtra) -> Result<()> {
    if !r.options.clean_tables && !r.options.clean_partitions {
        return Ok(());
    }
    // Tables whose data was restored; a metadata-only restore has none, only created ones.
    let restored: std::collections::BTreeSet<i64> =
        x.partitions.iter().map(|(t, _, _)| *t).collect();
    if r.options.clean_tables {
        for t in ctx.catalog.tables(r.db_id) {
            // An atomic restore's targets are replaced by the swap, in one step.
            if restored.contains(&t.id)
                || x.created_tables.contains(&t.id)
                || x.atomic.iter().any(|s| s.table == t.name)
            {
                continue;
            }
            info!(table = %t.name, "clean_tables: dropping a table the snapshot does not have");
            crate::catalog::ddl::drop_table(ctx, &r.db_name, &t.name, true, true)
                .await
                .map_err(|e| FeError::Internal(e.to_string()))?;
        }
    }
    if r.options.clean_partitions {
        for tid in &restored {
            let keep: Vec<i64> = x
                .partitions
                .iter()
                .filter(|(t, _, _)| t == tid)
                .map(|(_, p, _)| *p)
                .collect();
            let Some(t) = ctx.catalog.table_by_id(*tid) else {
                continue;
            };
            if t.partitions.iter().all(|p| keep.contains(&p.id)) {
                continue;
            }
            let dropped: Vec<Partition> = t
                .partitions
                .iter()
                .filter(|p| !keep.contains(&p.id))
                .cloned()
                .collect();
            info!(table = %t.name, partitions = dropped.len(), "clean_partitions: dropping partitions the snapshot does not have");
            ctx.catalog
                .update_table(*tid, |t| t.partitions.retain(|p| keep.contains(&p.id)))
                .map_err(|e| FeError::Internal(e.to_string()))?;
            crate::catalog::ddl::drop_partition_tablets(ctx, t.id, &dropped).await;
        }
    }
    Ok(())
}
