//! Light schema change: value columns added to or dropped from a table's schema without
//! rewriting its rowsets (BEs read older segments by column name; a column a segment lacks
//! reads as its default). Key, partition and distribution columns stay as they are: changing
//! those would need the data rewritten (upstream's heavy schema change), refused here.

use super::{invalid, ColumnSpec};
use crate::catalog::table::{Column, Distribution, OlapTable};
use crate::catalog::types::{AggType, DataType, KeysType};
use crate::catalog::CatalogError;

/// Where ADD COLUMN puts the new columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnPosition {
    Last,
    First,
    After(String),
}

/// A light schema change, as the domain takes it.
#[derive(Debug, Clone, PartialEq)]
pub enum SchemaChange {
    Add { columns: Vec<ColumnSpec>, position: ColumnPosition },
    Drop { name: String },
}

/// Apply `change` to `t`'s schema (the caller persists it).
pub fn apply(t: &mut OlapTable, change: &SchemaChange) -> Result<(), CatalogError> {
    match change {
        SchemaChange::Add { columns, position } => add(t, columns, position),
        SchemaChange::Drop { name } => drop(t, name),
    }
}

fn add(t: &mut OlapTable, specs: &[ColumnSpec], position: &ColumnPosition) -> Result<(), CatalogError> {
    let keys = t.columns.iter().filter(|c| c.is_key).count();
    let mut at = match position {
        ColumnPosition::Last => t.columns.len(),
        ColumnPosition::First => {
            return Err(invalid("Can not add a column FIRST: it would be a key column (a heavy schema change, not supported)"))
        }
        ColumnPosition::After(c) => {
            let i = t.columns.iter().position(|x| x.name.eq_ignore_ascii_case(c)).ok_or_else(|| invalid(format!("Column[{c}] does not exist")))?;
            if i + 1 < keys {
                return Err(invalid(format!("Can not add a value column after key column {c} before other key columns")));
            }
            i + 1
        }
    };
    // Hidden columns have unique ids too: a new column must not take one of theirs.
    let mut next_id = t.full_schema().map(|c| c.unique_id).max().unwrap_or(-1) + 1;
    for s in specs {
        crate::catalog::hidden::check_column_name(&s.name)?;
        if t.column(&s.name).is_some() {
            return Err(invalid(format!("Can not add column which already exists in base table: {}", s.name)));
        }
        if t.dropped_columns.iter().any(|d| d.eq_ignore_ascii_case(&s.name)) {
            return Err(invalid(format!(
                "Column {} was dropped from this table: rowsets written before still hold it, so the name cannot be added back",
                s.name
            )));
        }
        if s.auto_increment.is_some() {
            return Err(invalid(format!("Can not add auto increment column {}", s.name)));
        }
        let data_type = DataType::parse(&s.type_text).map_err(|e| invalid(e.0))?;
        let nullable = s.nullable.unwrap_or(true);
        if !nullable && s.default_value.is_none() {
            return Err(invalid(format!(
                "Column {} is NOT NULL without a DEFAULT value: the rows already in the table would have none",
                s.name
            )));
        }
        if let Some(d) = s.default_value.as_deref().filter(|d| !d.eq_ignore_ascii_case("CURRENT_TIMESTAMP")) {
            data_type.check_literal(d).map_err(|e| invalid(format!("Invalid default value for '{}': {}", s.name, e.0)))?;
        }
        let given = match &s.aggregation {
            Some(a) => Some(AggType::parse(a).ok_or_else(|| invalid(format!("Unknown aggregation type `{a}`")))?),
            None => None,
        };
        let aggregation = match (t.keys_type, given) {
            (KeysType::Aggregate, None) => {
                return Err(invalid(format!("The column[{}] must specify aggregate type in AGGREGATE KEY model", s.name)))
            }
            (KeysType::Aggregate, a) => a,
            (KeysType::Unique, None) => Some(AggType::Replace),
            (KeysType::Duplicate, None) => None,
            (_, Some(_)) => {
                return Err(invalid(format!("Can not assign aggregation method on column in {} table: {}", t.keys_type.sql(), s.name)))
            }
        };
        t.columns.insert(
            at,
            Column {
                name: s.name.clone(),
                data_type,
                is_key: false,
                nullable,
                aggregation,
                default_value: s.default_value.clone(),
                comment: s.comment.clone(),
                unique_id: next_id,
                auto_increment: None,
            },
        );
        at += 1;
        next_id += 1;
    }
    Ok(())
}

