//! Backup and restore jobs: the registry (in memory, every change written to the meta store
//! first), the runners that drive each job through its states, local snapshots for CCR.
//!
//! A job is a [`StoredJob`] under `Kind::Job`. Each runner step computes the next record,
//! persists it in one transaction and only then makes it visible and acts on it, so an FE
//! restarted at any point finds the job in a state it can resume from (or cancel cleanly).

pub mod backup_job;
pub mod local_snapshots;
pub mod meta_conv;
pub mod repos;
pub mod restore_job;
mod runner;

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use doris_thrift::agent_service::TReleaseSnapshotRequest;
use doris_thrift::types::TTaskType;
use futures::FutureExt;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::backup::state::SnapshotRecord;
use crate::backup::{
    Admission, AdmissionPolicy, BackupJobRecord, ErrCode, JobKind, JobRequest, JobStatus,
    OneJobPerDatabase, RestoreJobRecord, TableLevel,
};
use crate::context::{Ctx, FeContext};
use crate::error::{FeError, Result};
use crate::persist::{Kind, MetaError, Named};
use crate::system::task_queue::{new_task, AgentTask};

pub use local_snapshots::LocalSnapshot;
pub use restore_job::RestoreExtra;
use runner::RunnableJob;

/// What `Kind::Job` holds. Externally tagged on purpose: an internally tagged enum makes
/// serde buffer the record, and buffered JSON cannot give the records' integer map keys back.
/// Unboxed variants: a handful of jobs live at a time and callers match on the fields.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum StoredJob {
    #[serde(rename = "backup")]
    Backup { record: BackupJobRecord },
    #[serde(rename = "restore")]
    Restore {
        record: RestoreJobRecord,
        #[serde(default)]
        extra: RestoreExtra,
    },
}

impl StoredJob {
    pub fn job_id(&self) -> i64 {
        match self {
            StoredJob::Backup { record } => record.job_id,
            StoredJob::Restore { record, .. } => record.job_id,
        }
    }
}

fn meta_err(e: MetaError) -> FeError {
    FeError::Internal(format!("meta store: {e}"))
}

/// The first and the longest wait between attempts to persist a cancellation.
const CANCEL_SAVE_FIRST_BACKOFF: Duration = Duration::from_millis(100);
const CANCEL_SAVE_MAX_BACKOFF: Duration = Duration::from_secs(30);

