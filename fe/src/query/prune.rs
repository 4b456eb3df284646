//! What a scan learns from the query's filters: which partitions of a table filtered on its
//! (single) partition column can hold matching rows, and the simple comparisons the BEs
//! apply to rows before sending them. Conservative: a filter it does not understand prunes
//! nothing and is not pushed down, and DataFusion applies every filter again to the rows
//! read.

use std::cmp::Ordering;

use datafusion::common::ScalarValue;
use datafusion::logical_expr::{BinaryExpr, Expr, Operator};

use crate::catalog::table::{Partition, PartitionKind};
use crate::catalog::types::DataType;
use crate::catalog::OlapTable;

/// What a filter says of the partition column's value.
#[derive(Debug, Clone, PartialEq)]
enum Bound {
    Eq(String),
    Lt(String),
    LtEq(String),
    Gt(String),
    GtEq(String),
    In(Vec<String>),
}

/// A literal as the catalog writes partition values; None when it does not fit the type.
fn literal(t: &DataType, v: &ScalarValue) -> Option<String> {
    if v.is_null() {
        return None;
    }
    let text = match v {
        ScalarValue::TimestampSecond(..)
        | ScalarValue::TimestampMillisecond(..)
        | ScalarValue::TimestampMicrosecond(..)
        | ScalarValue::TimestampNanosecond(..) => {
            let micros = match v.cast_to(&datafusion::arrow::datatypes::DataType::Int64).ok()? {
                ScalarValue::Int64(Some(x)) => match v {
                    ScalarValue::TimestampSecond(..) => x * 1_000_000,
                    ScalarValue::TimestampMillisecond(..) => x * 1_000,
                    ScalarValue::TimestampNanosecond(..) => x / 1_000,
                    _ => x,
                },
                _ => return None,
            };
            // Partition bounds are whole seconds; a fraction can only sit inside a range.
            if micros % 1_000_000 != 0 {
                return None;
            }
            chrono::DateTime::from_timestamp_micros(micros)?.naive_utc().format("%Y-%m-%d %H:%M:%S").to_string()
        }
        ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) | ScalarValue::Utf8View(Some(s)) => s.clone(),
        other => other.to_string(),
    };
    t.check_literal(&text).ok()
}

fn flip(op: Operator) -> Option<Operator> {
    Some(match op {
        Operator::Eq => Operator::Eq,
        Operator::Lt => Operator::Gt,
        Operator::LtEq => Operator::GtEq,
        Operator::Gt => Operator::Lt,
        Operator::GtEq => Operator::LtEq,
        _ => return None,
    })
}

fn is_column(e: &Expr, name: &str) -> bool {
    matches!(e, Expr::Column(c) if c.name.eq_ignore_ascii_case(name))
}

fn bound(e: &Expr, column: &str, t: &DataType) -> Option<Bound> {
    match e {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            let (op, v) = match (left.as_ref(), right.as_ref()) {
                (l, Expr::Literal(v, _)) if is_column(l, column) => (*op, v),
                (Expr::Literal(v, _), r) if is_column(r, column) => (flip(*op)?, v),
                _ => return None,
            };
            let v = literal(t, v)?;
            Some(match op {
                Operator::Eq => Bound::Eq(v),
                Operator::Lt => Bound::Lt(v),
                Operator::LtEq => Bound::LtEq(v),
                Operator::Gt => Bound::Gt(v),
                Operator::GtEq => Bound::GtEq(v),
                _ => return None,
            })
        }
        Expr::InList(l) if !l.negated && is_column(&l.expr, column) => {
            let vs = l
                .list
                .iter()
                .map(|e| match e {
                    Expr::Literal(v, _) => literal(t, v),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()?;
            Some(Bound::In(vs))
        }
        _ => None,
    }
}

/// Whether a value `v` satisfies `b`.
fn admits(t: &DataType, b: &Bound, v: &str) -> bool {
    let c = |x: &str| t.compare(v, x);
    match b {
        Bound::Eq(x) => c(x) == Ordering::Equal,
        Bound::Lt(x) => c(x) == Ordering::Less,
        Bound::LtEq(x) => c(x) != Ordering::Greater,
        Bound::Gt(x) => c(x) == Ordering::Greater,
        Bound::GtEq(x) => c(x) != Ordering::Less,
        Bound::In(xs) => xs.iter().any(|x| c(x) == Ordering::Equal),
    }
}

/// Whether some value in [lo, hi) may satisfy `b` (an overestimate near the ends).
fn range_admits(t: &DataType, b: &Bound, lo: &str, hi: &str) -> bool {
    let in_range = |x: &str| t.compare(x, lo) != Ordering::Less && t.compare(x, hi) == Ordering::Less;
    match b {
        Bound::Eq(x) => in_range(x),
        Bound::In(xs) => xs.iter().any(|x| in_range(x)),
        Bound::Lt(x) => t.compare(lo, x) == Ordering::Less,
        Bound::LtEq(x) => t.compare(lo, x) != Ordering::Greater,
        Bound::Gt(x) | Bound::GtEq(x) => t.compare(x, hi) == Ordering::Less,
    }
}

/// The column a filter compares, when it is one of `table`'s.
fn column_of<'t>(e: &Expr, table: &'t OlapTable) -> Option<&'t crate::catalog::table::Column> {
    let name = match e {
        Expr::BinaryExpr(BinaryExpr { left, right, .. }) => match (left.as_ref(), right.as_ref()) {
            (Expr::Column(c), Expr::Literal(..)) | (Expr::Literal(..), Expr::Column(c)) => &c.name,
            _ => return None,
        },
        Expr::InList(l) => match l.expr.as_ref() {
            Expr::Column(c) => &c.name,
            _ => return None,
        },
        _ => return None,
    };
    table.columns.iter().find(|c| c.name.eq_ignore_ascii_case(name))
}

