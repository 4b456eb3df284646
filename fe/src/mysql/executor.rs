//! The seam between the protocol layer and the catalog: statements the
//! server does not answer itself go to an [`Executor`].

use async_trait::async_trait;

use super::results::QueryOutput;
use super::session::Session;
use crate::error::FeError;
use crate::query::{QueryEngine, QueryEnv};
use crate::sql::Statement;

#[async_trait]
pub trait Executor: Send + Sync {
    /// Runs one statement for `session`. `USE db` arrives here too (from the
    /// query or COM_INIT_DB); on success the server sets `session.current_db`.
    async fn execute(&self, session: &mut Session, stmt: Statement) -> Result<QueryOutput, FeError>;

    /// Runs one INSERT as `env` sees the session (its source query is one).
    async fn insert(&self, stmt: crate::sql::InsertStmt, _env: &QueryEnv) -> Result<QueryOutput, FeError> {
        Err(FeError::not_supported(format!("{} is not supported without a catalog", if stmt.overwrite { "INSERT OVERWRITE" } else { "INSERT" })))
    }

    /// Runs one query (`SELECT ...`) as `env` sees the session. Without a catalog, only
    /// queries that read no table (`SELECT @@x`, `SELECT DATABASE()`) can be answered.
    async fn query(&self, sql: &str, env: &QueryEnv) -> Result<QueryOutput, FeError> {
        let result = QueryEngine::without_catalog().run(sql, env).await?;
        super::arrow_rows::output(&result)
    }
}
