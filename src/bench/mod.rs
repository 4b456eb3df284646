//! `doris-rs bench ...`: measurements that print figures (never pass/fail on time).

use clap::Subcommand;

#[derive(Subcommand)]
pub enum BenchCmd {}

pub async fn run(cmd: BenchCmd) -> Result<(), String> {
    match cmd {}
}
