//! The BE's HTTP inputs: stream load headers through `LoadOptions::from_headers`, and
//! requests through the BE's real router (download API and `/api/_binlog/_download`: query
//! strings, `file` paths, `Range` and other headers) over a real storage root holding a
//! snapshot. Seeds name its files under `ROOT`; a run may put the root elsewhere
//! (`DORIS_FUZZ_HTTP_ROOT`, set per instance by fuzz/run.sh, as the storage root's meta
//! store can be open in one process at a time) and those paths are pointed there.

use std::path::PathBuf;
use std::sync::OnceLock;

use axum::body::Body;
use axum::Router;
use doris_be::load::options::LoadOptions;
use doris_be::storage::StorageEngine;
use doris_be::{BeConfig, BeContext};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request};
use tower::ServiceExt;

use crate::stream::runtime;

pub const ROOT: &str = "/tmp/doris-fuzz-be/storage";
pub const TOKEN: &str = "fuzz-token";
/// A snapshot's files under `ROOT`, as a pull lists and downloads them.
const SNAPSHOT: &str = "snapshot/20260101000000.1.3600/1001/368169781";

/// Where this run's storage root is.
fn root() -> &'static str {
    static R: OnceLock<String> = OnceLock::new();
    R.get_or_init(|| std::env::var("DORIS_FUZZ_HTTP_ROOT").unwrap_or_else(|_| ROOT.to_string()))
}

fn router() -> &'static Router {
    static R: OnceLock<Router> = OnceLock::new();
    R.get_or_init(|| {
        let root = PathBuf::from(root());
        let dir = root.join(SNAPSHOT);
        std::fs::create_dir_all(&dir).expect("snapshot dir");
        for (name, len) in [("1001.hdr", 300), ("0200000000000001_0.dat", 70_000), ("empty.idx", 0)] {
            let path = dir.join(name);
            if !path.exists() {
                std::fs::write(&path, (0..len).map(|i| (i * 7) as u8).collect::<Vec<u8>>()).expect("snapshot file");
            }
        }
        let config = BeConfig {
            storage_root_paths: vec![root],
            storage_min_left_capacity_bytes: 0,
            enable_feature_binlog: true,
            ..Default::default()
        };
        let _guard = runtime().enter();
        let storage = StorageEngine::open(&config).expect("storage");
        let ctx = BeContext::new(config, storage);
        ctx.master.write().unwrap().token = TOKEN.to_string();
        doris_be::http::router(ctx)
    })
}

pub fn init() {
    let _ = router();
}

/// `name: value` lines; lines that are no valid header are skipped.
pub(crate) fn headers(text: &[u8]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for line in text.split(|b| *b == b'\n') {
        let Some(colon) = line.iter().position(|b| *b == b':') else { continue };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value)) {
            h.append(n, v);
        }
    }
    h
}

/// Input: a mode byte, then text. Mode 0: stream load headers (`name: value` lines).
/// Otherwise a request: the first line is the query string (after `?`) of the download API
/// (bit 1 clear) or of `/api/_binlog/_download` (bit 1 set), the other lines its headers;
/// bit 2 makes it a HEAD.
pub fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode == 0 {
        let _ = LoadOptions::from_headers(&headers(rest));
        return;
    }
    let (query, head) = match rest.iter().position(|b| *b == b'\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let path = if mode & 2 == 0 { "/api/_tablet/_download" } else { "/api/_binlog/_download" };
    let Ok(query) = std::str::from_utf8(query) else { return };
    let query = query.replace(ROOT, root());
    let mut req = Request::builder().method(if mode & 4 == 0 { Method::GET } else { Method::HEAD });
    *req.headers_mut().unwrap() = headers(head);
    let Ok(req) = req.uri(format!("{path}?{query}")).body(Body::empty()) else { return };
    runtime().block_on(async {
        let resp = router().clone().oneshot(req).await.expect("infallible");
        // The whole body, as a pull reads it; a download is at most the snapshot's size.
        let _ = axum::body::to_bytes(resp.into_body(), 1 << 20).await;
    });
}

