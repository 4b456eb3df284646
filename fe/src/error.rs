//! The FE's error type. Each variant is mapped exactly once to a MySQL error
//! (code and SQLSTATE, for the query port) and once to a Doris status code (for
//! thrift answers); everything else derives from those two maps.

use doris_thrift::status::{TStatus, TStatusCode};
use opensrv_mysql::ErrorKind;

use crate::catalog::CatalogError;
use crate::cooldown::PolicyError;
use crate::system::SystemError;

#[derive(Debug, thiserror::Error)]
pub enum FeError {
    #[error("syntax error at line {line}, column {column}: {message}")]
    Parse { line: u64, column: u64, message: String },
    #[error("Query was empty")]
    EmptyQuery,
    #[error("not supported: {0}")]
    NotSupported(String),
    #[error("Unknown system variable '{0}'")]
    UnknownVariable(String),
    /// Upstream quotes `user@host` as one (its AuthenticationException's argument).
    #[error("Access denied for user '{user}@{host}' (using password: {})", if *.using_password { "YES" } else { "NO" })]
    AccessDenied { user: String, host: String, using_password: bool },
    #[error("No database selected")]
    NoDatabaseSelected,
    #[error("Unknown database '{0}'")]
    UnknownDatabase(String),
    #[error("Can't create database '{0}'; database exists")]
    DatabaseExists(String),
    #[error("Can't drop database '{0}'; database doesn't exist")]
    DatabaseNotExists(String),
    #[error("Table '{0}' already exists")]
    TableExists(String),
    #[error("Unknown table '{0}'")]
    UnknownTable(String),
    #[error("Unknown column '{0}'")]
    UnknownColumn(String),
    /// Something named does not exist (repository, partition, backend, job...).
    #[error("{0} does not exist")]
    NotFound(String),
    #[error("{0} already exists")]
    AlreadyExists(String),
    #[error("snapshot {0} does not exist")]
    SnapshotNotExist(String),
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The request is valid but the current state forbids it (e.g. a job is running).
    #[error("{0}")]
    IllegalState(String),
    #[error("this FE is not the master{}", .master.as_deref().map(|m| format!(", master is {m}")).unwrap_or_default())]
    NotMaster { master: Option<String> },
    #[error("cancelled: {0}")]
    Cancelled(String),
    #[error("timeout: {0}")]
    Timeout(String),
    #[error("io error: {context}: {source}")]
    Io { context: String, source: std::io::Error },
    /// Upstream's refusal for a missing privilege.
    #[error("Access denied; you need (at least one of) the {privilege} privilege(s) for this operation")]
    PrivilegeDenied { privilege: String },
    #[error("Unknown thread id: {0}")]
    NoSuchThread(u32),
    #[error("You are not owner of thread {0}")]
    KillDenied(u32),
    /// The statement was stopped by `KILL QUERY`.
    #[error("Query execution was interrupted")]
    Interrupted,
    /// A query the query engine could not parse or plan (unknown table or column, bad
    /// types...), with its message.
    #[error("{0}")]
    Analysis(String),
    #[error("{0}")]
    Internal(String),
}

