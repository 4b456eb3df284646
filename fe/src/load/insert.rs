//! `INSERT INTO t [(columns)] VALUES ... | SELECT ...`: a load transaction, as upstream.
//! The source query's rows are sent as one stream load to an alive BE, which coordinates
//! the write like any stream load (routing, one segment per tablet and replica, commit
//! and publish through this FE); the FE authenticates with the cluster token.

use std::time::Duration;

use datafusion::arrow::array::{Array, RecordBatch};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use rand::seq::SliceRandom;
use serde::Deserialize;

use super::http::TOKEN_HEADER;
use crate::context::FeContext;
use crate::error::FeError;
use crate::query::nested_text;

/// Field and row separators of the rows sent: control characters no text value may hold.
const COLUMN_SEPARATOR: char = '\u{1}';
const LINE_DELIMITER: char = '\u{2}';

/// Upstream's `insert_load_default_timeout_second` (4 hours).
const INSERT_TIMEOUT: Duration = Duration::from_secs(14_400);

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
    txn_id: i64,
    status: String,
    message: String,
    number_loaded_rows: u64,
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

/// Load `batches` into `db.table` (`columns`: the column of each batch column, in order;
/// empty for the table's columns in order).
pub async fn insert(
    ctx: &FeContext,
    db: &str,
    table: &str,
    columns: &[String],
    batches: &[RecordBatch],
) -> Result<Inserted, FeError> {
    let t = ctx.catalog.table(db, table).map_err(FeError::from)?;
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
    let (body, rows) = encode(batches)?;
    let label = format!("insert_{}", uuid::Uuid::new_v4().simple());
    if rows == 0 {
        return Ok(Inserted { label, txn_id: 0, rows: 0 });
    }
    let mut bes: Vec<_> = ctx.backends.all().into_iter().filter(|b| b.alive && b.http_port > 0).collect();
    bes.shuffle(&mut rand::thread_rng());
    let be = bes.first().ok_or_else(|| FeError::IllegalState("no alive backend to load through".into()))?;
    let url = format!("http://{}:{}/api/{db}/{table}/_stream_load", be.host, be.http_port);
    let mut req = reqwest::Client::new()
        .put(url)
        .header(TOKEN_HEADER, ctx.cluster.token.as_str())
        .header("label", label.as_str())
        .header("column_separator", "\\x01")
        .header("line_delimiter", "\\x02")
        .timeout(INSERT_TIMEOUT);
    if !columns.is_empty() {
        req = req.header("columns", columns.join(","));
    }
    let resp = req.body(body).send().await.map_err(|e| FeError::Internal(format!("loading through {}: {e}", be.host)))?;
    let text = resp.text().await.map_err(|e| FeError::Internal(format!("loading through {}: {e}", be.host)))?;
    let a: LoadAnswer = serde_json::from_str(&text)
        .map_err(|e| FeError::Internal(format!("bad answer from {}: {e}: {text}", be.host)))?;
    if a.status != "Success" {
        return Err(FeError::IllegalState(format!("insert failed: {}", a.message)));
    }
    Ok(Inserted { label, txn_id: a.txn_id, rows: a.number_loaded_rows })
}
