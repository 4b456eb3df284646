//! USE, CREATE/DROP DATABASE, SHOW DATABASES.

use super::format::like;
use crate::tables::{self, TableDdl};
use crate::context::{Ctx, FeContext};
use crate::error::FeError;
use crate::mysql::{QueryOutput, Value};
use crate::sql::Properties;

pub fn use_db(ctx: &Ctx, db: &str) -> Result<QueryOutput, FeError> {
    match ctx.catalog.database(db) {
        Some(_) => Ok(QueryOutput::ok()),
        None if crate::query::is_information_schema(db) => Ok(QueryOutput::ok()),
        None => Err(FeError::UnknownDatabase(db.to_string())),
    }
}

pub fn create(ctx: &Ctx, name: &str, if_not_exists: bool, properties: Properties) -> Result<QueryOutput, FeError> {
    let properties = properties.into_iter().map(|(k, v)| (k.trim().to_ascii_lowercase(), v)).collect();
    ctx.catalog.create_database_with(name, if_not_exists, properties, FeContext::now_ms())?;
    Ok(QueryOutput::ok())
}

/// ALTER DATABASE db SET PROPERTIES: the binlog settings.
pub fn set_properties(ctx: &Ctx, name: &str, properties: &Properties) -> Result<QueryOutput, FeError> {
    ctx.catalog.set_database_properties(name, properties)?;
    Ok(QueryOutput::ok())
}

pub async fn drop(ctx: &TableDdl, name: &str, if_exists: bool, force: bool) -> Result<QueryOutput, FeError> {
    tables::drop_database(ctx, name, if_exists, force).await?;
    Ok(QueryOutput::ok())
}

/// `SHOW DATABASES [LIKE p]`: `information_schema`, which everyone sees, and those `user`
/// holds some privilege in, as upstream lists them.
pub fn show(ctx: &Ctx, user: &crate::auth::UserIdentity, pattern: Option<&str>) -> Result<QueryOutput, FeError> {
    let mut names: Vec<String> = ctx
        .catalog
        .databases()
        .into_iter()
        .filter(|d| ctx.users.can_see(user, &crate::auth::Scope::db(&d.name)))
        .map(|d| d.name)
        .collect();
    names.push(crate::query::INFORMATION_SCHEMA.to_string());
    names.sort();
    let rows = names.into_iter().filter(|n| pattern.is_none_or(|p| like(n, p))).map(|n| vec![Value::from(n)]).collect();
    Ok(QueryOutput::text_rows(&["Database"], rows))
}

/// `SHOW CREATE DATABASE db`, with its PROPERTIES as upstream prints them.
pub fn show_create(ctx: &Ctx, name: &str) -> Result<QueryOutput, FeError> {
    let d = ctx.catalog.database(name).ok_or_else(|| FeError::UnknownDatabase(name.to_string()))?;
    Ok(QueryOutput::text_rows(
        &["Database", "Create Database"],
        vec![vec![Value::from(d.name.clone()), d.create_database_ddl().into()]],
    ))
}
