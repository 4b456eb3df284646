//! `SHOW LOAD`: the INSERT load jobs of a database (`crate::load::jobs`) with upstream's
//! columns and spellings, each shown only to a user with LOAD_PRIV on its table, as
//! upstream's job list skips the others.

use super::format::{time_string, NULL_STRING};
use crate::auth::{Priv, Scope};
use crate::context::Ctx;
use crate::error::FeError;
use crate::load::jobs::{JobFilter, JobState, LoadJob, INSERT_TIMEOUT_S};
use crate::load::txn::TxnStore;
use crate::mysql::{QueryOutput, Value};

const COLUMNS: [&str; 19] = [
    "JobId",
    "Label",
    "State",
    "Progress",
    "Type",
    "EtlInfo",
    "TaskInfo",
    "ErrorMsg",
    "CreateTime",
    "EtlStartTime",
    "EtlFinishTime",
    "LoadStartTime",
    "LoadFinishTime",
    "URL",
    "JobDetails",
    "TransactionId",
    "ErrorTablets",
    "User",
    "Comment",
];

/// An INSERT job's JobDetails: upstream's load statistic of a job that ran no load
/// tasks of its own, in Gson's order of its keys.
const INSERT_JOB_DETAILS: &str =
    r#"{"Unfinished backends":{},"ScannedRows":0,"TaskNumber":0,"LoadBytes":0,"All backends":{},"FileNumber":0,"FileSize":0}"#;

pub fn show(ctx: &Ctx, txns: &TxnStore, user: &crate::auth::UserIdentity, db: &str, filter: &JobFilter, limit: Option<u64>) -> Result<QueryOutput, FeError> {
    let d = ctx.catalog.database(db).ok_or_else(|| FeError::UnknownDatabase(db.to_string()))?;
    let mut rows = Vec::new();
    // By job id, as upstream sorts without ORDER BY.
    for job in txns.load_jobs(d.id)?.into_iter().filter(|j| filter.keeps(j)) {
        // A dropped table's jobs are shown by table id (upstream's name fallback) to
        // whoever may load into the database.
        let table = ctx.catalog.table_by_id(job.table_id).map(|t| t.name.clone());
        let scope = match &table {
            Some(t) => Scope::table(db, t),
            None => Scope::db(db),
        };
        if ctx.users.has(user, &scope, Priv::Load) {
            rows.push(row(&job));
        }
    }
    if let Some(n) = limit {
        rows.truncate(usize::try_from(n).unwrap_or(usize::MAX));
    }
    Ok(QueryOutput::text_rows(&COLUMNS, rows))
}

fn row(j: &LoadJob) -> Vec<Value> {
    let error = match (&j.state, &j.fail_msg) {
        (JobState::Cancelled, Some(m)) => format!("type:LOAD_RUN_FAIL; msg:{m}"),
        _ => NULL_STRING.to_string(),
    };
    vec![
        j.id.to_string().into(),
        j.label.clone().into(),
        j.state.name().into(),
        // Upstream's progress manager knows no INSERT job: its answer for an unknown id.
        format!("Unknown id: {}", j.id).into(),
        "INSERT".into(),
        NULL_STRING.into(),
        format!("cluster:N/A; timeout(s):{INSERT_TIMEOUT_S}; max_filter_ratio:0.0; priority:NORMAL").into(),
        error.into(),
        time_string(j.create_ms).into(),
        // An INSERT job's ETL and load start when it is created.
        time_string(j.create_ms).into(),
        time_string(j.create_ms).into(),
        time_string(j.create_ms).into(),
        time_string(j.finish_ms).into(),
        j.url.clone().into(),
        INSERT_JOB_DETAILS.into(),
        j.txn_id.to_string().into(),
        "{}".into(),
        j.user.clone().into(),
        String::new().into(),
    ]
}
