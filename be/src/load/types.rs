//! Column types of a load and the typed cells rows are made of.
//!
//! The FE's write plan names each column's type as its SQL text (`int`, `varchar(32)`,
//! `decimal(10,2)`, `datetime(3)`, ...); `ColKind::parse` reads that. A CSV field becomes a
//! `Cell` through `ColKind::parse_text`, which refuses what does not fit the type (the row is
//! then filtered by the load).

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use serde_json::Value as Json;

use super::complex::{self, Nested};

/// The days from 0001-01-01 (CE day 1) to 1970-01-01.
const UNIX_EPOCH_CE_DAYS: i32 = 719_163;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColKind {
    Bool,
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
    /// CHAR(n), VARCHAR(n): at most `n` bytes; `None` for STRING/TEXT/JSON.
    Str { max_len: Option<u32> },
    /// ARRAY / MAP / STRUCT (`super::complex`).
    Complex(&'static Nested),
}

/// One typed value. Decimals are unscaled integers (the scale is the column's), dates are
/// days since 1970-01-01, datetimes microseconds since 1970-01-01 00:00:00 (no time zone).
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Bool(bool),
    Int(i64),
    Large(i128),
    Float(f64),
    Decimal(i128),
    Date(i32),
    DateTime(i64),
    Str(String),
    Array(Vec<Cell>),
    Map(Vec<(Cell, Cell)>),
    /// The fields in the struct's order.
    Struct(Vec<Cell>),
}

impl ColKind {
    /// Read a type as the FE's plan writes it (its SQL text), case-insensitively.
    pub fn parse(text: &str) -> Result<ColKind, String> {
        if complex::is_complex_type(text) {
            return complex::parse_type(text);
        }
        let t = text.trim().to_ascii_lowercase();
        let (name, args): (&str, Vec<u32>) = match t.find('(') {
            Some(i) => {
                let close = t.rfind(')').ok_or_else(|| format!("bad type `{text}`"))?;
                let args = t[i + 1..close]
                    .split(',')
                    .map(|a| a.trim().parse::<u32>().map_err(|_| format!("bad type `{text}`")))
                    .collect::<Result<Vec<u32>, String>>()?;
                (t[..i].trim(), args)
            }
            None => (t.as_str(), Vec::new()),
        };
        let arg = |i: usize, d: u32| args.get(i).copied().unwrap_or(d);
        Ok(match name {
            "boolean" | "bool" => ColKind::Bool,
            "tinyint" => ColKind::TinyInt,
            "smallint" => ColKind::SmallInt,
            "int" | "integer" => ColKind::Int,
            "bigint" => ColKind::BigInt,
            "largeint" => ColKind::LargeInt,
            "float" => ColKind::Float,
            "double" => ColKind::Double,
            "decimal" | "decimalv3" | "decimal32" | "decimal64" | "decimal128" | "decimal128i" => {
                let precision = arg(0, 9);
                let scale = arg(1, 0);
                if precision == 0 || precision > 38 || scale > precision {
                    return Err(format!("bad decimal type `{text}`"));
                }
                ColKind::Decimal { precision: precision as u8, scale: scale as u8 }
            }
            "date" | "datev2" => ColKind::Date,
            "datetime" | "datetimev2" => ColKind::DateTime { scale: arg(0, 0).min(6) as u8 },
            "char" | "varchar" => ColKind::Str { max_len: args.first().copied() },
            "string" | "text" | "json" | "jsonb" => ColKind::Str { max_len: None },
            _ => return Err(format!("type `{text}` cannot be loaded")),
        })
    }

