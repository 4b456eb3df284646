//! `doris-rs bench rpc`: calls/s and latency of small thrift calls, the time to move one
//! 256 MiB `binary` field each way, and the process's peak RSS while doing so.
//!
//! Convention a peer must follow to be driven with `--addr` (so a trivial Java or C++
//! FrontendService can be compared with ours):
//! - `getSnapshot`: `label_name` is the decimal number of bytes wanted back; reply with
//!   `status` OK and `meta` of exactly that many bytes.
//! - `restoreSnapshot`: `meta` carries the payload and `label_name` its length in
//!   decimal; reply with `status` OK.
//!
//! `--peers` runs the same load against ours, a Java and a C++ server (see peers.rs).

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use doris_thrift::frontend_service::*;
use doris_thrift::master_service::{TFinishTaskRequest, TMasterResult, TReportRequest};
use doris_thrift::services::{FrontendServiceClient, FrontendServiceHandler, FrontendServiceServer};
use doris_thrift::status::{TStatus, TStatusCode};
use doris_thrift::transport::{ClientOptions, ClientPool, Framing, ServerOptions, ThriftServer};
use thrift::{ApplicationError, ApplicationErrorKind};

#[path = "peers.rs"]
mod peers;

const MIB: usize = 1024 * 1024;
const SMALL_META: usize = 1024;
const CONNS: [usize; 2] = [1, 64];

#[derive(Args, Debug)]
pub struct RpcArgs {
    /// Measured seconds per small-call case (after a warm-up of up to 1 s).
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Use TFramedTransport instead of the buffered transport.
    #[arg(long)]
    framed: bool,
    /// Drive an external FrontendService following the convention above instead of an
    /// in-process one.
    #[arg(long, value_name = "HOST:PORT")]
    addr: Option<String>,
    /// Also print every figure as one JSON object per line, after the table.
    #[arg(long)]
    json: bool,
    /// Size in MiB of the big binary field, each way.
    #[arg(long, default_value_t = 256, value_name = "MIB")]
    big_mib: usize,
    /// Compare ours with Apache Thrift's Java TThreadPoolServer and C++ TThreadedServer
    /// (built by tests/interop/peers.sh), each a process of its own: calls/s, p50/p99 and
    /// the server's peak RSS, as a table.
    #[arg(long, conflicts_with = "addr")]
    peers: bool,
    /// Serve our bench FrontendService on 127.0.0.1:0 until stdin closes (used by --peers).
    #[arg(long, hide = true, conflicts_with_all = ["addr", "peers"])]
    serve_peer: bool,
}

