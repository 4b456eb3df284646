//! Column types, key models and aggregation kinds: parsed from SQL text, rendered back as
//! Doris DDL, and sent to BEs as thrift.

use doris_thrift::descriptors::TColumn;
use doris_thrift::types::{TAggregationType, TColumnType, TKeysType, TPrimitiveType};
use serde::{Deserialize, Serialize};

/// Upstream's STRING length limit.
pub const MAX_STRING_LENGTH: i32 = 2_147_483_643;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DataType {
    Boolean,
    TinyInt,
    SmallInt,
    Int,
    BigInt,
    LargeInt,
    Float,
    Double,
    Decimal { precision: u8, scale: u8 },
    Date,
    DateTime { scale: u8 },
    Char(u32),
    Varchar(u32),
    String,
    Json,
    /// `ARRAY<T>`; elements nullable.
    Array(Box<DataType>),
    /// `MAP<K, V>`; values nullable.
    Map(Box<DataType>, Box<DataType>),
    /// `STRUCT<name: T, ...>`: field names as declared, fields nullable.
    Struct(Vec<(String, DataType)>),
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{0}")]
pub struct TypeError(pub String);

impl DataType {
    /// Parse a SQL type as written in CREATE TABLE (`varchar(32)`, `DECIMAL(10, 2)`, `int(11)`).
    pub fn parse(text: &str) -> Result<DataType, TypeError> {
        if is_nested(text) {
            let mut rest = text.trim();
            let t = parse_nested(&mut rest).map_err(|e| TypeError(format!("bad type `{text}`: {e}")))?;
            if !rest.trim().is_empty() {
                return Err(TypeError(format!("bad type `{text}`: trailing `{rest}`")));
            }
            return Ok(t);
        }
        let t = text.trim().to_ascii_lowercase();
        let (name, args) = match t.find('(') {
            Some(i) => {
                let close = t.rfind(')').filter(|&j| j > i).ok_or_else(|| TypeError(format!("bad type `{text}`")))?;
                let args: Vec<String> = t[i + 1..close].split(',').map(|s| s.trim().to_string()).collect();
                (t[..i].trim().to_string(), args)
            }
            None => (t.split_whitespace().collect::<Vec<_>>().join(" "), Vec::new()),
        };
        let num = |i: usize| -> Result<Option<u32>, TypeError> {
            match args.get(i) {
                None => Ok(None),
                Some(a) => {
                    a.parse::<u32>().map(Some).map_err(|_| TypeError(format!("bad type argument `{a}` in `{text}`")))
                }
            }
        };
        let name = name.strip_suffix(" unsigned").unwrap_or(&name).to_string();
        Ok(match name.as_str() {
            "boolean" | "bool" => DataType::Boolean,
            "tinyint" => DataType::TinyInt,
            "smallint" => DataType::SmallInt,
            "int" | "integer" => DataType::Int,
            "bigint" => DataType::BigInt,
            "largeint" => DataType::LargeInt,
            "float" => DataType::Float,
            "double" => DataType::Double,
            "decimal" | "decimalv3" | "numeric" => {
                let precision = num(0)?.unwrap_or(9);
                let scale = num(1)?.unwrap_or(0);
                if !(1..=38).contains(&precision) || scale > precision {
                    return Err(TypeError(format!(
                        "Invalid decimal type `{text}`: precision must be in [1, 38] and scale in [0, precision]"
                    )));
                }
                DataType::Decimal { precision: precision as u8, scale: scale as u8 }
            }
            "date" | "datev2" => DataType::Date,
            "datetime" | "datetimev2" => {
                let scale = num(0)?.unwrap_or(0);
                if scale > 6 {
                    return Err(TypeError(format!(
                        "Scale of datetime must between 0 and 6. Scale was set to: {scale}"
                    )));
                }
                DataType::DateTime { scale: scale as u8 }
            }
            "char" => {
                let len = num(0)?.unwrap_or(1);
                if !(1..=255).contains(&len) {
                    return Err(TypeError(format!("Char size must between 1 and 255. Size was set to: {len}")));
                }
                DataType::Char(len)
            }
            "varchar" => {
                let len = num(0)?.unwrap_or(65533);
                if !(1..=65533).contains(&len) {
                    return Err(TypeError(format!("Varchar size must between 1 and 65533. Size was set to: {len}")));
                }
                DataType::Varchar(len)
            }
            "string" | "text" => DataType::String,
            "json" | "jsonb" => DataType::Json,
            _ => return Err(TypeError(format!("Unsupported data type: {text}"))),
        })
    }

    /// As SHOW CREATE TABLE prints it.
    pub fn to_sql(&self) -> String {
        match self {
            DataType::Boolean => "boolean".into(),
            DataType::TinyInt => "tinyint".into(),
            DataType::SmallInt => "smallint".into(),
            DataType::Int => "int".into(),
            DataType::BigInt => "bigint".into(),
            DataType::LargeInt => "largeint".into(),
            DataType::Float => "float".into(),
            DataType::Double => "double".into(),
            DataType::Decimal { precision, scale } => format!("decimal({precision},{scale})"),
            DataType::Date => "date".into(),
            DataType::DateTime { scale: 0 } => "datetime".into(),
            DataType::DateTime { scale } => format!("datetime({scale})"),
            DataType::Char(n) => format!("char({n})"),
            DataType::Varchar(n) => format!("varchar({n})"),
            DataType::String => "text".into(),
            DataType::Json => "json".into(),
            DataType::Array(e) => format!("array<{}>", e.to_sql()),
            DataType::Map(k, v) => format!("map<{},{}>", k.to_sql(), v.to_sql()),
            DataType::Struct(fields) => {
                let f: Vec<String> = fields.iter().map(|(n, t)| format!("{n}:{}", t.to_sql())).collect();
                format!("struct<{}>", f.join(","))
            }
        }
    }

    /// As DESC prints it (upstream's `Type.toString()`): type names upper-case, struct
    /// field names as declared (`ARRAY<INT>`, `STRUCT<a:VARCHAR(8)>`).
    pub fn to_upper_sql(&self) -> String {
        match self {
            DataType::Array(e) => format!("ARRAY<{}>", e.to_upper_sql()),
            DataType::Map(k, v) => format!("MAP<{},{}>", k.to_upper_sql(), v.to_upper_sql()),
            DataType::Struct(fields) => {
                let f: Vec<String> = fields.iter().map(|(n, t)| format!("{n}:{}", t.to_upper_sql())).collect();
                format!("STRUCT<{}>", f.join(","))
            }
            _ => self.to_sql().to_ascii_uppercase(),
        }
    }

    /// ARRAY, MAP or STRUCT.
    pub fn is_complex(&self) -> bool {
        matches!(self, DataType::Array(_) | DataType::Map(..) | DataType::Struct(_))
    }

    /// Why a complex type may not be a key, partition or distribution column or take an
    /// aggregation, in upstream's words; None for the other types. `what`: "key",
    /// "partition", "distribution".
    pub fn complex_refusal(&self, what: &str, column: &str) -> Option<String> {
        let word = match self {
            DataType::Array(_) => "Array",
            DataType::Map(..) => "Map",
            DataType::Struct(_) => "Struct",
            _ => return None,
        };
        Some(match what {
            "key" => format!("{word} can only be used in the non-key column of the duplicate table at present."),
            "partition" => format!("Complex type column can't be partition column: {}", self.to_upper_sql()),
            _ => format!("{word} Type should not be used in distribution column[{column}]."),
        })
    }

    /// Upstream's children columns of a complex column (`TColumn.children_column`):
    /// ARRAY `item`; MAP `key` and `value`; STRUCT its fields. Each inherits the parent's
    /// aggregation type and is nullable (a map's key too, as upstream's default).
    pub fn thrift_children(&self, aggregation: Option<TAggregationType>) -> Option<Vec<Box<TColumn>>> {
        let child = |name: &str, t: &DataType| {
            Box::new(TColumn {
                column_name: name.to_string(),
                column_type: t.to_thrift(),
                aggregation_type: aggregation,
                is_key: None,
                is_allow_null: Some(true),
                default_value: None,
                is_bloom_filter_column: None,
                visible: Some(true),
                children_column: t.thrift_children(aggregation),
                col_unique_id: None,
                is_auto_increment: None,
            })
        };
        match self {
            DataType::Array(e) => Some(vec![child("item", e)]),
            DataType::Map(k, v) => Some(vec![child("key", k), child("value", v)]),
            DataType::Struct(fields) => Some(fields.iter().map(|(n, t)| child(n, t)).collect()),
            _ => None,
        }
    }

    /// The name used in partition descriptions (`types: [INT]`).
    pub fn upper_name(&self) -> &'static str {
        match self {
            DataType::Boolean => "BOOLEAN",
            DataType::TinyInt => "TINYINT",
            DataType::SmallInt => "SMALLINT",
            DataType::Int => "INT",
            DataType::BigInt => "BIGINT",
            DataType::LargeInt => "LARGEINT",
            DataType::Float => "FLOAT",
            DataType::Double => "DOUBLE",
            DataType::Decimal { .. } => "DECIMALV3",
            DataType::Date => "DATEV2",
            DataType::DateTime { .. } => "DATETIMEV2",
            DataType::Char(_) => "CHAR",
            DataType::Varchar(_) => "VARCHAR",
            DataType::String => "STRING",
            DataType::Json => "JSON",
            DataType::Array(_) => "ARRAY",
            DataType::Map(..) => "MAP",
            DataType::Struct(_) => "STRUCT",
        }
    }

    pub fn to_thrift(&self) -> TColumnType {
        let (t, len, precision, scale) = match self {
            DataType::Boolean => (TPrimitiveType::BOOLEAN, None, None, None),
            DataType::TinyInt => (TPrimitiveType::TINYINT, None, None, None),
            DataType::SmallInt => (TPrimitiveType::SMALLINT, None, None, None),
            DataType::Int => (TPrimitiveType::INT, None, None, None),
            DataType::BigInt => (TPrimitiveType::BIGINT, None, None, None),
            DataType::LargeInt => (TPrimitiveType::LARGEINT, None, None, None),
            DataType::Float => (TPrimitiveType::FLOAT, None, None, None),
            DataType::Double => (TPrimitiveType::DOUBLE, None, None, None),
            DataType::Decimal { precision, scale } => {
                let t = match precision {
                    0..=9 => TPrimitiveType::DECIMAL32,
                    10..=18 => TPrimitiveType::DECIMAL64,
                    _ => TPrimitiveType::DECIMAL128I,
                };
                (t, None, Some(*precision as i32), Some(*scale as i32))
            }
            DataType::Date => (TPrimitiveType::DATEV2, None, None, None),
            DataType::DateTime { scale } => (TPrimitiveType::DATETIMEV2, None, None, Some(*scale as i32)),
            DataType::Char(n) => (TPrimitiveType::CHAR, Some(*n as i32), None, None),
            DataType::Varchar(n) => (TPrimitiveType::VARCHAR, Some(*n as i32), None, None),
            DataType::String => (TPrimitiveType::STRING, Some(MAX_STRING_LENGTH), None, None),
            DataType::Json => (TPrimitiveType::JSONB, Some(MAX_STRING_LENGTH), None, None),
            DataType::Array(_) => (TPrimitiveType::ARRAY, None, None, None),
            DataType::Map(..) => (TPrimitiveType::MAP, None, None, None),
            DataType::Struct(_) => (TPrimitiveType::STRUCT, None, None, None),
        };
        TColumnType { type_: t, len, index_len: None, precision, scale, variant_max_subcolumns_count: None }
    }

    pub fn is_string_like(&self) -> bool {
        matches!(self, DataType::Char(_) | DataType::Varchar(_) | DataType::String | DataType::Json)
    }

    /// Whether the type may be a partition column.
    pub fn partitionable(&self) -> bool {
        !matches!(
            self,
            DataType::Float | DataType::Double | DataType::String | DataType::Json | DataType::Decimal { .. }
        ) && !self.is_complex()
    }

    /// The smallest value, the implicit lower bound of the first range partition.
    pub fn min_value(&self) -> String {
        match self {
            DataType::TinyInt => i8::MIN.to_string(),
            DataType::SmallInt => i16::MIN.to_string(),
            DataType::Int => i32::MIN.to_string(),
            DataType::BigInt => i64::MIN.to_string(),
            DataType::LargeInt => i128::MIN.to_string(),
            DataType::Date => "0000-01-01".into(),
            DataType::DateTime { .. } => "0000-01-01 00:00:00".into(),
            DataType::Boolean => "false".into(),
            _ => String::new(),
        }
    }

    /// The largest value; what `MAXVALUE` stands for.
    pub fn max_value(&self) -> String {
        match self {
            DataType::TinyInt => i8::MAX.to_string(),
            DataType::SmallInt => i16::MAX.to_string(),
            DataType::Int => i32::MAX.to_string(),
            DataType::BigInt => i64::MAX.to_string(),
            DataType::LargeInt => i128::MAX.to_string(),
            DataType::Date => "9999-12-31".into(),
            DataType::DateTime { .. } => "9999-12-31 23:59:59".into(),
            DataType::Boolean => "true".into(),
            _ => "\u{10FFFF}".into(),
        }
    }

    /// Check a literal fits the type; the normalised text.
    pub fn check_literal(&self, v: &str) -> Result<String, TypeError> {
        let bad = || TypeError(format!("Invalid value `{v}` for type {}", self.to_sql()));
        match self {
            DataType::TinyInt => v.trim().parse::<i8>().map(|x| x.to_string()).map_err(|_| bad()),
            DataType::SmallInt => v.trim().parse::<i16>().map(|x| x.to_string()).map_err(|_| bad()),
            DataType::Int => v.trim().parse::<i32>().map(|x| x.to_string()).map_err(|_| bad()),
            DataType::BigInt => v.trim().parse::<i64>().map(|x| x.to_string()).map_err(|_| bad()),
            DataType::LargeInt => v.trim().parse::<i128>().map(|x| x.to_string()).map_err(|_| bad()),
            DataType::Date => chrono::NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d")
                .map(|d| d.format("%Y-%m-%d").to_string())
                .map_err(|_| bad()),
            DataType::DateTime { .. } => {
                let s = v.trim();
                chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
                    .or_else(|_| {
                        chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map(|d| d.and_hms_opt(0, 0, 0).unwrap())
                    })
                    .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
                    .map_err(|_| bad())
            }
            DataType::Boolean => match v.trim().to_ascii_lowercase().as_str() {
                "true" | "1" => Ok("true".into()),
                "false" | "0" => Ok("false".into()),
                _ => Err(bad()),
            },
            _ => Ok(v.to_string()),
        }
    }

    /// Order two checked literals of this type.
    pub fn compare(&self, a: &str, b: &str) -> std::cmp::Ordering {
        match self {
            DataType::TinyInt | DataType::SmallInt | DataType::Int | DataType::BigInt | DataType::LargeInt => {
                match (a.parse::<i128>(), b.parse::<i128>()) {
                    (Ok(x), Ok(y)) => x.cmp(&y),
                    _ => a.cmp(b),
                }
            }
            // ISO dates and datetimes, booleans as false < true, strings bytewise.
            _ => a.cmp(b),
        }
    }
}

