//! Users, roles and privileges, kept in the FE's meta store and checked by every entry
//! point (SQL statements, queries, stream load, the CCR RPCs), with upstream's privilege
//! names and scopes (`catalog.db.table`).
//!
//! Passwords are kept only as MySQL's stage-2 hash (SHA1(SHA1(password))), what
//! mysql_native_password needs to check a login. `root` and `admin` always exist; their
//! first passwords come from fe.conf (`root_password`, `admin_password`), later `SET
//! PASSWORD` changes are stored.

mod privs;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

use crate::error::FeError;
use crate::mysql::auth::stage2;
use crate::persist::{MetaError, MetaStore, Named};

pub use privs::{Priv, PrivSet, Scope};

/// A grant: privileges on a scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub scope: Scope,
    pub privs: PrivSet,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    pub name: String,
    /// The host pattern of `'user'@'host'` (`%` for any).
    pub host: String,
    /// Hex of the stage-2 hash; empty for no password.
    pub password: String,
    pub grants: Vec<Grant>,
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleRecord {
    pub name: String,
    pub grants: Vec<Grant>,
}

#[derive(Default)]
struct State {
    users: BTreeMap<String, UserRecord>,
    roles: BTreeMap<String, RoleRecord>,
}

/// The users and roles of this cluster.
pub struct Users {
    store: Arc<MetaStore>,
    state: RwLock<State>,
}

/// The built-in users: root holds every privilege, admin ADMIN_PRIV (as upstream).
pub const ROOT: &str = "root";
pub const ADMIN: &str = "admin";

fn hash_hex(password: &str) -> String {
    if password.is_empty() {
        String::new()
    } else {
        hex::encode(stage2(password))
    }
}

fn grant_error(e: MetaError) -> FeError {
    FeError::Internal(format!("cannot store the change: {e}"))
}

