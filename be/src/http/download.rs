//! `GET|HEAD /api/_tablet/_download?token=T&file=ABS_PATH[&acquire_md5=true]`: the file
//! and directory download API other BEs pull snapshots through.
//!
//! Upstream's answers are kept (401 for token and out-of-root paths, 403 for `..`, 404
//! for missing files, a directory as file names one per line, `Content-MD5` as hex).
//! Two additions a real Doris client never triggers: single `Range` requests (206/416),
//! used to resume partial pulls, and `with_stat=true` on a directory, answering
//! `name\tsize\tmd5hex` lines (`name\tsize` with `with_md5=false`) so a pull needs no
//! HEAD per file. A real BE ignores both parameters and answers names only, which is
//! how a client tells the two apart (tabs or not).
//!
//! A `with_stat` listing whose md5s are not all cached answers at once all the same, and
//! sends a blank line every `LISTING_KEEPALIVE` while it hashes, the lines at the end: a
//! client can then tell a remote that is busy hashing from one that froze without
//! allowing minutes of silence (blank lines are skipped by every listing reader).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use md5::{Digest, Md5};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use super::router::HttpState;

/// What upstream answers for files of unknown type; pull clients ignore it.
pub(super) const CONTENT_TYPE: &str = "text/plain; charset=utf-8";
/// Read size of the streamed file body.
const STREAM_CHUNK: usize = 256 * 1024;
/// Files hashed at once for one `with_stat` listing.
const LISTING_HASH_PARALLELISM: usize = 4;
/// Blank lines keep a hashing listing's client waiting; well under its 15 s of patience.
const LISTING_KEEPALIVE: std::time::Duration = std::time::Duration::from_secs(2);

/// The query parameters we act on; unknown ones (e.g. `channel`) are ignored as upstream does.
#[derive(Debug, Default)]
struct Params {
    token: Option<String>,
    file: Option<String>,
    acquire_md5: bool,
    with_stat: bool,
    /// With `with_stat`: include md5s (the default); `with_md5=false` skips the hashing
    /// for clients that check sizes only.
    with_md5: bool,
}

impl Params {
    fn from_pairs(pairs: Vec<(String, String)>) -> Params {
        let mut p = Params { with_md5: true, ..Params::default() };
        // The first occurrence wins, like a map lookup on the upstream side.
        for (k, v) in pairs {
            match k.as_str() {
                "token" if p.token.is_none() => p.token = Some(v),
                "file" if p.file.is_none() => p.file = Some(v),
                "acquire_md5" => p.acquire_md5 |= is_true(&v),
                "with_stat" => p.with_stat |= is_true(&v),
                "with_md5" => p.with_md5 = is_true(&v),
                _ => {}
            }
        }
        p
    }
}

fn is_true(v: &str) -> bool {
    v.eq_ignore_ascii_case("true") || v == "1"
}

pub(super) fn reply(status: StatusCode, body: impl Into<String>) -> Response {
    (status, [(header::CONTENT_TYPE, CONTENT_TYPE)], body.into()).into_response()
}

