//! `doris-rs be --conf be.conf`.

use std::path::PathBuf;

use tracing::info;

use crate::config::BeConfig;
use crate::error::BeError;

#[derive(clap::Args, Debug)]
#[command(after_help = crate::config::BeConfig::help())]
pub struct BeArgs {
    /// Path of be.conf (Doris-style `key = value` lines).
    #[arg(long, default_value = "conf/be.conf")]
    pub conf: PathBuf,
}

/// Run a BE until SIGINT or SIGTERM, then shut it down gracefully.
pub async fn run(args: BeArgs) -> Result<(), BeError> {
    let config = BeConfig::load(&args.conf).map_err(|e| BeError::InvalidArgument(e.to_string()))?;
    let handle = crate::agent::start(config).await?;
    let signal = wait_for_signal().await;
    info!(signal, "stopping");
    handle.shutdown().await;
    Ok(())
}

async fn wait_for_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = tokio::signal::ctrl_c() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT"
    }
}
