//! `INSERT INTO t [PARTITION (p, ...)] [WITH LABEL l] [(columns)] VALUES ... | SELECT ...`:
//! a load transaction, as upstream. The source query's rows are sent as one stream load to
//! an alive BE, which coordinates the write like any stream load (routing, one segment per
//! tablet and replica, commit and publish through this FE); the FE authenticates with the
//! cluster token. The label is the load's (upstream's `insert_<uuid>` when none is given);
//! named partitions go as the stream load's `partitions` (or, for INSERT OVERWRITE's
//! temporary partitions, `temporary_partitions`) header, and the load plan the BE fetches
//! holds only those: a row outside them is filtered, which fails the INSERT (strict mode).

use std::time::Duration;

use datafusion::arrow::array::{Array, RecordBatch};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use rand::seq::SliceRandom;
use serde::Deserialize;

use super::http::TOKEN_HEADER;
use super::jobs::{JobState, LoadJob};
use super::txn::{TxnState, TxnStore};
use crate::context::FeContext;
use crate::error::FeError;
use crate::query::nested_text;

/// Field and row separators of the rows sent: control characters no text value may hold.
const COLUMN_SEPARATOR: char = '\u{1}';
const LINE_DELIMITER: char = '\u{2}';

/// Upstream's `insert_load_default_timeout_second` (4 hours).
const INSERT_TIMEOUT: Duration = Duration::from_secs(14_400);

/// One INSERT's target, as the domain takes it.
#[derive(Debug, Clone, Default)]
pub struct InsertTarget {
    pub db: String,
    pub table: String,
    /// The column of each source column, in order; empty for the table's columns in order.
    pub columns: Vec<String>,
    /// The load's label; None: a generated one.
    pub label: Option<String>,
    /// The partitions rows may land in; empty: any.
    pub partitions: Vec<String>,
    /// `partitions` are temporary partitions (INSERT OVERWRITE's).
    pub temporary: bool,
    /// Who runs it, for its load job (SHOW LOAD's User).
    pub user: String,
}

/// Upstream's label rule (`FeNameFormat.checkLabel`).
pub fn check_label(label: &str) -> Result<(), FeError> {
    let ok = !label.is_empty()
        && label.len() <= 128
        && label.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':'));
    if ok {
        Ok(())
    } else {
        Err(FeError::Analysis(format!("Label format error. regex: ^[-_A-Za-z0-9:]{{1,128}}$, label: {label}")))
    }
}

/// `label` is well formed and no transaction of database `db_id` that is not aborted
/// holds it (upstream's text otherwise). The BE's loadTxnBegin decides; this answers early,
/// before any rows are sent or partitions made.
pub fn check_free_label(txns: &TxnStore, db_id: i64, label: &str) -> Result<(), FeError> {
    check_label(label)?;
    match txns.by_label(db_id, label)?.filter(|o| o.state != TxnState::Aborted) {
        Some(old) => Err(FeError::IllegalState(format!("Label [{label}] has already been used, relate to txn [{}]", old.txn_id))),
        None => Ok(()),
    }
}

/// What an INSERT wrote.
#[derive(Debug)]
pub struct Inserted {
    pub label: String,
    pub txn_id: i64,
    pub rows: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LoadAnswer {
    #[serde(default)]
    txn_id: i64,
    status: String,
    message: String,
    #[serde(default)]
    number_loaded_rows: u64,
    #[serde(default, rename = "ErrorURL")]
    error_url: String,
}

/// The batches as CSV text for the BE's parser: `\N` for NULL, datetimes as
/// `YYYY-MM-DD HH:MM:SS[.f]`.
fn encode(batches: &[RecordBatch]) -> Result<(String, u64), FeError> {
    let opts = FormatOptions::default()
        .with_null("\\N")
        .with_timestamp_format(Some("%Y-%m-%d %H:%M:%S%.f"))
        .with_datetime_format(Some("%Y-%m-%d %H:%M:%S%.f"));
    let mut out = String::new();
    let mut rows = 0u64;
    for b in batches {
        let formatters = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| FeError::InvalidArgument(format!("a value of the INSERT cannot be written: {e}")))?;
        for i in 0..b.num_rows() {
            for (k, f) in formatters.iter().enumerate() {
                if k > 0 {
                    out.push(COLUMN_SEPARATOR);
                }
                let start = out.len();
                let column = b.column(k);
                if nested_text::is_nested(column.data_type()) && !column.is_null(i) {
                    // ARRAY/MAP/STRUCT in the text the BE's loads parse.
                    let text = nested_text::load_text(column.as_ref(), i)
                        .map_err(|e| FeError::InvalidArgument(format!("a value of the INSERT cannot be written: {e}")))?;
                    out.push_str(&text);
                } else {
                    use std::fmt::Write;
                    let _ = write!(out, "{}", f.value(i));
                }
                if out[start..].contains([COLUMN_SEPARATOR, LINE_DELIMITER]) {
                    return Err(FeError::InvalidArgument(
                        "INSERT values may not contain the control characters \\x01 or \\x02".into(),
                    ));
                }
            }
            out.push(LINE_DELIMITER);
            rows += 1;
        }
    }
    Ok((out, rows))
}

