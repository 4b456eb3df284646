//! BACKUP, RESTORE, SHOW BACKUP/RESTORE, CANCEL BACKUP/RESTORE, repositories and SHOW
//! SNAPSHOT: statements become domain requests for `crate::backup`, its answers rows.

pub mod show;

use crate::backup::backup_job::{self, BackupRequest};
use crate::backup::repos::{self, NewRepository};
use crate::backup::restore_job::{self, RepositoryRestore};
use crate::backup::{JobKind, StorageKind, TableRefRecord, TableSelection};
use crate::backup::{BackupCtx, BackupEnv};
use crate::error::FeError;
use crate::mysql::QueryOutput;
use crate::sql::{BackupStmt, CreateRepository, NameFilter, RepositoryStorage, RestoreStmt, TableRefs};

fn db_id(ctx: &BackupEnv, db: &str) -> Result<i64, FeError> {
    ctx.catalog
        .database(db)
        .map(|d| d.id)
        .ok_or_else(|| FeError::UnknownDatabase(db.to_string()))
}

/// `ON (...)` / `EXCLUDE (...)` / nothing.
fn selection(tables: &Option<TableRefs>) -> TableSelection {
    match tables {
        None => TableSelection::All,
        Some(r) if r.exclude => TableSelection::Except(r.tables.iter().map(|t| t.table.clone()).collect()),
        Some(r) => TableSelection::Only(
            r.tables
                .iter()
                .map(|t| TableRefRecord { table: t.table.clone(), partitions: t.partitions.clone(), alias: t.alias.clone() })
                .collect(),
        ),
    }
}

pub fn backup(ctx: &BackupCtx, db: &str, stmt: &BackupStmt) -> Result<QueryOutput, FeError> {
    backup_job::submit(
        ctx,
        BackupRequest {
            db_name: db.to_string(),
            label: stmt.label.clone(),
            repo: stmt.repo.clone(),
            tables: selection(&stmt.tables),
            properties: stmt.properties.clone(),
        },
    )?;
    Ok(QueryOutput::ok())
}

/// RESTORE FROM a repository.
pub async fn restore(ctx: &BackupCtx, db: &str, stmt: &RestoreStmt) -> Result<QueryOutput, FeError> {
    restore_job::submit_from_repository(
        ctx,
        RepositoryRestore {
            db_name: db.to_string(),
            label: stmt.label.clone(),
            repo: stmt.repo.clone(),
            tables: selection(&stmt.tables),
            properties: stmt.properties.clone(),
        },
    )
    .await?;
    Ok(QueryOutput::ok())
}

pub fn show_backup(ctx: &BackupCtx, db: &str, filter: Option<&NameFilter>) -> Result<QueryOutput, FeError> {
    db_id(ctx, db)?;
    let rows = ctx.jobs.with_backups(|jobs| show::backup_rows(jobs, db, filter));
    let cells = |id| ctx.jobs.admission.queue_cells(id).unwrap_or_default();
    let queue = ctx.jobs.admission.shows_queue().then_some(&cells as &show::QueueCells<'_>);
    let (columns, rows) = show::with_queue(show::BACKUP_COLUMNS, rows, queue);
    Ok(QueryOutput::Rows { columns, rows })
}

pub fn show_restore(ctx: &BackupCtx, db: &str, filter: Option<&NameFilter>) -> Result<QueryOutput, FeError> {
    db_id(ctx, db)?;
    let rows = ctx.jobs.with_restores(|jobs| show::restore_rows(jobs, db, filter));
    let cells = |id| ctx.jobs.admission.queue_cells(id).unwrap_or_default();
    let queue = ctx.jobs.admission.shows_queue().then_some(&cells as &show::QueueCells<'_>);
    let (columns, rows) = show::with_queue(show::RESTORE_COLUMNS, rows, queue);
    Ok(QueryOutput::Rows { columns, rows })
}

pub fn cancel(ctx: &BackupCtx, db: &str, kind: JobKind, filter: Option<&NameFilter>) -> Result<QueryOutput, FeError> {
    let id = db_id(ctx, db)?;
    let asked = crate::backup::cancel_unfinished(ctx, id, kind, |label| show::name_matches(label, filter));
    if asked == 0 {
        let which = match filter {
            None => String::new(),
            Some(NameFilter::Eq(l)) => format!(" with label '{l}'"),
            Some(NameFilter::Like(l)) => format!(" with label like '{l}'"),
        };
        return Err(FeError::IllegalState(format!("No {} job{which} is currently running", kind.name())));
    }
    Ok(QueryOutput::ok())
}

pub async fn create_repository(ctx: &BackupCtx, stmt: &CreateRepository) -> Result<QueryOutput, FeError> {
    let storage = match stmt.storage {
        RepositoryStorage::S3 => StorageKind::S3,
        RepositoryStorage::Local => StorageKind::Local,
    };
    repos::create(
        ctx,
        NewRepository {
            name: stmt.name.clone(),
            read_only: stmt.read_only,
            location: stmt.location.clone(),
            storage,
            properties: stmt.properties.iter().cloned().collect(),
        },
    )
    .await?;
    Ok(QueryOutput::ok())
}

pub fn drop_repository(ctx: &BackupCtx, name: &str) -> Result<QueryOutput, FeError> {
    repos::drop(ctx, name)?;
    Ok(QueryOutput::ok())
}

pub fn show_repositories(ctx: &BackupCtx) -> QueryOutput {
    let (columns, rows) = show::show_repositories(repos::all(ctx).iter());
    QueryOutput::Rows { columns, rows }
}

pub async fn show_snapshot(
    ctx: &BackupCtx,
    repo: &str,
    snapshot: Option<&str>,
    timestamp: Option<&str>,
) -> Result<QueryOutput, FeError> {
    let r = repos::get(ctx, repo)?;
    let (columns, rows) = show::show_snapshot(&r, snapshot, timestamp).await?;
    Ok(QueryOutput::Rows { columns, rows })
}
