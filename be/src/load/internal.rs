//! Internal endpoints between our own nodes, checked against the cluster token:
//! - `POST /api/_internal/load/rowset?tablet_id&txn_id&partition_id&num_rows`: a load's
//!   segment for one tablet (body: the Parquet file, empty for a rowset without rows);
//!   registered as the txn's pending rowset, visible after PUBLISH_VERSION.
//! - `POST /api/_internal/load/abort?tablet_id&txn_id`: drop the txn's pending rowset of
//!   that tablet and its files (a failed load cleaning up after itself; absent is OK).
//! - `GET /api/_internal/scan?tablet_id&version[&schema][&filter]`: the rows of the
//!   tablet's visible rowsets up to `version` (those passing `filter`, see
//!   [`super::filter`]), as an Arrow IPC stream.
//!
//! Failpoint (see `crate::storage`, feature `failpoints`): `load_rowset.before_meta` aborts a BE
//! after a received segment is on disk and before its pending rowset is committed.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::filter::RowFilter;
use super::read::{Projection, Source};
use super::types::ColKind;
use super::TOKEN_HEADER;
use crate::context::BeContext;
use crate::error::BeError;
use crate::storage::RowsetMeta;

/// A refusal: the HTTP status and its message.
type Fail = (StatusCode, String);

fn check_token(ctx: &BeContext, headers: &HeaderMap, q: &HashMap<String, String>) -> Result<(), Fail> {
    let expected = ctx.token();
    let given = headers.get(TOKEN_HEADER).and_then(|v| v.to_str().ok()).or(q.get("token").map(|s| s.as_str()));
    if expected.is_empty() || given != Some(expected.as_str()) {
        return Err((StatusCode::UNAUTHORIZED, "invalid token".into()));
    }
    Ok(())
}

fn param(q: &HashMap<String, String>, name: &str) -> Result<i64, Fail> {
    q.get(name).and_then(|v| v.parse().ok()).ok_or_else(|| (StatusCode::BAD_REQUEST, format!("missing or bad parameter {name}")))
}

/// Every internal endpoint: the cluster token, then the numeric parameters it needs.
fn authorized_params<const N: usize>(
    ctx: &BeContext,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
    names: [&str; N],
) -> Result<[i64; N], Fail> {
    check_token(ctx, headers, q)?;
    let mut out = [0; N];
    for (v, name) in out.iter_mut().zip(names) {
        *v = param(q, name)?;
    }
    Ok(out)
}

