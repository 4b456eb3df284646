//! `SHOW ...`: dispatches to the statement families and handles the generic
//! ones (databases, tables, variables).

use sqlparser::tokenizer::Token;

use super::ast::{NameFilter, PredicateOp, Statement, TxnFilter, VariableFilter, VariablePredicate, VariableScope};
use super::parser::{PResult, Parser};
use super::{backup, ddl, system};

/// `FROM|IN t [FROM|IN db]`.
fn table_from(p: &mut Parser) -> PResult<super::ast::TableName> {
    if !(p.eat_kw("FROM") || p.eat_kw("IN")) {
        return Err(p.unexpected("FROM"));
    }
    let mut t = p.table_name()?;
    if p.eat_kw("FROM") || p.eat_kw("IN") {
        t.db = Some(p.ident("database name")?);
    }
    Ok(t)
}

fn show_columns(p: &mut Parser, full: bool) -> PResult<Statement> {
    p.next();
    Ok(Statement::ShowColumns { table: table_from(p)?, full })
}

/// `DESC[RIBE] t [ALL]`.
pub(super) fn parse_describe(p: &mut Parser) -> PResult<Statement> {
    p.next();
    let table = p.table_name()?;
    p.eat_kw("ALL");
    Ok(Statement::Describe { table })
}

pub(super) fn parse_show(p: &mut Parser) -> PResult<Statement> {
    p.expect_kw("SHOW")?;
    let word = p.peek_word_upper().unwrap_or_default();
    match word.as_str() {
        "DATABASES" | "SCHEMAS" => {
            p.next();
            Ok(Statement::ShowDatabases { like: p.opt_like()? })
        }
        "TABLES" => show_tables(p, false),
        "FULL" if p.peek_kw_nth(1, "TABLES") => {
            p.next();
            show_tables(p, true)
        }
        "VARIABLES" => show_variables(p, VariableScope::Session),
        "COLUMNS" | "FIELDS" => show_columns(p, false),
        "FULL" if p.peek_kw_nth(1, "COLUMNS") || p.peek_kw_nth(1, "FIELDS") => {
            p.next();
            show_columns(p, true)
        }
        "INDEX" | "INDEXES" | "KEYS" => {
            p.next();
            Ok(Statement::ShowIndex { table: table_from(p)? })
        }
        "GRANTS" | "ROLES" => super::users::parse_show(p),
        "ALL" if p.peek_kw_nth(1, "GRANTS") => super::users::parse_show(p),
        "WARNINGS" | "ERRORS" => {
            p.next();
            // `LIMIT [offset,] n` changes nothing: there are never any to show.
            if p.eat_kw("LIMIT") {
                p.u64("row count")?;
                if p.eat(&Token::Comma) {
                    p.u64("row count")?;
                }
            }
            Ok(Statement::ShowWarnings { errors: word == "ERRORS" })
        }
        "PROCESSLIST" => {
            p.next();
            Ok(Statement::ShowProcesslist { full: false })
        }
        "FULL" if p.peek_kw_nth(1, "PROCESSLIST") => {
            p.next();
            p.next();
            Ok(Statement::ShowProcesslist { full: true })
        }
        "SESSION" | "LOCAL" if p.peek_kw_nth(1, "VARIABLES") => {
            p.next();
            show_variables(p, VariableScope::Session)
        }
        "GLOBAL" if p.peek_kw_nth(1, "VARIABLES") => {
            p.next();
            show_variables(p, VariableScope::Global)
        }
        "CREATE" if p.peek_kw_nth(1, "TABLE") => ddl::parse_show_create_table(p),
        "CREATE" if p.peek_kw_nth(1, "DATABASE") || p.peek_kw_nth(1, "SCHEMA") => {
            p.next();
            p.next();
            Ok(Statement::ShowCreateDatabase { name: p.ident("database name")? })
        }
        // `SHOW TABLE 10010`, `SHOW DATABASE 10002`, `SHOW PARTITION 10011`: lookups by id.
        "TABLE" | "DATABASE" | "PARTITION" if p.peek_nth_is_number(1) => {
            p.next();
            let id = p.id("id")?;
            Ok(match word.as_str() {
                "TABLE" => Statement::ShowTableId { id },
                "DATABASE" => Statement::ShowDatabaseId { id },
                _ => Statement::ShowPartitionId { id },
            })
        }
        "PROC" => {
            p.next();
            Ok(Statement::ShowProc { path: p.string("proc path")? })
        }
        "FRONTEND" if p.peek_kw_nth(1, "CONFIG") => parse_show_frontend_config(p),
        "PARTITIONS" => ddl::parse_show_partitions(p),
        "TABLETS" | "TABLET" if p.peek_kw_nth(1, "FROM") => ddl::parse_show_tablets(p),
        "BACKENDS" | "FRONTENDS" => system::parse_show_nodes(p),
        "REPOSITORIES" => {
            p.next();
            Ok(Statement::ShowRepositories)
        }
        "RESOURCES" => {
            p.next();
            Ok(Statement::ShowResources)
        }
        "STORAGE" if p.peek_kw_nth(1, "POLICY") => {
            p.next();
            p.next();
            Ok(Statement::ShowStoragePolicy)
        }
        "WORKLOAD" if p.peek_kw_nth(1, "GROUPS") => {
            p.next();
            p.next();
            Ok(Statement::ShowWorkloadGroups { like: p.opt_like()? })
        }
        "TRANSACTION" => show_transaction(p),
        "LOAD" => show_load(p),
        "SNAPSHOT" => backup::parse_show_snapshot(p),
        "BACKUP" => backup::parse_show_backup(p),
        "RESTORE" => backup::parse_show_restore(p),
        _ => Err(p.not_supported()),
    }
}

