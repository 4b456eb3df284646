//! Per-connection state on the MySQL port.

use std::collections::BTreeMap;

use crate::error::FeError;

#[derive(Debug, Clone)]
pub struct Session {
    pub connection_id: u32,
    pub user: String,
    /// The host pattern of the identity the login matched: with `user`, the identity whose
    /// privileges the session has (CURRENT_USER()).
    pub user_host: String,
    /// The client's IP address as seen by the server.
    pub client_host: String,
    pub current_db: Option<String>,
    /// Session-scope variables set with `SET`; keys are lower-case.
    pub variables: BTreeMap<String, String>,
}

impl Session {
    pub fn new(connection_id: u32, user: impl Into<String>, client_host: impl Into<String>) -> Self {
        Session {
            connection_id,
            user: user.into(),
            user_host: crate::auth::ANY_HOST.to_string(),
            client_host: client_host.into(),
            current_db: None,
            variables: BTreeMap::new(),
        }
    }

    /// The identity whose privileges this session has.
    pub fn identity(&self) -> crate::auth::UserIdentity {
        crate::auth::UserIdentity::new(self.user.clone(), self.user_host.clone())
    }

    /// The current database, or error 1046.
    pub fn db(&self) -> Result<&str, FeError> {
        self.current_db.as_deref().ok_or(FeError::NoDatabaseSelected)
    }

    /// An explicit `db.` qualifier wins; otherwise the current database.
    pub fn resolve_db(&self, explicit: Option<&str>) -> Result<String, FeError> {
        match explicit {
            Some(db) => Ok(db.to_string()),
            None => self.db().map(str::to_string),
        }
    }

    /// A boolean session variable (`1`, `true`, `on`) set on this connection.
    pub fn flag(&self, name: &str) -> bool {
        self.variable(name).is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "on"))
    }

    /// A session variable set on this connection, by case-insensitive name.
    pub fn variable(&self, name: &str) -> Option<&str> {
        self.variables.get(&name.to_ascii_lowercase()).map(String::as_str)
    }
}
