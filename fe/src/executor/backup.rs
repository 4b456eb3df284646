//! BACKUP, RESTORE, SHOW BACKUP/RESTORE and CANCEL BACKUP/RESTORE: statements to jobs.

use crate::backup::{
    show, BackupJobInfo, BackupMeta, JobKind, RestoreOptions, TableRefRecord,
    KEEP_ON_LOCAL_REPO_NAME,
};
use crate::context::Ctx;
use crate::error::FeError;
use crate::jobs::restore_job::{self, RestoreRequest};
use crate::jobs::{self, backup_job};
use crate::mysql::QueryOutput;
use crate::sql::{BackupStmt, NameFilter, RestoreStmt};

fn db_id(ctx: &Ctx, db: &str) -> Result<i64, FeError> {
    ctx.catalog
        .database(db)
        .map(|d| d.id)
        .ok_or_else(|| FeError::UnknownDatabase(db.to_string()))
}

pub fn backup(ctx: &Ctx, db: &str, stmt: &BackupStmt) -> Result<QueryOutput, FeError> {
    backup_job::submit(ctx, db, stmt)?;
    Ok(QueryOutput::ok())
}

/// RESTORE FROM a repository: the meta and job info of `backup_timestamp` are read from it.
pub async fn restore(ctx: &Ctx, db: &str, stmt: &RestoreStmt) -> Result<QueryOutput, FeError> {
    if stmt.repo == KEEP_ON_LOCAL_REPO_NAME {
        return Err(FeError::not_supported(
            "RESTORE FROM __keep_on_local__ by statement; local snapshots restore through the restoreSnapshot RPC",
        ));
    }
    let repo = jobs::repos::get(ctx, &stmt.repo)?;
    let opts = RestoreOptions::parse(&stmt.properties, false)?;
    let ts = opts.backup_timestamp.clone().unwrap_or_default();
    let (meta, info) = repo.read_meta_and_info(&stmt.label, &ts).await?;
    let meta = BackupMeta::decode(&meta)?;
    let job_info = BackupJobInfo::from_json(&info)?;
    let table_refs: Vec<TableRefRecord> = match &stmt.tables {
        None => vec![],
        Some(r) if r.exclude => job_info
            .backup_objects
            .keys()
            .filter(|n| !r.tables.iter().any(|x| x.table.eq_ignore_ascii_case(n)))
            .map(|n| TableRefRecord {
                table: n.clone(),
                partitions: vec![],
                alias: None,
            })
            .collect(),
        Some(r) => r.tables.iter().map(TableRefRecord::from).collect(),
    };
    restore_job::submit(
        ctx,
        RestoreRequest {
            db_name: db,
            label: &stmt.label,
            repo_name: &stmt.repo,
            table_refs,
            properties: stmt.properties.clone(),
            meta,
            job_info,
            whole_db: stmt.tables.is_none(),
        },
    )?;
    Ok(QueryOutput::ok())
}

pub fn show_backup(
    ctx: &Ctx,
    db: &str,
    filter: Option<&NameFilter>,
) -> Result<QueryOutput, FeError> {
    db_id(ctx, db)?;
    let jobs = ctx.jobs.backups();
    let cells = |id| ctx.jobs.admission.queue_cells(id).unwrap_or_default();
    let queue = ctx.jobs.admission.shows_queue().then_some(&cells as &show::QueueCells<'_>);
    let (columns, rows) = show::show_backup(jobs.iter(), db, filter, queue);
    Ok(QueryOutput::Rows { columns, rows })
}

pub fn show_restore(
    ctx: &Ctx,
    db: &str,
    filter: Option<&NameFilter>,
) -> Result<QueryOutput, FeError> {
    db_id(ctx, db)?;
    let jobs = ctx.jobs.restores();
    let cells = |id| ctx.jobs.admission.queue_cells(id).unwrap_or_default();
    let queue = ctx.jobs.admission.shows_queue().then_some(&cells as &show::QueueCells<'_>);
    let (columns, rows) = show::show_restore(jobs.iter(), db, filter, queue);
    Ok(QueryOutput::Rows { columns, rows })
}

pub fn cancel(
    ctx: &Ctx,
    db: &str,
    kind: JobKind,
    filter: Option<&NameFilter>,
) -> Result<QueryOutput, FeError> {
    let id = db_id(ctx, db)?;
    jobs::cancel_unfinished(ctx, id, kind, filter)?;
    Ok(QueryOutput::ok())
}