impl Users {
    /// Stored users and roles, plus root and admin created with fe.conf's passwords when the
    /// store has none yet.
    pub fn load(store: Arc<MetaStore>, root_password: &str, admin_password: &str) -> Result<Self, MetaError> {
        let mut state = State::default();
        for (name, u) in store.load_all_named::<UserRecord>(Named::User)? {
            state.users.insert(name, u);
        }
        for (name, r) in store.load_all_named::<RoleRecord>(Named::Role)? {
            state.roles.insert(name, r);
        }
        for (name, password, privs) in [
            (ROOT, root_password, PrivSet::all()),
            (ADMIN, admin_password, PrivSet::of(&[Priv::Admin])),
        ] {
            if !state.users.contains_key(name) {
                let u = UserRecord {
                    name: name.into(),
                    host: "%".into(),
                    password: hash_hex(password),
                    grants: vec![Grant { scope: Scope::Global, privs }],
                    roles: vec![],
                };
                store.put_named(Named::User, name, &u)?;
                state.users.insert(name.into(), u);
            }
        }
        Ok(Users { store, state: RwLock::new(state) })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The stage-2 hash a login is checked against; None for an unknown user.
    pub fn stage2(&self, user: &str) -> Option<[u8; 20]> {
        let s = self.read();
        let u = s.users.get(user)?;
        if u.password.is_empty() {
            return Some(stage2(""));
        }
        let mut out = [0u8; 20];
        hex::decode_to_slice(&u.password, &mut out).ok()?;
        Some(out)
    }

    /// A clear-text password (HTTP Basic, thrift requests) against the stored hash.
    pub fn check_password(&self, user: &str, password: &str) -> bool {
        let Some(expected) = self.stage2(user) else { return false };
        let given = stage2(password);
        // Constant time: the answer should not leak a prefix.
        expected.iter().zip(given.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }

    /// Whether `user` holds `p` on `scope` (directly, by a role, or on a wider scope;
    /// ADMIN_PRIV on everything covers every privilege but NODE_PRIV, as upstream).
    pub fn has(&self, user: &str, scope: &Scope, p: Priv) -> bool {
        self.any_grant(user, |g| {
            (g.privs.contains(p) && g.scope.covers(scope))
                || (p != Priv::Node && g.scope == Scope::Global && g.privs.contains(Priv::Admin))
        })
    }

    /// Whether one of `user`'s grants, its own or its roles', satisfies `f`.
    fn any_grant(&self, user: &str, f: impl Fn(&Grant) -> bool) -> bool {
        let s = self.read();
        let Some(u) = s.users.get(user) else { return false };
        let role_grants = u.roles.iter().filter_map(|r| s.roles.get(r)).flat_map(|r| r.grants.iter());
        u.grants.iter().chain(role_grants).any(f)
    }

    /// Whether `user` holds any privilege on `scope` or on something inside it (a grant on
    /// one table shows its database): what SHOW DATABASES and SHOW TABLES list.
    pub fn can_see(&self, user: &str, scope: &Scope) -> bool {
        self.any_grant(user, |g| !g.privs.is_empty() && (g.scope.covers(scope) || scope.covers(&g.scope)))
    }

    /// `Err` with upstream's refusal unless `user` holds `p` on `scope`.
    pub fn require(&self, user: &str, scope: &Scope, p: Priv) -> Result<(), FeError> {
        if self.has(user, scope, p) {
            Ok(())
        } else {
            Err(FeError::PrivilegeDenied { privilege: p.name().to_string() })
        }
    }

    pub fn exists(&self, user: &str) -> bool {
        self.read().users.contains_key(user)
    }

    pub fn create_user(&self, name: &str, host: &str, password: Option<&str>, role: Option<&str>, if_not_exists: bool) -> Result<(), FeError> {
        let mut s = self.state.write().unwrap_or_else(|e| e.into_inner());
        if s.users.contains_key(name) {
            if if_not_exists {
                return Ok(());
            }
            // Upstream's text.
            return Err(FeError::IllegalState(format!("Operation CREATE USER failed for '{name}'@'{host}'")));
        }
        if let Some(r) = role.filter(|r| !s.roles.contains_key(*r)) {
            return Err(FeError::NotFound(format!("Role '{r}'")));
        }
        let u = UserRecord {
            name: name.into(),
            host: host.into(),
            password: password.map(hash_hex).unwrap_or_default(),
            grants: vec![],
            roles: role.map(|r| vec![r.to_string()]).unwrap_or_default(),
        };
        self.store.put_named(Named::User, name, &u).map_err(grant_error)?;
        s.users.insert(name.into(), u);
        Ok(())
    }

    pub fn drop_user(&self, name: &str, if_exists: bool) -> Result<(), FeError> {
        if name == ROOT || name == ADMIN {
            return Err(FeError::InvalidArgument(format!("Can not drop user {name}")));
        }
        let mut s = self.state.write().unwrap_or_else(|e| e.into_inner());
        if !s.users.contains_key(name) {
            if if_exists {
                return Ok(());
            }
            return Err(FeError::IllegalState(format!("Operation DROP USER failed for '{name}'@'%'")));
        }
        self.store.delete_named(Named::User, name).map_err(grant_error)?;
        s.users.remove(name);
        Ok(())
    }

    /// Sets a password: clear text, or (`hashed`) as `*<40 hex>` of PASSWORD().
    pub fn set_password(&self, name: &str, password: &str, hashed: bool) -> Result<(), FeError> {
        let hex = if hashed {
            let h = password.strip_prefix('*').unwrap_or(password);
            if h.len() != 40 || hex::decode(h).is_err() {
                return Err(FeError::InvalidArgument("Password hash should be a 41-digit hexadecimal number".into()));
            }
            h.to_ascii_lowercase()
        } else {
            hash_hex(password)
        };
        self.update_user(name, |u| u.password = hex.clone())
    }

    fn update_user(&self, name: &str, f: impl FnOnce(&mut UserRecord)) -> Result<(), FeError> {
        let mut s = self.state.write().unwrap_or_else(|e| e.into_inner());
        let mut u = s.users.get(name).cloned().ok_or_else(|| FeError::NotFound(format!("user '{name}'@'%'")))?;
        f(&mut u);
        self.store.put_named(Named::User, name, &u).map_err(grant_error)?;
        s.users.insert(name.into(), u);
        Ok(())
    }

    fn update_role(&self, name: &str, f: impl FnOnce(&mut RoleRecord)) -> Result<(), FeError> {
        let mut s = self.state.write().unwrap_or_else(|e| e.into_inner());
        let mut r = s.roles.get(name).cloned().ok_or_else(|| FeError::NotFound(format!("Role '{name}'")))?;
        f(&mut r);
        self.store.put_named(Named::Role, name, &r).map_err(grant_error)?;
        s.roles.insert(name.into(), r);
        Ok(())
    }

    pub fn create_role(&self, name: &str, if_not_exists: bool) -> Result<(), FeError> {
        let mut s = self.state.write().unwrap_or_else(|e| e.into_inner());
        if s.roles.contains_key(name) {
            return if if_not_exists { Ok(()) } else { Err(FeError::AlreadyExists(format!("Role '{name}'"))) };
        }
        let r = RoleRecord { name: name.into(), grants: vec![] };
        self.store.put_named(Named::Role, name, &r).map_err(grant_error)?;
        s.roles.insert(name.into(), r);
        Ok(())
    }

    pub fn drop_role(&self, name: &str, if_exists: bool) -> Result<(), FeError> {
        let mut s = self.state.write().unwrap_or_else(|e| e.into_inner());
        if !s.roles.contains_key(name) {
            return if if_exists { Ok(()) } else { Err(FeError::NotFound(format!("Role '{name}'"))) };
        }
        self.store.delete_named(Named::Role, name).map_err(grant_error)?;
        s.roles.remove(name);
        Ok(())
    }

    /// `GRANT privs ON scope TO user|ROLE r` (`revoke`: take them away).
    pub fn grant(&self, grantee: &Grantee, scope: &Scope, privs: PrivSet, revoke: bool) -> Result<(), FeError> {
        let apply = |grants: &mut Vec<Grant>| {
            match grants.iter_mut().find(|g| &g.scope == scope) {
                Some(g) if revoke => g.privs = g.privs.without(privs),
                Some(g) => g.privs = g.privs.with(privs),
                None if revoke => {}
                None => grants.push(Grant { scope: scope.clone(), privs }),
            }
            grants.retain(|g| !g.privs.is_empty());
        };
        match grantee {
            Grantee::User(u) => self.update_user(u, |r| apply(&mut r.grants)),
            Grantee::Role(r) => self.update_role(r, |r| apply(&mut r.grants)),
        }
    }

    /// `GRANT role TO user` / `REVOKE role FROM user`.
    pub fn grant_role(&self, role: &str, user: &str, revoke: bool) -> Result<(), FeError> {
        if !self.read().roles.contains_key(role) {
            return Err(FeError::NotFound(format!("Role '{role}'")));
        }
        self.update_user(user, |u| {
            u.roles.retain(|r| r != role);
            if !revoke {
                u.roles.push(role.to_string());
            }
        })
    }

    pub fn user(&self, name: &str) -> Option<UserRecord> {
        self.read().users.get(name).cloned()
    }

    pub fn all_users(&self) -> Vec<UserRecord> {
        self.read().users.values().cloned().collect()
    }

    pub fn all_roles(&self) -> Vec<RoleRecord> {
        self.read().roles.values().cloned().collect()
    }
}

/// Who a GRANT or REVOKE is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grantee {
    User(String),
    Role(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users(dir: &std::path::Path) -> Users {
        Users::load(Arc::new(MetaStore::open(dir).unwrap()), "r00t", "").unwrap()
    }

    #[test]
    fn passwords_grants_and_roles_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let u = users(dir.path());
            assert!(u.check_password("root", "r00t") && !u.check_password("root", "x"));
            assert!(u.check_password("admin", ""));
            u.create_user("alice", "%", Some("pw"), None, false).unwrap();
            assert!(matches!(u.create_user("alice", "%", None, None, false), Err(FeError::IllegalState(_))));
            let db = Scope::Db { catalog: "internal".into(), db: "d1".into() };
            u.grant(&Grantee::User("alice".into()), &db, PrivSet::of(&[Priv::Select, Priv::Load]), false).unwrap();
            u.create_role("loader", false).unwrap();
            let d2 = Scope::Db { catalog: "internal".into(), db: "d2".into() };
            u.grant(&Grantee::Role("loader".into()), &d2, PrivSet::of(&[Priv::Load]), false).unwrap();
            u.grant_role("loader", "alice", false).unwrap();
            u.set_password("root", "n3w", false).unwrap();
        }
        let u = users(dir.path());
        assert!(u.check_password("root", "n3w"), "the stored password wins over fe.conf's");
        assert!(u.check_password("alice", "pw"));
        let t1 = Scope::Table { catalog: "internal".into(), db: "d1".into(), table: "t".into() };
        let t2 = Scope::Table { catalog: "internal".into(), db: "d2".into(), table: "t".into() };
        assert!(u.has("alice", &t1, Priv::Select) && u.has("alice", &t1, Priv::Load));
        assert!(!u.has("alice", &t2, Priv::Select) && u.has("alice", &t2, Priv::Load), "LOAD on d2 by the role");
        assert!(!u.has("alice", &Scope::Global, Priv::Admin));
        assert!(u.has("admin", &t2, Priv::Drop) && !u.has("admin", &Scope::Global, Priv::Node));
        assert!(u.has("root", &Scope::Global, Priv::Node));
        assert!(u.can_see("alice", &Scope::db("d1")) && u.can_see("alice", &Scope::db("d2")));
        assert!(u.can_see("alice", &t1) && !u.can_see("alice", &Scope::db("d3")));
        let db1 = Scope::Db { catalog: "internal".into(), db: "d1".into() };
        u.grant(&Grantee::User("alice".into()), &db1, PrivSet::of(&[Priv::Load]), true).unwrap();
        assert!(!u.has("alice", &t1, Priv::Load) && u.has("alice", &t1, Priv::Select));
        u.drop_user("alice", false).unwrap();
        assert!(!u.check_password("alice", "pw"));
        assert!(u.drop_user("root", false).is_err());
    }
}