/// Whether `text` is `array<...>`, `map<...>` or `struct<...>`.
fn is_nested(text: &str) -> bool {
    let t = text.trim_start().to_ascii_lowercase();
    ["array", "map", "struct"].iter().any(|w| t.strip_prefix(w).is_some_and(|r| r.trim_start().starts_with('<')))
}

/// One type at the start of `rest` (nested or not), consuming it.
fn parse_nested(rest: &mut &str) -> Result<DataType, String> {
    fn eat(rest: &mut &str, c: char) -> Result<(), String> {
        *rest = rest.trim_start();
        match rest.strip_prefix(c) {
            Some(r) => {
                *rest = r;
                Ok(())
            }
            None => Err(format!("`{c}` expected before `{rest}`")),
        }
    }
    fn word<'a>(rest: &mut &'a str) -> &'a str {
        let t = rest.trim_start();
        let end = t.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(t.len());
        *rest = &t[end..];
        &t[..end]
    }
    let start = rest.trim_start();
    let w = word(rest);
    match w.to_ascii_lowercase().as_str() {
        "array" => {
            eat(rest, '<')?;
            let e = parse_nested(rest)?;
            eat(rest, '>')?;
            Ok(DataType::Array(Box::new(e)))
        }
        "map" => {
            eat(rest, '<')?;
            let k = parse_nested(rest)?;
            eat(rest, ',')?;
            let v = parse_nested(rest)?;
            eat(rest, '>')?;
            Ok(DataType::Map(Box::new(k), Box::new(v)))
        }
        "struct" => {
            eat(rest, '<')?;
            let mut fields: Vec<(String, DataType)> = Vec::new();
            loop {
                *rest = rest.trim_start();
                let name = match rest.strip_prefix('`') {
                    Some(r) => {
                        let end = r.find('`').ok_or("unclosed `")?;
                        *rest = &r[end + 1..];
                        r[..end].to_string()
                    }
                    None => word(rest).to_string(),
                };
                if name.is_empty() {
                    return Err(format!("a field name expected before `{rest}`"));
                }
                if fields.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
                    return Err(format!("Duplicate field name {name} in struct"));
                }
                if rest.trim_start().starts_with(':') {
                    eat(rest, ':')?;
                }
                fields.push((name, parse_nested(rest)?));
                *rest = rest.trim_start();
                if rest.starts_with(',') {
                    eat(rest, ',')?;
                    continue;
                }
                eat(rest, '>')?;
                break;
            }
            Ok(DataType::Struct(fields))
        }
        "" => Err(format!("a type expected before `{start}`")),
        _ => {
            // A scalar with its arguments: up to the `,` or `>` ending it outside `(...)`.
            let mut depth = 0;
            let end = start
                .char_indices()
                .find(|&(_, c)| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        ',' | '>' if depth == 0 => return true,
                        _ => {}
                    }
                    false
                })
                .map(|(i, _)| i)
                .unwrap_or(start.len());
            *rest = &start[end..];
            DataType::parse(&start[..end]).map_err(|e| e.0)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeysType {
    Duplicate,
    Unique,
    Aggregate,
}

