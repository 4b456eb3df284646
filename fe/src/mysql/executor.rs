//! The seam between the protocol layer and the catalog: statements the
//! server does not answer itself go to an [`Executor`].

use async_trait::async_trait;

use super::results::QueryOutput;
use super::session::Session;
use crate::error::FeError;
use crate::sql::Statement;

#[async_trait]
pub trait Executor: Send + Sync {
    /// Runs one statement for `session`. `USE db` arrives here too (from the
    /// query or COM_INIT_DB); on success the server sets `session.current_db`.
    async fn execute(&self, session: &mut Session, stmt: Statement) -> Result<QueryOutput, FeError>;
}
