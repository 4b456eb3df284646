//! Repositories, BACKUP / RESTORE and their SHOW / CANCEL statements.

use sqlparser::tokenizer::Token;

use super::ast::*;
use super::parser::{PResult, Parser};
use crate::error::FeError;

pub(super) fn parse_create_repository(p: &mut Parser) -> PResult<Statement> {
    p.expect_kw("CREATE")?;
    let read_only = p.eat_kws(&["READ", "ONLY"]);
    p.expect_kw("REPOSITORY")?;
    let name = p.ident("repository name")?;
    p.expect_kw("WITH")?;
    let kind = p.peek_word_upper().unwrap_or_default();
    let storage = match kind.as_str() {
        "S3" => RepositoryStorage::S3,
        "LOCAL" => RepositoryStorage::Local,
        "BROKER" | "HDFS" | "AZURE" | "GCS" | "OSS" | "COS" | "OBS" => {
            return Err(FeError::NotSupported(format!("repository storage {kind}; use S3 or LOCAL")));
        }
        _ => return Err(p.unexpected("S3 or LOCAL")),
    };
    p.next();
    p.expect_kws(&["ON", "LOCATION"])?;
    let at = p.mark();
    let location = p.string("location")?;
    match storage {
        RepositoryStorage::S3 => {
            let rest = location.strip_prefix("s3://").unwrap_or_default();
            if rest.split('/').next().unwrap_or_default().is_empty() {
                return Err(p.error_at(at, format!("S3 location '{location}' must look like s3://bucket/prefix")));
            }
        }
        RepositoryStorage::Local => {
            if !location.starts_with("file:///") {
                return Err(p.error_at(at, format!("local location '{location}' must look like file:///absolute/dir")));
            }
        }
    }
    let properties = p.opt_properties()?;
    Ok(Statement::CreateRepository(CreateRepository { name, read_only, storage, location, properties }))
}

pub(super) fn parse_drop_repository(p: &mut Parser) -> PResult<Statement> {
    p.expect_kws(&["DROP", "REPOSITORY"])?;
    Ok(Statement::DropRepository { name: p.ident("repository name")? })
}

pub(super) fn parse_backup(p: &mut Parser) -> PResult<Statement> {
    p.expect_kw("BACKUP")?;
    p.expect_kw("SNAPSHOT")?;
    let (db, label) = db_label(p)?;
    p.expect_kw("TO")?;
    let repo = p.ident("repository name")?;
    let tables = opt_table_refs(p)?;
    let properties = p.opt_properties()?;
    Ok(Statement::Backup(BackupStmt { db, label, repo, tables, properties }))
}

pub(super) fn parse_restore(p: &mut Parser) -> PResult<Statement> {
    p.expect_kw("RESTORE")?;
    p.expect_kw("SNAPSHOT")?;
    let (db, label) = db_label(p)?;
    p.expect_kw("FROM")?;
    let repo = p.ident("repository name")?;
    let tables = opt_table_refs(p)?;
    let properties = p.opt_properties()?;
    Ok(Statement::Restore(RestoreStmt { db, label, repo, tables, properties }))
}

pub(super) fn parse_cancel(p: &mut Parser) -> PResult<Statement> {
    p.expect_kw("CANCEL")?;
    if p.eat_kw("BACKUP") {
        let db = p.opt_from_db()?;
        Ok(Statement::CancelBackup { db, filter: opt_name_filter(p, "LABEL")? })
    } else if p.eat_kw("RESTORE") {
        let db = p.opt_from_db()?;
        Ok(Statement::CancelRestore { db, filter: opt_name_filter(p, "LABEL")? })
    } else {
        Err(p.not_supported())
    }
}

