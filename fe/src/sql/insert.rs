//! `INSERT INTO | INSERT OVERWRITE TABLE`, upstream's grammar:
//!
//! ```text
//! INSERT { INTO | OVERWRITE TABLE } [catalog.][db.]t [PARTITION[S] (p, ...)]
//!     [WITH LABEL label] [(c, ...)] { VALUES (...), ... | SELECT ... | WITH ... }
//! ```
//!
//! The source query is kept as written for the query engine.

use sqlparser::tokenizer::Token;

use super::ast::{InsertStmt, Statement, TableName};
use super::parser::{PResult, Parser};

/// The catalog of the tables doris-rs holds, the only one a three-part name may name.
const INTERNAL_CATALOG: &str = "internal";

pub(super) fn parse_insert(p: &mut Parser, sql: &str) -> PResult<Statement> {
    p.expect_kw("INSERT")?;
    let overwrite = if p.eat_kw("OVERWRITE") {
        p.expect_kw("TABLE")?;
        true
    } else {
        p.expect_kw("INTO")?;
        false
    };
    let table = insert_table(p)?;
    let mut partitions = Vec::new();
    if p.peek_kw("PARTITION") || p.peek_kw("PARTITIONS") {
        p.next();
        partitions = p.ident_list("partition name")?;
    }
    let label = if p.eat_kws(&["WITH", "LABEL"]) { Some(p.string_or_ident("label")?) } else { None };
    let mut columns = Vec::new();
    // `(c, ...)` before the source; `(SELECT ...)` is the source itself.
    if p.peek() == Some(&Token::LParen) && !p.peek_kw_nth(1, "SELECT") && !p.peek_kw_nth(1, "WITH") {
        columns = p.ident_list("column name")?;
    }
    // Upstream's optional plan hint `[shuffle]` / `[noshuffle]`.
    if p.peek() == Some(&Token::LBracket) {
        p.next();
        p.ident("hint")?;
        p.expect(&Token::RBracket)?;
    }
    let starts_source = p.peek_kw("VALUES")
        || p.peek_kw("SELECT")
        || p.peek_kw("WITH")
        || p.peek() == Some(&Token::LParen);
    if !starts_source {
        return Err(p.unexpected("VALUES or a query"));
    }
    let source = p.rest_of(sql).trim().trim_end_matches(';').trim_end().to_string();
    // The source is the query engine's to parse: skip to the end.
    while p.next().is_some() {}
    Ok(Statement::Insert(Box::new(InsertStmt { table, overwrite, partitions, label, columns, source })))
}

/// `[internal.][db.]t`.
fn insert_table(p: &mut Parser) -> PResult<TableName> {
    let at = p.mark();
    let mut parts = vec![p.ident("table name")?];
    while p.eat(&Token::Period) {
        parts.push(p.ident("table name")?);
    }
    match parts.len() {
        1 => Ok(TableName { db: None, table: parts.remove(0) }),
        2 => Ok(TableName { db: Some(parts.remove(0)), table: parts.remove(0) }),
        3 if parts[0].eq_ignore_ascii_case(INTERNAL_CATALOG) => {
            Ok(TableName { db: Some(parts.remove(1)), table: parts.remove(1) })
        }
        _ => Err(p.error_at(at, format!("bad table name {}", parts.join(".")))),
    }
}
