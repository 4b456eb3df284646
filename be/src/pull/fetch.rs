//! Bringing one remote file into place: receive it into `<name>.part` (continuing an
//! earlier partial copy with a Range request when the remote allows), check size and md5
//! on the way, fsync, rename.
//!
//! Small files are received into memory and written, fsynced and renamed in one blocking
//! call: for snapshots of many small files the per-file overhead is what counts.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use md5::{Digest, Md5};
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, RANGE};
use reqwest::StatusCode;
use tokio::io::{AsyncSeekExt, AsyncWriteExt};
use tokio::sync::Semaphore;

use super::plan::FileJob;
use super::remote::{get_timeout, net_err, status_err, with_retries, Attempt};
use crate::context::BeContext;
use crate::error::{BeError, Result};
use crate::http::md5_cache::{hash_file, hash_prefix};

/// Write buffer between the socket and the file.
const WRITE_BUF: usize = 1 << 20;
/// Files up to this size are received into memory, and never resumed.
pub const SMALL_FILE: u64 = 1 << 20;

/// What a pull did so far, shared by its file tasks.
#[derive(Debug, Default)]
pub struct Counters {
    pub bytes: AtomicU64,
    pub files: AtomicU64,
    pub skipped: AtomicU64,
}

#[derive(Debug, Clone, Copy)]
pub struct FetchOpts {
    /// Continue a `.part` with `Range: bytes=<len>-`.
    pub resume: bool,
    /// Check the received bytes against the job's md5 (when it has one).
    pub verify_md5: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileDone {
    Fetched,
    Skipped,
}

/// Slots a pull's transfers and fsyncs run in. A transfer gives its download slot back
/// once its bytes are received, then waits for its fsync in a sync slot: fsyncs of many
/// files issued together share journal commits, while one at a time each costs a full
/// device flush (milliseconds), which would dominate pulls of many small files.
pub struct Slots {
    /// Held while hashing a local copy or transferring; `None`: the caller runs one job
    /// at a time anyway.
    pub download: Option<tokio::sync::OwnedSemaphorePermit>,
    /// Bounds the files received but not yet fsynced.
    pub sync: Arc<Semaphore>,
}

/// A received and verified file, not yet durable.
enum Received {
    Memory(Vec<u8>),
    /// Written to the `.part` at this path, not fsynced.
    Part(tokio::fs::File, PathBuf),
}

fn local_io(what: &str, path: &Path, e: std::io::Error) -> Attempt {
    Attempt::fatal(BeError::io(format!("{what} {}", path.display()), e))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| BeError::Internal(format!("blocking task failed: {e}")))
}

/// Bring `job` into place, with retries.
pub async fn run_job(ctx: &BeContext, job: &FileJob, opts: FetchOpts, counters: &Counters, mut slots: Slots) -> Result<FileDone> {
    if job.check_local {
        if let Some(expected) = job.md5.as_deref() {
            let dest = job.dest.clone();
            let (n, local) = blocking(move || hash_file(&dest))
                .await?
                .map_err(|e| BeError::io(format!("hash {}", job.dest.display()), e))?;
            if n == job.size && local == expected {
                counters.skipped.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(file = %job.dest.display(), "local copy complete, kept");
                return Ok(FileDone::Skipped);
            }
            tracing::info!(file = %job.dest.display(), "local copy differs from the remote, fetching again");
        }
    }
    let received = with_retries(ctx, "get", |_| fetch_once(ctx, job, opts, counters)).await?;
    // Take the sync slot before giving the download slot back, so what waits for an
    // fsync stays bounded.
    let _sync = slots.sync.clone().acquire_owned().await.map_err(|_| BeError::Internal("pull slots closed".into()))?;
    drop(slots.download.take());
    match received {
        Received::Memory(bytes) => {
            let dest = job.dest.clone();
            blocking(move || write_durably(&dest, &bytes)).await??;
        }
        Received::Part(file, part) => {
            file.sync_all().await.map_err(|e| BeError::io(format!("fsync {}", part.display()), e))?;
            drop(file);
            tokio::fs::rename(&part, &job.dest)
                .await
                .map_err(|e| BeError::io(format!("rename {} into place", job.dest.display()), e))?;
        }
    }
    counters.files.fetch_add(1, Ordering::Relaxed);
    ctx.metrics.download_files.fetch_add(1, Ordering::Relaxed);
    tracing::debug!(file = %job.dest.display(), size = job.size, "file pulled");
    Ok(FileDone::Fetched)
}

/// `.part`, write, fsync, rename. Blocking.
fn write_durably(dest: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let part = super::plan::part_path(dest);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&part)
        .map_err(|e| BeError::io(format!("create {}", part.display()), e))?;
    f.write_all(bytes).and_then(|_| f.sync_all()).map_err(|e| BeError::io(format!("write {}", part.display()), e))?;
    drop(f);
    std::fs::rename(&part, dest).map_err(|e| BeError::io(format!("rename {} into place", dest.display()), e))
}

fn header_u64(resp: &reqwest::Response, name: reqwest::header::HeaderName) -> Option<u64> {
    resp.headers().get(name)?.to_str().ok()?.trim().parse().ok()
}

