//! Users, roles and privileges, kept in the FE's meta store and checked by every entry
//! point (SQL statements, queries, stream load, the CCR RPCs), with upstream's privilege
//! names and scopes (`catalog.db.table`).
//!
//! A user is an identity, `'name'@'host'` ([`UserIdentity`]); a login is checked as the
//! first of its name's identities whose host pattern matches the client, as upstream.
//!
//! Passwords are kept only as MySQL's stage-2 hash (SHA1(SHA1(password))), what
//! mysql_native_password needs to check a login. `root` and `admin` always exist; their
//! first passwords come from fe.conf (`root_password`, `admin_password`), later `SET
//! PASSWORD` changes are stored.

mod identity;
mod privs;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

use crate::error::FeError;
use crate::mysql::auth::stage2;
use crate::persist::{MetaError, MetaStore, Named};

pub use identity::{UserIdentity, ANY_HOST};
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
    /// A name's identities in login order ([`UserIdentity::login_order`]), as upstream's
    /// `nameToUsers`.
    users: BTreeMap<String, Vec<UserRecord>>,
    roles: BTreeMap<String, RoleRecord>,
}

impl State {
    fn user(&self, id: &UserIdentity) -> Option<&UserRecord> {
        self.users.get(&id.name)?.iter().find(|u| u.identity().same_as(id))
    }

    fn put(&mut self, u: UserRecord) {
        let list = self.users.entry(u.name.clone()).or_default();
        list.retain(|x| !x.identity().same_as(&u.identity()));
        list.push(u);
        list.sort_by(|a, b| UserIdentity::login_order(&a.identity(), &b.identity()));
    }

    fn remove(&mut self, id: &UserIdentity) {
        if let Some(list) = self.users.get_mut(&id.name) {
            list.retain(|x| !x.identity().same_as(id));
            if list.is_empty() {
                self.users.remove(&id.name);
            }
        }
    }
}

impl UserRecord {
    pub fn identity(&self) -> UserIdentity {
        UserIdentity::new(self.name.clone(), self.host.clone())
    }
}