pub async fn run(args: RpcArgs) -> Result<(), String> {
    if !(args.seconds.is_finite() && args.seconds > 0.0 && args.seconds <= 3600.0) {
        return Err(format!("--seconds must be in (0, 3600], got {}", args.seconds));
    }
    if args.big_mib == 0 || args.big_mib > 2047 {
        // One thrift message is at most i32::MAX bytes.
        return Err(format!("--big-mib must be in 1..=2047, got {}", args.big_mib));
    }
    if args.serve_peer {
        return peers::serve(&args).await;
    }
    if args.peers {
        return peers::run(&args).await;
    }
    let big = args.big_mib * MIB;
    let framing = if args.framed { Framing::Framed } else { Framing::Buffered };

    let (server, addr) = match &args.addr {
        Some(a) => (None, a.clone()),
        None => {
            let handler = Arc::new(BenchFrontend::new(big.max(SMALL_META)));
            let svc = Arc::new(FrontendServiceServer(handler));
            let srv = ThriftServer::bind("127.0.0.1:0", svc, ServerOptions::default())
                .await
                .map_err(|e| format!("cannot start the in-process server: {e}"))?;
            let a = srv.local_addr().to_string();
            (Some(srv), a)
        }
    };
    let where_ = if server.is_some() { "in-process" } else { "external" };
    println!(
        "rpc: server {where_} {addr}, {} transport, {} s per small case, nproc={}",
        if args.framed { "framed" } else { "buffered" },
        args.seconds,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );

    let mut json = Vec::new();
    let common = format!(r#""bench":"rpc","server":{},"addr":{},"framed":{}"#, js(where_), js(&addr), args.framed);

    for conns in CONNS {
        let s = small_case(&addr, framing, conns, args.seconds).await?;
        println!(
            "rpc small  conns={conns:<3} calls/s={:<9.0} p50={}us p99={}us  ({} calls)",
            s.calls_per_s, s.p50_us, s.p99_us, s.calls
        );
        json.push(format!(
            r#"{{{common},"case":"small","conns":{conns},"seconds":{:.3},"calls":{},"calls_per_s":{:.1},"p50_us":{},"p99_us":{}}}"#,
            s.seconds, s.calls, s.calls_per_s, s.p50_us, s.p99_us
        ));
    }

    for case in [BigCase::Reply, BigCase::Request] {
        let b = big_case(&addr, framing, big, case).await?;
        let what = match case {
            BigCase::Reply => "reply",
            BigCase::Request => "request",
        };
        let mib_s = big as f64 / MIB as f64 / b.elapsed.as_secs_f64();
        let ms = b.elapsed.as_secs_f64() * 1e3;
        let peak = match b.peak_mib {
            Some(p) => format!("{p:.0} MiB{}", if b.peak_reset { "" } else { " (process lifetime)" }),
            None => "n/a".to_string(),
        };
        println!(
            "rpc {}MiB {what:<7}: {ms:.0} ms ({mib_s:.0} MiB/s), RSS before {}, peak RSS {peak}",
            args.big_mib,
            b.rss_before_mib.map_or("n/a".to_string(), |r| format!("{r:.0} MiB")),
        );
        json.push(format!(
            r#"{{{common},"case":"big_{what}","bytes":{big},"ms":{ms:.1},"mib_per_s":{mib_s:.1},"rss_before_mib":{},"peak_rss_mib":{},"peak_since_start":{}}}"#,
            opt_num(b.rss_before_mib),
            opt_num(b.peak_mib),
            !b.peak_reset
        ));
    }

    if args.json {
        for line in &json {
            println!("{line}");
        }
    }
    if let Some(srv) = server {
        srv.shutdown().await;
    }
    Ok(())
}

/// The in-process peer: replies from one pre-built buffer, so the handler costs a copy.
struct BenchFrontend {
    meta: Vec<u8>,
}

impl BenchFrontend {
    fn new(max: usize) -> Self {
        // A non-zero pattern so the pages are really touched and counted in RSS.
        BenchFrontend { meta: (0..max).map(|i| (i % 251) as u8 + 1).collect() }
    }
}

fn ok() -> TStatus {
    TStatus::new(TStatusCode::OK, None)
}

fn wanted_bytes(label: Option<&str>) -> Result<usize, ApplicationError> {
    label.and_then(|l| l.trim().parse::<usize>().ok()).ok_or_else(|| {
        ApplicationError::new(
            ApplicationErrorKind::Unknown,
            format!("bench: label_name must be a byte count, got {label:?}"),
        )
    })
}

fn unsupported<T>(what: &str) -> Result<T, ApplicationError> {
    Err(ApplicationError::new(ApplicationErrorKind::UnknownMethod, format!("bench server does not serve {what}")))
}

#[async_trait::async_trait]
impl FrontendServiceHandler for BenchFrontend {
    async fn get_snapshot(&self, r: TGetSnapshotRequest) -> Result<TGetSnapshotResult, ApplicationError> {
        let n = wanted_bytes(r.label_name.as_deref())?;
        let meta = self.meta.get(..n).ok_or_else(|| {
            ApplicationError::new(
                ApplicationErrorKind::Unknown,
                format!("bench: {n} bytes asked, the server holds {}", self.meta.len()),
            )
        })?;
        Ok(TGetSnapshotResult::new(ok(), meta.to_vec(), None, None, false, None, None))
    }

    async fn restore_snapshot(&self, r: TRestoreSnapshotRequest) -> Result<TRestoreSnapshotResult, ApplicationError> {
        // Check the whole field arrived; a short meta is reported, not silently timed.
        let n = wanted_bytes(r.label_name.as_deref())?;
        let got = r.meta.as_ref().map_or(0, Vec::len);
        let status = if got == n {
            ok()
        } else {
            TStatus::new(TStatusCode::INVALID_ARGUMENT, vec![format!("bench: meta of {got} bytes, label says {n}")])
        };
        Ok(TRestoreSnapshotResult::new(status, None))
    }

    async fn get_master_token(&self, _: TGetMasterTokenRequest) -> Result<TGetMasterTokenResult, ApplicationError> {
        unsupported("getMasterToken")
    }
    async fn get_backend_meta(&self, _: TGetBackendMetaRequest) -> Result<TGetBackendMetaResult, ApplicationError> {
        unsupported("getBackendMeta")
    }
    async fn get_meta(&self, _: TGetMetaRequest) -> Result<TGetMetaResult, ApplicationError> {
        unsupported("getMeta")
    }
    async fn finish_task(&self, _: TFinishTaskRequest) -> Result<TMasterResult, ApplicationError> {
        unsupported("finishTask")
    }
    async fn report(&self, _: TReportRequest) -> Result<TMasterResult, ApplicationError> {
        unsupported("report")
    }
    async fn snapshot_loader_report(&self, _: TSnapshotLoaderReportRequest) -> Result<TStatus, ApplicationError> {
        unsupported("snapshotLoaderReport")
    }
    async fn load_txn_begin(&self, _: TLoadTxnBeginRequest) -> Result<TLoadTxnBeginResult, ApplicationError> {
        unsupported("loadTxnBegin")
    }
    async fn load_txn_commit(&self, _: TLoadTxnCommitRequest) -> Result<TLoadTxnCommitResult, ApplicationError> {
        unsupported("loadTxnCommit")
    }
    async fn load_txn_rollback(&self, _: TLoadTxnRollbackRequest) -> Result<TLoadTxnRollbackResult, ApplicationError> {
        unsupported("loadTxnRollback")
    }
    async fn confirm_unused_remote_files(
        &self,
        _: TConfirmUnusedRemoteFilesRequest,
    ) -> Result<TConfirmUnusedRemoteFilesResult, ApplicationError> {
        unsupported("confirmUnusedRemoteFiles")
    }
}

fn snapshot_request(reply_bytes: usize) -> TGetSnapshotRequest {
    TGetSnapshotRequest::new(
        "default_cluster".to_string(),
        "root".to_string(),
        String::new(),
        "bench_db".to_string(),
        "bench_tbl".to_string(),
        "5ff161c3-2c08-4079-b108-26c8850b6598".to_string(),
        reply_bytes.to_string(),
        "bench_snapshot".to_string(),
        TSnapshotType::LOCAL,
        false,
    )
}

fn client(addr: &str, framing: Framing, call_timeout: Duration) -> FrontendServiceClient {
    // A pool of its own per client: every client holds its own TCP connection.
    let opts = ClientOptions { framing, call_timeout, ..Default::default() };
    FrontendServiceClient::new(ClientPool::new().channel(addr, opts))
}

async fn get_snapshot_checked(c: &FrontendServiceClient, req: &TGetSnapshotRequest, want: usize) -> Result<(), String> {
    let r = c.get_snapshot(req).await.map_err(|e| format!("getSnapshot: {e}"))?;
    check_status(r.status.as_ref(), "getSnapshot")?;
    let got = r.meta.as_ref().map_or(0, Vec::len);
    if got != want {
        return Err(format!("getSnapshot: asked for {want} bytes of meta, got {got}"));
    }
    Ok(())
}

fn check_status(s: Option<&TStatus>, what: &str) -> Result<(), String> {
    match s {
        Some(s) if s.status_code == TStatusCode::OK => Ok(()),
        Some(s) => Err(format!("{what}: status {:?} {:?}", s.status_code, s.error_msgs.as_deref().unwrap_or(&[]))),
        None => Err(format!("{what}: reply has no status")),
    }
}

struct Small {
    seconds: f64,
    calls: usize,
    calls_per_s: f64,
    p50_us: u64,
    p99_us: u64,
}

/// `conns` tasks, each with its own connection, call back to back; every task warms up
/// until `measure_from` and records latencies of calls started before `until`.
async fn small_case(addr: &str, framing: Framing, conns: usize, seconds: f64) -> Result<Small, String> {
    let warmup = Duration::from_secs_f64(seconds.min(1.0));
    let start = Instant::now();
    let measure_from = start + warmup;
    let until = measure_from + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::with_capacity(conns);
    for _ in 0..conns {
        let c = client(addr, framing, Duration::from_secs(30));
        tasks.push(tokio::spawn(async move {
            let req = snapshot_request(SMALL_META);
            let mut lat_ns: Vec<u64> = Vec::with_capacity(1 << 16);
            loop {
                let t0 = Instant::now();
                if t0 >= until {
                    break;
                }
                get_snapshot_checked(&c, &req, SMALL_META).await?;
                if t0 >= measure_from {
                    lat_ns.push(t0.elapsed().as_nanos() as u64);
                }
            }
            Ok::<_, String>((lat_ns, Instant::now()))
        }));
    }
    let mut all = Vec::new();
    let mut last_end = until;
    for t in tasks {
        let (lat, end) = t.await.map_err(|e| format!("bench task failed: {e}"))??;
        all.extend(lat);
        last_end = last_end.max(end);
    }
    all.sort_unstable();
    // The window runs until the last call returned, so calls/s is never flattered.
    let window = last_end.duration_since(measure_from).as_secs_f64();
    let us = |p| percentile(&all, p).unwrap_or(0) / 1000;
    Ok(Small { seconds: window, calls: all.len(), calls_per_s: all.len() as f64 / window, p50_us: us(50.0), p99_us: us(99.0) })
}

#[derive(Clone, Copy)]
enum BigCase {
    /// getSnapshot asking for a `meta` of the big size.
    Reply,
    /// restoreSnapshot carrying a `meta` of the big size.
    Request,
}

struct Big {
    elapsed: Duration,
    rss_before_mib: Option<f64>,
    peak_mib: Option<f64>,
    /// Whether the peak was reset just before the call, i.e. is this call's own.
    peak_reset: bool,
}

async fn big_case(addr: &str, framing: Framing, big: usize, case: BigCase) -> Result<Big, String> {
    let c = client(addr, framing, Duration::from_secs(600));
    // Connect first, so the timed call is the transfer alone.
    get_snapshot_checked(&c, &snapshot_request(0), 0).await?;
    let restore = match case {
        BigCase::Reply => None,
        // Built before RSS is read: the payload itself is not transport overhead.
        BigCase::Request => Some(restore_request(big)),
    };
    let rss_before_mib = proc_status_mib("VmRSS");
    let peak_reset = reset_peak_rss();
    let t0 = Instant::now();
    match &restore {
        None => get_snapshot_checked(&c, &snapshot_request(big), big).await?,
        Some(req) => {
            let r = c.restore_snapshot(req).await.map_err(|e| format!("restoreSnapshot: {e}"))?;
            check_status(r.status.as_ref(), "restoreSnapshot")?;
        }
    }
    let elapsed = t0.elapsed();
    Ok(Big { elapsed, rss_before_mib, peak_mib: proc_status_mib("VmHWM"), peak_reset })
}

fn restore_request(bytes: usize) -> TRestoreSnapshotRequest {
    let meta: Vec<u8> = (0..bytes).map(|i| (i % 251) as u8 + 1).collect();
    TRestoreSnapshotRequest::new(
        "default_cluster".to_string(),
        "root".to_string(),
        String::new(),
        "bench_db".to_string(),
        "bench_tbl".to_string(),
        "5ff161c3-2c08-4079-b108-26c8850b6598".to_string(),
        bytes.to_string(),
        "bench_repo".to_string(),
        None,
        None,
        meta,
        None,
        false,
        false,
        false,
        false,
    )
}

/// A `kB` line of /proc/self/status (e.g. `VmRSS`), in MiB; None off Linux.
fn proc_status_mib(key: &str) -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_status_kb(&s, key).map(|kb| kb as f64 / 1024.0)
}

