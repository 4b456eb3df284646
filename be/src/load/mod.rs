//! Loading rows: stream load on the BE webserver, the typed rows it parses, where they go
//! (partition and bucket), the Parquet segment files they are stored in, and the internal
//! endpoints that move a load's segments to every replica and read tablets back.
//!
//! - `types`: column kinds and typed cells; CSV text to cell.
//! - `csv`: a body to rows, with filtered rows counted.
//! - `hash`: distribution bucket of a row.
//! - `segment`: Parquet segment writer and reader.
//! - `plan`: the FE's write plan and row routing.
//! - `options`: a stream load's headers, read and checked.
//! - `stream_load`: `PUT /api/{db}/{table}/_stream_load`.
//! - `read`: a tablet's rows at a version, merged as its table model reads them.
//! - `stream_load_2pc`: `PUT /api/{db}/_stream_load_2pc` (two-phase commit's second step).
//! - `internal`: rowset transfer and scan endpoints (token-checked).
//! - `gc`: dropping pending rowsets of aborted or expired loads.
//! - `error_log`: the rows a load filtered, behind its ErrorURL.
//! - `transform`: `columns` expressions and `where`, evaluated by DataFusion.
//! - `hidden`: what a load writes into a UNIQUE table's hidden columns (merge_type,
//!   delete, function_column.sequence_col, hidden_columns).

pub mod arrow_ipc;
pub mod body;
pub mod complex;
pub mod csv;
pub mod error_log;
pub mod filter;
pub mod gc;
pub mod hash;
pub mod hidden;
pub mod internal;
pub mod json;
pub mod options;
pub mod plan;
pub mod read;
pub mod segment;
pub mod transform;
pub mod stream_load;
pub mod stream_load_2pc;
pub mod types;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::HeaderMap;
use axum::routing::{get, post, put};
use axum::Router;

use crate::context::BeContext;

/// The header carrying the cluster token on our internal HTTP calls.
pub const TOKEN_HEADER: &str = "token";

/// The load routes, to merge into the webserver's router (any state type).
pub fn router<S: Clone + Send + Sync + 'static>(ctx: Arc<BeContext>) -> Router<S> {
    Router::new()
        .route("/api/{db}/{table}/_stream_load", put(stream_load::handle))
        .route("/api/{db}/_stream_load_2pc", put(stream_load_2pc::handle))
        .route("/api/_load_error_log", get(error_log::serve))
        .route("/api/_internal/load/rowset", post(internal::receive_rowset))
        .route("/api/_internal/load/abort", post(internal::abort_rowset))
        .route("/api/_internal/load/clear_txn", post(gc::clear_txn_handler))
        .route("/api/_internal/scan", get(internal::scan))
        .layer(DefaultBodyLimit::disable())
        .with_state(ctx)
}

/// `Authorization: Basic base64(user:password)`.
pub fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    use headers::authorization::{Authorization, Basic};
    use headers::HeaderMapExt;
    let auth = headers.typed_get::<Authorization<Basic>>()?;
    Some((auth.username().to_string(), auth.password().to_string()))
}

/// A header's value, trimmed; None when absent, not text, or empty.
pub(crate) fn header(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name).and_then(|v| v.to_str().ok()).map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// Who a user-facing load request acts as: (user, password, cluster token). Internal loads
/// (the FE's INSERT) carry upstream's `token` header instead of a password, and the FE
/// checks either. None without Basic authorization or a token.
pub(crate) fn caller(h: &HeaderMap) -> Option<(String, String, Option<String>)> {
    let token = header(h, TOKEN_HEADER);
    match (basic_auth(h), &token) {
        (Some((user, passwd)), _) => Some((user, passwd, token)),
        (None, Some(_)) => Some(("root".to_string(), String::new(), token)),
        (None, None) => None,
    }
}

/// A FrontendService client of the master FE this BE heard from last.
pub(crate) fn master_fe_client(
    ctx: &BeContext,
    timeout: std::time::Duration,
) -> Result<doris_thrift::services::FrontendServiceClient, String> {
    let addr = ctx.master().fe_addr.ok_or("this BE has not received a heartbeat from the master FE yet")?;
    let opts = doris_thrift::transport::ClientOptions { call_timeout: timeout, ..Default::default() };
    Ok(doris_thrift::services::FrontendServiceClient::new(
        ctx.fe_pool.channel(format!("{}:{}", addr.hostname, addr.port), opts),
    ))
}
