//! The FE's SQL front end: a recursive-descent parser over the `sqlparser`
//! MySQL tokenizer, covering the statements doris-rs executes. Anything else is
//! refused with [`FeError::NotSupported`] naming the statement's first words.

pub mod ast;
mod backup;
mod ddl;
mod delete;
mod insert;
mod parser;
mod pattern;
mod policy;
mod set;
mod show;
mod system;
mod users;
#[cfg(test)]
mod tests;

pub use ast::*;
pub use pattern::like_match;

use crate::error::FeError;
use parser::Parser;

/// Parses one statement (comments and a trailing `;` allowed).
pub fn parse(sql: &str) -> Result<Statement, FeError> {
    let mut p = Parser::new(sql)?;
    if p.at_end() {
        return Err(FeError::EmptyQuery);
    }
    if p.peek() == Some(&sqlparser::tokenizer::Token::LParen) {
        return Ok(Statement::Query(sql.to_string()));
    }
    let first = p.peek_word_upper().unwrap_or_default();
    let stmt = match first.as_str() {
        // Parsed and planned by the query engine.
        "SELECT" | "WITH" | "VALUES" | "TABLE" => return Ok(Statement::Query(sql.to_string())),
        "INSERT" => insert::parse_insert(&mut p, sql)?,
        "USE" => set::parse_use(&mut p)?,
        "SET" if p.peek_kw_nth(1, "PASSWORD") => users::parse_set_password(&mut p)?,
        "SET" => set::parse_set(&mut p)?,
        "GRANT" | "REVOKE" => users::parse_grant(&mut p)?,
        "ALTER" if p.peek_kw_nth(1, "USER") => users::parse_alter_user(&mut p)?,
        "BEGIN" | "START" | "COMMIT" | "ROLLBACK" => set::parse_transaction(&mut p)?,
        "KILL" => set::parse_kill(&mut p)?,
        "SHOW" => show::parse_show(&mut p)?,
        "DESC" | "DESCRIBE" => show::parse_describe(&mut p)?,
        "CREATE" => parse_create(&mut p)?,
        "DROP" => parse_drop(&mut p)?,
        "ALTER" if p.peek_kw_nth(1, "SYSTEM") => system::parse_alter_system(&mut p)?,
        "ALTER" if p.peek_kw_nth(1, "TABLE") => ddl::parse_alter_table(&mut p)?,
        "ALTER" if p.peek_kw_nth(1, "DATABASE") || p.peek_kw_nth(1, "SCHEMA") => ddl::parse_alter_database(&mut p)?,
        "ALTER" if p.peek_kw_nth(1, "WORKLOAD") && p.peek_kw_nth(2, "GROUP") => policy::parse_alter_workload_group(&mut p)?,
        "TRUNCATE" => ddl::parse_truncate(&mut p)?,
        "DELETE" => delete::parse_delete(&mut p)?,
        "BACKUP" => backup::parse_backup(&mut p)?,
        "RESTORE" => backup::parse_restore(&mut p)?,
        "CANCEL" => backup::parse_cancel(&mut p)?,
        // Only the config listing the CCR syncer reads; other ADMIN statements are refused.
        "ADMIN" if p.peek_kw_nth(1, "SHOW") && p.peek_kw_nth(2, "FRONTEND") && p.peek_kw_nth(3, "CONFIG") => {
            p.next();
            p.next();
            show::parse_show_frontend_config(&mut p)?
        }
        _ => return Err(p.not_supported()),
    };
    p.finish()?;
    Ok(stmt)
}

fn parse_create(p: &mut Parser) -> Result<Statement, FeError> {
    let second = p.peek_nth(1).map(|t| t.to_string().to_ascii_uppercase()).unwrap_or_default();
    match second.as_str() {
        "USER" => users::parse_create_user(p),
        "ROLE" => users::parse_role(p, true),
        "DATABASE" | "SCHEMA" => ddl::parse_create_database(p),
        "TABLE" => ddl::parse_create_table(p),
        "REPOSITORY" | "READ" => backup::parse_create_repository(p),
        "RESOURCE" | "STORAGE" => policy::parse_create(p),
        _ => Err(p.not_supported()),
    }
}

fn parse_drop(p: &mut Parser) -> Result<Statement, FeError> {
    let second = p.peek_nth(1).map(|t| t.to_string().to_ascii_uppercase()).unwrap_or_default();
    match second.as_str() {
        "USER" => users::parse_drop_user(p),
        "ROLE" => users::parse_role(p, false),
        "DATABASE" | "SCHEMA" => ddl::parse_drop_database(p),
        "TABLE" => ddl::parse_drop_table(p),
        "REPOSITORY" => backup::parse_drop_repository(p),
        "RESOURCE" | "STORAGE" => policy::parse_drop(p),
        _ => Err(p.not_supported()),
    }
}