/// Compare without an early exit, so response time does not tell how much of a guessed
/// token was right.
fn token_matches(given: &str, expected: &str) -> bool {
    let (a, b) = (given.as_bytes(), expected.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub async fn handle(
    State(st): State<Arc<HttpState>>,
    method: Method,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let params = match query {
        Ok(Query(pairs)) => Params::from_pairs(pairs),
        Err(e) => return reply(StatusCode::BAD_REQUEST, format!("bad query string: {e}")),
    };

    // Token first, so nothing about the file system is revealed to a caller without it.
    let given = params.token.as_deref().unwrap_or("");
    if given.is_empty() {
        return reply(StatusCode::UNAUTHORIZED, "[NOT_AUTHORIZED]token is not specified.");
    }
    let expected = st.ctx.token();
    if expected.is_empty() || !token_matches(given, &expected) {
        tracing::warn!("download request with an invalid token refused");
        return reply(StatusCode::UNAUTHORIZED, "[NOT_AUTHORIZED]invalid token.");
    }

    let file = params.file.as_deref().unwrap_or("");
    if file.is_empty() {
        return reply(StatusCode::BAD_REQUEST, "parameter file not specified in url.");
    }
    if file.contains('\0') {
        return reply(StatusCode::BAD_REQUEST, "[INVALID_ARGUMENT]file path contains a NUL byte");
    }
    if file.contains("..") {
        tracing::warn!(file, "download of a path with '..' refused");
        return reply(StatusCode::FORBIDDEN, "[FORBIDDEN]Not allowed to read relative path");
    }
    if !file.starts_with('/') {
        tracing::warn!(file, "download of a relative path refused");
        return reply(StatusCode::FORBIDDEN, "[FORBIDDEN]file path must be absolute");
    }

    // GETs of small whole files are read in the same blocking call that checks the path.
    let inline = method != Method::HEAD && !headers.contains_key(header::RANGE);
    let storage = st.ctx.storage.clone();
    let requested = file.to_string();
    let resolved = match tokio::task::spawn_blocking(move || resolve(&storage, &requested, inline)).await {
        Ok(r) => r,
        Err(e) => return reply(StatusCode::INTERNAL_SERVER_ERROR, format!("path check failed: {e}")),
    };
    match resolved {
        Ok(Resolved::Dir(path)) => {
            let stat = match (params.with_stat, params.with_md5) {
                (false, _) => Stat::Names,
                (true, false) => Stat::Sizes,
                (true, true) => Stat::SizesAndMd5s,
            };
            dir_response(st, &path, stat).await
        }
        Ok(Resolved::File(f)) => file_response(&st, *f, &method, &headers, params.acquire_md5).await,
        Err(Refused::Missing(m)) => reply(StatusCode::NOT_FOUND, format!("[NOT_FOUND]{m}")),
        Err(Refused::OutsideRoots(canonical)) => {
            tracing::warn!(path = %canonical.display(), "download outside the storage roots refused");
            reply(StatusCode::UNAUTHORIZED, format!("[NOT_AUTHORIZED]file path is not allowed: {}", canonical.display()))
        }
        Err(Refused::Special(path)) => {
            reply(StatusCode::FORBIDDEN, format!("[FORBIDDEN]not a regular file: {}", path.display()))
        }
    }
}

/// Files up to this size are answered from memory rather than streamed.
const INLINE_MAX: u64 = 256 * 1024;

pub(super) enum Resolved {
    Dir(PathBuf),
    File(Box<OpenFile>),
}

pub(super) struct OpenFile {
    path: PathBuf,
    file: std::fs::File,
    meta: std::fs::Metadata,
    /// The whole content, for small files when `inline` was asked.
    body: Option<Vec<u8>>,
}

pub(super) enum Refused {
    Missing(String),
    OutsideRoots(PathBuf),
    Special(PathBuf),
}

/// Canonicalize, confine to a storage root, open. Blocking.
pub(super) fn resolve(storage: &crate::storage::StorageEngine, file: &str, inline: bool) -> Result<Resolved, Refused> {
    use std::io::Read;
    let canonical = std::fs::canonicalize(file).map_err(|e| Refused::Missing(format!("{file}: {e}")))?;
    let path = storage.confine(&canonical).ok_or(Refused::OutsideRoots(canonical))?;
    let meta = std::fs::metadata(&path).map_err(|e| Refused::Missing(format!("{}: {e}", path.display())))?;
    if meta.is_dir() {
        return Ok(Resolved::Dir(path));
    }
    if !meta.is_file() {
        return Err(Refused::Special(path));
    }
    let mut f = std::fs::File::open(&path).map_err(|e| Refused::Missing(format!("{}: {e}", path.display())))?;
    // Size from the open handle: what we send is what we announce.
    let meta = f.metadata().map_err(|e| Refused::Missing(format!("{}: {e}", path.display())))?;
    let mut body = None;
    if inline && meta.len() <= INLINE_MAX {
        let mut v = Vec::with_capacity(meta.len() as usize);
        (&mut f).take(meta.len()).read_to_end(&mut v).map_err(|e| Refused::Missing(format!("{}: {e}", path.display())))?;
        if v.len() as u64 == meta.len() {
            body = Some(v);
        }
    }
    Ok(Resolved::File(Box::new(OpenFile { path, file: f, meta, body })))
}

/// Regular files only (symlinks are not followed: a link could point out of the root),
/// sorted; names that cannot be carried by the line format are left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stat {
    /// `name` lines, as upstream.
    Names,
    /// `name\tsize` lines.
    Sizes,
    /// `name\tsize\tmd5hex` lines.
    SizesAndMd5s,
}

async fn dir_response(st: Arc<HttpState>, dir: &Path, stat: Stat) -> Response {
    let d = dir.to_path_buf();
    let listed = tokio::task::spawn_blocking(move || list_files(&d))
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(format!("listing task failed: {e}"))));
    let files = match listed {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot list directory");
            return reply(StatusCode::INTERNAL_SERVER_ERROR, format!("cannot list {}: {e}", dir.display()));
        }
    };
    let mut body = String::new();
    match stat {
        Stat::Names => {
            for f in &files {
                body.push_str(&f.name);
                body.push('\n');
            }
            return reply(StatusCode::OK, body);
        }
        Stat::Sizes => {
            for f in &files {
                body.push_str(&format!("{}\t{}\n", f.name, f.meta.len()));
            }
            return reply(StatusCode::OK, body);
        }
        Stat::SizesAndMd5s => {}
    }
    let cached: Vec<Option<String>> = files.iter().map(|f| st.md5.get(&f.path, &f.meta)).collect();
    if cached.iter().all(Option::is_some) {
        let md5s: Vec<String> = cached.into_iter().flatten().collect();
        return reply(StatusCode::OK, stat_lines(&files, &md5s));
    }
    // Hashing may take a while: answer now, keep the client waiting with blank lines.
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<bytes::Bytes>>(4);
    let dir = dir.to_path_buf();
    tokio::spawn(async move {
        let hashing = listing_md5s(&st, &files, cached);
        tokio::pin!(hashing);
        // No blank line for a listing hashed quickly: it reads exactly as before.
        let mut keepalive = tokio::time::interval_at(tokio::time::Instant::now() + LISTING_KEEPALIVE, LISTING_KEEPALIVE);
        loop {
            tokio::select! {
                md5s = &mut hashing => {
                    let sent = match md5s {
                        Ok(md5s) => Ok(bytes::Bytes::from(stat_lines(&files, &md5s))),
                        Err(e) => {
                            tracing::warn!(dir = %dir.display(), error = %e, "cannot hash a listed file; aborting the listing");
                            Err(e) // the connection is cut, so the client sees a failed listing
                        }
                    };
                    let _ = tx.send(sent).await;
                    return;
                }
                _ = keepalive.tick() => match tx.try_send(Ok(bytes::Bytes::from_static(b"\n"))) {
                    Ok(()) | Err(tokio::sync::mpsc::error::TrySendError::Full(_)) => {}
                    Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) => {
                        tracing::debug!(dir = %dir.display(), "listing client went away");
                        return; // hashes already started finish and stay cached
                    }
                },
            }
        }
    });
    let body = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, CONTENT_TYPE)
        .body(Body::from_stream(body))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// `name\tsize\tmd5hex` lines.
