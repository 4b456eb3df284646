//! The work of one ingest: ask the source BE which rowset holds the binlog version and
//! for its meta, bring its segments into the local tablet's directory under a new rowset
//! id, then register the rowset as the txn's pending rowset (visible after
//! PUBLISH_VERSION, exactly like a stream load's).
//!
//! All or nothing: on any failure the segment files (and partial `.part` files) are
//! removed and no pending rowset is added. Segments move in parallel, each with the pull
//! engine's transfer (size and md5 checked, resumed with a Range request, retried with
//! backoff `download_max_retries` times).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use reqwest::header::CONTENT_LENGTH;
use tokio::sync::Semaphore;

use super::error::{IngestError, Step};
use super::source::{parse_binlog_info, BinlogRowsetMeta};
use super::IngestRequest;
use crate::context::BeContext;
use crate::error::BeError;
use crate::pull::fetch::{run_job, Counters, FetchOpts, Slots};
use crate::pull::plan::{part_path, FileJob};
use crate::pull::remote::{net_err, reply_timeout, status_err, with_retries, within, Attempt, Request, Watch};
use crate::storage::RowsetMeta;

/// Segments of one ingest moving at once; all ingests together are bounded by `Limits`.
const SEGMENTS_AT_ONCE: usize = 4;
/// A whole small answer (binlog info, rowset meta, HEAD).
const TEXT_TIMEOUT: Duration = Duration::from_secs(60);

/// Shared by every ingest of this BE.
pub struct Limits {
    /// Segment transfers at once (`download_parallelism`).
    pub download: Arc<Semaphore>,
    /// Received segments waiting for their fsync.
    pub sync: Arc<Semaphore>,
}

impl Limits {
    pub fn new(ctx: &BeContext) -> Limits {
        let n = ctx.config.download_parallelism.max(1);
        Limits { download: Arc::new(Semaphore::new(n)), sync: Arc::new(Semaphore::new(n * 2)) }
    }
}

/// The source BE's binlog API, and how it is named in messages (no query string).
struct Source<'a> {
    base: String,
    remote: String,
    req: &'a IngestRequest,
}

impl<'a> Source<'a> {
    fn new(req: &'a IngestRequest) -> Source<'a> {
        let host = &req.remote_host;
        // An IPv6 literal needs brackets in a URL.
        let host = if host.contains(':') && !host.starts_with('[') { format!("[{host}]") } else { host.clone() };
        let remote = format!("{host}:{}", req.remote_port);
        Source { base: format!("http://{remote}/api/_binlog/_download"), remote, req }
    }

    fn remote_err(&self, step: Step, source: BeError) -> IngestError {
        IngestError::Remote { step, remote: self.remote.clone(), source }
    }

    fn bad(&self, step: Step, detail: String) -> IngestError {
        IngestError::BadAnswer { step, remote: self.remote.clone(), detail }
    }

    fn local(&self, step: Step, source: BeError) -> IngestError {
        IngestError::Local { step, remote: self.remote.clone(), source }
    }
}

/// Run one ingest to its end.
pub async fn run(ctx: &Arc<BeContext>, limits: &Limits, req: &IngestRequest) -> Result<(), IngestError> {
    let src = Source::new(req);
    let (watch, _retries) = Watch::new(); // nobody to report retries to: they are logged
    let tablet = req.remote_tablet_id;

    let url = format!("{}?method=get_binlog_info&tablet_id={tablet}&binlog_version={}", src.base, req.binlog_version);
    let shown = format!("{} get_binlog_info tablet {tablet} version {}", src.remote, req.binlog_version);
    let info = get_text(ctx, &watch, req, &url, &shown).await.map_err(|e| src.remote_err(Step::GetBinlogInfo, e))?;
    let (rowset_id, num_segments) =
        parse_binlog_info(&info).ok_or_else(|| src.bad(Step::GetBinlogInfo, format!("not `<rowset_id>:<num_segments>`: {info:?}")))?;
    // The id goes into URLs: accept what rowset ids are made of and nothing else.
    if !rowset_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(src.bad(Step::GetBinlogInfo, format!("bad rowset id {rowset_id:?}")));
    }

