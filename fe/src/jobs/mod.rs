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

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use doris_thrift::agent_service::TReleaseSnapshotRequest;
use doris_thrift::types::TTaskType;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::backup::state::SnapshotRecord;
use crate::backup::{Admission, BackupJobRecord, JobKind, RestoreJobRecord, RunningJob};
use crate::context::{Ctx, FeContext};
use crate::error::{FeError, Result};
use crate::persist::{Kind, MetaError, Named};
use crate::system::task_queue::{new_task, AgentTask};

pub use local_snapshots::LocalSnapshot;
pub use restore_job::RestoreExtra;

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

impl Jobs {
    /// Load every stored job and local snapshot.
    pub fn load(store: &crate::persist::MetaStore) -> std::result::Result<Self, MetaError> {
        let j = Jobs::default();
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

    /// Ask a running job to cancel; true when a job was asked.
    pub fn request_cancel(&self, job_id: i64) -> bool {
        match self.cancels.lock().unwrap().get(&job_id) {
            Some(t) => {
                t.cancel();
                true
            }
            None => false,
        }
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

    /// Run `fut` until it ends or the FE shuts down.
    fn spawn_runner(&self, fut: impl std::future::Future<Output = ()> + Send + 'static) {
        if self.stop.is_cancelled() {
            return;
        }
        let stop = self.stop.clone();
        let handle = tokio::spawn(async move {
            tokio::select! {
                _ = fut => {}
                _ = stop.cancelled() => {}
            }
        });
        let mut runners = self.runners.lock().unwrap();
        runners.retain(|h| !h.is_finished());
        runners.push(handle);
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

/// Register the unfinished jobs with admission and start their runners once the backends
/// answered a heartbeat (or a few heartbeat intervals passed) (FE start).
pub fn resume_all(ctx: &Ctx) {
    let jobs = ctx.jobs.unfinished();
    if jobs.is_empty() {
        return;
    }
    for job in &jobs {
        let (kind, job_id, db_id, label, refs) = match job {
            StoredJob::Backup { record } => (
                JobKind::Backup,
                record.job_id,
                record.db_id,
                &record.label,
                &record.table_refs,
            ),
            StoredJob::Restore { record, .. } => (
                JobKind::Restore,
                record.job_id,
                record.db_id,
                &record.label,
                &record.table_refs,
            ),
        };
        ctx.jobs.admission.resume(RunningJob {
            kind,
            job_id,
            db_id,
            label: label.clone(),
            tables: refs.iter().map(|t| t.table.clone()).collect(),
        });
    }
    let ctx2 = ctx.clone();
    ctx.jobs.spawn_runner(async move {
        let ctx = ctx2;
        let wait = Duration::from_secs_f64((ctx.config.heartbeat_interval_second * 5.0).max(5.0));
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
    });
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
    ctx.jobs
        .spawn_runner(backup_job::run(ctx.clone(), job_id, token));
}

pub fn spawn_restore(ctx: &Ctx, job_id: i64, resumed: bool) {
    let token = ctx.jobs.cancel_token(job_id);
    ctx.jobs
        .spawn_runner(restore_job::run(ctx.clone(), job_id, token, resumed));
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

/// The job of `db` that is not done, for CANCEL BACKUP/RESTORE.
pub fn cancel_running(ctx: &FeContext, db_id: i64, kind: JobKind) -> Result<()> {
    let job = ctx.jobs.unfinished().into_iter().find(|j| match (j, kind) {
        (StoredJob::Backup { record }, JobKind::Backup) => record.db_id == db_id,
        (StoredJob::Restore { record, .. }, JobKind::Restore) => record.db_id == db_id,
        _ => false,
    });
    match job {
        Some(j) => {
            ctx.jobs.request_cancel(j.job_id());
            Ok(())
        }
        None => Err(FeError::NotFound(format!(
            "unfinished {} job of database {db_id}",
            if kind == JobKind::Backup {
                "backup"
            } else {
                "restore"
            }
        ))),
    }
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
