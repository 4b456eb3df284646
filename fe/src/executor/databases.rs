//! USE, CREATE/DROP DATABASE, SHOW DATABASES.

use super::format::like;
use crate::tables::{self, TableDdl};
use crate::context::{Ctx, FeContext};
use crate::error::FeError;
use crate::mysql::{QueryOutput, Value};

pub fn use_db(ctx: &Ctx, db: &str) -> Result<QueryOutput, FeError> {
    match ctx.catalog.database(db) {
        Some(_) => Ok(QueryOutput::ok()),
        None => Err(FeError::UnknownDatabase(db.to_string())),
    }
}

pub fn create(ctx: &Ctx, name: &str, if_not_exists: bool) -> Result<QueryOutput, FeError> {
    ctx.catalog.create_database(name, if_not_exists, FeContext::now_ms())?;
    Ok(QueryOutput::ok())
}

pub async fn drop(ctx: &TableDdl, name: &str, if_exists: bool, force: bool) -> Result<QueryOutput, FeError> {
    tables::drop_database(ctx, name, if_exists, force).await?;
    Ok(QueryOutput::ok())
}

pub fn show(ctx: &Ctx, pattern: Option<&str>) -> Result<QueryOutput, FeError> {
    let rows = ctx
        .catalog
        .databases()
        .into_iter()
        .filter(|d| pattern.is_none_or(|p| like(&d.name, p)))
        .map(|d| vec![Value::from(d.name)])
        .collect();
    Ok(QueryOutput::text_rows(&["Database"], rows))
}

/// `SHOW CREATE DATABASE db`: doris-rs keeps no database properties, so the statement is
/// the bare `CREATE DATABASE` upstream prints for a database without any.
pub fn show_create(ctx: &Ctx, name: &str) -> Result<QueryOutput, FeError> {
    let d = ctx.catalog.database(name).ok_or_else(|| FeError::UnknownDatabase(name.to_string()))?;
    Ok(QueryOutput::text_rows(
        &["Database", "Create Database"],
        vec![vec![Value::from(d.name.clone()), format!("CREATE DATABASE `{}`", d.name).into()]],
    ))
}
