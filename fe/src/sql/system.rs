//! Cluster membership: `ALTER SYSTEM ... BACKEND` and `SHOW BACKENDS|FRONTENDS`.

use sqlparser::tokenizer::Token;

use super::ast::{HostPort, Statement};
use super::parser::{PResult, Parser};

pub(super) fn parse_alter_system(p: &mut Parser) -> PResult<Statement> {
    p.expect_kws(&["ALTER", "SYSTEM"])?;
    let action = p.peek_word_upper().unwrap_or_default();
    match action.as_str() {
        "ADD" | "DROP" | "DROPP" if p.peek_kw_nth(1, "BACKEND") => {
            p.next();
            p.next();
            let hosts = host_ports(p)?;
            Ok(match action.as_str() {
                "ADD" => Statement::AddBackends { hosts },
                "DROP" => Statement::DropBackends { hosts, force: false },
                _ => Statement::DropBackends { hosts, force: true },
            })
        }
        _ => Err(p.not_supported()),
    }
}

pub(super) fn parse_show_nodes(p: &mut Parser) -> PResult<Statement> {
    if p.eat_kw("BACKENDS") {
        Ok(Statement::ShowBackends)
    } else {
        p.expect_kw("FRONTENDS")?;
        Ok(Statement::ShowFrontends)
    }
}

fn host_ports(p: &mut Parser) -> PResult<Vec<HostPort>> {
    let mut out = vec![host_port(p)?];
    while p.eat(&Token::Comma) {
        out.push(host_port(p)?);
    }
    Ok(out)
}

fn host_port(p: &mut Parser) -> PResult<HostPort> {
    let at = p.mark();
    let text = p.string("\"host:port\"")?;
    parse_host_port(&text).ok_or_else(|| p.error_at(at, format!("'{text}' is not host:port")))
}

/// `host:port` or `[v6addr]:port`.
pub(crate) fn parse_host_port(text: &str) -> Option<HostPort> {
    let text = text.trim();
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (host, port) = rest.split_once("]:")?;
        (host, port)
    } else {
        text.rsplit_once(':')?
    };
    if host.is_empty() || host.contains(':') && !text.starts_with('[') {
        return None;
    }
    let port = port.parse::<u16>().ok().filter(|p| *p != 0)?;
    Some(HostPort { host: host.to_string(), port })
}
