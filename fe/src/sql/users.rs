//! User and privilege statements: CREATE/DROP/ALTER USER, SET PASSWORD, GRANT, REVOKE,
//! CREATE/DROP ROLE, SHOW [ALL] GRANTS, SHOW ROLES.

use sqlparser::tokenizer::Token;

use super::ast::{GrantObject, PasswordSpec, Statement, UserStatement};
use super::parser::{PResult, Parser};
use crate::auth::{Grantee, Priv, Scope, UserIdentity, ANY_HOST};
use crate::error::FeError;

/// `'name'[@'host']`, `name[@host]`: the name and the host (`%` when left out).
fn user_identity(p: &mut Parser) -> PResult<UserIdentity> {
    // The MySQL tokenizer reads `@` as part of a word: `u@h` and `u@` ('host' next).
    if let Some(Token::Word(w)) = p.peek().cloned() {
        if let (None, Some((name, host))) = (w.quote_style, w.value.split_once('@')) {
            if !name.is_empty() {
                p.next();
                let host = if host.is_empty() { p.string_or_ident("host")? } else { host.to_string() };
                return Ok(UserIdentity::new(name, host));
            }
        }
    }
    let name = p.string_or_ident("user name")?;
    let host = match p.peek().cloned() {
        Some(Token::AtSign) => {
            p.next();
            p.string_or_ident("host")?
        }
        // `@'%'` and `@host` can come out of the tokenizer as one word.
        Some(Token::Word(w)) if w.value.starts_with('@') && w.value.len() > 1 => {
            p.next();
            w.value[1..].trim_matches('\'').to_string()
        }
        _ => ANY_HOST.to_string(),
    };
    Ok(UserIdentity::new(name, host))
}

/// `'text'` or `PASSWORD 'hash'` after IDENTIFIED BY.
fn identified_by(p: &mut Parser) -> PResult<PasswordSpec> {
    p.expect_kws(&["IDENTIFIED", "BY"])?;
    if p.eat_kw("PASSWORD") {
        return Ok(PasswordSpec::Hashed(p.string("password hash")?));
    }
    Ok(PasswordSpec::Plain(p.string("password")?))
}

fn if_not_exists(p: &mut Parser) -> bool {
    p.eat_kws(&["IF", "NOT", "EXISTS"])
}

fn if_exists(p: &mut Parser) -> bool {
    p.eat_kws(&["IF", "EXISTS"])
}

pub(super) fn parse_create_user(p: &mut Parser) -> PResult<Statement> {
    p.expect_kws(&["CREATE", "USER"])?;
    let if_not_exists = if_not_exists(p);
    let user = user_identity(p)?;
    let password = if p.peek_kw("IDENTIFIED") { Some(identified_by(p)?) } else { None };
    let role = if p.eat_kws(&["DEFAULT", "ROLE"]) { Some(p.string_or_ident("role")?) } else { None };
    Ok(Statement::User(UserStatement::CreateUser { user, password, role, if_not_exists }))
}

pub(super) fn parse_drop_user(p: &mut Parser) -> PResult<Statement> {
    p.expect_kws(&["DROP", "USER"])?;
    let if_exists = if_exists(p);
    let user = user_identity(p)?;
    Ok(Statement::User(UserStatement::DropUser { user, if_exists }))
}

pub(super) fn parse_alter_user(p: &mut Parser) -> PResult<Statement> {
    p.expect_kws(&["ALTER", "USER"])?;
    if_exists(p);
    let user = user_identity(p)?;
    let password = identified_by(p)?;
    Ok(Statement::User(UserStatement::AlterUser { user, password }))
}

