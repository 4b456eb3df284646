//! The MySQL users: root and admin, passwords from fe.conf, kept only as stage-2 hashes.

use crate::config::FeConfig;
use crate::mysql::auth::{stage2, Authenticator};

pub struct FeUsers {
    root: [u8; 20],
    admin: [u8; 20],
}

impl FeUsers {
    pub fn from_config(c: &FeConfig) -> Self {
        FeUsers { root: stage2(&c.root_password), admin: stage2(&c.admin_password) }
    }
}

impl Authenticator for FeUsers {
    fn stage2(&self, user: &str) -> Option<[u8; 20]> {
        match user {
            "root" => Some(self.root),
            "admin" => Some(self.admin),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_and_admin_only() {
        let mut c = FeConfig::default();
        c.set("root_password", "r00t").unwrap();
        let users = FeUsers::from_config(&c);
        assert_eq!(users.stage2("root"), Some(stage2("r00t")));
        assert_eq!(users.stage2("admin"), Some(stage2("")));
        assert_eq!(users.stage2("mallory"), None);
    }
}
