//! `SHOW PROC '<path>'` and the id lookups (`SHOW TABLE <id>`, `SHOW DATABASE <id>`,
//! `SHOW PARTITION <id>`): the id-addressed views the CCR syncer walks during a full sync
//! (`/dbs/`, `/dbs/<db>/`, `/dbs/<db>/<table>/partitions[/<partition>[/<index>]]`,
//! `/backends`, `/frontends`). Titles, row order and error texts follow upstream's proc
//! nodes; proc entries upstream has and doris-rs does not answer "not supported".

use super::format::{byte_string, NULL_STRING};
use super::{system, tables};
use crate::catalog::{OlapTable, Partition};
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

/// `/dbs/<db>/<table>`: the entries below a table.
pub const TABLE_NODES_TITLES: &[&str] = &["Nodes"];
const TABLE_NODES: &[&str] = &["partitions", "temp_partitions", "index_schema", "indexes"];

pub const INDEX_TITLES: &[&str] = &["IndexId", "IndexName", "State", "LastConsistencyCheckTime"];

/// Upstream's root proc entries; the ones not matched in [`show_proc`] are "not supported".
const UPSTREAM_ROOT: &[&str] = &[
    "auth",
    "backends",
    "catalogs",
    "dbs",
    "jobs",
    "statistic",
    "tasks",
    "frontends",
    "brokers",
    "resources",
    "transactions",
    "trash",
    "monitor",
    "current_queries",
    "current_query_stmts",
    "current_backend_instances",
    "cluster_balance",
    "cluster_health",
    "routine_loads",
    "stream_loads",
    "colocation_group",
    "bdbje",
    "diagnose",
    "binlog",
];

/// Parses `s` as the id named `what` ("db", "table", ...), with upstream's error text.
fn parse_id(what: &str, s: &str) -> Result<i64, FeError> {
    s.parse::<i64>().map_err(|_| FeError::InvalidArgument(format!("Invalid {what} id format: {s}")))
}

fn replica_count(t: &OlapTable) -> usize {
    t.tablets().map(|(_, tablet)| tablet.replicas.len()).sum()
}

/// The path's components, read as upstream's ProcService does: leading blanks skipped,
/// it must start with '/', repeated '/' collapse, and a blank after the root ends it.
fn components(path: &str) -> Result<Vec<&str>, FeError> {
    let rest = path.trim_start();
    if rest.is_empty() {
        return Err(FeError::InvalidArgument("Path is null".into()));
    }
    if !rest.starts_with('/') {
        return Err(FeError::InvalidArgument(format!("Path({path}) does not start with '/'")));
    }
    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    Ok(rest[..end].split('/').filter(|s| !s.is_empty()).collect())
}

#[tracing::instrument(skip(ctx))]
pub fn show_proc(ctx: &Ctx, path: &str) -> Result<QueryOutput, FeError> {
    let parts = components(path)?;
    let not_supported = || FeError::not_supported(format!("SHOW PROC '{path}'"));
    match parts.as_slice() {
        ["backends"] => Ok(system::show_backends(ctx)),
        ["frontends"] => Ok(system::show_frontends(ctx)),
        ["dbs"] => Ok(dbs(ctx)),
        ["dbs", db, rest @ ..] => {
            let db_id = parse_id("db", db)?;
            ctx.catalog.database_by_id(db_id).ok_or_else(|| FeError::NotFound(format!("Database {db_id}")))?;
            let [table, rest @ ..] = rest else {
                return Ok(tables_of(ctx, db_id));
            };
            let table_id = parse_id("table", table)?;
            let t = ctx
                .catalog
                .table_by_id(table_id)
                .filter(|t| t.db_id == db_id)
                .ok_or_else(|| FeError::NotFound(format!("Table[{table_id}]")))?;
            table_node(ctx, &t, rest, not_supported)
        }
        [first, ..] if UPSTREAM_ROOT.contains(first) => Err(not_supported()),
        [] => Err(not_supported()),
        _ => Err(FeError::InvalidArgument(format!("Proc path '{path}' doesn't exist"))),
    }
}

