//! The job registry: every backup and restore job in memory, each change written to the
//! meta store first and only then made visible; local snapshots by label;
//! the runners' handles, stopped at FE shutdown.
//!
//! A job is a [`StoredJob`], stored by [`super::job_store`]. Each runner step computes the next record,
//! persists it in one transaction and only then makes it visible and acts on it, so an FE
//! restarted at any point finds the job in a state it can resume from (or cancel cleanly).

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use tracing::{error, warn};
use super::runners::panic_message;

use crate::backup::{
    Admission, AdmissionPolicy, BackupJobRecord,
    OneJobPerDatabase, RestoreJobRecord, TableLevel,
};
use crate::context::FeContext;
use crate::error::{FeError, Result};
use crate::persist::{MetaError, Named};

use super::local_snapshots::LocalSnapshot;
use super::restore_job::RestoreExtra;

/// A stored job (see `job_store`). Externally tagged on purpose: an internally tagged enum
/// makes serde buffer the record, and buffered JSON cannot give the records' integer map keys back.
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
    /// The job as the scheduler sees it.
    pub fn admission_request(&self) -> crate::backup::JobRequest {
        match self {
            StoredJob::Backup { record } => super::backup_job::admission_request(record),
            StoredJob::Restore { record, .. } => super::restore_job::admission_request(record),
        }
    }

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

