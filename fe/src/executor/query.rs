//! SELECT over a table: the statement read into a [`ScanRequest`], the scan's typed
//! columns and cells turned into MySQL columns and values.

use serde_json::Value as Json;

use crate::catalog::types::DataType;
use crate::context::Ctx;
use crate::error::FeError;
use crate::load::{ScanColumns, ScanRequest, ScanResult};
use crate::mysql::{ColType, OutColumn, QueryOutput, Value};
use crate::sql::ast::{Projection, Select};

pub async fn select(ctx: &Ctx, db: &str, sel: &Select) -> Result<QueryOutput, FeError> {
    let req = ScanRequest {
        table: sel.table.table.clone(),
        partitions: sel.partitions.clone(),
        columns: match &sel.projection {
            Projection::CountStar => ScanColumns::Count,
            Projection::Star => ScanColumns::All,
            Projection::Columns(cols) => ScanColumns::Named(cols.clone()),
        },
        order_by: sel.order_by.iter().map(|o| (o.column.clone(), o.desc)).collect(),
        limit: sel.limit,
    };
    Ok(match crate::load::scan(ctx, db, &req).await? {
        ScanResult::Count(n) => {
            // COUNT(*) answers one row, which LIMIT 0 cuts.
            let rows = if sel.limit == Some(0) { vec![] } else { vec![vec![Value::Int(n)]] };
            QueryOutput::rows(vec![OutColumn::bigint("count(*)")], rows)
        }
        ScanResult::Rows { columns, rows } => {
            let out: Vec<Vec<Value>> = rows
                .iter()
                .map(|r| columns.iter().zip(r).map(|(c, v)| to_value(&c.data_type, v)).collect())
                .collect();
            let columns = columns.into_iter().map(|c| OutColumn::new(c.name, col_type(&c.data_type))).collect();
            QueryOutput::rows(columns, out)
        }
    })
}

fn col_type(t: &DataType) -> ColType {
    match t {
        DataType::Boolean | DataType::TinyInt => ColType::TinyInt,
        DataType::SmallInt => ColType::SmallInt,
        DataType::Int => ColType::Int,
        DataType::BigInt => ColType::BigInt,
        DataType::Float => ColType::Float,
        DataType::Double => ColType::Double,
        DataType::Decimal { .. } => ColType::Decimal,
        DataType::Date => ColType::Date,
        DataType::DateTime { .. } => ColType::DateTime,
        DataType::LargeInt | DataType::Char(_) | DataType::Varchar(_) | DataType::String | DataType::Json => {
            ColType::VarString
        }
    }
}

/// A scanned cell as the MySQL layer sends it.
fn to_value(t: &DataType, v: &Json) -> Value {
    match (t, v) {
        (_, Json::Null) => Value::Null,
        (_, Json::Bool(b)) => Value::Int(*b as i64),
        (DataType::Float | DataType::Double, Json::Number(n)) => Value::Double(n.as_f64().unwrap_or(0.0)),
        (_, Json::Number(n)) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Double(n.as_f64().unwrap_or(0.0)),
        },
        (DataType::Date, Json::String(s)) => match chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            Ok(d) => Value::Date(d),
            Err(_) => Value::Str(s.clone()),
        },
        (DataType::DateTime { scale }, Json::String(s)) => {
            // The BE sends microseconds; show the column's scale.
            let (base, frac) = s.split_once('.').unwrap_or((s.as_str(), ""));
            if *scale == 0 {
                match chrono::NaiveDateTime::parse_from_str(base, "%Y-%m-%d %H:%M:%S") {
                    Ok(d) => Value::DateTime(d),
                    Err(_) => Value::Str(base.to_string()),
                }
            } else {
                let f: String = frac.chars().chain(std::iter::repeat('0')).take(*scale as usize).collect();
                Value::Str(format!("{base}.{f}"))
            }
        }
        (_, Json::String(s)) => Value::Str(s.clone()),
        (_, other) => Value::Str(other.to_string()),
    }
}
