//! Segment files: one Parquet file per rowset segment, one typed column per table column.
//!
//! | table type          | Parquet                                             |
//! |---------------------|-----------------------------------------------------|
//! | BOOLEAN             | BOOLEAN                                             |
//! | TINYINT/SMALLINT/INT| INT32 (INTEGER 8/16/32, signed)                     |
//! | BIGINT              | INT64                                               |
//! | LARGEINT            | FIXED_LEN_BYTE_ARRAY(16) DECIMAL(38,0)              |
//! | FLOAT / DOUBLE      | FLOAT / DOUBLE                                      |
//! | DECIMAL(p<=18,s)    | INT64 DECIMAL(p,s)                                  |
//! | DECIMAL(p>18,s)     | FIXED_LEN_BYTE_ARRAY(16) DECIMAL(p,s), big-endian   |
//! | DATE                | INT32 DATE                                          |
//! | DATETIME(s)         | INT64 TIMESTAMP(MICROS, not adjusted to UTC)        |
//! | CHAR/VARCHAR/STRING | BYTE_ARRAY STRING (UTF-8)                           |
//! | ARRAY/MAP/STRUCT    | BYTE_ARRAY JSON: the value's stored form (below)    |
//!
//! A complex (ARRAY/MAP/STRUCT, nestable) column is one BYTE_ARRAY column of JSON text,
//! each value in `complex::to_stored`'s exact typed form (arrays as arrays, a map as its
//! `[key, value]` pairs, a struct as its fields in order, integers/days/microseconds as
//! numbers, LARGEINT and decimals as decimal strings), and the file's key-value metadata
//! names its type (`doris_rs.type.<column>` = `ARRAY<INT>`, ...), so a segment stays
//! readable without the table's schema. Why not Parquet's nested LIST/MAP/group: segments
//! are written with the low-level column writer (one leaf per table column), where nesting
//! means computing repetition and definition levels for every leaf of every nesting depth,
//! and reading them back the same way; one leaf per column keeps writing, reading, backup
//! and CCR's file copies the same for every type. Nothing reads these files but this BE
//! (scans answer Arrow, where complex values are real List/Map/Struct arrays), and no
//! statistics of elements were used, so nothing is lost.
//!
//! Nullable columns are OPTIONAL, the others REQUIRED. Files are written uncompressed in
//! one row group. The reader takes the types from the file itself, so a segment can be read
//! without the table's schema.

use std::sync::Arc;

use bytes::Bytes;
use parquet::basic::{LogicalType, Repetition, TimeUnit, Type as Physical};
use parquet::column::reader::ColumnReader;
use parquet::data_type::{
    BoolType, ByteArray, ByteArrayType, DoubleType, FixedLenByteArray, FixedLenByteArrayType, FloatType, Int32Type,
    Int64Type,
};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;

use super::complex;
use super::csv::LoadColumn;
use super::types::{Cell, ColKind};

/// The key-value metadata key naming a complex column's type.
const TYPE_KEY: &str = "doris_rs.type.";

type PResult<T> = Result<T, parquet::errors::ParquetError>;

