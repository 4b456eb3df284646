//! Submitting a restore: of a local snapshot (restoreSnapshot, with the meta and job info
//! the caller sends) or from a repository (RESTORE, reading them there).

use tracing::info;

use super::*;
use crate::backup::TableSelection;

/// RESTORE from a repository: the snapshot's meta and job info are read there.
#[derive(Debug, Clone)]
pub struct RepositoryRestore {
    pub db_name: String,
    pub label: String,
    pub repo: String,
    pub tables: TableSelection,
    pub properties: Vec<(String, String)>,
}

/// Read the snapshot `req` names (at its `backup_timestamp`) from its repository and
/// submit the restore; the job id.
pub async fn submit_from_repository(ctx: &BackupCtx, req: RepositoryRestore) -> Result<i64> {
    if req.repo == KEEP_ON_LOCAL_REPO_NAME {
        return Err(FeError::not_supported(
            "RESTORE FROM __keep_on_local__ by statement; local snapshots restore through the restoreSnapshot RPC",
        ));
    }
    let repo = crate::backup::repos::get(ctx, &req.repo)?;
    // A restore may place or find replicas on any alive BE; checked before the
    // repository is read.
    let alive = || ctx.backends.all().into_iter().filter(|b| b.alive && !b.decommissioned).collect();
    crate::backup::repository::check_backends_can_use(&repo, alive, "RESTORE")?;
    let opts = RestoreOptions::parse(&req.properties, false)?;
    let ts = opts.backup_timestamp.clone().unwrap_or_default();
    let (meta, info) = repo.read_meta_and_info(&req.label, &ts).await?;
    let meta = BackupMeta::decode(&meta)?;
    let job_info = BackupJobInfo::from_json(&info)?;
    // A restore names the tables it restores; no ON clause restores what the snapshot has.
    let table_refs = match &req.tables {
        TableSelection::All => vec![],
        sel => sel.resolve(job_info.backup_objects.keys().map(String::as_str)),
    };
    submit(
        ctx,
        RestoreRequest {
            db_name: &req.db_name,
            label: &req.label,
            repo_name: &req.repo,
            table_refs,
            properties: req.properties.clone(),
            meta,
            job_info,
            whole_db: req.tables == TableSelection::All,
        },
    )
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
pub(crate) fn admission_request(r: &RestoreJobRecord) -> JobRequest {
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
pub fn submit(ctx: &BackupCtx, req: RestoreRequest<'_>) -> Result<i64> {
    let db = ctx
        .catalog
        .database(req.db_name)
        .ok_or_else(|| FeError::UnknownDatabase(req.db_name.into()))?;
    let local = req.repo_name == KEEP_ON_LOCAL_REPO_NAME;
    let repo_id = if local {
        KEEP_ON_LOCAL_REPO_ID
    } else {
        crate::backup::repos::get(ctx, req.repo_name)?.id
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
        .next_id()?;
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
    record.meta = Some(req.meta.into());
    record.job_info = Some(req.job_info.into());
    record.properties = req.properties.into_iter().collect();
    ctx.jobs.submit(ctx, StoredJob::Restore { record, extra: RestoreExtra::default() })?;
    info!(job_id, label = %req.label, db = %req.db_name, "restore job submitted");
    crate::backup::spawn_restore(ctx, job_id, false);
    Ok(job_id)
}