/// The filters a BE can apply, as its scan's `filter` parameter (`[[column, op, [values]]]`,
/// see `be/src/load/filter.rs`); None when there are none. Only columns among `read` (the
/// scan's projection) qualify.
pub(super) fn pushdown(table: &OlapTable, filters: &[Expr], read: &[String]) -> Option<String> {
    let mut out: Vec<(String, &str, Vec<String>)> = Vec::new();
    for f in filters {
        let Some(c) = column_of(f, table) else { continue };
        if !read.iter().any(|r| r.eq_ignore_ascii_case(&c.name)) {
            continue;
        }
        // Text and JSON compare as bytes on the BE; the rest compare by value.
        if matches!(c.data_type, DataType::Float | DataType::Double) {
            continue;
        }
        let Some(b) = bound(f, &c.name, &c.data_type) else { continue };
        // The BE rounds a decimal literal to the column's scale, which would change the
        // comparison: only literals that already fit are pushed down.
        if let DataType::Decimal { scale, .. } = c.data_type {
            let fits = |v: &String| v.split_once('.').map_or(true, |(_, f)| f.len() <= scale as usize);
            let all_fit = match &b {
                Bound::In(vs) => vs.iter().all(fits),
                Bound::Eq(v) | Bound::Lt(v) | Bound::LtEq(v) | Bound::Gt(v) | Bound::GtEq(v) => fits(v),
            };
            if !all_fit {
                continue;
            }
        }
        let (op, values) = match b {
            Bound::Eq(v) => ("=", vec![v]),
            Bound::Lt(v) => ("<", vec![v]),
            Bound::LtEq(v) => ("<=", vec![v]),
            Bound::Gt(v) => (">", vec![v]),
            Bound::GtEq(v) => (">=", vec![v]),
            Bound::In(vs) => ("in", vs),
        };
        out.push((c.name.clone(), op, values));
    }
    (!out.is_empty()).then(|| serde_json::to_string(&out).expect("filters serialize"))
}

/// The partitions of `table` that `filters` (ANDed) leave, by name; None keeps all.
pub(super) fn partitions_left(table: &OlapTable, filters: &[Expr]) -> Option<Vec<String>> {
    let [column] = table.partition_columns.as_slice() else { return None };
    let t = &table.columns.iter().find(|c| c.name.eq_ignore_ascii_case(column))?.data_type;
    let bounds: Vec<Bound> = filters.iter().filter_map(|f| bound(f, column, t)).collect();
    if bounds.is_empty() {
        return None;
    }
    let keep = |p: &Partition| match table.partition_kind {
        PartitionKind::Range => match &p.range {
            Some((lo, hi)) if lo.len() == 1 && hi.len() == 1 => {
                bounds.iter().all(|b| range_admits(t, b, &lo[0], &hi[0]))
            }
            _ => true,
        },
        PartitionKind::List => {
            p.list_values.iter().any(|vals| vals.len() == 1 && bounds.iter().all(|b| admits(t, b, &vals[0])))
        }
        PartitionKind::Unpartitioned => true,
    };
    Some(table.partitions.iter().filter(|p| keep(p)).map(|p| p.name.clone()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::logical_expr::{col, lit};

    #[test]
    fn simple_comparisons_on_read_columns_are_pushed_down() {
        let t = crate::catalog::fixtures::build(
            &crate::catalog::fixtures::range_spec(&[("p1", "10")], 1),
            1,
            &mut 1000,
        );
        let read = vec!["k".to_string(), "v".to_string()];
        let f = pushdown(&t, &[col("k").gt_eq(lit(3)), col("v").in_list(vec![lit("a"), lit("b")], false)], &read);
        assert_eq!(f.as_deref(), Some(r#"[["k",">=",["3"]],["v","in",["a","b"]]]"#));
        assert_eq!(pushdown(&t, &[col("k").not_eq(lit(3))], &read), None);
        assert_eq!(pushdown(&t, &[col("k").eq(lit(3))], &["v".to_string()]), None, "k is not read");
    }

    #[test]
    fn range_partitions_outside_the_filter_are_left_out() {
        // k < 10, < 20, < 30.
        let t = crate::catalog::fixtures::build(
            &crate::catalog::fixtures::range_spec(&[("p1", "10"), ("p2", "20"), ("p3", "30")], 1),
            1,
            &mut 1000,
        );
        let names = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(partitions_left(&t, &[col("k").gt_eq(lit(12))]), names(&["p2", "p3"]));
        assert_eq!(partitions_left(&t, &[col("K").eq(lit(5i64))]), names(&["p1"]));
        assert_eq!(partitions_left(&t, &[col("k").lt(lit(20)), col("k").gt_eq(lit(10))]), names(&["p2"]));
        assert_eq!(partitions_left(&t, &[lit(20).lt_eq(col("k"))]), names(&["p3"]));
        assert_eq!(partitions_left(&t, &[col("k").in_list(vec![lit(1), lit(25)], false)]), names(&["p1", "p3"]));
        assert_eq!(partitions_left(&t, &[col("k").gt(lit(99))]), names(&[]));
        // Not about the partition column, or not understood: nothing pruned.
        assert_eq!(partitions_left(&t, &[col("v").eq(lit("x"))]), None);
        assert_eq!(partitions_left(&t, &[col("k").not_eq(lit(3))]), None);
    }
}
