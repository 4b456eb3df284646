//! Queries: planned and run by the query engine (`crate::query`), the answer spelled as
//! a MySQL result set.

use crate::error::FeError;
use crate::mysql::{query_output, QueryOutput};
use crate::query::{QueryEngine, QueryEnv};

pub async fn run(engine: &QueryEngine, sql: &str, env: &QueryEnv) -> Result<QueryOutput, FeError> {
    let result = engine.run(sql, env).await?;
    query_output(&result)
}