/// What a panic carried, for the job's status and the log.
fn panic_message(payload: &(dyn Any + Send)) -> String {
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

#[derive(Default)]
pub struct Jobs {
    pub admission: Admission,
    jobs: Mutex<BTreeMap<i64, StoredJob>>,
    cancels: Mutex<HashMap<i64, CancellationToken>>,
    /// Local snapshots by label.
    locals: Mutex<BTreeMap<String, LocalSnapshot>>,
    /// Repositories by name.
    pub repos: Mutex<BTreeMap<String, crate::backup::Repository>>,
    /// Restore download progress by (job, task signature): (finished, total).
    progress: Mutex<BTreeMap<(i64, i64), (i32, i32)>>,
    /// The job runners, stopped at FE shutdown (not cancelled: their jobs are stored in a
    /// state they resume from on the next start).
    runners: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    stop: CancellationToken,
}

/// The admission policy `fe.conf` chooses: upstream's one job per database, or its
/// table-level scheduler.
pub fn admission_policy(config: &crate::config::FeConfig) -> Box<dyn AdmissionPolicy> {
    if config.enable_table_level_backup_concurrency {
        Box::new(TableLevel { max_per_db: config.max_backup_restore_concurrent_num_per_db })
    } else {
        Box::new(OneJobPerDatabase)
    }
}

impl Jobs {
    /// Load every stored job and local snapshot.
    pub fn load(
        store: &crate::persist::MetaStore,
        policy: Box<dyn AdmissionPolicy>,
    ) -> std::result::Result<Self, MetaError> {
        let j = Jobs { admission: Admission::new(policy), ..Jobs::default() };
        {
            let mut jobs = j.jobs.lock().unwrap();
            for (id, job) in store.load_all::<StoredJob>(Kind::Job)? {
                jobs.insert(id, job);
            }
            let mut repos = j.repos.lock().unwrap();
            for (name, r) in store.load_all_named::<crate::backup::Repository>(Named::Repository)? {
                repos.insert(name, r);
            }
            let mut locals = j.locals.lock().unwrap();
            for (label, s) in store.load_all_named::<LocalSnapshot>(Named::LocalSnapshot)? {
                locals.insert(label, s);
            }
        }
        Ok(j)
    }

    pub fn get(&self, job_id: i64) -> Option<StoredJob> {
        self.jobs.lock().unwrap().get(&job_id).cloned()
    }

    pub fn backups(&self) -> Vec<BackupJobRecord> {
        self.jobs
            .lock()
            .unwrap()
            .values()
            .filter_map(|j| match j {
                StoredJob::Backup { record } => Some(record.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn restores(&self) -> Vec<RestoreJobRecord> {
        self.jobs
            .lock()
            .unwrap()
            .values()
            .filter_map(|j| match j {
                StoredJob::Restore { record, .. } => Some(record.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn unfinished(&self) -> Vec<StoredJob> {
        self.jobs
            .lock()
            .unwrap()
            .values()
            .filter(|j| match j {
                StoredJob::Backup { record } => !record.state.is_done(),
                StoredJob::Restore { record, .. } => !record.state.is_done(),
            })
            .cloned()
            .collect()
    }

    /// Persist then publish a job record (one transaction), with optional extra writes.
    pub fn save_with(
        &self,
        ctx: &FeContext,
        job: StoredJob,
        extra: impl FnOnce(&mut crate::persist::Writer<'_>) -> std::result::Result<(), MetaError>,
    ) -> Result<()> {
        let id = job.job_id();
        ctx.store
            .write(|w| {
                w.put(Kind::Job, id, &job)?;
                extra(w)
            })
            .map_err(meta_err)?;
        self.publish(ctx, job);
        Ok(())
    }

    /// Make a job record that is already in the store (written in a transaction of
    /// another part, e.g. the catalog's table swap) the visible one.
    pub(crate) fn publish(&self, ctx: &FeContext, job: StoredJob) {
        let id = job.job_id();
        let done = match &job {
            StoredJob::Backup { record } => record.state.is_done(),
            StoredJob::Restore { record, .. } => record.state.is_done(),
        };
        let db_id = match &job {
            StoredJob::Backup { record } => record.db_id,
            StoredJob::Restore { record, .. } => record.db_id,
        };
        self.jobs.lock().unwrap().insert(id, job);
        if done {
            self.admission.finish(id);
            self.cancels.lock().unwrap().remove(&id);
            self.progress
                .lock()
                .unwrap()
                .retain(|(job, _), _| *job != id);
            self.prune(ctx, db_id);
        }
    }

    /// Keep at most `max_backup_restore_job_num_per_db` finished jobs per database (the
    /// oldest go first); unfinished jobs are always kept.
    fn prune(&self, ctx: &FeContext, db_id: i64) {
        let keep = ctx.config.max_backup_restore_job_num_per_db.max(1);
        let mut jobs = self.jobs.lock().unwrap();
        let mut done: Vec<(i64, i64)> = jobs
            .values()
            .filter_map(|j| match j {
                StoredJob::Backup { record } if record.db_id == db_id && record.state.is_done() => {
                    Some((record.finished_time_ms, record.job_id))
                }
                StoredJob::Restore { record, .. }
                    if record.db_id == db_id && record.state.is_done() =>
                {
                    Some((record.finished_time_ms, record.job_id))
                }
                _ => None,
            })
            .collect();
        if done.len() <= keep {
            return;
        }
        done.sort();
        let old: Vec<i64> = done[..done.len() - keep]
            .iter()
            .map(|(_, id)| *id)
            .collect();
        let res = ctx.store.write(|w| {
            for id in &old {
                w.delete(Kind::Job, *id)?;
            }
            Ok(())
        });
        match res {
            Ok(()) => {
                for id in old {
                    jobs.remove(&id);
                }
            }
            Err(e) => warn!(error = %e, "cannot forget old backup/restore jobs"),
        }
    }

    pub fn save(&self, ctx: &FeContext, job: StoredJob) -> Result<()> {
        self.save_with(ctx, job, |_| Ok(()))
    }

    pub fn cancel_token(&self, job_id: i64) -> CancellationToken {
        self.cancels
            .lock()
            .unwrap()
            .entry(job_id)
            .or_default()
            .clone()
    }

    /// Ask job `job_id` to cancel. A job whose runner has not started yet (a resumed job
    /// waiting for its backends) finds the request when it starts.
    pub fn request_cancel(&self, job_id: i64) {
        self.cancels.lock().unwrap().entry(job_id).or_default().cancel();
    }

    pub fn is_cancelled(&self, job_id: i64) -> bool {
        match self.get(job_id) {
            Some(StoredJob::Restore { record, .. }) => {
                record.state == crate::backup::RestoreState::Cancelled
                    || self
                        .cancels
                        .lock()
                        .unwrap()
                        .get(&job_id)
                        .is_some_and(|t| t.is_cancelled())
            }
            Some(StoredJob::Backup { record }) => {
                record.state == crate::backup::BackupState::Cancelled
            }
            None => true,
        }
    }

    /// Stop every job runner and wait until they let go of the context (FE shutdown). A
    /// runner stopped mid-wait drops its task waiters; the job resumes on the next start.
    pub async fn stop_runners(&self) {
        self.stop.cancel();
        let runners = std::mem::take(&mut *self.runners.lock().unwrap());
        for r in runners {
            let _ = r.await;
        }
    }

    /// Run `fut` until it ends or the FE shuts down. A panic in `fut` is caught and its
    /// message handed to `on_panic`, so the job it drove is not left in its state with
    /// nothing driving it.
    fn spawn_runner<F, P, PF>(&self, fut: F, on_panic: P)
    where
        F: Future<Output = ()> + Send + 'static,
        P: FnOnce(String) -> PF + Send + 'static,
        PF: Future<Output = ()> + Send + 'static,
    {
        if self.stop.is_cancelled() {
            return;
        }
        let stop = self.stop.clone();
        let handle = tokio::spawn(async move {
            // Unwind safety: what the runner held is dropped with it; the jobs it shares
            // state with are re-read from the registry and the store by the clean-up.
            let panicked = tokio::select! {
                res = AssertUnwindSafe(fut).catch_unwind() => res.err(),
                _ = stop.cancelled() => None,
            };
            let Some(payload) = panicked else {
                return;
            };
            let msg = panic_message(payload.as_ref());
            error!(panic = %msg, "job runner panicked; cleaning up its job");
            if AssertUnwindSafe(on_panic(msg))
                .catch_unwind()
                .await
                .is_err()
            {
                error!("the clean-up after a panicked job runner panicked too");
            }
        });
        let mut runners = self.runners.lock().unwrap();
        runners.retain(|h| !h.is_finished());
        runners.push(handle);
    }

    /// Persist a cancelled job, retrying with backoff while the store refuses: a job whose
    /// CANCELLED state is not stored would stay in its old state with no runner left. Gives
    /// up only when the FE shuts down; the stored job then resumes at the next start.
    async fn save_cancelled(&self, ctx: &FeContext, job: StoredJob) -> Result<()> {
        let job_id = job.job_id();
        let mut backoff = CANCEL_SAVE_FIRST_BACKOFF;
        loop {
            let e = match self.save(ctx, job.clone()) {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            warn!(job_id, error = %e, retry_in_ms = backoff.as_millis() as u64, "cannot persist the cancellation; retrying");
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = self.stop.cancelled() => return Err(e),
            }
            backoff = (backoff * 2).min(CANCEL_SAVE_MAX_BACKOFF);
        }
    }

    pub fn record_progress(&self, job_id: i64, task_id: i64, finished: i32, total: i32) {
        // A late report for a job that is done is not kept: nothing would ever remove it.
        let running = self
            .jobs
            .lock()
            .unwrap()
            .get(&job_id)
            .is_some_and(|j| match j {
                StoredJob::Backup { record } => !record.state.is_done(),
                StoredJob::Restore { record, .. } => !record.state.is_done(),
            });
        if !running {
            return;
        }
        self.progress
            .lock()
            .unwrap()
            .insert((job_id, task_id), (finished, total));
    }

    /// The download progress BEs reported for a running job: (task signature, (finished, total)).
    pub fn progress_of(&self, job_id: i64) -> Vec<(i64, (i32, i32))> {
        self.progress
            .lock()
            .unwrap()
            .iter()
            .filter(|((job, _), _)| *job == job_id)
            .map(|((_, task), p)| (*task, *p))
            .collect()
    }

    pub fn local_snapshot(&self, label: &str) -> Option<LocalSnapshot> {
        self.locals.lock().unwrap().get(label).cloned()
    }

    pub fn local_snapshots(&self) -> Vec<LocalSnapshot> {
        self.locals.lock().unwrap().values().cloned().collect()
    }

    fn put_local_in_memory(&self, s: LocalSnapshot) -> Option<LocalSnapshot> {
        self.locals.lock().unwrap().insert(s.label.clone(), s)
    }

    fn remove_local_in_memory(&self, label: &str) -> Option<LocalSnapshot> {
        self.locals.lock().unwrap().remove(label)
    }
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
pub fn resume_all(ctx: &Ctx) {
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

fn start_resumed(ctx: &Ctx, jobs: Vec<StoredJob>) {
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

pub fn spawn_backup(ctx: &Ctx, job_id: i64) {
    let token = ctx.jobs.cancel_token(job_id);
    let c = ctx.clone();
    spawn_job::<BackupJobRecord, _, _>(ctx, job_id, move || backup_job::run(c.clone(), job_id, token.clone()));
}

pub fn spawn_restore(ctx: &Ctx, job_id: i64, resumed: bool) {
    let token = ctx.jobs.cancel_token(job_id);
    let c = ctx.clone();
    spawn_job::<(RestoreJobRecord, RestoreExtra), _, _>(ctx, job_id, move || {
        restore_job::run(c.clone(), job_id, token.clone(), resumed)
    });
}

/// Run `make()` as the runner of job `job_id` of kind `J`. If it panics, the job is
/// cancelled with the panic's message and the normal cancel clean-up; one past its point
/// of no return is run again instead, after a backoff.
fn spawn_job<J, M, F>(ctx: &Ctx, job_id: i64, make: M)
where
    J: RunnableJob,
    M: Fn() -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    respawn_job::<J, M, F>(ctx, job_id, Arc::new(make), 0)
}

fn respawn_job<J, M, F>(ctx: &Ctx, job_id: i64, make: Arc<M>, panics: u32)
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

/// Send RELEASE_SNAPSHOT for each snapshot; failures are logged (BEs also expire them).
pub async fn release_snapshots<'a>(
    ctx: &FeContext,
    snaps: impl IntoIterator<Item = &'a SnapshotRecord>,
) {
    let mut tasks = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for s in snaps {
        if s.path.is_empty() || !seen.insert((s.be_id, s.path.clone())) {
            continue;
        }
        let Some(addr) = ctx.backends.get(s.be_id).and_then(|b| b.be_addr()) else {
            continue;
        };
        let Ok(sig) = ctx.store.next_id() else {
            continue;
        };
        let mut t = new_task(TTaskType::RELEASE_SNAPSHOT, sig);
        t.release_snapshot_req = Some(Box::new(TReleaseSnapshotRequest {
            snapshot_path: s.path.clone(),
        }));
        tasks.push(AgentTask {
            backend_id: s.be_id,
            addr,
            request: t,
        });
    }
    for e in ctx.tasks.submit(tasks).await {
        warn!(error = %e, "RELEASE_SNAPSHOT not delivered");
    }
}

/// CANCEL BACKUP/RESTORE: ask every unfinished job of `kind` in `db` whose label matches
/// to cancel (queued ones included); how many were asked.
pub fn cancel_unfinished(
    ctx: &FeContext,
    db_id: i64,
    kind: JobKind,
    filter: Option<&crate::sql::NameFilter>,
) -> Result<usize> {
    let ids: Vec<i64> = ctx
        .jobs
        .unfinished()
        .into_iter()
        .filter_map(|j| match (&j, kind) {
            (StoredJob::Backup { record }, JobKind::Backup) => {
                Some((record.db_id, record.label.clone(), record.job_id))
            }
            (StoredJob::Restore { record, .. }, JobKind::Restore) => {
                Some((record.db_id, record.label.clone(), record.job_id))
            }
            _ => None,
        })
        .filter(|(db, label, _)| *db == db_id && crate::backup::show::name_matches(label, filter))
        .map(|(_, _, id)| id)
        .collect();
    if ids.is_empty() {
        let which = match filter {
            None => String::new(),
            Some(crate::sql::NameFilter::Eq(l)) => format!(" with label '{l}'"),
            Some(crate::sql::NameFilter::Like(l)) => format!(" with label like '{l}'"),
        };
        return Err(FeError::IllegalState(format!(
            "No {} job{which} is currently running",
            kind.name()
        )));
    }
    for id in &ids {
        info!(job_id = id, "{} job cancel requested", kind.name());
        ctx.jobs.request_cancel(*id);
    }
    Ok(ids.len())
}

#[cfg(test)]
mod tests {
    use super::*;
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
    async fn wait_done(ctx: &Ctx, id: i64) -> (String, JobStatus) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let done = match ctx.store.get::<StoredJob>(Kind::Job, id).unwrap() {
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
        let ctx = fe.ctx.clone();
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
            assert!(
                ctx.jobs.admission.unfinished().is_empty(),
                "the job's slot is free"
            );
            assert!(ctx.jobs.unfinished().is_empty());
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
        let ctx = fe.ctx.clone();
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
