//! System variables, which the server layer keeps: `SET`, `SHOW VARIABLES`, and the
//! values queries read as `@@x` ([`Variables::snapshot`]). None of this touches the catalog.

use std::collections::BTreeMap;
use std::sync::RwLock;

use super::results::{QueryOutput, Value};
use super::session::Session;
use crate::error::FeError;
use crate::query::{SysVar, SysVars};
use crate::sql::{like_match, PredicateOp, SetValue, SetVariable, VariableFilter, VariableScope};

/// The MySQL version doris-rs reports, as upstream Doris does.
pub use crate::query::SERVER_VERSION;
pub const VERSION_COMMENT: &str = concat!("doris-rs version ", env!("CARGO_PKG_VERSION"), " (Apache Doris compatible)");

#[derive(Clone, Copy)]
enum VarDefault {
    Int(i64),
    Str(&'static str),
}

/// System variables drivers and tools ask for, with their defaults. Sorted by
/// name so SHOW VARIABLES lists them in order.
const VARIABLES: &[(&str, VarDefault)] = &[
    ("auto_increment_increment", VarDefault::Int(1)),
    ("auto_increment_offset", VarDefault::Int(1)),
    ("autocommit", VarDefault::Int(1)),
    ("character_set_client", VarDefault::Str("utf8mb4")),
    ("character_set_connection", VarDefault::Str("utf8mb4")),
    ("character_set_database", VarDefault::Str("utf8mb4")),
    ("character_set_results", VarDefault::Str("utf8mb4")),
    ("character_set_server", VarDefault::Str("utf8mb4")),
    ("collation_connection", VarDefault::Str("utf8mb4_0900_bin")),
    ("collation_database", VarDefault::Str("utf8mb4_0900_bin")),
    ("collation_server", VarDefault::Str("utf8mb4_0900_bin")),
    // Seconds a new connection gets to log in (MySQL's; the login thread drops it after).
    ("connect_timeout", VarDefault::Int(10)),
    ("have_query_cache", VarDefault::Str("YES")),
    ("init_connect", VarDefault::Str("")),
    ("interactive_timeout", VarDefault::Int(3600)),
    ("language", VarDefault::Str("/palo/share/english/")),
    ("license", VarDefault::Str("Apache License, Version 2.0")),
    ("lower_case_table_names", VarDefault::Int(0)),
    ("max_allowed_packet", VarDefault::Int(67108864)),
    ("net_buffer_length", VarDefault::Int(16384)),
    ("net_read_timeout", VarDefault::Int(60)),
    ("net_write_timeout", VarDefault::Int(60)),
    ("performance_schema", VarDefault::Int(0)),
    ("query_cache_size", VarDefault::Int(1048576)),
    ("query_cache_type", VarDefault::Int(0)),
    ("query_timeout", VarDefault::Int(900)),
    // DESC, SHOW COLUMNS and SELECT * show the hidden columns (and deleted rows) when set.
    ("show_hidden_columns", VarDefault::Int(0)),
    ("sql_auto_is_null", VarDefault::Int(0)),
    ("sql_mode", VarDefault::Str("ONLY_FULL_GROUP_BY")),
    ("sql_select_limit", VarDefault::Int(i64::MAX)),
    ("system_time_zone", VarDefault::Str("UTC")),
    ("time_zone", VarDefault::Str("UTC")),
    ("transaction_isolation", VarDefault::Str("REPEATABLE-READ")),
    ("transaction_read_only", VarDefault::Int(0)),
    ("tx_isolation", VarDefault::Str("REPEATABLE-READ")),
    ("tx_read_only", VarDefault::Int(0)),
    ("version", VarDefault::Str(SERVER_VERSION)),
    ("version_comment", VarDefault::Str(VERSION_COMMENT)),
    ("wait_timeout", VarDefault::Int(28800)),
];

fn lookup(name: &str) -> Option<(&'static str, VarDefault)> {
    let lower = name.to_ascii_lowercase();
    VARIABLES.iter().find(|(n, _)| *n == lower).copied()
}

/// Server-wide variable state: `SET GLOBAL` values, which every session sees
/// unless it set its own. Kept in memory only.
#[derive(Default)]
pub struct Variables {
    globals: RwLock<BTreeMap<String, String>>,
}

impl Variables {
    fn global(&self, name: &'static str) -> Option<String> {
        self.globals.read().unwrap_or_else(|e| e.into_inner()).get(name).cloned()
    }

