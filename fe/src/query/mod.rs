//! SELECT, planned and run by Apache DataFusion.
//!
//! Every query statement (`SELECT`, `WITH`, `VALUES`...) is parsed by DataFusion's parser
//! in its MySQL dialect, adjusted for MySQL's naming rules ([`rewrite`]), planned against
//! the catalog ([`catalog`]: databases are schemas of the catalog `internal`, each OLAP
//! table a provider whose scan reads every tablet of the chosen partitions from one alive
//! replica at the partition's visible version, as Arrow), and executed. Session state
//! reaches the plan as `@@` variables and the functions MySQL drivers call
//! ([`session`]). The answer is Arrow record batches; the MySQL layer spells them.

mod brace_literals;
mod catalog;
mod information_schema;
pub mod nested_text;
mod prune;
mod rewrite;
mod session;
mod table;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::SchemaError;
use datafusion::error::DataFusionError;
use datafusion::execution::context::{SessionConfig, SessionContext};
use datafusion::sql::parser::{DFParser, Statement as DfStatement};
use datafusion::sql::sqlparser::ast::Statement as SqlStatement;
use datafusion::sql::sqlparser::dialect::MySqlDialect;

use crate::context::Ctx;
use crate::error::FeError;

pub use session::{SysVar, SysVars, SERVER_VERSION};
pub use table::{TextTable, DATETIME_SCALE, LARGEINT};

/// The catalog name upstream gives its own tables.
pub const INTERNAL_CATALOG: &str = "internal";

pub use information_schema::NAME as INFORMATION_SCHEMA;

/// Whether `db` is `information_schema` (any case).
pub fn is_information_schema(db: &str) -> bool {
    information_schema::is_it(None, db)
}

/// The views `information_schema` has.
pub fn information_schema_views() -> Vec<String> {
    information_schema::view_names()
}

/// What a query sees of the session that runs it.
#[derive(Debug, Clone, Default)]
pub struct QueryEnv {
    pub current_db: Option<String>,
    pub user: String,
    /// The host pattern of the session's identity.
    pub user_host: String,
    pub client_host: String,
    pub connection_id: u32,
    pub variables: SysVars,
}

impl QueryEnv {
    /// The identity whose privileges the query has (an unset host is any host's).
    pub fn identity(&self) -> crate::auth::UserIdentity {
        let host = if self.user_host.is_empty() { crate::auth::ANY_HOST } else { &self.user_host };
        crate::auth::UserIdentity::new(self.user.clone(), host)
    }
}

/// A table-valued function answered from the FE's own state (`frontends()`).
pub type TableFunction = Arc<dyn Fn() -> TextTable + Send + Sync>;

/// A query's answer.
pub struct QueryResult {
    pub schema: SchemaRef,
    /// Each column's header as MySQL shows it (the expression as written, or the alias).
    pub headers: Vec<String>,
    pub batches: Vec<RecordBatch>,
}

/// Plans and runs queries against the catalog.
#[derive(Clone)]
pub struct QueryEngine {
    /// None: no tables, only expressions and session values.
    ctx: Option<Ctx>,
    table_functions: Arc<BTreeMap<String, TableFunction>>,
}

impl QueryEngine {
    pub fn new(ctx: Ctx) -> Self {
        QueryEngine { ctx: Some(ctx), table_functions: Arc::new(BTreeMap::new()) }
    }

    /// An engine with no catalog: queries that read no table.
    pub fn without_catalog() -> Self {
        QueryEngine { ctx: None, table_functions: Arc::new(BTreeMap::new()) }
    }

    /// Adds `name(...)` as a table-valued function (no arguments).
    pub fn with_table_function(mut self, name: &str, f: TableFunction) -> Self {
        Arc::make_mut(&mut self.table_functions).insert(name.to_ascii_lowercase(), f);
        self
    }

    /// Run one query statement. INSERT is not one: `crate::sql` parses it and the
    /// executor loads what its source query answers.
    pub async fn run(&self, sql: &str, env: &QueryEnv) -> Result<QueryResult, FeError> {
        let sql = brace_literals::rewrite(sql)?;
        let mut statements = DFParser::parse_sql_with_dialect(&sql, &MySqlDialect {}).map_err(parse_error)?;
        let statement = match (statements.pop_front(), statements.is_empty()) {
            (Some(DfStatement::Statement(s)), true) => *s,
            (None, _) => return Err(FeError::EmptyQuery),
            _ => return Err(FeError::NotSupported("more than one statement in a query".into())),
        };
        if matches!(statement, SqlStatement::Insert(_)) {
            return Err(FeError::NotSupported("INSERT as a query".into()));
        }
        self.query(statement, env).await
    }