    /// Parse one field of a text file. `Err` says why it does not fit the type.
    pub fn parse_text(&self, s: &str) -> Result<Cell, String> {
        let bad = || format!("'{}' is not a valid {}", truncate(s, 64), self.name());
        let t = s.trim();
        let int = |min: i64, max: i64| -> Result<Cell, String> {
            match t.parse::<i64>() {
                Ok(v) if v >= min && v <= max => Ok(Cell::Int(v)),
                _ => Err(bad()),
            }
        };
        match self {
            ColKind::Bool => match t.to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(Cell::Bool(true)),
                "false" | "0" => Ok(Cell::Bool(false)),
                _ => Err(bad()),
            },
            ColKind::TinyInt => int(i8::MIN as i64, i8::MAX as i64),
            ColKind::SmallInt => int(i16::MIN as i64, i16::MAX as i64),
            ColKind::Int => int(i32::MIN as i64, i32::MAX as i64),
            ColKind::BigInt => int(i64::MIN, i64::MAX),
            ColKind::LargeInt => t.parse::<i128>().map(Cell::Large).map_err(|_| bad()),
            ColKind::Float | ColKind::Double => match t.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(Cell::Float(if *self == ColKind::Float { v as f32 as f64 } else { v })),
                _ => Err(bad()),
            },
            ColKind::Decimal { precision, scale } => parse_decimal(t, *precision, *scale).map(Cell::Decimal).ok_or_else(bad),
            ColKind::Date => parse_date(t).map(Cell::Date).ok_or_else(bad),
            ColKind::DateTime { scale } => parse_datetime(t, *scale).map(Cell::DateTime).ok_or_else(bad),
            ColKind::Str { max_len } => {
                if let Some(n) = max_len {
                    if s.len() > *n as usize {
                        return Err(format!("the length of '{}' is {} bytes, longer than the column's {}", truncate(s, 64), s.len(), n));
                    }
                }
                Ok(Cell::Str(s.to_string()))
            }
            ColKind::Complex(n) => complex::parse_value(n, s).map_err(|e| format!("'{}' is not a valid {}: {e}", truncate(s, 64), self.name())),
        }
    }

    pub fn name(&self) -> String {
        match self {
            ColKind::Bool => "BOOLEAN".into(),
            ColKind::TinyInt => "TINYINT".into(),
            ColKind::SmallInt => "SMALLINT".into(),
            ColKind::Int => "INT".into(),
            ColKind::BigInt => "BIGINT".into(),
            ColKind::LargeInt => "LARGEINT".into(),
            ColKind::Float => "FLOAT".into(),
            ColKind::Double => "DOUBLE".into(),
            ColKind::Decimal { precision, scale } => format!("DECIMAL({precision},{scale})"),
            ColKind::Date => "DATE".into(),
            ColKind::DateTime { scale } => format!("DATETIME({scale})"),
            ColKind::Str { max_len: Some(n) } => format!("VARCHAR({n})"),
            ColKind::Str { max_len: None } => "STRING".into(),
            ColKind::Complex(n) => n.name(),
        }
    }
}

fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// `[-]digits[.digits]` scaled to `scale` (extra fraction digits rounded half away from
/// zero); `None` when it has more than `precision - scale` integer digits.
pub fn parse_decimal(t: &str, precision: u8, scale: u8) -> Option<i128> {
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (int_part, frac_part) = match body.split_once('.') {
        Some((i, f)) => (i, f),
        None => (body, ""),
    };
    if (int_part.is_empty() && frac_part.is_empty())
        || !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let int_digits = int_part.trim_start_matches('0');
    if int_digits.len() > (precision - scale) as usize {
        return None;
    }
    let mut v: i128 = 0;
    for b in int_digits.bytes() {
        v = v * 10 + (b - b'0') as i128;
    }
    let fb = frac_part.as_bytes();
    for i in 0..scale as usize {
        v = v * 10 + fb.get(i).map(|b| (b - b'0') as i128).unwrap_or(0);
    }
    if fb.get(scale as usize).is_some_and(|b| *b >= b'5') {
        v += 1;
        if v >= 10i128.pow(precision as u32) {
            return None;
        }
    }
    Some(if neg { -v } else { v })
}

pub fn date_to_days(d: NaiveDate) -> i32 {
    d.num_days_from_ce() - UNIX_EPOCH_CE_DAYS
}

pub fn days_to_date(days: i32) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(days + UNIX_EPOCH_CE_DAYS)
}

pub fn parse_date(t: &str) -> Option<i32> {
    NaiveDate::parse_from_str(t, "%Y-%m-%d").ok().map(date_to_days)
}