/// `SET PASSWORD [FOR user] = PASSWORD('text') | 'hash'`.
pub(super) fn parse_set_password(p: &mut Parser) -> PResult<Statement> {
    p.expect_kws(&["SET", "PASSWORD"])?;
    let user = if p.eat_kw("FOR") { Some(user_identity(p)?) } else { None };
    if !(p.eat(&Token::Eq) || p.eat(&Token::Assignment)) {
        return Err(p.unexpected("'='"));
    }
    let password = if p.eat_kw("PASSWORD") {
        p.expect(&Token::LParen)?;
        let pw = p.string("password")?;
        p.expect(&Token::RParen)?;
        PasswordSpec::Plain(pw)
    } else {
        PasswordSpec::Hashed(p.string("password hash")?)
    };
    Ok(Statement::User(UserStatement::SetPassword { user, password }))
}

pub(super) fn parse_role(p: &mut Parser, create: bool) -> PResult<Statement> {
    p.next();
    p.expect_kw("ROLE")?;
    Ok(Statement::User(if create {
        let if_not_exists = if_not_exists(p);
        UserStatement::CreateRole { role: p.string_or_ident("role")?, if_not_exists }
    } else {
        let if_exists = if_exists(p);
        UserStatement::DropRole { role: p.string_or_ident("role")?, if_exists }
    }))
}

/// `db.tbl`, `ctl.db.tbl`, with `*` for all.
fn scope(p: &mut Parser) -> PResult<Scope> {
    let at = p.mark();
    let mut parts = Vec::new();
    loop {
        if p.eat(&Token::Mul) {
            parts.push("*".to_string());
        } else {
            parts.push(p.ident("privilege scope")?);
        }
        if !p.eat(&Token::Period) {
            break;
        }
    }
    Scope::parse(&parts).map_err(|m| p.error_at(at, m))
}

/// `GRANT privs ON scope TO user | ROLE r`, `GRANT 'role' TO user`, and REVOKE's forms
/// with FROM.
pub(super) fn parse_grant(p: &mut Parser) -> PResult<Statement> {
    let revoke = p.eat_kw("REVOKE");
    if !revoke {
        p.expect_kw("GRANT")?;
    }
    let object = if p.peek_is_string() {
        GrantObject::Role(p.string("role")?)
    } else {
        let mut privs = Vec::new();
        loop {
            let at = p.mark();
            let word = p.ident("privilege")?;
            if word.eq_ignore_ascii_case("ALL") {
                p.eat_kw("PRIVILEGES");
                privs.extend([Priv::Select, Priv::Load, Priv::Alter, Priv::Create, Priv::Drop]);
            } else {
                privs.push(Priv::parse(&word).ok_or_else(|| p.error_at(at, format!("unknown privilege '{word}'")))?);
            }
            if !p.eat(&Token::Comma) {
                break;
            }
        }
        p.expect_kw("ON")?;
        if p.peek_kw("RESOURCE") || p.peek_kw("WORKLOAD") || p.peek_kw("CLUSTER") || p.peek_kw("STAGE") {
            return Err(FeError::NotSupported(format!("privileges on {}", p.first_words(3))));
        }
        GrantObject::Privileges { privs, scope: scope(p)? }
    };
    p.expect_kw(if revoke { "FROM" } else { "TO" })?;
    let grantee = if p.eat_kw("ROLE") {
        Grantee::Role(p.string_or_ident("role")?)
    } else {
        Grantee::User(user_identity(p)?)
    };
    Ok(Statement::User(UserStatement::Grant { object, grantee, revoke }))
}

