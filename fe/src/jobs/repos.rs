//! Repositories: CREATE / DROP / SHOW REPOSITORIES and SHOW SNAPSHOT. Each repository is
//! kept in the meta store by name; dropping one keeps its data.

use crate::backup::{show, Repository};
use crate::context::{Ctx, FeContext};
use crate::error::{FeError, Result};
use crate::mysql::QueryOutput;
use crate::persist::Named;
use crate::sql::CreateRepository;

pub fn get(ctx: &FeContext, name: &str) -> Result<Repository> {
    ctx.jobs
        .repos
        .lock()
        .unwrap()
        .get(name)
        .cloned()
        .ok_or_else(|| FeError::NotFound(format!("repository {name}")))
}

pub async fn create(ctx: &Ctx, stmt: &CreateRepository) -> Result<QueryOutput> {
    if ctx.jobs.repos.lock().unwrap().contains_key(&stmt.name) {
        return Err(FeError::AlreadyExists(format!("repository {}", stmt.name)));
    }
    let id = ctx
        .store
        .next_id()
        .map_err(|e| FeError::Internal(e.to_string()))?;
    let mut repo = Repository::from_statement(id, stmt, FeContext::now_ms())?;
    // Writes __repo_info (or reads it back for an existing location), then checks it is there.
    repo.init().await?;
    repo.ping().await?;
    let mut repos = ctx.jobs.repos.lock().unwrap();
    if repos.contains_key(&repo.name) {
        return Err(FeError::AlreadyExists(format!("repository {}", stmt.name)));
    }
    ctx.store
        .put_named(Named::Repository, &repo.name, &repo)
        .map_err(|e| FeError::Internal(e.to_string()))?;
    repos.insert(repo.name.clone(), repo);
    Ok(QueryOutput::ok())
}

pub fn drop(ctx: &Ctx, name: &str) -> Result<QueryOutput> {
    let busy = ctx.jobs.unfinished().into_iter().any(|j| match j {
        super::StoredJob::Backup { record } => record.repo_name == name,
        super::StoredJob::Restore { record, .. } => record.repo_name == name,
    });
    if busy {
        return Err(FeError::IllegalState(format!(
            "repository {name} is used by a running backup or restore job"
        )));
    }
    let mut repos = ctx.jobs.repos.lock().unwrap();
    if !repos.contains_key(name) {
        return Err(FeError::NotFound(format!("repository {name}")));
    }
    ctx.store
        .delete_named(Named::Repository, name)
        .map_err(|e| FeError::Internal(e.to_string()))?;
    repos.remove(name);
    Ok(QueryOutput::ok())
}

pub fn show_all(ctx: &Ctx) -> QueryOutput {
    let repos: Vec<Repository> = ctx.jobs.repos.lock().unwrap().values().cloned().collect();
    let (columns, rows) = show::show_repositories(repos.iter());
    QueryOutput::Rows { columns, rows }
}

pub async fn show_snapshot(
    ctx: &Ctx,
    repo: &str,
    snapshot: Option<&str>,
    timestamp: Option<&str>,
) -> Result<QueryOutput> {
    let r = get(ctx, repo)?;
    let (columns, rows) = show::show_snapshot(&r, snapshot, timestamp).await?;
    Ok(QueryOutput::Rows { columns, rows })
}
