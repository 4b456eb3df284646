//! What a load writes into a UNIQUE table's hidden columns, as upstream's stream load
//! plans it: the delete sign is 0 (APPEND), 1 (DELETE) or `delete`'s condition (MERGE);
//! the sequence column takes the column named by `function_column.sequence_col`, or the
//! value column the table maps it to; `hidden_columns` says which hidden columns the file
//! itself has. Checked against the table with upstream's texts.

use super::options::{LoadOptions, MergeType};
use super::plan::LoadPlan;
use super::read::{DELETE_SIGN, SEQUENCE_COL};
use super::types::Cell;

/// How one load fills the hidden columns.
#[derive(Debug, Default, PartialEq)]
pub struct HiddenFill {
    /// The file's columns: the `columns` header's, or the visible columns followed by
    /// `hidden_columns`.
    pub file_columns: Vec<String>,
    /// Column expressions computed before the load's own (MERGE's delete sign, a sequence
    /// column from `function_column.sequence_col`).
    pub derived: Vec<(String, String)>,
    /// DELETE: the delete sign's index, 1 in every row.
    pub delete_all: Option<usize>,
    /// (from, to): the sequence column copies the value column mapped to it.
    pub copy_sequence: Option<(usize, usize)>,
}

fn position(plan: &LoadPlan, name: &str) -> Option<usize> {
    plan.columns.iter().position(|c| c.name.eq_ignore_ascii_case(name))
}

/// A file column as a column expression reads it (the expressions see lower-cased names).
fn column_ref(name: &str) -> String {
    format!("\"{}\"", name.to_ascii_lowercase().replace('"', "\"\""))
}

/// Work out the fill of a load into `table` (for messages) from its plan and options.
pub fn plan(plan: &LoadPlan, opts: &LoadOptions, table: &str) -> Result<HiddenFill, String> {
    let unique = plan.keys_type == "UNIQUE_KEYS";
    let sign = position(plan, DELETE_SIGN);
    let sequence = position(plan, SEQUENCE_COL);
    if opts.merge_type != MergeType::Append && !unique {
        return Err("load by MERGE or DELETE is only supported in unique tables.".into());
    }
    if opts.merge_type != MergeType::Append && sign.is_none() {
        return Err("load by MERGE or DELETE need to upgrade table to support batch delete.".into());
    }
    for h in &opts.hidden_columns {
        if !plan.columns.iter().any(|c| c.hidden && c.name.eq_ignore_ascii_case(h)) {
            return Err(format!("Unknown column '{h}' in table"));
        }
    }
    let file_columns: Vec<String> = if opts.columns.is_empty() {
        plan.columns
            .iter()
            .filter(|c| !c.hidden)
            .map(|c| c.name.clone())
            .chain(opts.hidden_columns.iter().cloned())
            .collect()
    } else {
        opts.columns.clone()
    };
    // The file (or a column expression) gives the sequence column itself.
    let sequence_given = file_columns.iter().any(|f| f.eq_ignore_ascii_case(SEQUENCE_COL))
        || opts.derived.iter().any(|(n, _)| n.eq_ignore_ascii_case(SEQUENCE_COL));
    let mut fill = HiddenFill { file_columns, ..Default::default() };
    match opts.merge_type {
        MergeType::Append => {}
        MergeType::Delete => fill.delete_all = sign,
        MergeType::Merge => {
            let cond = opts.delete_condition.as_deref().unwrap_or("false");
            fill.derived.push((DELETE_SIGN.to_string(), format!("CASE WHEN ({cond}) THEN 1 ELSE 0 END")));
        }
    }
    match (&opts.sequence_col, sequence) {
        (Some(_), None) => return Err(format!("There is no sequence column in the table {table}")),
        (Some(col), Some(_)) => fill.derived.push((SEQUENCE_COL.to_string(), column_ref(col))),
        (None, Some(to)) if !sequence_given => {
            let mapped = plan.sequence_map_col.as_deref().and_then(|m| position(plan, m));
            match mapped {
                Some(from) => fill.copy_sequence = Some((from, to)),
                None => return Err(format!("Table {table} has sequence column, need to specify the sequence column")),
            }
        }
        _ => {}
    }
    Ok(fill)
}

