//! `information_schema` as upstream (and MySQL) shape it: `schemata`, `tables`, `columns`
//! and `partitions`, built from the catalog when a query reads them and showing only the
//! tables the user may read. Column names are upper case, as MySQL's.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType as ArrowType, Field, Schema};
use datafusion::catalog::{SchemaProvider, TableProvider};
use datafusion::datasource::MemTable;
use datafusion::error::Result as DfResult;

use super::INTERNAL_CATALOG;
use crate::auth::{Priv, Scope};
use crate::catalog::table::Column;
use crate::catalog::types::DataType;
use crate::catalog::OlapTable;
use crate::context::Ctx;

pub const NAME: &str = "information_schema";

/// A cell of a text table: text, a number, or NULL.
#[derive(Clone)]
enum Cell {
    Text(String),
    Int(i64),
    Null,
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.to_string())
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s)
    }
}

impl From<i64> for Cell {
    fn from(i: i64) -> Self {
        Cell::Int(i)
    }
}

/// Each view's columns: name, and whether it holds numbers.
const SCHEMATA: &[(&str, bool)] = &[
    ("CATALOG_NAME", false),
    ("SCHEMA_NAME", false),
    ("DEFAULT_CHARACTER_SET_NAME", false),
    ("DEFAULT_COLLATION_NAME", false),
    ("SQL_PATH", false),
    ("DEFAULT_ENCRYPTION", false),
];
const TABLES: &[(&str, bool)] = &[
    ("TABLE_CATALOG", false),
    ("TABLE_SCHEMA", false),
    ("TABLE_NAME", false),
    ("TABLE_TYPE", false),
    ("ENGINE", false),
    ("VERSION", true),
    ("ROW_FORMAT", false),
    ("TABLE_ROWS", true),
    ("AVG_ROW_LENGTH", true),
    ("DATA_LENGTH", true),
    ("MAX_DATA_LENGTH", true),
    ("INDEX_LENGTH", true),
    ("DATA_FREE", true),
    ("AUTO_INCREMENT", true),
    ("CREATE_TIME", false),
    ("UPDATE_TIME", false),
    ("CHECK_TIME", false),
    ("TABLE_COLLATION", false),
    ("CHECKSUM", true),
    ("CREATE_OPTIONS", false),
    ("TABLE_COMMENT", false),
];
const COLUMNS: &[(&str, bool)] = &[
    ("TABLE_CATALOG", false),
    ("TABLE_SCHEMA", false),
    ("TABLE_NAME", false),
    ("COLUMN_NAME", false),
    ("ORDINAL_POSITION", true),
    ("COLUMN_DEFAULT", false),
    ("IS_NULLABLE", false),
    ("DATA_TYPE", false),
    ("CHARACTER_MAXIMUM_LENGTH", true),
    ("CHARACTER_OCTET_LENGTH", true),
    ("NUMERIC_PRECISION", true),
    ("NUMERIC_SCALE", true),
    ("DATETIME_PRECISION", true),
    ("CHARACTER_SET_NAME", false),
    ("COLLATION_NAME", false),
    ("COLUMN_TYPE", false),
    ("COLUMN_KEY", false),
    ("EXTRA", false),
    ("PRIVILEGES", false),
    ("COLUMN_COMMENT", false),
];
const PARTITIONS: &[(&str, bool)] = &[
    ("TABLE_CATALOG", false),
    ("TABLE_SCHEMA", false),
    ("TABLE_NAME", false),
    ("PARTITION_NAME", false),
    ("PARTITION_ORDINAL_POSITION", true),
    ("PARTITION_METHOD", false),
    ("PARTITION_EXPRESSION", false),
    ("PARTITION_DESCRIPTION", false),
    ("TABLE_ROWS", true),
    ("DATA_LENGTH", true),
    ("CREATE_TIME", false),
    ("UPDATE_TIME", false),
];

const VIEWS: &[(&str, &[(&str, bool)])] =
    &[("schemata", SCHEMATA), ("tables", TABLES), ("columns", COLUMNS), ("partitions", PARTITIONS)];

pub(super) fn view_names() -> Vec<String> {
    VIEWS.iter().map(|(n, _)| n.to_string()).collect()
}

/// The columns of view `name` (any case), for the query rewrite's column spellings.
pub(super) fn columns_of(name: &str) -> Option<Vec<String>> {
    VIEWS.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, cols)| cols.iter().map(|(c, _)| c.to_string()).collect())
}

fn time_text(ms: i64) -> Cell {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) if ms > 0 => Cell::Text(t.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M:%S").to_string()),
        _ => Cell::Null,
    }
}