fn stat_lines(files: &[Listed], md5s: &[String]) -> String {
    let mut body = String::new();
    for (f, md5) in files.iter().zip(md5s) {
        body.push_str(&format!("{}\t{}\t{md5}\n", f.name, f.meta.len()));
    }
    body
}

struct Listed {
    name: String,
    path: PathBuf,
    meta: std::fs::Metadata,
}

/// Blocking.
fn list_files(dir: &Path) -> std::io::Result<Vec<Listed>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        if !e.file_type()?.is_file() {
            continue;
        }
        match e.file_name().into_string() {
            Ok(name) if !name.contains(['\n', '\r', '\t']) => {
                // lstat: the entry itself, never what a link points at.
                let meta = e.metadata()?;
                out.push(Listed { name, path: e.path(), meta });
            }
            other => tracing::warn!(dir = %dir.display(), name = ?other, "file name not listable, left out"),
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Bytes hashed per blocking call when a listing meets files not in the md5 cache: many
/// small files share a call, big ones get one each and run side by side.
const HASH_BATCH_BYTES: u64 = 8 << 20;

/// The md5 of every listed file, `cached` or hashed now, in `files` order. Each hash is
/// cached as soon as it is known, so a listing abandoned half way is not hashed twice.
async fn listing_md5s(st: &Arc<HttpState>, files: &[Listed], cached: Vec<Option<String>>) -> std::io::Result<Vec<String>> {
    let mut out = cached;
    let mut batches: Vec<Vec<usize>> = Vec::new();
    let mut batch_bytes = u64::MAX;
    for (i, f) in files.iter().enumerate() {
        if out[i].is_some() {
            continue;
        }
        if batch_bytes >= HASH_BATCH_BYTES {
            batches.push(Vec::new());
            batch_bytes = 0;
        }
        batches.last_mut().expect("pushed above").push(i);
        batch_bytes += f.meta.len();
    }
    let hashed: Vec<std::io::Result<Vec<(usize, String)>>> = futures::stream::iter(batches)
        .map(|idx| {
            let todo: Vec<(usize, PathBuf, std::fs::Metadata)> =
                idx.iter().map(|&i| (i, files[i].path.clone(), files[i].meta.clone())).collect();
            let st = st.clone();
            async move {
                tokio::task::spawn_blocking(move || {
                    todo.into_iter()
                        .map(|(i, p, meta)| {
                            let (_, h) = crate::storage::md5_cache::hash_file(&p)?;
                            st.md5.put(&p, &meta, h.clone());
                            Ok((i, h))
                        })
                        .collect()
                })
                .await
                .unwrap_or_else(|e| Err(std::io::Error::other(format!("md5 task failed: {e}"))))
            }
        })
        .buffer_unordered(LISTING_HASH_PARALLELISM)
        .collect()
        .await;
    for batch in hashed {
        for (i, h) in batch? {
            out[i] = Some(h);
        }
    }
    Ok(out.into_iter().map(|h| h.unwrap_or_default()).collect())
}

/// How a `Range` header applies to a file of `size` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeAnswer {
    /// No range, or one we ignore (other units, several ranges, bad syntax): 200.
    Full,
    /// Inclusive byte range: 206.
    Part(u64, u64),
    /// 416.
    Unsatisfiable,
}

