//! Our pull: every tablet listed once (sizes and md5s in the listing when the remote is
//! one of ours, HEADs otherwise), one free-space check, then all files of the task
//! fetched through one pool of `download_parallelism` slots.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::fetch::{run_job, Counters, FetchOpts, FileDone, Slots};
use super::plan::{delete_extras, plan_tablet, scan_local, FileJob, Listing, TabletPlan, TabletSpec};
use super::remote::{self, Watch};
use super::space::{check_capacity, SpaceLimits};
use super::{PullOutcome, PullProgress, Tally};
use crate::context::BeContext;
use crate::error::{BeError, Result};

/// Files at most waiting on or in an fsync at once (see `fetch::Slots`).
const SYNC_SLOTS: usize = 256;

fn joined<T>(r: std::result::Result<T, tokio::task::JoinError>) -> Result<T> {
    r.map_err(|e| BeError::Internal(format!("pull task failed: {e}")))
}

async fn permit(sem: &Arc<Semaphore>) -> Result<tokio::sync::OwnedSemaphorePermit> {
    sem.clone().acquire_owned().await.map_err(|_| BeError::Internal("pull slots closed".into()))
}

/// List one tablet, learn sizes (and md5s), compare with the local dir, delete what the
/// remote lacks. Requests take a slot each; none is held while waiting for another.
async fn prepare(ctx: Arc<BeContext>, watch: Watch, sem: Arc<Semaphore>, spec: Arc<TabletSpec>, verify: bool) -> Result<TabletPlan> {
    let listing = {
        let _slot = permit(&sem).await?;
        remote::list(&ctx, &watch, &spec, true, verify).await?
    };
    let mut files = match listing {
        Listing::Stat(files) => files,
        Listing::Names(names) => {
            // A real Doris BE: its listing has names only.
            let width = ctx.config.download_parallelism.max(1);
            futures::stream::iter(names)
                .map(|n| {
                    let (ctx, watch, sem, spec) = (&ctx, &watch, &sem, &spec);
                    async move {
                        let _slot = permit(sem).await?;
                        remote::head(ctx, watch, spec, &n, verify).await
                    }
                })
                .buffered(width)
                .try_collect()
                .await?
        }
    };
    if !verify {
        // Without verification, decide like upstream does: by size.
        files.iter_mut().for_each(|f| f.md5 = None);
    }
    let dir = spec.local_dir.clone();
    let local = tokio::task::spawn_blocking(move || scan_local(&dir))
        .await
        .map_err(|e| BeError::Internal(format!("scan task failed: {e}")))?
        .map_err(|e| BeError::io(format!("list {}", spec.local_dir.display()), e))?;
    let plan = plan_tablet(&spec, &files, &local, true)?;
    if !plan.delete.is_empty() {
        let (dir, names) = (spec.local_dir.clone(), plan.delete.clone());
        joined(tokio::task::spawn_blocking(move || delete_extras(&dir, &names)).await)??;
    }
    tracing::debug!(
        tablet_id = spec.local_tablet_id,
        remote = %spec.shown(None),
        listed = files.len(),
        to_fetch = plan.jobs.len(),
        skipped = plan.skipped,
        deleted = plan.delete.len(),
        "tablet planned"
    );
    Ok(plan)
}

