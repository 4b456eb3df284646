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

/// Filtered rows whose reason is kept: upstream writes this many to a load's error log
/// (behind ErrorURL), then one line saying there were more.
pub const MAX_ERROR_SAMPLES: usize = 50;

/// A filtered row as upstream's error log line: reason first (a long source line may be
/// cut), then the row as it stood in the body.
pub fn reject(reason: &str, src: &str) -> String {
    format!("Reason: {reason}. src line [{src}]; ")
}

#[derive(Debug, Default)]
pub struct Parsed {
    /// Rows that passed, each in table column order.
    pub rows: Vec<Vec<Cell>>,
    pub total: u64,
    pub filtered: u64,
    /// Rows a `where` did not select (counted apart from filtered ones).
    pub unselected: u64,
    pub errors: Vec<String>,
    /// With a raw [`RowBuilder`]: each record's fields (file column order) and source
    /// line, for the column expressions to work on.
    pub raw: Vec<(Vec<Option<String>>, String)>,
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
    /// Collect records' fields as they are (into `Parsed::raw`) instead of rows.
    raw: bool,
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
        Ok(RowBuilder { table, sources, file_cols, raw: false })
    }

    /// A builder that keeps each record's fields for the column expressions
    /// ([`super::transform`]); `file_cols` need not be table columns.
    pub(crate) fn raw(file_cols: Vec<String>) -> RowBuilder<'static> {
        RowBuilder { table: &[], sources: Vec::new(), file_cols, raw: true }
    }

    /// One record's fields (file column order, None for NULL) as a row in table column
    /// order, or it is filtered with its reason; `src` is the record as the reason shows it.
    pub(crate) fn push(&self, out: &mut Parsed, fields: &[Option<&str>], src: &str) {
        out.total += 1;
        if self.raw {
            out.raw.push((fields.iter().map(|f| f.map(str::to_string)).collect(), src.to_string()));
            return;
        }
        self.build(out, fields, src);
    }

    /// [`push`](Self::push) of a record already counted.
    pub(crate) fn build(&self, out: &mut Parsed, fields: &[Option<&str>], src: &str) {
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
                            note(&mut out.errors, reject(&format!("column {}: {e}", c.name), src));
                            return;
                        }
                    },
                },
            };
            if cell == Cell::Null && !c.nullable {
                out.filtered += 1;
                note(&mut out.errors, reject(&format!("column {} is NOT NULL but the value is NULL", c.name), src));
                return;
            }
            row.push(cell);
        }
        out.rows.push(row);
    }

    /// A record filtered before it became fields (bad JSON, wrong field count).
    pub(crate) fn filter(&self, out: &mut Parsed, reason: String, src: &str) {
        out.total += 1;
        out.filtered += 1;
        note(&mut out.errors, reject(&reason, src));
    }
}

/// How a CSV body is read: upstream's stream load headers `column_separator`,
/// `line_delimiter`, `enclose`, `escape`, `trim_double_quotes`, `skip_lines` (and the
/// `csv_with_names` / `csv_with_names_and_types` formats, which skip 1 / 2 header lines).
#[derive(Debug, Clone, PartialEq)]
pub struct CsvOptions {
    pub col_sep: String,
    pub line_sep: String,
    /// A field starting with this byte runs to the matching one: separators and line
    /// delimiters inside it are data, the enclosing bytes are not.
    pub enclose: Option<u8>,
    /// Inside an enclosed field, the byte after this one is taken as data (an enclose
    /// byte that does not end the field, or the escape byte itself).
    pub escape: Option<u8>,
    /// Drop the outermost `"` of a field that starts and ends with one.
    pub trim_double_quotes: bool,
    /// Records skipped at the start of the body (headers); not counted as rows.
    pub skip_lines: usize,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            col_sep: "\t".into(),
            line_sep: "\n".into(),
            enclose: None,
            escape: None,
            trim_double_quotes: false,
            skip_lines: 0,
        }
    }
}

impl CsvOptions {
    pub fn new(col_sep: &str, line_sep: &str) -> CsvOptions {
        CsvOptions { col_sep: col_sep.into(), line_sep: line_sep.into(), ..Default::default() }
    }
}

/// Parse `body` for `table` with the file's columns named by `columns` (see [`RowBuilder`]),
/// fields split on `col_sep`, records on `line_sep`.
pub fn parse(body: &[u8], table: &[LoadColumn], columns: &[String], col_sep: &str, line_sep: &str) -> Result<Parsed, String> {
    parse_with(body, table, columns, &CsvOptions::new(col_sep, line_sep))
}

/// [`parse`] with every CSV option.
pub fn parse_with(body: &[u8], table: &[LoadColumn], columns: &[String], opts: &CsvOptions) -> Result<Parsed, String> {
    parse_into(body, &RowBuilder::new(table, columns)?, opts)
}