/// A single `bytes=` range: `N-`, `N-M` or `-SUFFIX`. Malformed headers are ignored
/// (answered in full) as RFC 9110 asks.
pub fn parse_range(value: &str, size: u64) -> RangeAnswer {
    let Some(spec) = value.trim().strip_prefix("bytes=") else { return RangeAnswer::Full };
    if spec.contains(',') {
        return RangeAnswer::Full;
    }
    let Some((a, b)) = spec.trim().split_once('-') else { return RangeAnswer::Full };
    let num = |s: &str| -> Option<u64> {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit())).then(|| s.parse().ok()).flatten()
    };
    match (a.trim().is_empty(), b.trim().is_empty()) {
        (true, true) => RangeAnswer::Full,
        (true, false) => match num(b) {
            None => RangeAnswer::Full,
            Some(0) => RangeAnswer::Unsatisfiable,
            Some(_) if size == 0 => RangeAnswer::Unsatisfiable,
            Some(n) => RangeAnswer::Part(size - n.min(size), size - 1),
        },
        (false, open_end) => {
            let Some(start) = num(a) else { return RangeAnswer::Full };
            let end = if open_end {
                u64::MAX
            } else {
                match num(b) {
                    Some(e) if e >= start => e,
                    _ => return RangeAnswer::Full,
                }
            };
            if start >= size {
                RangeAnswer::Unsatisfiable
            } else {
                RangeAnswer::Part(start, end.min(size - 1))
            }
        }
    }
}

