//! Fixture thrift peer for the interop tests.

use clap::Subcommand;

#[derive(Subcommand)]
pub enum WirePeerCmd {}

pub async fn run(cmd: WirePeerCmd) -> Result<(), String> {
    match cmd {}
}