/// Parse `body` into rows (or raw records) as `rows` builds them.
pub(crate) fn parse_into(body: &[u8], rows: &RowBuilder, opts: &CsvOptions) -> Result<Parsed, String> {
    if opts.col_sep.is_empty() || opts.line_sep.is_empty() {
        return Err("column_separator and line_delimiter may not be empty".into());
    }
    let text = std::str::from_utf8(body).map_err(|e| format!("the data is not UTF-8: {e}"))?;
    let mut out = Parsed::default();
    let width = rows.file_cols.len();
    let mut records = Records { text, pos: 0, opts };
    for _ in 0..opts.skip_lines {
        if records.next().is_none() {
            break;
        }
    }
    for (line, raw) in records {
        let fields: Vec<Option<&str>> = raw
            .iter()
            .map(|f| match f {
                Field::Plain(t) if *t == "\\N" => None,
                Field::Plain(t) => Some(trim_quotes(t, opts.trim_double_quotes)),
                Field::Enclosed(t) => Some(trim_quotes(t, opts.trim_double_quotes)),
            })
            .collect();
        if fields.len() != width {
            rows.filter(
                &mut out,
                format!("actual column number {} is not equal to schema column number {width}", fields.len()),
                line,
            );
            continue;
        }
        rows.push(&mut out, &fields, line);
    }
    Ok(out)
}

fn trim_quotes(t: &str, on: bool) -> &str {
    if on && t.len() >= 2 && t.starts_with('"') && t.ends_with('"') {
        &t[1..t.len() - 1]
    } else {
        t
    }
}

/// One field of a record: as it stands in the body, or the inside of an enclosed one
/// (escapes resolved, so owned when it had any).
#[derive(Debug, Clone, PartialEq)]
enum Field<'a> {
    Plain(&'a str),
    Enclosed(std::borrow::Cow<'a, str>),
}

/// The records of a body: each its raw text (for error reasons) and its fields. Without
/// `enclose` a record is the text up to the next line delimiter; with it, an enclosed
/// field may span separators and delimiters. A body ending in a line delimiter has no
/// empty last record.
struct Records<'a, 'o> {
    text: &'a str,
    pos: usize,
    opts: &'o CsvOptions,
}

impl<'a> Iterator for Records<'a, '_> {
    type Item = (&'a str, Vec<Field<'a>>);

    fn next(&mut self) -> Option<Self::Item> {
        let (text, col, line) = (self.text, self.opts.col_sep.as_str(), self.opts.line_sep.as_str());
        if self.pos >= text.len() {
            return None;
        }
        let start = self.pos;
        let Some(q) = self.opts.enclose else {
            let end = text[start..].find(line).map(|i| start + i).unwrap_or(text.len());
            self.pos = if end == text.len() { end } else { end + line.len() };
            let rec = &text[start..end];
            return Some((rec, rec.split(col).map(Field::Plain).collect()));
        };
        let bytes = text.as_bytes();
        let esc = self.opts.escape;
        let mut fields = Vec::new();
        let mut pos = start;
        loop {
            // One field from `pos`.
            if bytes.get(pos) == Some(&q) {
                let mut buf: Option<String> = None;
                let inner_start = pos + 1;
                let mut seg_start = inner_start;
                let mut p = inner_start;
                let mut closed_at = None;
                while p < bytes.len() {
                    let b = bytes[p];
                    if b == q && esc == Some(q) && bytes.get(p + 1) == Some(&q) {
                        // A doubled enclose byte when it is also the escape: one of it.
                        let s = buf.get_or_insert_with(String::new);
                        s.push_str(&text[seg_start..p + 1]);
                        p += 2;
                        seg_start = p;
                    } else if b == q {
                        closed_at = Some(p);
                        break;
                    } else if Some(b) == esc && p + 1 < bytes.len() {
                        let s = buf.get_or_insert_with(String::new);
                        s.push_str(&text[seg_start..p]);
                        // The escaped character, whole (it may be multi-byte).
                        let ch = text[p + 1..].chars().next().map(char::len_utf8).unwrap_or(1);
                        s.push_str(&text[p + 1..p + 1 + ch]);
                        p += 1 + ch;
                        seg_start = p;
                    } else {
                        p += 1;
                    }
                }
                let inner_end = closed_at.unwrap_or(bytes.len());
                // Anything between the closing byte and the next separator stays data.
                let after = closed_at.map(|c| c + 1).unwrap_or(bytes.len());
                let tail_end = next_sep(text, after, col, line);
                let mut value = match buf {
                    None => std::borrow::Cow::Borrowed(&text[inner_start..inner_end]),
                    Some(mut s) => {
                        s.push_str(&text[seg_start..inner_end]);
                        std::borrow::Cow::Owned(s)
                    }
                };
                if tail_end > after {
                    value = std::borrow::Cow::Owned(format!("{value}{}", &text[after..tail_end]));
                }
                fields.push(Field::Enclosed(value));
                pos = tail_end;
            } else {
                let end = next_sep(text, pos, col, line);
                fields.push(Field::Plain(&text[pos..end]));
                pos = end;
            }
            if text[pos..].starts_with(col) {
                pos += col.len();
                continue;
            }
            let rec = &text[start..pos];
            self.pos = if text[pos..].starts_with(line) { pos + line.len() } else { text.len() };
            return Some((rec, fields));
        }
    }
}

