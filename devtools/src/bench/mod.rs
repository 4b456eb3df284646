//! `doris-rs bench ...`: measurements that print figures (never pass/fail on time).

use clap::Subcommand;

mod ccr;
mod download;
mod hold;
mod load;
mod rpc;
mod scale;

#[derive(Subcommand)]
pub enum BenchCmd {
    /// Thrift calls/s and latency, 256 MiB binary fields each way, peak RSS.
    Rpc(rpc::RpcArgs),
    /// Snapshot pull between two BEs on loopback vs upstream's algorithm and `cp -r`.
    Download(download::DownloadArgs),
    /// Stream load and scan rows/s of a local cluster (started here, or --fe).
    Load(load::LoadArgs),
    /// Incremental CCR (ccr-sync --follow) rows/s and lag beside the source's load rate.
    Ccr(ccr::CcrArgs),
    /// Backup and restore (a CCR full sync) of a table of N tablets: each phase, peak RSS.
    Scale(scale::ScaleArgs),
    /// Many connections held at once (MySQL, thrift, HTTP) while backups, restores and
    /// stream loads run: every request answered or refused, fds and RSS at start and end.
    Hold(hold::HoldArgs),
}

pub async fn run(cmd: BenchCmd) -> Result<(), String> {
    match cmd {
        BenchCmd::Rpc(args) => rpc::run(args).await,
        BenchCmd::Download(args) => download::run(args).await,
        BenchCmd::Load(args) => load::run(args).await,
        BenchCmd::Ccr(args) => ccr::run(args).await,
        BenchCmd::Scale(args) => scale::run(args).await,
        BenchCmd::Hold(args) => hold::run(args).await,
    }
}
