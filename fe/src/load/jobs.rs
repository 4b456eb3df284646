//! Load jobs as SHOW LOAD lists them. Upstream records an INSERT as a finished load job
//! (its `InsertLoadJob`) once it ends, FINISHED or CANCELLED; stream loads are not load
//! jobs there (they are SHOW STREAM LOAD's) and are not recorded here either. The records
//! live in the transaction store, so they survive a restart as upstream's edit log does.

use serde::{Deserialize, Serialize};

use crate::sql::NameFilter;

/// Upstream's `insert_load_default_timeout_second`, shown in TaskInfo.
pub const INSERT_TIMEOUT_S: i64 = 14_400;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobState {
    Finished,
    Cancelled,
}

impl JobState {
    pub fn name(self) -> &'static str {
        match self {
            JobState::Finished => "FINISHED",
            JobState::Cancelled => "CANCELLED",
        }
    }
}

/// One INSERT's load job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadJob {
    pub id: i64,
    pub db_id: i64,
    pub table_id: i64,
    pub label: String,
    pub state: JobState,
    /// Why a CANCELLED job failed.
    pub fail_msg: Option<String>,
    /// When the INSERT began (also its load start, as upstream's InsertLoadJob).
    pub create_ms: i64,
    pub finish_ms: i64,
    /// 0 when the load never began a transaction.
    pub txn_id: i64,
    pub user: String,
    /// The error log of rejected rows, when there is one.
    pub url: String,
}

/// What SHOW LOAD's WHERE keeps: upstream's `LABEL = "l"`, `LABEL LIKE "p"` (a pattern
/// without `%` matches anywhere) and `STATE = "s"`, joined by AND.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobFilter {
    pub label: Option<NameFilter>,
    pub state: Option<String>,
}

impl JobFilter {
    pub fn keeps(&self, job: &LoadJob) -> bool {
        let label_ok = match &self.label {
            None => true,
            Some(NameFilter::Eq(l)) => job.label == *l,
            Some(NameFilter::Like(p)) if p.contains('%') => crate::sql::like_match(p, &job.label),
            Some(NameFilter::Like(p)) => job.label.contains(p.as_str()),
        };
        label_ok && self.state.as_deref().is_none_or(|s| s.eq_ignore_ascii_case(job.state.name()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(label: &str, state: JobState) -> LoadJob {
        LoadJob {
            id: 1,
            db_id: 2,
            table_id: 3,
            label: label.into(),
            state,
            fail_msg: None,
            create_ms: 0,
            finish_ms: 0,
            txn_id: 4,
            user: "root".into(),
            url: String::new(),
        }
    }

    #[test]
    fn filters_as_upstream() {
        let j = job("insert_abc", JobState::Finished);
        assert!(JobFilter::default().keeps(&j));
        assert!(JobFilter { label: Some(NameFilter::Eq("insert_abc".into())), state: None }.keeps(&j));
        assert!(!JobFilter { label: Some(NameFilter::Eq("insert".into())), state: None }.keeps(&j));
        // LIKE without % matches anywhere in the label, as upstream wraps it in %...%.
        assert!(JobFilter { label: Some(NameFilter::Like("abc".into())), state: None }.keeps(&j));
        assert!(!JobFilter { label: Some(NameFilter::Like("abc%".into())), state: None }.keeps(&j));
        assert!(JobFilter { label: None, state: Some("finished".into()) }.keeps(&j));
        assert!(!JobFilter { label: None, state: Some("CANCELLED".into()) }.keeps(&j));
    }
}
