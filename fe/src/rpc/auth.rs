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
    if let Some(t) = token.filter(|t| !t.is_empty()) {
        if t == ctx.cluster.token {
            return Ok(());
        }
        return Err(FeError::AccessDenied {
            user: user.unwrap_or("").to_string(),
            host: user_ip.unwrap_or("%").to_string(),
            using_password: false,
        });
    }
    let user = user.unwrap_or("");
    let password = password.unwrap_or("");
    if ctx.check_password(user, password) {
        Ok(())
    } else {
        Err(FeError::AccessDenied {
            user: user.to_string(),
            host: user_ip.unwrap_or("%").to_string(),
            using_password: !password.is_empty(),
        })
    }
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
    check(ctx, user, password, token, user_ip)?;
    if token.is_some_and(|t| !t.is_empty()) {
        return Ok(());
    }
    ctx.users.require(user.unwrap_or(""), scope, p)
}
