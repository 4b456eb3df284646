//! Fixture thrift peer for the interop tests (`tests/interop/`).
//!
//! - `serve`: our servers with handlers whose replies follow the fixture rules.
//! - `call`: our clients against a peer that follows the same rules.
//! - `roundtrip`: decode and re-encode structs with the generated code.

mod call;
mod fixtures;
mod roundtrip;
mod serve;

use clap::Subcommand;
use doris_thrift::transport::Framing;

#[derive(Subcommand)]
pub enum WirePeerCmd {
    /// Serve BackendService, HeartbeatService and FrontendService with fixture handlers.
    Serve {
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// First port (one per service, consecutive); 0 picks free ports.
        #[arg(long, default_value_t = 0)]
        port: u16,
        #[arg(long, value_delimiter = ',', default_value = "be,heartbeat,fe")]
        services: Vec<serve::Which>,
    },
    /// Call a peer's FrontendService (and HeartbeatService/BackendService if given) and
    /// check every reply; exits non-zero on any mismatch.
    Call {
        /// The peer's FrontendService.
        #[arg(long)]
        addr: String,
        #[arg(long)]
        heartbeat_addr: Option<String>,
        #[arg(long)]
        be_addr: Option<String>,
        /// Framed transport instead of buffered.
        #[arg(long)]
        framed: bool,
    },
    /// Re-encode length-prefixed struct records from stdin to stdout.
    Roundtrip,
}

pub async fn run(cmd: WirePeerCmd) -> Result<(), String> {
    match cmd {
        WirePeerCmd::Serve { host, port, services } => serve::run(&host, port, &services).await,
        WirePeerCmd::Call { addr, heartbeat_addr, be_addr, framed } => {
            let framing = if framed { Framing::Framed } else { Framing::Buffered };
            call::run(call::Targets { fe: addr, heartbeat: heartbeat_addr, be: be_addr, framing }).await
        }
        // Blocking stdin/stdout: keep it off the async workers.
        WirePeerCmd::Roundtrip => {
            tokio::task::spawn_blocking(roundtrip::run).await.map_err(|e| format!("roundtrip task failed: {e}"))?
        }
    }
}
