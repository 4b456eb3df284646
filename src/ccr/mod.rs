//! `doris-rs ccr-sync`: CCR from a source cluster to a target cluster, driven the way the
//! CCR syncer (selectdb/ccr-syncer) drives it, against any FE that speaks upstream's
//! protocol (ours or Java): a full sync (`full`), then with `--follow` the incremental sync
//! from the source's binlogs (`follow`, `apply`), its progress kept in a small embedded
//! store (`progress`) so a restart resumes where it stopped.

mod apply;
mod conn;
mod follow;
mod full;
mod progress;

#[derive(clap::Args, Debug)]
pub struct CcrSyncArgs {
    /// Source FE MySQL address (host:query_port).
    #[arg(long, value_name = "HOST:PORT")]
    src: String,
    /// Source FE thrift address (host:rpc_port).
    #[arg(long, value_name = "HOST:PORT")]
    src_rpc: String,
    /// Target FE MySQL address (host:query_port).
    #[arg(long, value_name = "HOST:PORT")]
    dst: String,
    /// Target FE thrift address (host:rpc_port).
    #[arg(long, value_name = "HOST:PORT")]
    dst_rpc: String,
    /// Source database.
    #[arg(long)]
    db: String,
    /// Target database (created if missing); defaults to the source's name.
    #[arg(long)]
    dst_db: Option<String>,
    /// A table to sync; repeat for several. Without any, the whole database.
    #[arg(long = "table")]
    tables: Vec<String>,
    /// Snapshot label; defaults to ccrs_<db>_<unix ms>.
    #[arg(long)]
    label: Option<String>,
    /// MySQL/thrift user on both clusters.
    #[arg(long, default_value = "root")]
    user: String,
    /// Password on both clusters.
    #[arg(long, default_value = "")]
    password: String,
    /// Give up after this many seconds per job.
    #[arg(long, default_value_t = 3600)]
    timeout: u64,
    /// After the full sync, keep the target in step from the source's binlogs (one table:
    /// table sync; several or none: db sync), until stopped.
    #[arg(long)]
    follow: bool,
    /// Where --follow keeps its progress (a restart resumes from it); defaults to
    /// ./ccr-sync-<db>.redb.
    #[arg(long, value_name = "FILE")]
    state: Option<std::path::PathBuf>,
    /// With --follow: how long to wait between polls once caught up.
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    poll_ms: u64,
    /// With --follow: exit once caught up (nothing newer in the source's log) instead of
    /// polling on.
    #[arg(long)]
    exit_when_caught_up: bool,
}

pub async fn run(a: CcrSyncArgs) -> Result<(), String> {
    if a.follow {
        follow::run(&a).await
    } else {
        full::run(&a, false).await.map(|_| ())
    }
}