    async fn query(&self, mut statement: SqlStatement, env: &QueryEnv) -> Result<QueryResult, FeError> {
        let ctx = self.session(env)?;
        rewrite::partitions_into_names(&mut statement);
        let columns = catalog::columns_of_relations(self.ctx.as_ref(), &self.table_functions, &statement, env);
        rewrite::canonical_identifiers(&mut statement, &columns);
        let headers = rewrite::mysql_headers(&mut statement);
        nested_text::upstream_functions(&mut statement);
        let state = ctx.state();
        let plan = state.statement_to_plan(DfStatement::Statement(Box::new(statement))).await.map_err(|e| query_error(e, env))?;
        let df = ctx.execute_logical_plan(plan).await.map_err(|e| query_error(e, env))?;
        let schema = Arc::new(df.schema().as_arrow().clone());
        let batches = df.collect().await.map_err(|e| query_error(e, env))?;
        let headers = schema.fields().iter().map(|f| headers.header(f.name()).to_string()).collect();
        Ok(QueryResult { schema, headers, batches })
    }

    fn session(&self, env: &QueryEnv) -> Result<SessionContext, FeError> {
        let default_db = env.current_db.clone().unwrap_or_else(|| catalog::NO_DATABASE.to_string());
        let config = SessionConfig::new()
            .with_default_catalog_and_schema(INTERNAL_CATALOG, default_db)
            .with_create_default_catalog_and_schema(false)
            // Upstream's shapes (`information_schema.rs`), not DataFusion's.
            .with_information_schema(false)
            .with_target_partitions(2)
            .set_str("datafusion.sql_parser.dialect", "mysql")
            // MySQL reads `1.25` as an exact DECIMAL, not a DOUBLE.
            .set_bool("datafusion.sql_parser.parse_float_as_decimal", true);
        let ctx = SessionContext::new_with_config(config);
        if let Some(fe) = &self.ctx {
            ctx.register_catalog(INTERNAL_CATALOG, Arc::new(catalog::InternalCatalog::new(fe.clone(), env.identity(), Arc::new(env.variables.clone()))));
        }
        for (name, f) in self.table_functions.iter() {
            ctx.register_udtf(name, Arc::new(table::TextTableFunction { name: name.clone(), build: f.clone() }));
        }
        session::register(&ctx, env);
        Ok(ctx)
    }
}

fn parse_error(e: DataFusionError) -> FeError {
    FeError::Analysis(e.to_string())
}

/// DataFusion's error as the FE's: our own errors (raised inside providers) come back as
/// they were; the rest keep DataFusion's message without its internal prefix.
fn query_error(e: DataFusionError, env: &QueryEnv) -> FeError {
    let e = e.find_root();
    if let DataFusionError::External(inner) = &e {
        if let Some(fe) = inner.downcast_ref::<FeError>() {
            return match fe {
                FeError::UnknownVariable(name) => FeError::UnknownVariable(name.clone()),
                FeError::NoDatabaseSelected => FeError::NoDatabaseSelected,
                FeError::InvalidArgument(m) => FeError::InvalidArgument(m.clone()),
                FeError::NotFound(m) => FeError::NotFound(m.clone()),
                FeError::PrivilegeDenied { privilege } => FeError::PrivilegeDenied { privilege: privilege.clone() },
                other => FeError::Internal(other.to_string()),
            };
        }
    }
    if let DataFusionError::SchemaError(schema_error, _) = e {
        if let SchemaError::FieldNotFound { field, .. } = schema_error.as_ref() {
            return FeError::UnknownColumn(field.name.clone());
        }
    }
    let text = e.message().to_string();
    if env.current_db.is_none() && text.contains(catalog::NO_DATABASE) {
        return FeError::NoDatabaseSelected;
    }
    // The planner's "table 'internal.db.t' not found".
    if let Some(name) = text.strip_prefix("table '").and_then(|t| t.strip_suffix("' not found")) {
        let table = name.rsplit('.').next().unwrap_or(name);
        return FeError::UnknownTable(table.split(table::PARTITION_MARK).next().unwrap_or(table).to_string());
    }
    FeError::Analysis(text)
}
