//! Whether a new backup or restore job may start: the only place that decides it.
//!
//! [`Admission`] keeps the running jobs and asks an [`AdmissionPolicy`] under one lock, so
//! a check and the registration that follows cannot interleave with another submission
//! (upstream takes a try-lock around the same check). Today's policy is upstream's: one
//! unfinished backup or restore job per database. A table-level scheduler (queued jobs,
//! per-table conflicts) can replace the policy without touching the callers.

use std::sync::{Arc, Mutex};

use crate::error::{FeError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    Backup,
    Restore,
}

/// A job asking to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRequest {
    pub kind: JobKind,
    pub job_id: i64,
    pub db_id: i64,
    pub label: String,
    /// Tables the job touches; empty means the whole database.
    pub tables: Vec<String>,
}

/// A job that was admitted and has not finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningJob {
    pub kind: JobKind,
    pub job_id: i64,
    pub db_id: i64,
    pub label: String,
    pub tables: Vec<String>,
}

impl From<&JobRequest> for RunningJob {
    fn from(r: &JobRequest) -> Self {
        RunningJob { kind: r.kind, job_id: r.job_id, db_id: r.db_id, label: r.label.clone(), tables: r.tables.clone() }
    }
}

pub trait AdmissionPolicy: Send + Sync {
    /// `Ok` admits the job; an error is the refusal shown to the user.
    fn admit(&self, request: &JobRequest, running: &[RunningJob]) -> Result<()>;
}

/// Upstream's rule: one unfinished backup or restore job per database.
#[derive(Debug, Default, Clone, Copy)]
pub struct OneJobPerDatabase;

impl AdmissionPolicy for OneJobPerDatabase {
    fn admit(&self, request: &JobRequest, running: &[RunningJob]) -> Result<()> {
        match running.iter().find(|j| j.db_id == request.db_id) {
            None => Ok(()),
            Some(cur) => Err(FeError::IllegalState(format!(
                "Can only run one backup or restore job of a database at same time , current running: label = {} jobId = {}, to run label = {}",
                cur.label, cur.job_id, request.label
            ))),
        }
    }
}

/// The running jobs and the policy that admits new ones.
pub struct Admission {
    policy: Box<dyn AdmissionPolicy>,
    running: Mutex<Vec<RunningJob>>,
}

impl Default for Admission {
    fn default() -> Self {
        Admission::new(Box::new(OneJobPerDatabase))
    }
}

impl Admission {
    pub fn new(policy: Box<dyn AdmissionPolicy>) -> Self {
        Admission { policy, running: Mutex::new(Vec::new()) }
    }

    pub fn shared(policy: Box<dyn AdmissionPolicy>) -> Arc<Self> {
        Arc::new(Self::new(policy))
    }

    /// Admit and register the job, or refuse it. The caller calls [`Admission::finish`]
    /// when the job reaches FINISHED or CANCELLED.
    pub fn try_admit(&self, request: JobRequest) -> Result<()> {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if running.iter().any(|j| j.job_id == request.job_id) {
            return Err(FeError::AlreadyExists(format!("backup/restore job {}", request.job_id)));
        }
        self.policy.admit(&request, &running)?;
        running.push(RunningJob::from(&request));
        Ok(())
    }

    /// Register an unfinished job found at start-up (it was admitted before the restart).
    pub fn resume(&self, job: RunningJob) {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if !running.iter().any(|j| j.job_id == job.job_id) {
            running.push(job);
        }
    }

    /// Forget a job that finished or was cancelled; true when it was registered.
    pub fn finish(&self, job_id: i64) -> bool {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        let before = running.len();
        running.retain(|j| j.job_id != job_id);
        running.len() != before
    }

    pub fn running(&self) -> Vec<RunningJob> {
        self.running.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(kind: JobKind, job_id: i64, db_id: i64, label: &str) -> JobRequest {
        JobRequest { kind, job_id, db_id, label: label.into(), tables: vec![] }
    }

    #[test]
    fn one_job_per_database() {
        let a = Admission::default();
        a.try_admit(req(JobKind::Backup, 1, 100, "j1")).unwrap();
        let e = a.try_admit(req(JobKind::Restore, 2, 100, "j2")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Can only run one backup or restore job of a database at same time , current running: label = j1 jobId = 1, to run label = j2"
        );
        // Another database is free.
        a.try_admit(req(JobKind::Restore, 3, 200, "j3")).unwrap();
        assert_eq!(a.running().len(), 2);
        assert!(a.finish(1));
        assert!(!a.finish(1));
        a.try_admit(req(JobKind::Backup, 4, 100, "j4")).unwrap();
        assert!(a.try_admit(req(JobKind::Backup, 4, 300, "dup")).is_err(), "a job id is admitted once");
    }

    #[test]
    fn resumed_jobs_block_like_admitted_ones() {
        let a = Admission::default();
        a.resume(RunningJob { kind: JobKind::Backup, job_id: 9, db_id: 1, label: "old".into(), tables: vec![] });
        assert!(a.try_admit(req(JobKind::Backup, 10, 1, "new")).unwrap_err().to_string().contains("label = old jobId = 9"));
    }

    /// A table-level policy plugs in without changing callers.
    struct PerTable;
    impl AdmissionPolicy for PerTable {
        fn admit(&self, r: &JobRequest, running: &[RunningJob]) -> Result<()> {
            let clash = running.iter().any(|j| {
                j.db_id == r.db_id && (j.tables.is_empty() || r.tables.is_empty() || j.tables.iter().any(|t| r.tables.contains(t)))
            });
            if clash { Err(FeError::IllegalState("table busy".into())) } else { Ok(()) }
        }
    }

    #[test]
    fn policy_is_replaceable() {
        let a = Admission::new(Box::new(PerTable));
        let mut r1 = req(JobKind::Restore, 1, 100, "a");
        r1.tables = vec!["t1".into()];
        let mut r2 = req(JobKind::Restore, 2, 100, "b");
        r2.tables = vec!["t2".into()];
        a.try_admit(r1).unwrap();
        a.try_admit(r2).unwrap();
        let mut r3 = req(JobKind::Backup, 3, 100, "c");
        r3.tables = vec!["t2".into()];
        assert_eq!(a.try_admit(r3).unwrap_err().to_string(), "table busy");
    }
}
