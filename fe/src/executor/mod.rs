//! The MySQL layer's [`Executor`]: each statement is decoded here into a domain request,
//! handed to its domain, and the domain's answer shaped as rows. The domains never see
//! SQL or MySQL types.
//!
//! One file per statement family: `databases`, `tables` (+ `convert`: CREATE TABLE's AST
//! into a spec), `proc` (SHOW PROC and id lookups), `system` (backends, frontends),
//! `config`, `cooldown` (resources, storage policies), `query` (queries), `backup`
//! (backup, restore, repositories). `format` holds shared value spellings. A new
//! statement gets its arm in [`FeExecutor::execute`] (the match has no catch-all, so a
//! new `Statement` variant does not compile until it has one) calling a function of its
//! family's file.

pub mod backup;
mod config;
mod convert;
mod cooldown;
mod databases;
mod format;
mod loads;
mod privileges;
pub mod proc;
mod query;
mod system;
pub mod tables;
mod transactions;
pub mod users;

use async_trait::async_trait;

use std::sync::Arc;

use crate::backup::BackupCtx;
use crate::context::Ctx;
use crate::cooldown::Policies;
use crate::tables::TableDdl;
use crate::error::FeError;
use crate::load::Loads;
use crate::mysql::{Executor, QueryOutput, Session};
use crate::query::{QueryEngine, QueryEnv};
use crate::sql::Statement;
use crate::workload::WorkloadGroups;

pub use users::FeUsers;

#[derive(Clone)]
pub struct FeExecutor {
    ctx: Ctx,
    ddl: TableDdl,
    backup: BackupCtx,
    policies: Arc<Policies>,
    queries: QueryEngine,
    loads: Loads,
    /// Queries and INSERTs take a place in the normal group's queue first.
    workload: Arc<WorkloadGroups>,
}

impl FeExecutor {
    pub fn new(ddl: TableDdl, backup: BackupCtx, loads: Loads, workload: Arc<WorkloadGroups>) -> Self {
        let ctx = ddl.ctx.clone();
        let table = |f: fn(&Ctx) -> crate::query::TextTable| {
            let ctx = ctx.clone();
            Arc::new(move || f(&ctx)) as crate::query::TableFunction
        };
        let queries = QueryEngine::new(ctx.clone())
            .with_table_function("frontends", table(system::frontends_table))
            .with_table_function("backends", table(system::backends_table));
        FeExecutor { ctx, policies: ddl.policies.clone(), ddl, backup, queries, loads, workload }
    }
}

#[async_trait]
impl Executor for FeExecutor {
    async fn query(&self, sql: &str, env: &QueryEnv) -> Result<QueryOutput, FeError> {
        let _place = self.workload.admit(query::timeout(env)).await?;
        query::run(&self.ctx, &self.queries, sql, env).await
    }

    async fn insert(&self, stmt: crate::sql::InsertStmt, env: &QueryEnv) -> Result<QueryOutput, FeError> {
        let _place = self.workload.admit(query::timeout(env)).await?;
        query::insert(&self.ddl, &self.backup.txns, &self.queries, stmt, env).await
    }