fn field_type(c: &LoadColumn) -> PResult<Type> {
    let rep = if c.nullable { Repetition::OPTIONAL } else { Repetition::REQUIRED };
    let int = |bits: i8| Some(LogicalType::Integer { bit_width: bits, is_signed: true });
    let b = |p: Physical| Type::primitive_type_builder(&c.name, p).with_repetition(rep);
    let t = match c.kind {
        ColKind::Bool => b(Physical::BOOLEAN),
        ColKind::TinyInt => b(Physical::INT32).with_logical_type(int(8)),
        ColKind::SmallInt => b(Physical::INT32).with_logical_type(int(16)),
        ColKind::Int => b(Physical::INT32).with_logical_type(int(32)),
        ColKind::BigInt => b(Physical::INT64).with_logical_type(int(64)),
        ColKind::LargeInt => b(Physical::FIXED_LEN_BYTE_ARRAY)
            .with_length(16)
            .with_logical_type(Some(LogicalType::Decimal { scale: 0, precision: 38 }))
            .with_precision(38)
            .with_scale(0),
        ColKind::Float => b(Physical::FLOAT),
        ColKind::Double => b(Physical::DOUBLE),
        ColKind::Decimal { precision, scale } => {
            let dec = Some(LogicalType::Decimal { scale: scale as i32, precision: precision as i32 });
            if precision <= 18 {
                b(Physical::INT64).with_logical_type(dec).with_precision(precision as i32).with_scale(scale as i32)
            } else {
                b(Physical::FIXED_LEN_BYTE_ARRAY)
                    .with_length(16)
                    .with_logical_type(dec)
                    .with_precision(precision as i32)
                    .with_scale(scale as i32)
            }
        }
        ColKind::Date => b(Physical::INT32).with_logical_type(Some(LogicalType::Date)),
        ColKind::DateTime { .. } => b(Physical::INT64)
            .with_logical_type(Some(LogicalType::Timestamp { is_adjusted_to_u_t_c: false, unit: TimeUnit::MICROS })),
        ColKind::Str { .. } => b(Physical::BYTE_ARRAY).with_logical_type(Some(LogicalType::String)),
        ColKind::Complex(_) => b(Physical::BYTE_ARRAY).with_logical_type(Some(LogicalType::Json)),
    };
    t.build()
}

fn wide(c: &LoadColumn) -> bool {
    matches!(c.kind, ColKind::LargeInt) || matches!(c.kind, ColKind::Decimal { precision, .. } if precision > 18)
}

/// Write `rows` (table column order) as one segment; the file's bytes.
pub fn write(columns: &[LoadColumn], rows: &[Vec<Cell>]) -> PResult<Vec<u8>> {
    let fields = columns.iter().map(|c| field_type(c).map(Arc::new)).collect::<PResult<Vec<_>>>()?;
    let schema = Arc::new(Type::group_type_builder("doris_rs_segment").with_fields(fields).build()?);
    let types: Vec<KeyValue> = columns
        .iter()
        .filter(|c| matches!(c.kind, ColKind::Complex(_)))
        .map(|c| KeyValue::new(format!("{TYPE_KEY}{}", c.name), c.kind.name()))
        .collect();
    let props = Arc::new(
        WriterProperties::builder()
            .set_created_by("doris-rs".into())
            .set_key_value_metadata((!types.is_empty()).then_some(types))
            .build(),
    );
    let mut out = Vec::new();
    let mut writer = SerializedFileWriter::new(&mut out, schema, props)?;
    let mut rg = writer.next_row_group()?;
    let mut ci = 0;
    while let Some(mut col) = rg.next_column()? {
        let c = &columns[ci];
        let defs: Vec<i16> = rows.iter().map(|r| (r[ci] != Cell::Null) as i16).collect();
        let defs_opt = if c.nullable { Some(defs.as_slice()) } else { None };
        let cells = rows.iter().map(|r| &r[ci]).filter(|v| **v != Cell::Null);
        let bad = |v: &Cell| parquet::errors::ParquetError::General(format!("column {}: unexpected value {v:?}", c.name));
        match c.kind {
            ColKind::Bool => {
                let v = cells.map(|x| if let Cell::Bool(b) = x { Ok(*b) } else { Err(bad(x)) }).collect::<PResult<Vec<_>>>()?;
                col.typed::<BoolType>().write_batch(&v, defs_opt, None)?;
            }
            ColKind::TinyInt | ColKind::SmallInt | ColKind::Int | ColKind::Date => {
                let v = cells
                    .map(|x| match x {
                        Cell::Int(i) => Ok(*i as i32),
                        Cell::Date(d) => Ok(*d),
                        _ => Err(bad(x)),
                    })
                    .collect::<PResult<Vec<_>>>()?;
                col.typed::<Int32Type>().write_batch(&v, defs_opt, None)?;
            }
            ColKind::BigInt | ColKind::DateTime { .. } | ColKind::Decimal { .. } if !wide(c) => {
                let v = cells
                    .map(|x| match x {
                        Cell::Int(i) | Cell::DateTime(i) => Ok(*i),
                        Cell::Decimal(d) => Ok(*d as i64),
                        _ => Err(bad(x)),
                    })
                    .collect::<PResult<Vec<_>>>()?;
                col.typed::<Int64Type>().write_batch(&v, defs_opt, None)?;
            }
            ColKind::Float => {
                let v = cells.map(|x| if let Cell::Float(f) = x { Ok(*f as f32) } else { Err(bad(x)) }).collect::<PResult<Vec<_>>>()?;
                col.typed::<FloatType>().write_batch(&v, defs_opt, None)?;
            }
            ColKind::Double => {
                let v = cells.map(|x| if let Cell::Float(f) = x { Ok(*f) } else { Err(bad(x)) }).collect::<PResult<Vec<_>>>()?;
                col.typed::<DoubleType>().write_batch(&v, defs_opt, None)?;
            }
            ColKind::Str { .. } => {
                let v = cells
                    .map(|x| if let Cell::Str(s) = x { Ok(ByteArray::from(s.as_bytes().to_vec())) } else { Err(bad(x)) })
                    .collect::<PResult<Vec<_>>>()?;
                col.typed::<ByteArrayType>().write_batch(&v, defs_opt, None)?;
            }
            ColKind::Complex(_) => {
                let v = cells
                    .map(|x| match x {
                        Cell::Array(_) | Cell::Map(_) | Cell::Struct(_) => {
                            Ok(ByteArray::from(complex::to_stored(x).to_string().into_bytes()))
                        }
                        _ => Err(bad(x)),
                    })
                    .collect::<PResult<Vec<_>>>()?;
                col.typed::<ByteArrayType>().write_batch(&v, defs_opt, None)?;
            }
            ColKind::LargeInt | ColKind::Decimal { .. } | ColKind::BigInt | ColKind::DateTime { .. } => {
                let v = cells
                    .map(|x| match x {
                        Cell::Large(v) | Cell::Decimal(v) => Ok(FixedLenByteArray::from(v.to_be_bytes().to_vec())),
                        _ => Err(bad(x)),
                    })
                    .collect::<PResult<Vec<_>>>()?;
                col.typed::<FixedLenByteArrayType>().write_batch(&v, defs_opt, None)?;
            }
        }
        col.close()?;
        ci += 1;
    }
    rg.close()?;
    writer.close()?;
    Ok(out)
}

