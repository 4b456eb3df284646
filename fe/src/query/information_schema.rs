//! `information_schema` with upstream's views and columns: `schemata`, `tables`, `columns`,
//! `partitions`, the privilege views, `session_variables`/`global_variables`,
//! `character_sets`/`collations`, and the views upstream keeps for ODBC, JDBC and IDE
//! tools (`views`, `statistics`, `key_column_usage`, `routines`, ...), which list nothing
//! here as they list nothing in upstream's internal catalog (no views, indexes, constraints
//! or routines exist). Built when a query reads them, showing only the tables the user may
//! read. Column names are upper case, as upstream's (and MySQL's).

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
use super::session::SysVars;

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
    ("COLUMN_SIZE", true),
    ("DECIMAL_DIGITS", true),
    ("GENERATION_EXPRESSION", false),
    ("SRS_ID", true),
];
const PARTITIONS: &[(&str, bool)] = &[
    ("PARTITION_ID", true),
    ("TABLE_CATALOG", false),
    ("TABLE_SCHEMA", false),
    ("TABLE_NAME", false),
    ("PARTITION_NAME", false),
    ("SUBPARTITION_NAME", false),
    ("PARTITION_ORDINAL_POSITION", true),
    ("SUBPARTITION_ORDINAL_POSITION", true),
    ("PARTITION_METHOD", false),
    ("SUBPARTITION_METHOD", false),
    ("PARTITION_EXPRESSION", false),
    ("SUBPARTITION_EXPRESSION", false),
    ("PARTITION_DESCRIPTION", false),
    ("TABLE_ROWS", true),
    ("AVG_ROW_LENGTH", true),
    ("DATA_LENGTH", true),
    ("MAX_DATA_LENGTH", true),
    ("INDEX_LENGTH", true),
    ("DATA_FREE", true),
    ("CREATE_TIME", true),
    ("UPDATE_TIME", false),
    ("CHECK_TIME", false),
    ("CHECKSUM", true),
    ("PARTITION_COMMENT", false),
    ("NODEGROUP", false),
    ("TABLESPACE_NAME", false),
    ("LOCAL_DATA_SIZE", false),
    ("REMOTE_DATA_SIZE", false),
    ("STATE", false),
    ("REPLICA_ALLOCATION", false),
    ("REPLICA_NUM", true),
    ("STORAGE_POLICY", false),
    ("STORAGE_MEDIUM", false),
    ("COOLDOWN_TIME_MS", false),
    ("LAST_CONSISTENCY_CHECK_TIME", false),
    ("BUCKET_NUM", true),
    ("COMMITTED_VERSION", true),
    ("VISIBLE_VERSION", true),
    ("PARTITION_KEY", false),
    ("RANGE", false),
    ("DISTRIBUTION", false),
];
const TABLE_PRIVILEGES: &[(&str, bool)] = &[
    ("GRANTEE", false),
    ("TABLE_CATALOG", false),
    ("TABLE_SCHEMA", false),
    ("TABLE_NAME", false),
    ("PRIVILEGE_TYPE", false),
    ("IS_GRANTABLE", false),
];
const SCHEMA_PRIVILEGES: &[(&str, bool)] =
    &[("GRANTEE", false), ("TABLE_CATALOG", false), ("TABLE_SCHEMA", false), ("PRIVILEGE_TYPE", false), ("IS_GRANTABLE", false)];
const USER_PRIVILEGES: &[(&str, bool)] =
    &[("GRANTEE", false), ("TABLE_CATALOG", false), ("PRIVILEGE_TYPE", false), ("IS_GRANTABLE", false)];
const VARIABLES: &[(&str, bool)] = &[("VARIABLE_NAME", false), ("VARIABLE_VALUE", false), ("DEFAULT_VALUE", false), ("CHANGED", false)];
const CHARACTER_SETS: &[(&str, bool)] =
    &[("CHARACTER_SET_NAME", false), ("DEFAULT_COLLATE_NAME", false), ("DESCRIPTION", false), ("MAXLEN", true)];
