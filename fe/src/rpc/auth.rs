//! Who may call the CCR-facing RPCs: a user by password (and, for the RPCs that read or
//! write a database, the privilege upstream asks there), or anyone holding the cluster
//! token (upstream accepts any non-empty token; we check it).

use crate::context::FeContext;
use crate::error::FeError;

pub fn check(
    ctx: &FeContext,
    user: Option<&str>,
    password: Option<&str>,
    token: Option<&str>,
    user_ip: Option<&str>,
) -> Result<(), FeError> {
    login(ctx, user, password, token, user_ip).map(|_| ())
}

/// The caller's identity (None for the cluster token), as a login from `user_ip`.
fn login(
    ctx: &FeContext,
    user: Option<&str>,
    password: Option<&str>,
    token: Option<&str>,
    user_ip: Option<&str>,
) -> Result<Option<crate::auth::UserIdentity>, FeError> {
    let user_ip = user_ip.filter(|ip| !ip.is_empty());
    if let Some(t) = token.filter(|t| !t.is_empty()) {
        if t == ctx.cluster.token {
            return Ok(None);
        }
        return Err(FeError::AccessDenied {
            user: user.unwrap_or("").to_string(),
            host: user_ip.unwrap_or("%").to_string(),
            using_password: false,
        });
    }
    ctx.check_password(user.unwrap_or(""), password.unwrap_or(""), user_ip).map(Some)
}

/// [`check`], then the privilege `p` on `scope` for a caller that gave a password (the
/// cluster token stands for the cluster itself).
pub fn check_priv(
    ctx: &FeContext,
    user: Option<&str>,
    password: Option<&str>,
    token: Option<&str>,
    user_ip: Option<&str>,
    scope: &crate::auth::Scope,
    p: crate::auth::Priv,
) -> Result<(), FeError> {
    match login(ctx, user, password, token, user_ip)? {
        None => Ok(()),
        Some(id) => ctx.users.require(&id, scope, p),
    }
}
