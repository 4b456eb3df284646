//! Starting job runners: at submit, at FE start for the unfinished jobs (once the backends
//! answered), and again after a runner panicked past its commit point.

use std::any::Any;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tracing::{info, warn};

use crate::backup::{
    BackupJobRecord, ErrCode, JobKind, JobRequest, JobStatus, RestoreJobRecord,
};
use crate::backup::BackupCtx;
use super::{backup_job, restore_job, runner, RestoreExtra, StoredJob};
use super::runner::RunnableJob;

/// What a panic carried, for the job's status and the log.
pub(super) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

/// The status a job gets when its runner panicked.
fn panicked_status(kind: JobKind, msg: &str) -> JobStatus {
    JobStatus::error(
        ErrCode::CommonError,
        format!("{} job runner panicked: {msg}", kind.name()),
    )
}

/// A stored job as admission sees it: (the job, whether it started, when it was submitted).
fn admission_entry(job: &StoredJob) -> (JobRequest, bool, i64) {
    match job {
        StoredJob::Backup { record } => (
            backup_job::admission_request(record),
            record.state != crate::backup::BackupState::Pending,
            record.create_time_ms,
        ),
        StoredJob::Restore { record, .. } => (
            restore_job::admission_request(record),
            record.state != crate::backup::RestoreState::Pending,
            record.create_time_ms,
        ),
    }
}

/// Register the unfinished jobs with admission and start their runners once the backends
/// answered a heartbeat (or a few heartbeat intervals passed) (FE start).
pub fn resume_all(ctx: &BackupCtx) {
    let jobs = ctx.jobs.unfinished();
    // A restore that ended (or whose record is gone) holds no table; normally its end
    // released them, this covers a crash in between.
    let running: Vec<i64> = jobs.iter().map(StoredJob::job_id).collect();
    match ctx.catalog.release_restore_locks(|j| !running.contains(&j)) {
        Ok(released) if !released.is_empty() => {
            warn!(tables = ?released, "released tables held by restore jobs that are over")
        }
        Ok(_) => {}
        Err(e) => warn!(error = %e, "cannot release tables held by restore jobs that are over"),
    }
    if jobs.is_empty() {
        return;
    }
    ctx.jobs.admission.resume(jobs.iter().map(admission_entry).collect());
    let ctx2 = ctx.clone();
    // Nothing to cancel when this one panics: the jobs it would start stay stored as they
    // are and resume at the next start.
    ctx.jobs.spawn_runner(
        async move {
            let ctx = ctx2;
            let wait =
                Duration::from_secs_f64((ctx.config.heartbeat_interval_second * 5.0).max(5.0));
            let deadline = tokio::time::Instant::now() + wait;
            while tokio::time::Instant::now() < deadline
                && !ctx
                    .backends
                    .all()
                    .iter()
                    .all(|b| b.alive || b.decommissioned)
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            start_resumed(&ctx, jobs);
        },
        |_| async {},
    );
}

fn start_resumed(ctx: &BackupCtx, jobs: Vec<StoredJob>) {
    for job in jobs {
        match job {
            StoredJob::Backup { record } => {
                info!(job_id = record.job_id, label = %record.label, state = %record.state, "resuming backup job");
                spawn_backup(ctx, record.job_id);
            }
            StoredJob::Restore { record, .. } => {
                info!(job_id = record.job_id, label = %record.label, state = %record.state, "resuming restore job");
                spawn_restore(ctx, record.job_id, true);
            }
        }
    }
}

pub fn spawn_backup(ctx: &BackupCtx, job_id: i64) {
    let token = ctx.jobs.cancel_token(job_id);
    let c = ctx.clone();
    spawn_job::<BackupJobRecord, _, _>(ctx, job_id, move || backup_job::run(c.clone(), job_id, token.clone()));
}

pub fn spawn_restore(ctx: &BackupCtx, job_id: i64, resumed: bool) {
    let token = ctx.jobs.cancel_token(job_id);
    let c = ctx.clone();
    spawn_job::<(RestoreJobRecord, RestoreExtra), _, _>(ctx, job_id, move || {
        restore_job::run(c.clone(), job_id, token.clone(), resumed)
    });
}