pub(super) async fn file_response(st: &HttpState, f: OpenFile, method: &Method, headers: &HeaderMap, acquire_md5: bool) -> Response {
    let OpenFile { path, file, meta, body } = f;
    let size = meta.len();
    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(v) => parse_range(v, size),
        None => RangeAnswer::Full,
    };
    if range == RangeAnswer::Unsatisfiable {
        return Response::builder()
            .status(StatusCode::RANGE_NOT_SATISFIABLE)
            .header(header::CONTENT_RANGE, format!("bytes */{size}"))
            .header(header::CONTENT_TYPE, CONTENT_TYPE)
            .body(Body::empty())
            .unwrap_or_else(|_| StatusCode::RANGE_NOT_SATISFIABLE.into_response());
    }

    let mut resp = Response::builder()
        .header(header::CONTENT_TYPE, CONTENT_TYPE)
        .header(header::ACCEPT_RANGES, "bytes");
    if acquire_md5 && range == RangeAnswer::Full {
        let md5 = match &body {
            Some(b) => Ok(hex::encode(Md5::digest(b))),
            None => st.md5.md5(&path, &meta).await,
        };
        match md5 {
            Ok(h) => resp = resp.header("Content-MD5", h),
            Err(e) => {
                return reply(StatusCode::INTERNAL_SERVER_ERROR, format!("cannot hash {}: {e}", path.display()))
            }
        }
    }
    let (status, start, len) = match range {
        RangeAnswer::Part(s, e) => {
            resp = resp.header(header::CONTENT_RANGE, format!("bytes {s}-{e}/{size}"));
            (StatusCode::PARTIAL_CONTENT, s, e - s + 1)
        }
        _ => (StatusCode::OK, 0, size),
    };
    resp = resp.status(status).header(header::CONTENT_LENGTH, HeaderValue::from(len));

    if method == Method::HEAD {
        return resp.body(Body::empty()).unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());
    }
    if let Some(b) = body {
        return resp.body(Body::from(b)).unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());
    }
    let mut file = tokio::fs::File::from_std(file);
    if start > 0 {
        if let Err(e) = file.seek(std::io::SeekFrom::Start(start)).await {
            return reply(StatusCode::INTERNAL_SERVER_ERROR, format!("cannot seek {}: {e}", path.display()));
        }
    }
    tracing::debug!(path = %path.display(), start, len, "serving file");
    let stream = ReaderStream::with_capacity(file.take(len), STREAM_CHUNK);
    resp.body(Body::from_stream(stream)).unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        use RangeAnswer::*;
        assert_eq!(parse_range("bytes=0-", 10), Part(0, 9));
        assert_eq!(parse_range("bytes=4-", 10), Part(4, 9));
        assert_eq!(parse_range("bytes=4-6", 10), Part(4, 6));
        assert_eq!(parse_range("bytes=4-60", 10), Part(4, 9));
        assert_eq!(parse_range("bytes=-3", 10), Part(7, 9));
        assert_eq!(parse_range("bytes=-30", 10), Part(0, 9));
        assert_eq!(parse_range("bytes=10-", 10), Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 10), Unsatisfiable);
        assert_eq!(parse_range("bytes=0-", 0), Unsatisfiable);
        assert_eq!(parse_range("bytes=6-4", 10), Full);
        assert_eq!(parse_range("bytes=0-1,3-4", 10), Full);
        assert_eq!(parse_range("items=0-1", 10), Full);
        assert_eq!(parse_range("bytes=x-", 10), Full);
        assert_eq!(parse_range("bytes=+1-", 10), Full);
        assert_eq!(parse_range("bytes=-", 10), Full);
    }

    #[test]
    fn token_compare() {
        assert!(token_matches("abc", "abc"));
        assert!(!token_matches("abd", "abc"));
        assert!(!token_matches("ab", "abc"));
    }
}
