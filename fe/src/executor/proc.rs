//! `SHOW PROC '<path>'` and `SHOW TABLE <id>`: the id-addressed views the CCR syncer reads
//! (`/dbs/`, `/dbs/<db>/`, `/dbs/<db>/<table>/partitions[/<partition>[/<index>]]`,
//! `/backends`, `/frontends`). The SQL parser does not produce these statements yet; a
//! `Statement::ShowProc { path }` arm only needs to call [`show_proc`].

use super::format::{byte_string, NULL_STRING};
use super::{system, tables};
use crate::catalog::OlapTable;
use crate::context::Ctx;
use crate::error::FeError;
use crate::mysql::{QueryOutput, Value};

pub const DBS_TITLES: &[&str] = &[
    "DbId",
    "DbName",
    "TableNum",
    "Size",
    "Quota",
    "LastConsistencyCheckTime",
    "ReplicaCount",
    "ReplicaQuota",
    "RunningTransactionNum",
    "TransactionQuota",
    "LastUpdateTime",
];

pub const TABLES_TITLES: &[&str] = &[
    "TableId",
    "TableName",
    "IndexNum",
    "PartitionColumnName",
    "PartitionNum",
    "State",
    "Type",
    "LastConsistencyCheckTime",
    "ReplicaCount",
];

pub const INDEX_TITLES: &[&str] = &["IndexId", "IndexName", "State", "LastConsistencyCheckTime"];

fn bad_path(path: &str) -> FeError {
    FeError::InvalidArgument(format!("Proc path '{path}' does not exist or is not supported by doris-rs"))
}

fn id(path: &str, s: &str) -> Result<i64, FeError> {
    s.parse::<i64>().map_err(|_| bad_path(path))
}

fn replica_count(t: &OlapTable) -> usize {
    t.tablets().map(|(_, tablet)| tablet.replicas.len()).sum()
}

pub fn show_proc(ctx: &Ctx, path: &str) -> Result<QueryOutput, FeError> {
    let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match parts.as_slice() {
        ["backends"] => Ok(system::show_backends(ctx)),
        ["frontends"] => Ok(system::show_frontends(ctx)),
        ["dbs"] => Ok(dbs(ctx)),
        ["dbs", db] => {
            let db_id = id(path, db)?;
            ctx.catalog.database_by_id(db_id).ok_or_else(|| FeError::NotFound(format!("database {db_id}")))?;
            Ok(tables_of(ctx, db_id))
        }
        ["dbs", db, table, rest @ ..] => {
            let (db_id, table_id) = (id(path, db)?, id(path, table)?);
            let t = ctx
                .catalog
                .table_by_id(table_id)
                .filter(|t| t.db_id == db_id)
                .ok_or_else(|| FeError::NotFound(format!("table {table_id} in database {db_id}")))?;
            match rest {
                ["partitions"] => Ok(tables::partition_rows(&t)),
                ["partitions", p] => {
                    let p = t.partitions.iter().find(|x| x.id.to_string() == *p).ok_or_else(|| bad_path(path))?;
                    let row: Vec<Value> = vec![
                        p.index.id.to_string().into(),
                        p.index.name.clone().into(),
                        "NORMAL".into(),
                        NULL_STRING.into(),
                    ];
                    Ok(QueryOutput::text_rows(INDEX_TITLES, vec![row]))
                }
                ["partitions", p, index] => {
                    let p = t.partitions.iter().find(|x| x.id.to_string() == *p).ok_or_else(|| bad_path(path))?;
                    if p.index.id.to_string() != *index {
                        return Err(bad_path(path));
                    }
                    Ok(tables::tablet_rows(ctx, &t, Some(p.id)))
                }
                _ => Err(bad_path(path)),
            }
        }
        _ => Err(bad_path(path)),
    }
}

fn dbs(ctx: &Ctx) -> QueryOutput {
    let rows = ctx
        .catalog
        .databases()
        .into_iter()
        .map(|d| {
            let tables = ctx.catalog.tables(d.id);
            let size: i64 = tables
                .iter()
                .flat_map(|t| t.tablets().filter_map(|(_, tb)| tb.replicas.iter().map(|r| r.data_size).max()))
                .sum();
            let cells: Vec<Value> = vec![
                d.id.to_string().into(),
                d.name.clone().into(),
                tables.len().to_string().into(),
                byte_string(size).into(),
                "1024.000 TB".into(),
                NULL_STRING.into(),
                tables.iter().map(replica_count).sum::<usize>().to_string().into(),
                "1073741824".into(),
                "0".into(),
                "1000".into(),
                NULL_STRING.into(),
            ];
            cells
        })
        .collect();
    QueryOutput::text_rows(DBS_TITLES, rows)
}

fn tables_of(ctx: &Ctx, db_id: i64) -> QueryOutput {
    let rows = ctx
        .catalog
        .tables(db_id)
        .into_iter()
        .map(|t| {
            let cells: Vec<Value> = vec![
                t.id.to_string().into(),
                t.name.clone().into(),
                "1".into(),
                if t.partition_columns.is_empty() { NULL_STRING.to_string() } else { t.partition_columns.join(", ") }
                    .into(),
                t.partitions.len().to_string().into(),
                "NORMAL".into(),
                "OLAP".into(),
                NULL_STRING.into(),
                replica_count(&t).to_string().into(),
            ];
            cells
        })
        .collect();
    QueryOutput::text_rows(TABLES_TITLES, rows)
}

/// `SHOW TABLE <id>`: DbName, TableName, DbId.
pub fn show_table_by_id(ctx: &Ctx, table_id: i64) -> Result<QueryOutput, FeError> {
    let t = ctx.catalog.table_by_id(table_id).ok_or_else(|| FeError::NotFound(format!("table {table_id}")))?;
    let db = ctx.catalog.database_by_id(t.db_id).ok_or_else(|| FeError::NotFound(format!("database {}", t.db_id)))?;
    Ok(QueryOutput::text_rows(
        &["DbName", "TableName", "DbId"],
        vec![vec![db.name.into(), t.name.into(), db.id.to_string().into()]],
    ))
}