/// Load `batches` into `target`.
pub async fn insert(
    ctx: &FeContext,
    txns: &TxnStore,
    target: &InsertTarget,
    batches: &[RecordBatch],
) -> Result<Inserted, FeError> {
    let created_ms = FeContext::now_ms();
    let (db, table) = (target.db.as_str(), target.table.as_str());
    let t = ctx.catalog.table(db, table).map_err(FeError::from)?;
    let columns = &target.columns;
    let width = if columns.is_empty() { t.columns.len() } else { columns.len() };
    if let Some(b) = batches.first() {
        if b.num_columns() != width {
            // MySQL's and upstream's refusal of a mismatched column count.
            return Err(FeError::InvalidArgument("Column count doesn't match value count".into()));
        }
    }
    for c in columns {
        if !t.columns.iter().any(|col| col.name.eq_ignore_ascii_case(c)) {
            return Err(FeError::UnknownColumn(c.clone()));
        }
    }
    if !target.temporary {
        for p in &target.partitions {
            if t.partition(p).is_none() {
                return Err(FeError::Analysis(format!("Unknown partition '{p}' in table '{table}'")));
            }
        }
    }
    let label = match &target.label {
        Some(l) => {
            check_free_label(txns, t.db_id, l)?;
            l.clone()
        }
        None => format!("insert_{}", uuid::Uuid::new_v4().simple()),
    };
    let (body, rows) = encode(batches)?;
    if rows == 0 {
        return Ok(Inserted { label, txn_id: 0, rows: 0 });
    }
    let (answer, outcome) = send(ctx, target, &label, body).await;
    // Upstream records the INSERT as a finished (or cancelled) load job once it ends.
    let job = LoadJob {
        id: ctx.store.next_id()?,
        db_id: t.db_id,
        table_id: t.id,
        label: label.clone(),
        state: if outcome.is_ok() { JobState::Finished } else { JobState::Cancelled },
        fail_msg: outcome.as_ref().err().map(|e| e.to_string()),
        create_ms: created_ms,
        finish_ms: FeContext::now_ms(),
        txn_id: answer.as_ref().map_or(0, |a| a.txn_id),
        user: target.user.clone(),
        url: answer.map(|a| a.error_url).unwrap_or_default(),
    };
    txns.record_load_job(&job)?;
    outcome.map(|rows| Inserted { label, txn_id: job.txn_id, rows })
}

/// The rows sent as one stream load through an alive BE: its answer (when there is one)
/// and the rows loaded or why the INSERT failed.
async fn send(ctx: &FeContext, target: &InsertTarget, label: &str, body: String) -> (Option<LoadAnswer>, Result<u64, FeError>) {
    let (db, table, columns) = (target.db.as_str(), target.table.as_str(), &target.columns);
    let mut bes: Vec<_> = ctx.backends.all().into_iter().filter(|b| b.alive && b.http_port > 0).collect();
    bes.shuffle(&mut rand::thread_rng());
    let Some(be) = bes.first() else {
        return (None, Err(FeError::IllegalState("no alive backend to load through".into())));
    };
    let url = format!("http://{}:{}/api/{db}/{table}/_stream_load", be.host, be.http_port);
    let mut req = reqwest::Client::new()
        .put(url)
        .header(TOKEN_HEADER, ctx.cluster.token.as_str())
        .header("label", label)
        .header("column_separator", "\\x01")
        .header("line_delimiter", "\\x02")
        .timeout(INSERT_TIMEOUT);
    if !columns.is_empty() {
        req = req.header("columns", columns.join(","));
    }
    if !target.partitions.is_empty() {
        let name = if target.temporary { "temporary_partitions" } else { "partitions" };
        req = req.header(name, target.partitions.join(","));
    }
    let text = match req.body(body).send().await {
        Ok(resp) => resp.text().await,
        Err(e) => Err(e),
    };
    let text = match text {
        Ok(t) => t,
        Err(e) => return (None, Err(FeError::Internal(format!("loading through {}: {e}", be.host)))),
    };
    let a: LoadAnswer = match serde_json::from_str(&text) {
        Ok(a) => a,
        Err(e) => return (None, Err(FeError::Internal(format!("bad answer from {}: {e}: {text}", be.host)))),
    };
    let outcome = match a.status.as_str() {
        "Success" => Ok(a.number_loaded_rows),
        // loadTxnBegin's text: "Label [l] has already been used, relate to txn [n]".
        "Label Already Exists" => Err(FeError::IllegalState(a.message.clone())),
        // Upstream's INSERT is strict: any filtered row fails it.
        _ if a.message.contains("too many filtered rows") => {
            Err(FeError::IllegalState(format!("Insert has filtered data in strict mode. {}", a.message)))
        }
        _ => Err(FeError::IllegalState(format!("insert failed: {}", a.message))),
    };
    (Some(a), outcome)
}
