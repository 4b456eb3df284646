//! `GET|HEAD /api/_binlog/_download?method=M&...`: the rowsets a CCR target BE ingests
//! (the source side of `ingest_binlog`), with upstream's methods and parameters:
//!
//! | method                   | parameters                                   | 200 answer                          |
//! |--------------------------|----------------------------------------------|-------------------------------------|
//! | `get_binlog_info`        | `tablet_id`, `binlog_version`                | `<rowset_id>:<num_segments>`        |
//! | `get_rowset_meta`        | `tablet_id`, `rowset_id`, `binlog_version`   | the rowset's meta (JSON, see below) |
//! | `get_segment_file`       | `tablet_id`, `rowset_id`, `segment_index`    | the segment's bytes                 |
//! | `get_segment_index_file` | (any)                                        | never: 404, we keep no indexes      |
//!
//! The rowset meta is ours, not upstream's `RowsetMetaPB`: see
//! [`BinlogRowsetMeta`](crate::ingest::source::BinlogRowsetMeta).
//! Segment files answer with `Content-Length`, `Content-MD5` (hex) with `acquire_md5=true`
//! for local files, and honour a single `Range` (206/416) so a transfer can resume; HEAD
//! answers the headers only. Cooled-down segments are streamed from the object store.
//!
//! Errors: a missing or bad parameter 400, an unknown tablet, version, rowset or segment
//! 404, an unknown method 501 (`invalid method: M`), each with a text saying what is missing.
//!
//! What guards it: upstream's request carries no token (its check is a FIXME), so for
//! compatibility neither does ours. It is served only when `enable_feature_binlog = true`
//! in be.conf (else 500, upstream's `binlog feature is not enabled.`), it only reads, and
//! it only reaches the segment files of rowsets a tablet's meta holds, confined to the
//! storage roots: nothing else on disk can be named.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::download::{file_response, reply, resolve, Refused, Resolved, CONTENT_TYPE};
use super::router::HttpState;
use super::{parse_range, RangeAnswer};
use crate::error::BeError;
use crate::ingest::source::{self, SegmentAt, SourceError};

fn param<'a>(q: &'a HashMap<String, String>, name: &'static str) -> Result<&'a str, SourceError> {
    q.get(name).map(String::as_str).filter(|v| !v.is_empty()).ok_or(SourceError::MissingParam(name))
}

fn num(q: &HashMap<String, String>, name: &'static str) -> Result<i64, SourceError> {
    let v = param(q, name)?;
    v.trim().parse().map_err(|_| SourceError::BadParam { name, value: v.to_string() })
}

/// The one place a refusal becomes an HTTP status.
fn refusal(e: SourceError) -> Response {
    let status = match &e {
        SourceError::MissingParam(_) | SourceError::BadParam { .. } => StatusCode::BAD_REQUEST,
        SourceError::NoTablet(_)
        | SourceError::NoVersion { .. }
        | SourceError::NoRowset { .. }
        | SourceError::NoSegment { .. }
        | SourceError::NoIndexFiles(_) => StatusCode::NOT_FOUND,
        SourceError::Storage(BeError::NotFound(_)) => StatusCode::NOT_FOUND,
        SourceError::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    tracing::debug!(%status, error = %e, "binlog download refused");
    reply(status, e.to_string())
}

/// Storage lookups off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, SourceError> + Send + 'static) -> Result<T, SourceError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| SourceError::Storage(BeError::Internal(format!("lookup task failed: {e}"))))?
}

pub async fn handle(
    State(st): State<Arc<HttpState>>,
    method: Method,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    if !st.ctx.config.enable_feature_binlog {
        return reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            "binlog feature is not enabled. (set enable_feature_binlog = true in be.conf to serve CCR targets)",
        );
    }
    let pairs = match query {
        Ok(Query(p)) => p,
        Err(e) => return reply(StatusCode::BAD_REQUEST, format!("bad query string: {e}")),
    };
    let mut q: HashMap<String, String> = HashMap::new();
    for (k, v) in pairs {
        q.entry(k).or_insert(v); // the first occurrence wins, as in upstream's map
    }
    let m = q.get("method").cloned().unwrap_or_default();
    let r = match m.as_str() {
        "get_binlog_info" => binlog_info(&st, &q).await,
        "get_rowset_meta" => rowset_meta(&st, &q).await,
        "get_segment_file" => segment_file(&st, &q, &method, &headers).await,
        "get_segment_index_file" => num(&q, "tablet_id").and_then(|t| Err(SourceError::NoIndexFiles(t))),
        _ => return reply(StatusCode::NOT_IMPLEMENTED, format!("invalid method: {m}")),
    };
    r.unwrap_or_else(refusal)
}

