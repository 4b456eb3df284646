//! Scans answered as Arrow: the FE's query engine (DataFusion) reads a tablet's rows as
//! one Arrow IPC stream instead of JSON, so values keep their types and nothing is parsed
//! twice.
//!
//! | column kind         | Arrow                          |
//! |---------------------|--------------------------------|
//! | BOOLEAN             | Boolean                        |
//! | TINYINT .. BIGINT   | Int8, Int16, Int32, Int64      |
//! | LARGEINT            | Decimal128(38, 0)              |
//! | FLOAT / DOUBLE      | Float32 / Float64              |
//! | DECIMAL(p,s)        | Decimal128(p, s)               |
//! | DATE                | Date32                         |
//! | DATETIME(s)         | Timestamp(Microsecond, none)   |
//! | CHAR/VARCHAR/STRING | Utf8                           |
//! | ARRAY<T>            | List (item field `item`)       |
//! | MAP<K, V>           | Map (`entries`: `key`, `value`)|
//! | STRUCT<f: T, ...>   | Struct (the fields by name)    |
//!
//! Elements, values and fields are nullable; a map's keys are not (loads refuse NULL keys).
//! Every field is nullable: a column added by a light schema change reads NULL in older
//! segments. The FE derives the same schema from its catalog (`fe/src/query/schema.rs`).

use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder, Float64Builder, Int16Builder, Int32Builder,
    Int64Builder, Int8Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, ListArray, MapArray, RecordBatch, RecordBatchOptions, StructArray};
use arrow_buffer::{NullBuffer, OffsetBuffer};
use arrow_schema::{ArrowError, DataType, Field, Fields, Schema, TimeUnit};

use super::complex::Nested;
use super::types::{Cell, ColKind};

/// Rows per record batch: small enough to stream, large enough to amortise headers.
const BATCH_ROWS: usize = 8192;

pub fn arrow_type(kind: &ColKind) -> DataType {
    match kind {
        ColKind::Bool => DataType::Boolean,
        ColKind::TinyInt => DataType::Int8,
        ColKind::SmallInt => DataType::Int16,
        ColKind::Int => DataType::Int32,
        ColKind::BigInt => DataType::Int64,
        ColKind::LargeInt => DataType::Decimal128(38, 0),
        ColKind::Float => DataType::Float32,
        ColKind::Double => DataType::Float64,
        ColKind::Decimal { precision, scale } => DataType::Decimal128(*precision, *scale as i8),
        ColKind::Date => DataType::Date32,
        ColKind::DateTime { .. } => DataType::Timestamp(TimeUnit::Microsecond, None),
        ColKind::Str { .. } => DataType::Utf8,
        ColKind::Complex(Nested::Array(e)) => DataType::List(Arc::new(Field::new("item", arrow_type(e), true))),
        ColKind::Complex(Nested::Map(k, v)) => {
            DataType::Map(Arc::new(Field::new("entries", DataType::Struct(map_entries(k, v)), false)), false)
        }
        ColKind::Complex(Nested::Struct(fields)) => DataType::Struct(struct_fields(fields)),
    }
}

fn map_entries(k: &ColKind, v: &ColKind) -> Fields {
    Fields::from(vec![Field::new("key", arrow_type(k), false), Field::new("value", arrow_type(v), true)])
}

fn struct_fields(fields: &[(String, ColKind)]) -> Fields {
    fields.iter().map(|(n, k)| Field::new(n, arrow_type(k), true)).collect()
}

fn mismatch(name: &str, kind: &ColKind, cell: &Cell) -> ArrowError {
    ArrowError::InvalidArgumentError(format!("column {name} ({}): a segment holds {cell:?}", kind.name()))
}

/// One column of `rows[..][col]` as an Arrow array of `kind`'s type.
fn column(name: &str, kind: &ColKind, rows: &[Vec<Cell>], col: usize) -> Result<ArrayRef, ArrowError> {
    let cells: Vec<&Cell> = rows.iter().map(|r| &r[col]).collect();
    array(name, kind, &cells)
}