pub async fn run(
    ctx: &Arc<BeContext>,
    job_id: i64,
    specs: Vec<Arc<TabletSpec>>,
    progress: &dyn PullProgress,
    watch: Watch,
    tally: &Tally,
) -> Result<PullOutcome> {
    let total = specs.len();
    let verify = ctx.config.download_verify_md5;
    let sem = Arc::new(Semaphore::new(ctx.config.download_parallelism.max(1)));
    let counters = Arc::new(Counters::default());

    // Upstream's first report doubles as a check that the job is still wanted.
    progress.report(0, tally.total).await?;

    // Phase 1: list and plan all tablets.
    let mut set = JoinSet::new();
    for spec in &specs {
        let (ctx, watch, sem, spec) = (ctx.clone(), watch.clone(), sem.clone(), spec.clone());
        set.spawn(async move { (spec.idx, prepare(ctx, watch, sem, spec, verify).await) });
    }
    let mut plans: Vec<Option<TabletPlan>> = (0..total).map(|_| None).collect();
    let mut skipped_in_plan = 0u64;
    while let Some(r) = set.join_next().await {
        // An error returns here; dropping `set` aborts the other tablets.
        let (idx, plan) = joined(r)?;
        let plan = plan?;
        skipped_in_plan += plan.skipped;
        plans[idx] = Some(plan);
    }

    // Phase 2: room for everything before writing anything.
    let need: Vec<_> = specs
        .iter()
        .zip(&plans)
        .filter_map(|(s, p)| p.as_ref().map(|p| (s.local_dir.clone(), p.need_bytes)))
        .collect();
    let limits = SpaceLimits::of(&ctx.config);
    joined(tokio::task::spawn_blocking(move || check_capacity(&need, &limits)).await)??;

    // Phase 3: fetch, reporting each tablet as its last file lands.
    let mut remaining: Vec<usize> = plans.iter().map(|p| p.as_ref().map_or(0, |p| p.jobs.len())).collect();
    let mut queue: std::collections::VecDeque<FileJob> =
        plans.into_iter().flatten().flat_map(|p| p.jobs).collect();
    let dests: Vec<std::path::PathBuf> = queue.iter().map(|j| j.dest.clone()).collect();
    let queued = queue.len();
    tracing::info!(job_id, tablets = total, files = queued, "pull started");

    let mut done = vec![false; total];
    let mut ids = Vec::with_capacity(total);
    let opts = FetchOpts { resume: true, verify_md5: verify };
    let sync = Arc::new(Semaphore::new(SYNC_SLOTS));
    let mut running: JoinSet<(usize, Result<FileDone>)> = JoinSet::new();
    // Tablets whose files are all in place, getting their directory fsynced.
    let mut finishing: JoinSet<(usize, Result<()>)> = JoinSet::new();
    for (t, spec) in specs.iter().enumerate() {
        if remaining[t] == 0 {
            let spec = spec.clone();
            finishing.spawn(async move { (t, finish_tablet(&spec).await) });
        }
    }
    let driven: Result<()> = async {
        loop {
            tokio::select! {
                biased;
                Some(r) = finishing.join_next(), if !finishing.is_empty() => {
                    let (t, res) = joined(r)?;
                    res?;
                    done[t] = true;
                    tally.tablet_done(progress).await?;
                }
                Some(r) = running.join_next(), if !running.is_empty() => {
                    let (t, res) = joined(r)?;
                    res?;
                    remaining[t] -= 1;
                    if remaining[t] == 0 {
                        let spec = specs[t].clone();
                        finishing.spawn(async move { (t, finish_tablet(&spec).await) });
                    }
                }
                slot = permit(&sem), if !queue.is_empty() => {
                    let slot = slot?;
                    let job = queue.pop_front().expect("queue checked non-empty");
                    let (ctx, watch, counters, sync) = (ctx.clone(), watch.clone(), counters.clone(), sync.clone());
                    running.spawn(async move {
                        let slots = Slots { download: Some(slot), sync };
                        (job.tablet, run_job(&ctx, &watch, &job, opts, &counters, slots).await)
                    });
                }
                else => break,
            }
        }
        Ok(())
    }
    .await;
    if let Err(e) = driven {
        // Stop the other files and wait until their blocking IO is over: nothing of this
        // pull may be written or renamed after it reported its failure.
        running.shutdown().await;
        finishing.shutdown().await;
        counters.io.close();
        counters.io.wait().await;
        if matches!(e, BeError::DiskFull(_)) {
            let c = counters.clone();
            joined(tokio::task::spawn_blocking(move || c.discard_written(&dests)).await)?;
        }
        return Err(e);
    }
    for (t, d) in done.iter().enumerate() {
        if *d {
            ids.push(specs[t].local_tablet_id);
        }
    }
    let out = PullOutcome {
        downloaded_tablet_ids: ids,
        bytes_transferred: counters.bytes.load(Ordering::Relaxed),
        files_transferred: counters.files.load(Ordering::Relaxed),
        files_skipped: skipped_in_plan + counters.skipped.load(Ordering::Relaxed),
    };
    tracing::info!(
        job_id,
        tablets = total,
        bytes = out.bytes_transferred,
        files = out.files_transferred,
        skipped = out.files_skipped,
        "pull finished"
    );
    Ok(out)
}

/// Make the renames of a finished tablet durable.
pub async fn finish_tablet(spec: &TabletSpec) -> Result<()> {
    let dir = spec.local_dir.clone();
    joined(
        tokio::task::spawn_blocking(move || {
            std::fs::File::open(&dir).and_then(|f| f.sync_all()).map_err(|e| BeError::io(format!("fsync {}", dir.display()), e))
        })
        .await,
    )?
}
