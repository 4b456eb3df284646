//! A load's body turned into table rows: the file's records parsed in its format (CSV or
//! JSON), then, when the load names column expressions or a `where` filter, those applied
//! by DataFusion. Bytes from outside end here, so the fuzz target `load` calls this too.

use super::csv::{self, LoadColumn, Parsed, RowBuilder};
use super::json;
use super::options::Format;
use super::transform::{self, ColumnsSpec};

/// What a body is read against: the table's columns, the file's (`columns`; the table's
/// own order when empty), derived columns and the `where` filter.
pub struct BodySpec<'a> {
    pub table: &'a [LoadColumn],
    pub columns: &'a [String],
    pub derived: &'a [(String, String)],
    pub filter: Option<&'a str>,
}

/// Parses `body`: rows that passed in table column order, with the counts and samples of
/// those filtered. A row-level problem filters the row; an error is the whole load's.
pub fn parse(body: &[u8], format: &Format, spec: &BodySpec<'_>) -> Result<Parsed, String> {
    if spec.derived.is_empty() && spec.filter.is_none() {
        return match format {
            Format::Json(opts) => json::parse(body, spec.table, spec.columns, opts),
            Format::Csv(opts) => csv::parse_with(body, spec.table, spec.columns, opts),
        };
    }
    // Expressions or a filter: the records' fields first, then DataFusion.
    let sources: Vec<String> =
        if spec.columns.is_empty() { spec.table.iter().map(|c| c.name.clone()).collect() } else { spec.columns.to_vec() };
    let rows = RowBuilder::raw(sources);
    let mut p = match format {
        Format::Json(opts) => json::parse_into(body, &rows, opts)?,
        Format::Csv(opts) => csv::parse_into(body, &rows, opts)?,
    };
    let raw = std::mem::take(&mut p.raw);
    let columns = ColumnsSpec { sources: spec.columns.to_vec(), derived: spec.derived.to_vec() };
    transform::apply(raw, spec.table, &columns, spec.filter, &mut p)?;
    Ok(p)
}
