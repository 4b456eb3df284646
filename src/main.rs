//! `doris-rs`: the Doris FE and BE services for backup, restore, CCR and cooldown.

use clap::{Parser, Subcommand};

mod ccr;
mod local;

// Passes every allocation through to the system allocator; records them only while a
// profiler runs (see `heap_profiler`).
#[cfg(feature = "dhat-heap")]
#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// With the `dhat-heap` feature, `DORIS_RS_DHAT_FE=<prefix>` (or `DORIS_RS_DHAT_BE`) makes an
/// FE (or BE) record its heap and write `<prefix>.<pid>.json` when `main` returns (a
/// graceful shutdown). The variables reach `doris-rs local`'s children; one per role, since
/// a profiled process runs several times slower.
#[cfg(feature = "dhat-heap")]
fn heap_profiler(cmd: &Cmd) -> Option<dhat::Profiler> {
    let var = match cmd {
        Cmd::Fe(_) => "DORIS_RS_DHAT_FE",
        Cmd::Be(_) => "DORIS_RS_DHAT_BE",
        _ => return None,
    };
    let prefix = std::env::var(var).ok()?;
    let file = format!("{prefix}.{}.json", std::process::id());
    Some(dhat::Profiler::builder().file_name(file).build())
}

#[derive(Parser)]
#[command(name = "doris-rs", version, about = "Apache Doris FE/BE services for backup, restore, CCR and cooldown")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run a backend (BE): tablets, snapshots, agent tasks, download API.
    Be(doris_be::cli::BeArgs),
    /// Run a frontend (FE): catalog, backends, MySQL and thrift services.
    Fe(doris_fe::cli::FeArgs),
    /// Run a local cluster: one FE and N BEs as child processes, registered and alive.
    Local(local::LocalArgs),
    /// One CCR full sync of a database or tables from a source cluster to a target, as the
    /// CCR syncer drives it (BACKUP to __keep_on_local__, getSnapshot, restoreSnapshot).
    CcrSync(ccr::CcrSyncArgs),
    /// Measure the transport, the snapshot pull engine, and load and scan throughput.
    #[command(subcommand)]
    Bench(doris_devtools::bench::BenchCmd),
    /// Thrift peer used by the interop tests: serve fixture handlers or call a peer.
    #[command(subcommand, hide = true)]
    WirePeer(doris_devtools::wire_peer::WirePeerCmd),
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// glibc gives threads that allocate arenas of their own, up to eight per core, and memory
/// freed into one arena is not reused by threads allocating from another: the FE's and BE's
/// buffers move between tokio workers and blocking threads, so the resident set ran about
/// twice the live heap. One arena per core (unless `MALLOC_ARENA_MAX` is set, which glibc
/// reads itself) keeps that waste bounded; measured in the README's `bench scale` section.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return;
    }
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get()).max(2);
    // SAFETY: mallopt only sets a tunable; called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, cores as libc::c_int);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

fn main() -> std::process::ExitCode {
    limit_malloc_arenas();
    let cli = Cli::parse();
    init_tracing();
    #[cfg(feature = "dhat-heap")]
    let _profiler = heap_profiler(&cli.cmd);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let result: Result<(), String> = rt.block_on(async move {
        match cli.cmd {
            Cmd::Be(args) => doris_be::cli::run(args).await.map_err(|e| e.to_string()),
            Cmd::Fe(args) => doris_fe::cli::run(args).await.map_err(|e| e.to_string()),
            Cmd::Local(args) => local::run(args).await,
            Cmd::CcrSync(args) => ccr::run(args).await,
            Cmd::Bench(cmd) => doris_devtools::bench::run(cmd).await,
            Cmd::WirePeer(cmd) => doris_devtools::wire_peer::run(cmd).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("doris-rs: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
