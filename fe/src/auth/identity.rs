//! Upstream's `UserIdentity`: a user name with the host pattern it may connect from
//! (`'alice'@'192.168.%'`). The same name under several hosts is several identities, each
//! with its own password and grants.

use std::cmp::Ordering;
use std::fmt;

/// Any host.
pub const ANY_HOST: &str = "%";

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserIdentity {
    pub name: String,
    /// A MySQL pattern (`%` any run, `_` one character) matched against the client's IP.
    pub host: String,
}

impl UserIdentity {
    pub fn new(name: impl Into<String>, host: impl Into<String>) -> Self {
        UserIdentity { name: name.into(), host: host.into() }
    }

    /// `name` from any host: what `'name'` without `@host` means.
    pub fn any_host(name: impl Into<String>) -> Self {
        UserIdentity::new(name, ANY_HOST)
    }

    /// Whether a client connecting from `client_host` is this identity's to check; an
    /// unknown address (None) only matches identities for any host.
    pub fn matches_host(&self, client_host: Option<&str>) -> bool {
        self.host == ANY_HOST || client_host.is_some_and(|h| crate::sql::like_match(&self.host, h))
    }

    /// Host patterns compare case-insensitively, as upstream's.
    pub fn same_as(&self, other: &UserIdentity) -> bool {
        self.name == other.name && self.host.eq_ignore_ascii_case(&other.host)
    }

    /// The order in which a login tries a name's identities: upstream sorts a name's hosts
    /// by descending string order, which puts `%` after the IPs and narrower patterns.
    pub fn login_order(a: &UserIdentity, b: &UserIdentity) -> Ordering {
        b.host.cmp(&a.host)
    }
}

impl fmt::Display for UserIdentity {
    /// `'name'@'host'`, as upstream prints an identity (SHOW GRANTS, CURRENT_USER()).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}'@'{}'", self.name, self.host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_match_and_order_as_upstream() {
        let local = UserIdentity::new("u", "127.0.0.1");
        let net = UserIdentity::new("u", "10.%");
        let any = UserIdentity::any_host("u");
        assert!(local.matches_host(Some("127.0.0.1")) && !local.matches_host(Some("127.0.0.10")));
        assert!(net.matches_host(Some("10.0.0.1")) && !net.matches_host(Some("127.0.0.1")));
        assert!(any.matches_host(Some("10.0.0.1")) && any.matches_host(None) && !net.matches_host(None));
        assert!(UserIdentity::new("u", "192.168.1._").matches_host(Some("192.168.1.7")));
        let mut all = vec![any.clone(), local.clone(), net.clone()];
        all.sort_by(UserIdentity::login_order);
        assert_eq!(all, vec![local, net, any.clone()]);
        assert_eq!(any.to_string(), "'u'@'%'");
        assert!(UserIdentity::new("u", "LocalHost").same_as(&UserIdentity::new("u", "localhost")));
    }
}
