//! Row filters a scan applies before answering: the conjunction of simple comparisons the
//! FE's query engine pushed down (`[["k", ">=", ["12"]], ["v", "in", ["a", "b"]]]`, values
//! as text the column's type parses). A row passes only if every comparison is true; a
//! NULL cell makes a comparison false, as in SQL's WHERE. The FE applies its filters again,
//! so this only saves reading and sending rows.

use std::cmp::Ordering;

use super::types::{Cell, ColKind};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    In,
}

#[derive(Debug)]
struct Comparison {
    /// The column's index in the scan's columns.
    column: usize,
    op: Op,
    values: Vec<Cell>,
}

#[derive(Debug, Default)]
pub struct RowFilter {
    comparisons: Vec<Comparison>,
}

impl RowFilter {
    /// `text` (JSON) over the scan's `columns`.
    pub fn parse(text: &str, columns: &[(String, ColKind)]) -> Result<RowFilter, String> {
        let raw: Vec<(String, String, Vec<String>)> = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let mut comparisons = Vec::with_capacity(raw.len());
        for (name, op, values) in raw {
            let column = columns
                .iter()
                .position(|(n, _)| n.eq_ignore_ascii_case(&name))
                .ok_or_else(|| format!("filter on column {name}, which the scan does not read"))?;
            let kind = columns[column].1;
            let op = match op.as_str() {
                "=" => Op::Eq,
                "<" => Op::Lt,
                "<=" => Op::LtEq,
                ">" => Op::Gt,
                ">=" => Op::GtEq,
                "in" => Op::In,
                other => return Err(format!("unknown filter operator {other}")),
            };
            if values.is_empty() || (op != Op::In && values.len() != 1) {
                return Err(format!("filter on {name}: {} values for {op:?}", values.len()));
            }
            let values = values
                .iter()
                .map(|v| kind.parse_text(v).map_err(|e| format!("filter on {name}: {e}")))
                .collect::<Result<_, _>>()?;
            comparisons.push(Comparison { column, op, values });
        }
        Ok(RowFilter { comparisons })
    }

    pub fn passes(&self, row: &[Cell]) -> bool {
        self.comparisons.iter().all(|c| {
            let cell = &row[c.column];
            if *cell == Cell::Null {
                return false;
            }
            let o = cell.cmp_same(&c.values[0]);
            match c.op {
                Op::Eq => o == Ordering::Equal,
                Op::Lt => o == Ordering::Less,
                Op::LtEq => o != Ordering::Greater,
                Op::Gt => o == Ordering::Greater,
                Op::GtEq => o != Ordering::Less,
                Op::In => c.values.iter().any(|v| cell.cmp_same(v) == Ordering::Equal),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conjunctions_of_comparisons() {
        let cols = vec![("k".to_string(), ColKind::Int), ("v".to_string(), ColKind::Str { max_len: None })];
        let f = RowFilter::parse(r#"[["k", ">=", ["2"]], ["V", "in", ["a", "c"]]]"#, &cols).unwrap();
        let row = |k: i64, v: Option<&str>| vec![Cell::Int(k), v.map(|s| Cell::Str(s.into())).unwrap_or(Cell::Null)];
        assert!(f.passes(&row(2, Some("a"))));
        assert!(!f.passes(&row(1, Some("a"))));
        assert!(!f.passes(&row(3, Some("b"))));
        assert!(!f.passes(&row(3, None)), "NULL is not in the list");
        assert!(RowFilter::parse(r#"[["x", "=", ["1"]]]"#, &cols).is_err());
        assert!(RowFilter::parse(r#"[["k", "=", ["one"]]]"#, &cols).is_err());
    }
}