    let url = format!(
        "{}?method=get_rowset_meta&tablet_id={tablet}&rowset_id={rowset_id}&binlog_version={}",
        src.base, req.binlog_version
    );
    let shown = format!("{} get_rowset_meta tablet {tablet} rowset {rowset_id}", src.remote);
    let text = get_text(ctx, &watch, req, &url, &shown).await.map_err(|e| src.remote_err(Step::GetRowsetMeta, e))?;
    let meta: BinlogRowsetMeta =
        serde_json::from_str(&text).map_err(|e| src.bad(Step::GetRowsetMeta, format!("unreadable rowset meta: {e}")))?;
    if meta.rowset.rowset_id != rowset_id || meta.rowset.num_segments != num_segments {
        return Err(src.bad(
            Step::GetRowsetMeta,
            format!(
                "rowset meta is of rowset {} with {} segments, binlog info said {rowset_id} with {num_segments}",
                meta.rowset.rowset_id, meta.rowset.num_segments
            ),
        ));
    }
    let local = ctx.storage.tablet_meta(req.local_tablet_id).ok_or(IngestError::TabletMissing(req.local_tablet_id))?;
    // Key columns must agree; value columns may differ (a light schema change adds or
    // drops them without rewriting rowsets, and scans read segments by column name).
    let keys = |cols: &[crate::storage::ColumnMeta]| -> Vec<String> {
        cols.iter().filter(|c| c.is_key).map(|c| c.name.to_ascii_lowercase()).collect()
    };
    let (remote_keys, local_keys) = (keys(&meta.tablet_schema.columns), keys(&local.schema.columns));
    if remote_keys != local_keys {
        return Err(IngestError::Schema {
            remote: src.remote.clone(),
            remote_tablet_id: meta.tablet_id,
            remote_keys,
            tablet_id: req.local_tablet_id,
            local_keys,
        });
    }

    let dir = ctx.storage.tablet_dir(req.local_tablet_id).map_err(|_| IngestError::TabletMissing(req.local_tablet_id))?;
    let new_id = ctx.storage.next_rowset_id();
    let jobs = plan_segments(ctx, &watch, &src, &rowset_id, num_segments, &dir, &new_id).await?;
    let total: u64 = jobs.iter().map(|j| j.size).sum();
    let space = crate::pull::space::SpaceLimits::of(&ctx.config);
    let d = dir.clone();
    tokio::task::spawn_blocking(move || crate::pull::space::check_capacity(&[(d, total)], &space))
        .await
        .map_err(|e| BeError::Internal(format!("capacity task failed: {e}")))
        .and_then(|r| r)
        .map_err(|e| src.local(Step::Space, e))?;

    let dests: Vec<PathBuf> = jobs.iter().map(|j| j.dest.clone()).collect();
    let fetched = fetch_segments(ctx, limits, &watch, &src, &jobs).await;
    let committed = match fetched {
        Ok(()) => commit(ctx, req, &meta.rowset, &new_id, total).await.map_err(|e| src.local(Step::Commit, e)),
        Err(e) => Err(e),
    };
    if committed.is_err() {
        remove_files(&dests).await;
    } else {
        tracing::info!(rowset_id = %new_id, remote_rowset_id = %rowset_id, segments = num_segments, bytes = total, "binlog rowset ingested, pending publish");
    }
    committed
}

/// GET a small text answer, with retries.
async fn get_text(ctx: &BeContext, watch: &Watch, req: &IngestRequest, url: &str, shown: &str) -> Result<String, BeError> {
    let r = Request { what: "get", tablet_id: req.local_tablet_id, shown };
    with_retries(ctx, watch, r, |_| async {
        let send = ctx.http.get(url).timeout(TEXT_TIMEOUT).send();
        let resp = within(reply_timeout(ctx), shown, send).await?.map_err(|e| net_err(shown, e))?;
        if !resp.status().is_success() {
            return Err(status_err(shown, resp).await);
        }
        resp.text().await.map_err(|e| net_err(shown, e))
    })
    .await
}

/// A HEAD per segment for its size (and md5 when the source has it), as upstream asks.
async fn plan_segments(
    ctx: &BeContext,
    watch: &Watch,
    src: &Source<'_>,
    rowset_id: &str,
    num_segments: u32,
    dir: &Path,
    new_id: &str,
) -> Result<Vec<FileJob>, IngestError> {
    let tablet = src.req.remote_tablet_id;
    futures::stream::iter(0..num_segments)
        .map(|i| async move {
            let url = format!("{}?method=get_segment_file&tablet_id={tablet}&rowset_id={rowset_id}&segment_index={i}", src.base);
            let shown = format!("{} get_segment_file tablet {tablet} rowset {rowset_id} segment {i}", src.remote);
            let (size, md5) = head(ctx, watch, src.req, &format!("{url}&acquire_md5=true"), &shown)
                .await
                .map_err(|e| src.remote_err(Step::SegmentSize(i), e))?;
            Ok(FileJob {
                tablet: 0,
                tablet_id: src.req.local_tablet_id,
                remote_name: format!("{rowset_id}_{i}.dat"),
                url,
                shown,
                dest: dir.join(format!("{new_id}_{i}.dat")),
                size,
                md5,
                check_local: false,
                partial: 0,
            })
        })
        .buffered(SEGMENTS_AT_ONCE)
        .try_collect()
        .await
}