/// A segment read back: its columns (name and kind, from the file) and rows.
#[derive(Debug, Default)]
pub struct Segment {
    pub columns: Vec<(String, ColKind)>,
    pub rows: Vec<Vec<Cell>>,
}

fn kind_of(t: &Type) -> PResult<ColKind> {
    let info = t.get_basic_info();
    let lt = info.logical_type_ref().cloned();
    let unsupported = || parquet::errors::ParquetError::General(format!("column {}: unsupported type", t.name()));
    Ok(match (t.get_physical_type(), lt) {
        (Physical::BOOLEAN, _) => ColKind::Bool,
        (Physical::INT32, Some(LogicalType::Date)) => ColKind::Date,
        (Physical::INT32, Some(LogicalType::Integer { bit_width: 8, .. })) => ColKind::TinyInt,
        (Physical::INT32, Some(LogicalType::Integer { bit_width: 16, .. })) => ColKind::SmallInt,
        (Physical::INT32, _) => ColKind::Int,
        (Physical::INT64, Some(LogicalType::Timestamp { .. })) => ColKind::DateTime { scale: 6 },
        (Physical::INT64 | Physical::FIXED_LEN_BYTE_ARRAY, Some(LogicalType::Decimal { scale, precision })) => {
            if t.get_physical_type() == Physical::FIXED_LEN_BYTE_ARRAY && scale == 0 && precision == 38 {
                ColKind::LargeInt
            } else {
                ColKind::Decimal { precision: precision as u8, scale: scale as u8 }
            }
        }
        (Physical::INT64, _) => ColKind::BigInt,
        (Physical::FLOAT, _) => ColKind::Float,
        (Physical::DOUBLE, _) => ColKind::Double,
        (Physical::BYTE_ARRAY, _) => ColKind::Str { max_len: None },
        _ => return Err(unsupported()),
    })
}