fn drop(t: &mut OlapTable, name: &str) -> Result<(), CatalogError> {
    let i = t
        .columns
        .iter()
        .position(|c| c.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| invalid(format!("Column does not exists: {name}")))?;
    let c = &t.columns[i];
    if c.is_key {
        return Err(invalid(format!("Can not drop key column {} (a heavy schema change, not supported)", c.name)));
    }
    if t.partition_columns.iter().any(|p| p.eq_ignore_ascii_case(name)) {
        return Err(invalid(format!("Can not drop partition column[{}]", c.name)));
    }
    if let Distribution::Hash { columns, .. } = &t.distribution {
        if columns.iter().any(|d| d.eq_ignore_ascii_case(name)) {
            return Err(invalid(format!("Can not drop distribution column[{}]", c.name)));
        }
    }
    let c = t.columns.remove(i);
    t.dropped_columns.push(c.name);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::fixtures::two_partition_table;

    fn spec(name: &str, type_text: &str, nullable: Option<bool>, default: Option<&str>) -> ColumnSpec {
        ColumnSpec {
            name: name.into(),
            type_text: type_text.into(),
            nullable,
            aggregation: None,
            default_value: default.map(str::to_string),
            comment: String::new(),
            auto_increment: None,
        }
    }

    fn names(t: &OlapTable) -> Vec<(&str, i32)> {
        t.columns.iter().map(|c| (c.name.as_str(), c.unique_id)).collect()
    }

    #[test]
    fn value_columns_come_and_go_with_fresh_unique_ids() {
        let mut t = two_partition_table();
        apply(&mut t, &SchemaChange::Add { columns: vec![spec("c", "int", None, Some("7"))], position: ColumnPosition::Last }).unwrap();
        apply(&mut t, &SchemaChange::Add { columns: vec![spec("b", "bigint", Some(true), None)], position: ColumnPosition::After("k".into()) }).unwrap();
        assert_eq!(names(&t), [("k", 0), ("b", 3), ("v", 1), ("c", 2)]);
        apply(&mut t, &SchemaChange::Drop { name: "V".into() }).unwrap();
        assert_eq!(names(&t), [("k", 0), ("b", 3), ("c", 2)]);
        assert_eq!(t.tablet_schema().columns.len(), 3);
        // Older segments still hold a "v": the name cannot come back (it would read them).
        let e = apply(&mut t, &SchemaChange::Add { columns: vec![spec("v", "varchar(10)", None, None)], position: ColumnPosition::Last });
        assert!(e.unwrap_err().to_string().contains("was dropped from this table"));
        apply(&mut t, &SchemaChange::Add { columns: vec![spec("w", "varchar(10)", None, None)], position: ColumnPosition::Last }).unwrap();
        assert_eq!(names(&t).last(), Some(&("w", 4)));
    }

    #[test]
    fn heavy_changes_and_bad_columns_are_refused() {
        let t0 = two_partition_table();
        let refused = |change: SchemaChange| {
            let mut t = t0.clone();
            let e = apply(&mut t, &change).unwrap_err().to_string();
            assert_eq!(t, t0, "a refused change changes nothing");
            e
        };
        assert!(refused(SchemaChange::Drop { name: "k".into() }).contains("key column"));
        assert!(refused(SchemaChange::Drop { name: "nope".into() }).contains("does not exists"));
        assert!(refused(SchemaChange::Add { columns: vec![spec("v", "int", None, None)], position: ColumnPosition::Last }).contains("already exists"));
        assert!(refused(SchemaChange::Add { columns: vec![spec("n", "int", Some(false), None)], position: ColumnPosition::Last }).contains("NOT NULL"));
        assert!(refused(SchemaChange::Add { columns: vec![spec("n", "int", None, Some("x"))], position: ColumnPosition::Last }).contains("Invalid default"));
        assert!(refused(SchemaChange::Add { columns: vec![spec("n", "int", None, None)], position: ColumnPosition::First }).contains("FIRST"));
    }
}
