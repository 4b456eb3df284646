//! CSV (upstream's `format: csv`) to typed rows in table column order.
//!
//! A line is a row; fields are split on the column separator, `\N` is NULL. A row whose
//! field count differs from the file's columns, or a field that does not fit its column
//! type, or a NULL for a NOT NULL column, is filtered: counted, its reason kept (the first
//! few), and left out of the load.

use super::types::{Cell, ColKind};

/// One table column as the load needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadColumn {
    pub name: String,
    pub kind: ColKind,
    pub nullable: bool,
    pub default_value: Option<String>,
}

/// Reasons kept for filtered rows (upstream writes them to an error log behind ErrorURL).
pub const MAX_ERROR_SAMPLES: usize = 20;

#[derive(Debug, Default)]
pub struct Parsed {
    /// Rows that passed, each in table column order.
    pub rows: Vec<Vec<Cell>>,
    pub total: u64,
    pub filtered: u64,
    pub errors: Vec<String>,
}

/// How a text field maps to a table column.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    Field(usize),
    Fixed(Cell),
}

/// Upstream's separator spelling: `\t`, `\n`, `\x01`-style hex, or the text itself.
pub fn unescape_separator(s: &str) -> String {
    match s {
        "\\t" => "\t".into(),
        "\\n" => "\n".into(),
        "\\r\\n" => "\r\n".into(),
        _ => {
            if let Some(hex) = s.strip_prefix("\\x").or_else(|| s.strip_prefix("\\X")) {
                let bytes: Option<Vec<u8>> = (0..hex.len())
                    .step_by(2)
                    .map(|i| hex.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
                    .collect();
                if let Some(b) = bytes.filter(|b| !b.is_empty()) {
                    if let Ok(t) = String::from_utf8(b) {
                        return t;
                    }
                }
            }
            s.to_string()
        }
    }
}

/// Where each table column's value comes from: a field of the record, or a fixed cell
/// (its default, NULL without one) for a column the file does not have. `columns` names
/// the file's columns (the `columns` header; the table's own order when empty). An unknown
/// column name, or a table column left out that has neither a default nor NULL, fails the
/// whole load.
pub(crate) struct RowBuilder<'a> {
    table: &'a [LoadColumn],
    sources: Vec<Source>,
    /// The file's columns, in their order.
    pub(crate) file_cols: Vec<String>,
}

impl<'a> RowBuilder<'a> {
    pub(crate) fn new(table: &'a [LoadColumn], columns: &[String]) -> Result<Self, String> {
        let file_cols: Vec<String> =
            if columns.is_empty() { table.iter().map(|c| c.name.clone()).collect() } else { columns.to_vec() };
        for f in &file_cols {
            if !table.iter().any(|c| c.name.eq_ignore_ascii_case(f)) {
                return Err(format!("Unknown column '{f}' in table"));
            }
        }
        let mut sources = Vec::with_capacity(table.len());
        for c in table {
            match file_cols.iter().position(|f| f.eq_ignore_ascii_case(&c.name)) {
                Some(i) => sources.push(Source::Field(i)),
                None => match &c.default_value {
                    Some(d) => sources.push(Source::Fixed(
                        c.kind.parse_text(d).map_err(|e| format!("default value of column {}: {e}", c.name))?,
                    )),
                    None if c.nullable => sources.push(Source::Fixed(Cell::Null)),
                    None => return Err(format!("Column has no default value. column: {}", c.name)),
                },
            }
        }
        Ok(RowBuilder { table, sources, file_cols })
    }

    /// One record's fields (file column order, None for NULL) as a row in table column
    /// order, or it is filtered with its reason; `src` is the record as the reason shows it.
    pub(crate) fn push(&self, out: &mut Parsed, fields: &[Option<&str>], src: &str) {
        out.total += 1;
        let mut row = Vec::with_capacity(self.table.len());
        for (c, source) in self.table.iter().zip(&self.sources) {
            let cell = match source {
                Source::Fixed(v) => v.clone(),
                Source::Field(i) => match fields[*i] {
                    None => Cell::Null,
                    Some(f) => match c.kind.parse_text(f) {
                        Ok(v) => v,
                        Err(e) => {
                            out.filtered += 1;
                            note(&mut out.errors, format!("Reason: column {}: {e}. src line: [{src}];", c.name));
                            return;
                        }
                    },
                },
            };
            if cell == Cell::Null && !c.nullable {
                out.filtered += 1;
                note(&mut out.errors, format!("Reason: column {} is NOT NULL but the value is NULL. src line: [{src}];", c.name));
                return;
            }
            row.push(cell);
        }
        out.rows.push(row);
    }

    pub(crate) fn filter(&self, out: &mut Parsed, reason: String) {
        out.total += 1;
        out.filtered += 1;
        note(&mut out.errors, reason);
    }
}

/// Parse `body` for `table` with the file's columns named by `columns` (see [`RowBuilder`]).
pub fn parse(
    body: &[u8],
    table: &[LoadColumn],
    columns: &[String],
    col_sep: &str,
    line_sep: &str,
) -> Result<Parsed, String> {
    if col_sep.is_empty() || line_sep.is_empty() {
        return Err("column_separator and line_delimiter may not be empty".into());
    }
    let rows = RowBuilder::new(table, columns)?;
    let text = std::str::from_utf8(body).map_err(|e| format!("the data is not UTF-8: {e}"))?;
    let mut out = Parsed::default();
    let mut lines: Vec<&str> = text.split(line_sep).collect();
    if lines.last() == Some(&"") {
        lines.pop();
    }
    let width = rows.file_cols.len();
    let mut fields: Vec<Option<&str>> = Vec::with_capacity(width);
    for line in lines {
        fields.clear();
        fields.extend(line.split(col_sep).map(|f| (f != "\\N").then_some(f)));
        if fields.len() != width {
            rows.filter(
                &mut out,
                format!(
                    "Reason: actual column number {} is not equal to schema column number {width}. src line: [{line}];",
                    fields.len()
                ),
            );
            continue;
        }
        rows.push(&mut out, &fields, line);
    }
    Ok(out)
}

fn note(errors: &mut Vec<String>, e: String) {
    if errors.len() < MAX_ERROR_SAMPLES {
        errors.push(e);
    }
}
