//! The BE's error type, mapped once to Doris status codes.

use doris_thrift::status::{TStatus, TStatusCode};

#[derive(Debug, thiserror::Error)]
pub enum BeError {
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("already exists: {0}")]
    AlreadyExist(String),
    #[error("not authorized: {0}")]
    NotAuthorized(String),
    #[error("corruption: {0}")]
    Corruption(String),
    #[error("io error: {context}: {source}")]
    Io { context: String, source: std::io::Error },
    #[error("http error: {0}")]
    Http(String),
    #[error("cancelled: {0}")]
    Cancelled(String),
    #[error("timeout: {0}")]
    Timeout(String),
    #[error("too many tasks: {0}")]
    TooManyTasks(String),
    #[error("not enough disk space: {0}")]
    DiskFull(String),
    #[error("aborted: {0}")]
    Aborted(String),
    #[error("{0}")]
    Internal(String),
}

impl BeError {
    /// An I/O error with what was being done (the path, which names the disk). A full disk
    /// (ENOSPC, or a quota's EDQUOT) is `DiskFull`, so the status says so, not just "IO error".
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        if is_out_of_space(&source) {
            return BeError::DiskFull(format!("{}: {source}", context.into()));
        }
        BeError::Io { context: context.into(), source }
    }

    pub fn code(&self) -> TStatusCode {
        match self {
            BeError::InvalidArgument(_) => TStatusCode::INVALID_ARGUMENT,
            BeError::NotFound(_) => TStatusCode::NOT_FOUND,
            BeError::AlreadyExist(_) => TStatusCode::ALREADY_EXIST,
            BeError::NotAuthorized(_) => TStatusCode::NOT_AUTHORIZED,
            BeError::Corruption(_) => TStatusCode::CORRUPTION,
            BeError::Io { .. } => TStatusCode::IO_ERROR,
            BeError::Http(_) => TStatusCode::HTTP_ERROR,
            BeError::Cancelled(_) => TStatusCode::CANCELLED,
            BeError::Timeout(_) => TStatusCode::TIMEOUT,
            BeError::TooManyTasks(_) => TStatusCode::TOO_MANY_TASKS,
            BeError::DiskFull(_) => TStatusCode::LIMIT_REACH,
            BeError::Aborted(_) => TStatusCode::ABORTED,
            BeError::Internal(_) => TStatusCode::INTERNAL_ERROR,
        }
    }

    pub fn to_status(&self) -> TStatus {
        TStatus { status_code: self.code(), error_msgs: Some(vec![self.to_string()]) }
    }
}

/// ENOSPC or EDQUOT: the write needs space the file system does not have.
pub fn is_out_of_space(e: &std::io::Error) -> bool {
    const ENOSPC: i32 = 28;
    const EDQUOT: i32 = 122;
    matches!(e.raw_os_error(), Some(ENOSPC | EDQUOT)) || e.kind() == std::io::ErrorKind::StorageFull
}

pub fn ok_status() -> TStatus {
    TStatus { status_code: TStatusCode::OK, error_msgs: None }
}

pub type Result<T, E = BeError> = std::result::Result<T, E>;

/// For conversions that cannot fail (a domain struct passed as itself).
impl From<std::convert::Infallible> for BeError {
    fn from(e: std::convert::Infallible) -> Self {
        match e {}
    }
}
