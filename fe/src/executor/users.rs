//! Users, roles and privileges over SQL: CREATE/DROP/ALTER USER, SET PASSWORD, GRANT,
//! REVOKE, CREATE/DROP ROLE, SHOW GRANTS, SHOW ROLES; and the MySQL port's logins checked
//! against the stored users.

use crate::auth::{Grantee, PrivSet, Scope, UserIdentity, UserRecord, ADMIN, ROOT};
use crate::context::Ctx;
use crate::error::FeError;
use crate::mysql::auth::Authenticator;
use crate::mysql::{QueryOutput, Session, Value};
use crate::sql::{GrantObject, PasswordSpec, UserStatement};

/// Logins on the MySQL port, checked against the stored users.
pub struct FeUsers(pub Ctx);

impl Authenticator for FeUsers {
    fn login_entry(&self, user: &str, client_host: &str) -> Option<(String, [u8; 20])> {
        self.0.users.login_entry(user, Some(client_host)).map(|(id, hash)| (id.host, hash))
    }
}

fn may_manage(ctx: &Ctx, session: &Session) -> Result<(), FeError> {
    ctx.users.require(&session.identity(), &Scope::Global, crate::auth::Priv::Grant)
}

fn set_password(ctx: &Ctx, user: &UserIdentity, p: &PasswordSpec) -> Result<(), FeError> {
    match p {
        PasswordSpec::Plain(pw) => ctx.users.set_password(user, pw, false),
        PasswordSpec::Hashed(h) => ctx.users.set_password(user, h, true),
    }
}

pub fn execute(ctx: &Ctx, session: &Session, stmt: UserStatement) -> Result<QueryOutput, FeError> {
    match stmt {
        UserStatement::CreateUser { user, password, role, if_not_exists } => {
            may_manage(ctx, session)?;
            ctx.users.create_user(&user, None, role.as_deref(), if_not_exists)?;
            if let Some(p) = password {
                set_password(ctx, &user, &p)?;
            }
        }
        UserStatement::DropUser { user, if_exists } => {
            may_manage(ctx, session)?;
            ctx.users.drop_user(&user, if_exists)?;
        }
        UserStatement::AlterUser { user, password } => {
            may_manage(ctx, session)?;
            set_password(ctx, &user, &password)?;
        }
        UserStatement::SetPassword { user, password } => {
            // Anyone may change their own password; another's needs GRANT_PRIV.
            let me = session.identity();
            let target = user.unwrap_or_else(|| me.clone());
            if !target.same_as(&me) {
                may_manage(ctx, session)?;
            }
            set_password(ctx, &target, &password)?;
        }
        UserStatement::CreateRole { role, if_not_exists } => {
            may_manage(ctx, session)?;
            ctx.users.create_role(&role, if_not_exists)?;
        }
        UserStatement::DropRole { role, if_exists } => {
            may_manage(ctx, session)?;
            ctx.users.drop_role(&role, if_exists)?;
        }
        UserStatement::Grant { object, grantee, revoke } => {
            may_manage(ctx, session)?;
            match object {
                GrantObject::Privileges { privs, scope } => {
                    ctx.users.grant(&grantee, &scope, PrivSet::of(&privs), revoke)?;
                }
                GrantObject::Role(role) => {
                    let Grantee::User(user) = &grantee else {
                        return Err(FeError::InvalidArgument("a role is granted to a user".into()));
                    };
                    ctx.users.grant_role(&role, user, revoke)?;
                }
            }
        }
        UserStatement::ShowGrants { user, all } => return show_grants(ctx, session, user, all),
        UserStatement::ShowRoles => {
            may_manage(ctx, session)?;
            let rows = ctx
                .users
                .all_roles()
                .into_iter()
                .map(|r| {
                    let users: Vec<String> = ctx
                        .users
                        .all_users()
                        .into_iter()
                        .filter(|u| u.roles.contains(&r.name))
                        .map(|u| u.identity().to_string())
                        .collect();
                    vec![Value::from(r.name), Value::from(""), Value::from(users.join(", "))]
                })
                .collect();
            return Ok(QueryOutput::text_rows(&["Name", "Comment", "Users"], rows));
        }
    }
    Ok(QueryOutput::ok())
}

/// Upstream's SHOW GRANTS columns (the privilege levels doris-rs has).
const GRANT_TITLES: &[&str] = &["UserIdentity", "Comment", "Password", "Roles", "GlobalPrivs", "CatalogPrivs", "DatabasePrivs", "TablePrivs"];

fn grants_row(u: &UserRecord) -> Vec<Value> {
    let level = |want: fn(&Scope) -> bool| -> Value {
        let parts: Vec<String> =
            u.grants.iter().filter(|g| want(&g.scope)).map(|g| format!("{}: {}", g.scope, g.privs)).collect();
        if parts.is_empty() {
            Value::Null
        } else {
            Value::from(parts.join("; "))
        }
    };
    let global = u.grants.iter().find(|g| g.scope == Scope::Global).map(|g| g.privs.to_string());
    vec![
        Value::from(u.identity().to_string()),
        Value::from(match u.name.as_str() {
            ROOT => "ROOT",
            ADMIN => "ADMIN",
            _ => "",
        }),
        Value::from(if u.password.is_empty() { "No" } else { "Yes" }),
        Value::from(u.roles.join(",")),
        Value::from(global),
        level(|s| matches!(s, Scope::Catalog(_))),
        level(|s| matches!(s, Scope::Db { .. })),
        level(|s| matches!(s, Scope::Table { .. })),
    ]
}

fn show_grants(ctx: &Ctx, session: &Session, user: Option<UserIdentity>, all: bool) -> Result<QueryOutput, FeError> {
    let users: Vec<UserRecord> = if all {
        may_manage(ctx, session)?;
        ctx.users.all_users()
    } else {
        let me = session.identity();
        let id = user.unwrap_or_else(|| me.clone());
        if !id.same_as(&me) {
            may_manage(ctx, session)?;
        }
        vec![ctx.users.user(&id).ok_or_else(|| FeError::NotFound(format!("user {id}")))?]
    };
    Ok(QueryOutput::text_rows(GRANT_TITLES, users.iter().map(grants_row).collect()))
}
