//! Which log a getBinlog / getBinlogLag reads: the database (and table) named, checked the
//! way upstream checks them, each refusal with its own status.

use crate::catalog::Catalog;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BinlogError {
    #[error("binlog feature is not enabled (enable_feature_binlog = false in fe.conf)")]
    FeatureOff,
    #[error("db not found: {0}")]
    NoDatabase(String),
    #[error("table not found: {0}")]
    NoTable(String),
    #[error("binlog is not enabled for {0}: set \"binlog.enable\" = \"true\"")]
    Disabled(String),
}

/// Whether a change of `table` (or of database `db` itself, without a table) goes into
/// the log: the feature is on and the table or its database keeps binlogs.
pub fn keeps(feature_on: bool, db: &crate::catalog::Database, table: Option<&crate::catalog::OlapTable>) -> bool {
    feature_on && (db.binlog().enable || table.is_some_and(|t| t.binlog().enable))
}

/// A log to read: a database's, or one table's within it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub db_id: i64,
    pub table_id: Option<i64>,
}

/// The log of database `db` (and of its table `table_id`, or named `table`, when given).
/// The database or the table must keep binlogs.
pub fn resolve(
    catalog: &Catalog,
    feature_on: bool,
    db: &str,
    table: Option<&str>,
    table_id: Option<i64>,
) -> Result<Target, BinlogError> {
    if !feature_on {
        return Err(BinlogError::FeatureOff);
    }
    let d = catalog.database(db).ok_or_else(|| BinlogError::NoDatabase(db.to_string()))?;
    let t = match (table_id, table.filter(|t| !t.is_empty())) {
        (Some(id), _) => Some(
            catalog.table_by_id(id).filter(|t| t.db_id == d.id).ok_or_else(|| BinlogError::NoTable(id.to_string()))?,
        ),
        (None, Some(name)) => Some(catalog.table(db, name).map_err(|_| BinlogError::NoTable(name.to_string()))?),
        (None, None) => None,
    };
    match &t {
        Some(t) if !t.binlog().enable && !d.binlog().enable => Err(BinlogError::Disabled(format!("table {}", t.name))),
        None if !d.binlog().enable => Err(BinlogError::Disabled(format!("database {db}"))),
        _ => Ok(Target { db_id: d.id, table_id: t.map(|t| t.id) }),
    }
}
