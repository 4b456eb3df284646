//! The snapshot pull engine: copies remote BEs' snapshot files for DOWNLOAD tasks that
//! carry `remote_tablet_snapshots`.
//!
//! `remote_snapshot_path` is the remote `<snapshot>/<tablet_id>/<schema_hash>` directory
//! and `local_snapshot_path` the local directory the files go to (both built by the FE);
//! a file's URL is the directory's plus `/<name>`. Against our BEs one listing per tablet
//! carries sizes and md5s; against a real Doris BE (names only) a HEAD per file asks.
//!
//! A remote silent for `download_reply_timeout_sec` (15 s) on any request (no answer, or a transfer that stopped) costs
//! that attempt; every retry is logged with the tablet and the remote file and re-reports
//! progress to the FE, and the task's status names the remote once retries run out.

mod engine;
// The transfer, retry policy and capacity check are shared with `crate::ingest`.
pub(crate) mod fetch;
pub mod plan;
pub(crate) mod remote;
pub(crate) mod space;
mod upstream;

use std::collections::HashSet;
use std::future::Future;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;

use doris_thrift::agent_service::TRemoteTabletSnapshot;

use crate::context::BeContext;
use crate::error::{BeError, Result};
use plan::TabletSpec;

/// Told how far a pull is; an `Err` (e.g. `BeError::Cancelled` when the FE says the job
/// was cancelled) stops the pull.
#[async_trait::async_trait]
pub trait PullProgress: Send + Sync {
    async fn report(&self, finished_num: i32, total_num: i32) -> Result<()>;
}

/// What a pull did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PullOutcome {
    /// Local tablet ids whose snapshot is complete on this BE.
    pub downloaded_tablet_ids: Vec<i64>,
    /// Bytes received over the network (a resumed or skipped file counts only what moved).
    pub bytes_transferred: u64,
    pub files_transferred: u64,
    /// Files already complete locally (same size and md5) and left alone.
    pub files_skipped: u64,
}

/// Pull every snapshot in `snapshots` into its `local_snapshot_path`.
///
/// The local directories must exist and lie under this BE's storage roots. Files already
/// complete locally are kept, partial ones continued, extra ones deleted; on error what
/// arrived stays (complete files, `.part` files) so a retry moves only the rest.
pub async fn pull(
    ctx: &Arc<BeContext>,
    job_id: i64,
    snapshots: &[TRemoteTabletSnapshot],
    progress: &dyn PullProgress,
) -> Result<PullOutcome> {
    let specs = validate(ctx, snapshots).await?;
    let mode = if ctx.config.download_upstream_mode { "upstream" } else { "parallel" };
    tracing::info!(job_id, tablets = specs.len(), mode, "pulling snapshots");
    let total = i32::try_from(specs.len()).unwrap_or(i32::MAX);
    let tally = Tally::new(total);
    let (watch, retries) = remote::Watch::new();
    let out = if ctx.config.download_upstream_mode {
        drive(progress, &tally, retries, upstream::run(ctx, job_id, specs, progress, watch, &tally)).await
    } else {
        drive(progress, &tally, retries, engine::run(ctx, job_id, specs, progress, watch, &tally)).await
    };
    if let Err(e) = &out {
        tracing::warn!(job_id, error = %e, "pull failed");
    }
    out
}

/// How often a pull reports its progress at most (besides its last tablet).
const REPORT_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// How many of a pull's tablets are done, for the reports made while it waits.
pub(crate) struct Tally {
    pub total: i32,
    pub finished: AtomicI32,
    /// When progress was last reported.
    last_report: std::sync::Mutex<std::time::Instant>,
}

impl Tally {
    fn new(total: i32) -> Self {
        Tally { total, finished: AtomicI32::new(0), last_report: std::sync::Mutex::new(std::time::Instant::now()) }
    }

    /// One more tablet done: report it when a second has passed since the last report, and
    /// for the last tablet. Each report is an RPC the FE answers (its answer may cancel the
    /// pull); one per tablet was 20,000 RPCs for a 20,000-tablet restore for no gain in
    /// what the FE shows.
    async fn tablet_done(&self, progress: &dyn PullProgress) -> Result<()> {
        let n = self.finished.fetch_add(1, Ordering::Relaxed) + 1;
        let due = {
            let mut last = self.last_report.lock().unwrap();
            let due = n == self.total || last.elapsed() >= REPORT_EVERY;
            if due {
                *last = std::time::Instant::now();
            }
            due
        };
        if due {
            progress.report(n, self.total).await?;
        }
        Ok(())
    }
}

/// Run a pull's `body`, reporting progress again (same numbers) for every request that
/// failed and waits for another attempt: the FE keeps hearing from a pull stuck on a
/// remote that does not answer, and its answer can cancel the pull meanwhile.
async fn drive<T>(
    progress: &dyn PullProgress,
    tally: &Tally,
    mut retries: tokio::sync::mpsc::UnboundedReceiver<()>,
    body: impl Future<Output = Result<T>>,
) -> Result<T> {
    tokio::pin!(body);
    loop {
        tokio::select! {
            out = &mut body => return out,
            Some(()) = retries.recv() => {
                // An error (the job was cancelled) drops `body`, which aborts its tasks.
                progress.report(tally.finished.load(Ordering::Relaxed), tally.total).await?;
            }
        }
    }
}

/// Every field set, local dirs existing under our roots, no dir used twice.
async fn validate(ctx: &Arc<BeContext>, snapshots: &[TRemoteTabletSnapshot]) -> Result<Vec<Arc<TabletSpec>>> {
    let mut specs = Vec::with_capacity(snapshots.len());
    for (i, s) in snapshots.iter().enumerate() {
        specs.push(TabletSpec::from_thrift(i, s)?);
    }
    let storage = ctx.storage.clone();
    let dirs: Vec<_> = specs.iter().map(|s| s.local_dir.clone()).collect();
    let checked = tokio::task::spawn_blocking(move || {
        dirs.into_iter()
            .map(|d| {
                let is_dir = std::fs::metadata(&d).map(|m| m.is_dir()).unwrap_or(false);
                (d.clone(), is_dir, if is_dir { storage.confine(&d) } else { None })
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| BeError::Internal(format!("path check failed: {e}")))?;
    let mut seen = HashSet::new();
    for (spec, (dir, is_dir, confined)) in specs.iter_mut().zip(checked) {
        if !is_dir {
            return Err(BeError::NotFound(format!("snapshot path is not directory or does not exist: {}", dir.display())));
        }
        let Some(canonical) = confined else {
            return Err(BeError::InvalidArgument(format!(
                "local snapshot path {} is not under a storage root of this BE",
                dir.display()
            )));
        };
        if !seen.insert(canonical.clone()) {
            return Err(BeError::InvalidArgument(format!("local snapshot path {} is used twice", dir.display())));
        }
        spec.local_dir = canonical;
    }
    Ok(specs.into_iter().map(Arc::new).collect())
}