    /// The value a session sees, typed after the variable's default.
    fn value(&self, session: &Session, name: &str, scope: VariableScope) -> Result<Value, FeError> {
        let (canonical, default) = lookup(name).ok_or_else(|| FeError::UnknownVariable(name.to_string()))?;
        let set = match scope {
            VariableScope::Session => {
                session.variable(canonical).map(str::to_string).or_else(|| self.global(canonical))
            }
            VariableScope::Global => self.global(canonical),
        };
        Ok(match (default, set) {
            (VarDefault::Int(i), None) => Value::Int(i),
            (VarDefault::Str(s), None) => Value::Str(s.to_string()),
            (VarDefault::Int(_), Some(v)) => match v.to_ascii_uppercase().as_str() {
                "ON" | "TRUE" => Value::Int(1),
                "OFF" | "FALSE" => Value::Int(0),
                _ => v.parse::<i64>().map(Value::Int).unwrap_or(Value::Str(v)),
            },
            (VarDefault::Str(_), Some(v)) => Value::Str(v),
        })
    }

    /// The server-wide value of an integer variable (`SET GLOBAL`, else its default).
    pub fn global_int(&self, name: &str) -> Option<i64> {
        match self.value(&Session::new(0, String::new(), String::new()), name, VariableScope::Global).ok()? {
            Value::Int(i) => Some(i),
            _ => None,
        }
    }

    /// `SET [SESSION|GLOBAL] x = v, ...`.
    pub fn set(&self, session: &mut Session, vars: &[SetVariable]) -> Result<(), FeError> {
        // Validate all first so a bad name leaves nothing half-applied.
        let mut resolved = Vec::with_capacity(vars.len());
        for v in vars {
            let (canonical, default) =
                lookup(&v.name).ok_or_else(|| FeError::UnknownVariable(v.name.clone()))?;
            if matches!(canonical, "version" | "version_comment" | "system_time_zone" | "license" | "language") {
                return Err(FeError::InvalidArgument(format!("variable '{canonical}' is read only")));
            }
            let value = match &v.value {
                SetValue::Default => None,
                SetValue::Null => Some(String::new()),
                SetValue::Expr(text) => {
                    return Err(FeError::Internal(format!("'{text}' was not evaluated before SET")))
                }
                other => Some(other.to_string()),
            };
            if let (VarDefault::Int(_), Some(text)) = (default, &value) {
                let ok = text.parse::<i64>().is_ok()
                    || matches!(text.to_ascii_uppercase().as_str(), "ON" | "OFF" | "TRUE" | "FALSE");
                if !ok {
                    return Err(FeError::InvalidArgument(format!(
                        "Incorrect argument type to variable '{canonical}'"
                    )));
                }
            }
            resolved.push((v.scope, canonical, value));
        }
        for (scope, name, value) in resolved {
            match scope {
                VariableScope::Session => match value {
                    Some(v) => {
                        session.variables.insert(name.to_string(), v);
                    }
                    None => {
                        session.variables.remove(name);
                    }
                },
                VariableScope::Global => {
                    let mut g = self.globals.write().unwrap_or_else(|e| e.into_inner());
                    match value {
                        Some(v) => g.insert(name.to_string(), v),
                        None => g.remove(name),
                    };
                }
            }
        }
        Ok(())
    }

    /// `SET NAMES charset [COLLATE c]`.
    pub fn set_names(&self, session: &mut Session, charset: &str, collation: Option<&str>) {
        for name in ["character_set_client", "character_set_connection", "character_set_results"] {
            session.variables.insert(name.to_string(), charset.to_string());
        }
        if let Some(c) = collation {
            session.variables.insert("collation_connection".to_string(), c.to_string());
        }
    }

    /// `SHOW [GLOBAL|SESSION] VARIABLES [filter]`.
    pub fn show(&self, session: &Session, scope: VariableScope, filter: Option<&VariableFilter>) -> QueryOutput {
        let mut rows = Vec::new();
        for (name, _) in VARIABLES {
            let value = match self.value(session, name, scope) {
                Ok(v) => v.to_text().map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default(),
                Err(_) => continue,
            };
            let keep = match filter {
                None => true,
                Some(VariableFilter::Like(p)) => like_match(p, name),
                Some(VariableFilter::Where(preds)) => preds.iter().any(|pred| {
                    let subject = if pred.column.eq_ignore_ascii_case("Value") { value.as_str() } else { name };
                    match &pred.op {
                        PredicateOp::Eq(v) => v.eq_ignore_ascii_case(subject),
                        PredicateOp::Like(p) => like_match(p, subject),
                        PredicateOp::In(vs) => vs.iter().any(|v| v.eq_ignore_ascii_case(subject)),
                    }
                }),
            };
            if keep {
                rows.push(vec![Value::Str(name.to_string()), Value::Str(value)]);
            }
        }
        QueryOutput::text_rows(&["Variable_name", "Value"], rows)
    }