/// The meta store key of an identity: the bare name for `%`, so users stored before
/// identities had hosts load under the same key.
fn store_key(id: &UserIdentity) -> String {
    if id.host == ANY_HOST {
        id.name.clone()
    } else {
        format!("{}@{}", id.name, id.host)
    }
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

fn no_such_user(id: &UserIdentity) -> FeError {
    FeError::NotFound(format!("user {id}"))
}

/// The stored stage-2 hash of a record (an empty password is SHA1(SHA1(""))).
fn record_stage2(u: &UserRecord) -> Option<[u8; 20]> {
    if u.password.is_empty() {
        return Some(stage2(""));
    }
    let mut out = [0u8; 20];
    hex::decode_to_slice(&u.password, &mut out).ok()?;
    Some(out)
}

impl Users {
    /// Stored users and roles, plus root and admin created with fe.conf's passwords when the
    /// store has none yet.
    pub fn load(store: Arc<MetaStore>, root_password: &str, admin_password: &str) -> Result<Self, MetaError> {
        let mut state = State::default();
        for (key, u) in store.load_all_named::<UserRecord>(Named::User)? {
            // Identities with a host other than `%` were once stored under the bare name.
            let want = store_key(&u.identity());
            if key != want {
                store.put_named(Named::User, &want, &u)?;
                store.delete_named(Named::User, &key)?;
            }
            state.put(u);
        }
        for (name, r) in store.load_all_named::<RoleRecord>(Named::Role)? {
            state.roles.insert(name, r);
        }
        for (name, password, privs) in [
            (ROOT, root_password, PrivSet::all()),
            (ADMIN, admin_password, PrivSet::of(&[Priv::Admin])),
        ] {
            let id = UserIdentity::any_host(name);
            if state.user(&id).is_none() {
                let u = UserRecord {
                    name: name.into(),
                    host: ANY_HOST.into(),
                    password: hash_hex(password),
                    grants: vec![Grant { scope: Scope::Global, privs }],
                    roles: vec![],
                };
                store.put_named(Named::User, &store_key(&id), &u)?;
                state.put(u);
            }
        }
        Ok(Users { store, state: RwLock::new(state) })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The identity a login of `user` from `client_host` is checked as, with its stage-2
    /// hash: the first of the name's identities whose host matches, in upstream's order.
    /// Only that one is tried; a wrong password does not fall through to a wider host.
    pub fn login_entry(&self, user: &str, client_host: Option<&str>) -> Option<(UserIdentity, [u8; 20])> {
        let s = self.read();
        let u = s.users.get(user)?.iter().find(|u| u.identity().matches_host(client_host))?;
        Some((u.identity(), record_stage2(u)?))
    }

    /// A clear-text password (HTTP Basic, thrift requests) checked as a login from
    /// `client_host`: the identity, or upstream's refusal.
    pub fn check_password(&self, user: &str, password: &str, client_host: Option<&str>) -> Result<UserIdentity, FeError> {
        let denied = || FeError::AccessDenied {
            user: user.to_string(),
            host: client_host.unwrap_or(ANY_HOST).to_string(),
            // Upstream says YES for a clear-text check, whatever was sent.
            using_password: true,
        };
        let (id, expected) = self.login_entry(user, client_host).ok_or_else(denied)?;
        let given = stage2(password);
        // Constant time: the answer should not leak a prefix.
        if expected.iter().zip(given.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0 {
            Ok(id)
        } else {
            Err(denied())
        }
    }

    /// Whether `user` holds `p` on `scope` (directly, by a role, or on a wider scope;
    /// ADMIN_PRIV on everything covers every privilege but NODE_PRIV, as upstream).
    pub fn has(&self, user: &UserIdentity, scope: &Scope, p: Priv) -> bool {
        self.any_grant(user, |g| {
            (g.privs.contains(p) && g.scope.covers(scope))
                || (p != Priv::Node && g.scope == Scope::Global && g.privs.contains(Priv::Admin))
        })
    }

    /// Whether one of `user`'s grants, its own or its roles', satisfies `f`.
    fn any_grant(&self, user: &UserIdentity, f: impl Fn(&Grant) -> bool) -> bool {
        let s = self.read();
        let Some(u) = s.user(user) else { return false };
        let role_grants = u.roles.iter().filter_map(|r| s.roles.get(r)).flat_map(|r| r.grants.iter());
        u.grants.iter().chain(role_grants).any(f)
    }

    /// Whether `user` holds any privilege on `scope` or on something inside it (a grant on
    /// one table shows its database): what SHOW DATABASES and SHOW TABLES list.
    pub fn can_see(&self, user: &UserIdentity, scope: &Scope) -> bool {
        self.any_grant(user, |g| !g.privs.is_empty() && (g.scope.covers(scope) || scope.covers(&g.scope)))
    }

    /// `Err` with upstream's refusal unless `user` holds `p` on `scope`.
    pub fn require(&self, user: &UserIdentity, scope: &Scope, p: Priv) -> Result<(), FeError> {
        if self.has(user, scope, p) {
            Ok(())
        } else {
            Err(FeError::PrivilegeDenied { privilege: p.name().to_string() })
        }
    }

    pub fn create_user(&self, id: &UserIdentity, password: Option<&str>, role: Option<&str>, if_not_exists: bool) -> Result<(), FeError> {
        let mut s = self.write();
        if s.user(id).is_some() {
            if if_not_exists {
                return Ok(());
            }
            // Upstream's text.
            return Err(FeError::IllegalState(format!("Operation CREATE USER failed for {id}")));
        }
        if let Some(r) = role.filter(|r| !s.roles.contains_key(*r)) {
            return Err(FeError::NotFound(format!("Role '{r}'")));
        }
        let u = UserRecord {
            name: id.name.clone(),
            host: id.host.clone(),
            password: password.map(hash_hex).unwrap_or_default(),
            grants: vec![],
            roles: role.map(|r| vec![r.to_string()]).unwrap_or_default(),
        };
        self.store.put_named(Named::User, &store_key(id), &u).map_err(grant_error)?;
        s.put(u);
        Ok(())
    }

    pub fn drop_user(&self, id: &UserIdentity, if_exists: bool) -> Result<(), FeError> {
        if id.name == ROOT || id.name == ADMIN {
            return Err(FeError::InvalidArgument(format!("Can not drop user {}", id.name)));
        }
        let mut s = self.write();
        let Some(u) = s.user(id).cloned() else {
            if if_exists {
                return Ok(());
            }
            return Err(FeError::IllegalState(format!("Operation DROP USER failed for {id}")));
        };
        self.store.delete_named(Named::User, &store_key(&u.identity())).map_err(grant_error)?;
        s.remove(id);
        Ok(())
    }

    /// Sets a password: clear text, or (`hashed`) as `*<40 hex>` of PASSWORD().
    pub fn set_password(&self, id: &UserIdentity, password: &str, hashed: bool) -> Result<(), FeError> {
        let hex = if hashed {
            let h = password.strip_prefix('*').unwrap_or(password);
            if h.len() != 40 || hex::decode(h).is_err() {
                return Err(FeError::InvalidArgument("Password hash should be a 41-digit hexadecimal number".into()));
            }
            h.to_ascii_lowercase()
        } else {
            hash_hex(password)
        };
        self.update_user(id, |u| u.password = hex.clone())
    }

    fn update_user(&self, id: &UserIdentity, f: impl FnOnce(&mut UserRecord)) -> Result<(), FeError> {
        let mut s = self.write();
        let mut u = s.user(id).cloned().ok_or_else(|| no_such_user(id))?;
        f(&mut u);
        self.store.put_named(Named::User, &store_key(&u.identity()), &u).map_err(grant_error)?;
        s.put(u);
        Ok(())
    }

    fn update_role(&self, name: &str, f: impl FnOnce(&mut RoleRecord)) -> Result<(), FeError> {
        let mut s = self.write();
        let mut r = s.roles.get(name).cloned().ok_or_else(|| FeError::NotFound(format!("Role '{name}'")))?;
        f(&mut r);
        self.store.put_named(Named::Role, name, &r).map_err(grant_error)?;
        s.roles.insert(name.into(), r);
        Ok(())
    }

    pub fn create_role(&self, name: &str, if_not_exists: bool) -> Result<(), FeError> {
        let mut s = self.write();
        if s.roles.contains_key(name) {
            return if if_not_exists { Ok(()) } else { Err(FeError::AlreadyExists(format!("Role '{name}'"))) };
        }
        let r = RoleRecord { name: name.into(), grants: vec![] };
        self.store.put_named(Named::Role, name, &r).map_err(grant_error)?;
        s.roles.insert(name.into(), r);
        Ok(())
    }

    pub fn drop_role(&self, name: &str, if_exists: bool) -> Result<(), FeError> {
        let mut s = self.write();
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
    pub fn grant_role(&self, role: &str, user: &UserIdentity, revoke: bool) -> Result<(), FeError> {
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

    pub fn user(&self, id: &UserIdentity) -> Option<UserRecord> {
        self.read().user(id).cloned()
    }

    /// Every identity, by name and then in login order.
    pub fn all_users(&self) -> Vec<UserRecord> {
        self.read().users.values().flatten().cloned().collect()
    }

    pub fn all_roles(&self) -> Vec<RoleRecord> {
        self.read().roles.values().cloned().collect()
    }
}

/// Who a GRANT or REVOKE is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grantee {
    User(UserIdentity),
    Role(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users(dir: &std::path::Path) -> Users {
        Users::load(Arc::new(MetaStore::open(dir).unwrap()), "r00t", "").unwrap()
    }

    fn any(name: &str) -> UserIdentity {
        UserIdentity::any_host(name)
    }

    const LOCAL: Option<&str> = Some("127.0.0.1");

    #[test]
    fn passwords_grants_and_roles_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let alice = any("alice");
        {
            let u = users(dir.path());
            assert!(u.check_password("root", "r00t", LOCAL).is_ok() && u.check_password("root", "x", LOCAL).is_err());
            assert!(u.check_password("admin", "", None).is_ok());
            u.create_user(&alice, Some("pw"), None, false).unwrap();
            assert!(matches!(u.create_user(&alice, None, None, false), Err(FeError::IllegalState(_))));
            let db = Scope::Db { catalog: "internal".into(), db: "d1".into() };
            u.grant(&Grantee::User(alice.clone()), &db, PrivSet::of(&[Priv::Select, Priv::Load]), false).unwrap();
            u.create_role("loader", false).unwrap();
            let d2 = Scope::Db { catalog: "internal".into(), db: "d2".into() };
            u.grant(&Grantee::Role("loader".into()), &d2, PrivSet::of(&[Priv::Load]), false).unwrap();
            u.grant_role("loader", &alice, false).unwrap();
            u.set_password(&any("root"), "n3w", false).unwrap();
        }
        let u = users(dir.path());
        assert!(u.check_password("root", "n3w", LOCAL).is_ok(), "the stored password wins over fe.conf's");
        assert_eq!(u.check_password("alice", "pw", LOCAL).unwrap(), alice);
        let t1 = Scope::Table { catalog: "internal".into(), db: "d1".into(), table: "t".into() };
        let t2 = Scope::Table { catalog: "internal".into(), db: "d2".into(), table: "t".into() };
        assert!(u.has(&alice, &t1, Priv::Select) && u.has(&alice, &t1, Priv::Load));
        assert!(!u.has(&alice, &t2, Priv::Select) && u.has(&alice, &t2, Priv::Load), "LOAD on d2 by the role");
        assert!(!u.has(&alice, &Scope::Global, Priv::Admin));
        assert!(u.has(&any("admin"), &t2, Priv::Drop) && !u.has(&any("admin"), &Scope::Global, Priv::Node));
        assert!(u.has(&any("root"), &Scope::Global, Priv::Node));
        assert!(u.can_see(&alice, &Scope::db("d1")) && u.can_see(&alice, &Scope::db("d2")));
        assert!(u.can_see(&alice, &t1) && !u.can_see(&alice, &Scope::db("d3")));
        let db1 = Scope::Db { catalog: "internal".into(), db: "d1".into() };
        u.grant(&Grantee::User(alice.clone()), &db1, PrivSet::of(&[Priv::Load]), true).unwrap();
        assert!(!u.has(&alice, &t1, Priv::Load) && u.has(&alice, &t1, Priv::Select));
        u.drop_user(&alice, false).unwrap();
        assert!(u.check_password("alice", "pw", LOCAL).is_err());
        assert!(u.drop_user(&any("root"), false).is_err());
    }

    #[test]
    fn one_name_under_several_hosts() {
        let dir = tempfile::tempdir().unwrap();
        let local = UserIdentity::new("u", "127.0.0.1");
        let net = UserIdentity::new("u", "10.%");
        {
            let u = users(dir.path());
            u.create_user(&any("u"), Some("wide"), None, false).unwrap();
            u.create_user(&local, Some("near"), None, false).unwrap();
            u.create_user(&net, Some("far"), None, false).unwrap();
            u.grant(&Grantee::User(local.clone()), &Scope::db("d1"), PrivSet::of(&[Priv::Select]), false).unwrap();
        }
        let u = users(dir.path());
        // The most specific host decides; its password only.
        assert_eq!(u.check_password("u", "near", LOCAL).unwrap(), local);
        let e = u.check_password("u", "wide", LOCAL).unwrap_err();
        assert_eq!(e.to_string(), "Access denied for user 'u@127.0.0.1' (using password: YES)");
        assert_eq!(u.check_password("u", "far", Some("10.1.2.3")).unwrap(), net);
        assert_eq!(u.check_password("u", "wide", Some("192.168.0.1")).unwrap(), any("u"));
        assert_eq!(u.check_password("u", "wide", None).unwrap(), any("u"), "an unknown address is any host's");
        assert!(u.has(&local, &Scope::table("d1", "t"), Priv::Select) && !u.has(&any("u"), &Scope::table("d1", "t"), Priv::Select));
        u.drop_user(&any("u"), false).unwrap();
        assert!(u.check_password("u", "wide", Some("192.168.0.1")).is_err());
        assert!(u.user(&local).is_some() && u.user(&UserIdentity::new("u", "10.%")).is_some());
        let e = u.drop_user(&any("u"), false).unwrap_err();
        assert_eq!(e.to_string(), "Operation DROP USER failed for 'u'@'%'");
    }

    #[test]
    fn a_user_stored_under_its_bare_name_with_a_host_is_moved() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(MetaStore::open(dir.path()).unwrap());
        // What an FE before identities stored for CREATE USER 'old'@'10.%'.
        let old = UserRecord { name: "old".into(), host: "10.%".into(), password: String::new(), grants: vec![], roles: vec![] };
        store.put_named(Named::User, "old", &old).unwrap();
        drop(store);
        let u = users(dir.path());
        assert!(u.user(&UserIdentity::new("old", "10.%")).is_some());
        u.create_user(&any("old"), Some("x"), None, false).unwrap();
        drop(u);
        let u = users(dir.path());
        assert!(u.user(&UserIdentity::new("old", "10.%")).is_some() && u.user(&any("old")).is_some());
    }
}
