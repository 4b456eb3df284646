//! What a stream load's headers ask of it, read and checked before the load begins a
//! transaction (a bad header costs no label): upstream's header names, values and error
//! texts.

use axum::http::HeaderMap;

use super::transform::ColumnsSpec;
use super::{csv, header, json};

/// What the request's headers ask of the load, checked before it starts.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub format: Format,
    /// The file's columns (`columns`); the table's own order when empty.
    pub columns: Vec<String>,
    /// Table columns computed from the file's (`columns: ..., v = tmp * 2`).
    pub derived: Vec<(String, String)>,
    /// The `where` header: rows it does not select are unselected.
    pub filter: Option<String>,
    pub max_filter_ratio: f64,
    /// `two_phase_commit: true`: pre-commit, and leave the commit or abort to the user's
    /// `_stream_load_2pc`.
    pub two_phase_commit: bool,
    /// Upstream's `partitions` / `temporary_partitions`: load only into these.
    pub partitions: Option<String>,
    pub temporary_partitions: Option<String>,
    /// `merge_type` (APPEND when absent) and, for MERGE, the `delete` condition.
    pub merge_type: MergeType,
    pub delete_condition: Option<String>,
    /// `function_column.sequence_col`: the column whose value the hidden sequence column takes.
    pub sequence_col: Option<String>,
    /// `hidden_columns`: hidden columns the file has after the table's (no `columns` header).
    pub hidden_columns: Vec<String>,
}

/// Upstream's `merge_type`: APPEND writes rows, DELETE deletes their keys, MERGE deletes
/// the rows its `delete` condition selects and writes the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MergeType {
    #[default]
    Append,
    Delete,
    Merge,
}

#[derive(Debug, Clone)]
pub enum Format {
    Csv(csv::CsvOptions),
    Json(json::JsonOptions),
}

/// A boolean header: absent is `false`; anything but true/false (any case) is refused.
fn bool_header(h: &HeaderMap, name: &str) -> Result<bool, String> {
    match header(h, name) {
        None => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(format!("invalid {name} '{v}': must be true or false")),
    }
}

/// A one-byte header (`enclose`, `escape`), as upstream requires them.
fn byte_header(h: &HeaderMap, name: &str) -> Result<Option<u8>, String> {
    // Not trimmed: a space is a valid enclose or escape byte.
    let Some(v) = h.get(name) else { return Ok(None) };
    let v = v.as_bytes();
    match v {
        [] => Ok(None),
        [b] if b.is_ascii() => Ok(Some(*b)),
        _ => Err(format!("{name} must be single-char, actually is {}", String::from_utf8_lossy(v))),
    }
}