/// Spread `values` (non-null only) over `n` rows by definition levels.
fn spread<T>(n: usize, defs: &[i16], nullable: bool, values: Vec<T>, mut f: impl FnMut(T) -> Cell) -> Vec<Cell> {
    if !nullable {
        return values.into_iter().map(f).collect();
    }
    let mut it = values.into_iter();
    (0..n).map(|i| if defs[i] > 0 { it.next().map(&mut f).unwrap_or(Cell::Null) } else { Cell::Null }).collect()
}

/// Read a whole segment file.
pub fn read(bytes: Bytes) -> PResult<Segment> {
    let reader = SerializedFileReader::new(bytes)?;
    let schema = reader.metadata().file_metadata().schema_descr_ptr();
    let kv = reader.metadata().file_metadata().key_value_metadata().cloned().unwrap_or_default();
    let mut columns = Vec::new();
    for i in 0..schema.num_columns() {
        let c = schema.column(i);
        let key = format!("{TYPE_KEY}{}", c.name());
        let kind = match kv.iter().find(|e| e.key == key).and_then(|e| e.value.as_deref()) {
            Some(t) => ColKind::parse(t)
                .map_err(|e| parquet::errors::ParquetError::General(format!("column {}: {e}", c.name())))?,
            None => kind_of(c.self_type())?,
        };
        columns.push((c.name().to_string(), kind));
    }
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    for g in 0..reader.num_row_groups() {
        let rg = reader.get_row_group(g)?;
        let n = rg.metadata().num_rows() as usize;
        let mut cols: Vec<Vec<Cell>> = Vec::with_capacity(columns.len());
        for (i, (_, kind)) in columns.iter().enumerate() {
            let nullable = schema.column(i).max_def_level() > 0;
            let kind = *kind;
            let mut defs: Vec<i16> = Vec::with_capacity(n);
            let d = if nullable { Some(&mut defs) } else { None };
            let cells = match rg.get_column_reader(i)? {
                ColumnReader::BoolColumnReader(mut r) => {
                    let mut v = Vec::with_capacity(n);
                    r.read_records(n, d, None, &mut v)?;
                    spread(n, &defs, nullable, v, Cell::Bool)
                }
                ColumnReader::Int32ColumnReader(mut r) => {
                    let mut v = Vec::with_capacity(n);
                    r.read_records(n, d, None, &mut v)?;
                    if kind == ColKind::Date {
                        spread(n, &defs, nullable, v, Cell::Date)
                    } else {
                        spread(n, &defs, nullable, v, |x| Cell::Int(x as i64))
                    }
                }
                ColumnReader::Int64ColumnReader(mut r) => {
                    let mut v = Vec::with_capacity(n);
                    r.read_records(n, d, None, &mut v)?;
                    match kind {
                        ColKind::DateTime { .. } => spread(n, &defs, nullable, v, Cell::DateTime),
                        ColKind::Decimal { .. } => spread(n, &defs, nullable, v, |x| Cell::Decimal(x as i128)),
                        _ => spread(n, &defs, nullable, v, Cell::Int),
                    }
                }
                ColumnReader::FloatColumnReader(mut r) => {
                    let mut v = Vec::with_capacity(n);
                    r.read_records(n, d, None, &mut v)?;
                    spread(n, &defs, nullable, v, |x| Cell::Float(x as f64))
                }
                ColumnReader::DoubleColumnReader(mut r) => {
                    let mut v = Vec::with_capacity(n);
                    r.read_records(n, d, None, &mut v)?;
                    spread(n, &defs, nullable, v, Cell::Float)
                }
                ColumnReader::ByteArrayColumnReader(mut r) => {
                    let mut v = Vec::with_capacity(n);
                    r.read_records(n, d, None, &mut v)?;
                    if let ColKind::Complex(_) = kind {
                        let mut failed = None;
                        let cells = spread(n, &defs, nullable, v, |x: ByteArray| {
                            let parsed = serde_json::from_slice(x.data())
                                .map_err(|e| e.to_string())
                                .and_then(|j| complex::from_stored(&kind, &j));
                            parsed.unwrap_or_else(|e| {
                                failed.get_or_insert(e);
                                Cell::Null
                            })
                        });
                        if let Some(e) = failed {
                            let name = &columns[i].0;
                            return Err(parquet::errors::ParquetError::General(format!("column {name}: {e}")));
                        }
                        cells
                    } else {
                        spread(n, &defs, nullable, v, |x: ByteArray| Cell::Str(String::from_utf8_lossy(x.data()).into_owned()))
                    }
                }
                ColumnReader::FixedLenByteArrayColumnReader(mut r) => {
                    let mut v = Vec::with_capacity(n);
                    r.read_records(n, d, None, &mut v)?;
                    let large = kind == ColKind::LargeInt;
                    spread(n, &defs, nullable, v, |x: FixedLenByteArray| {
                        let mut b = [0u8; 16];
                        let data = x.data();
                        // Sign-extend shorter big-endian values.
                        let fill = if data.first().is_some_and(|f| f & 0x80 != 0) { 0xff } else { 0 };
                        b[..16 - data.len().min(16)].fill(fill);
                        b[16 - data.len().min(16)..].copy_from_slice(&data[data.len().saturating_sub(16)..]);
                        let v = i128::from_be_bytes(b);
                        if large {
                            Cell::Large(v)
                        } else {
                            Cell::Decimal(v)
                        }
                    })
                }
                ColumnReader::Int96ColumnReader(_) => {
                    return Err(parquet::errors::ParquetError::General("INT96 columns are not supported".into()))
                }
            };
            cols.push(cells);
        }
        let base = rows.len();
        rows.extend((0..n).map(|_| Vec::with_capacity(columns.len())));
        for col in cols {
            for (j, c) in col.into_iter().enumerate() {
                rows[base + j].push(c);
            }
        }
    }
    Ok(Segment { columns, rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complex_columns_round_trip_with_their_types() {
        let col = |name: &str, t: &str, nullable| LoadColumn {
            name: name.into(),
            kind: ColKind::parse(t).unwrap(),
            nullable,
            default_value: None,
        };
        let columns = vec![
            col("k", "int", false),
            col("a", "array<int>", true),
            col("m", "map<varchar(8),array<decimal(10,2)>>", true),
            col("s", "struct<x:largeint,y:datetime(3),z:string>", false),
        ];
        let rows: Vec<Vec<Cell>> = [
            ("1", "[1, null, 3]", r#"{"a":[1.5, null], "b":[]}"#, r#"{"x":170141183460469231731687303715884105727, "y":"2024-01-02 03:04:05.678", "z":"q\"t"}"#),
            ("2", "[]", "{}", "{null, null, null}"),
        ]
        .iter()
        .map(|(k, a, m, s)| {
            vec![
                columns[0].kind.parse_text(k).unwrap(),
                columns[1].kind.parse_text(a).unwrap(),
                columns[2].kind.parse_text(m).unwrap(),
                columns[3].kind.parse_text(s).unwrap(),
            ]
        })
        .chain([vec![Cell::Int(3), Cell::Null, Cell::Null, Cell::Struct(vec![Cell::Null, Cell::Null, Cell::Null])]])
        .collect();
        assert_eq!(rows[0][2], Cell::Map(vec![
            (Cell::Str("a".into()), Cell::Array(vec![Cell::Decimal(150), Cell::Null])),
            (Cell::Str("b".into()), Cell::Array(vec![])),
        ]));
        let bytes = write(&columns, &rows).unwrap();
        let seg = read(Bytes::from(bytes)).unwrap();
        let kinds: Vec<(String, ColKind)> = columns.iter().map(|c| (c.name.clone(), c.kind)).collect();
        assert_eq!(seg.columns, kinds);
        assert_eq!(seg.rows, rows);
    }
}
