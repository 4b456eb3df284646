//! Async thrift transport: TBinaryProtocol over framed or buffered TCP.
//!
//! - `framing`: whole messages off a stream; a server detects framing per connection.
//! - `scan`: where an unframed message ends, refusing oversized ones early; large values
//!   are received apart, into the buffers the decoded values then own.
//! - `binary`: a bounded protocol reader over one message in memory (and its detached values).
//! - `server` / `client`: the serving loop and the pooled client.
//! - `stall`: closing connections whose peer stops moving bytes mid-message.
//! - `service!`: per-service handler traits, servers and clients (see `crate::services`).

pub mod binary;
pub mod client;
pub mod error;
pub mod framing;
#[cfg(test)]
mod memory_tests;
pub mod scan;
pub mod server;
mod service;
pub mod stall;
pub mod wire;

pub use binary::SliceInput;
pub use client::{Channel, ClientOptions, ClientPool};
pub use error::{FrameError, RpcError};
pub use framing::Framing;
pub use server::{peer, CallError, CallFuture, Reply, ServerOptions, Service, ThriftServer, DEFAULT_MAX_MESSAGE_BYTES};
pub use wire::Wire;
