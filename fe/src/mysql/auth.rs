//! mysql_native_password: the stored form of a password (SHA1(SHA1(pw))),
//! the per-connection salt and the check of a client's scramble.

use std::collections::HashMap;

use rand::Rng;
use sha1::{Digest, Sha1};

pub const NATIVE_PASSWORD_PLUGIN: &str = "mysql_native_password";
pub const SALT_LEN: usize = 20;

/// Looks up users for the MySQL port.
pub trait Authenticator: Send + Sync {
    /// The host pattern of the identity a login of `user` from `client_host` is checked
    /// as, with its SHA1(SHA1(password)); `None` when no identity of that name matches.
    fn login_entry(&self, user: &str, client_host: &str) -> Option<(String, [u8; 20])>;
}

/// SHA1(SHA1(password)), the form a password is stored in.
pub fn stage2(password: &str) -> [u8; 20] {
    let stage1: [u8; 20] = Sha1::digest(password.as_bytes()).into();
    Sha1::digest(stage1).into()
}

/// Checks a mysql_native_password response.
///
/// The client sends `SHA1(pw) XOR SHA1(salt + SHA1(SHA1(pw)))`; XOR-ing it
/// with `SHA1(salt + stage2)` gives back `SHA1(pw)`, whose SHA1 must equal
/// `stage2`. An empty password is sent as an empty response.
pub fn verify(scramble_response: &[u8], salt: &[u8], stage2_hash: &[u8; 20]) -> bool {
    if scramble_response.is_empty() {
        return *stage2_hash == stage2("");
    }
    if scramble_response.len() != 20 {
        return false;
    }
    let mut h = Sha1::new();
    h.update(salt);
    h.update(stage2_hash);
    let mask: [u8; 20] = h.finalize().into();
    let mut stage1 = [0u8; 20];
    for i in 0..20 {
        stage1[i] = scramble_response[i] ^ mask[i];
    }
    let candidate: [u8; 20] = Sha1::digest(stage1).into();
    // Constant-time compare: the response is attacker-controlled.
    candidate.iter().zip(stage2_hash.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// What a client computes from its password, for tests and clients of our own.
pub fn scramble(password: &str, salt: &[u8]) -> Vec<u8> {
    if password.is_empty() {
        return Vec::new();
    }
    let stage1: [u8; 20] = Sha1::digest(password.as_bytes()).into();
    let stage2_hash: [u8; 20] = Sha1::digest(stage1).into();
    let mut h = Sha1::new();
    h.update(salt);
    h.update(stage2_hash);
    let mask: [u8; 20] = h.finalize().into();
    stage1.iter().zip(mask.iter()).map(|(a, b)| a ^ b).collect()
}

/// A fresh salt: printable ASCII, so no NUL can cut the greeting short.
pub fn new_salt() -> [u8; SALT_LEN] {
    let mut rng = rand::thread_rng();
    let mut salt = [0u8; SALT_LEN];
    for b in salt.iter_mut() {
        *b = rng.gen_range(0x21u8..=0x7e);
    }
    salt
}

/// A fixed user table, e.g. from configuration.
#[derive(Default, Clone)]
pub struct StaticUsers {
    users: HashMap<String, [u8; 20]>,
}

impl StaticUsers {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a user by clear-text password (hashed at once, never kept).
    pub fn with_user(mut self, user: &str, password: &str) -> Self {
        self.users.insert(user.to_string(), stage2(password));
        self
    }
}

impl Authenticator for StaticUsers {
    fn login_entry(&self, user: &str, _client_host: &str) -> Option<(String, [u8; 20])> {
        self.users.get(user).map(|h| ("%".to_string(), *h))
    }
}

impl std::fmt::Debug for StaticUsers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Hashes are password-equivalent for this protocol: print names only.
        f.debug_struct("StaticUsers").field("users", &self.users.keys().collect::<Vec<_>>()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn right_password_passes_wrong_fails() {
        let salt = new_salt();
        let s2 = stage2("secret");
        assert!(verify(&scramble("secret", &salt), &salt, &s2));
        assert!(!verify(&scramble("Secret", &salt), &salt, &s2));
        assert!(!verify(&scramble("secret", b"another-salt-abcdefg"), &salt, &s2));
        assert!(!verify(b"short", &salt, &s2));
        assert!(!verify(&[], &salt, &s2));
    }

    #[test]
    fn empty_password_means_empty_response() {
        let salt = new_salt();
        let empty = stage2("");
        assert!(verify(&[], &salt, &empty));
        assert!(!verify(&scramble("x", &salt), &salt, &empty));
        assert!(scramble("", &salt).is_empty());
    }

    #[test]
    fn known_vector() {
        // SHA1(SHA1("root")) as MySQL stores it: *81F5E21E35407D884A6CD4A731AEBFB6AF209E1B
        assert_eq!(hex::encode_upper(stage2("root")), "81F5E21E35407D884A6CD4A731AEBFB6AF209E1B");
    }

    #[test]
    fn salt_is_printable() {
        for _ in 0..100 {
            assert!(new_salt().iter().all(|b| (0x21..=0x7e).contains(b)));
        }
    }
}
