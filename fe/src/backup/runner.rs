//! The loop both job kinds run: load the stored job, stop once it is done, check for a
//! cancel request and the timeout, run the step of its state (which persists the state it
//! reaches), and cancel the job on the first error. Each kind supplies its steps.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::{info, warn, Instrument, Span};

use super::StoredJob;
use crate::backup::{ErrCode, JobKind, JobStatus};
use crate::backup::{BackupCtx, BackupEnv};
use crate::context::FeContext;
use crate::error::{FeError, Result};

/// A job kind as [`run`] drives it: the stored job of that kind and its steps.
pub(super) trait RunnableJob: Sized + Send + 'static {
    const KIND: JobKind;

    /// The job, when `job` is of this kind.
    fn from_stored(job: StoredJob) -> Option<Self>;

    /// The span the job's runner logs in.
    fn span(&self, job_id: i64) -> Span;

    fn is_done(&self) -> bool;

    /// Whether a cancel request or the timeout still stop the job.
    fn stoppable(&self) -> bool {
        true
    }

    fn is_timed_out(&self, now_ms: i64) -> bool;

    /// The error a timed-out job is cancelled with (upstream's text).
    fn timeout_error(&self) -> FeError;

    /// Run the job's current state; it persists the state it reaches.
    fn step<'a>(
        self,
        ctx: &'a BackupEnv,
        cancel: &'a CancellationToken,
    ) -> impl Future<Output = Result<()>> + Send + 'a;

    /// Clean up and persist CANCELLED with `status`.
    fn cancel(
        ctx: &BackupEnv,
        job_id: i64,
        status: JobStatus,
    ) -> impl Future<Output = ()> + Send + '_;
}

/// The job `job_id` of kind `J`, as the registry holds it.
pub(super) fn load<J: RunnableJob>(ctx: &BackupEnv, job_id: i64) -> Result<J> {
    ctx.jobs
        .get(job_id)
        .and_then(J::from_stored)
        .ok_or_else(|| FeError::NotFound(format!("{} job {job_id}", J::KIND.name())))
}

/// What a job stopped by CANCEL BACKUP/RESTORE fails with (upstream's text).
pub(super) fn cancelled(kind: JobKind) -> FeError {
    FeError::Cancelled(format!("{} job is cancelled by user", kind.name()))
}

/// How long the job's tasks may still take: until its timeout, at least a second.
pub(super) fn remaining(create_time_ms: i64, timeout_ms: i64) -> Duration {
    // Saturating: `timeout` may be as large as i64::MAX ms.
    let left = create_time_ms
        .saturating_add(timeout_ms)
        .saturating_sub(FeContext::now_ms());
    Duration::from_millis(left.max(1000) as u64)
}

/// How long a job that can no longer be cancelled waits before running its step again
/// after the `failures`-th failure (or runner panic) in a row.
pub(super) fn retry_backoff(failures: u32) -> Duration {
    const FIRST: Duration = Duration::from_millis(500);
    const MAX: Duration = Duration::from_secs(60);
    FIRST.saturating_mul(1u32 << failures.min(7)).min(MAX)
}

/// Whether job `job_id` is past the point where it can be cancelled (e.g. a restore that
/// swapped its tables in) and not done: it must be run to the end, however often it fails.
pub(super) fn must_finish<J: RunnableJob>(ctx: &BackupEnv, job_id: i64) -> bool {
    load::<J>(ctx, job_id).is_ok_and(|j| !j.is_done() && !j.stoppable())
}

/// Wait until the scheduler lets job `job_id` run. A job queued longer than
/// `backup_pending_job_timeout_ms`, or cancelled while queued, ends with the status returned.
async fn wait_for_turn<J: RunnableJob>(
    ctx: &BackupEnv,
    job_id: i64,
    cancel: &CancellationToken,
) -> std::result::Result<(), JobStatus> {
    let admission = &ctx.jobs.admission;
    let Some(queued) = admission.get(job_id) else {
        return Ok(());
    };
    if queued.allowed {
        return Ok(());
    }
    let limit_ms = ctx.config.backup_pending_job_timeout_ms;
    let left_ms = queued
        .since_ms
        .saturating_add(i64::try_from(limit_ms).unwrap_or(i64::MAX))
        .saturating_sub(FeContext::now_ms())
        .max(0);
    info!(reason = queued.reason.as_deref().unwrap_or(""), "{} job queued", J::KIND.name());
    tokio::select! {
        _ = admission.wait_allowed(job_id) => {
            info!("{} job leaves the queue", J::KIND.name());
            Ok(())
        }
        _ = cancel.cancelled() => Err(JobStatus::from_error(&cancelled(J::KIND))),
        _ = tokio::time::sleep(Duration::from_millis(left_ms as u64)) => Err(JobStatus::error(
            ErrCode::Timeout,
            format!("Job pending timeout after {limit_ms}ms"),
        )),
    }
}

/// Drive job `job_id` until it is done (or gone from the registry).
pub(super) async fn run<J: RunnableJob>(ctx: BackupCtx, job_id: i64, cancel: CancellationToken) {
    let Ok(first) = load::<J>(&ctx, job_id) else {
        return;
    };
    let span = first.span(job_id);
    async move {
        if !first.is_done() && first.stoppable() {
            if let Err(status) = wait_for_turn::<J>(&ctx, job_id, &cancel).await {
                warn!(status = %status, "{} job stopped while queued; cancelling", J::KIND.name());
                J::cancel(&ctx, job_id, status).await;
                return;
            }
        }
        let mut failures = 0u32;
        loop {
            let Ok(job) = load::<J>(&ctx, job_id) else {
                return;
            };
            if job.is_done() {
                return;
            }
            let step = async {
                if job.stoppable() {
                    if cancel.is_cancelled() {
                        return Err(cancelled(J::KIND));
                    }
                    if job.is_timed_out(FeContext::now_ms()) {
                        return Err(job.timeout_error());
                    }
                }
                job.step(&ctx, &cancel).await
            };
            match step.await {
                Ok(()) => failures = 0,
                // Read again: the failing step may have passed the point of no return.
                Err(e) if must_finish::<J>(&ctx, job_id) => {
                    let wait = retry_backoff(failures);
                    failures += 1;
                    warn!(error = %e, retry_in = ?wait, "{} job failed after its commit point; retrying", J::KIND.name());
                    tokio::time::sleep(wait).await;
                }
                Err(e) => {
                    warn!(error = %e, "{} job failed; cancelling", J::KIND.name());
                    J::cancel(&ctx, job_id, JobStatus::from_error(&e)).await;
                    return;
                }
            }
        }
    }
    .instrument(span)
    .await
}