    /// Every variable as `session` sees it and as the server has it, for a query's `@@x`.
    pub fn snapshot(&self, session: &Session) -> SysVars {
        let typed = |v: Value| match v {
            Value::Int(i) => SysVar::Int(i),
            other => SysVar::Str(other.to_text().map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default()),
        };
        let mut out = SysVars::default();
        for (name, _) in VARIABLES {
            if let Ok(v) = self.value(session, name, VariableScope::Session) {
                out.session.insert(name.to_string(), typed(v));
            }
            if let Ok(v) = self.value(session, name, VariableScope::Global) {
                out.global.insert(name.to_string(), typed(v));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::{parse, Statement};

    #[test]
    fn variables_sorted_for_show() {
        assert!(VARIABLES.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn snapshot_has_session_and_global_values() {
        let vars = Variables::default();
        let mut s = Session::new(7, "root", "127.0.0.1");
        let Statement::SetVariables(v) = parse("SET autocommit = 0, GLOBAL wait_timeout = 5").unwrap() else { panic!() };
        vars.set(&mut s, &v).unwrap();
        let snap = vars.snapshot(&s);
        assert_eq!(snap.session["autocommit"], SysVar::Int(0));
        assert_eq!(snap.global["autocommit"], SysVar::Int(1));
        assert_eq!(snap.session["wait_timeout"], SysVar::Int(5));
        assert_eq!(snap.session["version_comment"], SysVar::Str(VERSION_COMMENT.into()));
        assert_eq!(snap.session.len(), VARIABLES.len());
    }

    #[test]
    fn set_session_and_global() {
        let vars = Variables::default();
        let mut a = Session::new(1, "root", "h");
        let b = Session::new(2, "root", "h");
        let Statement::SetVariables(v) = parse("SET autocommit = 0, GLOBAL wait_timeout = 5").unwrap() else { panic!() };
        vars.set(&mut a, &v).unwrap();
        assert_eq!(vars.value(&a, "AUTOCOMMIT", VariableScope::Session).unwrap(), Value::Int(0));
        assert_eq!(vars.value(&b, "autocommit", VariableScope::Session).unwrap(), Value::Int(1));
        assert_eq!(vars.value(&b, "wait_timeout", VariableScope::Session).unwrap(), Value::Int(5));

        let Statement::SetVariables(v) = parse("SET no_such_var = 1").unwrap() else { panic!() };
        assert!(matches!(vars.set(&mut a, &v), Err(FeError::UnknownVariable(n)) if n == "no_such_var"));
        let Statement::SetVariables(v) = parse("SET wait_timeout = 'abc'").unwrap() else { panic!() };
        assert!(matches!(vars.set(&mut a, &v), Err(FeError::InvalidArgument(_))));
        let Statement::SetVariables(v) = parse("SET autocommit = DEFAULT").unwrap() else { panic!() };
        vars.set(&mut a, &v).unwrap();
        assert_eq!(vars.value(&a, "autocommit", VariableScope::Session).unwrap(), Value::Int(1));
    }

    #[test]
    fn show_variables_filters() {
        let vars = Variables::default();
        let s = Session::new(1, "root", "h");
        let names = |out: QueryOutput| -> Vec<String> {
            let QueryOutput::Rows { rows, .. } = out else { panic!() };
            rows.into_iter().map(|r| match &r[0] { Value::Str(s) => s.clone(), _ => panic!() }).collect()
        };
        assert_eq!(
            names(vars.show(&s, VariableScope::Session, Some(&VariableFilter::Like("%isolation".into())))),
            ["transaction_isolation", "tx_isolation"]
        );
        let Statement::ShowVariables { scope, filter } =
            parse("SHOW VARIABLES WHERE Variable_name = 'max_allowed_packet' OR Variable_name IN ('sql_mode')")
                .unwrap()
        else {
            panic!()
        };
        assert_eq!(names(vars.show(&s, scope, filter.as_ref())), ["max_allowed_packet", "sql_mode"]);
        assert_eq!(names(vars.show(&s, VariableScope::Session, None)).len(), VARIABLES.len());
    }
}