/// Where the field starting at `from` ends: the next column separator or line delimiter.
fn next_sep(text: &str, from: usize, col: &str, line: &str) -> usize {
    let bytes = text.as_bytes();
    let (c0, l0) = (col.as_bytes()[0], line.as_bytes()[0]);
    let mut p = from;
    while p < bytes.len() {
        let b = bytes[p];
        if (b == c0 && bytes[p..].starts_with(col.as_bytes())) || (b == l0 && bytes[p..].starts_with(line.as_bytes())) {
            return p;
        }
        p += 1;
    }
    bytes.len()
}

/// Count nothing, keep the reason of a row filtered outside the builder.
pub(crate) fn note_error(out: &mut Parsed, reason: &str, src: &str) {
    note(&mut out.errors, reject(reason, src));
}

fn note(errors: &mut Vec<String>, e: String) {
    if errors.len() < MAX_ERROR_SAMPLES {
        errors.push(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Vec<LoadColumn> {
        vec![
            LoadColumn { name: "k".into(), kind: ColKind::Int, nullable: false, default_value: None },
            LoadColumn { name: "v".into(), kind: ColKind::Str { max_len: None }, nullable: true, default_value: None },
        ]
    }

    fn strs(p: &Parsed) -> Vec<(i64, Option<String>)> {
        p.rows
            .iter()
            .map(|r| {
                let k = match r[0] {
                    Cell::Int(k) => k,
                    ref c => panic!("{c:?}"),
                };
                let v = match &r[1] {
                    Cell::Str(s) => Some(s.clone()),
                    Cell::Null => None,
                    c => panic!("{c:?}"),
                };
                (k, v)
            })
            .collect()
    }

    #[test]
    fn enclosed_fields_keep_separators_and_delimiters() {
        let opts = CsvOptions { enclose: Some(b'\''), ..CsvOptions::new(",", "\n") };
        let body = "1,'a,b'\n2,'line\none'\n3,plain\n4,'x'y\n5,\\N\n6,'\\N'\n";
        let p = parse_with(body.as_bytes(), &table(), &[], &opts).unwrap();
        assert_eq!(p.filtered, 0, "{:?}", p.errors);
        assert_eq!(
            strs(&p),
            vec![
                (1, Some("a,b".into())),
                (2, Some("line\none".into())),
                (3, Some("plain".into())),
                (4, Some("xy".into())),
                (5, None),
                (6, Some("\\N".into())),
            ]
        );
    }

    #[test]
    fn escape_inside_enclosed_fields() {
        let opts = CsvOptions { enclose: Some(b'"'), escape: Some(b'\\'), ..CsvOptions::new(",", "\n") };
        let p = parse_with(b"1,\"say \\\"hi\\\", ok\"\n2,\"back\\\\slash\"\n", &table(), &[], &opts).unwrap();
        assert_eq!(strs(&p), vec![(1, Some("say \"hi\", ok".into())), (2, Some("back\\slash".into()))]);
        // The escape may be the enclose byte itself: a doubled quote is one quote.
        let opts = CsvOptions { enclose: Some(b'"'), escape: Some(b'"'), ..CsvOptions::new(",", "\n") };
        let p = parse_with(b"1,\"a \"\"b\"\", c\"\n", &table(), &[], &opts).unwrap();
        assert_eq!(strs(&p), vec![(1, Some("a \"b\", c".into()))]);
        // An unterminated enclosed field runs to the end of the body.
        let opts = CsvOptions { enclose: Some(b'"'), ..CsvOptions::new(",", "\n") };
        let p = parse_with(b"1,\"open\n2,x\n", &table(), &[], &opts).unwrap();
        assert_eq!(strs(&p), vec![(1, Some("open\n2,x\n".into()))]);
    }

    #[test]
    fn trim_double_quotes_and_skip_lines() {
        let opts = CsvOptions { trim_double_quotes: true, skip_lines: 2, ..CsvOptions::new(",", "\n") };
        let p = parse_with(b"k,v\nint,string\n\"1\",\"a\"\n2,\"\"\n3,\"x\n", &table(), &[], &opts).unwrap();
        assert_eq!(strs(&p), vec![(1, Some("a".into())), (2, Some("".into())), (3, Some("\"x".into()))]);
        assert_eq!(p.total, 3);
        // Multi-byte separators, no trailing delimiter.
        let p = parse_with("1||é\r\n2||b".as_bytes(), &table(), &[], &CsvOptions::new("||", "\r\n")).unwrap();
        assert_eq!(strs(&p), vec![(1, Some("é".into())), (2, Some("b".into()))]);
    }

    #[test]
    fn rejected_rows_read_like_upstreams_error_log() {
        let p = parse(b"x,a\n1\n", &table(), &[], ",", "\n").unwrap();
        assert_eq!(p.filtered, 2);
        assert!(p.errors[0].starts_with("Reason: column k: "), "{}", p.errors[0]);
        assert!(p.errors[0].ends_with(". src line [x,a]; "), "{}", p.errors[0]);
        assert_eq!(p.errors[1], "Reason: actual column number 1 is not equal to schema column number 2. src line [1]; ");
    }
}
