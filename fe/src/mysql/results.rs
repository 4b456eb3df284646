//! What an executor answers: an OK with counts, or a result set.

use opensrv_mysql::{Column, ColumnFlags, ColumnType};

/// The MySQL column types doris-rs result sets use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColType {
    Null,
    TinyInt,
    SmallInt,
    Int,
    BigInt,
    Float,
    Double,
    Decimal,
    Date,
    DateTime,
    /// Text; the default for SHOW output.
    VarString,
    Blob,
}

impl ColType {
    pub fn to_column_type(self) -> ColumnType {
        match self {
            ColType::Null => ColumnType::MYSQL_TYPE_NULL,
            ColType::TinyInt => ColumnType::MYSQL_TYPE_TINY,
            ColType::SmallInt => ColumnType::MYSQL_TYPE_SHORT,
            ColType::Int => ColumnType::MYSQL_TYPE_LONG,
            ColType::BigInt => ColumnType::MYSQL_TYPE_LONGLONG,
            ColType::Float => ColumnType::MYSQL_TYPE_FLOAT,
            ColType::Double => ColumnType::MYSQL_TYPE_DOUBLE,
            ColType::Decimal => ColumnType::MYSQL_TYPE_NEWDECIMAL,
            ColType::Date => ColumnType::MYSQL_TYPE_DATE,
            ColType::DateTime => ColumnType::MYSQL_TYPE_DATETIME,
            ColType::VarString => ColumnType::MYSQL_TYPE_VAR_STRING,
            ColType::Blob => ColumnType::MYSQL_TYPE_BLOB,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutColumn {
    pub name: String,
    pub col_type: ColType,
}

impl OutColumn {
    pub fn new(name: impl Into<String>, col_type: ColType) -> Self {
        OutColumn { name: name.into(), col_type }
    }

    /// A text column, as SHOW statements use.
    pub fn text(name: impl Into<String>) -> Self {
        Self::new(name, ColType::VarString)
    }

    pub fn bigint(name: impl Into<String>) -> Self {
        Self::new(name, ColType::BigInt)
    }

    pub(crate) fn to_column(&self) -> Column {
        Column {
            table: String::new(),
            column: self.name.clone(),
            coltype: self.col_type.to_column_type(),
            colflags: ColumnFlags::empty(),
        }
    }
}

/// One cell. Sent as text (the text protocol), so the variant only decides the spelling.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    UInt(u64),
    Double(f64),
    Str(String),
    Bytes(Vec<u8>),
    Date(chrono::NaiveDate),
    DateTime(chrono::NaiveDateTime),
}

impl Value {
    /// The cell as the text protocol carries it; `None` is SQL NULL.
    pub fn to_text(&self) -> Option<Vec<u8>> {
        match self {
            Value::Null => None,
            Value::Int(i) => Some(i.to_string().into_bytes()),
            Value::UInt(u) => Some(u.to_string().into_bytes()),
            Value::Double(d) => Some(d.to_string().into_bytes()),
            Value::Str(s) => Some(s.as_bytes().to_vec()),
            Value::Bytes(b) => Some(b.clone()),
            Value::Date(d) => Some(d.format("%Y-%m-%d").to_string().into_bytes()),
            Value::DateTime(dt) => Some(dt.format("%Y-%m-%d %H:%M:%S").to_string().into_bytes()),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<u64> for Value {
    fn from(u: u64) -> Self {
        Value::UInt(u)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map(Into::into).unwrap_or(Value::Null)
    }
}

/// The answer to one statement.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryOutput {
    Ok { affected_rows: u64, info: String },
    Rows { columns: Vec<OutColumn>, rows: Vec<Vec<Value>> },
}

impl QueryOutput {
    pub fn ok() -> Self {
        QueryOutput::Ok { affected_rows: 0, info: String::new() }
    }

    pub fn affected(affected_rows: u64) -> Self {
        QueryOutput::Ok { affected_rows, info: String::new() }
    }

    pub fn rows(columns: Vec<OutColumn>, rows: Vec<Vec<Value>>) -> Self {
        QueryOutput::Rows { columns, rows }
    }

    /// A result set whose columns are all text.
    pub fn text_rows(names: &[&str], rows: Vec<Vec<Value>>) -> Self {
        QueryOutput::Rows { columns: names.iter().map(|n| OutColumn::text(*n)).collect(), rows }
    }
}
