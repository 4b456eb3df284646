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
use tokio::sync::Semaphore;

use super::plan::FileJob;
use super::remote::{get_timeout, net_err, status_err, with_retries, within, Attempt, Request, Watch};
use crate::context::BeContext;
use crate::error::{BeError, Result};
use crate::storage::md5_cache::{hash_file, hash_prefix};

/// Files up to this size are received into memory, and never resumed.
pub const SMALL_FILE: u64 = 1 << 20;

/// What a pull did so far, shared by its file tasks.
#[derive(Debug, Default)]
pub struct Counters {
    pub bytes: AtomicU64,
    pub files: AtomicU64,
    pub skipped: AtomicU64,
    /// The pull's blocking file IO (writes, renames, hashing), which aborting a file task
    /// does not stop: a failed pull waits for it before it returns.
    pub io: tokio_util::task::TaskTracker,
    /// Files this pull put in place, so a pull that fills the disk can take them back.
    pub placed: std::sync::Mutex<Vec<PathBuf>>,
}

impl Counters {
    /// After a pull failed on a full disk: remove what it wrote (files it put in place and
    /// `.part` files of `jobs`), so the space is free again at once; a retry fetches them
    /// anew. Files that were complete before this attempt stay. Blocking.
    pub fn discard_written(&self, jobs: &[PathBuf]) {
        let placed = std::mem::take(&mut *self.placed.lock().unwrap_or_else(|e| e.into_inner()));
        for p in placed.iter().cloned().chain(jobs.iter().map(|d| super::plan::part_path(d))) {
            match std::fs::remove_file(&p) {
                Ok(()) => tracing::info!(file = %p.display(), "removed a file of a pull that ran out of space"),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => tracing::warn!(file = %p.display(), error = %e, "cannot remove a file of a failed pull"),
            }
        }
    }
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
    Part(std::fs::File, PathBuf),
}

fn local_io(what: &str, path: &Path, e: std::io::Error) -> Attempt {
    Attempt::fatal(BeError::io(format!("{what} {}", path.display()), e))
}

/// Run file IO on the blocking pool, tracked by the pull (`Counters::io`) so a pull that
/// fails waits for it: a write or rename must not land after the pull returned.
async fn blocking<T: Send + 'static>(counters: &Counters, f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    counters.io.spawn_blocking(f).await.map_err(|e| BeError::Internal(format!("blocking task failed: {e}")))
}