/// Below `/dbs/<db>/<table>`.
fn table_node(
    ctx: &Ctx,
    t: &OlapTable,
    rest: &[&str],
    not_supported: impl Fn() -> FeError,
) -> Result<QueryOutput, FeError> {
    let partition = |id: &str| -> Result<&Partition, FeError> {
        let id = parse_id("partition", id)?;
        t.partitions.iter().find(|p| p.id == id).ok_or_else(|| FeError::NotFound(format!("Partition[{id}]")))
    };
    match rest {
        [] => Ok(QueryOutput::text_rows(
            TABLE_NODES_TITLES,
            TABLE_NODES.iter().map(|n| vec![Value::from(*n)]).collect(),
        )),
        ["partitions"] => Ok(tables::partition_rows(t)),
        // doris-rs tables have no temporary partitions.
        ["temp_partitions"] => Ok(QueryOutput::text_rows(tables::PARTITION_TITLES, vec![])),
        ["temp_partitions", id, ..] => {
            Err(FeError::NotFound(format!("Partition[{}]", parse_id("partition", id)?)))
        }
        ["partitions", p] => {
            let p = partition(p)?;
            // One materialized index per partition: the base index.
            let row: Vec<Value> =
                vec![p.index.id.to_string().into(), p.index.name.clone().into(), "NORMAL".into(), NULL_STRING.into()];
            Ok(QueryOutput::text_rows(INDEX_TITLES, vec![row]))
        }
        ["partitions", p, index] => {
            let p = partition(p)?;
            let index_id = parse_id("index", index)?;
            if p.index.id != index_id {
                return Err(FeError::NotFound(format!("Index[{index_id}]")));
            }
            Ok(tables::tablet_rows(ctx, t, Some(p.id)))
        }
        ["partitions", _, _, ..] | ["index_schema", ..] | ["indexes", ..] => Err(not_supported()),
        [entry, ..] => Err(FeError::InvalidArgument(format!("Not implemented yet: {entry}"))),
    }
}

/// `/dbs/`: one row per database, by id.
fn dbs(ctx: &Ctx) -> QueryOutput {
    let mut dbs = ctx.catalog.databases();
    dbs.sort_by_key(|d| d.id);
    let rows = dbs
        .into_iter()
        .map(|d| {
            let tables = ctx.catalog.tables(d.id);
            // One replica per tablet counts: the others hold the same data.
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
                tables.iter().map(|t| replica_count(t)).sum::<usize>().to_string().into(),
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

/// `/dbs/<db>/`: one row per table, by id.
fn tables_of(ctx: &Ctx, db_id: i64) -> QueryOutput {
    let mut tables = ctx.catalog.tables(db_id);
    tables.sort_by_key(|t| t.id);
    let rows = tables
        .into_iter()
        .map(|t| {
            let cells: Vec<Value> = vec![
                t.id.to_string().into(),
                t.name.clone().into(),
                "1".into(),
                if t.partition_columns.is_empty() { NULL_STRING.to_string() } else { t.partition_columns.join(", ") }
                    .into(),
                t.partitions.len().to_string().into(),
                t.state_name().into(),
                "OLAP".into(),
                NULL_STRING.into(),
                replica_count(&t).to_string().into(),
            ];
            cells
        })
        .collect();
    QueryOutput::text_rows(TABLES_TITLES, rows)
}

/// `SHOW TABLE <id>`: DbName, TableName, DbId; no row when no table has that id (as upstream),
/// so it never fails (the Result is kept for callers written against the earlier signature).
pub fn show_table_by_id(ctx: &Ctx, table_id: i64) -> Result<QueryOutput, FeError> {
    let rows = ctx
        .catalog
        .table_by_id(table_id)
        .and_then(|t| ctx.catalog.database_by_id(t.db_id).map(|db| (db, t)))
        .map(|(db, t)| vec![db.name.into(), t.name.clone().into(), db.id.to_string().into()])
        .into_iter()
        .collect();
    Ok(QueryOutput::text_rows(&["DbName", "TableName", "DbId"], rows))
}

/// `SHOW DATABASE <id>`: DbName; no row when no database has that id.
pub fn show_database_by_id(ctx: &Ctx, db_id: i64) -> QueryOutput {
    let rows = ctx.catalog.database_by_id(db_id).map(|db| vec![Value::from(db.name)]).into_iter().collect();
    QueryOutput::text_rows(&["DbName"], rows)
}

/// `SHOW PARTITION <id>`: DbName, TableName, PartitionName, DbId, TableId.
pub fn show_partition_by_id(ctx: &Ctx, partition_id: i64) -> QueryOutput {
    let mut rows = Vec::new();
    'dbs: for db in ctx.catalog.databases() {
        for t in ctx.catalog.tables(db.id) {
            if let Some(p) = t.partitions.iter().find(|p| p.id == partition_id) {
                rows.push(vec![
                    db.name.clone().into(),
                    t.name.clone().into(),
                    p.name.clone().into(),
                    db.id.to_string().into(),
                    t.id.to_string().into(),
                ]);
                break 'dbs;
            }
        }
    }
    QueryOutput::text_rows(&["DbName", "TableName", "PartitionName", "DbId", "TableId"], rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_read_like_upstream() {
        assert_eq!(components("/dbs/").unwrap(), vec!["dbs"]);
        assert_eq!(components("  //dbs//10/11/partitions ").unwrap(), vec!["dbs", "10", "11", "partitions"]);
        assert_eq!(components("/dbs/10 trailing words").unwrap(), vec!["dbs", "10"]);
        assert!(components("/").unwrap().is_empty());
        let e = components("dbs").unwrap_err();
        assert_eq!(e.to_string(), "invalid argument: Path(dbs) does not start with '/'");
        assert!(components("").is_err());
        assert_eq!(parse_id("db", "x1").unwrap_err().to_string(), "invalid argument: Invalid db id format: x1");
    }
}
