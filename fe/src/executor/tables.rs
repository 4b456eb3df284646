//! CREATE/DROP TABLE, SHOW TABLES, SHOW CREATE TABLE, SHOW PARTITIONS, SHOW TABLETS.

use super::convert::create_table_spec;
use super::format::{byte_string, like, time_string, NULL_STRING};
use crate::catalog::OlapTable;
use crate::context::Ctx;
use crate::tables::TableDdl;
use crate::error::FeError;
use crate::mysql::{QueryOutput, Session, Value};
use crate::sql;

pub const PARTITION_TITLES: &[&str] = &[
    "PartitionId",
    "PartitionName",
    "VisibleVersion",
    "VisibleVersionTime",
    "State",
    "PartitionKey",
    "Range",
    "DistributionKey",
    "Buckets",
    "ReplicationNum",
    "StorageMedium",
    "CooldownTime",
    "RemoteStoragePolicy",
    "LastConsistencyCheckTime",
    "DataSize",
    "IsInMemory",
    "ReplicaAllocation",
    "IsMutable",
    "SyncWithBaseTables",
    "UnsyncTables",
    "CommittedVersion",
    "RowCount",
];

pub const TABLET_TITLES: &[&str] = &[
    "TabletId",
    "ReplicaId",
    "BackendId",
    "SchemaHash",
    "Version",
    "LstSuccessVersion",
    "LstFailedVersion",
    "LstFailedTime",
    "LocalDataSize",
    "RemoteDataSize",
    "RowCount",
    "State",
    "LstConsistencyCheckTime",
    "CheckVersion",
    "VersionCount",
    "QueryHits",
    "PathHash",
    "MetaUrl",
    "CompactionStatus",
    "CooldownReplicaId",
    "CooldownMetaId",
];

pub async fn create(ctx: &TableDdl, session: &Session, ct: sql::CreateTable) -> Result<QueryOutput, FeError> {
    let db = session.resolve_db(ct.name.db.as_deref())?;
    let spec = create_table_spec(db, ct)?;
    if let Some(policy) = spec.properties.get("storage_policy").filter(|p| !p.is_empty()) {
        if ctx.policies.policy(policy).is_none() {
            return Err(FeError::InvalidArgument(format!("Storage policy does not exist. name: {policy}")));
        }
    }
    crate::tables::create_table(ctx, &spec).await?;
    Ok(QueryOutput::ok())
}

/// ALTER TABLE t SET (...): the binlog settings.
pub fn set_properties(ctx: &Ctx, db: &str, table: &str, properties: &crate::sql::Properties) -> Result<QueryOutput, FeError> {
    ctx.catalog.set_table_properties(db, table, properties)?;
    Ok(QueryOutput::ok())
}

pub async fn add_partition(ctx: &TableDdl, db: String, stmt: crate::sql::AddPartitionStmt) -> Result<QueryOutput, FeError> {
    let req = super::convert::add_partition_request(db, stmt)?;
    crate::tables::add_partition(ctx, &req).await?;
    Ok(QueryOutput::ok())
}

pub async fn drop_partition(
    ctx: &TableDdl,
    db: &str,
    table: &str,
    name: &str,
    if_exists: bool,
    force: bool,
) -> Result<QueryOutput, FeError> {
    crate::tables::drop_partition(ctx, db, table, name, if_exists, force).await?;
    Ok(QueryOutput::ok())
}

pub fn alter_columns(ctx: &TableDdl, db: &str, table: &str, change: crate::sql::ColumnChange) -> Result<QueryOutput, FeError> {
    let change = super::convert::schema_change(change)?;
    crate::tables::alter_columns(ctx, db, table, &change)?;
    Ok(QueryOutput::ok())
}

pub fn rename(ctx: &TableDdl, db: &str, table: &str, new_name: &str) -> Result<QueryOutput, FeError> {
    crate::tables::rename_table(ctx, db, table, new_name)?;
    Ok(QueryOutput::ok())
}

pub async fn truncate(ctx: &TableDdl, db: &str, table: &str, partitions: &[String]) -> Result<QueryOutput, FeError> {
    crate::tables::truncate(ctx, db, table, partitions).await?;
    Ok(QueryOutput::ok())
}

/// `DELETE FROM t [PARTITION ...] WHERE ...`: upstream's delete job; its OK info names the
/// transaction.
pub async fn delete(
    loads: &crate::load::Loads,
    db: String,
    table: String,
    partitions: Vec<String>,
    conditions: Vec<crate::sql::DeleteCondition>,
) -> Result<QueryOutput, FeError> {
    use crate::load::delete::{CondOp, Condition, DeleteRequest};
    use crate::sql::DeleteOp;
    let conditions = conditions
        .into_iter()
        .map(|c| Condition {
            column: c.column,
            op: match c.op {
                DeleteOp::Eq => CondOp::Eq,
                DeleteOp::NotEq => CondOp::NotEq,
                DeleteOp::Lt => CondOp::Lt,
                DeleteOp::LtEq => CondOp::LtEq,
                DeleteOp::Gt => CondOp::Gt,
                DeleteOp::GtEq => CondOp::GtEq,
                DeleteOp::In => CondOp::In,
                DeleteOp::NotIn => CondOp::NotIn,
                DeleteOp::IsNull => CondOp::IsNull,
                DeleteOp::IsNotNull => CondOp::IsNotNull,
            },
            values: c.values,
        })
        .collect();
    let done = crate::load::delete::delete(loads, DeleteRequest { db, table, partitions, conditions }).await?;
    Ok(QueryOutput::Ok { affected_rows: 0, info: done.info() })
}

