//! `doris-rs fe --conf fe.conf`.

use std::path::PathBuf;

use crate::config::FeConfig;
use crate::server::{start, StartError};

#[derive(clap::Args, Debug)]
#[command(after_help = FeConfig::help())]
pub struct FeArgs {
    /// Path of fe.conf (Doris-style `key = value` lines).
    #[arg(long, default_value = "conf/fe.conf")]
    pub conf: PathBuf,
}

/// Run until SIGINT or SIGTERM, then shut down gracefully.
pub async fn run(args: FeArgs) -> Result<(), StartError> {
    let config = FeConfig::load(&args.conf)?;
    let fe = start(config).await?;
    eprintln!(
        "doris-rs fe: rpc {} query {} http {} (cluster {})",
        fe.rpc_addr, fe.query_addr, fe.http_addr, fe.ctx.cluster.cluster_id
    );
    wait_for_signal().await?;
    fe.shutdown().await;
    Ok(())
}

async fn wait_for_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}
