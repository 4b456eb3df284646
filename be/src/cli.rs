//! `doris-rs be --conf be.conf`.

use std::path::PathBuf;

#[derive(clap::Args, Debug)]
#[command(after_help = crate::config::BeConfig::help())]
pub struct BeArgs {
    /// Path of be.conf (Doris-style `key = value` lines).
    #[arg(long, default_value = "conf/be.conf")]
    pub conf: PathBuf,
}

pub async fn run(args: BeArgs) -> Result<(), crate::error::BeError> {
    let _ = args;
    todo!("agent::server::run")
}
