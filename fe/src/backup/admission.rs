//! Whether a new backup or restore job may be submitted, and when it may run: the only
//! place that decides it.
//!
//! [`Admission`] keeps every unfinished job in submission order and asks an
//! [`AdmissionPolicy`] under one lock, so a check and the registration that follows cannot
//! interleave with another submission. A policy refuses a job outright ([`AdmissionPolicy::admit`])
//! or lets it wait in the queue with a reason ([`AdmissionPolicy::blocker`]); whenever a job
//! ends, the queue is walked again and every job nothing blocks any more is allowed to run.
//!
//! Two policies: upstream's default, one unfinished job per database
//! ([`OneJobPerDatabase`]), and upstream's table-level scheduler behind
//! `enable_table_level_backup_concurrency` ([`TableLevel`]).

use std::sync::Mutex;

use tokio::sync::Notify;

use crate::error::{FeError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    Backup,
    Restore,
}

impl JobKind {
    pub fn name(self) -> &'static str {
        match self {
            JobKind::Backup => "backup",
            JobKind::Restore => "restore",
        }
    }
}

/// A job as admission sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRequest {
    pub kind: JobKind,
    pub job_id: i64,
    pub db_id: i64,
    pub label: String,
    /// Tables the job reads (backup) or replaces (restore: the local names).
    pub tables: Vec<String>,
    /// The job covers the whole database: a BACKUP or RESTORE without an ON clause, or a
    /// restore that drops the tables the snapshot lacks (`clean_tables`).
    pub whole_db: bool,
}

/// An unfinished job and whether it may run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    pub job: JobRequest,
    pub allowed: bool,
    /// When the job was submitted (ms since the epoch): the start of its pending timeout.
    pub since_ms: i64,
    /// Why a job that is not allowed waits.
    pub reason: Option<String>,
}

pub trait AdmissionPolicy: Send + Sync {
    /// `Ok` takes the job into the queue; an error is the refusal shown to the user.
    /// `unfinished`: every job already queued or running, all databases.
    fn admit(&self, request: &JobRequest, unfinished: &[Queued]) -> Result<()>;

    /// Why `job` cannot run yet, or None when it may. `ahead`: the jobs of its database
    /// that run, and those submitted before it that still wait.
    fn blocker(&self, job: &JobRequest, ahead: &[&Queued]) -> Option<String>;

    /// Whether SHOW BACKUP/RESTORE shows the queue (the QueuePos and BlockReason columns).
    fn shows_queue(&self) -> bool {
        false
    }
}

/// Upstream's default rule: one unfinished backup or restore job per database; a second
/// one is refused, never queued.
#[derive(Debug, Default, Clone, Copy)]
pub struct OneJobPerDatabase;

impl AdmissionPolicy for OneJobPerDatabase {
    fn admit(&self, request: &JobRequest, unfinished: &[Queued]) -> Result<()> {
        match unfinished.iter().find(|q| q.job.db_id == request.db_id) {
            None => Ok(()),
            Some(cur) => Err(FeError::IllegalState(format!(
                "Can only run one backup or restore job of a database at same time , current running: label = {} jobId = {}, to run label = {}",
                cur.job.label, cur.job.job_id, request.label
            ))),
        }
    }

    fn blocker(&self, _job: &JobRequest, _ahead: &[&Queued]) -> Option<String> {
        None
    }
}

/// Upstream's table-level scheduler (`enable_table_level_backup_concurrency`): jobs of one
/// database run side by side up to `max_per_db`, backups never together with restores, a
/// whole-database job alone with its kind, and two restores never on the same table.
/// A second whole-database backup is refused (the first one's snapshot serves it); every
/// other conflict queues the job.
#[derive(Debug, Clone, Copy)]
pub struct TableLevel {
    pub max_per_db: usize,
}

fn count(n: usize, what: &str) -> String {
    format!("Waiting for {n} {what}(s) to complete")
}

