//! `SELECT`: table reads (`COUNT(*)`, `*`, columns) and the expression-only
//! probes drivers send (`@@variables`, `DATABASE()`, literals).

use sqlparser::tokenizer::Token;

use super::ast::*;
use super::parser::{PResult, Parser};
use crate::error::FeError;

/// What one select-list item turned out to be.
enum Item {
    Star,
    CountStar,
    Column(String),
    Expr(SelectItem),
}

/// Zero-argument functions answered without a table.
const PROBE_FUNCTIONS: &[&str] = &[
    "DATABASE",
    "SCHEMA",
    "CONNECTION_ID",
    "VERSION",
    "USER",
    "CURRENT_USER",
    "SESSION_USER",
    "SYSTEM_USER",
    "LAST_INSERT_ID",
];

pub(super) fn parse_select(p: &mut Parser) -> PResult<Statement> {
    p.expect_kw("SELECT")?;
    let list_at = p.mark();
    let mut items = vec![item(p)?];
    while p.eat(&Token::Comma) {
        items.push(item(p)?);
    }

    if p.eat_kw("FROM") {
        let projection = projection(p, list_at, items)?;
        if matches!(p.peek(), Some(Token::Word(_))) && p.peek_nth(1) == Some(&Token::LParen) {
            return table_function(p, projection);
        }
        let table = p.table_name()?;
        let partitions = if p.eat_kw("PARTITION") || p.eat_kw("PARTITIONS") {
            if p.peek() == Some(&Token::LParen) {
                p.ident_list("partition name")?
            } else {
                vec![p.ident("partition name")?]
            }
        } else {
            Vec::new()
        };
        if p.peek_kw("WHERE") || p.peek_kw("GROUP") || p.peek_kw("JOIN") || p.peek_kw("HAVING") {
            let what = p.peek_word_upper().unwrap_or_default();
            return Err(FeError::NotSupported(format!("SELECT with {what}")));
        }
        let mut order_by = Vec::new();
        if p.eat_kws(&["ORDER", "BY"]) {
            loop {
                let column = p.ident("column name")?;
                let desc = if p.eat_kw("DESC") {
                    true
                } else {
                    p.eat_kw("ASC");
                    false
                };
                order_by.push(OrderBy { column, desc });
                if !p.eat(&Token::Comma) {
                    break;
                }
            }
        }
        let limit = opt_limit(p)?;
        return Ok(Statement::Select(Box::new(Select { projection, table, partitions, order_by, limit })));
    }

    let limit = opt_limit(p)?;
    let mut exprs = Vec::with_capacity(items.len());
    for it in items {
        match it {
            Item::Expr(e) => exprs.push(e),
            Item::Column(c) => return Err(FeError::UnknownColumn(c)),
            Item::Star | Item::CountStar => return Err(p.error_at(list_at, "'*' needs FROM".into())),
        }
    }
    Ok(Statement::SelectExprs { items: exprs, limit })
}

/// `FROM name(...)`: the FE's own table-valued functions; only a LIMIT may follow.
fn table_function(p: &mut Parser, projection: Projection) -> PResult<Statement> {
    let name = p.ident("table function")?;
    p.expect(&Token::LParen)?;
    let function = match name.to_ascii_lowercase().as_str() {
        "frontends" => TableFunction::Frontends,
        _ => return Err(FeError::NotSupported(format!("table function {name}()"))),
    };
    if !p.eat(&Token::RParen) {
        // Upstream's text: frontends() takes no parameters.
        return Err(FeError::InvalidArgument(format!("{name} table-valued-function does not support any params")));
    }
    if let Some(what) = p.peek_word_upper().filter(|w| matches!(w.as_str(), "WHERE" | "GROUP" | "ORDER" | "JOIN")) {
        return Err(FeError::NotSupported(format!("{what} on table function {name}()")));
    }
    let limit = opt_limit(p)?;
    Ok(Statement::SelectTableFunction { function, projection, limit })
}

fn projection(p: &Parser, at: usize, items: Vec<Item>) -> PResult<Projection> {
    match items.as_slice() {
        [Item::Star] => return Ok(Projection::Star),
        [Item::CountStar] => return Ok(Projection::CountStar),
        _ => {}
    }
    let mut columns = Vec::with_capacity(items.len());
    for it in items {
        match it {
            Item::Column(c) => columns.push(c),
            Item::Star | Item::CountStar => {
                return Err(FeError::NotSupported("mixing '*' or COUNT(*) with other select items".into()))
            }
            Item::Expr(e) => {
                return Err(p.error_at(at, format!("only column names can be selected from a table, not '{}'", e.text)))
            }
        }
    }
    Ok(Projection::Columns(columns))
}