/// After SHOW: `GRANTS [FOR user]`, `ALL GRANTS`, `ROLES`.
pub(super) fn parse_show(p: &mut Parser) -> PResult<Statement> {
    if p.eat_kw("ROLES") {
        return Ok(Statement::User(UserStatement::ShowRoles));
    }
    let all = p.eat_kw("ALL");
    p.expect_kw("GRANTS")?;
    let user = if !all && p.eat_kw("FOR") { Some(user_identity(p)?) } else { None };
    Ok(Statement::User(UserStatement::ShowGrants { user, all }))
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;

    fn user(sql: &str) -> UserStatement {
        match parse(sql).unwrap_or_else(|e| panic!("{sql}: {e}")) {
            Statement::User(u) => u,
            other => panic!("{sql}: {other:?}"),
        }
    }

    #[test]
    fn statements_as_clients_write_them() {
        assert_eq!(
            user("CREATE USER IF NOT EXISTS 'alice'@'%' IDENTIFIED BY 'pw' DEFAULT ROLE 'loader'"),
            UserStatement::CreateUser {
                user: UserIdentity::any_host("alice"),
                password: Some(PasswordSpec::Plain("pw".into())),
                role: Some("loader".into()),
                if_not_exists: true
            }
        );
        assert!(matches!(user("create user bob"), UserStatement::CreateUser { password: None, ref user, .. } if user.host == "%"));
        assert_eq!(
            user("CREATE USER 'u'@'192.168.%' IDENTIFIED BY 'pw'"),
            UserStatement::CreateUser {
                user: UserIdentity::new("u", "192.168.%"),
                password: Some(PasswordSpec::Plain("pw".into())),
                role: None,
                if_not_exists: false
            }
        );
        assert_eq!(user("SHOW GRANTS FOR u@h1"), UserStatement::ShowGrants { user: Some(UserIdentity::new("u", "h1")), all: false });
        assert_eq!(
            user("DROP USER u@'127.0.0.1'"),
            UserStatement::DropUser { user: UserIdentity::new("u", "127.0.0.1"), if_exists: false }
        );
        assert_eq!(user("DROP USER IF EXISTS 'alice'@'%'"), UserStatement::DropUser { user: UserIdentity::any_host("alice"), if_exists: true });
        assert_eq!(
            user("SET PASSWORD FOR 'alice' = PASSWORD('x')"),
            UserStatement::SetPassword { user: Some(UserIdentity::any_host("alice")), password: PasswordSpec::Plain("x".into()) }
        );
        assert_eq!(
            user("SET PASSWORD = '*6BB4837EB74329105EE4568DDA7DC67ED2CA2AD9'"),
            UserStatement::SetPassword {
                user: None,
                password: PasswordSpec::Hashed("*6BB4837EB74329105EE4568DDA7DC67ED2CA2AD9".into())
            }
        );
        assert_eq!(
            user("GRANT SELECT_PRIV, LOAD_PRIV ON db1.* TO 'alice'@'%'"),
            UserStatement::Grant {
                object: GrantObject::Privileges { privs: vec![Priv::Select, Priv::Load], scope: Scope::db("db1") },
                grantee: Grantee::User(UserIdentity::any_host("alice")),
                revoke: false
            }
        );
        assert_eq!(
            user("REVOKE LOAD_PRIV ON internal.db1.t FROM ROLE 'loader'"),
            UserStatement::Grant {
                object: GrantObject::Privileges { privs: vec![Priv::Load], scope: Scope::table("db1", "t") },
                grantee: Grantee::Role("loader".into()),
                revoke: true
            }
        );
        assert_eq!(
            user("GRANT 'loader' TO alice"),
            UserStatement::Grant { object: GrantObject::Role("loader".into()), grantee: Grantee::User(UserIdentity::any_host("alice")), revoke: false }
        );
        assert!(matches!(
            user("GRANT ADMIN_PRIV ON *.*.* TO ROLE 'ops'"),
            UserStatement::Grant { object: GrantObject::Privileges { scope: Scope::Global, .. }, .. }
        ));
        assert_eq!(user("SHOW GRANTS FOR 'alice'@'%'"), UserStatement::ShowGrants { user: Some(UserIdentity::any_host("alice")), all: false });
        assert_eq!(user("SHOW ALL GRANTS"), UserStatement::ShowGrants { user: None, all: true });
        assert_eq!(user("CREATE ROLE IF NOT EXISTS r1"), UserStatement::CreateRole { role: "r1".into(), if_not_exists: true });
        assert!(matches!(parse("GRANT FLY_PRIV ON *.* TO a"), Err(FeError::Parse { .. })));
    }
}
