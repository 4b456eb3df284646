//! The statements the FE understands, as produced by [`crate::sql::parse`].
//!
//! Names are kept as written (case preserved, quotes removed); keywords and
//! property keys are not normalised here, the executor decides what is
//! case-insensitive.

use std::fmt;

pub use crate::auth::UserIdentity;

/// One parsed SQL statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    // --- session ---
    /// `USE db`, also produced for COM_INIT_DB.
    Use { db: String },
    /// `SET NAMES charset [COLLATE c]`.
    SetNames { charset: String, collation: Option<String> },
    /// `SET [SESSION|GLOBAL] x = v, ...`.
    SetVariables(Vec<SetVariable>),
    /// `SHOW [GLOBAL|SESSION] VARIABLES [LIKE 'p' | WHERE ...]`.
    ShowVariables { scope: VariableScope, filter: Option<VariableFilter> },
    /// `COMMIT`, `ROLLBACK`, `BEGIN` / `START TRANSACTION` outside an explicit transaction:
    /// every statement commits on its own (autocommit), so these have nothing to do.
    Transaction(TxnControl),
    /// `SHOW WARNINGS` / `SHOW ERRORS`: what the last statement left (always nothing).
    ShowWarnings { errors: bool },
    /// `SHOW [FULL] PROCESSLIST`: the connections on this FE.
    ShowProcesslist { full: bool },
    /// `KILL [CONNECTION | QUERY] id`.
    Kill { connection_id: u32, query_only: bool },

    // --- databases and tables ---
    CreateDatabase { name: String, if_not_exists: bool, properties: Properties },
    DropDatabase { name: String, if_exists: bool, force: bool },
    ShowDatabases { like: Option<String> },
    ShowTables { db: Option<String>, full: bool, like: Option<String> },
    CreateTable(Box<CreateTable>),
    DropTable { table: TableName, if_exists: bool, force: bool },
    /// `ALTER TABLE t SET ("k" = "v", ...)`.
    AlterTableSet { table: TableName, properties: Properties },
    /// `ALTER DATABASE db SET PROPERTIES ("k" = "v", ...)`.
    AlterDatabaseSet { name: String, properties: Properties },
    /// `ALTER TABLE t ADD [TEMPORARY] PARTITION [IF NOT EXISTS] p VALUES ... [("k" = "v")]
    /// [DISTRIBUTED BY ...]`.
    AddPartition(Box<AddPartitionStmt>),
    /// `ALTER TABLE t DROP [TEMPORARY] PARTITION [IF EXISTS] p [FORCE]`.
    DropPartition { table: TableName, temporary: bool, name: String, if_exists: bool, force: bool },
    /// `ALTER TABLE t ADD COLUMN ... | DROP COLUMN c`: a light schema change.
    AlterColumns { table: TableName, change: ColumnChange },
    /// `ALTER TABLE t RENAME new_name`.
    RenameTable { table: TableName, new_name: String },
    /// `TRUNCATE TABLE t [PARTITION[S] (p1, ...)]`.
    TruncateTable { table: TableName, partitions: Vec<String> },
    /// `DELETE FROM t [PARTITION ...] WHERE c AND ...`: upstream's delete by predicate.
    Delete { table: TableName, partitions: Vec<String>, conditions: Vec<DeleteCondition> },
    ShowCreateTable { table: TableName },
    ShowPartitions { table: TableName },
    /// `SHOW [FULL] COLUMNS|FIELDS FROM t [FROM db]`.
    ShowColumns { table: TableName, full: bool },
    /// `DESC[RIBE] t`.
    Describe { table: TableName },
    /// `SHOW INDEX|INDEXES|KEYS FROM t [FROM db]`.
    ShowIndex { table: TableName },
    ShowTablets { table: TableName },
    /// `SHOW CREATE DATABASE db`.
    ShowCreateDatabase { name: String },
    /// `SHOW DATABASE <id>`: the name of the database with that id.
    ShowDatabaseId { id: i64 },
    /// `SHOW TABLE <id>`: DbName, TableName, DbId of the table with that id.
    ShowTableId { id: i64 },
    /// `SHOW PARTITION <id>`: where the partition with that id lives.
    ShowPartitionId { id: i64 },
    /// `SHOW PROC '<path>'`, the id-addressed views the CCR syncer walks.
    ShowProc { path: String },

    /// `SHOW TRANSACTION [FROM db] WHERE id = N | label = "x"`.
    ShowTransaction { db: Option<String>, filter: TxnFilter },
    /// `SHOW LOAD [FROM db] [WHERE LABEL = "l" | LABEL LIKE "p" | STATE = "s" [AND ...]]
    /// [LIMIT n]`: the INSERT load jobs.
    ShowLoad { db: Option<String>, label: Option<NameFilter>, state: Option<String>, limit: Option<u64> },

    // --- cluster ---
    /// `ALTER SYSTEM ADD BACKEND "host:port", ...`.
    AddBackends { hosts: Vec<HostPort> },
    /// `ALTER SYSTEM DROP BACKEND ...`; `force` is set for `DROPP BACKEND`.
    DropBackends { hosts: Vec<HostPort>, force: bool },
    ShowBackends,
    ShowFrontends,
    /// `[ADMIN] SHOW FRONTEND CONFIG [LIKE 'p']`.
    ShowFrontendConfig { like: Option<String> },

    // --- backup and restore ---
    CreateRepository(CreateRepository),
    /// `CREATE RESOURCE [IF NOT EXISTS] "name" PROPERTIES (...)` (S3 only).
    CreateResource { name: String, if_not_exists: bool, properties: Properties },
    DropResource { name: String, if_exists: bool },
    ShowResources,
    /// `CREATE STORAGE POLICY [IF NOT EXISTS] name PROPERTIES (...)`.
    CreateStoragePolicy { name: String, if_not_exists: bool, properties: Properties },
    DropStoragePolicy { name: String, if_exists: bool },
    ShowStoragePolicy,
    /// `ALTER WORKLOAD GROUP name PROPERTIES (...)`.
    AlterWorkloadGroup { name: String, properties: Properties },
    /// `SHOW WORKLOAD GROUPS [LIKE 'p']`.
    ShowWorkloadGroups { like: Option<String> },
    DropRepository { name: String },
    ShowRepositories,
    /// `SHOW SNAPSHOT ON repo [WHERE SNAPSHOT = "x" [AND TIMESTAMP = "t"]]`.
    ShowSnapshot { repo: String, snapshot: Option<String>, timestamp: Option<String> },
    Backup(BackupStmt),
    Restore(RestoreStmt),
    /// `SHOW BACKUP [FROM db] [WHERE SnapshotName = "x" | SnapshotName LIKE "x"]`.
    ShowBackup { db: Option<String>, filter: Option<NameFilter> },
    /// `SHOW RESTORE [FROM db] [WHERE Label = "x" | Label LIKE "x"]`.
    ShowRestore { db: Option<String>, filter: Option<NameFilter> },
    /// `CANCEL BACKUP [FROM db] [WHERE LABEL = "x" | LABEL LIKE "x"]`.
    CancelBackup { db: Option<String>, filter: Option<NameFilter> },
    /// `CANCEL RESTORE [FROM db] [WHERE LABEL = "x" | LABEL LIKE "x"]`.
    CancelRestore { db: Option<String>, filter: Option<NameFilter> },

    // --- users and privileges ---
    User(UserStatement),

    // --- queries ---
    /// A query (`SELECT`, `WITH`, `VALUES`, `TABLE`), as written: the query engine parses
    /// and plans it (`crate::query`).
    Query(String),
    /// `INSERT INTO | INSERT OVERWRITE TABLE t [PARTITION (p, ...)] [WITH LABEL l] [(cols)]
    /// VALUES ... | SELECT ...`: the source query is run by the query engine, its rows loaded.
    Insert(Box<InsertStmt>),
}