impl HiddenFill {
    /// What the rows (in the plan's column order) still need once parsed.
    pub fn finish(&self, rows: &mut [Vec<Cell>]) {
        for row in rows.iter_mut() {
            if let Some(i) = self.delete_all {
                row[i] = Cell::Int(1);
            }
            if let Some((from, to)) = self.copy_sequence {
                row[to] = row[from].clone();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::plan::PlanColumn;
    use axum::http::{HeaderMap, HeaderName};

    fn col(name: &str, type_: &str, hidden: bool) -> PlanColumn {
        PlanColumn {
            name: name.into(),
            type_: type_.into(),
            nullable: true,
            default_value: None,
            auto_increment: false,
            unique_id: 0,
            hidden,
        }
    }

    fn unique_plan(sequence: bool, map: Option<&str>) -> LoadPlan {
        let mut columns = vec![col("k", "int", false), col("v", "int", false), col(DELETE_SIGN, "tinyint", true)];
        if sequence {
            columns.push(col(SEQUENCE_COL, "int", true));
        }
        LoadPlan {
            txn_id: 1,
            db_id: 1,
            table_id: 1,
            columns,
            keys_type: "UNIQUE_KEYS".into(),
            sequence_map_col: map.map(str::to_string),
            merge_on_write: true,
            partition_kind: "UNPARTITIONED".into(),
            partition_columns: vec![],
            distribution_columns: vec![],
            partitions: vec![],
        }
    }

    fn opts(pairs: &[(&str, &str)]) -> LoadOptions {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        LoadOptions::from_headers(&h).unwrap()
    }

    #[test]
    fn merge_types_fill_the_delete_sign() {
        let p = unique_plan(false, None);
        let f = plan(&p, &opts(&[]), "t").unwrap();
        assert_eq!(f, HiddenFill { file_columns: vec!["k".into(), "v".into()], ..Default::default() });
        let f = plan(&p, &opts(&[("merge_type", "DELETE")]), "t").unwrap();
        assert_eq!(f.delete_all, Some(2));
        let mut rows = vec![vec![Cell::Int(1), Cell::Int(2), Cell::Int(0)]];
        f.finish(&mut rows);
        assert_eq!(rows[0][2], Cell::Int(1));
        let f = plan(&p, &opts(&[("merge_type", "MERGE"), ("delete", "v > 2")]), "t").unwrap();
        assert_eq!(f.derived, vec![(DELETE_SIGN.to_string(), "CASE WHEN (v > 2) THEN 1 ELSE 0 END".to_string())]);
        // The file may carry the delete sign itself.
        let f = plan(&p, &opts(&[("hidden_columns", DELETE_SIGN)]), "t").unwrap();
        assert_eq!(f.file_columns, vec!["k", "v", DELETE_SIGN]);
        assert_eq!(plan(&p, &opts(&[("hidden_columns", "nope")]), "t").unwrap_err(), "Unknown column 'nope' in table");
    }

    #[test]
    fn merge_types_refused_where_upstream_refuses_them() {
        let mut dup = unique_plan(false, None);
        dup.keys_type = "DUP_KEYS".into();
        dup.columns.pop();
        let e = plan(&dup, &opts(&[("merge_type", "DELETE")]), "t").unwrap_err();
        assert_eq!(e, "load by MERGE or DELETE is only supported in unique tables.");
        let mut old = unique_plan(false, None);
        old.columns.pop();
        let e = plan(&old, &opts(&[("merge_type", "MERGE"), ("delete", "k = 1")]), "t").unwrap_err();
        assert_eq!(e, "load by MERGE or DELETE need to upgrade table to support batch delete.");
        assert!(plan(&old, &opts(&[]), "t").is_ok());
    }

    #[test]
    fn sequence_column_from_header_or_mapping() {
        let e = plan(&unique_plan(false, None), &opts(&[("function_column.sequence_col", "v")]), "t").unwrap_err();
        assert_eq!(e, "There is no sequence column in the table t");
        let e = plan(&unique_plan(true, None), &opts(&[]), "t").unwrap_err();
        assert_eq!(e, "Table t has sequence column, need to specify the sequence column");
        let f = plan(&unique_plan(true, None), &opts(&[("function_column.sequence_col", "V")]), "t").unwrap();
        assert_eq!(f.derived, vec![(SEQUENCE_COL.to_string(), "\"v\"".to_string())]);
        let f = plan(&unique_plan(true, Some("v")), &opts(&[]), "t").unwrap();
        assert_eq!(f.copy_sequence, Some((1, 3)));
        let mut rows = vec![vec![Cell::Int(1), Cell::Int(7), Cell::Int(0), Cell::Null]];
        f.finish(&mut rows);
        assert_eq!(rows[0][3], Cell::Int(7));
        // A file that has the sequence column needs no header.
        let f = plan(&unique_plan(true, None), &opts(&[("hidden_columns", SEQUENCE_COL)]), "t").unwrap();
        assert_eq!(f.copy_sequence, None);
    }
}