impl FeError {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        FeError::Io { context: context.into(), source }
    }

    pub fn not_supported(what: impl Into<String>) -> Self {
        FeError::NotSupported(what.into())
    }

    /// The MySQL error this becomes on the query port; its SQLSTATE comes with it.
    pub fn mysql_error_kind(&self) -> ErrorKind {
        match self {
            FeError::Parse { .. } => ErrorKind::ER_PARSE_ERROR,
            FeError::EmptyQuery => ErrorKind::ER_EMPTY_QUERY,
            FeError::NotSupported(_) => ErrorKind::ER_NOT_SUPPORTED_YET,
            FeError::UnknownVariable(_) => ErrorKind::ER_UNKNOWN_SYSTEM_VARIABLE,
            FeError::AccessDenied { .. } => ErrorKind::ER_ACCESS_DENIED_ERROR,
            FeError::NoSuchThread(_) => ErrorKind::ER_NO_SUCH_THREAD,
            FeError::PrivilegeDenied { .. } => ErrorKind::ER_SPECIFIC_ACCESS_DENIED_ERROR,
            FeError::KillDenied(_) => ErrorKind::ER_KILL_DENIED_ERROR,
            FeError::Interrupted => ErrorKind::ER_QUERY_INTERRUPTED,
            FeError::NoDatabaseSelected => ErrorKind::ER_NO_DB_ERROR,
            FeError::UnknownDatabase(_) => ErrorKind::ER_BAD_DB_ERROR,
            FeError::DatabaseExists(_) => ErrorKind::ER_DB_CREATE_EXISTS,
            FeError::DatabaseNotExists(_) => ErrorKind::ER_DB_DROP_EXISTS,
            FeError::TableExists(_) => ErrorKind::ER_TABLE_EXISTS_ERROR,
            FeError::UnknownTable(_) => ErrorKind::ER_BAD_TABLE_ERROR,
            FeError::UnknownColumn(_) => ErrorKind::ER_BAD_FIELD_ERROR,
            FeError::NotFound(_)
            | FeError::AlreadyExists(_)
            | FeError::SnapshotNotExist(_)
            | FeError::InvalidArgument(_)
            | FeError::IllegalState(_)
            | FeError::NotMaster { .. }
            | FeError::Cancelled(_)
            | FeError::Timeout(_)
            | FeError::Io { .. }
            | FeError::Analysis(_)
            | FeError::Internal(_) => ErrorKind::ER_UNKNOWN_ERROR,
        }
    }

    pub fn mysql_code(&self) -> u16 {
        self.mysql_error_kind() as u16
    }

    pub fn sqlstate(&self) -> &'static str {
        // ErrorKind's SQLSTATE table is ASCII by construction.
        std::str::from_utf8(self.mysql_error_kind().sqlstate()).unwrap_or("HY000")
    }

    /// The Doris status code this becomes in thrift answers.
    pub fn status_code(&self) -> TStatusCode {
        match self {
            FeError::Parse { .. } | FeError::EmptyQuery | FeError::Analysis(_) => TStatusCode::ANALYSIS_ERROR,
            FeError::NotSupported(_) => TStatusCode::NOT_IMPLEMENTED_ERROR,
            FeError::AccessDenied { .. } | FeError::KillDenied(_) | FeError::PrivilegeDenied { .. } => {
                TStatusCode::NOT_AUTHORIZED
            }
            FeError::NoSuchThread(_) => TStatusCode::NOT_FOUND,
            FeError::Interrupted => TStatusCode::CANCELLED,
            FeError::NoDatabaseSelected | FeError::InvalidArgument(_) | FeError::UnknownVariable(_) => {
                TStatusCode::INVALID_ARGUMENT
            }
            FeError::UnknownDatabase(_)
            | FeError::DatabaseNotExists(_)
            | FeError::UnknownTable(_)
            | FeError::UnknownColumn(_)
            | FeError::NotFound(_) => TStatusCode::NOT_FOUND,
            FeError::DatabaseExists(_) | FeError::TableExists(_) | FeError::AlreadyExists(_) => {
                TStatusCode::ALREADY_EXIST
            }
            FeError::SnapshotNotExist(_) => TStatusCode::SNAPSHOT_NOT_EXIST,
            FeError::IllegalState(_) => TStatusCode::ILLEGAL_STATE,
            FeError::NotMaster { .. } => TStatusCode::NOT_MASTER,
            FeError::Cancelled(_) => TStatusCode::CANCELLED,
            FeError::Timeout(_) => TStatusCode::TIMEOUT,
            FeError::Io { .. } => TStatusCode::IO_ERROR,
            FeError::Internal(_) => TStatusCode::INTERNAL_ERROR,
        }
    }

    pub fn to_status(&self) -> TStatus {
        TStatus { status_code: self.status_code(), error_msgs: Some(vec![self.to_string()]) }
    }
}

pub fn ok_status() -> TStatus {
    TStatus { status_code: TStatusCode::OK, error_msgs: None }
}

pub type Result<T, E = FeError> = std::result::Result<T, E>;

// The domain errors as FeErrors: each domain's error is mapped here, once.

/// A meta store failure (an id not drawn, a record not read) the caller cannot act on.
impl From<crate::persist::MetaError> for FeError {
    fn from(e: crate::persist::MetaError) -> Self {
        FeError::Internal(e.to_string())
    }
}