/// `cells` as an Arrow array of `kind`'s type.
fn array(name: &str, kind: &ColKind, cells: &[&Cell]) -> Result<ArrayRef, ArrowError> {
    let n = cells.len();
    macro_rules! build {
        ($builder:expr, $($pat:pat => $val:expr),+) => {{
            let mut b = $builder;
            for c in cells.iter().copied() {
                match c {
                    Cell::Null => b.append_null(),
                    $($pat => b.append_value($val),)+
                    other => return Err(mismatch(name, kind, other)),
                }
            }
            Arc::new(b.finish()) as ArrayRef
        }};
    }
    // Values were range-checked when loaded, so the narrowing casts below are exact.
    Ok(match kind {
        ColKind::Bool => build!(BooleanBuilder::with_capacity(n), Cell::Bool(v) => *v, Cell::Int(v) => *v != 0),
        ColKind::TinyInt => build!(Int8Builder::with_capacity(n), Cell::Int(v) => *v as i8),
        ColKind::SmallInt => build!(Int16Builder::with_capacity(n), Cell::Int(v) => *v as i16),
        ColKind::Int => build!(Int32Builder::with_capacity(n), Cell::Int(v) => *v as i32),
        ColKind::BigInt => build!(Int64Builder::with_capacity(n), Cell::Int(v) => *v),
        ColKind::LargeInt => build!(
            Decimal128Builder::with_capacity(n).with_data_type(arrow_type(kind)),
            Cell::Large(v) => *v,
            Cell::Int(v) => *v as i128
        ),
        ColKind::Float => build!(Float32Builder::with_capacity(n), Cell::Float(v) => *v as f32),
        ColKind::Double => build!(Float64Builder::with_capacity(n), Cell::Float(v) => *v),
        ColKind::Decimal { .. } => {
            build!(Decimal128Builder::with_capacity(n).with_data_type(arrow_type(kind)), Cell::Decimal(v) => *v)
        }
        ColKind::Date => build!(Date32Builder::with_capacity(n), Cell::Date(v) => *v),
        ColKind::DateTime { .. } => build!(TimestampMicrosecondBuilder::with_capacity(n), Cell::DateTime(v) => *v),
        ColKind::Str { .. } => build!(StringBuilder::with_capacity(n, n * 16), Cell::Str(v) => v.as_str()),
        ColKind::Complex(nested) => complex_array(name, kind, nested, cells)?,
    })
}

/// A NULL element for the children of a NULL struct.
static NULL: Cell = Cell::Null;

fn complex_array(name: &str, kind: &ColKind, nested: &Nested, cells: &[&Cell]) -> Result<ArrayRef, ArrowError> {
    let valid = NullBuffer::from(cells.iter().map(|c| **c != Cell::Null).collect::<Vec<bool>>());
    let nulls = (valid.null_count() > 0).then_some(valid);
    let offsets_of = |lens: Vec<usize>| OffsetBuffer::<i32>::from_lengths(lens);
    Ok(match nested {
        Nested::Array(e) => {
            let mut items: Vec<&Cell> = Vec::new();
            let mut lens = Vec::with_capacity(cells.len());
            for c in cells {
                match c {
                    Cell::Array(v) => items.extend(v.iter()),
                    Cell::Null => {}
                    other => return Err(mismatch(name, kind, other)),
                }
                lens.push(if let Cell::Array(v) = c { v.len() } else { 0 });
            }
            let child = array(name, e, &items)?;
            let field = Arc::new(Field::new("item", arrow_type(e), true));
            Arc::new(ListArray::try_new(field, offsets_of(lens), child, nulls)?) as ArrayRef
        }
        Nested::Map(k, v) => {
            let (mut keys, mut values): (Vec<&Cell>, Vec<&Cell>) = (Vec::new(), Vec::new());
            let mut lens = Vec::with_capacity(cells.len());
            for c in cells {
                match c {
                    Cell::Map(entries) => {
                        keys.extend(entries.iter().map(|(a, _)| a));
                        values.extend(entries.iter().map(|(_, b)| b));
                        lens.push(entries.len());
                    }
                    Cell::Null => lens.push(0),
                    other => return Err(mismatch(name, kind, other)),
                }
            }
            let entries = StructArray::try_new(map_entries(k, v), vec![array(name, k, &keys)?, array(name, v, &values)?], None)?;
            let field = Arc::new(Field::new("entries", DataType::Struct(map_entries(k, v)), false));
            Arc::new(MapArray::try_new(field, offsets_of(lens), entries, nulls, false)?) as ArrayRef
        }
        Nested::Struct(fields) => {
            let mut children = Vec::with_capacity(fields.len());
            for (i, (_, fk)) in fields.iter().enumerate() {
                let col: Vec<&Cell> = cells
                    .iter()
                    .map(|c| match c {
                        Cell::Struct(v) if v.len() == fields.len() => Ok(&v[i]),
                        Cell::Null => Ok(&NULL),
                        other => Err(mismatch(name, kind, other)),
                    })
                    .collect::<Result<_, _>>()?;
                children.push(array(name, fk, &col)?);
            }
            if fields.is_empty() {
                return Err(ArrowError::InvalidArgumentError(format!("column {name}: a struct without fields")));
            }
            Arc::new(StructArray::try_new(struct_fields(fields), children, nulls)?) as ArrayRef
        }
    })
}

pub fn schema(columns: &[(String, ColKind)]) -> Schema {
    Schema::new(columns.iter().map(|(n, k)| Field::new(n, arrow_type(k), true)).collect::<Vec<_>>())
}

/// `rows` (cells in `columns` order) as an Arrow IPC stream.
pub fn encode(columns: &[(String, ColKind)], rows: &[Vec<Cell>]) -> Result<Vec<u8>, ArrowError> {
    let schema = Arc::new(schema(columns));
    let mut out = Vec::new();
    let mut w = arrow_ipc::writer::StreamWriter::try_new(&mut out, &schema)?;
    for chunk in rows.chunks(BATCH_ROWS) {
        let arrays = columns
            .iter()
            .enumerate()
            .map(|(i, (name, kind))| column(name, kind, chunk, i))
            .collect::<Result<Vec<_>, _>>()?;
        let opts = RecordBatchOptions::new().with_row_count(Some(chunk.len()));
        w.write(&RecordBatch::try_new_with_options(schema.clone(), arrays, &opts)?)?;
    }
    w.finish()?;
    drop(w);
    Ok(out)
}

