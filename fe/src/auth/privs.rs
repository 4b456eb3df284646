//! Upstream's privileges and the scopes they are granted on.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Upstream's privilege names, in SHOW GRANTS order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priv {
    Node,
    Admin,
    Grant,
    Select,
    Load,
    Alter,
    Create,
    Drop,
    Usage,
}

const ALL: [Priv; 9] =
    [Priv::Node, Priv::Admin, Priv::Grant, Priv::Select, Priv::Load, Priv::Alter, Priv::Create, Priv::Drop, Priv::Usage];

impl Priv {
    pub fn name(self) -> &'static str {
        match self {
            Priv::Node => "Node_priv",
            Priv::Admin => "Admin_priv",
            Priv::Grant => "Grant_priv",
            Priv::Select => "Select_priv",
            Priv::Load => "Load_priv",
            Priv::Alter => "Alter_priv",
            Priv::Create => "Create_priv",
            Priv::Drop => "Drop_priv",
            Priv::Usage => "Usage_priv",
        }
    }

    /// `SELECT_PRIV`, `select_priv`, `SELECT` (MySQL's spelling) all name the same.
    pub fn parse(word: &str) -> Option<Priv> {
        let w = word.to_ascii_uppercase();
        let w = w.strip_suffix("_PRIV").unwrap_or(&w);
        ALL.into_iter().find(|p| p.name().to_ascii_uppercase().strip_suffix("_PRIV") == Some(w))
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// A set of privileges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PrivSet(u16);

impl PrivSet {
    pub fn of(privs: &[Priv]) -> PrivSet {
        PrivSet(privs.iter().fold(0, |acc, p| acc | p.bit()))
    }

    pub fn all() -> PrivSet {
        PrivSet::of(&ALL)
    }

    pub fn contains(self, p: Priv) -> bool {
        self.0 & p.bit() != 0
    }

    pub fn with(self, other: PrivSet) -> PrivSet {
        PrivSet(self.0 | other.0)
    }

    pub fn without(self, other: PrivSet) -> PrivSet {
        PrivSet(self.0 & !other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for PrivSet {
    /// `Select_priv,Load_priv`, as SHOW GRANTS lists them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = ALL.into_iter().filter(|p| self.contains(*p)).map(Priv::name).collect();
        f.write_str(&names.join(","))
    }
}

/// Where a grant applies: `*.*.*`, `ctl.*.*`, `ctl.db.*`, `ctl.db.tbl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scope {
    Global,
    Catalog(String),
    Db { catalog: String, db: String },
    Table { catalog: String, db: String, table: String },
}

impl Scope {
    /// `a.b.c`, `a.b` (db.table in the internal catalog) or `a` parts, `*` for all.
    pub fn parse(parts: &[String]) -> Result<Scope, String> {
        let star = |s: &str| s == "*";
        let internal = crate::query::INTERNAL_CATALOG.to_string();
        let (c, d, t) = match parts {
            [d, t] => (internal, d.clone(), t.clone()),
            [c, d, t] => (c.clone(), d.clone(), t.clone()),
            _ => return Err(format!("bad privilege scope '{}'", parts.join("."))),
        };
        Ok(match (star(&c), star(&d), star(&t)) {
            (true, true, true) => Scope::Global,
            (false, true, true) => Scope::Catalog(c),
            (false, false, true) => Scope::Db { catalog: c, db: d },
            (false, false, false) => Scope::Table { catalog: c, db: d, table: t },
            _ => return Err(format!("bad privilege scope '{}'", parts.join("."))),
        })
    }

    /// A database of the internal catalog.
    pub fn db(db: &str) -> Scope {
        Scope::Db { catalog: crate::query::INTERNAL_CATALOG.into(), db: db.into() }
    }

    /// A table of the internal catalog.
    pub fn table(db: &str, table: &str) -> Scope {
        Scope::Table { catalog: crate::query::INTERNAL_CATALOG.into(), db: db.into(), table: table.into() }
    }

    /// Whether a grant on `self` applies to `other`.
    pub fn covers(&self, other: &Scope) -> bool {
        let eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
        match (self, other) {
            (Scope::Global, _) => true,
            (Scope::Catalog(c), Scope::Catalog(o) | Scope::Db { catalog: o, .. } | Scope::Table { catalog: o, .. }) => eq(c, o),
            (Scope::Db { catalog, db }, Scope::Db { catalog: oc, db: od } | Scope::Table { catalog: oc, db: od, .. }) => {
                eq(catalog, oc) && db == od
            }
            (Scope::Table { catalog, db, table }, Scope::Table { catalog: oc, db: od, table: ot }) => {
                eq(catalog, oc) && db == od && table == ot
            }
            _ => false,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Global => f.write_str("*.*.*"),
            Scope::Catalog(c) => write!(f, "{c}.*.*"),
            Scope::Db { catalog, db } => write!(f, "{catalog}.{db}.*"),
            Scope::Table { catalog, db, table } => write!(f, "{catalog}.{db}.{table}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_scopes() {
        assert_eq!(Priv::parse("select_priv"), Some(Priv::Select));
        assert_eq!(Priv::parse("LOAD"), Some(Priv::Load));
        assert_eq!(Priv::parse("bogus"), None);
        assert_eq!(PrivSet::of(&[Priv::Load, Priv::Select]).to_string(), "Select_priv,Load_priv");
        let s = |v: &[&str]| Scope::parse(&v.iter().map(|x| x.to_string()).collect::<Vec<_>>()).unwrap();
        assert_eq!(s(&["*", "*", "*"]), Scope::Global);
        assert_eq!(s(&["d1", "*"]), Scope::db("d1"));
        assert_eq!(s(&["internal", "d1", "t"]).to_string(), "internal.d1.t");
        assert!(s(&["d1", "*"]).covers(&Scope::table("d1", "t")));
        assert!(!s(&["d1", "t"]).covers(&Scope::table("d1", "u")));
        assert!(!s(&["d1", "*"]).covers(&Scope::Global));
        assert!(Scope::parse(&["*".into(), "t".into()]).is_err());
    }
}
