//! The privilege each statement needs, checked before it runs, as upstream's analyzers
//! check them. Queries check SELECT_PRIV per table as they resolve tables
//! (`crate::query::catalog`), an INSERT LOAD_PRIV on its target.

use crate::auth::{Priv, Scope};
use crate::context::Ctx;
use crate::error::FeError;
use crate::mysql::Session;
use crate::sql::{Statement, TableName};

fn table(session: &Session, t: &TableName) -> Result<Scope, FeError> {
    Ok(Scope::table(&session.resolve_db(t.db.as_deref())?, &t.table))
}

fn db(session: &Session, explicit: Option<&str>) -> Result<Scope, FeError> {
    Ok(Scope::db(&session.resolve_db(explicit)?))
}

/// `Err` with upstream's refusal when the session's user may not run `stmt`.
pub fn check(ctx: &Ctx, session: &Session, stmt: &Statement) -> Result<(), FeError> {
    use Statement as S;
    let (scope, p) = match stmt {
        S::CreateDatabase { name, .. } => (Scope::db(name), Priv::Create),
        S::DropDatabase { name, .. } => (Scope::db(name), Priv::Drop),
        S::AlterDatabaseSet { name, .. } => (Scope::db(name), Priv::Alter),
        S::CreateTable(ct) => (table(session, &ct.name)?, Priv::Create),
        S::DropTable { table: t, .. } => (table(session, t)?, Priv::Drop),
        S::AlterTableSet { table: t, .. }
        | S::DropPartition { table: t, .. }
        | S::AlterColumns { table: t, .. }
        | S::RenameTable { table: t, .. } => (table(session, t)?, Priv::Alter),
        S::AddPartition(a) => (table(session, &a.table)?, Priv::Alter),
        S::TruncateTable { table: t, .. } | S::Delete { table: t, .. } => (table(session, t)?, Priv::Load),
        S::ShowCreateTable { table: t }
        | S::ShowPartitions { table: t }
        | S::ShowColumns { table: t, .. }
        | S::Describe { table: t }
        | S::ShowIndex { table: t } => (table(session, t)?, Priv::Select),
        S::Backup(b) => (db(session, b.db.as_deref())?, Priv::Load),
        S::Restore(r) => (db(session, r.db.as_deref())?, Priv::Load),
        S::ShowBackup { db: d, .. } | S::ShowRestore { db: d, .. } | S::CancelBackup { db: d, .. } | S::CancelRestore { db: d, .. } => {
            (db(session, d.as_deref())?, Priv::Load)
        }
        S::ShowTransaction { db: d, .. } => (db(session, d.as_deref())?, Priv::Load),
        S::AddBackends { .. } | S::DropBackends { .. } => (Scope::Global, Priv::Node),
        S::ShowTablets { .. }
        | S::ShowProc { .. }
        | S::ShowDatabaseId { .. }
        | S::ShowTableId { .. }
        | S::ShowPartitionId { .. }
        | S::ShowBackends
        | S::ShowFrontends
        | S::ShowFrontendConfig { .. }
        | S::CreateRepository(_)
        | S::DropRepository { .. }
        | S::CreateResource { .. }
        | S::DropResource { .. }
        | S::CreateStoragePolicy { .. }
        | S::DropStoragePolicy { .. }
        | S::AlterWorkloadGroup { .. } => (Scope::Global, Priv::Admin),
        // Listings, session statements, queries (checked per table), and user statements
        // (checked by `users`).
        S::Use { .. }
        | S::ShowDatabases { .. }
        | S::ShowTables { .. }
        | S::ShowCreateDatabase { .. }
        | S::ShowRepositories
        | S::ShowSnapshot { .. }
        // Each job is shown only to a user with LOAD_PRIV on its table (`loads`).
        | S::ShowLoad { .. }
        | S::ShowResources
        | S::ShowStoragePolicy
        | S::ShowWorkloadGroups { .. }
        | S::SetNames { .. }
        | S::SetVariables(_)
        | S::ShowVariables { .. }
        | S::Transaction(_)
        | S::ShowWarnings { .. }
        | S::ShowProcesslist { .. }
        | S::Kill { .. }
        | S::User(_)
        | S::Query(_)
        | S::Insert(_) => return Ok(()),
    };
    ctx.users.require(&session.identity(), &scope, p)
}
