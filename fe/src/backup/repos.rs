//! Repositories: create, drop, list. Each repository is
//! kept in the meta store by name; dropping one keeps its data.

use std::collections::BTreeMap;

use std::sync::Mutex;

use crate::backup::{BackupEnv, Repository, StorageKind, StoredJob};
use crate::context::FeContext;
use crate::error::{FeError, Result};
use crate::persist::{MetaError, MetaStore, Named};

/// The repositories by name, as stored.
#[derive(Default)]
pub struct Repositories {
    by_name: Mutex<BTreeMap<String, Repository>>,
}

impl Repositories {
    pub fn load(store: &MetaStore) -> std::result::Result<Self, MetaError> {
        let by_name = store.load_all_named::<Repository>(Named::Repository)?.into_iter().collect();
        Ok(Repositories { by_name: Mutex::new(by_name) })
    }
}

/// What CREATE REPOSITORY asks for.
#[derive(Debug, Clone)]
pub struct NewRepository {
    pub name: String,
    pub read_only: bool,
    pub location: String,
    pub storage: StorageKind,
    pub properties: BTreeMap<String, String>,
}

pub fn get(ctx: &BackupEnv, name: &str) -> Result<Repository> {
    ctx.repos
        .by_name
        .lock()
        .unwrap()
        .get(name)
        .cloned()
        .ok_or_else(|| FeError::NotFound(format!("repository {name}")))
}

pub async fn create(ctx: &BackupEnv, stmt: NewRepository) -> Result<()> {
    if ctx.repos.by_name.lock().unwrap().contains_key(&stmt.name) {
        return Err(FeError::AlreadyExists(format!("repository {}", stmt.name)));
    }
    let id = ctx
        .store
        .next_id()?;
    let mut repo = Repository::new(
        id,
        &stmt.name,
        stmt.read_only,
        &stmt.location,
        stmt.storage,
        stmt.properties,
        FeContext::now_ms(),
    )?;
    // Writes __repo_info (or reads it back for an existing location), then checks it is there.
    repo.init().await?;
    repo.ping().await?;
    let mut repos = ctx.repos.by_name.lock().unwrap();
    if repos.contains_key(&repo.name) {
        return Err(FeError::AlreadyExists(format!("repository {}", stmt.name)));
    }
    ctx.store
        .put_named(Named::Repository, &repo.name, &repo)
        .map_err(|e| FeError::Internal(e.to_string()))?;
    repos.insert(repo.name.clone(), repo);
    Ok(())
}

pub fn drop(ctx: &BackupEnv, name: &str) -> Result<()> {
    let busy = ctx.jobs.unfinished().into_iter().any(|j| match j {
        StoredJob::Backup { record } => record.repo_name == name,
        StoredJob::Restore { record, .. } => record.repo_name == name,
    });
    if busy {
        return Err(FeError::IllegalState(format!(
            "repository {name} is used by a running backup or restore job"
        )));
    }
    let mut repos = ctx.repos.by_name.lock().unwrap();
    if !repos.contains_key(name) {
        return Err(FeError::NotFound(format!("repository {name}")));
    }
    ctx.store
        .delete_named(Named::Repository, name)
        .map_err(|e| FeError::Internal(e.to_string()))?;
    repos.remove(name);
    Ok(())
}

/// Every repository, by name.
pub fn all(ctx: &BackupEnv) -> Vec<Repository> {
    ctx.repos.by_name.lock().unwrap().values().cloned().collect()
}
