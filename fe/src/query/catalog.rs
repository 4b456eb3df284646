//! The FE's catalog as DataFusion sees it: one catalog, `internal`, whose schemas are the
//! databases and whose tables are the OLAP tables ([`super::table::OlapTableProvider`]).
//!
//! DataFusion lower-cases unquoted names; Doris database and table names are
//! case-sensitive but rarely differ only in case, so a name is looked up exactly first,
//! then without regard to case.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::catalog::{CatalogProvider, SchemaProvider, TableProvider};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::sql::sqlparser::ast::{visit_relations, ObjectName, Statement};

use super::information_schema::{self, InformationSchema};
use super::table::{OlapTableProvider, PARTITION_MARK};
use super::{QueryEnv, TableFunction, INTERNAL_CATALOG};
use crate::auth::{Priv, Scope};
use crate::catalog::{Database, OlapTable};
use crate::error::FeError;
use crate::context::Ctx;

/// The default schema when the session has no current database: no such database
/// exists, so an unqualified table name fails, and the error says no database is selected.
pub(super) const NO_DATABASE: &str = "__doris_rs_no_database_selected__";

/// The catalog as one user sees it: tables are read with SELECT_PRIV only.
pub(super) struct InternalCatalog {
    ctx: Ctx,
    user: crate::auth::UserIdentity,
    vars: Arc<super::session::SysVars>,
}

impl InternalCatalog {
    pub(super) fn new(ctx: Ctx, user: crate::auth::UserIdentity, vars: Arc<super::session::SysVars>) -> Self {
        InternalCatalog { ctx, user, vars }
    }
}

impl std::fmt::Debug for InternalCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InternalCatalog")
    }
}

fn find_database(ctx: &Ctx, name: &str) -> Option<Database> {
    ctx.catalog.database(name).or_else(|| {
        let mut matches = ctx.catalog.databases().into_iter().filter(|d| d.name.eq_ignore_ascii_case(name));
        let first = matches.next()?;
        matches.next().is_none().then_some(first)
    })
}

fn find_table(ctx: &Ctx, db: &Database, name: &str) -> Option<Arc<OlapTable>> {
    if let Ok(t) = ctx.catalog.table(&db.name, name) {
        return Some(t);
    }
    let mut matches = ctx.catalog.tables(db.id).into_iter().filter(|t| t.name.eq_ignore_ascii_case(name));
    let first = matches.next()?;
    matches.next().is_none().then_some(first)
}

impl CatalogProvider for InternalCatalog {
    fn schema_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.ctx.catalog.databases().into_iter().map(|d| d.name).collect();
        names.push(information_schema::NAME.to_string());
        names
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        if information_schema::is_it(None, name) {
            return Some(Arc::new(InformationSchema::new(self.ctx.clone(), self.user.clone(), self.vars.clone())));
        }
        let db = find_database(&self.ctx, name)?;
        let show_hidden = matches!(self.vars.session.get("show_hidden_columns"), Some(super::session::SysVar::Int(n)) if *n != 0);
        Some(Arc::new(DatabaseSchema { ctx: self.ctx.clone(), db, user: self.user.clone(), show_hidden }))
    }
}

struct DatabaseSchema {
    ctx: Ctx,
    db: Database,
    user: crate::auth::UserIdentity,
    /// `show_hidden_columns`: tables show their hidden columns, and rows a delete sign removed.
    show_hidden: bool,
}

impl DatabaseSchema {
    fn may_select(&self, table: &str) -> bool {
        self.ctx.users.has(&self.user, &Scope::table(&self.db.name, table), Priv::Select)
    }
}

impl std::fmt::Debug for DatabaseSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseSchema({})", self.db.name)
    }
}

#[async_trait]
impl SchemaProvider for DatabaseSchema {
    /// Only the tables the user may read (what information_schema lists).
    fn table_names(&self) -> Vec<String> {
        self.ctx.catalog.tables(self.db.id).into_iter().map(|t| t.name.clone()).filter(|t| self.may_select(t)).collect()
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        let mut parts = name.split(PARTITION_MARK);
        let table = parts.next().unwrap_or_default();
        let partitions: Vec<String> = parts.map(str::to_string).collect();
        let Some(t) = find_table(&self.ctx, &self.db, table) else { return Ok(None) };
        if !self.may_select(&t.name) {
            return Err(DataFusionError::External(Box::new(FeError::PrivilegeDenied {
                privilege: Priv::Select.name().to_string(),
            })));
        }
        let provider = OlapTableProvider::new(self.ctx.clone(), t, partitions, self.show_hidden)
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        Ok(Some(Arc::new(provider)))
    }

    fn table_exist(&self, name: &str) -> bool {
        find_table(&self.ctx, &self.db, name.split(PARTITION_MARK).next().unwrap_or_default()).is_some()
    }
}

/// The column names of every table and table function the statement reads, for
/// [`super::rewrite::canonical_identifiers`]: a name not found here is left as written.
pub(super) fn columns_of_relations(
    ctx: Option<&Ctx>,
    functions: &BTreeMap<String, TableFunction>,
    statement: &Statement,
    env: &QueryEnv,
) -> HashSet<String> {
    let mut names: Vec<ObjectName> = Vec::new();
    let _ = visit_relations(statement, |r| {
        names.push(r.clone());
        std::ops::ControlFlow::<()>::Continue(())
    });
    let mut columns = HashSet::new();
    for name in names {
        let parts: Vec<String> = name.0.iter().filter_map(|p| p.as_ident().map(|i| i.value.clone())).collect();
        let parts: Vec<String> =
            parts.into_iter().map(|p| p.split(PARTITION_MARK).next().unwrap_or_default().to_string()).collect();
        let (db, table) = match parts.as_slice() {
            [t] => (env.current_db.clone(), t.clone()),
            [d, t] => (Some(d.clone()), t.clone()),
            [c, d, t] if c.eq_ignore_ascii_case(INTERNAL_CATALOG) => (Some(d.clone()), t.clone()),
            _ => continue,
        };
        if db.as_deref().is_some_and(|d| information_schema::is_it(None, d)) {
            columns.extend(information_schema::columns_of(&table).unwrap_or_default());
            continue;
        }
        let found = ctx.and_then(|ctx| {
            db.and_then(|d| find_database(ctx, &d)).and_then(|d| find_table(ctx, &d, &table))
        });
        match found {
            // Hidden columns too: `show_hidden_columns` lets a query name them.
            Some(t) => columns.extend(t.full_schema().map(|c| c.name.clone())),
            None => {
                if let Some(f) = functions.get(&table.to_ascii_lowercase()) {
                    columns.extend(f().columns);
                }
            }
        }
    }
    columns
}