/// Rows and data size of a set of tablets: one replica each (the others hold the same).
fn sizes<'a>(tablets: impl Iterator<Item = &'a crate::catalog::table::Tablet>) -> (i64, i64) {
    tablets.fold((0, 0), |(rows, size), t| match t.replicas.iter().max_by_key(|r| r.version) {
        Some(r) => (rows + r.row_count, size + r.data_size),
        None => (rows, size),
    })
}

/// MySQL's DATA_TYPE and the numeric facts of a column type.
fn type_facts(t: &DataType) -> (&'static str, Cell, Cell, Cell, Cell) {
    let n = |x: i64| Cell::Int(x);
    match t {
        DataType::Boolean => ("boolean", Cell::Null, Cell::Null, Cell::Null, Cell::Null),
        DataType::TinyInt => ("tinyint", Cell::Null, n(3), n(0), Cell::Null),
        DataType::SmallInt => ("smallint", Cell::Null, n(5), n(0), Cell::Null),
        DataType::Int => ("int", Cell::Null, n(10), n(0), Cell::Null),
        DataType::BigInt => ("bigint", Cell::Null, n(19), n(0), Cell::Null),
        DataType::LargeInt => ("largeint", Cell::Null, n(39), n(0), Cell::Null),
        DataType::Float => ("float", Cell::Null, n(7), Cell::Null, Cell::Null),
        DataType::Double => ("double", Cell::Null, n(15), Cell::Null, Cell::Null),
        DataType::Decimal { precision, scale } => ("decimal", Cell::Null, n(*precision as i64), n(*scale as i64), Cell::Null),
        DataType::Date => ("date", Cell::Null, Cell::Null, Cell::Null, Cell::Null),
        DataType::DateTime { scale } => ("datetime", Cell::Null, Cell::Null, Cell::Null, n(*scale as i64)),
        DataType::Char(l) => ("char", n(*l as i64), Cell::Null, Cell::Null, Cell::Null),
        DataType::Varchar(l) => ("varchar", n(*l as i64), Cell::Null, Cell::Null, Cell::Null),
        DataType::String => ("text", n(crate::catalog::types::MAX_STRING_LENGTH as i64), Cell::Null, Cell::Null, Cell::Null),
        DataType::Json => ("json", Cell::Null, Cell::Null, Cell::Null, Cell::Null),
        // Upstream's DATA_TYPE names only the kind; COLUMN_TYPE spells it whole.
        DataType::Array(_) => ("array", Cell::Null, Cell::Null, Cell::Null, Cell::Null),
        DataType::Map(..) => ("map", Cell::Null, Cell::Null, Cell::Null, Cell::Null),
        DataType::Struct(_) => ("struct", Cell::Null, Cell::Null, Cell::Null, Cell::Null),
    }
}

fn column_row(db: &str, t: &OlapTable, pos: usize, c: &Column) -> Vec<Cell> {
    let (data_type, char_len, precision, scale, dt_precision) = type_facts(&c.data_type);
    let key = if c.is_key { t.keys_type.column_key() } else { "" };
    vec![
        "def".into(),
        db.into(),
        t.name.as_str().into(),
        c.name.as_str().into(),
        (pos as i64 + 1).into(),
        c.default_value.clone().map(Cell::Text).unwrap_or(Cell::Null),
        if c.nullable { "YES" } else { "NO" }.into(),
        data_type.into(),
        char_len.clone(),
        char_len,
        precision,
        scale,
        dt_precision,
        Cell::Null,
        Cell::Null,
        c.data_type.to_sql().into(),
        key.into(),
        c.aggregation.as_ref().map(|a| a.sql()).unwrap_or("").into(),
        "select,insert,update,references".into(),
        c.comment.as_str().into(),
    ]
}

pub(super) struct InformationSchema {
    ctx: Ctx,
    user: String,
}

impl std::fmt::Debug for InformationSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InformationSchema")
    }
}

impl InformationSchema {
    pub(super) fn new(ctx: Ctx, user: String) -> Self {
        InformationSchema { ctx, user }
    }

    /// Every readable table, with its database's name.
    fn tables(&self) -> Vec<(String, OlapTable)> {
        let mut out = Vec::new();
        for db in self.ctx.catalog.databases() {
            for t in self.ctx.catalog.tables(db.id) {
                if self.ctx.users.has(&self.user, &Scope::table(&db.name, &t.name), Priv::Select) {
                    out.push((db.name.clone(), t));
                }
            }
        }
        out
    }