impl LoadOptions {
    pub fn from_headers(h: &HeaderMap) -> Result<LoadOptions, String> {
        let format_name = header(h, "format").unwrap_or_else(|| "csv".into()).to_ascii_lowercase();
        let csv_header_lines = match format_name.as_str() {
            "csv" => Some(0),
            "csv_with_names" => Some(1),
            "csv_with_names_and_types" => Some(2),
            _ => None,
        };
        let format = match (format_name.as_str(), csv_header_lines) {
            (_, Some(header_lines)) => {
                let skip_lines = match header(h, "skip_lines") {
                    None => 0,
                    Some(v) => v
                        .parse::<usize>()
                        .map_err(|_| format!("invalid skip_lines '{v}': must be a non-negative integer"))?,
                };
                let enclose = byte_header(h, "enclose")?;
                let escape = byte_header(h, "escape")?;
                let opts = csv::CsvOptions {
                    col_sep: csv::unescape_separator(&header(h, "column_separator").unwrap_or_else(|| "\\t".into())),
                    line_sep: csv::unescape_separator(&header(h, "line_delimiter").unwrap_or_else(|| "\\n".into())),
                    enclose,
                    escape,
                    trim_double_quotes: bool_header(h, "trim_double_quotes")?,
                    // Like upstream, the csv_with_names formats decide the header lines.
                    skip_lines: if header_lines > 0 { header_lines } else { skip_lines },
                };
                if opts.col_sep.is_empty() || opts.line_sep.is_empty() {
                    return Err("column_separator and line_delimiter may not be empty".into());
                }
                Format::Csv(opts)
            }
            ("json", _) => {
                // fuzzy_parse only promises every record has the first one's fields (a
                // speed hint upstream); records are read by name here either way.
                bool_header(h, "fuzzy_parse")?;
                Format::Json(json::JsonOptions {
                    strip_outer_array: bool_header(h, "strip_outer_array")?,
                    read_json_by_line: bool_header(h, "read_json_by_line")?,
                    json_root: header(h, "json_root"),
                    jsonpaths: header(h, "jsonpaths"),
                })
            }
            (other, _) => {
                return Err(format!(
                    "format {other} is not supported by doris-rs (csv, csv_with_names, csv_with_names_and_types and json are)"
                ))
            }
        };
        let spec = match header(h, "columns") {
            Some(c) => ColumnsSpec::parse(&c)?,
            None => ColumnsSpec::default(),
        };
        let columns = spec.sources.clone();
        let derived = spec.derived;
        let filter = header(h, "where");
        let max_filter_ratio: f64 = match header(h, "max_filter_ratio") {
            Some(v) => match v.parse::<f64>() {
                Ok(r) if (0.0..=1.0).contains(&r) => r,
                _ => return Err(format!("invalid max_filter_ratio '{v}': must be a number from 0 to 1")),
            },
            None => 0.0,
        };
        let two_phase_commit = bool_header(h, "two_phase_commit")?;
        // Upstream's BE texts (StreamLoadAction).
        let merge_type = match header(h, "merge_type") {
            None => MergeType::Append,
            Some(v) => match v.to_ascii_uppercase().as_str() {
                "APPEND" => MergeType::Append,
                "DELETE" => MergeType::Delete,
                "MERGE" => MergeType::Merge,
                _ => return Err(format!("Invalid merge type {v}")),
            },
        };
        let delete_condition = header(h, "delete");
        match (merge_type, &delete_condition) {
            (MergeType::Merge, None) => return Err("Excepted DELETE ON clause when merge type is MERGE.".into()),
            (MergeType::Append | MergeType::Delete, Some(_)) => {
                return Err("Not support DELETE ON clause when merge type is not MERGE.".into())
            }
            _ => {}
        }
        let hidden_columns = header(h, "hidden_columns")
            .map(|v| v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
            .unwrap_or_default();
        Ok(LoadOptions {
            format,
            columns,
            derived,
            filter,
            max_filter_ratio,
            two_phase_commit,
            partitions: header(h, "partitions"),
            temporary_partitions: header(h, "temporary_partitions"),
            merge_type,
            delete_condition,
            sequence_col: header(h, "function_column.sequence_col"),
            hidden_columns,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        h
    }

    #[test]
    fn csv_options_from_headers() {
        let o = LoadOptions::from_headers(&headers(&[
            ("column_separator", ","),
            ("enclose", "'"),
            ("escape", "\\"),
            ("trim_double_quotes", "TRUE"),
            ("skip_lines", "3"),
        ]))
        .unwrap();
        let Format::Csv(c) = o.format else { panic!() };
        assert_eq!((c.col_sep.as_str(), c.line_sep.as_str()), (",", "\n"));
        assert_eq!((c.enclose, c.escape, c.trim_double_quotes, c.skip_lines), (Some(b'\''), Some(b'\\'), true, 3));
        // The csv_with_names formats decide the skipped lines.
        let o = LoadOptions::from_headers(&headers(&[("format", "csv_with_names_and_types"), ("skip_lines", "5")])).unwrap();
        let Format::Csv(c) = o.format else { panic!() };
        assert_eq!((c.col_sep.as_str(), c.skip_lines), ("\t", 2));
    }

    #[test]
    fn bad_headers_are_named() {
        for (pairs, needle) in [
            (vec![("enclose", "ab")], "enclose must be single-char, actually is ab"),
            (vec![("escape", "xy")], "escape must be single-char, actually is xy"),
            (vec![("skip_lines", "x")], "invalid skip_lines 'x'"),
            (vec![("trim_double_quotes", "1")], "invalid trim_double_quotes '1'"),
            (vec![("format", "json"), ("fuzzy_parse", "y")], "invalid fuzzy_parse 'y'"),
            (vec![("format", "orc")], "format orc is not supported"),
            (vec![("max_filter_ratio", "-0.1")], "invalid max_filter_ratio '-0.1'"),
            (vec![("merge_type", "UPSERT")], "Invalid merge type UPSERT"),
            (vec![("merge_type", "MERGE")], "Excepted DELETE ON clause when merge type is MERGE."),
            (vec![("merge_type", "DELETE"), ("delete", "k = 1")], "Not support DELETE ON clause when merge type is not MERGE."),
            (vec![("delete", "k = 1")], "Not support DELETE ON clause when merge type is not MERGE."),
        ] {
            let e = LoadOptions::from_headers(&headers(&pairs)).unwrap_err();
            assert!(e.contains(needle), "{e}");
        }
        assert!(LoadOptions::from_headers(&headers(&[("format", "json"), ("fuzzy_parse", "true")])).is_ok());
        let o = LoadOptions::from_headers(&headers(&[
            ("merge_type", "merge"),
            ("delete", "v > 2"),
            ("function_column.sequence_col", "ts"),
            ("hidden_columns", "__DORIS_DELETE_SIGN__, __DORIS_SEQUENCE_COL__"),
        ]))
        .unwrap();
        assert_eq!((o.merge_type, o.delete_condition.as_deref(), o.sequence_col.as_deref()), (MergeType::Merge, Some("v > 2"), Some("ts")));
        assert_eq!(o.hidden_columns, vec!["__DORIS_DELETE_SIGN__", "__DORIS_SEQUENCE_COL__"]);
        assert_eq!(LoadOptions::from_headers(&HeaderMap::new()).unwrap().merge_type, MergeType::Append);
    }
}