#[derive(Default)]
pub struct Jobs {
    pub admission: Admission,
    jobs: Mutex<BTreeMap<i64, StoredJob>>,
    cancels: Mutex<HashMap<i64, CancellationToken>>,
    /// Local snapshots by label.
    /// Shared, not copied: one holds an entry per tablet and the job_info document.
    locals: Mutex<BTreeMap<String, Arc<LocalSnapshot>>>,
    /// Restore download progress by (job, task signature): (finished, total).
    progress: Mutex<BTreeMap<(i64, i64), (i32, i32)>>,
    /// The job runners, stopped at FE shutdown (not cancelled: their jobs are stored in a
    /// state they resume from on the next start).
    runners: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    pub(super) stop: CancellationToken,
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
            for (id, job) in super::job_store::load_all(store)? {
                jobs.insert(id, job);
            }
            let mut locals = j.locals.lock().unwrap();
            for (label, s) in store.load_all_named::<LocalSnapshot>(Named::LocalSnapshot)? {
                locals.insert(label, Arc::new(s));
            }
        }
        Ok(j)
    }

    pub fn get(&self, job_id: i64) -> Option<StoredJob> {
        self.jobs.lock().unwrap().get(&job_id).cloned()
    }

    /// A copy of every backup record (tests and tools; SHOW uses `with_backups`).
    pub fn backups(&self) -> Vec<BackupJobRecord> {
        self.with_backups(|it| it.cloned().collect())
    }

    /// A copy of every restore record (tests and tools; SHOW uses `with_restores`).
    pub fn restores(&self) -> Vec<RestoreJobRecord> {
        self.with_restores(|it| it.cloned().collect())
    }

    /// Look at every backup record in place. A record of a large job holds an entry per
    /// tablet: SHOW BACKUP, polled by the CCR syncer, must not copy them all each time.
    /// Do not lock other job state from `f`.
    pub fn with_backups<R>(&self, f: impl FnOnce(&mut dyn Iterator<Item = &BackupJobRecord>) -> R) -> R {
        let jobs = self.jobs.lock().unwrap();
        let mut it = jobs.values().filter_map(|j| match j {
            StoredJob::Backup { record } => Some(record),
            _ => None,
        });
        f(&mut it)
    }

    /// As [`with_backups`](Self::with_backups), for restores.
    pub fn with_restores<R>(&self, f: impl FnOnce(&mut dyn Iterator<Item = &RestoreJobRecord>) -> R) -> R {
        let jobs = self.jobs.lock().unwrap();
        let mut it = jobs.values().filter_map(|j| match j {
            StoredJob::Restore { record, .. } => Some(record),
            _ => None,
        });
        f(&mut it)
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
        let mut job = job;
        ctx.store
            .write(|w| {
                super::job_store::put(w, &mut job)?;
                extra(w)
            })
            .map_err(meta_err)?;
        self.publish(ctx, job);
        Ok(())
    }

    /// Store a finished local backup and its snapshot in one transaction, then make the
    /// snapshot visible before the job: the syncer calls getSnapshot as soon as SHOW BACKUP
    /// says FINISHED. Returns the snapshot it replaced (same label), if any.
    pub(super) fn save_local_snapshot(&self, ctx: &FeContext, job: StoredJob, snap: LocalSnapshot) -> Result<Option<Arc<LocalSnapshot>>> {
        let mut job = job;
        ctx.store
            .write(|w| {
                super::job_store::put(w, &mut job)?;
                w.put_named(Named::LocalSnapshot, &snap.label, &snap)
            })
            .map_err(meta_err)?;
        let replaced = self.put_local_in_memory(snap);
        self.publish(ctx, job);
        Ok(replaced)
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
                super::job_store::delete(w, *id)?;
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

    /// A new job: admitted by the scheduler (or refused with its reason), then stored;
    /// a job that cannot be stored gives its admission back.
    pub fn submit(&self, ctx: &FeContext, job: StoredJob) -> Result<()> {
        let job_id = job.job_id();
        self.admission.try_admit(job.admission_request(), FeContext::now_ms())?;
        if let Err(e) = self.save(ctx, job) {
            self.admission.finish(job_id);
            return Err(e);
        }
        Ok(())
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

    /// Asked on every snapshot loader report (one per tablet pulled): looks at the job in
    /// place, never copies it (a restore's record holds the whole job info).
    pub fn is_cancelled(&self, job_id: i64) -> bool {
        let restore_running = match self.jobs.lock().unwrap().get(&job_id) {
            Some(StoredJob::Restore { record, .. }) => record.state != crate::backup::RestoreState::Cancelled,
            Some(StoredJob::Backup { record }) => return record.state == crate::backup::BackupState::Cancelled,
            None => return true,
        };
        !restore_running || self.cancels.lock().unwrap().get(&job_id).is_some_and(|t| t.is_cancelled())
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
    pub(super) fn spawn_runner<F, P, PF>(&self, fut: F, on_panic: P)
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
    pub(super) async fn save_cancelled(&self, ctx: &FeContext, job: StoredJob) -> Result<()> {
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

    /// Whether a stored backup or restore job, or a local snapshot, names the snapshot
    /// `path` on backend `be_id` (one nobody names may be released).
    pub fn owns_snapshot(&self, be_id: i64, path: &str) -> bool {
        let in_job = self.jobs.lock().unwrap().values().any(|j| match j {
            StoredJob::Backup { record } => record.snapshots.values().any(|s| s.be_id == be_id && s.path == path),
            StoredJob::Restore { extra, .. } => {
                extra.tablets.iter().any(|t| t.local_be_id == be_id && t.local_snapshot_path == path)
            }
        });
        in_job
            || self
                .locals
                .lock()
                .unwrap()
                .values()
                .any(|l| l.snapshots.iter().any(|s| s.be_id == be_id && s.path == path))
    }

    pub fn local_snapshot(&self, label: &str) -> Option<Arc<LocalSnapshot>> {
        self.locals.lock().unwrap().get(label).cloned()
    }

    /// The local snapshots expired at `now_ms`.
    pub fn expired_local_snapshots(&self, now_ms: i64) -> Vec<Arc<LocalSnapshot>> {
        self.locals.lock().unwrap().values().filter(|s| s.expired_at_ms() <= now_ms).cloned().collect()
    }

    pub(super) fn put_local_in_memory(&self, s: LocalSnapshot) -> Option<Arc<LocalSnapshot>> {
        self.locals.lock().unwrap().insert(s.label.clone(), Arc::new(s))
    }

    pub(super) fn remove_local_in_memory(&self, label: &str) -> Option<Arc<LocalSnapshot>> {
        self.locals.lock().unwrap().remove(label)
    }
}
