//! MySQL's naming rules on DataFusion's AST, before planning.
//!
//! - Column names are case-insensitive in Doris, while DataFusion matches them exactly
//!   after lower-casing unquoted names. An unquoted identifier that names a column of a
//!   table the statement reads is replaced by that column's exact spelling, quoted.
//! - A result column without an alias is headed by its expression as written
//!   (`COUNT(*)`, `@@version_comment`, `1`), where DataFusion would write `count(*)` or
//!   `Int64(1)`. Such columns get a unique placeholder alias here; [`Headers`] maps it back.

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    visit_expressions_mut, Expr, Ident, ObjectNamePart, SelectItem, SetExpr, Statement, TableAlias, TableFactor,
    VisitMut, VisitorMut,
};

use super::table::PARTITION_MARK;

const PLACEHOLDER: &str = "__doris_rs_col_";

/// Replace unquoted identifiers naming one of `columns` (case aside) by its spelling.
pub(super) fn canonical_identifiers(statement: &mut Statement, columns: &HashSet<String>) {
    // lower-case name -> spelling; a name two columns share case-insensitively is left alone.
    let mut by_lower: HashMap<String, Option<&String>> = HashMap::new();
    for c in columns {
        by_lower
            .entry(c.to_lowercase())
            .and_modify(|e| {
                if e.is_some_and(|s| s != c) {
                    *e = None
                }
            })
            .or_insert(Some(c));
    }
    let fix = |ident: &mut Ident| {
        if ident.quote_style.is_some() || ident.value.starts_with('@') {
            return;
        }
        if let Some(Some(spelling)) = by_lower.get(&ident.value.to_lowercase()) {
            // All lower case: DataFusion's own normalisation already gives that spelling.
            if **spelling != spelling.to_lowercase() {
                *ident = Ident::with_quote('`', spelling.as_str());
            }
        }
    };
    let _ = visit_expressions_mut(statement, |e| {
        match e {
            Expr::Identifier(ident) => fix(ident),
            Expr::CompoundIdentifier(parts) => {
                if let Some(last) = parts.last_mut() {
                    fix(last)
                }
            }
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
}

/// Table function names in lower case, as they are registered. And
/// `FROM t PARTITION (p1, p2)`, which DataFusion does not read, becomes a table name
/// carrying the partitions (`t<mark>p1<mark>p2`, parsed back by the catalog), aliased `t`
/// so the rest of the statement still names it so.
pub(super) fn partitions_into_names(statement: &mut Statement) {
    struct Partitions;
    impl VisitorMut for Partitions {
        type Break = ();
        fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
            let TableFactor::Table { name, alias, partitions, args, .. } = factor else {
                return ControlFlow::Continue(());
            };
            // Table function names are case-insensitive, as upstream's.
            if args.is_some() {
                if let Some(ObjectNamePart::Identifier(i)) = name.0.last_mut() {
                    i.value = i.value.to_lowercase();
                }
            }
            if partitions.is_empty() {
                return ControlFlow::Continue(());
            }
            let Some(ObjectNamePart::Identifier(last)) = name.0.last_mut() else { return ControlFlow::Continue(()) };
            if alias.is_none() {
                *alias = Some(TableAlias { explicit: true, name: last.clone(), columns: vec![], at: None });
            }
            let mut marked = last.value.clone();
            for p in partitions.drain(..) {
                marked.push(PARTITION_MARK);
                marked.push_str(&p.value);
            }
            *last = Ident::with_quote('`', marked);
            ControlFlow::Continue(())
        }
    }
    let _ = statement.visit(&mut Partitions);
}

/// The header of each result column, by the field name the plan gives it.
#[derive(Debug, Default)]
pub(super) struct Headers(HashMap<String, String>);

impl Headers {
    pub(super) fn header<'a>(&'a self, field: &'a str) -> &'a str {
        self.0.get(field).map(String::as_str).unwrap_or(field)
    }
}

/// Give each unaliased expression of the top-level select list a placeholder alias and
/// remember its text.
pub(super) fn mysql_headers(statement: &mut Statement) -> Headers {
    let mut headers = HashMap::new();
    let Statement::Query(query) = statement else { return Headers(headers) };
    let SetExpr::Select(select) = query.body.as_mut() else { return Headers(headers) };
    for (i, item) in select.projection.iter_mut().enumerate() {
        let SelectItem::UnnamedExpr(expr) = item else { continue };
        // A column keeps its name; `@@x` is a variable, headed as written.
        match expr {
            Expr::Identifier(i) if !i.value.starts_with('@') => continue,
            Expr::CompoundIdentifier(parts) if !parts.first().is_some_and(|i| i.value.starts_with('@')) => continue,
            _ => {}
        }
        let alias = format!("{PLACEHOLDER}{i}");
        headers.insert(alias.clone(), expr.to_string());
        let expr = std::mem::replace(expr, Expr::value(datafusion::sql::sqlparser::ast::Value::Null));
        *item = SelectItem::ExprWithAlias { expr, alias: Ident::with_quote('`', alias) };
    }
    Headers(headers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::sqlparser::dialect::MySqlDialect;
    use datafusion::sql::sqlparser::parser::Parser;

    fn parse(sql: &str) -> Statement {
        Parser::parse_sql(&MySqlDialect {}, sql).unwrap().remove(0)
    }

    #[test]
    fn identifiers_take_the_column_spelling() {
        let mut s = parse("SELECT host, t.ISMASTER, k1, other FROM t WHERE Host = 'x' ORDER BY `host`");
        let cols: HashSet<String> = ["Host", "IsMaster", "k1"].iter().map(|s| s.to_string()).collect();
        canonical_identifiers(&mut s, &cols);
        assert_eq!(
            s.to_string(),
            "SELECT `Host`, t.`IsMaster`, k1, other FROM t WHERE `Host` = 'x' ORDER BY `host`"
        );
    }

    #[test]
    fn partitions_travel_in_the_table_name() {
        let mut s = parse("SELECT COUNT(*) FROM db.t PARTITION (p1, p2) WHERE t.k = 1");
        partitions_into_names(&mut s);
        assert_eq!(s.to_string(), "SELECT COUNT(*) FROM db.`t\u{1}p1\u{1}p2` AS t WHERE t.k = 1");
    }

    #[test]
    fn unaliased_expressions_are_headed_as_written() {
        let mut s = parse("SELECT COUNT(*), k1, 1 + 1 AS two, @@version_comment FROM t");
        let h = mysql_headers(&mut s);
        assert_eq!(
            s.to_string(),
            "SELECT COUNT(*) AS `__doris_rs_col_0`, k1, 1 + 1 AS two, @@version_comment AS `__doris_rs_col_3` FROM t"
        );
        assert_eq!(h.header("__doris_rs_col_0"), "COUNT(*)");
        assert_eq!(h.header("__doris_rs_col_3"), "@@version_comment");
        assert_eq!(h.header("two"), "two");
    }
}