const COLLATIONS: &[(&str, bool)] = &[
    ("COLLATION_NAME", false),
    ("CHARACTER_SET_NAME", false),
    ("ID", true),
    ("IS_DEFAULT", false),
    ("IS_COMPILED", false),
    ("SORTLEN", true),
];
const REFERENTIAL_CONSTRAINTS: &[(&str, bool)] = &[
    ("CONSTRAINT_CATALOG", false),
    ("CONSTRAINT_SCHEMA", false),
    ("CONSTRAINT_NAME", false),
    ("UNIQUE_CONSTRAINT_CATALOG", false),
    ("UNIQUE_CONSTRAINT_SCHEMA", false),
    ("UNIQUE_CONSTRAINT_NAME", false),
    ("MATCH_OPTION", false),
    ("UPDATE_RULE", false),
    ("DELETE_RULE", false),
    ("TABLE_NAME", false),
    ("REFERENCED_TABLE_NAME", false),
];
const KEY_COLUMN_USAGE: &[(&str, bool)] = &[
    ("CONSTRAINT_CATALOG", false),
    ("CONSTRAINT_SCHEMA", false),
    ("CONSTRAINT_NAME", false),
    ("TABLE_CATALOG", false),
    ("TABLE_SCHEMA", false),
    ("TABLE_NAME", false),
    ("COLUMN_NAME", false),
    ("ORDINAL_POSITION", true),
    ("POSITION_IN_UNIQUE_CONSTRAINT", true),
    ("REFERENCED_TABLE_SCHEMA", false),
    ("REFERENCED_TABLE_NAME", false),
    ("REFERENCED_COLUMN_NAME", false),
];
const ROUTINES: &[(&str, bool)] = &[
    ("SPECIFIC_NAME", false),
    ("ROUTINE_CATALOG", false),
    ("ROUTINE_SCHEMA", false),
    ("ROUTINE_NAME", false),
    ("ROUTINE_TYPE", false),
    ("DTD_IDENTIFIER", false),
    ("ROUTINE_BODY", false),
    ("ROUTINE_DEFINITION", false),
    ("EXTERNAL_NAME", false),
    ("EXTERNAL_LANGUAGE", false),
    ("PARAMETER_STYLE", false),
    ("IS_DETERMINISTIC", false),
    ("SQL_DATA_ACCESS", false),
    ("SQL_PATH", false),
    ("SECURITY_TYPE", false),
    ("CREATED", false),
    ("LAST_ALTERED", false),
    ("SQL_MODE", false),
    ("ROUTINE_COMMENT", false),
    ("DEFINER", false),
    ("CHARACTER_SET_CLIENT", false),
    ("COLLATION_CONNECTION", false),
    ("DATABASE_COLLATION", false),
];
const TABLE_CONSTRAINTS: &[(&str, bool)] = &[
    ("CONSTRAINT_CATALOG", false),
    ("CONSTRAINT_SCHEMA", false),
    ("CONSTRAINT_NAME", false),
    ("TABLE_SCHEMA", false),
    ("TABLE_NAME", false),
    ("CONSTRAINT_TYPE", false),
];
const ENGINES: &[(&str, bool)] =
    &[("ENGINE", false), ("SUPPORT", false), ("COMMENT", false), ("TRANSACTIONS", false), ("XA", false), ("SAVEPOINTS", false)];