/// Upstream's refusal of any other SHOW LOAD filter.
const SHOW_LOAD_WHERE: &str = "Where clause should looks like: LABEL = \"your_load_label\", or LABEL LIKE \"matcher\",  \
     or STATE = \"PENDING|ETL|LOADING|FINISHED|CANCELLED\",  or compound predicate with operator AND";

/// Upstream's load job states, which STATE = may name.
const LOAD_STATES: [&str; 7] = ["UNKNOWN", "PENDING", "ETL", "LOADING", "COMMITTED", "FINISHED", "CANCELLED"];

/// `SHOW LOAD [FROM db] [WHERE LABEL = "l" | LABEL LIKE "p" | STATE = "s" [AND ...]]
/// [LIMIT n]`.
fn show_load(p: &mut Parser) -> PResult<Statement> {
    p.expect_kw("LOAD")?;
    let db = p.opt_from_db()?;
    let (mut label, mut state) = (None, None);
    if p.eat_kw("WHERE") {
        loop {
            let at = p.mark();
            let column = p.ident("LABEL or STATE")?.to_ascii_uppercase();
            match column.as_str() {
                "LABEL" if label.is_none() => {
                    let filter = if p.eat(&Token::Eq) {
                        NameFilter::Eq(p.string("label")?)
                    } else if p.eat_kw("LIKE") {
                        NameFilter::Like(p.string("pattern")?)
                    } else {
                        return Err(p.error_at(at, SHOW_LOAD_WHERE.into()));
                    };
                    label = Some(filter);
                }
                "STATE" if state.is_none() && p.eat(&Token::Eq) => {
                    let s = p.string("state")?.to_ascii_uppercase();
                    if !LOAD_STATES.contains(&s.as_str()) {
                        return Err(p.error_at(at, SHOW_LOAD_WHERE.into()));
                    }
                    state = Some(s);
                }
                _ => return Err(p.error_at(at, SHOW_LOAD_WHERE.into())),
            }
            if !p.eat_kw("AND") {
                break;
            }
        }
    }
    let limit = if p.eat_kw("LIMIT") { Some(p.u64("limit")?) } else { None };
    Ok(Statement::ShowLoad { db, label, state, limit })
}

/// `SHOW TRANSACTION [FROM db] WHERE id = N | label = "x"`.
fn show_transaction(p: &mut Parser) -> PResult<Statement> {
    p.expect_kw("TRANSACTION")?;
    let db = p.opt_from_db()?;
    p.expect_kw("WHERE")?;
    let at = p.mark();
    let column = p.ident("id or label")?;
    if !p.eat(&Token::Eq) {
        return Err(p.unexpected("'='"));
    }
    let filter = match column.to_ascii_lowercase().as_str() {
        "id" => TxnFilter::Id(p.id("transaction id")?),
        "label" => TxnFilter::Label(p.string("label")?),
        _ => return Err(p.error_at(at, format!("only id or label can be filtered on, not '{column}'"))),
    };
    Ok(Statement::ShowTransaction { db, filter })
}

/// `SHOW FRONTEND CONFIG [LIKE 'p']`, after `SHOW` (also reached from `ADMIN SHOW`).
pub(super) fn parse_show_frontend_config(p: &mut Parser) -> PResult<Statement> {
    p.expect_kws(&["FRONTEND", "CONFIG"])?;
    Ok(Statement::ShowFrontendConfig { like: p.opt_like()? })
}

fn show_tables(p: &mut Parser, full: bool) -> PResult<Statement> {
    p.expect_kw("TABLES")?;
    let mut db = p.opt_from_db()?;
    // The CCR syncer sends `SHOW TABLES `db`` (no FROM); take a bare name as the database.
    if db.is_none() && !p.at_end() && !p.peek_kw("LIKE") && !p.peek_kw("WHERE") {
        db = Some(p.ident("database name")?);
    }
    let like = p.opt_like()?;
    Ok(Statement::ShowTables { db, full, like })
}

fn show_variables(p: &mut Parser, scope: VariableScope) -> PResult<Statement> {
    p.expect_kw("VARIABLES")?;
    let filter = if p.eat_kw("LIKE") {
        Some(VariableFilter::Like(p.string("pattern")?))
    } else if p.eat_kw("WHERE") {
        let mut preds = vec![variable_predicate(p)?];
        while p.eat_kw("OR") {
            preds.push(variable_predicate(p)?);
        }
        Some(VariableFilter::Where(preds))
    } else {
        None
    };
    Ok(Statement::ShowVariables { scope, filter })
}

fn variable_predicate(p: &mut Parser) -> PResult<VariablePredicate> {
    let column = p.ident("Variable_name or Value")?;
    if !column.eq_ignore_ascii_case("Variable_name") && !column.eq_ignore_ascii_case("Value") {
        return Err(p.error_here(format!("unknown column '{column}' in SHOW VARIABLES filter")));
    }
    let op = if p.eat(&Token::Eq) {
        PredicateOp::Eq(p.string("string")?)
    } else if p.eat_kw("LIKE") {
        PredicateOp::Like(p.string("pattern")?)
    } else if p.eat_kw("IN") {
        p.expect(&Token::LParen)?;
        let mut values = vec![p.string("string")?];
        while p.eat(&Token::Comma) {
            values.push(p.string("string")?);
        }
        p.expect(&Token::RParen)?;
        PredicateOp::In(values)
    } else {
        return Err(p.unexpected("'=', LIKE or IN"));
    };
    Ok(VariablePredicate { column, op })
}
