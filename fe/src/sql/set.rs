//! Session statements: `USE`, the `SET` forms drivers send, and transaction control.

use sqlparser::tokenizer::Token;

use super::ast::{SetValue, SetVariable, Statement, TxnControl, VariableScope};
use super::parser::{PResult, Parser};

pub(super) fn parse_use(p: &mut Parser) -> PResult<Statement> {
    p.expect_kw("USE")?;
    let first = p.ident("database name")?;
    if !p.eat(&Token::Period) {
        return Ok(Statement::Use { db: first });
    }
    // `USE catalog.db`: only Doris' own catalog exists here.
    if !first.eq_ignore_ascii_case("internal") {
        return Err(crate::error::FeError::NotSupported(format!("catalog '{first}'")));
    }
    Ok(Statement::Use { db: p.ident("database name")? })
}

/// `BEGIN [WORK]`, `START TRANSACTION`, `COMMIT [WORK]`, `ROLLBACK [WORK]`.
pub(super) fn parse_transaction(p: &mut Parser) -> PResult<Statement> {
    let control = if p.eat_kw("BEGIN") {
        TxnControl::Begin
    } else if p.eat_kws(&["START", "TRANSACTION"]) {
        // Modifiers (READ ONLY, WITH CONSISTENT SNAPSHOT) change nothing here.
        while p.next().is_some() {}
        return Ok(Statement::Transaction(TxnControl::Begin));
    } else if p.eat_kw("COMMIT") {
        TxnControl::Commit
    } else if p.eat_kw("ROLLBACK") {
        TxnControl::Rollback
    } else {
        return Err(p.not_supported());
    };
    p.eat_kw("WORK");
    Ok(Statement::Transaction(control))
}

/// `KILL [CONNECTION | QUERY] id`.
pub(super) fn parse_kill(p: &mut Parser) -> PResult<Statement> {
    p.expect_kw("KILL")?;
    let query_only = if p.eat_kw("QUERY") {
        true
    } else {
        p.eat_kw("CONNECTION");
        false
    };
    let id = p.u64("connection id")?;
    let id = u32::try_from(id).map_err(|_| p.error_here(format!("connection id {id} is out of range")))?;
    Ok(Statement::Kill { connection_id: id, query_only })
}

pub(super) fn parse_set(p: &mut Parser) -> PResult<Statement> {
    p.expect_kw("SET")?;
    if p.eat_kw("NAMES") {
        let charset = if p.eat_kw("DEFAULT") { "utf8mb4".to_string() } else { p.string_or_ident("character set")? };
        let collation = if p.eat_kw("COLLATE") { Some(p.string_or_ident("collation")?) } else { None };
        return Ok(Statement::SetNames { charset, collation });
    }
    if p.eat_kws(&["CHARACTER", "SET"]) || p.eat_kw("CHARSET") {
        let charset = if p.eat_kw("DEFAULT") { "utf8mb4".to_string() } else { p.string_or_ident("character set")? };
        return Ok(Statement::SetNames { charset, collation: None });
    }
    if p.peek_kw("TRANSACTION") || p.peek_kw("PROPERTY") || p.peek_kw("LDAP_ADMIN_PASSWORD") {
        return Err(p.not_supported());
    }
    let mut vars = vec![set_variable(p)?];
    while p.eat(&Token::Comma) {
        vars.push(set_variable(p)?);
    }
    Ok(Statement::SetVariables(vars))
}

fn set_variable(p: &mut Parser) -> PResult<SetVariable> {
    let mut scope = VariableScope::Session;
    if p.eat_kw("GLOBAL") {
        scope = VariableScope::Global;
    } else if p.eat_kw("SESSION") || p.eat_kw("LOCAL") {
        scope = VariableScope::Session;
    }
    let name = match p.peek() {
        Some(Token::Word(w)) if w.quote_style.is_none() && w.value.starts_with("@@") => {
            let head = w.value[2..].to_string();
            p.next();
            match head.to_ascii_lowercase().as_str() {
                "global" | "session" | "local" if p.eat(&Token::Period) => {
                    if head.eq_ignore_ascii_case("global") {
                        scope = VariableScope::Global;
                    }
                    p.ident("variable name")?
                }
                _ => head,
            }
        }
        Some(Token::Word(w)) if w.quote_style.is_none() && w.value.starts_with('@') => {
            // User variables have no use in doris-rs; refusing beats ignoring them.
            return Err(p.not_supported());
        }
        _ => p.ident("variable name")?,
    };
    if !(p.eat(&Token::Eq) || p.eat(&Token::Assignment)) {
        return Err(p.unexpected("'='"));
    }
    let start = p.mark();
    let value = match set_value(p) {
        Ok(v) if p.at_end() || p.peek() == Some(&Token::Comma) => v,
        // More than one literal: an expression for the query engine.
        _ => {
            p.reset(start);
            let text = p.expression_text();
            if text.is_empty() {
                return Err(p.unexpected("value"));
            }
            SetValue::Expr(text)
        }
    };
    Ok(SetVariable { scope, name, value })
}

fn set_value(p: &mut Parser) -> PResult<SetValue> {
    let negative = p.eat(&Token::Minus);
    match p.peek().cloned() {
        Some(Token::Number(n, _)) => {
            p.next();
            let text = if negative { format!("-{n}") } else { n };
            if let Ok(i) = text.parse::<i64>() {
                Ok(SetValue::Int(i))
            } else {
                text.parse::<f64>()
                    .map(SetValue::Double)
                    .map_err(|_| p.error_here(format!("bad number '{text}'")))
            }
        }
        _ if negative => Err(p.unexpected("number")),
        Some(Token::SingleQuotedString(s)) | Some(Token::DoubleQuotedString(s)) => {
            p.next();
            Ok(SetValue::Str(s))
        }
        Some(Token::Word(w)) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("DEFAULT") => {
            p.next();
            Ok(SetValue::Default)
        }
        Some(Token::Word(w)) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("NULL") => {
            p.next();
            Ok(SetValue::Null)
        }
        Some(Token::Word(_)) => {
            // Words such as READ-COMMITTED arrive as several tokens; glue them back.
            let mut text = String::new();
            while let Some(t) = p.peek() {
                match t {
                    Token::Word(w) => text.push_str(&w.value),
                    Token::Minus => text.push('-'),
                    Token::Number(n, _) => text.push_str(n),
                    _ => break,
                }
                p.next();
            }
            Ok(SetValue::Word(text))
        }
        _ => Err(p.unexpected("value")),
    }
}