/// Bring `job` into place, with retries.
pub async fn run_job(
    ctx: &BeContext,
    watch: &Watch,
    job: &FileJob,
    opts: FetchOpts,
    counters: &Counters,
    mut slots: Slots,
) -> Result<FileDone> {
    if job.check_local {
        if let Some(expected) = job.md5.as_deref() {
            let dest = job.dest.clone();
            let (n, local) = blocking(counters, move || hash_file(&dest))
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
    let req = Request { what: "get", tablet_id: job.tablet_id, shown: &job.shown };
    let received = with_retries(ctx, watch, req, |_| fetch_once(ctx, job, opts, counters)).await?;
    // Take the sync slot before giving the download slot back, so what waits for an
    // fsync stays bounded.
    let _sync = slots.sync.clone().acquire_owned().await.map_err(|_| BeError::Internal("pull slots closed".into()))?;
    drop(slots.download.take());
    match received {
        Received::Memory(bytes) => {
            let dest = job.dest.clone();
            blocking(counters, move || write_durably(&dest, &bytes)).await??;
        }
        Received::Part(file, part) => {
            let dest = job.dest.clone();
            blocking(counters, move || {
                file.sync_all().map_err(|e| BeError::io(format!("fsync {}", part.display()), e))?;
                drop(file);
                std::fs::rename(&part, &dest).map_err(|e| BeError::io(format!("rename {} into place", dest.display()), e))
            })
            .await??;
        }
    }
    counters.files.fetch_add(1, Ordering::Relaxed);
    counters.placed.lock().unwrap_or_else(|e| e.into_inner()).push(job.dest.clone());
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
    // Silence is bounded separately from the whole transfer's time: a frozen remote is
    // given up after `download_reply_timeout_sec`, and the retry continues from what arrived.
    let silence = super::remote::reply_timeout(ctx);
    let mut resp = within(silence, shown, req.send()).await?.map_err(|e| net_err(shown, e))?;
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
    if offset > 0 {
        tracing::info!(file = %job.dest.display(), offset, "resuming a partial download");
    }
    let too_long = || {
        Attempt::fatal(BeError::Http(format!(
            "{shown}: remote sent more than the {} bytes it listed; the snapshot changed",
            job.size
        )))
    };
    let mut got = 0u64;
    let (received, hasher) = if small {
        let mut hasher = expected_md5.map(|_| Md5::new());
        let mut v = Vec::with_capacity(job.size as usize);
        while let Some(chunk) = within(silence, shown, resp.chunk()).await?.map_err(|e| net_err(shown, e))? {
            if got + chunk.len() as u64 > expect {
                return Err(too_long());
            }
            got += chunk.len() as u64;
            if let Some(h) = hasher.as_mut() {
                h.update(&chunk);
            }
            v.extend_from_slice(&chunk);
            counters.bytes.fetch_add(chunk.len() as u64, Ordering::Relaxed);
            ctx.metrics.download_bytes.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        }
        (Received::Memory(v), hasher)
    } else {
        // Hashing and writing run on a blocking thread of their own, pipelined with the
        // socket: the async side only gathers chunks into batches and hands them over,
        // so the workers keep serving sockets while big files are hashed. Batches (not
        // single chunks) keep the hand-overs, and the wake-ups they cost, few.
        let (tx, rx) = tokio::sync::mpsc::channel::<Vec<bytes::Bytes>>(WRITER_QUEUE);
        let (p, hash) = (part.clone(), expected_md5.is_some());
        let writer = counters.io.spawn_blocking(move || write_part(&p, offset, hash, rx));
        let mut batch: Vec<bytes::Bytes> = Vec::new();
        let mut batch_len = 0usize;
        let streamed: std::result::Result<(), Attempt> = loop {
            let chunk = match within(silence, shown, resp.chunk()).await {
                Ok(Ok(Some(c))) => c,
                Ok(Ok(None)) => break Ok(()),
                Ok(Err(e)) => break Err(net_err(shown, e)),
                Err(silent) => break Err(silent),
            };
            if got + chunk.len() as u64 > expect {
                break Err(too_long());
            }
            let n = chunk.len();
            got += n as u64;
            batch_len += n;
            batch.push(chunk);
            counters.bytes.fetch_add(n as u64, Ordering::Relaxed);
            ctx.metrics.download_bytes.fetch_add(n as u64, Ordering::Relaxed);
            if batch_len >= WRITER_BATCH {
                batch_len = 0;
                if tx.send(std::mem::take(&mut batch)).await.is_err() {
                    break Ok(()); // the writer failed; its error is reported below
                }
            }
        };
        // What arrived is written even after a failure: a prefix of the file the next
        // attempt can continue from.
        if !batch.is_empty() {
            let _ = tx.send(batch).await;
        }
        drop(tx);
        let written = writer.await.map_err(|e| Attempt::fatal(BeError::Internal(format!("writer task failed: {e}"))))?;
        let (file, hasher) = match written {
            Ok(w) => w,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                let _ = tokio::fs::remove_file(&part).await;
                return Err(Attempt::retry(BeError::Http(format!("{shown}: partial copy shrank while resuming"))));
            }
            Err(e) => return Err(local_io("write", &part, e)),
        };
        streamed?;
        (Received::Part(file, part.clone()), hasher)
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

/// Bytes gathered from the socket before they go to the writer thread in one batch.
const WRITER_BATCH: usize = 256 << 10;
/// Batches in flight between the socket and the writer thread of one file (bounds the
/// memory a file holds to about WRITER_QUEUE * WRITER_BATCH).
const WRITER_QUEUE: usize = 8;
/// Chunks written by one `write_vectored` call at most.
const MAX_IOV: usize = 64;

/// Write what `rx` brings into `part` after its first `offset` bytes (hashing those
/// first when `hash`), hashing as it goes: each batch is hashed while it is hot in cache,
/// then written straight from the received buffers (no copy into a write buffer).
/// Blocking. `UnexpectedEof`: the partial file holds fewer than `offset` bytes.
fn write_part(
    part: &Path,
    offset: u64,
    hash: bool,
    mut rx: tokio::sync::mpsc::Receiver<Vec<bytes::Bytes>>,
) -> std::io::Result<(std::fs::File, Option<Md5>)> {
    use std::io::Seek;
    use std::os::unix::fs::OpenOptionsExt;
    let (mut f, mut hasher) = if offset > 0 {
        let mut f = std::fs::OpenOptions::new().read(true).write(true).open(part)?;
        let hasher = if hash {
            let (n, h) = hash_prefix(&mut f, offset)?;
            if n != offset {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            Some(h)
        } else {
            None
        };
        f.set_len(offset)?;
        f.seek(std::io::SeekFrom::Start(offset))?;
        (f, hasher)
    } else {
        let f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(part)?;
        (f, hash.then(Md5::new))
    };
    while let Some(batch) = rx.blocking_recv() {
        if let Some(h) = hasher.as_mut() {
            for c in &batch {
                h.update(c);
            }
        }
        write_all_chunks(&mut f, &batch)?;
    }
    Ok((f, hasher))
}

/// `write_all` over several buffers with vectored writes.
fn write_all_chunks(f: &mut impl std::io::Write, chunks: &[bytes::Bytes]) -> std::io::Result<()> {
    use std::io::IoSlice;
    let (mut idx, mut off) = (0usize, 0usize);
    loop {
        while idx < chunks.len() && off == chunks[idx].len() {
            idx += 1;
            off = 0;
        }
        if idx == chunks.len() {
            return Ok(());
        }
        let mut slices = Vec::with_capacity(MAX_IOV);
        slices.push(IoSlice::new(&chunks[idx][off..]));
        slices.extend(chunks[idx + 1..].iter().take(MAX_IOV - 1).map(|c| IoSlice::new(c)));
        let mut n = match f.write_vectored(&slices) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        while n > 0 {
            let left = chunks[idx].len() - off;
            if n >= left {
                n -= left;
                idx += 1;
                off = 0;
            } else {
                off += n;
                n = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer taking at most `max` bytes per call, so writes end mid-buffer.
    struct Trickle {
        out: Vec<u8>,
        max: usize,
    }

    impl std::io::Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let n = buf.len().min(self.max);
            self.out.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn write_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
            let mut n = 0;
            for b in bufs {
                let take = b.len().min(self.max - n);
                self.out.extend_from_slice(&b[..take]);
                n += take;
                if n == self.max {
                    break;
                }
            }
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn vectored_writes_keep_every_byte_in_order() {
        let chunks: Vec<bytes::Bytes> = (0..200u32)
            .map(|i| bytes::Bytes::from((0..(i % 7) * 13).map(|j| (i * 31 + j) as u8).collect::<Vec<u8>>()))
            .collect();
        let want: Vec<u8> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
        for max in [1, 5, 13, 100, 1 << 20] {
            let mut w = Trickle { out: Vec::new(), max };
            write_all_chunks(&mut w, &chunks).unwrap();
            assert_eq!(w.out, want, "max {max}");
        }
    }
}
