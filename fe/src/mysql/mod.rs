//! The FE's MySQL query port. The server answers connection-level statements
//! itself (system variables, `SET`, driver probes such as `SELECT @@x` and
//! `SELECT DATABASE()`) and hands everything else, `USE` included, to an
//! [`Executor`].

pub mod auth;
mod executor;
mod handshake;
mod probes;
mod results;
mod server;
mod session;

pub use auth::{Authenticator, StaticUsers};
pub use executor::Executor;
pub use probes::{SERVER_VERSION, VERSION_COMMENT};
pub use results::{ColType, OutColumn, QueryOutput, Value};
pub use server::serve;
pub use session::Session;
