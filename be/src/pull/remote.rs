//! Requests to a remote BE's download API (listing, HEAD) and the retry policy every
//! request of a pull follows.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rand::Rng;
use reqwest::header::CONTENT_LENGTH;
use reqwest::StatusCode;

use super::plan::{parse_listing, Listing, RemoteFile, TabletSpec};
use crate::context::BeContext;
use crate::error::{BeError, Result};

/// How long a remote may stay silent on a request before the attempt is given up: no
/// response headers, or no body bytes, for this long. Upstream gives a listing 15 s in all;
/// we bound silence instead of the total, so a big file or a listing our BEs must hash
/// first (they send blank keep-alive lines meanwhile) takes as long as it needs while a
/// frozen remote is noticed as fast as upstream notices it. `download_reply_timeout_sec`
/// (default 15).
pub fn reply_timeout(ctx: &BeContext) -> Duration {
    Duration::from_secs(ctx.config.download_reply_timeout_sec)
}
/// Cap on a whole listing, however steadily the remote shows it is still hashing.
const LIST_MAX: Duration = Duration::from_secs(3600);
/// A HEAD with `acquire_md5` makes the remote hash the file before it answers, and a HEAD
/// has no body to show progress with: allow for a big file. Without md5: as a reply.
const HEAD_MD5_TIMEOUT: Duration = Duration::from_secs(120);
/// A GET may take this long at least, more for big files (see `get_timeout`).
const MIN_GET_TIMEOUT: Duration = Duration::from_secs(300);
/// The slowest transfer rate a GET's timeout allows for (upstream: 50 KiB/s).
const LOW_SPEED_BYTES_PER_SEC: u64 = 50 * 1024;
/// Upstream waits 1 s between attempts; we start lower and back off.
const BACKOFF_START: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

pub fn get_timeout(bytes: u64) -> Duration {
    MIN_GET_TIMEOUT.max(Duration::from_secs(bytes / LOW_SPEED_BYTES_PER_SEC))
}

/// A failed attempt and whether another one could succeed.
#[derive(Debug)]
pub struct Attempt {
    pub err: BeError,
    pub retry: bool,
}

impl Attempt {
    pub fn retry(err: BeError) -> Attempt {
        Attempt { err, retry: true }
    }
    pub fn fatal(err: BeError) -> Attempt {
        Attempt { err, retry: false }
    }
}

impl From<BeError> for Attempt {
    fn from(err: BeError) -> Attempt {
        Attempt::fatal(err)
    }
}

/// A transport error; the URL (and with it the token) is stripped from the text.
pub fn net_err(shown: &str, e: reqwest::Error) -> Attempt {
    let timeout = e.is_timeout();
    let e = e.without_url();
    let mut msg = format!("{shown}: {e}");
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        msg.push_str(&format!(": {s}"));
        src = s.source();
    }
    Attempt::retry(if timeout { BeError::Timeout(msg) } else { BeError::Http(msg) })
}

/// A non-success answer. 401 means the token is wrong for that BE: retrying will not help.
pub async fn status_err(shown: &str, resp: reqwest::Response) -> Attempt {
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    let body: String = body.trim().chars().take(200).collect();
    if status == StatusCode::UNAUTHORIZED {
        return Attempt::fatal(BeError::NotAuthorized(format!(
            "remote BE refused the token for {shown} (HTTP 401: {body})"
        )));
    }
    let retry = status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::REQUEST_TIMEOUT;
    let err = BeError::Http(format!("{shown}: HTTP {status}: {body}"));
    Attempt { err, retry }
}

/// Fail the attempt when `fut` takes longer than `limit`: the remote went silent.
pub async fn within<T>(limit: Duration, shown: &str, fut: impl Future<Output = T>) -> std::result::Result<T, Attempt> {
    tokio::time::timeout(limit, fut).await.map_err(|_| {
        Attempt::retry(BeError::Timeout(format!("{shown}: the remote BE sent nothing for {} s", limit.as_secs())))
    })
}

/// Where a pull's requests tell of attempts that failed and will be tried again; the pull
/// reports progress to the FE for each, so a stuck pull stays visible and cancellable.
#[derive(Debug, Clone)]
pub struct Watch(tokio::sync::mpsc::UnboundedSender<()>);

impl Watch {
    pub fn new() -> (Watch, tokio::sync::mpsc::UnboundedReceiver<()>) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        (Watch(tx), rx)
    }

    fn retrying(&self) {
        // The receiver is gone only once the pull ended; nobody is left to tell.
        let _ = self.0.send(());
    }
}

/// What a retried request is about, for its log lines.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub what: &'static str,
    /// The local tablet the request is for.
    pub tablet_id: i64,
    /// The remote file or directory (`host:port:/path`, no token).
    pub shown: &'a str,
}