fn parse_status_kb(status: &str, key: &str) -> Option<u64> {
    status.lines().find_map(|l| {
        let rest = l.strip_prefix(key)?.strip_prefix(':')?;
        rest.trim().strip_suffix("kB")?.trim().parse().ok()
    })
}

/// Reset VmHWM to the current RSS (Linux >= 4.0), so each case reports its own peak.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Nearest-rank percentile `p` (0..=100) of an ascending slice; None when empty.
pub fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p.clamp(0.0, 100.0) / 100.0 * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// A JSON string literal.
fn js(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn opt_num(v: Option<f64>) -> String {
    v.map_or("null".to_string(), |x| format!("{x:.1}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_nearest_rank() {
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&[7], 0.0), Some(7));
        assert_eq!(percentile(&[7], 99.0), Some(7));
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.0), Some(1));
        assert_eq!(percentile(&v, 50.0), Some(50));
        assert_eq!(percentile(&v, 99.0), Some(99));
        assert_eq!(percentile(&v, 100.0), Some(100));
        assert_eq!(percentile(&v, 150.0), Some(100));
        let v = [10, 20, 30, 40];
        assert_eq!(percentile(&v, 50.0), Some(20));
        assert_eq!(percentile(&v, 51.0), Some(30));
        assert_eq!(percentile(&v, 99.0), Some(40));
    }

    #[test]
    fn status_lines() {
        let s = "Name:\tdoris-rs\nVmHWM:\t  204800 kB\nVmRSS:\t   10240 kB\n";
        assert_eq!(parse_status_kb(s, "VmHWM"), Some(204800));
        assert_eq!(parse_status_kb(s, "VmRSS"), Some(10240));
        assert_eq!(parse_status_kb(s, "VmSwap"), None);
        assert_eq!(parse_status_kb("VmRSSx: 1 kB", "VmRSS"), None);
    }

    #[test]
    fn json_strings() {
        assert_eq!(js(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(js("x\ny"), r#""x\u000ay""#);
    }

    #[test]
    fn size_in_label() {
        assert_eq!(wanted_bytes(Some("1024")).unwrap(), 1024);
        assert!(wanted_bytes(Some("lots")).is_err());
        assert!(wanted_bytes(None).is_err());
    }

    #[tokio::test]
    async fn in_process_round_trip() {
        let svc = Arc::new(FrontendServiceServer(Arc::new(BenchFrontend::new(4096))));
        let srv = ThriftServer::bind("127.0.0.1:0", svc, ServerOptions::default()).await.unwrap();
        let addr = srv.local_addr().to_string();
        for framing in [Framing::Buffered, Framing::Framed] {
            let c = client(&addr, framing, Duration::from_secs(5));
            get_snapshot_checked(&c, &snapshot_request(1024), 1024).await.unwrap();
            let e = get_snapshot_checked(&c, &snapshot_request(8192), 8192).await.unwrap_err();
            assert!(e.contains("8192 bytes asked"), "{e}");
            let r = c.restore_snapshot(&restore_request(3000)).await.unwrap();
            assert_eq!(r.status.unwrap().status_code, TStatusCode::OK);
        }
        srv.shutdown().await;
    }
}