/// Run `make()` as the runner of job `job_id` of kind `J`. If it panics, the job is
/// cancelled with the panic's message and the normal cancel clean-up; one past its point
/// of no return is run again instead, after a backoff.
fn spawn_job<J, M, F>(ctx: &BackupCtx, job_id: i64, make: M)
where
    J: RunnableJob,
    M: Fn() -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    respawn_job::<J, M, F>(ctx, job_id, Arc::new(make), 0)
}

fn respawn_job<J, M, F>(ctx: &BackupCtx, job_id: i64, make: Arc<M>, panics: u32)
where
    J: RunnableJob,
    M: Fn() -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let c = ctx.clone();
    ctx.jobs.spawn_runner(make(), move |msg| async move {
        if !runner::must_finish::<J>(&c, job_id) {
            return J::cancel(&c, job_id, panicked_status(J::KIND, &msg)).await;
        }
        let wait = runner::retry_backoff(panics);
        warn!(job_id, panic = %msg, retry_in = ?wait, "the job is past its commit point; running it again");
        tokio::select! {
            _ = tokio::time::sleep(wait) => respawn_job::<J, M, F>(&c, job_id, make, panics + 1),
            _ = c.jobs.stop.cancelled() => {}
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::state::SnapshotRecord;
    use crate::backup::{BackupContent, JobHeader, RestoreOptions};

    fn header(id: i64) -> JobHeader {
        JobHeader {
            job_id: id,
            label: "snap".into(),
            db_id: 1,
            db_name: "db".into(),
            repo_id: -1,
            repo_name: "__keep_on_local__".into(),
            table_refs: vec![],
        }
    }

    /// An FE on a fresh meta dir, no backends.
    async fn fe(meta: &std::path::Path) -> crate::server::FeHandle {
        let mut c = crate::config::FeConfig::default();
        for (k, v) in [
            ("meta_dir", meta.to_str().unwrap()),
            ("rpc_port", "0"),
            ("query_port", "0"),
            ("http_port", "0"),
            ("priority_networks", "127.0.0.0/8"),
        ] {
            c.set(k, v).unwrap();
        }
        crate::server::start(c).await.unwrap()
    }

    /// The stored state and status of a job once it is done.
    async fn wait_done(ctx: &BackupCtx, id: i64) -> (String, JobStatus) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let done = match crate::backup::job_store::get(&ctx.store, id).unwrap() {
                Some(StoredJob::Backup { record }) if record.state.is_done() => {
                    Some((record.state.to_string(), record.status))
                }
                Some(StoredJob::Restore { record, .. }) if record.state.is_done() => {
                    Some((record.state.to_string(), record.status))
                }
                _ => None,
            };
            if let Some(d) = done {
                return d;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "job {id} still not done"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A runner that panics (here: a job state it cannot handle) gets its job cancelled,
    /// stored as CANCELLED with a status naming the panic, and the job's admission slot
    /// freed; before, the job stayed in its state with nothing driving it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_runner_cancels_its_job() {
        let meta = tempfile::tempdir().unwrap();
        let fe = fe(meta.path()).await;
        let ctx = fe.backup.clone();
        for (id, kind) in [(7, JobKind::Backup), (8, JobKind::Restore)] {
            let job = match kind {
                JobKind::Backup => StoredJob::Backup {
                    record: BackupJobRecord::new(header(id), BackupContent::All, 86_400_000, 5),
                },
                JobKind::Restore => StoredJob::Restore {
                    record: RestoreJobRecord::new(header(id), RestoreOptions::default(), 5),
                    extra: RestoreExtra::default(),
                },
            };
            ctx.jobs
                .admission
                .try_admit(crate::backup::JobRequest {
                    kind,
                    job_id: id,
                    db_id: 1,
                    label: "snap".into(),
                    tables: vec![],
                    whole_db: true,
                }, 5)
                .unwrap();
            ctx.jobs.save(&ctx, job).unwrap();
            let runner = move || async move {
                panic!("job {id} is in a state its runner cannot handle");
            };
            match kind {
                JobKind::Backup => spawn_job::<BackupJobRecord, _, _>(&ctx, id, runner),
                JobKind::Restore => spawn_job::<(RestoreJobRecord, RestoreExtra), _, _>(&ctx, id, runner),
            }
            let (state, status) = wait_done(&ctx, id).await;
            assert_eq!(state, "CANCELLED");
            assert_eq!(status.code, ErrCode::CommonError);
            let kind_name = if kind == JobKind::Backup {
                "backup"
            } else {
                "restore"
            };
            assert_eq!(
                status.msg,
                format!("{kind_name} job runner panicked: job {id} is in a state its runner cannot handle")
            );
            // The slot is freed right after the CANCELLED record is written.
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            while !(ctx.jobs.admission.unfinished().is_empty() && ctx.jobs.unfinished().is_empty()) {
                assert!(tokio::time::Instant::now() < deadline, "the job's slot is free");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        drop(ctx);
        fe.shutdown().await;
    }

    /// A restore that swapped its tables in is committed: a runner panicking after that
    /// does not leave it COMMITTING until the next start, nor cancel it; the runner runs
    /// again and the job finishes.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_runner_panicking_after_the_commit_point_runs_again() {
        let meta = tempfile::tempdir().unwrap();
        let fe = fe(meta.path()).await;
        let ctx = fe.backup.clone();
        let id = 9;
        let mut record = RestoreJobRecord::new(header(id), RestoreOptions::default(), 5);
        record.state = crate::backup::RestoreState::Committing;
        let extra = RestoreExtra { swapped: true, ..RestoreExtra::default() };
        ctx.jobs
            .admission
            .try_admit(crate::backup::JobRequest {
                kind: JobKind::Restore,
                job_id: id,
                db_id: 1,
                label: "snap".into(),
                tables: vec![],
                whole_db: true,
            }, 5)
            .unwrap();
        ctx.jobs.save(&ctx, StoredJob::Restore { record, extra }).unwrap();
        let runs = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let (c, r) = (ctx.clone(), runs.clone());
        let token = ctx.jobs.cancel_token(id);
        spawn_job::<(RestoreJobRecord, RestoreExtra), _, _>(&ctx, id, move || {
            let first = r.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0;
            let (c, token) = (c.clone(), token.clone());
            async move {
                assert!(!first, "the runner panics right after the swap");
                restore_job::run(c, id, token, true).await
            }
        });
        let (state, status) = wait_done(&ctx, id).await;
        assert_eq!(state, "FINISHED", "{status:?}");
        assert_eq!(status.code, ErrCode::Ok);
        assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 2);
        assert!(ctx.jobs.admission.unfinished().is_empty(), "the job's slot is free");
        drop(ctx);
        fe.shutdown().await;
    }

    /// Records with integer-keyed maps come back from their stored JSON (an internally
    /// tagged enum would fail here and keep the FE from starting).
    #[test]
    fn stored_jobs_round_trip() {
        let mut b = BackupJobRecord::new(header(7), BackupContent::All, 1000, 5);
        b.snapshots.insert(
            11,
            SnapshotRecord {
                db_id: 1,
                table_id: 2,
                partition_id: 3,
                index_id: 4,
                tablet_id: 11,
                be_id: 9,
                schema_hash: 5,
                path: "/s/p".into(),
                files: vec!["11.hdr".into()],
            },
        );
        b.table_commit_seq_map.insert(2, 10_042);
        b.tasks.unfinished.insert(100, 11);
        let job = StoredJob::Backup { record: b.clone() };
        let back: StoredJob = serde_json::from_slice(&serde_json::to_vec(&job).unwrap()).unwrap();
        assert!(matches!(back, StoredJob::Backup { record } if record == b));

        let r = RestoreJobRecord::new(header(8), RestoreOptions::default(), 5);
        let extra = RestoreExtra {
            created_tables: vec![3],
            partitions: vec![(3, 4, 2)],
            atomic: vec![restore_job::AtomicSwap {
                table: "t".into(),
                shadow_table_id: 3,
            }],
            swapped: true,
            ..Default::default()
        };
        let job = StoredJob::Restore {
            record: r.clone(),
            extra: extra.clone(),
        };
        let back: StoredJob = serde_json::from_slice(&serde_json::to_vec(&job).unwrap()).unwrap();
        assert!(
            matches!(back, StoredJob::Restore { record, extra: x } if record == r && x == extra)
        );
    }
}
