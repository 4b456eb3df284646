//! Storage resources and storage policies (cooldown): CREATE / DROP; workload groups: ALTER.

use super::ast::*;
use super::parser::{PResult, Parser};

/// `CREATE RESOURCE [IF NOT EXISTS] "name" PROPERTIES (...)` or
/// `CREATE STORAGE POLICY [IF NOT EXISTS] name PROPERTIES (...)`.
pub(super) fn parse_create(p: &mut Parser) -> PResult<Statement> {
    p.expect_kw("CREATE")?;
    let resource = p.eat_kw("RESOURCE");
    if !resource {
        p.expect_kws(&["STORAGE", "POLICY"])?;
    }
    let if_not_exists = p.eat_kws(&["IF", "NOT", "EXISTS"]);
    let name = p.string_or_ident(if resource { "resource name" } else { "storage policy name" })?;
    let properties = p.opt_properties()?;
    Ok(if resource {
        Statement::CreateResource { name, if_not_exists, properties }
    } else {
        Statement::CreateStoragePolicy { name, if_not_exists, properties }
    })
}

/// `DROP RESOURCE [IF EXISTS] "name"` or `DROP STORAGE POLICY [IF EXISTS] name`.
pub(super) fn parse_drop(p: &mut Parser) -> PResult<Statement> {
    p.expect_kw("DROP")?;
    let resource = p.eat_kw("RESOURCE");
    if !resource {
        p.expect_kws(&["STORAGE", "POLICY"])?;
    }
    let if_exists = p.eat_kws(&["IF", "EXISTS"]);
    let name = p.string_or_ident(if resource { "resource name" } else { "storage policy name" })?;
    Ok(if resource { Statement::DropResource { name, if_exists } } else { Statement::DropStoragePolicy { name, if_exists } })
}

/// `ALTER WORKLOAD GROUP name PROPERTIES (...)`.
pub(super) fn parse_alter_workload_group(p: &mut Parser) -> PResult<Statement> {
    p.expect_kws(&["ALTER", "WORKLOAD", "GROUP"])?;
    let name = p.string_or_ident("workload group name")?;
    p.expect_kw("PROPERTIES")?;
    let properties = p.property_list()?;
    Ok(Statement::AlterWorkloadGroup { name, properties })
}