impl From<CatalogError> for FeError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::UnknownDatabase(n) => FeError::UnknownDatabase(n),
            CatalogError::DatabaseExists(n) => FeError::DatabaseExists(n),
            CatalogError::DropUnknownDatabase(n) => FeError::DatabaseNotExists(n),
            CatalogError::TableExists(n) => FeError::TableExists(n),
            CatalogError::UnknownTable { table, .. } => FeError::UnknownTable(table),
            CatalogError::Invalid(m) => FeError::InvalidArgument(m),
            e @ (CatalogError::NotNormal(..) | CatalogError::HeldByRestore(_)) => FeError::IllegalState(e.to_string()),
            // Upstream's text, verbatim: clients and people grep for it.
            e @ CatalogError::NotEnoughBackends { .. } => FeError::IllegalState(e.to_string()),
            CatalogError::CreateTablets(m) => FeError::Internal(m),
            CatalogError::Meta(m) => FeError::Internal(m.to_string()),
        }
    }
}

impl From<SystemError> for FeError {
    fn from(e: SystemError) -> Self {
        match e {
            SystemError::BadAddress(a) => FeError::InvalidArgument(format!("Invalid host port format: {a}")),
            e @ (SystemError::BackendExists(_) | SystemError::UnknownBackend(_)) => {
                FeError::IllegalState(e.to_string())
            }
            SystemError::Meta(m) => FeError::Internal(m.to_string()),
        }
    }
}

impl From<PolicyError> for FeError {
    fn from(e: PolicyError) -> Self {
        match e {
            e @ PolicyError::NoSuchResource(_) => FeError::InvalidArgument(e.to_string()),
            e @ PolicyError::Meta(_) => FeError::Internal(e.to_string()),
            e @ (PolicyError::ResourceExists(_)
            | PolicyError::UnknownResource(_)
            | PolicyError::ResourceInUse { .. }
            | PolicyError::PolicyExists(_)
            | PolicyError::UnknownPolicy(_)
            | PolicyError::PolicyInUse { .. }) => FeError::IllegalState(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mysql_codes_and_sqlstates() {
        let cases: Vec<(FeError, u16, &str)> = vec![
            (FeError::AccessDenied { user: "u".into(), host: "h".into(), using_password: true }, 1045, "28000"),
            (FeError::UnknownDatabase("d".into()), 1049, "42000"),
            (FeError::Parse { line: 1, column: 2, message: "m".into() }, 1064, "42000"),
            (FeError::TableExists("t".into()), 1050, "42S01"),
            (FeError::UnknownTable("t".into()), 1051, "42S02"),
            (FeError::DatabaseExists("d".into()), 1007, "HY000"),
            (FeError::DatabaseNotExists("d".into()), 1008, "HY000"),
            (FeError::Internal("x".into()), 1105, "HY000"),
            (FeError::NotSupported("x".into()), 1235, "42000"),
            (FeError::NoDatabaseSelected, 1046, "3D000"),
            (FeError::UnknownColumn("c".into()), 1054, "42S22"),
            (FeError::UnknownVariable("v".into()), 1193, "HY000"),
            (FeError::EmptyQuery, 1065, "42000"),
        ];
        for (err, code, state) in cases {
            assert_eq!(err.mysql_code(), code, "{err:?}");
            assert_eq!(err.sqlstate(), state, "{err:?}");
        }
    }

    #[test]
    fn messages() {
        let e = FeError::AccessDenied { user: "bob".into(), host: "127.0.0.1".into(), using_password: true };
        assert_eq!(e.to_string(), "Access denied for user 'bob@127.0.0.1' (using password: YES)");
        let e = FeError::AccessDenied { user: "bob".into(), host: "h".into(), using_password: false };
        assert_eq!(e.to_string(), "Access denied for user 'bob@h' (using password: NO)");
        assert_eq!(FeError::NotMaster { master: Some("h:9020".into()) }.to_string(), "this FE is not the master, master is h:9020");
        assert_eq!(FeError::NotMaster { master: None }.to_string(), "this FE is not the master");
    }

    #[test]
    fn thrift_status() {
        let s = FeError::SnapshotNotExist("snap".into()).to_status();
        assert_eq!(s.status_code, TStatusCode::SNAPSHOT_NOT_EXIST);
        assert_eq!(s.error_msgs, Some(vec!["snapshot snap does not exist".to_string()]));
        assert_eq!(FeError::NotMaster { master: None }.status_code(), TStatusCode::NOT_MASTER);
        assert_eq!(ok_status().status_code, TStatusCode::OK);
    }
}