impl AdmissionPolicy for TableLevel {
    fn admit(&self, request: &JobRequest, unfinished: &[Queued]) -> Result<()> {
        let same_db = unfinished.iter().filter(|q| q.job.db_id == request.db_id);
        for q in same_db {
            if q.job.kind == request.kind && q.job.label == request.label {
                return Err(FeError::IllegalState(format!("Label already exists: {}", request.label)));
            }
            if request.kind == JobKind::Backup && q.job.kind == JobKind::Backup && q.job.whole_db {
                return Err(FeError::IllegalState(format!(
                    "Cannot submit backup job while full database backup exists.\nFull database backup: {} (running or pending)\nSuggestion: Wait for it to complete, or cancel it first.",
                    q.job.label
                )));
            }
        }
        Ok(())
    }

    fn blocker(&self, job: &JobRequest, ahead: &[&Queued]) -> Option<String> {
        let backups: Vec<&JobRequest> =
            ahead.iter().map(|q| &q.job).filter(|j| j.kind == JobKind::Backup).collect();
        let restores: Vec<&JobRequest> =
            ahead.iter().map(|q| &q.job).filter(|j| j.kind == JobKind::Restore).collect();
        if let Some(b) = backups.iter().find(|b| b.whole_db) {
            if job.kind == JobKind::Restore || job.whole_db {
                return Some(format!("Full database backup is running: {}", b.label));
            }
        }
        if let Some(r) = restores.iter().find(|r| r.whole_db) {
            return Some(format!("Full database restore is running: {}", r.label));
        }
        match job.kind {
            JobKind::Backup => {
                if !restores.is_empty() {
                    return Some(count(restores.len(), "restore"));
                }
                if job.whole_db && !backups.is_empty() {
                    return Some(count(backups.len(), "backup"));
                }
            }
            JobKind::Restore => {
                if !backups.is_empty() {
                    return Some(count(backups.len(), "backup"));
                }
                if job.whole_db && !restores.is_empty() {
                    return Some(count(restores.len(), "restore"));
                }
                let mut clash: Vec<&str> = job
                    .tables
                    .iter()
                    .filter(|t| restores.iter().any(|r| r.tables.contains(t)))
                    .map(String::as_str)
                    .collect();
                clash.dedup();
                if !clash.is_empty() {
                    return Some(format!("Table conflict: {}", clash.join(", ")));
                }
            }
        }
        if ahead.iter().filter(|q| q.allowed).count() >= self.max_per_db.max(1) {
            return Some("Waiting for execution slot".to_string());
        }
        None
    }

    fn shows_queue(&self) -> bool {
        true
    }
}

/// The unfinished jobs and the policy that admits and schedules them.
pub struct Admission {
    policy: Box<dyn AdmissionPolicy>,
    /// Unfinished jobs in submission order.
    jobs: Mutex<Vec<Queued>>,
    /// Woken whenever a job becomes allowed or leaves.
    changed: Notify,
}

impl Default for Admission {
    fn default() -> Self {
        Admission::new(Box::new(OneJobPerDatabase))
    }
}