    async fn execute(&self, session: &mut Session, stmt: Statement) -> Result<QueryOutput, FeError> {
        let (ctx, ddl, backup, policies) = (&self.ctx, &self.ddl, &self.backup, &self.policies);
        privileges::check(ctx, session, &stmt)?;
        match stmt {
            Statement::User(u) => users::execute(ctx, session, u),
            Statement::Use { db } => databases::use_db(ctx, &db),
            Statement::CreateDatabase { name, if_not_exists, properties } => {
                databases::create(ctx, &name, if_not_exists, properties)
            }
            Statement::AlterDatabaseSet { name, properties } => databases::set_properties(ctx, &name, &properties),
            Statement::AlterTableSet { table, properties } => {
                let db = session.resolve_db(table.db.as_deref())?;
                tables::set_properties(ctx, &db, &table.table, &properties)
            }
            Statement::DropDatabase { name, if_exists, force } => databases::drop(ddl, &name, if_exists, force).await,
            Statement::ShowDatabases { like } => databases::show(ctx, &session.identity(), like.as_deref()),
            Statement::ShowTables { db, full, like } => {
                let db = session.resolve_db(db.as_deref())?;
                tables::show_tables(ctx, &session.identity(), &db, full, like.as_deref())
            }
            Statement::CreateTable(ct) => tables::create(ddl, session, *ct).await,
            Statement::DropTable { table, if_exists, force } => {
                let db = session.resolve_db(table.db.as_deref())?;
                tables::drop(ddl, &db, &table.table, if_exists, force).await
            }
            Statement::AddPartition(a) => {
                let db = session.resolve_db(a.table.db.as_deref())?;
                tables::add_partition(ddl, db, *a).await
            }
            Statement::DropPartition { table, temporary, name, if_exists, force } => {
                if temporary {
                    return Err(FeError::NotSupported("temporary partitions".into()));
                }
                let db = session.resolve_db(table.db.as_deref())?;
                tables::drop_partition(ddl, &db, &table.table, &name, if_exists, force).await
            }
            Statement::AlterColumns { table, change } => {
                let db = session.resolve_db(table.db.as_deref())?;
                tables::alter_columns(ddl, &db, &table.table, change)
            }
            Statement::RenameTable { table, new_name } => {
                let db = session.resolve_db(table.db.as_deref())?;
                tables::rename(ddl, &db, &table.table, &new_name)
            }
            Statement::TruncateTable { table, partitions } => {
                let db = session.resolve_db(table.db.as_deref())?;
                tables::truncate(ddl, &db, &table.table, &partitions).await
            }
            Statement::Delete { table, partitions, conditions } => {
                let db = session.resolve_db(table.db.as_deref())?;
                tables::delete(&self.loads, db, table.table, partitions, conditions).await
            }
            Statement::ShowCreateTable { table } => {
                let db = session.resolve_db(table.db.as_deref())?;
                tables::show_create(ctx, &db, &table.table)
            }
            Statement::ShowColumns { table, full } => {
                let db = session.resolve_db(table.db.as_deref())?;
                tables::show_columns(ctx, &db, &table.table, full, session.flag("show_hidden_columns"))
            }
            Statement::Describe { table } => {
                let db = session.resolve_db(table.db.as_deref())?;
                tables::describe(ctx, &db, &table.table, session.flag("show_hidden_columns"))
            }
            Statement::ShowIndex { table } => {
                let db = session.resolve_db(table.db.as_deref())?;
                tables::show_index(ctx, &db, &table.table)
            }
            Statement::ShowPartitions { table } => {
                let db = session.resolve_db(table.db.as_deref())?;
                tables::show_partitions(ctx, &db, &table.table)
            }
            Statement::ShowTablets { table } => {
                let db = session.resolve_db(table.db.as_deref())?;
                tables::show_tablets(ctx, &db, &table.table)
            }
            Statement::ShowCreateDatabase { name } => databases::show_create(ctx, &name),
            Statement::ShowDatabaseId { id } => Ok(proc::show_database_by_id(ctx, id)),
            Statement::ShowTableId { id } => proc::show_table_by_id(ctx, id),
            Statement::ShowPartitionId { id } => Ok(proc::show_partition_by_id(ctx, id)),
            Statement::ShowProc { path } => proc::show_proc(ctx, &path),
            Statement::ShowTransaction { db, filter } => {
                let db = session.resolve_db(db.as_deref())?;
                transactions::show(ctx, &backup.txns, &db, &filter)
            }
            Statement::ShowLoad { db, label, state, limit } => {
                let db = session.resolve_db(db.as_deref())?;
                let filter = crate::load::jobs::JobFilter { label, state };
                loads::show(ctx, &backup.txns, &session.identity(), &db, &filter, limit)
            }
            Statement::ShowFrontendConfig { like } => Ok(config::show_frontend_config(&ctx.config, like.as_deref())),
            Statement::AddBackends { hosts } => system::add_backends(ctx, &hosts),
            Statement::DropBackends { hosts, force: _ } => system::drop_backends(ctx, &hosts),
            Statement::ShowBackends => Ok(system::show_backends(ctx)),
            Statement::ShowFrontends => Ok(system::show_frontends(ctx)),
            Statement::Backup(b) => {
                let db = session.resolve_db(b.db.as_deref())?;
                backup::backup(backup, &db, &b)
            }
            Statement::Restore(r) => {
                let db = session.resolve_db(r.db.as_deref())?;
                backup::restore(backup, &db, &r).await
            }
            Statement::ShowBackup { db, filter } => {
                let db = session.resolve_db(db.as_deref())?;
                backup::show_backup(backup, &db, filter.as_ref())
            }
            Statement::ShowRestore { db, filter } => {
                let db = session.resolve_db(db.as_deref())?;
                backup::show_restore(backup, &db, filter.as_ref())
            }
            Statement::CancelBackup { db, filter } => {
                let db = session.resolve_db(db.as_deref())?;
                backup::cancel(backup, &db, crate::backup::JobKind::Backup, filter.as_ref())
            }
            Statement::CancelRestore { db, filter } => {
                let db = session.resolve_db(db.as_deref())?;
                backup::cancel(backup, &db, crate::backup::JobKind::Restore, filter.as_ref())
            }
            Statement::CreateRepository(c) => backup::create_repository(backup, &c).await,
            Statement::DropRepository { name } => backup::drop_repository(backup, &name),
            Statement::ShowRepositories => Ok(backup::show_repositories(backup)),
            Statement::CreateResource { name, if_not_exists, properties } => {
                cooldown::create_resource(ctx, policies, &name, if_not_exists, &properties)
            }
            Statement::DropResource { name, if_exists } => cooldown::drop_resource(ctx, policies, &name, if_exists),
            Statement::ShowResources => Ok(cooldown::show_resources(&policies.resources())),
            Statement::CreateStoragePolicy { name, if_not_exists, properties } => {
                cooldown::create_policy(ctx, policies, &name, if_not_exists, &properties)
            }
            Statement::DropStoragePolicy { name, if_exists } => cooldown::drop_policy(ctx, policies, &name, if_exists),
            Statement::ShowStoragePolicy => Ok(cooldown::show_policies(&policies.storage_policies())),
            Statement::AlterWorkloadGroup { name, properties } => {
                self.workload.alter(&name, &properties)?;
                Ok(QueryOutput::ok())
            }
            Statement::ShowWorkloadGroups { like } => Ok(query::show_workload_groups(&self.workload, like.as_deref())),
            Statement::ShowSnapshot { repo, snapshot, timestamp } => {
                backup::show_snapshot(backup, &repo, snapshot.as_deref(), timestamp.as_deref()).await
            }
            // Answered by the MySQL server itself (session state, or `query` below), never sent here.
            other @ (Statement::SetNames { .. }
            | Statement::SetVariables(_)
            | Statement::ShowVariables { .. }
            | Statement::Transaction(_)
            | Statement::ShowWarnings { .. }
            | Statement::ShowProcesslist { .. }
            | Statement::Kill { .. }
            | Statement::Query(_)
            | Statement::Insert(_)) => Err(not_supported(&other)),
        }
    }
}

/// Serve the MySQL protocol on `listener` with this executor until `stop`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    executor: FeExecutor,
    users: FeUsers,
    stop: tokio_util::sync::CancellationToken,
) {
    crate::mysql::serve(listener, Arc::new(executor), Arc::new(users), stop).await
}

/// The refusal of a statement this executor does not run.
fn not_supported(stmt: &Statement) -> FeError {
    FeError::not_supported(format!("{} is not supported by doris-rs", stmt.kind()))
}
