//! MySQL: a client connection's bytes through the FE's whole connection code: our login
//! (handshake response, auth switch), then opensrv-mysql's command phase (COM_QUERY,
//! COM_INIT_DB, COM_STMT_PREPARE/EXECUTE/CLOSE, ...) and our SQL parser and session
//! statements. A user `root` with no password lets inputs get past the login.

use std::sync::Arc;

use async_trait::async_trait;
use doris_fe::error::FeError;
use doris_fe::mysql::{Executor, OutColumn, QueryOutput, Session, StaticUsers, Value};
use doris_fe::query::QueryEnv;
use doris_fe::sql::Statement;

use crate::stream::{runtime, Chunked};

/// Answers every statement the server hands over without a catalog or query engine: the
/// decoders are the target, not DataFusion.
struct Answer;

#[async_trait]
impl Executor for Answer {
    async fn execute(&self, _session: &mut Session, _stmt: Statement) -> Result<QueryOutput, FeError> {
        Ok(QueryOutput::ok())
    }

    async fn query(&self, sql: &str, _env: &QueryEnv) -> Result<QueryOutput, FeError> {
        Ok(QueryOutput::rows(vec![OutColumn::text("q")], vec![vec![Value::Str(sql.chars().take(64).collect())]]))
    }
}

/// Input: a mode byte (chunk size, see `Chunked`), then what the client sends.
pub fn run(data: &[u8]) {
    let Some((&mode, bytes)) = data.split_first() else { return };
    let users = Arc::new(StaticUsers::new().with_user("root", "").with_user("admin", "secret"));
    runtime().block_on(doris_fe::mysql::fuzzing::connection(Chunked::new(bytes, mode), Arc::new(Answer), users));
}