impl Admission {
    pub fn new(policy: Box<dyn AdmissionPolicy>) -> Self {
        Admission { policy, jobs: Mutex::new(Vec::new()), changed: Notify::new() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Queued>> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Refuse the job, or take it in: Ok(true) when it may run now, Ok(false) when it waits
    /// in the queue. The caller calls [`Admission::finish`] when the job is FINISHED or
    /// CANCELLED (or was never stored).
    pub fn try_admit(&self, request: JobRequest, now_ms: i64) -> Result<bool> {
        let mut jobs = self.lock();
        if jobs.iter().any(|q| q.job.job_id == request.job_id) {
            return Err(FeError::AlreadyExists(format!("backup/restore job {}", request.job_id)));
        }
        self.policy.admit(&request, &jobs)?;
        let job_id = request.job_id;
        jobs.push(Queued { job: request, allowed: false, since_ms: now_ms, reason: None });
        self.schedule(&mut jobs);
        Ok(jobs.iter().any(|q| q.job.job_id == job_id && q.allowed))
    }

    /// Register the unfinished jobs found at start-up, in one go so none is scheduled
    /// before it sees the others. `started` jobs (past PENDING) run whatever the policy
    /// says: they ran before the restart. The rest queue again in job id order.
    pub fn resume(&self, found: Vec<(JobRequest, bool, i64)>) {
        let mut jobs = self.lock();
        for (job, started, since_ms) in found {
            if jobs.iter().any(|q| q.job.job_id == job.job_id) {
                continue;
            }
            jobs.push(Queued { job, allowed: started, since_ms, reason: None });
        }
        jobs.sort_by_key(|q| q.job.job_id);
        self.schedule(&mut jobs);
    }

    /// Allow every waiting job nothing blocks any more, in submission order; note why
    /// the others wait.
    fn schedule(&self, jobs: &mut [Queued]) {
        let mut woke = false;
        for i in 0..jobs.len() {
            if jobs[i].allowed {
                continue;
            }
            let db = jobs[i].job.db_id;
            let reason = {
                let ahead: Vec<&Queued> = jobs
                    .iter()
                    .enumerate()
                    .filter(|(k, q)| *k != i && q.job.db_id == db && (q.allowed || *k < i))
                    .map(|(_, q)| q)
                    .collect();
                self.policy.blocker(&jobs[i].job, &ahead)
            };
            match reason {
                None => {
                    jobs[i].allowed = true;
                    jobs[i].reason = None;
                    woke = true;
                }
                Some(r) => jobs[i].reason = Some(r),
            }
        }
        if woke {
            self.changed.notify_waiters();
        }
    }

    /// Forget a job that finished or was cancelled and let the jobs it held back run;
    /// true when it was registered.
    pub fn finish(&self, job_id: i64) -> bool {
        let mut jobs = self.lock();
        let before = jobs.len();
        jobs.retain(|q| q.job.job_id != job_id);
        let found = jobs.len() != before;
        if found {
            self.schedule(&mut jobs);
            // A runner waiting for this very job learns that it is gone.
            self.changed.notify_waiters();
        }
        found
    }

    /// Whether the job may run (false when it waits or is not registered).
    pub fn is_allowed(&self, job_id: i64) -> bool {
        self.lock().iter().any(|q| q.job.job_id == job_id && q.allowed)
    }

    /// The job's entry, when registered.
    pub fn get(&self, job_id: i64) -> Option<Queued> {
        self.lock().iter().find(|q| q.job.job_id == job_id).cloned()
    }

    /// Wait until the job may run: true then, false when it left the queue instead.
    pub async fn wait_allowed(&self, job_id: i64) -> bool {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            // Registered as a waiter before looking, so a change in between is not missed.
            notified.as_mut().enable();
            match self.get(job_id) {
                None => return false,
                Some(q) if q.allowed => return true,
                Some(_) => {}
            }
            notified.await;
        }
    }

    /// What SHOW BACKUP/RESTORE shows in QueuePos and BlockReason for the job, or None
    /// when the policy shows no queue. A job that is done shows empty cells.
    pub fn queue_cells(&self, job_id: i64) -> Option<(String, String)> {
        if !self.policy.shows_queue() {
            return None;
        }
        let jobs = self.lock();
        let Some(me) = jobs.iter().find(|q| q.job.job_id == job_id) else {
            return Some((String::new(), String::new()));
        };
        if me.allowed {
            return Some(("Running".to_string(), String::new()));
        }
        let pos = jobs
            .iter()
            .filter(|q| q.job.db_id == me.job.db_id && !q.allowed)
            .position(|q| q.job.job_id == job_id)
            .map_or(0, |p| p + 1);
        Some((pos.to_string(), me.reason.clone().unwrap_or_default()))
    }

    pub fn shows_queue(&self) -> bool {
        self.policy.shows_queue()
    }

    /// Every registered job, queued or running.
    pub fn unfinished(&self) -> Vec<Queued> {
        self.lock().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(kind: JobKind, job_id: i64, db_id: i64, label: &str) -> JobRequest {
        JobRequest { kind, job_id, db_id, label: label.into(), tables: vec![], whole_db: true }
    }

    fn on(kind: JobKind, job_id: i64, label: &str, tables: &[&str]) -> JobRequest {
        JobRequest {
            kind,
            job_id,
            db_id: 1,
            label: label.into(),
            tables: tables.iter().map(|t| t.to_string()).collect(),
            whole_db: false,
        }
    }

    fn table_level(max: usize) -> Admission {
        Admission::new(Box::new(TableLevel { max_per_db: max }))
    }

    fn cells(a: &Admission, id: i64) -> (String, String) {
        a.queue_cells(id).unwrap()
    }

    #[test]
    fn one_job_per_database() {
        let a = Admission::default();
        assert!(a.try_admit(req(JobKind::Backup, 1, 100, "j1"), 0).unwrap());
        let e = a.try_admit(req(JobKind::Restore, 2, 100, "j2"), 0).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Can only run one backup or restore job of a database at same time , current running: label = j1 jobId = 1, to run label = j2"
        );
        // Another database is free.
        assert!(a.try_admit(req(JobKind::Restore, 3, 200, "j3"), 0).unwrap());
        assert_eq!(a.unfinished().len(), 2);
        assert!(a.finish(1));
        assert!(!a.finish(1));
        assert!(a.try_admit(req(JobKind::Backup, 4, 100, "j4"), 0).unwrap());
        assert!(a.try_admit(req(JobKind::Backup, 4, 300, "dup"), 0).is_err(), "a job id is admitted once");
        assert_eq!(a.queue_cells(4), None, "no queue columns in the default mode");
    }

    #[test]
    fn resumed_jobs_block_like_admitted_ones() {
        let a = Admission::default();
        a.resume(vec![(req(JobKind::Backup, 9, 1, "old"), true, 0)]);
        let e = a.try_admit(req(JobKind::Backup, 10, 1, "new"), 0).unwrap_err();
        assert!(e.to_string().contains("label = old jobId = 9"), "{e}");
    }

    #[test]
    fn restores_of_other_tables_run_together_and_of_the_same_table_queue() {
        let a = table_level(10);
        assert!(a.try_admit(on(JobKind::Restore, 1, "r1", &["t1"]), 0).unwrap());
        assert!(a.try_admit(on(JobKind::Restore, 2, "r2", &["t2"]), 0).unwrap());
        assert!(!a.try_admit(on(JobKind::Restore, 3, "r3", &["t2", "t1", "t3"]), 0).unwrap());
        assert_eq!(cells(&a, 1), ("Running".into(), String::new()));
        assert_eq!(cells(&a, 3), ("1".into(), "Table conflict: t2, t1".into()));
        // A later restore on a free table passes the queued one, one on a table the
        // queued one waits for queues behind it.
        assert!(a.try_admit(on(JobKind::Restore, 4, "r4", &["t4"]), 0).unwrap());
        assert!(!a.try_admit(on(JobKind::Restore, 5, "r5", &["t3"]), 0).unwrap());
        assert_eq!(cells(&a, 5), ("2".into(), "Table conflict: t3".into()));
        a.finish(1);
        assert!(!a.is_allowed(3), "t2 is still restored by r2");
        assert_eq!(cells(&a, 3).1, "Table conflict: t2");
        a.finish(2);
        assert!(a.is_allowed(3));
        assert!(!a.is_allowed(5));
        a.finish(3);
        assert!(a.is_allowed(5));
    }

    #[test]
    fn backups_and_restores_exclude_each_other() {
        let a = table_level(10);
        assert!(a.try_admit(on(JobKind::Backup, 1, "b1", &["t1"]), 0).unwrap());
        assert!(a.try_admit(on(JobKind::Backup, 2, "b2", &["t1"]), 0).unwrap(), "backups only read");
        assert!(!a.try_admit(on(JobKind::Restore, 3, "r1", &["t9"]), 0).unwrap());
        assert_eq!(cells(&a, 3).1, "Waiting for 2 backup(s) to complete");
        // A backup after the waiting restore waits for it: no starvation.
        assert!(!a.try_admit(on(JobKind::Backup, 4, "b3", &["t5"]), 0).unwrap());
        assert_eq!(cells(&a, 4), ("2".into(), "Waiting for 1 restore(s) to complete".into()));
        a.finish(1);
        a.finish(2);
        assert!(a.is_allowed(3) && !a.is_allowed(4));
        a.finish(3);
        assert!(a.is_allowed(4));
    }

    #[test]
    fn whole_database_jobs() {
        let a = table_level(10);
        assert!(a.try_admit(on(JobKind::Backup, 1, "b1", &["t1"]), 0).unwrap());
        assert!(!a.try_admit(req(JobKind::Backup, 2, 1, "full"), 0).unwrap());
        assert_eq!(cells(&a, 2).1, "Waiting for 1 backup(s) to complete");
        let e = a.try_admit(on(JobKind::Backup, 3, "b3", &["t2"]), 0).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Cannot submit backup job while full database backup exists.\nFull database backup: full (running or pending)\nSuggestion: Wait for it to complete, or cancel it first."
        );
        let e = a.try_admit(on(JobKind::Restore, 4, "b1", &["t2"]), 0);
        assert!(e.is_ok(), "a restore may reuse a backup's label");
        assert_eq!(cells(&a, 4).1, "Full database backup is running: full");
        a.finish(1);
        assert!(a.is_allowed(2));
        a.finish(2);
        a.finish(4);
        // Whole-database restores queue (each may restore another snapshot).
        assert!(a.try_admit(req(JobKind::Restore, 5, 1, "fr1"), 0).unwrap());
        assert!(!a.try_admit(req(JobKind::Restore, 6, 1, "fr2"), 0).unwrap());
        assert!(!a.try_admit(on(JobKind::Restore, 7, "r7", &["t1"]), 0).unwrap());
        assert_eq!(cells(&a, 6).1, "Full database restore is running: fr1");
        assert_eq!(cells(&a, 7).1, "Full database restore is running: fr1");
        a.finish(5);
        assert!(a.is_allowed(6) && !a.is_allowed(7));
    }

