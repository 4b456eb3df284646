//! The schema part of CREATE TABLE: columns, key columns, and what the keys model asks of
//! the value columns' aggregation.

use super::{invalid, CreateTableSpec};
use crate::catalog::table::Column;
use crate::catalog::types::{AggType, DataType, KeysType};
use crate::catalog::CatalogError;

/// Upstream's rules for AUTO_INCREMENT columns, with its texts: BIGINT NOT NULL, no
/// default, a start that is not negative, at most one per table.
pub(crate) fn check_auto_increment(columns: &[Column]) -> Result<(), CatalogError> {
    let auto: Vec<&Column> = columns.iter().filter(|c| c.auto_increment.is_some()).collect();
    if auto.len() > 1 {
        return Err(invalid("there can be at most one auto increment column in OlapTable."));
    }
    for c in auto {
        if c.data_type != DataType::BigInt {
            return Err(invalid("the auto increment must be BIGINT type."));
        }
        if c.nullable {
            return Err(invalid("the auto increment column should be NOT NULL."));
        }
        if c.default_value.is_some() {
            return Err(invalid("the auto increment column can't have default value."));
        }
        if c.auto_increment.is_some_and(|s| s < 0) {
            return Err(invalid("AUTO_INCREMENT start value can not be negative."));
        }
    }
    Ok(())
}

/// The table's columns (keys marked) and its keys model.
pub(super) fn schema(spec: &CreateTableSpec) -> Result<(Vec<Column>, KeysType), CatalogError> {
    if spec.columns.is_empty() {
        return Err(invalid("Table should contain at least one column"));
    }
    let mut columns: Vec<Column> = Vec::new();
    for (i, c) in spec.columns.iter().enumerate() {
        if columns.iter().any(|x: &Column| x.name.eq_ignore_ascii_case(&c.name)) {
            return Err(invalid(format!("Duplicate column name '{}'", c.name)));
        }
        crate::catalog::hidden::check_column_name(&c.name)?;
        let data_type = DataType::parse(&c.type_text).map_err(|e| invalid(e.0))?;
        let aggregation = match &c.aggregation {
            Some(a) => Some(AggType::parse(a).ok_or_else(|| invalid(format!("Unknown aggregation type `{a}`")))?),
            None => None,
        };
        columns.push(Column {
            name: c.name.clone(),
            data_type,
            is_key: false,
            nullable: c.nullable.unwrap_or(true),
            aggregation,
            default_value: c.default_value.clone(),
            comment: c.comment.clone(),
            unique_id: i as i32,
            auto_increment: c.auto_increment,
        });
    }
    check_auto_increment(&columns)?;

    let (keys_type, key_names) = match &spec.keys {
        Some((k, names)) => (*k, names.clone()),
        None => {
            // Upstream: leading columns up to 3 / 36 bytes, ending at a string column.
            let mut names = Vec::new();
            for c in &columns {
                if c.aggregation.is_some()
                    || matches!(c.data_type, DataType::Float | DataType::Double | DataType::Json)
                    || c.data_type.is_complex()
                {
                    break;
                }
                names.push(c.name.clone());
                if names.len() == 3 || c.data_type.is_string_like() {
                    break;
                }
            }
            if names.is_empty() {
                return Err(invalid("Cannot pick default key columns; please specify DUPLICATE KEY(...)"));
            }
            (KeysType::Duplicate, names)
        }
    };
    if key_names.is_empty() {
        return Err(invalid("Key columns should not be empty"));
    }
    // Key columns must be the leading columns, in order.
    for (i, k) in key_names.iter().enumerate() {
        let c = columns.get_mut(i).ok_or_else(|| invalid(format!("Key column[{k}] doesn't exist.")))?;
        if !c.name.eq_ignore_ascii_case(k) {
            if spec.columns.iter().any(|x| x.name.eq_ignore_ascii_case(k)) {
                return Err(invalid(format!("Key columns should be a ordered prefix of the schema. KeyColumns[{i}] (starts from zero) is {k}, but corresponding column is {} in the previous columns declaration.", c.name)));
            }
            return Err(invalid(format!("Key column[{k}] doesn't exist.")));
        }
        if c.aggregation.is_some() {
            return Err(invalid(format!("Key column {} should not specify aggregate type.", c.name)));
        }
        if let Some(why) = c.data_type.complex_refusal("key", &c.name) {
            return Err(invalid(why));
        }
        if matches!(c.data_type, DataType::Float | DataType::Double | DataType::Json | DataType::String) {
            return Err(invalid(format!(
                "{} type should not be used in key column[{}].",
                c.data_type.to_sql(),
                c.name
            )));
        }
        c.is_key = true;
    }
    for c in columns.iter_mut().filter(|c| !c.is_key) {
        // Upstream: a complex value column only REPLACEs (or REPLACE_IF_NOT_NULL).
        if let Some(a) = c.aggregation.filter(|a| !matches!(a, AggType::Replace | AggType::ReplaceIfNotNull)) {
            if c.data_type.is_complex() {
                return Err(invalid(format!("{} column can't support aggregation {}", c.data_type.upper_name(), a.sql())));
            }
        }
        match keys_type {
            KeysType::Aggregate => {
                if c.aggregation.is_none() {
                    return Err(invalid(format!(
                        "The column[{}] must specify aggregate type in AGGREGATE KEY model",
                        c.name
                    )));
                }
            }
            KeysType::Unique => {
                if c.aggregation.is_some() {
                    return Err(invalid(format!(
                        "Value column {} should not specify aggregate type in UNIQUE KEY model",
                        c.name
                    )));
                }
                c.aggregation = Some(AggType::Replace);
            }
            KeysType::Duplicate => {
                if c.aggregation.is_some() {
                    return Err(invalid(format!(
                        "Value column {} should not specify aggregate type in DUPLICATE KEY model",
                        c.name
                    )));
                }
            }
        }
    }
    Ok((columns, keys_type))
}