/// Run storage work off the async threads and answer 200 with its result as text.
async fn blocking_text<T: ToString + Send + 'static>(f: impl FnOnce() -> Result<T, BeError> + Send + 'static) -> Response {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => (StatusCode::OK, v.to_string()).into_response(),
        Ok(Err(e)) => be_err(e).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

fn be_err(e: BeError) -> Fail {
    let code = match e {
        BeError::NotFound(_) => StatusCode::NOT_FOUND,
        BeError::AlreadyExist(_) => StatusCode::CONFLICT,
        BeError::InvalidArgument(_) => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (code, e.to_string())
}

pub async fn receive_rowset(
    State(ctx): State<Arc<BeContext>>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let [tablet_id, txn_id, partition_id, num_rows] =
        match authorized_params(&ctx, &headers, &q, ["tablet_id", "txn_id", "partition_id", "num_rows"]) {
            Ok(p) => p,
            Err(r) => return r.into_response(),
        };
    let storage = ctx.storage.clone();
    let (flood_pct, flood_left) = (ctx.config.storage_flood_stage_usage_percent, ctx.config.storage_flood_stage_left_capacity_bytes);
    blocking_text(move || -> Result<String, BeError> {
        let dir = storage.tablet_dir(tablet_id)?;
        if let Some(root) = storage.data_dir_of(tablet_id) {
            root.check_flood_stage(body.len() as u64, flood_pct, flood_left)?;
        }
        let rowset_id = storage.next_rowset_id();
        let num_segments = if body.is_empty() { 0 } else { 1 };
        if num_segments == 1 {
            let path = dir.join(format!("{rowset_id}_0.dat"));
            let written = std::fs::File::create(&path).and_then(|mut f| {
                f.write_all(&body)?;
                f.sync_all()
            });
            if let Err(e) = written {
                // A disk that filled up mid-write keeps nothing of the attempt.
                let _ = std::fs::remove_file(&path);
                return Err(BeError::io(path.display().to_string(), e));
            }
        }
        // Tests abort the BE here: segment on disk, no pending rowset in the meta.
        crate::storage::failpoint!("load_rowset.before_meta");
        let rs = RowsetMeta {
            rowset_id: rowset_id.clone(),
            start_version: 0,
            end_version: 0,
            num_segments,
            num_rows,
            data_size: body.len() as i64,
            txn_id: Some(txn_id),
            remote: false,
            creation_time_s: chrono::Utc::now().timestamp(),
            delete_predicate: None,
        };
        if let Err(e) = storage.add_pending_rowset(tablet_id, txn_id, partition_id, rs) {
            if num_segments == 1 {
                let _ = std::fs::remove_file(dir.join(format!("{rowset_id}_0.dat")));
            }
            return Err(e);
        }
        Ok(rowset_id)
    })
    .await
}

pub async fn abort_rowset(
    State(ctx): State<Arc<BeContext>>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let [tablet_id, txn_id] = match authorized_params(&ctx, &headers, &q, ["tablet_id", "txn_id"]) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    let storage = ctx.storage.clone();
    blocking_text(move || super::gc::drop_pending(&storage, tablet_id, txn_id)).await
}

/// What a scan answers: the tablet's rows at `version` as an Arrow IPC stream (see
/// [`super::arrow_ipc`]), the FE's query engine reading them.
///
/// `schema` (JSON `[[name, type, default or null], ...]`: the columns to read, as the table
/// has them now) projects every segment onto those columns by name: a segment written
/// before a column was added gets its default (NULL without one), a column dropped since is
/// left out. This is how a light schema change reads rowsets of older schemas without
/// rewriting them. An empty list answers only the row count (batches without columns).
/// Without `schema`, the first segment's columns are read.
pub async fn scan(
    State(ctx): State<Arc<BeContext>>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let [tablet_id, version] = match authorized_params(&ctx, &headers, &q, ["tablet_id", "version"]) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    let schema = match q.get("schema").map(|s| Projection::parse(s)).transpose() {
        Ok(p) => p,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("schema: {e}")).into_response(),
    };
    let filter = match (q.get("filter"), &schema) {
        (None, _) => RowFilter::default(),
        (Some(f), Some(p)) => {
            let columns: Vec<(String, ColKind)> = p.columns.iter().map(|c| (c.name.clone(), c.kind)).collect();
            match RowFilter::parse(f, &columns) {
                Ok(f) => f,
                Err(e) => return (StatusCode::BAD_REQUEST, format!("filter: {e}")).into_response(),
            }
        }
        (Some(_), None) => return (StatusCode::BAD_REQUEST, "filter needs a schema".to_string()).into_response(),
    };
    // `show_hidden_columns` on the FE: rows whose delete sign is set are answered too.
    let keep_deleted = q.get("keep_deleted").is_some_and(|v| v == "true");
    let storage = ctx.storage.clone();
    // Remote (cooled-down) segments are fetched from the object store on the runtime.
    let runtime = tokio::runtime::Handle::current();
    let r = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, Fail> {
        let meta = storage.tablet_meta(tablet_id).ok_or_else(|| be_err(BeError::NotFound(format!("tablet {tablet_id}"))))?;
        if meta.max_version() < version {
            return Err((
                StatusCode::CONFLICT,
                format!("tablet {tablet_id} is at version {}, behind the requested {version}", meta.max_version()),
            ));
        }
        let source = Source { storage: &storage, runtime: &runtime, meta: &meta, keep_deleted };
        let internal = |e: arrow_schema::ArrowError| (StatusCode::INTERNAL_SERVER_ERROR, format!("tablet {tablet_id}: {e}"));
        if schema.as_ref().is_some_and(|p| p.columns.is_empty()) && filter.is_empty() {
            let n = source.count(version).map_err(be_err)?;
            return super::arrow_ipc::encode_count(n).map_err(internal);
        }
        let (columns, rows) = source.read(version, schema, &filter).map_err(be_err)?;
        super::arrow_ipc::encode(&columns, &rows).map_err(internal)
    })
    .await;
    match r {
        Ok(Ok(body)) => (StatusCode::OK, [("Content-Type", "application/vnd.apache.arrow.stream")], body).into_response(),
        Ok(Err(fail)) => fail.into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
