//! A query's Arrow answer as a MySQL result set: column types for the column
//! definitions, and each cell spelled as MySQL's text protocol spells it.

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Float32Type, Float64Type, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType,
};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

use super::results::{ColType, OutColumn, QueryOutput, Value};
use crate::error::FeError;
use crate::query::{nested_text, QueryResult, DATETIME_SCALE, LARGEINT};

fn col_type(t: &DataType) -> ColType {
    match t {
        DataType::Null => ColType::Null,
        DataType::Boolean | DataType::Int8 | DataType::UInt8 => ColType::TinyInt,
        DataType::Int16 | DataType::UInt16 => ColType::SmallInt,
        DataType::Int32 | DataType::UInt32 => ColType::Int,
        DataType::Int64 | DataType::UInt64 => ColType::BigInt,
        DataType::Float16 | DataType::Float32 => ColType::Float,
        DataType::Float64 => ColType::Double,
        DataType::Decimal32(..) | DataType::Decimal64(..) | DataType::Decimal128(..) | DataType::Decimal256(..) => {
            ColType::Decimal
        }
        DataType::Date32 | DataType::Date64 => ColType::Date,
        DataType::Timestamp(..) => ColType::DateTime,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => ColType::Blob,
        _ => ColType::VarString,
    }
}

/// `YYYY-MM-DD HH:MM:SS` and `scale` fraction digits (MySQL's DATETIME(scale)).
fn datetime_text(micros: i64, scale: usize) -> String {
    let Some(t) = chrono::DateTime::from_timestamp_micros(micros) else { return micros.to_string() };
    let base = t.naive_utc().format("%Y-%m-%d %H:%M:%S").to_string();
    if scale == 0 {
        return base;
    }
    let frac = format!("{:06}", micros.rem_euclid(1_000_000));
    format!("{base}.{}", &frac[..scale.min(6)])
}

/// One column of a batch as cells.
fn cells(array: &dyn Array, field: &datafusion::arrow::datatypes::Field) -> Result<Vec<Value>, FeError> {
    let n = array.len();
    let mut out = Vec::with_capacity(n);
    let null_or = |i: usize, v: Value| if array.is_null(i) { Value::Null } else { v };
    match array.data_type() {
        DataType::Decimal128(_, 0) if field.metadata().contains_key(LARGEINT) => {
            let a = array.as_primitive::<Decimal128Type>();
            out.extend((0..n).map(|i| null_or(i, Value::Str(a.value(i).to_string()))));
        }
        DataType::Boolean => {
            let a = array.as_boolean();
            out.extend((0..n).map(|i| null_or(i, Value::Int(a.value(i) as i64))));
        }
        DataType::Float32 => {
            let a = array.as_primitive::<Float32Type>();
            out.extend((0..n).map(|i| null_or(i, Value::Str(a.value(i).to_string()))));
        }
        DataType::Float64 => {
            let a = array.as_primitive::<Float64Type>();
            out.extend((0..n).map(|i| null_or(i, Value::Double(a.value(i)))));
        }
        DataType::Date32 => {
            let a = array.as_primitive::<Date32Type>();
            out.extend((0..n).map(|i| match a.value_as_date(i) {
                Some(d) => null_or(i, Value::Date(d)),
                None => Value::Null,
            }));
        }
        DataType::Timestamp(unit, _) => {
            // A table's DATETIME(s) column says its scale; a computed timestamp shows
            // a fraction only when it has one.
            let scale: Option<usize> = field.metadata().get(DATETIME_SCALE).and_then(|s| s.parse().ok());
            let micros: Vec<i64> = match unit {
                TimeUnit::Second => array.as_primitive::<TimestampSecondType>().values().iter().map(|v| v * 1_000_000).collect(),
                TimeUnit::Millisecond => array.as_primitive::<TimestampMillisecondType>().values().iter().map(|v| v * 1_000).collect(),
                TimeUnit::Microsecond => array.as_primitive::<TimestampMicrosecondType>().values().to_vec(),
                TimeUnit::Nanosecond => array.as_primitive::<TimestampNanosecondType>().values().iter().map(|v| v / 1_000).collect(),
            };
            out.extend(micros.iter().enumerate().map(|(i, m)| {
                let scale = scale.unwrap_or(if m.rem_euclid(1_000_000) == 0 { 0 } else { 6 });
                null_or(i, Value::Str(datetime_text(*m, scale)))
            }));
        }
        t if nested_text::is_nested(t) => {
            for i in 0..n {
                out.push(if array.is_null(i) {
                    Value::Null
                } else {
                    Value::Str(
                        nested_text::value_text(array, i)
                            .map_err(|e| FeError::Internal(format!("column {}: {e}", field.name())))?,
                    )
                });
            }
        }
        _ => {
            let f = ArrayFormatter::try_new(array, &FormatOptions::default())
                .map_err(|e| FeError::Internal(format!("column {}: {e}", field.name())))?;
            out.extend((0..n).map(|i| null_or(i, Value::Str(f.value(i).to_string()))));
        }
    }
    Ok(out)
}

/// The result set of a query.
pub fn output(result: &QueryResult) -> Result<QueryOutput, FeError> {
    let columns: Vec<OutColumn> = result
        .schema
        .fields()
        .iter()
        .zip(&result.headers)
        .map(|(f, h)| {
            // Upstream sends LARGEINT as a string column.
            let t = if f.metadata().contains_key(LARGEINT) { ColType::VarString } else { col_type(f.data_type()) };
            OutColumn::new(h.clone(), t)
        })
        .collect();
    let mut rows = Vec::with_capacity(result.batches.iter().map(|b| b.num_rows()).sum());
    for batch in &result.batches {
        let mut cols = batch
            .columns()
            .iter()
            .zip(result.schema.fields())
            .map(|(a, f)| cells(a.as_ref(), f).map(Vec::into_iter))
            .collect::<Result<Vec<_>, _>>()?;
        for _ in 0..batch.num_rows() {
            rows.push(cols.iter_mut().map(|c| c.next().unwrap_or(Value::Null)).collect());
        }
    }
    Ok(QueryOutput::rows(columns, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_show_their_scale() {
        assert_eq!(datetime_text(0, 0), "1970-01-01 00:00:00");
        assert_eq!(datetime_text(1_500_000, 3), "1970-01-01 00:00:01.500");
        assert_eq!(datetime_text(-1, 6), "1969-12-31 23:59:59.999999");
    }
}
