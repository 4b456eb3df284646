//! Row filters a scan applies before answering: the conjunction of simple comparisons the
//! FE's query engine pushed down (`[["k", ">=", ["12"]], ["v", "in", ["a", "b"]]]`, values
//! as text the column's type parses). A row passes only if every comparison is true; a
//! NULL cell makes a comparison false, as in SQL's WHERE. The FE applies its filters again,
//! so this only saves reading and sending rows.
//!
//! The same conjunctions are a DELETE's predicate (`of_conditions`, upstream's `TCondition`
//! operators): a row of an older version that passes it is deleted.

use std::cmp::Ordering;

use super::types::{Cell, ColKind};
use crate::storage::DeleteCondition;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    In,
    NotIn,
    IsNull,
    IsNotNull,
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
            comparisons.push(Comparison::new(name.as_str(), column, kind, op, &values)?);
        }
        Ok(RowFilter { comparisons })
    }

    /// A delete predicate over `columns`, in upstream's `TCondition` spelling.
    pub fn of_conditions(conditions: &[DeleteCondition], columns: &[(String, ColKind)]) -> Result<RowFilter, String> {
        let mut comparisons = Vec::with_capacity(conditions.len());
        for c in conditions {
            let column = columns
                .iter()
                .position(|(n, _)| n.eq_ignore_ascii_case(&c.column))
                .ok_or_else(|| format!("delete condition on column {}, which the tablet does not have", c.column))?;
            let is_value = |v: &str| c.values.len() == 1 && c.values[0].eq_ignore_ascii_case(v);
            let (op, values): (Op, &[String]) = match c.op.as_str() {
                "=" => (Op::Eq, &c.values),
                "!=" => (Op::NotEq, &c.values),
                "<" => (Op::Lt, &c.values),
                "<=" => (Op::LtEq, &c.values),
                ">" => (Op::Gt, &c.values),
                ">=" => (Op::GtEq, &c.values),
                "*=" => (Op::In, &c.values),
                "!*=" => (Op::NotIn, &c.values),
                "IS" | "is" if is_value("NULL") => (Op::IsNull, &[]),
                "IS" | "is" if is_value("NOT NULL") => (Op::IsNotNull, &[]),
                other => return Err(format!("unknown delete condition `{} {other} {:?}`", c.column, c.values)),
            };
            comparisons.push(Comparison::new(&c.column, column, columns[column].1, op, values)?);
        }
        Ok(RowFilter { comparisons })
    }

    /// Whether there is nothing to check.
    pub fn is_empty(&self) -> bool {
        self.comparisons.is_empty()
    }

    pub fn passes(&self, row: &[Cell]) -> bool {
        self.comparisons.iter().all(|c| {
            let cell = &row[c.column];
            match c.op {
                Op::IsNull => return *cell == Cell::Null,
                Op::IsNotNull => return *cell != Cell::Null,
                _ if *cell == Cell::Null => return false,
                _ => {}
            }
            let equal_any = || c.values.iter().any(|v| cell.cmp_same(v) == Ordering::Equal);
            let o = || cell.cmp_same(&c.values[0]);
            match c.op {
                Op::Eq => o() == Ordering::Equal,
                Op::NotEq => o() != Ordering::Equal,
                Op::Lt => o() == Ordering::Less,
                Op::LtEq => o() != Ordering::Greater,
                Op::Gt => o() == Ordering::Greater,
                Op::GtEq => o() != Ordering::Less,
                Op::In => equal_any(),
                Op::NotIn => !equal_any(),
                Op::IsNull | Op::IsNotNull => unreachable!("answered above"),
            }
        })
    }
}

impl Comparison {
    fn new(name: &str, column: usize, kind: ColKind, op: Op, values: &[String]) -> Result<Comparison, String> {
        let wanted = match op {
            Op::In | Op::NotIn => !values.is_empty(),
            Op::IsNull | Op::IsNotNull => values.is_empty(),
            _ => values.len() == 1,
        };
        if !wanted {
            return Err(format!("condition on {name}: {} values for {op:?}", values.len()));
        }
        let values = values
            .iter()
            .map(|v| kind.parse_text(v).map_err(|e| format!("condition on {name}: {e}")))
            .collect::<Result<_, _>>()?;
        Ok(Comparison { column, op, values })
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

    #[test]
    fn delete_conditions_in_upstream_spelling() {
        let cols = vec![("k".to_string(), ColKind::Int), ("v".to_string(), ColKind::Str { max_len: None })];
        let cond = |c: &str, op: &str, v: &[&str]| DeleteCondition {
            column: c.into(),
            op: op.into(),
            values: v.iter().map(|s| s.to_string()).collect(),
        };
        let row = |k: i64, v: Option<&str>| vec![Cell::Int(k), v.map(|s| Cell::Str(s.into())).unwrap_or(Cell::Null)];
        let f = RowFilter::of_conditions(&[cond("K", "!*=", &["1", "2"]), cond("v", "IS", &["NOT NULL"])], &cols).unwrap();
        assert!(f.passes(&row(3, Some("a"))));
        assert!(!f.passes(&row(2, Some("a"))));
        assert!(!f.passes(&row(3, None)));
        let f = RowFilter::of_conditions(&[cond("v", "IS", &["NULL"]), cond("k", "!=", &["4"])], &cols).unwrap();
        assert!(f.passes(&row(3, None)));
        assert!(!f.passes(&row(4, None)));
        assert!(!f.passes(&row(3, Some("x"))));
        let f = RowFilter::of_conditions(&[cond("k", "*=", &["5", "6"])], &cols).unwrap();
        assert!(f.passes(&row(6, None)) && !f.passes(&row(7, None)));
        assert!(RowFilter::of_conditions(&[cond("k", "LIKE", &["1"])], &cols).is_err());
        assert!(RowFilter::of_conditions(&[cond("x", "=", &["1"])], &cols).is_err());
        assert!(RowFilter::of_conditions(&[cond("k", "IS", &["maybe"])], &cols).is_err());
    }
}
