//! Upstream's pull algorithm (`SnapshotLoader::remote_http_download`), kept for
//! comparison (`download_upstream_mode = true`): tablet after tablet, a plain listing, a
//! HEAD per file for its size, same-size files kept except the header, GETs one at a
//! time, no checksum, then local files the remote lacks deleted. Files still land via
//! `.part` + rename so a local tablet sharing inodes with the snapshot is never
//! overwritten in place.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::engine::finish_tablet;
use super::fetch::{run_job, Counters, FetchOpts, Slots};
use super::plan::{delete_extras, is_hdr, scan_local, FileJob, Listing, RemoteFile, TabletSpec};
use super::remote::{self, Watch};
use super::space::{check_capacity, SpaceLimits};
use super::{PullOutcome, PullProgress, Tally};
use crate::context::BeContext;
use crate::error::{BeError, Result};

pub async fn run(
    ctx: &Arc<BeContext>,
    job_id: i64,
    specs: Vec<Arc<TabletSpec>>,
    progress: &dyn PullProgress,
    watch: Watch,
    tally: &Tally,
) -> Result<PullOutcome> {
    let total = tally.total;
    let counters = Counters::default();
    let sync = Arc::new(tokio::sync::Semaphore::new(1));
    let opts = FetchOpts { resume: false, verify_md5: false };
    let mut skipped = 0u64;
    let mut ids = Vec::with_capacity(specs.len());
    progress.report(0, total).await?;
    tracing::info!(job_id, tablets = total, "pull started (upstream algorithm)");

    for spec in &specs {
        let names = match remote::list(ctx, &watch, spec, false, false).await? {
            Listing::Names(n) => n,
            Listing::Stat(f) => f.into_iter().map(|f| f.name).collect(),
        };
        let mut remote_files: Vec<RemoteFile> = Vec::with_capacity(names.len());
        for n in &names {
            remote_files.push(remote::head(ctx, &watch, spec, n, false).await?);
        }

        let dir = spec.local_dir.clone();
        let local = tokio::task::spawn_blocking(move || scan_local(&dir))
            .await
            .map_err(|e| BeError::Internal(format!("scan task failed: {e}")))?
            .map_err(|e| BeError::io(format!("list {}", spec.local_dir.display()), e))?;

        let mut jobs = Vec::new();
        let mut expected = HashSet::new();
        for rf in &remote_files {
            let lname = spec.local_name(&rf.name);
            expected.insert(lname.clone());
            if local.get(&lname) == Some(&rf.size) && !is_hdr(&rf.name) {
                skipped += 1;
                continue;
            }
            jobs.push(FileJob {
                tablet: spec.idx,
                tablet_id: spec.local_tablet_id,
                remote_name: rf.name.clone(),
                url: spec.file_url(&rf.name, false),
                shown: spec.shown(Some(&rf.name)),
                dest: spec.local_dir.join(&lname),
                size: rf.size,
                md5: None,
                check_local: false,
                partial: 0,
            });
        }
        let need: u64 = jobs.iter().map(|j| j.size).sum();
        let (dir, limits) = (spec.local_dir.clone(), SpaceLimits::of(&ctx.config));
        tokio::task::spawn_blocking(move || check_capacity(&[(dir, need)], &limits))
            .await
            .map_err(|e| BeError::Internal(format!("capacity task failed: {e}")))??;

        for job in &jobs {
            let r = run_job(ctx, &watch, job, opts, &counters, Slots { download: None, sync: sync.clone() }).await;
            if let Err(e @ BeError::DiskFull(_)) = r {
                let dests: Vec<_> = jobs.iter().map(|j| j.dest.clone()).collect();
                counters.discard_written(&dests);
                return Err(e);
            }
            r?;
        }

        // Any `.part` left is stale by now: this tablet's fetched files were renamed.
        let extras: Vec<String> = local
            .keys()
            .filter(|n| !expected.contains(*n))
            .cloned()
            .collect();
        let dir = spec.local_dir.clone();
        tokio::task::spawn_blocking(move || delete_extras(&dir, &extras))
            .await
            .map_err(|e| BeError::Internal(format!("delete task failed: {e}")))??;
        finish_tablet(spec).await?;
        ids.push(spec.local_tablet_id);
        tally.tablet_done(progress).await?;
    }

    let out = PullOutcome {
        downloaded_tablet_ids: ids,
        bytes_transferred: counters.bytes.load(Ordering::Relaxed),
        files_transferred: counters.files.load(Ordering::Relaxed),
        files_skipped: skipped,
    };
    tracing::info!(job_id, bytes = out.bytes_transferred, files = out.files_transferred, "pull finished (upstream algorithm)");
    Ok(out)
}