/// One attempt: the complete, verified file, received but not yet durable.
async fn fetch_once(ctx: &BeContext, job: &FileJob, opts: FetchOpts, counters: &Counters) -> std::result::Result<Received, Attempt> {
    let part = job.part_path();
    let shown = job.shown.as_str();
    let small = job.size <= SMALL_FILE;
    let mut offset = 0u64;
    if opts.resume && !small {
        if let Ok(m) = tokio::fs::metadata(&part).await {
            if m.is_file() && m.len() > 0 && m.len() < job.size {
                offset = m.len();
            }
        }
    }

    let mut req = ctx.http.get(job.url.as_str()).timeout(get_timeout(job.size - offset));
    if offset > 0 {
        req = req.header(RANGE, format!("bytes={offset}-"));
    }
    let mut resp = req.send().await.map_err(|e| net_err(shown, e))?;
    match resp.status() {
        StatusCode::OK => offset = 0,
        StatusCode::PARTIAL_CONTENT if offset > 0 => {
            let want = format!("bytes {offset}-{}/{}", job.size - 1, job.size);
            let got = resp.headers().get(CONTENT_RANGE).and_then(|v| v.to_str().ok()).unwrap_or("");
            if got != want {
                return Err(Attempt::fatal(BeError::Http(format!(
                    "{shown}: asked for bytes {offset}- of {} bytes, remote answered range {got:?}; the snapshot changed",
                    job.size
                ))));
            }
        }
        StatusCode::RANGE_NOT_SATISFIABLE if offset > 0 => {
            let _ = tokio::fs::remove_file(&part).await;
            return Err(Attempt::retry(BeError::Http(format!("{shown}: remote refused to resume at byte {offset}"))));
        }
        _ => return Err(status_err(shown, resp).await),
    }
    let expect = job.size - offset;
    if let Some(n) = header_u64(&resp, CONTENT_LENGTH) {
        if n != expect {
            return Err(Attempt::fatal(BeError::Http(format!(
                "{shown}: remote serves {} bytes, its listing said {}; the snapshot changed",
                n + offset,
                job.size
            ))));
        }
    }

    let expected_md5 = job.md5.as_deref().filter(|_| opts.verify_md5);
    let mut hasher = match expected_md5 {
        None => None,
        Some(_) if offset == 0 => Some(Md5::new()),
        Some(_) => {
            // The bytes already on disk are part of the file's md5.
            let p = part.clone();
            let prefix = blocking(move || std::fs::File::open(&p).and_then(|mut f| hash_prefix(&mut f, offset)))
                .await
                .map_err(Attempt::fatal)?
                .map_err(|e| local_io("read", &part, e))?;
            if prefix.0 != offset {
                let _ = tokio::fs::remove_file(&part).await;
                return Err(Attempt::retry(BeError::Http(format!("{shown}: partial copy shrank while resuming"))));
            }
            Some(prefix.1)
        }
    };
    if offset > 0 {
        tracing::info!(file = %job.dest.display(), offset, "resuming a partial download");
    }

    // Where the bytes go: memory for small files, the `.part` otherwise.
    let mut sink = if small {
        Sink::Memory(Vec::with_capacity(job.size as usize))
    } else if offset > 0 {
        let mut f = tokio::fs::OpenOptions::new().write(true).open(&part).await.map_err(|e| local_io("open", &part, e))?;
        f.set_len(offset).await.map_err(|e| local_io("truncate", &part, e))?;
        f.seek(std::io::SeekFrom::Start(offset)).await.map_err(|e| local_io("seek", &part, e))?;
        Sink::File(tokio::io::BufWriter::with_capacity(WRITE_BUF, f))
    } else {
        let f = tokio::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&part)
            .await
            .map_err(|e| local_io("create", &part, e))?;
        Sink::File(tokio::io::BufWriter::with_capacity(WRITE_BUF, f))
    };

    let mut got = 0u64;
    while let Some(chunk) = resp.chunk().await.map_err(|e| net_err(shown, e))? {
        got += chunk.len() as u64;
        if got > expect {
            return Err(Attempt::fatal(BeError::Http(format!(
                "{shown}: remote sent more than the {} bytes it listed; the snapshot changed",
                job.size
            ))));
        }
        if let Some(h) = hasher.as_mut() {
            h.update(&chunk);
        }
        match &mut sink {
            Sink::Memory(v) => v.extend_from_slice(&chunk),
            Sink::File(w) => w.write_all(&chunk).await.map_err(|e| local_io("write", &part, e))?,
        }
        counters.bytes.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        ctx.metrics.download_bytes.fetch_add(chunk.len() as u64, Ordering::Relaxed);
    }
    let received = match sink {
        Sink::Memory(v) => Received::Memory(v),
        Sink::File(mut w) => {
            w.flush().await.map_err(|e| local_io("write", &part, e))?;
            Received::Part(w.into_inner(), part.clone())
        }
    };
    if got != expect {
        return Err(Attempt::retry(BeError::Http(format!("{shown}: connection ended after {got} of {expect} bytes"))));
    }
    if let (Some(h), Some(want)) = (hasher, expected_md5) {
        let actual = hex::encode(h.finalize());
        if actual != want {
            if matches!(received, Received::Part(..)) {
                let _ = tokio::fs::remove_file(&part).await;
            }
            let msg = format!("{shown}: md5 {actual} of the received file does not match the remote's {want}");
            tracing::warn!(file = %job.dest.display(), resumed = offset > 0, "{msg}");
            // A resumed copy may carry bad local bytes: start over. A whole file that
            // arrived intact over TCP but hashes wrong is corrupt at the source.
            return Err(if offset > 0 { Attempt::retry(BeError::Corruption(msg)) } else { Attempt::fatal(BeError::Corruption(msg)) });
        }
    }
    Ok(received)
}

enum Sink {
    Memory(Vec<u8>),
    File(tokio::io::BufWriter<tokio::fs::File>),
}