/// Run `op` until it succeeds, fails for good, or `download_max_retries` retries are used.
/// Every failed attempt counts in `download_errors`, is logged, and is told to `watch`.
pub async fn with_retries<T, F, Fut>(ctx: &BeContext, watch: &Watch, req: Request<'_>, mut op: F) -> Result<T>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = std::result::Result<T, Attempt>>,
{
    let max = ctx.config.download_max_retries;
    let mut attempt = 0u32;
    loop {
        match op(attempt).await {
            Ok(v) => return Ok(v),
            Err(a) => {
                ctx.metrics.download_errors.fetch_add(1, Ordering::Relaxed);
                if !a.retry {
                    return Err(a.err);
                }
                if attempt >= max {
                    tracing::warn!(what = req.what, tablet_id = req.tablet_id, remote = req.shown, attempts = attempt + 1, error = %a.err, "pull request failed, giving up");
                    return Err(gave_up(a.err, attempt + 1));
                }
                let wait = backoff(attempt);
                tracing::warn!(
                    what = req.what,
                    tablet_id = req.tablet_id,
                    remote = req.shown,
                    attempt = attempt + 1,
                    error = %a.err,
                    wait_ms = wait.as_millis() as u64,
                    "pull request failed, retrying"
                );
                watch.retrying();
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
        }
    }
}

/// Say in the task's status that retries were spent (the text already names the remote).
fn gave_up(err: BeError, attempts: u32) -> BeError {
    let note = |m: String| format!("{m} (gave up after {attempts} attempts)");
    match err {
        BeError::Timeout(m) => BeError::Timeout(note(m)),
        BeError::Http(m) => BeError::Http(note(m)),
        BeError::Corruption(m) => BeError::Corruption(note(m)),
        other => other,
    }
}

fn backoff(attempt: u32) -> Duration {
    let base = BACKOFF_START.saturating_mul(1u32 << attempt.min(16)).min(BACKOFF_MAX);
    let jitter = rand::thread_rng().gen_range(0..=base.as_millis() as u64 / 4);
    base + Duration::from_millis(jitter)
}

/// The whole body of `resp`, failing when the remote stays silent for `silence`.
async fn body_text(mut resp: reqwest::Response, shown: &str, silence: Duration) -> std::result::Result<String, Attempt> {
    let mut body = Vec::new();
    while let Some(chunk) = within(silence, shown, resp.chunk()).await?.map_err(|e| net_err(shown, e))? {
        body.extend_from_slice(&chunk);
    }
    String::from_utf8(body).map_err(|_| Attempt::fatal(BeError::Http(format!("{shown}: listing is not UTF-8"))))
}

/// List a tablet's remote directory, asking for sizes and md5s (ignored by a real BE).
///
/// The remote must start answering within [`reply_timeout`] and never go silent longer:
/// a real BE answers a listing at once, ours sends keep-alive lines while it hashes.
pub async fn list(ctx: &BeContext, watch: &Watch, spec: &TabletSpec, with_stat: bool, with_md5: bool) -> Result<Listing> {
    let shown = spec.shown(None);
    let url = spec.dir_url(with_stat, with_md5);
    let (url, shown) = (&url, &shown);
    let req = Request { what: "list", tablet_id: spec.local_tablet_id, shown };
    let silence = reply_timeout(ctx);
    with_retries(ctx, watch, req, |_| async move {
        let send = ctx.http.get(url.as_str()).timeout(LIST_MAX).send();
        let resp = within(silence, shown, send).await?.map_err(|e| net_err(shown, e))?;
        if resp.status() != StatusCode::OK {
            return Err(status_err(shown, resp).await);
        }
        let body = body_text(resp, shown, silence).await?;
        parse_listing(&body).map_err(|m| Attempt::fatal(BeError::Http(format!("{shown}: {m}"))))
    })
    .await
}

/// Size (and md5 when asked and given) of one remote file, the way upstream learns it.
pub async fn head(ctx: &BeContext, watch: &Watch, spec: &TabletSpec, name: &str, want_md5: bool) -> Result<RemoteFile> {
    let shown = spec.shown(Some(name));
    let url = spec.file_url(name, want_md5);
    let (url, shown) = (&url, &shown);
    let limit = if want_md5 { HEAD_MD5_TIMEOUT } else { reply_timeout(ctx) };
    let req = Request { what: "head", tablet_id: spec.local_tablet_id, shown };
    with_retries(ctx, watch, req, |_| async move {
        let resp = within(limit, shown, ctx.http.head(url.as_str()).send()).await?.map_err(|e| net_err(shown, e))?;
        if resp.status() != StatusCode::OK {
            return Err(status_err(shown, resp).await);
        }
        // Read the header itself: a HEAD response's body length is always 0.
        let size = resp
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .ok_or_else(|| Attempt::fatal(BeError::Http(format!("{shown}: HEAD answer without Content-Length"))))?;
        let md5 = resp
            .headers()
            .get("Content-MD5")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_ascii_lowercase())
            .filter(|v| v.len() == 32 && v.bytes().all(|c| c.is_ascii_hexdigit()));
        if want_md5 && md5.is_none() {
            tracing::warn!(file = %shown, "remote gave no Content-MD5; checking size only");
        }
        Ok(RemoteFile { name: name.to_string(), size, md5 })
    })
    .await
}