async fn head(ctx: &BeContext, watch: &Watch, req: &IngestRequest, url: &str, shown: &str) -> Result<(u64, Option<String>), BeError> {
    let r = Request { what: "head", tablet_id: req.local_tablet_id, shown };
    with_retries(ctx, watch, r, |_| async {
        let send = ctx.http.head(url).timeout(TEXT_TIMEOUT).send();
        let resp = within(TEXT_TIMEOUT, shown, send).await?.map_err(|e| net_err(shown, e))?;
        if !resp.status().is_success() {
            return Err(status_err(shown, resp).await);
        }
        let h = resp.headers();
        let size = h.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok());
        let size = size.ok_or_else(|| Attempt::fatal(BeError::Http(format!("{shown}: no Content-Length in the answer"))))?;
        let md5 = h.get("Content-MD5").and_then(|v| v.to_str().ok()).map(|v| v.trim().to_ascii_lowercase()).filter(|v| !v.is_empty());
        Ok((size, md5))
    })
    .await
}

/// Every segment in place, or the first failure once the others stopped.
async fn fetch_segments(ctx: &BeContext, limits: &Limits, watch: &Watch, src: &Source<'_>, jobs: &[FileJob]) -> Result<(), IngestError> {
    let counters = Counters::default();
    let opts = FetchOpts { resume: true, verify_md5: true };
    // Built up front (not in a stream's closure) so the spawned ingest stays `Send`
    // without higher-ranked lifetime trouble.
    let transfers: Vec<_> = jobs
        .iter()
        .enumerate()
        .map(|(i, job)| {
            let counters = &counters;
            async move {
                let step = Step::GetSegmentFile(i as u32);
                let permit = limits.download.clone().acquire_owned().await.map_err(|_| src.local(step, BeError::Cancelled("ingest slots closed".into())))?;
                let slots = Slots { download: Some(permit), sync: limits.sync.clone() };
                run_job(ctx, watch, job, opts, counters, slots).await.map(|_| ()).map_err(|e| src.remote_err(step, e))
            }
        })
        .collect();
    let r: Result<Vec<()>, IngestError> = futures::stream::iter(transfers)
        .buffer_unordered(SEGMENTS_AT_ONCE)
        .try_collect()
        .await;
    // Writes and renames of transfers stopped early must end before their files are removed.
    counters.io.close();
    counters.io.wait().await;
    r.map(|_| ())
}

/// Register the downloaded rowset as the txn's pending rowset on the local tablet.
async fn commit(ctx: &BeContext, req: &IngestRequest, remote: &RowsetMeta, new_id: &str, data_size: u64) -> Result<(), BeError> {
    let rowset = RowsetMeta {
        rowset_id: new_id.to_string(),
        // As a stream load's pending rowset: PUBLISH_VERSION gives it its version.
        start_version: 0,
        end_version: 0,
        num_segments: remote.num_segments,
        num_rows: remote.num_rows,
        data_size: data_size as i64,
        txn_id: Some(req.txn_id),
        remote: false,
        creation_time_s: chrono::Utc::now().timestamp(),
        // A DELETE's rowset carries its predicate to the target.
        delete_predicate: remote.delete_predicate.clone(),
    };
    let storage = ctx.storage.clone();
    let (tablet, txn, partition) = (req.local_tablet_id, req.txn_id, req.partition_id);
    tokio::task::spawn_blocking(move || storage.add_pending_rowset(tablet, txn, partition, rowset))
        .await
        .map_err(|e| BeError::Internal(format!("commit task failed: {e}")))??;
    Ok(())
}

async fn remove_files(dests: &[PathBuf]) {
    for d in dests {
        for p in [d.clone(), part_path(d)] {
            match tokio::fs::remove_file(&p).await {
                Ok(()) => tracing::info!(file = %p.display(), "removed a file of a failed ingest"),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => tracing::warn!(file = %p.display(), error = %e, "cannot remove a file of a failed ingest"),
            }
        }
    }
}