/// An INSERT as upstream writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct InsertStmt {
    pub table: TableName,
    /// `INSERT OVERWRITE TABLE`: the rows replace the named partitions (all of them when none
    /// are named).
    pub overwrite: bool,
    /// `PARTITION (p1, p2)`: rows may only land in these partitions.
    pub partitions: Vec<String>,
    /// `WITH LABEL l`: the load's label.
    pub label: Option<String>,
    /// `(c1, c2)`; empty: every column in table order.
    pub columns: Vec<String>,
    /// The source query as written (`VALUES ...`, `SELECT ...`, `WITH ...`).
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserStatement {
    CreateUser { user: UserIdentity, password: Option<PasswordSpec>, role: Option<String>, if_not_exists: bool },
    DropUser { user: UserIdentity, if_exists: bool },
    AlterUser { user: UserIdentity, password: PasswordSpec },
    /// `SET PASSWORD [FOR user] = ...`; no user means the session's own.
    SetPassword { user: Option<UserIdentity>, password: PasswordSpec },
    CreateRole { role: String, if_not_exists: bool },
    DropRole { role: String, if_exists: bool },
    /// GRANT, or REVOKE when `revoke`.
    Grant { object: GrantObject, grantee: crate::auth::Grantee, revoke: bool },
    ShowGrants { user: Option<UserIdentity>, all: bool },
    ShowRoles,
}