const VIEWS_VIEW: &[(&str, bool)] = &[
    ("TABLE_CATALOG", false),
    ("TABLE_SCHEMA", false),
    ("TABLE_NAME", false),
    ("VIEW_DEFINITION", false),
    ("CHECK_OPTION", false),
    ("IS_UPDATABLE", false),
    ("DEFINER", false),
    ("SECURITY_TYPE", false),
    ("CHARACTER_SET_CLIENT", false),
    ("COLLATION_CONNECTION", false),
];
const STATISTICS: &[(&str, bool)] = &[
    ("TABLE_CATALOG", false),
    ("TABLE_SCHEMA", false),
    ("TABLE_NAME", false),
    ("NON_UNIQUE", true),
    ("INDEX_SCHEMA", false),
    ("INDEX_NAME", false),
    ("SEQ_IN_INDEX", true),
    ("COLUMN_NAME", false),
    ("COLLATION", false),
    ("CARDINALITY", true),
    ("SUB_PART", true),
    ("PACKED", false),
    ("NULLABLE", false),
    ("INDEX_TYPE", false),
    ("COMMENT", false),
    ("INDEX_COMMENT", false),
];
const COLUMN_PRIVILEGES: &[(&str, bool)] = &[
    ("GRANTEE", false),
    ("TABLE_CATALOG", false),
    ("TABLE_SCHEMA", false),
    ("TABLE_NAME", false),
    ("COLUMN_NAME", false),
    ("PRIVILEGE_TYPE", false),
    ("IS_GRANTABLE", false),
];

const VIEWS: &[(&str, &[(&str, bool)])] = &[
    ("schemata", SCHEMATA),
    ("tables", TABLES),
    ("columns", COLUMNS),
    ("partitions", PARTITIONS),
    ("table_privileges", TABLE_PRIVILEGES),
    ("schema_privileges", SCHEMA_PRIVILEGES),
    ("user_privileges", USER_PRIVILEGES),
    ("session_variables", VARIABLES),
    ("global_variables", VARIABLES),
    ("character_sets", CHARACTER_SETS),
    ("collations", COLLATIONS),
    ("referential_constraints", REFERENTIAL_CONSTRAINTS),
    ("key_column_usage", KEY_COLUMN_USAGE),
    ("routines", ROUTINES),
    ("table_constraints", TABLE_CONSTRAINTS),
    ("engines", ENGINES),
    ("views", VIEWS_VIEW),
    ("statistics", STATISTICS),
    ("column_privileges", COLUMN_PRIVILEGES),
];

/// The one character set and collation the FE speaks (upstream's).
const CHARSET: &str = "utf8mb4";
const COLLATION: &str = "utf8mb4_0900_bin";

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
        column_size(&c.data_type),
        decimal_digits(&c.data_type),
        Cell::Null,
        Cell::Null,
    ]
}

/// JDBC's COLUMN_SIZE: a string's length, a number's precision, a date's width.
fn column_size(t: &DataType) -> Cell {
    let n = match t {
        DataType::Boolean => 1,
        DataType::TinyInt => 3,
        DataType::SmallInt => 5,
        DataType::Int => 10,
        DataType::BigInt => 19,
        DataType::LargeInt => 39,
        DataType::Float => 7,
        DataType::Double => 15,
        DataType::Decimal { precision, .. } => i64::from(*precision),
        DataType::Date => 10,
        DataType::DateTime { scale } => 19 + if *scale > 0 { 1 + i64::from(*scale) } else { 0 },
        DataType::Char(l) | DataType::Varchar(l) => i64::from(*l),
        DataType::String => i64::from(crate::catalog::types::MAX_STRING_LENGTH),
        DataType::Json | DataType::Array(_) | DataType::Map(..) | DataType::Struct(_) => return Cell::Null,
    };
    Cell::Int(n)
}

/// JDBC's DECIMAL_DIGITS: a decimal's scale, a datetime's fractional digits, 0 for integers.
fn decimal_digits(t: &DataType) -> Cell {
    match t {
        DataType::TinyInt | DataType::SmallInt | DataType::Int | DataType::BigInt | DataType::LargeInt => Cell::Int(0),
        DataType::Decimal { scale, .. } | DataType::DateTime { scale } => Cell::Int(i64::from(*scale)),
        _ => Cell::Null,
    }
}

/// `'name'@'host'`, as upstream's privilege views name a grantee.
fn grantee(u: &crate::auth::UserRecord) -> String {
    u.identity().to_string()
}

pub(super) struct InformationSchema {
    ctx: Ctx,
    user: crate::auth::UserIdentity,
    /// The session's variables (`session_variables`, `global_variables`).
    vars: Arc<SysVars>,
}

impl std::fmt::Debug for InformationSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InformationSchema")
    }
}