fn opt_limit(p: &mut Parser) -> PResult<Option<u64>> {
    if !p.eat_kw("LIMIT") {
        return Ok(None);
    }
    let n = p.u64("row count")?;
    if p.peek_kw("OFFSET") || p.peek() == Some(&Token::Comma) {
        return Err(FeError::NotSupported("LIMIT with an offset".into()));
    }
    Ok(Some(n))
}

fn item(p: &mut Parser) -> PResult<Item> {
    if p.eat(&Token::Mul) {
        return Ok(Item::Star);
    }
    let (expr, text) = match p.peek().cloned() {
        Some(Token::Word(w)) if w.quote_style.is_none() && w.value.starts_with("@@") => {
            p.next();
            let head = w.value[2..].to_string();
            let scope_word = head.to_ascii_lowercase();
            if matches!(scope_word.as_str(), "session" | "global" | "local") && p.eat(&Token::Period) {
                let name = p.ident("variable name")?;
                let scope = if scope_word == "global" { VariableScope::Global } else { VariableScope::Session };
                (SelectExpr::Variable { scope, name: name.clone() }, format!("{}.{name}", w.value))
            } else {
                (SelectExpr::Variable { scope: VariableScope::Session, name: head }, w.value.clone())
            }
        }
        Some(Token::Word(w)) if w.quote_style.is_none() && w.value.starts_with('@') => {
            return Err(FeError::NotSupported("user variables".into()));
        }
        Some(Token::Word(w)) if w.quote_style.is_none() && p.peek_nth(1) == Some(&Token::LParen) => {
            let upper = w.value.to_ascii_uppercase();
            p.next();
            p.next();
            if upper == "COUNT" {
                let counts_rows = p.eat(&Token::Mul)
                    || (matches!(p.peek(), Some(Token::Number(n, _)) if n == "1") && p.next().is_some());
                if !counts_rows {
                    return Err(FeError::NotSupported("COUNT of an expression; use COUNT(*)".into()));
                }
                p.expect(&Token::RParen)?;
                if p.peek_kw("AS") {
                    return Err(FeError::NotSupported("column aliases in a table SELECT".into()));
                }
                return Ok(Item::CountStar);
            }
            if !PROBE_FUNCTIONS.contains(&upper.as_str()) || !p.eat(&Token::RParen) {
                return Err(FeError::NotSupported(format!("function {}()", w.value)));
            }
            (SelectExpr::Function(upper), format!("{}()", w.value))
        }
        Some(Token::Word(w)) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("NULL") => {
            p.next();
            (SelectExpr::Null, "NULL".to_string())
        }
        Some(Token::Word(_)) => {
            let name = p.ident("column name")?;
            if p.peek() == Some(&Token::Period) {
                return Err(FeError::NotSupported("qualified column names".into()));
            }
            if p.peek_kw("AS") {
                return Err(FeError::NotSupported("column aliases in a table SELECT".into()));
            }
            return Ok(Item::Column(name));
        }
        Some(Token::Minus) | Some(Token::Number(_, _)) => {
            let negative = p.eat(&Token::Minus);
            let Some(Token::Number(n, _)) = p.peek().cloned() else {
                return Err(p.unexpected("number"));
            };
            p.next();
            let text = if negative { format!("-{n}") } else { n };
            let expr = match text.parse::<i64>() {
                Ok(i) => SelectExpr::Int(i),
                Err(_) => SelectExpr::Double(
                    text.parse::<f64>().map_err(|_| p.error_here(format!("bad number '{text}'")))?,
                ),
            };
            (expr, text)
        }
        Some(Token::SingleQuotedString(s)) | Some(Token::DoubleQuotedString(s)) => {
            p.next();
            (SelectExpr::Str(s.clone()), s)
        }
        _ => return Err(p.unexpected("select item")),
    };
    let alias = if p.eat_kw("AS") {
        Some(p.string_or_ident("alias")?)
    } else {
        match p.peek() {
            // A bare alias: any word that is not a clause keyword.
            Some(Token::Word(w))
                if w.quote_style.is_some() || w.keyword == sqlparser::keywords::Keyword::NoKeyword =>
            {
                Some(p.ident("alias")?)
            }
            Some(Token::SingleQuotedString(_)) | Some(Token::DoubleQuotedString(_)) => Some(p.string("alias")?),
            _ => None,
        }
    };
    Ok(Item::Expr(SelectItem { expr, alias, text }))
}