    fn rows(&self, view: &str) -> Vec<Vec<Cell>> {
        match view {
            "schemata" => self
                .ctx
                .catalog
                .databases()
                .into_iter()
                .map(|d| {
                    vec!["def".into(), d.name.into(), "utf8mb4".into(), "utf8mb4_0900_bin".into(), Cell::Null, "NO".into()]
                })
                .collect(),
            "tables" => self
                .tables()
                .into_iter()
                .map(|(db, t)| {
                    let (rows, size) = sizes(t.partitions.iter().flat_map(|p| p.index.tablets.iter()));
                    let updated = t.partitions.iter().map(|p| p.visible_version_time_ms).max().unwrap_or(0);
                    vec![
                        "def".into(),
                        db.into(),
                        t.name.as_str().into(),
                        "BASE TABLE".into(),
                        "Doris".into(),
                        Cell::Null,
                        Cell::Null,
                        rows.into(),
                        (if rows > 0 { size / rows } else { 0 }).into(),
                        size.into(),
                        Cell::Null,
                        Cell::Null,
                        Cell::Null,
                        Cell::Null,
                        time_text(t.create_time_ms),
                        time_text(updated),
                        Cell::Null,
                        "utf8mb4_0900_bin".into(),
                        Cell::Null,
                        "".into(),
                        t.comment.as_str().into(),
                    ]
                })
                .collect(),
            "columns" => self
                .tables()
                .into_iter()
                .flat_map(|(db, t)| {
                    t.columns.iter().enumerate().map(|(i, c)| column_row(&db, &t, i, c)).collect::<Vec<_>>()
                })
                .collect(),
            "partitions" => self
                .tables()
                .into_iter()
                .flat_map(|(db, t)| {
                    let method = match t.partition_kind {
                        crate::catalog::table::PartitionKind::Range => "RANGE",
                        crate::catalog::table::PartitionKind::List => "LIST",
                        crate::catalog::table::PartitionKind::Unpartitioned => "",
                    };
                    t.partitions
                        .iter()
                        .enumerate()
                        .map(|(i, p)| {
                            let (rows, size) = sizes(p.index.tablets.iter());
                            vec![
                                "def".into(),
                                db.as_str().into(),
                                t.name.as_str().into(),
                                p.name.as_str().into(),
                                (i as i64 + 1).into(),
                                method.into(),
                                t.partition_columns.join(", ").into(),
                                t.describe_partition(p).into(),
                                rows.into(),
                                size.into(),
                                Cell::Null,
                                time_text(p.visible_version_time_ms),
                            ]
                        })
                        .collect::<Vec<_>>()
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

fn table(columns: &[(&str, bool)], rows: Vec<Vec<Cell>>) -> DfResult<MemTable> {
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(n, numeric)| Field::new(*n, if *numeric { ArrowType::Int64 } else { ArrowType::Utf8 }, true))
            .collect::<Vec<_>>(),
    ));
    let arrays: Vec<ArrayRef> = columns
        .iter()
        .enumerate()
        .map(|(i, (_, numeric))| {
            let cells = rows.iter().map(|r| r.get(i).cloned().unwrap_or(Cell::Null));
            if *numeric {
                Arc::new(Int64Array::from_iter(cells.map(|c| match c {
                    Cell::Int(v) => Some(v),
                    Cell::Text(t) => t.parse().ok(),
                    Cell::Null => None,
                }))) as ArrayRef
            } else {
                Arc::new(StringArray::from_iter(cells.map(|c| match c {
                    Cell::Text(t) => Some(t),
                    Cell::Int(v) => Some(v.to_string()),
                    Cell::Null => None,
                }))) as ArrayRef
            }
        })
        .collect();
    let batch = RecordBatch::try_new(schema.clone(), arrays)?;
    MemTable::try_new(schema, vec![vec![batch]])
}

#[async_trait]
impl SchemaProvider for InformationSchema {
    fn table_names(&self) -> Vec<String> {
        view_names()
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        let Some((view, columns)) = VIEWS.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) else { return Ok(None) };
        Ok(Some(Arc::new(table(columns, self.rows(view))?)))
    }

    fn table_exist(&self, name: &str) -> bool {
        VIEWS.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
    }
}

/// Whether `db` names this schema (`information_schema`, any case; within `internal`).
pub(super) fn is_it(catalog: Option<&str>, db: &str) -> bool {
    catalog.is_none_or(|c| c.eq_ignore_ascii_case(INTERNAL_CATALOG)) && db.eq_ignore_ascii_case(NAME)
}