impl InformationSchema {
    pub(super) fn new(ctx: Ctx, user: crate::auth::UserIdentity, vars: Arc<SysVars>) -> Self {
        InformationSchema { ctx, user, vars }
    }

    /// The grants of the users this user may see (every user for an ADMIN_PRIV holder,
    /// else only itself), a row per privilege, as upstream's privilege views list them.
    fn privilege_rows(&self, view: &str) -> Vec<Vec<Cell>> {
        let admin = self.ctx.users.has(&self.user, &Scope::Global, Priv::Admin);
        let mut out = Vec::new();
        for u in self.ctx.users.all_users().into_iter().filter(|u| admin || u.identity().same_as(&self.user)) {
            for g in &u.grants {
                let grantable = if g.privs.contains(Priv::Grant) { "YES" } else { "NO" };
                let cells: Option<Vec<Cell>> = match (view, &g.scope) {
                    ("user_privileges", Scope::Global) => Some(vec![grantee(&u).into(), "def".into()]),
                    ("schema_privileges", Scope::Db { db, .. }) => Some(vec![grantee(&u).into(), "def".into(), db.as_str().into()]),
                    ("table_privileges", Scope::Table { db, table, .. }) => {
                        Some(vec![grantee(&u).into(), "def".into(), db.as_str().into(), table.as_str().into()])
                    }
                    _ => None,
                };
                let Some(cells) = cells else { continue };
                for p in g.privs.to_string().split(',').filter(|p| !p.is_empty()) {
                    let mut row = cells.clone();
                    row.push(p.into());
                    row.push(grantable.into());
                    out.push(row);
                }
            }
        }
        out
    }

    /// Every readable table, with its database's name.
    fn tables(&self) -> Vec<(String, std::sync::Arc<OlapTable>)> {
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
                                p.id.into(),
                                "def".into(),
                                db.as_str().into(),
                                t.name.as_str().into(),
                                p.name.as_str().into(),
                                Cell::Null,
                                (i as i64 + 1).into(),
                                Cell::Null,
                                method.into(),
                                Cell::Null,
                                t.partition_columns.join(", ").into(),
                                Cell::Null,
                                t.describe_partition(p).into(),
                                rows.into(),
                                (if rows > 0 { size / rows } else { 0 }).into(),
                                size.into(),
                                0.into(),
                                0.into(),
                                0.into(),
                                Cell::Null,
                                time_text(p.visible_version_time_ms),
                                Cell::Null,
                                Cell::Null,
                                "".into(),
                                "".into(),
                                "".into(),
                                size.to_string().into(),
                                "0".into(),
                                t.partition_state_name(p).into(),
                                format!("tag.location.default: {}", p.replication_num).into(),
                                i64::from(p.replication_num).into(),
                                t.storage_policy.as_str().into(),
                                p.storage_medium.name().into(),
                                "9999-12-31 23:59:59".into(),
                                Cell::Null,
                                i64::from(p.buckets).into(),
                                p.visible_version.into(),
                                p.visible_version.into(),
                                t.partition_columns.join(", ").into(),
                                t.describe_partition(p).into(),
                                t.distribution.key_text().into(),
                            ]
                        })
                        .collect::<Vec<_>>()
                })
                .collect(),
            "table_privileges" | "schema_privileges" | "user_privileges" => self.privilege_rows(view),
            "session_variables" | "global_variables" => {
                let vars = if view == "session_variables" { &self.vars.session } else { &self.vars.global };
                vars.iter()
                    .map(|(name, v)| {
                        let value = v.text();
                        let default = self.vars.global.get(name).map(|g| g.text()).unwrap_or_else(|| value.clone());
                        let changed = if value == default { "0" } else { "1" };
                        vec![name.as_str().into(), value.into(), default.into(), changed.into()]
                    })
                    .collect()
            }
            "character_sets" => vec![vec![CHARSET.into(), COLLATION.into(), "UTF-8 Unicode".into(), 4.into()]],
            "collations" => vec![vec![COLLATION.into(), CHARSET.into(), 309.into(), "Yes".into(), "Yes".into(), 1.into()]],
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
