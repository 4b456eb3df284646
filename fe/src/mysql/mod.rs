//! The FE's MySQL query port. The server answers connection-level statements
//! itself (system variables, `SET`, transaction control) and hands everything else,
//! `USE` and queries included, to an [`Executor`].

mod arrow_rows;
pub mod auth;
mod connections;
mod executor;
mod handshake;
mod packet_bounds;
mod probes;
mod results;
mod server;
mod session;

pub use arrow_rows::output as query_output;
pub use auth::{Authenticator, StaticUsers};
pub use executor::Executor;
pub use probes::{SERVER_VERSION, VERSION_COMMENT};
pub use results::{ColType, OutColumn, QueryOutput, Value};
pub use server::{serve, serve_with};
pub use session::Session;

/// The whole connection code of the port over an in-memory stream, for the fuzz targets in
/// `fuzz/`: not an API.
#[doc(hidden)]
pub mod fuzzing {
    pub use super::server::serve_stream as connection;
}
