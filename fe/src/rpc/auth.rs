//! Who may call the CCR-facing RPCs: root/admin by password, or anyone holding the
//! cluster token (upstream accepts any non-empty token; we check it).

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
