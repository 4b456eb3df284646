//! `DELETE FROM [db.]t [PARTITION p | PARTITION[S] (p, ...)] WHERE c [AND c ...]`, upstream's
//! delete by predicate: each condition compares one column with literals (`=`, `!=`, `<>`,
//! `<`, `<=`, `>`, `>=`, `[NOT] IN (...)`, `IS [NOT] NULL`), joined by AND.

use sqlparser::tokenizer::Token;

use super::ast::{DeleteCondition, DeleteOp, Statement};
use super::parser::{PResult, Parser};

pub(super) fn parse_delete(p: &mut Parser) -> PResult<Statement> {
    p.expect_kws(&["DELETE", "FROM"])?;
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
    if !p.eat_kw("WHERE") {
        if p.at_end() {
            // Upstream's legacy delete needs a predicate; emptying a table is TRUNCATE.
            return Err(p.error_here("DELETE needs a WHERE clause (use TRUNCATE TABLE to delete every row)".into()));
        }
        return Err(p.unexpected("WHERE"));
    }
    let mut conditions = vec![condition(p)?];
    while p.eat_kw("AND") {
        conditions.push(condition(p)?);
    }
    if p.peek_kw("OR") {
        return Err(p.error_here("Compound predicate's op should be AND".into()));
    }
    Ok(Statement::Delete { table, partitions, conditions })
}

fn condition(p: &mut Parser) -> PResult<DeleteCondition> {
    let mut column = p.ident("column name")?;
    // `t.c`: the table's own column.
    if p.eat(&Token::Period) {
        column = p.ident("column name")?;
    }
    let at = p.mark();
    let op = match p.next() {
        Some(Token::Eq) | Some(Token::DoubleEq) => DeleteOp::Eq,
        Some(Token::Neq) => DeleteOp::NotEq,
        Some(Token::Lt) => DeleteOp::Lt,
        Some(Token::LtEq) => DeleteOp::LtEq,
        Some(Token::Gt) => DeleteOp::Gt,
        Some(Token::GtEq) => DeleteOp::GtEq,
        Some(Token::Word(w)) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("IN") => DeleteOp::In,
        Some(Token::Word(w)) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("NOT") => {
            p.expect_kw("IN")?;
            DeleteOp::NotIn
        }
        Some(Token::Word(w)) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("IS") => {
            let op = if p.eat_kw("NOT") { DeleteOp::IsNotNull } else { DeleteOp::IsNull };
            p.expect_kw("NULL")?;
            return Ok(DeleteCondition { column, op, values: Vec::new() });
        }
        _ => {
            p.reset(at);
            return Err(p.error_here(
                "Where clause only supports compound predicate, binary predicate, is_null predicate or in predicate".into(),
            ));
        }
    };
    let values = if matches!(op, DeleteOp::In | DeleteOp::NotIn) {
        p.expect(&Token::LParen)?;
        let mut v = vec![literal(p)?];
        while p.eat(&Token::Comma) {
            v.push(literal(p)?);
        }
        p.expect(&Token::RParen)?;
        v
    } else {
        vec![literal(p)?]
    };
    Ok(DeleteCondition { column, op, values })
}

/// A literal's text as the column's type will parse it.
fn literal(p: &mut Parser) -> PResult<String> {
    let negative = p.eat(&Token::Minus);
    match p.peek().cloned() {
        Some(Token::Number(n, _)) => {
            p.next();
            Ok(if negative { format!("-{n}") } else { n })
        }
        Some(Token::SingleQuotedString(s)) | Some(Token::DoubleQuotedString(s)) if !negative => {
            p.next();
            Ok(s)
        }
        Some(Token::Word(w)) if !negative && w.quote_style.is_none() && w.value.eq_ignore_ascii_case("TRUE") => {
            p.next();
            Ok("1".into())
        }
        Some(Token::Word(w)) if !negative && w.quote_style.is_none() && w.value.eq_ignore_ascii_case("FALSE") => {
            p.next();
            Ok("0".into())
        }
        Some(Token::Word(w)) if !negative && w.quote_style.is_none() && w.value.eq_ignore_ascii_case("NULL") => {
            Err(p.error_here("a delete condition compares with NULL only as IS [NOT] NULL".into()))
        }
        _ => Err(p.error_here(
            "Right expr of binary predicate should be value (a number or a quoted string)".into(),
        )),
    }
}