pub(super) fn parse_show_snapshot(p: &mut Parser) -> PResult<Statement> {
    p.expect_kws(&["SNAPSHOT", "ON"])?;
    let repo = p.ident("repository name")?;
    let (mut snapshot, mut timestamp) = (None, None);
    if p.eat_kw("WHERE") {
        loop {
            let at = p.mark();
            let column = p.ident("SNAPSHOT or TIMESTAMP")?;
            p.expect(&Token::Eq)?;
            let value = p.string("string")?;
            let slot = if column.eq_ignore_ascii_case("SNAPSHOT") {
                &mut snapshot
            } else if column.eq_ignore_ascii_case("TIMESTAMP") {
                &mut timestamp
            } else {
                return Err(p.error_at(at, format!("SHOW SNAPSHOT filters on SNAPSHOT and TIMESTAMP, not '{column}'")));
            };
            if slot.replace(value).is_some() {
                return Err(p.error_at(at, format!("'{column}' given twice")));
            }
            if !p.eat_kw("AND") {
                break;
            }
        }
        if snapshot.is_none() {
            return Err(p.error_here("SHOW SNAPSHOT ... WHERE needs SNAPSHOT = \"name\"".into()));
        }
    }
    Ok(Statement::ShowSnapshot { repo, snapshot, timestamp })
}

pub(super) fn parse_show_backup(p: &mut Parser) -> PResult<Statement> {
    p.expect_kw("BACKUP")?;
    let db = p.opt_from_db()?;
    let filter = opt_name_filter(p, "SnapshotName")?;
    Ok(Statement::ShowBackup { db, filter })
}

pub(super) fn parse_show_restore(p: &mut Parser) -> PResult<Statement> {
    p.expect_kw("RESTORE")?;
    let db = p.opt_from_db()?;
    let filter = opt_name_filter(p, "Label")?;
    Ok(Statement::ShowRestore { db, filter })
}

/// `WHERE <column> = "x"` or `WHERE <column> LIKE "x"`.
fn opt_name_filter(p: &mut Parser, column: &str) -> PResult<Option<NameFilter>> {
    if !p.eat_kw("WHERE") {
        return Ok(None);
    }
    let at = p.mark();
    let written = p.ident(column)?;
    if !written.eq_ignore_ascii_case(column) {
        return Err(p.error_at(at, format!("only {column} can be filtered on, not '{written}'")));
    }
    if p.eat(&Token::Eq) {
        Ok(Some(NameFilter::Eq(p.string("string")?)))
    } else if p.eat_kw("LIKE") {
        Ok(Some(NameFilter::Like(p.string("pattern")?)))
    } else {
        Err(p.unexpected("'=' or LIKE"))
    }
}

/// `[db.]label`.
fn db_label(p: &mut Parser) -> PResult<(Option<String>, String)> {
    let first = p.ident("snapshot label")?;
    if p.eat(&Token::Period) {
        Ok((Some(first), p.ident("snapshot label")?))
    } else {
        Ok((None, first))
    }
}

/// `ON (t [PARTITION (p, ...)] [AS alias], ...)` or `EXCLUDE (...)`.
fn opt_table_refs(p: &mut Parser) -> PResult<Option<TableRefs>> {
    let exclude = if p.eat_kw("ON") {
        false
    } else if p.eat_kw("EXCLUDE") {
        true
    } else {
        return Ok(None);
    };
    p.expect(&Token::LParen)?;
    let mut tables = Vec::new();
    loop {
        let table = p.ident("table name")?;
        let partitions = if p.eat_kw("PARTITION") || p.eat_kw("PARTITIONS") {
            p.ident_list("partition name")?
        } else {
            Vec::new()
        };
        let alias = if p.peek_kw("AS") {
            if exclude {
                return Err(p.error_here("EXCLUDE does not take aliases".into()));
            }
            p.next();
            Some(p.ident("alias")?)
        } else {
            None
        };
        tables.push(TableRef { table, partitions, alias });
        if !p.eat(&Token::Comma) {
            break;
        }
    }
    p.expect(&Token::RParen)?;
    Ok(Some(TableRefs { exclude, tables }))
}