    #[test]
    fn labels_and_slots() {
        let a = table_level(2);
        assert!(a.try_admit(on(JobKind::Backup, 1, "b1", &["t1"]), 0).unwrap());
        assert_eq!(
            a.try_admit(on(JobKind::Backup, 2, "b1", &["t2"]), 0).unwrap_err().to_string(),
            "Label already exists: b1"
        );
        assert!(a.try_admit(on(JobKind::Backup, 3, "b2", &["t2"]), 0).unwrap());
        assert!(!a.try_admit(on(JobKind::Backup, 4, "b3", &["t3"]), 0).unwrap());
        assert_eq!(cells(&a, 4), ("1".into(), "Waiting for execution slot".into()));
        // Another database has its own slots.
        let mut other = on(JobKind::Backup, 5, "b3", &["t3"]);
        other.db_id = 2;
        assert!(a.try_admit(other, 0).unwrap());
        a.finish(3);
        assert!(a.is_allowed(4));
        assert_eq!(a.queue_cells(3), Some((String::new(), String::new())), "a job that left shows empty cells");
    }

    #[test]
    fn resume_schedules_once_all_are_known() {
        let a = table_level(1);
        // Job 1 waited for the slot job 2 held when the FE stopped: it must wait again
        // rather than run beside job 2.
        a.resume(vec![
            (on(JobKind::Backup, 1, "b1", &["t1"]), false, 0),
            (on(JobKind::Backup, 2, "b2", &["t2"]), true, 0),
        ]);
        assert!(!a.is_allowed(1) && a.is_allowed(2));
        a.finish(2);
        assert!(a.is_allowed(1));
    }

    #[tokio::test]
    async fn a_waiting_runner_wakes_when_its_turn_comes_or_its_job_leaves() {
        let a = std::sync::Arc::new(table_level(1));
        a.try_admit(on(JobKind::Backup, 1, "b1", &["t1"]), 0).unwrap();
        a.try_admit(on(JobKind::Backup, 2, "b2", &["t2"]), 0).unwrap();
        a.try_admit(on(JobKind::Backup, 3, "b3", &["t3"]), 0).unwrap();
        let w2 = tokio::spawn({
            let a = a.clone();
            async move { a.wait_allowed(2).await }
        });
        let w3 = tokio::spawn({
            let a = a.clone();
            async move { a.wait_allowed(3).await }
        });
        tokio::task::yield_now().await;
        a.finish(3);
        assert!(!w3.await.unwrap(), "job 3 left the queue");
        a.finish(1);
        assert!(w2.await.unwrap(), "job 2 got the slot");
    }
}