async fn binlog_info(st: &HttpState, q: &HashMap<String, String>) -> Result<Response, SourceError> {
    let (version, tablet_id) = (num(q, "binlog_version")?, num(q, "tablet_id")?);
    let storage = st.ctx.storage.clone();
    let text = blocking(move || source::binlog_info(&storage, tablet_id, version)).await?;
    Ok(reply(StatusCode::OK, text))
}

async fn rowset_meta(st: &HttpState, q: &HashMap<String, String>) -> Result<Response, SourceError> {
    let tablet_id = num(q, "tablet_id")?;
    let rowset_id = param(q, "rowset_id")?.to_string();
    let version = num(q, "binlog_version")?;
    let storage = st.ctx.storage.clone();
    let meta = blocking(move || source::rowset_meta(&storage, tablet_id, &rowset_id, version)).await?;
    let body = serde_json::to_string(&meta).map_err(|e| BeError::Internal(format!("encoding rowset meta: {e}")))?;
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body).into_response())
}

async fn segment_file(st: &HttpState, q: &HashMap<String, String>, method: &Method, headers: &HeaderMap) -> Result<Response, SourceError> {
    let tablet_id = num(q, "tablet_id")?;
    let rowset_id = param(q, "rowset_id")?.to_string();
    let seg = num(q, "segment_index")?;
    let acquire_md5 = q.get("acquire_md5").is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    let storage = st.ctx.storage.clone();
    let inline = *method != Method::HEAD && !headers.contains_key(header::RANGE);
    let at = blocking(move || {
        let at = source::segment(&storage, tablet_id, &rowset_id, seg)?;
        // Local files are checked against the roots and opened in the same blocking call.
        Ok(match at {
            SegmentAt::Local(path) => Err(resolve(&storage, &path.to_string_lossy(), inline)),
            SegmentAt::Remote { tablet_id, file } => Ok((tablet_id, file)),
        })
    })
    .await?;
    match at {
        Err(Ok(Resolved::File(f))) => Ok(file_response(st, *f, method, headers, acquire_md5).await),
        Err(Ok(Resolved::Dir(p))) => Ok(reply(StatusCode::FORBIDDEN, format!("not a regular file: {}", p.display()))),
        Err(Err(Refused::Missing(m))) => Ok(reply(StatusCode::NOT_FOUND, format!("file not exist. {m}"))),
        Err(Err(Refused::OutsideRoots(p) | Refused::Special(p))) => {
            tracing::warn!(path = %p.display(), "binlog segment outside the storage roots or not a file; refused");
            Ok(reply(StatusCode::FORBIDDEN, format!("segment file is not servable: {}", p.display())))
        }
        Ok((tablet_id, file)) => remote_segment(st, tablet_id, &file, method, headers).await,
    }
}

/// A cooled-down segment, streamed from the tablet's storage policy's object store. No
/// `Content-MD5` (that would mean reading the object twice): the client checks the size.
async fn remote_segment(st: &HttpState, tablet_id: i64, file: &str, method: &Method, headers: &HeaderMap) -> Result<Response, SourceError> {
    let store = crate::cooldown::RemoteStore::of_tablet(&st.ctx.storage, tablet_id)?;
    let size = store.segment_size(tablet_id, file).await?.ok_or_else(|| {
        SourceError::Storage(BeError::NotFound(format!("file not exist. remote segment {file} of tablet {tablet_id}")))
    })?;
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok()).map_or(RangeAnswer::Full, |v| parse_range(v, size));
    let mut resp = Response::builder().header(header::CONTENT_TYPE, CONTENT_TYPE).header(header::ACCEPT_RANGES, "bytes");
    let (status, start, end) = match range {
        RangeAnswer::Unsatisfiable => {
            return Ok(Response::builder()
                .status(StatusCode::RANGE_NOT_SATISFIABLE)
                .header(header::CONTENT_RANGE, format!("bytes */{size}"))
                .body(Body::empty())
                .unwrap_or_else(|_| StatusCode::RANGE_NOT_SATISFIABLE.into_response()));
        }
        RangeAnswer::Part(s, e) => {
            resp = resp.header(header::CONTENT_RANGE, format!("bytes {s}-{e}/{size}"));
            (StatusCode::PARTIAL_CONTENT, s, e + 1)
        }
        RangeAnswer::Full => (StatusCode::OK, 0, size),
    };
    resp = resp.status(status).header(header::CONTENT_LENGTH, HeaderValue::from(end - start));
    let body = if *method == Method::HEAD || start == end {
        Body::empty()
    } else {
        Body::from_stream(store.segment_range(tablet_id, file, start..end).await?)
    };
    tracing::debug!(tablet_id, file, start, end, "serving a remote binlog segment");
    Ok(resp.body(body).unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()))
}