/// A password as given: clear text, or the `*<hex>` hash PASSWORD() makes.
#[derive(Clone, PartialEq, Eq)]
pub enum PasswordSpec {
    Plain(String),
    Hashed(String),
}

impl fmt::Debug for PasswordSpec {
    /// Never the password itself: statements end up in logs and test output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PasswordSpec::Plain(_) => "Plain(..)",
            PasswordSpec::Hashed(_) => "Hashed(..)",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantObject {
    Privileges { privs: Vec<crate::auth::Priv>, scope: crate::auth::Scope },
    Role(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnControl {
    Begin,
    Commit,
    Rollback,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AddPartitionStmt {
    pub table: TableName,
    pub temporary: bool,
    pub if_not_exists: bool,
    pub partition: NewPartitionDef,
    pub distribution: Option<Distribution>,
}

/// The partition ADD PARTITION adds, as CREATE TABLE writes one.
#[derive(Debug, Clone, PartialEq)]
pub enum NewPartitionDef {
    Range(RangePartition),
    List(ListPartition),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ColumnChange {
    /// `ADD COLUMN def [AFTER c | FIRST]` or `ADD COLUMN (def, ...)`.
    Add { columns: Vec<ColumnDef>, position: ColumnPosition },
    /// `DROP COLUMN c`.
    Drop { name: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnPosition {
    Last,
    First,
    After(String),
}

/// Which transaction SHOW TRANSACTION shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnFilter {
    Id(i64),
    Label(String),
}

/// One condition of a DELETE: `column op values` (no values for IS [NOT] NULL, one or more
/// for [NOT] IN, one otherwise), values as the literals' text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteCondition {
    pub column: String,
    pub op: DeleteOp,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteOp {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    In,
    NotIn,
    IsNull,
    IsNotNull,
}

/// `[db.]table`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TableName {
    pub db: Option<String>,
    pub table: String,
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.db {
            Some(db) => write!(f, "{db}.{}", self.table),
            None => f.write_str(&self.table),
        }
    }
}

/// `PROPERTIES ("k" = "v", ...)` in written order.
pub type Properties = Vec<(String, String)>;

/// `"host:port"` of `ALTER SYSTEM ... BACKEND`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPort {
    pub host: String,
    pub port: u16,
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VariableScope {
    #[default]
    Session,
    Global,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SetVariable {
    pub scope: VariableScope,
    pub name: String,
    pub value: SetValue,
}

/// Right-hand side of `SET x = ...`.
#[derive(Debug, Clone, PartialEq)]
pub enum SetValue {
    Str(String),
    Int(i64),
    Double(f64),
    /// A bare word such as `ON`, `utf8mb4` or `READ-COMMITTED`.
    Word(String),
    Default,
    Null,
    /// Any other expression (`concat(@@sql_mode, ',X')`), as SQL text: the server
    /// evaluates it with the query engine before assigning.
    Expr(String),
}

impl fmt::Display for SetValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetValue::Str(s) | SetValue::Word(s) | SetValue::Expr(s) => f.write_str(s),
            SetValue::Int(i) => write!(f, "{i}"),
            SetValue::Double(d) => write!(f, "{d}"),
            SetValue::Default => f.write_str("DEFAULT"),
            SetValue::Null => f.write_str("NULL"),
        }
    }
}

/// Filter of `SHOW VARIABLES`.
#[derive(Debug, Clone, PartialEq)]
pub enum VariableFilter {
    Like(String),
    /// `WHERE` predicates joined by `OR`; a row matches when any matches.
    Where(Vec<VariablePredicate>),
}

/// One `WHERE` predicate of `SHOW VARIABLES` on `Variable_name` or `Value`.
#[derive(Debug, Clone, PartialEq)]
pub struct VariablePredicate {
    /// `Variable_name` or `Value`, as written.
    pub column: String,
    pub op: PredicateOp,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PredicateOp {
    Eq(String),
    Like(String),
    In(Vec<String>),
}

/// `SnapshotName = "x"` / `Label LIKE "x"` filters of SHOW BACKUP / RESTORE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameFilter {
    Eq(String),
    Like(String),
}

// ---------------------------------------------------------------- tables

#[derive(Debug, Clone, PartialEq)]
pub struct CreateTable {
    pub name: TableName,
    pub if_not_exists: bool,
    pub columns: Vec<ColumnDef>,
    /// `ENGINE = x` as written (only OLAP is accepted by the parser).
    pub engine: Option<String>,
    pub keys: Option<KeysDesc>,
    pub comment: Option<String>,
    pub partition: Option<PartitionDesc>,
    pub distribution: Distribution,
    pub properties: Properties,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDef {
    pub name: String,
    pub data_type: DataType,
    /// `true` unless `NOT NULL` was given (Doris' default is nullable).
    pub nullable: bool,
    /// Written `KEY` marker (older Doris syntax).
    pub is_key: bool,
    pub aggregation: Option<AggregationType>,
    pub default: Option<DefaultValue>,
    pub comment: Option<String>,
    /// `AUTO_INCREMENT[(start)]`: the first value (1 when not given).
    pub auto_increment: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DefaultValue {
    Null,
    CurrentTimestamp,
    /// A literal, as text (numbers are kept as written).
    Value(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggregationType {
    Sum,
    Max,
    Min,
    Replace,
    ReplaceIfNotNull,
}

impl AggregationType {
    pub fn as_str(&self) -> &'static str {
        match self {
            AggregationType::Sum => "SUM",
            AggregationType::Max => "MAX",
            AggregationType::Min => "MIN",
            AggregationType::Replace => "REPLACE",
            AggregationType::ReplaceIfNotNull => "REPLACE_IF_NOT_NULL",
        }
    }
}

/// Column types accepted in `CREATE TABLE`.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    DecimalV3 { precision: u8, scale: u8 },
    Date,
    DateTime,
    DateV2,
    /// Fractional-second digits, 0..=6.
    DateTimeV2 { scale: u8 },
    Char(u32),
    Varchar(u32),
    String,
    /// JSON / JSONB: text that must parse as JSON.
    Json,
    /// `ARRAY<T>`
    Array(Box<DataType>),
    /// `MAP<K, V>`
    Map(Box<DataType>, Box<DataType>),
    /// `STRUCT<name: T, ...>`: the fields in order.
    Struct(Vec<(String, DataType)>),
}

impl fmt::Display for DataType {
    /// The SQL spelling, as `SHOW CREATE TABLE` prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataType::Boolean => f.write_str("boolean"),
            DataType::TinyInt => f.write_str("tinyint"),
            DataType::SmallInt => f.write_str("smallint"),
            DataType::Int => f.write_str("int"),
            DataType::BigInt => f.write_str("bigint"),
            DataType::LargeInt => f.write_str("largeint"),
            DataType::Float => f.write_str("float"),
            DataType::Double => f.write_str("double"),
            DataType::Decimal { precision, scale } => write!(f, "decimal({precision},{scale})"),
            DataType::DecimalV3 { precision, scale } => write!(f, "decimalv3({precision},{scale})"),
            DataType::Date => f.write_str("date"),
            DataType::DateTime => f.write_str("datetime"),
            DataType::DateV2 => f.write_str("datev2"),
            DataType::DateTimeV2 { scale: 0 } => f.write_str("datetimev2"),
            DataType::DateTimeV2 { scale } => write!(f, "datetimev2({scale})"),
            DataType::Char(n) => write!(f, "char({n})"),
            DataType::Varchar(n) => write!(f, "varchar({n})"),
            DataType::String => f.write_str("string"),
            DataType::Json => f.write_str("json"),
            DataType::Array(e) => write!(f, "array<{e}>"),
            DataType::Map(k, v) => write!(f, "map<{k},{v}>"),
            DataType::Struct(fields) => {
                f.write_str("struct<")?;
                for (i, (name, t)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{name}:{t}")?;
                }
                f.write_str(">")
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeysType {
    Duplicate,
    Unique,
    Aggregate,
}

impl KeysType {
    pub fn as_str(&self) -> &'static str {
        match self {
            KeysType::Duplicate => "DUPLICATE",
            KeysType::Unique => "UNIQUE",
            KeysType::Aggregate => "AGGREGATE",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeysDesc {
    pub keys_type: KeysType,
    pub columns: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PartitionDesc {
    Range { columns: Vec<String>, partitions: Vec<RangePartition> },
    List { columns: Vec<String>, partitions: Vec<ListPartition> },
}

#[derive(Debug, Clone, PartialEq)]
pub struct RangePartition {
    pub name: String,
    pub bound: RangeBound,
    pub properties: Properties,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RangeBound {
    /// `VALUES LESS THAN ("v", ...)` or `VALUES LESS THAN MAXVALUE`.
    LessThan(Vec<PartitionValue>),
    /// `VALUES [("lower", ...), ("upper", ...))`.
    Fixed { lower: Vec<PartitionValue>, upper: Vec<PartitionValue> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartitionValue {
    Value(String),
    MaxValue,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListPartition {
    pub name: String,
    /// One tuple per `IN` item; single-column lists have one value per tuple.
    pub values: Vec<Vec<String>>,
    pub properties: Properties,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Distribution {
    pub kind: DistributionKind,
    /// `None` for `BUCKETS AUTO`.
    pub buckets: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DistributionKind {
    Hash(Vec<String>),
    Random,
}

// ---------------------------------------------------------------- backup and restore

#[derive(Debug, Clone, PartialEq)]
pub struct CreateRepository {
    pub name: String,
    pub read_only: bool,
    pub storage: RepositoryStorage,
    /// As written, e.g. `s3://bucket/prefix` or `file:///abs/dir`.
    pub location: String,
    pub properties: Properties,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepositoryStorage {
    S3,
    Local,
}

/// `ON (...)` / `EXCLUDE (...)` of BACKUP and RESTORE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRefs {
    pub exclude: bool,
    pub tables: Vec<TableRef>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRef {
    pub table: String,
    /// Empty means the whole table.
    pub partitions: Vec<String>,
    pub alias: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BackupStmt {
    /// `db.` prefix of the label; `None` means the session's database.
    pub db: Option<String>,
    pub label: String,
    pub repo: String,
    pub tables: Option<TableRefs>,
    pub properties: Properties,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RestoreStmt {
    pub db: Option<String>,
    pub label: String,
    pub repo: String,
    pub tables: Option<TableRefs>,
    pub properties: Properties,
}

impl Statement {
    /// A short name of the statement for logs; never includes literals, which
    /// may carry secrets (repository credentials).
    pub fn kind(&self) -> &'static str {
        match self {
            Statement::Use { .. } => "USE",
            Statement::SetNames { .. } => "SET NAMES",
            Statement::SetVariables(_) => "SET",
            Statement::ShowVariables { .. } => "SHOW VARIABLES",
            Statement::Transaction(TxnControl::Begin) => "BEGIN",
            Statement::Transaction(TxnControl::Commit) => "COMMIT",
            Statement::Transaction(TxnControl::Rollback) => "ROLLBACK",
            Statement::ShowWarnings { .. } => "SHOW WARNINGS",
            Statement::ShowColumns { .. } => "SHOW COLUMNS",
            Statement::Describe { .. } => "DESCRIBE",
            Statement::ShowIndex { .. } => "SHOW INDEX",
            Statement::ShowProcesslist { .. } => "SHOW PROCESSLIST",
            Statement::Kill { .. } => "KILL",
            Statement::CreateDatabase { .. } => "CREATE DATABASE",
            Statement::DropDatabase { .. } => "DROP DATABASE",
            Statement::ShowDatabases { .. } => "SHOW DATABASES",
            Statement::ShowTables { .. } => "SHOW TABLES",
            Statement::CreateTable(_) => "CREATE TABLE",
            Statement::DropTable { .. } => "DROP TABLE",
            Statement::AlterTableSet { .. } => "ALTER TABLE",
            Statement::AlterDatabaseSet { .. } => "ALTER DATABASE",
            Statement::ShowCreateTable { .. } => "SHOW CREATE TABLE",
            Statement::AddPartition(_) => "ALTER TABLE ADD PARTITION",
            Statement::DropPartition { .. } => "ALTER TABLE DROP PARTITION",
            Statement::TruncateTable { .. } => "TRUNCATE TABLE",
            Statement::Delete { .. } => "DELETE",
            Statement::RenameTable { .. } => "ALTER TABLE RENAME",
            Statement::AlterColumns { .. } => "ALTER TABLE ADD/DROP COLUMN",
            Statement::ShowPartitions { .. } => "SHOW PARTITIONS",
            Statement::ShowTablets { .. } => "SHOW TABLETS",
            Statement::ShowCreateDatabase { .. } => "SHOW CREATE DATABASE",
            Statement::ShowDatabaseId { .. } => "SHOW DATABASE (id)",
            Statement::ShowTableId { .. } => "SHOW TABLE (id)",
            Statement::ShowPartitionId { .. } => "SHOW PARTITION (id)",
            Statement::ShowProc { .. } => "SHOW PROC",
            Statement::ShowFrontendConfig { .. } => "SHOW FRONTEND CONFIG",
            Statement::ShowTransaction { .. } => "SHOW TRANSACTION",
            Statement::ShowLoad { .. } => "SHOW LOAD",
            Statement::AddBackends { .. } => "ALTER SYSTEM ADD BACKEND",
            Statement::DropBackends { .. } => "ALTER SYSTEM DROP BACKEND",
            Statement::ShowBackends => "SHOW BACKENDS",
            Statement::ShowFrontends => "SHOW FRONTENDS",
            Statement::CreateRepository(_) => "CREATE REPOSITORY",
            Statement::CreateResource { .. } => "CREATE RESOURCE",
            Statement::DropResource { .. } => "DROP RESOURCE",
            Statement::ShowResources => "SHOW RESOURCES",
            Statement::CreateStoragePolicy { .. } => "CREATE STORAGE POLICY",
            Statement::DropStoragePolicy { .. } => "DROP STORAGE POLICY",
            Statement::ShowStoragePolicy => "SHOW STORAGE POLICY",
            Statement::AlterWorkloadGroup { .. } => "ALTER WORKLOAD GROUP",
            Statement::ShowWorkloadGroups { .. } => "SHOW WORKLOAD GROUPS",
            Statement::DropRepository { .. } => "DROP REPOSITORY",
            Statement::ShowRepositories => "SHOW REPOSITORIES",
            Statement::ShowSnapshot { .. } => "SHOW SNAPSHOT",
            Statement::Backup(_) => "BACKUP SNAPSHOT",
            Statement::Restore(_) => "RESTORE SNAPSHOT",
            Statement::ShowBackup { .. } => "SHOW BACKUP",
            Statement::ShowRestore { .. } => "SHOW RESTORE",
            Statement::CancelBackup { .. } => "CANCEL BACKUP",
            Statement::CancelRestore { .. } => "CANCEL RESTORE",
            Statement::Query(_) => "SELECT",
            Statement::Insert(i) if i.overwrite => "INSERT OVERWRITE",
            Statement::Insert(_) => "INSERT",
            Statement::User(_) => "USER OR PRIVILEGE STATEMENT",
        }
    }
}