/// `YYYY-MM-DD[ HH:MM:SS[.ffffff]]`, fraction truncated to `scale` digits.
pub fn parse_datetime(t: &str, scale: u8) -> Option<i64> {
    let dt = NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .or_else(|| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)))?;
    let days = date_to_days(dt.date()) as i64;
    let secs = dt.num_seconds_from_midnight() as i64;
    let unit = 10i64.pow(6 - scale as u32);
    let micros = (dt.nanosecond() as i64 / 1000) / unit * unit;
    Some((days * 86_400 + secs) * 1_000_000 + micros)
}

pub fn format_decimal(v: i128, scale: u8) -> String {
    if scale == 0 {
        return v.to_string();
    }
    let neg = v < 0;
    let digits = v.unsigned_abs().to_string();
    let s = scale as usize;
    let padded = if digits.len() <= s { format!("{}{}", "0".repeat(s + 1 - digits.len()), digits) } else { digits };
    let (i, f) = padded.split_at(padded.len() - s);
    format!("{}{i}.{f}", if neg { "-" } else { "" })
}

pub fn format_date(days: i32) -> String {
    days_to_date(days).map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default()
}

/// `YYYY-MM-DD HH:MM:SS`, with `scale` fraction digits when scale > 0.
pub fn format_datetime(micros: i64, scale: u8) -> String {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400) as i32;
    let sod = secs.rem_euclid(86_400);
    let base = format!("{} {:02}:{:02}:{:02}", format_date(days), sod / 3600, sod / 60 % 60, sod % 60);
    if scale == 0 {
        base
    } else {
        let f = format!("{frac:06}");
        format!("{base}.{}", &f[..scale as usize])
    }
}

impl Cell {
    /// As the scan endpoint sends it: numbers as JSON numbers, large integers and decimals
    /// as exact text, dates and datetimes as their SQL text, NULL as null.
    pub fn to_json(&self, kind: &ColKind) -> Json {
        match self {
            Cell::Null => Json::Null,
            Cell::Bool(b) => Json::Bool(*b),
            Cell::Int(i) => Json::from(*i),
            Cell::Large(v) => Json::String(v.to_string()),
            Cell::Float(f) => serde_json::Number::from_f64(*f).map(Json::Number).unwrap_or(Json::Null),
            Cell::Decimal(v) => {
                let scale = match kind {
                    ColKind::Decimal { scale, .. } => *scale,
                    _ => 0,
                };
                Json::String(format_decimal(*v, scale))
            }
            Cell::Date(d) => Json::String(format_date(*d)),
            Cell::DateTime(m) => {
                let scale = match kind {
                    ColKind::DateTime { scale } => *scale,
                    _ => 6,
                };
                Json::String(format_datetime(*m, scale))
            }
            Cell::Str(s) => Json::String(s.clone()),
            Cell::Array(_) | Cell::Map(_) | Cell::Struct(_) => match kind {
                ColKind::Complex(n) => complex::to_json(n, self),
                _ => complex::to_stored(self),
            },
        }
    }

    /// Order of two cells of one column; NULL first.
    pub fn cmp_same(&self, other: &Cell) -> std::cmp::Ordering {
        use std::cmp::Ordering::*;
        match (self, other) {
            (Cell::Null, Cell::Null) => Equal,
            (Cell::Null, _) => Less,
            (_, Cell::Null) => Greater,
            (Cell::Bool(a), Cell::Bool(b)) => a.cmp(b),
            (Cell::Int(a), Cell::Int(b)) => a.cmp(b),
            (Cell::Large(a), Cell::Large(b)) | (Cell::Decimal(a), Cell::Decimal(b)) => a.cmp(b),
            (Cell::Float(a), Cell::Float(b)) => a.total_cmp(b),
            (Cell::Date(a), Cell::Date(b)) => a.cmp(b),
            (Cell::DateTime(a), Cell::DateTime(b)) => a.cmp(b),
            (Cell::Str(a), Cell::Str(b)) => a.as_bytes().cmp(b.as_bytes()),
            (Cell::Array(a), Cell::Array(b)) | (Cell::Struct(a), Cell::Struct(b)) => {
                a.iter().zip(b).map(|(x, y)| x.cmp_same(y)).find(|o| *o != Equal).unwrap_or(a.len().cmp(&b.len()))
            }
            _ => Equal,
        }
    }
}