pub async fn drop(ctx: &TableDdl, db: &str, table: &str, if_exists: bool, force: bool) -> Result<QueryOutput, FeError> {
    crate::tables::drop_table(ctx, db, table, if_exists, force).await?;
    Ok(QueryOutput::ok())
}

/// `SHOW [FULL] TABLES [LIKE p]`: those `user` holds some privilege on, as upstream lists them.
pub fn show_tables(ctx: &Ctx, user: &crate::auth::UserIdentity, db: &str, full: bool, pattern: Option<&str>) -> Result<QueryOutput, FeError> {
    let title = format!("Tables_in_{db}");
    let (names, kind): (Vec<String>, &str) = match ctx.catalog.database(db) {
        Some(d) => (
            ctx.catalog
                .tables(d.id)
                .into_iter()
                .filter(|t| ctx.users.can_see(user, &crate::auth::Scope::table(db, &t.name)))
                .map(|t| t.name.clone())
                .collect(),
            "BASE TABLE",
        ),
        None if crate::query::is_information_schema(db) => (crate::query::information_schema_views(), "SYSTEM VIEW"),
        None => return Err(FeError::UnknownDatabase(db.to_string())),
    };
    let rows = names
        .into_iter()
        .filter(|n| pattern.is_none_or(|p| like(n, p)))
        .map(|n| {
            let mut r = vec![Value::from(n)];
            if full {
                r.push(kind.into());
            }
            r
        })
        .collect();
    let names: Vec<&str> = if full { vec![&title, "Table_type"] } else { vec![&title] };
    Ok(QueryOutput::text_rows(&names, rows))
}

pub fn show_create(ctx: &Ctx, db: &str, table: &str) -> Result<QueryOutput, FeError> {
    let t = ctx.catalog.table(db, table)?;
    Ok(QueryOutput::text_rows(
        &["Table", "Create Table"],
        vec![vec![t.name.clone().into(), t.create_table_ddl().into()]],
    ))
}

/// What DESC and SHOW COLUMNS say of a column's aggregation: its function, NONE for a
/// DUPLICATE value column, nothing for a key.
fn extra(c: &crate::catalog::table::Column) -> String {
    match (&c.aggregation, c.is_key) {
        (Some(a), _) => a.sql().to_string(),
        (None, _) if c.auto_increment.is_some() => "AUTO_INCREMENT".to_string(),
        (None, true) => String::new(),
        (None, false) => "NONE".to_string(),
    }
}

/// The columns DESC and SHOW COLUMNS list: the hidden ones too with `show_hidden_columns`.
fn listed_columns(t: &crate::catalog::OlapTable, show_hidden: bool) -> Vec<&crate::catalog::table::Column> {
    if show_hidden {
        t.full_schema().collect()
    } else {
        t.columns.iter().collect()
    }
}

/// `DESC t`: upstream's Field, Type, Null (Yes/No), Key (true/false), Default, Extra.
pub fn describe(ctx: &Ctx, db: &str, table: &str, show_hidden: bool) -> Result<QueryOutput, FeError> {
    let t = ctx.catalog.table(db, table)?;
    let rows = listed_columns(&t, show_hidden)
        .into_iter()
        .map(|c| {
            vec![
                c.name.clone().into(),
                c.data_type.to_upper_sql().into(),
                if c.nullable { "Yes" } else { "No" }.into(),
                if c.is_key { "true" } else { "false" }.into(),
                c.default_value.clone().unwrap_or_else(|| "NULL".into()).into(),
                extra(c).into(),
            ]
        })
        .collect();
    Ok(QueryOutput::text_rows(&["Field", "Type", "Null", "Key", "Default", "Extra"], rows))
}

/// `SHOW [FULL] COLUMNS FROM t`, in MySQL's shape as upstream answers it: Null YES/NO, Key
/// the key model (DUP, UNI, AGG) for key columns; FULL adds Collation, Privileges, Comment.
pub fn show_columns(ctx: &Ctx, db: &str, table: &str, full: bool, show_hidden: bool) -> Result<QueryOutput, FeError> {
    let t = ctx.catalog.table(db, table)?;
    let key = t.keys_type.column_key();
    let rows = listed_columns(&t, show_hidden)
        .into_iter()
        .map(|c| {
            let field: Value = c.name.clone().into();
            let type_: Value = c.data_type.to_sql().into();
            let null: Value = if c.nullable { "YES" } else { "NO" }.into();
            let key: Value = if c.is_key { key } else { "" }.into();
            let default: Value = c.default_value.clone().into();
            if full {
                vec![field, type_, Value::Null, null, key, default, extra(c).into(), "SELECT".into(), c.comment.clone().into()]
            } else {
                vec![field, type_, null, key, default, extra(c).into()]
            }
        })
        .collect();
    let titles: &[&str] = if full {
        &["Field", "Type", "Collation", "Null", "Key", "Default", "Extra", "Privileges", "Comment"]
    } else {
        &["Field", "Type", "Null", "Key", "Default", "Extra"]
    };
    Ok(QueryOutput::text_rows(titles, rows))
}