/// `n` rows of no columns: what a count (`SELECT COUNT(*)`, projection empty) reads.
pub fn encode_count(n: usize) -> Result<Vec<u8>, ArrowError> {
    let schema = Arc::new(Schema::empty());
    let mut out = Vec::new();
    let mut w = arrow_ipc::writer::StreamWriter::try_new(&mut out, &schema)?;
    let opts = RecordBatchOptions::new().with_row_count(Some(n));
    w.write(&RecordBatch::try_new_with_options(schema.clone(), vec![], &opts)?)?;
    w.finish()?;
    drop(w);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::Array;
    use arrow_array::types::{Decimal128Type, Int32Type, TimestampMicrosecondType};

    #[test]
    fn rows_round_trip_through_ipc() {
        let columns = vec![
            ("k".to_string(), ColKind::Int),
            ("d".to_string(), ColKind::Decimal { precision: 10, scale: 2 }),
            ("t".to_string(), ColKind::DateTime { scale: 3 }),
            ("s".to_string(), ColKind::Str { max_len: None }),
        ];
        let rows = vec![
            vec![Cell::Int(1), Cell::Decimal(150), Cell::DateTime(1_000_000), Cell::Str("a".into())],
            vec![Cell::Int(-2), Cell::Null, Cell::Null, Cell::Str("b".into())],
        ];
        let bytes = encode(&columns, &rows).unwrap();
        let reader = arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None).unwrap();
        let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
        assert_eq!(batches.len(), 1);
        let b = &batches[0];
        assert_eq!(b.num_rows(), 2);
        assert_eq!(b.column(0).as_primitive::<Int32Type>().values(), &[1, -2]);
        let d = b.column(1).as_primitive::<Decimal128Type>();
        assert_eq!((d.value(0), d.is_null(1), d.precision(), d.scale()), (150, true, 10, 2));
        assert_eq!(b.column(2).as_primitive::<TimestampMicrosecondType>().value(0), 1_000_000);
        assert_eq!(b.column(3).as_string::<i32>().value(1), "b");
    }

    #[test]
    fn complex_cells_are_list_map_and_struct_arrays() {
        let kind = |t: &str| ColKind::parse(t).unwrap();
        let columns = vec![
            ("a".to_string(), kind("array<int>")),
            ("m".to_string(), kind("map<string,array<int>>")),
            ("s".to_string(), kind("struct<x:int,y:string>")),
        ];
        let rows: Vec<Vec<Cell>> = [
            ("[1, null, 3]", r#"{"k":[1], "j":null}"#, r#"{1, "a"}"#),
            ("[]", "{}", r#"{"y":"b"}"#),
        ]
        .iter()
        .map(|(a, m, s)| vec![columns[0].1.parse_text(a).unwrap(), columns[1].1.parse_text(m).unwrap(), columns[2].1.parse_text(s).unwrap()])
        .chain([vec![Cell::Null, Cell::Null, Cell::Null]])
        .collect();
        let bytes = encode(&columns, &rows).unwrap();
        let reader = arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None).unwrap();
        let b: RecordBatch = reader.map(Result::unwrap).next().unwrap();
        assert_eq!(b.schema().as_ref(), &schema(&columns));

        let a = b.column(0).as_list::<i32>();
        assert_eq!((a.value_length(0), a.value_length(1), a.is_null(2)), (3, 0, true));
        let first = a.value(0);
        let first = first.as_primitive::<Int32Type>();
        assert_eq!((first.value(0), first.is_null(1), first.value(2)), (1, true, 3));

        let m = b.column(1).as_map();
        assert_eq!((m.value_length(0), m.value_length(1), m.is_null(2)), (2, 0, true));
        assert_eq!(m.keys().as_string::<i32>().value(1), "j");
        assert!(m.values().as_list::<i32>().is_null(1));

        let s = b.column(2).as_struct();
        assert_eq!(s.column_by_name("x").unwrap().as_primitive::<Int32Type>().value(0), 1);
        assert!(s.column_by_name("x").unwrap().is_null(1));
        assert_eq!(s.column_by_name("y").unwrap().as_string::<i32>().value(1), "b");
        assert!(s.is_null(2));
    }

    #[test]
    fn a_count_is_rows_without_columns() {
        let bytes = encode_count(3).unwrap();
        let reader = arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None).unwrap();
        let rows: usize = reader.map(|b| b.unwrap().num_rows()).sum();
        assert_eq!(rows, 3);
    }

    #[test]
    fn a_cell_of_another_kind_is_refused() {
        let columns = vec![("k".to_string(), ColKind::Int)];
        let err = encode(&columns, &[vec![Cell::Str("x".into())]]).unwrap_err();
        assert!(err.to_string().contains("column k (INT)"), "{err}");
    }
}
