//! Developer tools of doris-rs, kept out of the product crates (`doris-fe`, `doris-be`) and
//! of the binary's own source: the `doris-rs` binary only parses their subcommands and
//! dispatches here.
//!
//! - [`bench`]: `doris-rs bench rpc|download|load`, figures of the transport, the snapshot
//!   pull engine, and load and scan throughput.
//! - [`wire_peer`]: the hidden `doris-rs wire-peer serve|call|roundtrip`, the fixture
//!   thrift peer of `tests/interop`.
//!
//! Both commands run the `doris-rs` binary that called them again (`current_exe`) where
//! they need a child process: `bench load` starts `doris-rs local`, `bench rpc --peers`
//! starts `doris-rs bench rpc --serve-peer`.

pub mod bench;
pub mod wire_peer;