/// `SHOW INDEX FROM t`: MySQL's columns; doris-rs tables have no secondary indexes.
pub fn show_index(ctx: &Ctx, db: &str, table: &str) -> Result<QueryOutput, FeError> {
    ctx.catalog.table(db, table)?;
    let titles = [
        "Table", "Non_unique", "Key_name", "Seq_in_index", "Column_name", "Collation", "Cardinality", "Sub_part",
        "Packed", "Null", "Index_type", "Comment", "Properties",
    ];
    Ok(QueryOutput::text_rows(&titles, Vec::new()))
}

pub fn show_partitions(ctx: &Ctx, db: &str, table: &str) -> Result<QueryOutput, FeError> {
    let t = ctx.catalog.table(db, table)?;
    Ok(partition_rows(&t))
}

/// SHOW PARTITIONS' rows for a table (also `SHOW PROC '/dbs/<db>/<table>/partitions'`).
pub fn partition_rows(t: &OlapTable) -> QueryOutput {
    let rows = t
        .partitions
        .iter()
        .map(|p| {
            // One replica per tablet counts: the others hold the same rows.
            let (mut size, mut rows) = (0i64, 0i64);
            for tablet in &p.index.tablets {
                if let Some(r) = tablet.replicas.iter().max_by_key(|r| r.version) {
                    size += r.data_size;
                    rows += r.row_count;
                }
            }
            let cells: Vec<Value> = vec![
                p.id.to_string().into(),
                p.name.clone().into(),
                p.visible_version.to_string().into(),
                time_string(p.visible_version_time_ms).into(),
                t.partition_state_name(p).into(),
                t.partition_columns.join(", ").into(),
                t.describe_partition(p).into(),
                t.distribution.key_text().into(),
                p.buckets.to_string().into(),
                p.replication_num.to_string().into(),
                p.storage_medium.name().into(),
                "9999-12-31 23:59:59".into(),
                t.storage_policy.clone().into(),
                NULL_STRING.into(),
                byte_string(size).into(),
                "false".into(),
                format!("tag.location.default: {}", p.replication_num).into(),
                "true".into(),
                "true".into(),
                NULL_STRING.into(),
                p.visible_version.to_string().into(),
                rows.to_string().into(),
            ];
            cells
        })
        .collect();
    QueryOutput::text_rows(PARTITION_TITLES, rows)
}

pub fn show_tablets(ctx: &Ctx, db: &str, table: &str) -> Result<QueryOutput, FeError> {
    let t = ctx.catalog.table(db, table)?;
    Ok(tablet_rows(ctx, &t, None))
}

/// SHOW TABLETS' rows for a table, or for one partition's index
/// (`SHOW PROC '/dbs/<db>/<table>/partitions/<partition>/<index>'`).
pub fn tablet_rows(ctx: &Ctx, t: &OlapTable, partition_id: Option<i64>) -> QueryOutput {
    let mut rows = Vec::new();
    for (p, tablet) in t.tablets().filter(|(p, _)| partition_id.is_none_or(|id| id == p.id)) {
        for r in &tablet.replicas {
            let (host, http) = ctx.backends.get(r.backend_id).map(|b| (b.host, b.http_port)).unwrap_or_default();
            let cells: Vec<Value> = vec![
                tablet.id.to_string().into(),
                r.id.to_string().into(),
                r.backend_id.to_string().into(),
                p.index.schema_hash.to_string().into(),
                r.version.to_string().into(),
                r.last_success_version.max(if r.is_lagging() { -1 } else { r.version }).to_string().into(),
                r.last_failed_version.to_string().into(),
                time_string(r.last_failed_time_ms).into(),
                r.data_size.to_string().into(),
                r.remote_data_size.to_string().into(),
                r.row_count.to_string().into(),
                r.state.name().into(),
                NULL_STRING.into(),
                "-1".into(),
                r.version_count.to_string().into(),
                "0".into(),
                r.path_hash.to_string().into(),
                format!("http://{host}:{http}/api/meta/header/{}", tablet.id).into(),
                format!("http://{host}:{http}/api/compaction/show?tablet_id={}", tablet.id).into(),
                tablet.cooldown_replica_id.to_string().into(),
                // Upstream prints the reported id as hex `hi-lo`, and "" before any report.
                r.cooldown_meta_id.map(|(hi, lo)| format!("{hi:x}-{lo:x}")).unwrap_or_default().into(),
            ];
            rows.push(cells);
        }
    }
    QueryOutput::text_rows(TABLET_TITLES, rows)
}
