//! JSON (upstream's `format: json`) to typed rows in table column order.
//!
//! The body is one object, or with `strip_outer_array: true` an array of objects, or with
//! `read_json_by_line: true` one object per line; `json_root` (`$.a.b`) picks the records
//! out of an enclosing object first. A record's value for a column is its member of that
//! name, or with `jsonpaths` (`["$.k", "$.v.x"]`, one per file column) the value at that
//! path; a missing member or JSON null is NULL. Strings are read as text, other scalars by
//! their JSON spelling, objects and arrays as their JSON text (for JSON columns).

use serde_json::Value;

use super::csv::{LoadColumn, Parsed, RowBuilder};

/// The `format: json` options of a stream load.
#[derive(Debug, Default, Clone)]
pub struct JsonOptions {
    pub strip_outer_array: bool,
    pub read_json_by_line: bool,
    pub json_root: Option<String>,
    pub jsonpaths: Option<String>,
}

/// `$.a.b` / `$.a[0]` as steps.
fn path_steps(path: &str) -> Result<Vec<Step>, String> {
    let rest = path.trim().strip_prefix('$').ok_or_else(|| format!("invalid json path '{path}': must start with $"))?;
    let mut steps = Vec::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                let mut name = String::new();
                while let Some(&n) = chars.peek() {
                    if n == '.' || n == '[' {
                        break;
                    }
                    name.push(n);
                    chars.next();
                }
                if name.is_empty() {
                    return Err(format!("invalid json path '{path}'"));
                }
                steps.push(Step::Member(name.trim_matches('"').to_string()));
            }
            '[' => {
                let mut idx = String::new();
                for n in chars.by_ref() {
                    if n == ']' {
                        break;
                    }
                    idx.push(n);
                }
                let i = idx.trim().parse().map_err(|_| format!("invalid json path '{path}'"))?;
                steps.push(Step::Index(i));
            }
            _ => return Err(format!("invalid json path '{path}'")),
        }
    }
    Ok(steps)
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Member(String),
    Index(usize),
}

fn walk<'v>(mut v: &'v Value, steps: &[Step]) -> Option<&'v Value> {
    for s in steps {
        v = match s {
            Step::Member(m) => v.get(m)?,
            Step::Index(i) => v.get(*i)?,
        };
    }
    Some(v)
}

/// A JSON value as the field text a column parses; None for NULL.
fn field_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        other => Some(other.to_string()),
    }
}

/// Parse `body` for `table` with the file's columns named by `columns`.
pub fn parse(body: &[u8], table: &[LoadColumn], columns: &[String], opts: &JsonOptions) -> Result<Parsed, String> {
    parse_into(body, &RowBuilder::new(table, columns)?, opts)
}

/// Parse `body` into rows (or raw records) as `rows` builds them.
pub(crate) fn parse_into(body: &[u8], rows: &RowBuilder, opts: &JsonOptions) -> Result<Parsed, String> {
    let paths: Option<Vec<Vec<Step>>> = match &opts.jsonpaths {
        None => None,
        Some(text) => {
            let list: Vec<String> =
                serde_json::from_str(text).map_err(|e| format!("invalid jsonpaths '{text}': {e}"))?;
            if list.len() != rows.file_cols.len() {
                return Err(format!(
                    "jsonpaths has {} paths for {} columns",
                    list.len(),
                    rows.file_cols.len()
                ));
            }
            Some(list.iter().map(|p| path_steps(p)).collect::<Result<_, _>>()?)
        }
    };
    let root = opts.json_root.as_deref().map(path_steps).transpose()?;
    let text = std::str::from_utf8(body).map_err(|e| format!("the data is not UTF-8: {e}"))?;
    let documents: Vec<&str> = if opts.read_json_by_line {
        text.lines().filter(|l| !l.trim().is_empty()).collect()
    } else {
        vec![text]
    };
    let mut out = Parsed::default();
    for doc in documents {
        let value: Value = match serde_json::from_str(doc) {
            Ok(v) => v,
            Err(e) => {
                rows.filter(&mut out, format!("parse json data failed: {e}"), &clip(doc));
                continue;
            }
        };
        let value = match &root {
            Some(steps) => match walk(&value, steps) {
                Some(v) => v.clone(),
                None => {
                    rows.filter(&mut out, "json_root not found".into(), &clip(doc));
                    continue;
                }
            },
            None => value,
        };
        let records: Vec<Value> = match value {
            Value::Array(items) if opts.strip_outer_array => items,
            Value::Array(_) => {
                return Err("JSON data is an array, set strip_outer_array to true to load it".into());
            }
            other => vec![other],
        };
        for record in &records {
            if !record.is_object() && paths.is_none() {
                rows.filter(&mut out, "not a JSON object".into(), &clip(&record.to_string()));
                continue;
            }
            let texts: Vec<Option<String>> = match &paths {
                Some(paths) => paths.iter().map(|p| field_text(walk(record, p))).collect(),
                None => rows
                    .file_cols
                    .iter()
                    .map(|c| {
                        let obj = record.as_object().expect("checked above");
                        field_text(obj.get(c).or_else(|| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(c)).map(|(_, v)| v)))
                    })
                    .collect(),
            };
            let fields: Vec<Option<&str>> = texts.iter().map(|t| t.as_deref()).collect();
            rows.push(&mut out, &fields, &clip(&record.to_string()));
        }
    }
    Ok(out)
}

fn clip(s: &str) -> String {
    s.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::types::{Cell, ColKind};

    fn table() -> Vec<LoadColumn> {
        vec![
            LoadColumn { name: "k".into(), kind: ColKind::Int, nullable: false, default_value: None },
            LoadColumn { name: "v".into(), kind: ColKind::Str { max_len: None }, nullable: true, default_value: None },
        ]
    }

    #[test]
    fn arrays_lines_roots_and_paths() {
        let t = table();
        let opts = JsonOptions { strip_outer_array: true, ..Default::default() };
        let p = parse(br#"[{"k": 1, "v": "a"}, {"K": 2}, {"k": "x"}, {"v": "no key"}]"#, &t, &[], &opts).unwrap();
        assert_eq!(p.rows, vec![vec![Cell::Int(1), Cell::Str("a".into())], vec![Cell::Int(2), Cell::Null]]);
        assert_eq!((p.total, p.filtered), (4, 2));

        let lines = JsonOptions { read_json_by_line: true, ..Default::default() };
        let p = parse(b"{\"k\": 1, \"v\": {\"x\": [1]}}\n\n{\"k\": 2, \"v\": null}\nnot json\n", &t, &[], &lines).unwrap();
        assert_eq!(p.rows, vec![vec![Cell::Int(1), Cell::Str("{\"x\":[1]}".into())], vec![Cell::Int(2), Cell::Null]]);
        assert_eq!(p.filtered, 1);

        let rooted = JsonOptions {
            json_root: Some("$.data".into()),
            jsonpaths: Some(r#"["$.id", "$.name.first"]"#.into()),
            strip_outer_array: true,
            ..Default::default()
        };
        let p = parse(br#"{"data": [{"id": 7, "name": {"first": "ann"}}]}"#, &t, &[], &rooted).unwrap();
        assert_eq!(p.rows, vec![vec![Cell::Int(7), Cell::Str("ann".into())]]);

        let err = parse(br#"[{"k": 1}]"#, &t, &[], &JsonOptions::default()).unwrap_err();
        assert!(err.contains("strip_outer_array"), "{err}");
    }
}
