//! Transport errors: what went wrong reading a message, and what a client call returns.

use thrift::ApplicationError;

/// Reading one message off a connection failed; the connection is closed after it.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("message of {size} bytes exceeds the limit of {limit} bytes (thrift_max_message_size)")]
    TooLarge { size: u64, limit: u64 },
    #[error("malformed message: {0}")]
    Malformed(String),
    #[error("connection closed in the middle of a message")]
    Truncated,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// A client call failed. Transport failures, the peer's application exceptions and
/// timeouts are kept apart: callers retry the first, report the second, and may do
/// either with the third.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    #[error("cannot connect to {addr}: {source}")]
    Connect { addr: String, source: std::io::Error },
    #[error("transport error talking to {addr}: {source}")]
    Transport { addr: String, source: FrameError },
    #[error("{addr} answered with an application exception ({kind:?}): {message}")]
    Application { addr: String, kind: thrift::ApplicationErrorKind, message: String },
    #[error("{addr} sent a reply we cannot decode: {message}")]
    BadReply { addr: String, message: String },
    #[error("{what} to {addr} timed out after {ms} ms")]
    Timeout { addr: String, what: &'static str, ms: u64 },
}

impl RpcError {
    pub fn application(addr: &str, e: ApplicationError) -> Self {
        RpcError::Application { addr: addr.to_string(), kind: e.kind, message: e.message }
    }

    /// True when the call may not have reached the peer's handler at all, or its answer
    /// was lost; such calls are candidates for a retry.
    pub fn is_transport(&self) -> bool {
        matches!(self, RpcError::Connect { .. } | RpcError::Transport { .. } | RpcError::Timeout { .. })
    }
}

/// A thrift error as one line with its message: the library's `Display` of transport and
/// protocol errors prints only their kind ("bad data"), losing what was wrong.
pub fn describe(e: &thrift::Error) -> String {
    let with = |kind: String, message: &str| if message.is_empty() { kind } else { format!("{kind}: {message}") };
    match e {
        thrift::Error::Transport(t) => with(t.to_string(), &t.message),
        thrift::Error::Protocol(p) => with(p.to_string(), &p.message),
        thrift::Error::Application(a) => a.message.clone(),
        thrift::Error::User(u) => u.to_string(),
    }
}
