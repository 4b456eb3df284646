//! Internal endpoints between our own nodes, checked against the cluster token:
//! - `POST /api/_internal/load/rowset?tablet_id&txn_id&partition_id&num_rows`: a load's
//!   segment for one tablet (body: the Parquet file, empty for a rowset without rows);
//!   registered as the txn's pending rowset, visible after PUBLISH_VERSION.
//! - `POST /api/_internal/load/abort?tablet_id&txn_id`: drop the txn's pending rowset of
//!   that tablet and its files (a failed load cleaning up after itself; absent is OK).
//! - `GET /api/_internal/scan?tablet_id&version[&count_only=true]`: the rows (or only
//!   the count) of the tablet's visible rowsets up to `version`, as JSON.
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

use super::segment;
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
    blocking_text(move || -> Result<String, BeError> {
        let dir = storage.tablet_dir(tablet_id)?;
        let rowset_id = storage.next_rowset_id();
        let num_segments = if body.is_empty() { 0 } else { 1 };
        if num_segments == 1 {
            let path = dir.join(format!("{rowset_id}_0.dat"));
            let mut f = std::fs::File::create(&path).map_err(|e| BeError::io(path.display().to_string(), e))?;
            f.write_all(&body).map_err(|e| BeError::io(path.display().to_string(), e))?;
            f.sync_all().map_err(|e| BeError::io(path.display().to_string(), e))?;
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

/// What a scan answers: `{"tablet_id", "version", "num_rows", "columns": [...], "rows": [[...]]}`
/// (no columns/rows with `count_only`). Cells: numbers, decimal/largeint text, dates as text.
///
/// `schema` (optional, JSON `[[name, type, default or null], ...]`: the table's columns now)
/// projects every segment onto those columns by name: a segment written before a column
/// was added gets its default (NULL without one), a column dropped since is left out. This
/// is how a light schema change reads rowsets of older schemas without rewriting them.
/// Without it, rows are as each segment holds them and `columns` are the first segment's.
pub async fn scan(
    State(ctx): State<Arc<BeContext>>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let [tablet_id, version] = match authorized_params(&ctx, &headers, &q, ["tablet_id", "version"]) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    let count_only = q.get("count_only").is_some_and(|v| v == "true");
    let schema = match q.get("schema").map(|s| Projection::parse(s)).transpose() {
        Ok(p) => p,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("schema: {e}")).into_response(),
    };
    let storage = ctx.storage.clone();
    // Remote (cooled-down) segments are fetched from the object store on the runtime.
    let runtime = tokio::runtime::Handle::current();
    let r = tokio::task::spawn_blocking(move || -> Result<String, Fail> {
        let meta = storage.tablet_meta(tablet_id).ok_or_else(|| be_err(BeError::NotFound(format!("tablet {tablet_id}"))))?;
        if meta.max_version() < version {
            return Err((
                StatusCode::CONFLICT,
                format!("tablet {tablet_id} is at version {}, behind the requested {version}", meta.max_version()),
            ));
        }
        let rowsets: Vec<&RowsetMeta> = meta.rowsets.iter().filter(|r| r.end_version <= version).collect();
        let num_rows: i64 = rowsets.iter().map(|r| r.num_rows).sum();
        let mut out = String::new();
        out.push_str(&format!("{{\"tablet_id\":{tablet_id},\"version\":{version},\"num_rows\":{num_rows}"));
        if count_only {
            out.push('}');
            return Ok(out);
        }
        let dir = storage.tablet_dir(tablet_id).map_err(be_err)?;
        let mut columns: Option<Vec<(String, ColKind)>> = None;
        // Opened at the first remote rowset, then shared by the rest.
        let mut remote: Option<crate::cooldown::RemoteStore> = None;
        out.push_str(",\"rows\":[");
        let mut first = true;
        for rs in rowsets {
            for f in rs.segment_files() {
                let (bytes, shown) = if rs.remote {
                    if remote.is_none() {
                        remote = Some(crate::cooldown::RemoteStore::of_tablet(&storage, tablet_id).map_err(be_err)?);
                    }
                    let store = remote.as_ref().expect("just opened");
                    let b = runtime.block_on(store.segment(tablet_id, &f)).map_err(be_err)?;
                    (b, format!("remote {f}"))
                } else {
                    let path = dir.join(&f);
                    let b = std::fs::read(&path)
                        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, format!("{}: {e}", path.display())))?;
                    (b.into(), path.display().to_string())
                };
                let seg = segment::read(bytes).map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, format!("{shown}: {e}")))?;
                // Where each output column comes from in this segment.
                let pick: Option<Vec<Result<usize, &serde_json::Value>>> = schema.as_ref().map(|p| p.pick(&seg.columns));
                for row in &seg.rows {
                    if !first {
                        out.push(',');
                    }
                    first = false;
                    let cells: Vec<serde_json::Value> = match &pick {
                        None => row.iter().zip(&seg.columns).map(|(c, (_, k))| c.to_json(k)).collect(),
                        Some(pick) => pick
                            .iter()
                            .map(|src| match src {
                                Ok(i) => row[*i].to_json(&seg.columns[*i].1),
                                Err(default) => (*default).clone(),
                            })
                            .collect(),
                    };
                    out.push_str(&serde_json::Value::Array(cells).to_string());
                }
                if columns.is_none() {
                    columns = Some(seg.columns);
                }
            }
        }
        out.push_str("],\"columns\":");
        let names: Vec<String> = match &schema {
            Some(p) => p.columns.iter().map(|c| c.name.clone()).collect(),
            None => columns.unwrap_or_default().into_iter().map(|(n, _)| n).collect(),
        };
        out.push_str(&serde_json::to_string(&names).unwrap_or_else(|_| "[]".into()));
        out.push('}');
        Ok(out)
    })
    .await;
    match r {
        Ok(Ok(body)) => (StatusCode::OK, [("Content-Type", "application/json")], body).into_response(),
        Ok(Err(fail)) => fail.into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// A scan's `schema`: the columns to answer, each with the cell a segment lacking it gets.
struct Projection {
    columns: Vec<ProjectedColumn>,
}

struct ProjectedColumn {
    name: String,
    /// The default as a scan cell (NULL without one).
    missing: serde_json::Value,
}

impl Projection {
    fn parse(text: &str) -> Result<Projection, String> {
        let raw: Vec<(String, String, Option<String>)> = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let columns = raw
            .into_iter()
            .map(|(name, type_, default)| {
                let kind = ColKind::parse(&type_).map_err(|e| format!("column {name}: {e}"))?;
                let missing = match default {
                    Some(d) => kind.parse_text(&d).map_err(|e| format!("default of column {name}: {e}"))?.to_json(&kind),
                    None => serde_json::Value::Null,
                };
                Ok(ProjectedColumn { name, missing })
            })
            .collect::<Result<_, String>>()?;
        Ok(Projection { columns })
    }

    /// For each output column, its index in a segment of `columns`, or the cell to use.
    fn pick<'a>(&'a self, columns: &[(String, ColKind)]) -> Vec<Result<usize, &'a serde_json::Value>> {
        self.columns
            .iter()
            .map(|c| columns.iter().position(|(n, _)| n.eq_ignore_ascii_case(&c.name)).ok_or(&c.missing))
            .collect()
    }
}