impl KeysType {
    pub fn sql(&self) -> &'static str {
        match self {
            KeysType::Duplicate => "DUPLICATE KEY",
            KeysType::Unique => "UNIQUE KEY",
            KeysType::Aggregate => "AGGREGATE KEY",
        }
    }

    /// A key column's COLUMN_KEY, as SHOW COLUMNS and information_schema.columns show it.
    pub fn column_key(&self) -> &'static str {
        match self {
            KeysType::Duplicate => "DUP",
            KeysType::Unique => "UNI",
            KeysType::Aggregate => "AGG",
        }
    }

    /// As SHOW TABLE STATUS / proc dirs name it.
    pub fn upstream_name(&self) -> &'static str {
        match self {
            KeysType::Duplicate => "DUP_KEYS",
            KeysType::Unique => "UNIQUE_KEYS",
            KeysType::Aggregate => "AGG_KEYS",
        }
    }

    pub fn to_thrift(&self) -> TKeysType {
        match self {
            KeysType::Duplicate => TKeysType::DUP_KEYS,
            KeysType::Unique => TKeysType::UNIQUE_KEYS,
            KeysType::Aggregate => TKeysType::AGG_KEYS,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AggType {
    Sum,
    Max,
    Min,
    Replace,
    ReplaceIfNotNull,
    HllUnion,
    BitmapUnion,
    QuantileUnion,
}

impl AggType {
    pub fn parse(s: &str) -> Option<AggType> {
        Some(match s.to_ascii_uppercase().as_str() {
            "SUM" => AggType::Sum,
            "MAX" => AggType::Max,
            "MIN" => AggType::Min,
            "REPLACE" => AggType::Replace,
            "REPLACE_IF_NOT_NULL" => AggType::ReplaceIfNotNull,
            "HLL_UNION" => AggType::HllUnion,
            "BITMAP_UNION" => AggType::BitmapUnion,
            "QUANTILE_UNION" => AggType::QuantileUnion,
            _ => return None,
        })
    }

    pub fn sql(&self) -> &'static str {
        match self {
            AggType::Sum => "SUM",
            AggType::Max => "MAX",
            AggType::Min => "MIN",
            AggType::Replace => "REPLACE",
            AggType::ReplaceIfNotNull => "REPLACE_IF_NOT_NULL",
            AggType::HllUnion => "HLL_UNION",
            AggType::BitmapUnion => "BITMAP_UNION",
            AggType::QuantileUnion => "QUANTILE_UNION",
        }
    }

    pub fn to_thrift(&self) -> TAggregationType {
        match self {
            AggType::Sum => TAggregationType::SUM,
            AggType::Max => TAggregationType::MAX,
            AggType::Min => TAggregationType::MIN,
            AggType::Replace => TAggregationType::REPLACE,
            AggType::ReplaceIfNotNull => TAggregationType::REPLACE_IF_NOT_NULL,
            AggType::HllUnion => TAggregationType::HLL_UNION,
            AggType::BitmapUnion => TAggregationType::BITMAP_UNION,
            AggType::QuantileUnion => TAggregationType::QUANTILE_UNION,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StorageMedium {
    Hdd,
    Ssd,
}

impl StorageMedium {
    pub fn parse(s: &str) -> Option<StorageMedium> {
        match s.to_ascii_lowercase().as_str() {
            "hdd" => Some(StorageMedium::Hdd),
            "ssd" => Some(StorageMedium::Ssd),
            _ => None,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            StorageMedium::Hdd => "HDD",
            StorageMedium::Ssd => "SSD",
        }
    }

    pub fn to_thrift(&self) -> doris_thrift::types::TStorageMedium {
        match self {
            StorageMedium::Hdd => doris_thrift::types::TStorageMedium::HDD,
            StorageMedium::Ssd => doris_thrift::types::TStorageMedium::SSD,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_parse_and_render() {
        assert_eq!(DataType::parse("VARCHAR(32)").unwrap(), DataType::Varchar(32));
        assert_eq!(DataType::parse("decimal(10, 2)").unwrap().to_sql(), "decimal(10,2)");
        assert_eq!(DataType::parse("int(11)").unwrap(), DataType::Int);
        assert_eq!(DataType::parse("datetime(3)").unwrap().to_sql(), "datetime(3)");
        assert!(DataType::parse("varchar(0)").unwrap_err().0.contains("Varchar size"));
        assert!(DataType::parse("blob").unwrap_err().0.contains("Unsupported data type"));
        assert_eq!(DataType::Int.check_literal(" 10 ").unwrap(), "10");
        assert!(DataType::Int.check_literal("x").is_err());
        assert_eq!(DataType::Date.check_literal("2024-01-02").unwrap(), "2024-01-02");
        assert_eq!(DataType::Int.compare("9", "10"), std::cmp::Ordering::Less);
    }

    #[test]
    fn complex_types_parse_nest_and_render() {
        let t = DataType::parse("ARRAY<MAP<VARCHAR(8), STRUCT<a:INT, `Bb`:decimal(10, 2)>>>").unwrap();
        assert_eq!(t.to_sql(), "array<map<varchar(8),struct<a:int,Bb:decimal(10,2)>>>");
        assert_eq!(t.to_upper_sql(), "ARRAY<MAP<VARCHAR(8),STRUCT<a:INT,Bb:DECIMAL(10,2)>>>");
        assert_eq!(DataType::parse(&t.to_sql()).unwrap(), t);
        assert_eq!(DataType::parse("array<array<int>>").unwrap().to_sql(), "array<array<int>>");
        assert_eq!(DataType::parse("map<int,text>").unwrap(), DataType::Map(Box::new(DataType::Int), Box::new(DataType::String)));
        assert!(DataType::parse("array<int").is_err());
        assert!(DataType::parse("array<blob>").unwrap_err().0.contains("Unsupported data type"));
        assert!(DataType::parse("struct<a:int,A:int>").unwrap_err().0.contains("Duplicate field name"));
        assert!(!t.partitionable());
        assert_eq!(
            DataType::parse("array<varchar(64)>").unwrap().complex_refusal("partition", "a").unwrap(),
            "Complex type column can't be partition column: ARRAY<VARCHAR(64)>"
        );
        assert_eq!(
            DataType::parse("map<int,int>").unwrap().complex_refusal("distribution", "m").unwrap(),
            "Map Type should not be used in distribution column[m]."
        );
        assert!(DataType::Int.complex_refusal("key", "k").is_none());

        let th = t.to_thrift();
        assert_eq!(th.type_, TPrimitiveType::ARRAY);
        let children = t.thrift_children(Some(TAggregationType::NONE)).unwrap();
        assert_eq!((children.len(), children[0].column_name.as_str(), children[0].column_type.type_), (1, "item", TPrimitiveType::MAP));
        let kv = children[0].children_column.as_ref().unwrap();
        assert_eq!((kv[0].column_name.as_str(), kv[1].column_name.as_str()), ("key", "value"));
        let fields = kv[1].children_column.as_ref().unwrap();
        assert_eq!((fields[1].column_name.as_str(), fields[1].column_type.precision), ("Bb", Some(10)));
        assert!(DataType::Int.thrift_children(None).is_none());
    }
}
