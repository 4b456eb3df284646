//! `doris-rs bench rpc --peers`: our FrontendService against Apache Thrift's Java
//! `TThreadPoolServer` and C++ `TThreadedServer`, each serving the bench convention (see
//! rpc.rs) in a process of its own, driven by the same load client (ours, in this
//! process). Per server: small calls (1 KiB replies) on 1 and 64 connections, then
//! 256 MiB (`--big-mib`) replies and requests on one connection: calls/s, p50/p99 latency
//! and the server process's peak RSS (VmHWM, reset before each case). The three servers
//! run side by side (idle but for the one measured); every small case runs before the
//! first big one.
//!
//! The Java and C++ servers are built by `tests/interop/peers.sh` (stubs generated from
//! our thrift/, javac, g++ -O2), cached under target/interop/. Ours runs as
//! `doris-rs bench rpc --serve-peer`, so its RSS is the server's alone, as theirs is.
//! Build ours in release first: `cargo build --release --bin doris-rs`.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use doris_thrift::services::FrontendServiceServer;
use doris_thrift::transport::{Framing, ServerOptions, ThriftServer};
use tokio::io::AsyncReadExt;

use super::{
    check_status, client, get_snapshot_checked, js, percentile, restore_request, small_case, snapshot_request,
    BenchFrontend, RpcArgs, MIB, SMALL_META,
};

const OURS: &str = "doris-rs (tokio)";
const JAVA: &str = "Java TThreadPoolServer";
const CPP: &str = "C++ TThreadedServer";

/// Calls per big case: each moves `--big-mib` MiB once.
const BIG_CALLS: usize = 3;

/// `bench rpc --serve-peer`: our bench FrontendService on 127.0.0.1:0, its address on
/// stdout, until stdin closes.
pub async fn serve(args: &RpcArgs) -> Result<(), String> {
    let big = args.big_mib * MIB;
    let handler = Arc::new(BenchFrontend::new(big.max(SMALL_META)));
    let srv = ThriftServer::bind("127.0.0.1:0", Arc::new(FrontendServiceServer(handler)), ServerOptions::default())
        .await
        .map_err(|e| format!("cannot start the bench server: {e}"))?;
    println!("FrontendService listening on {}", srv.local_addr());
    let mut stdin = tokio::io::stdin();
    let mut buf = [0u8; 256];
    while matches!(stdin.read(&mut buf).await, Ok(n) if n > 0) {}
    srv.shutdown().await;
    Ok(())
}

struct Peer {
    name: &'static str,
    cmd: Command,
}

/// A server process of the comparison; stopped (stdin closed, then killed) on drop.
struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    addr: String,
}

impl Server {
    fn start(name: &str, mut cmd: Command) -> Result<Server, String> {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start the {name} server: {e}"))?;
        let stdin = child.stdin.take();
        let mut line = String::new();
        let out = child.stdout.take().expect("piped stdout");
        BufReader::new(out).read_line(&mut line).map_err(|e| format!("{name} server: {e}"))?;
        let addr = line
            .trim()
            .strip_prefix("FrontendService listening on ")
            .ok_or_else(|| format!("the {name} server did not start: {line:?}"))?
            .to_string();
        Ok(Server { child, stdin, addr })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn status_mib(pid: u32, key: &str) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    super::parse_status_kb(&s, key).map(|kb| kb as f64 / 1024.0)
}

fn reset_peak(pid: u32) -> bool {
    std::fs::OpenOptions::new()
        .write(true)
        .open(format!("/proc/{pid}/clear_refs"))
        .and_then(|mut f| f.write_all(b"5"))
        .is_ok()
}

/// One row of the table.
struct Row {
    server: &'static str,
    case: String,
    conns: usize,
    calls: usize,
    calls_per_s: f64,
    p50_us: u64,
    p99_us: u64,
    mib_per_s: Option<f64>,
    rss_before_mib: Option<f64>,
    peak_mib: Option<f64>,
    peak_reset: bool,
}

/// The repository root: `DORIS_RS_REPO`, else the workspace this crate was built in
/// (its manifest dir is `<repo>/devtools`).
fn find_repo() -> PathBuf {
    std::env::var_os("DORIS_RS_REPO")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
}

/// `tests/interop/peers.sh all`: the Java and C++ build dirs.
fn build_peers(repo: &Path) -> Result<(PathBuf, PathBuf), String> {
    let script = repo.join("tests/interop/peers.sh");
    eprintln!("rpc --peers: building the Java and C++ servers ({})", script.display());
    let out = Command::new("bash")
        .arg(&script)
        .arg("all")
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!("{} failed ({})", script.display(), out.status));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let get = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(k).map(PathBuf::from))
            .ok_or_else(|| format!("{} printed no {k} line", script.display()))
    };
    Ok((get("java=")?, get("cpp=")?))
}

fn peers(args: &RpcArgs, java: &Path, cpp: &Path) -> Result<Vec<Peer>, String> {
    let big = (args.big_mib * MIB).max(SMALL_META).to_string();
    let framing = if args.framed { "framed" } else { "buffered" };
    let exe = std::env::current_exe().map_err(|e| format!("cannot find our own binary: {e}"))?;
    let mut ours = Command::new(exe);
    ours.args(["bench", "rpc", "--serve-peer", "--big-mib", &args.big_mib.to_string()]);
    let classpath = std::fs::read_to_string(java.join("classpath")).map_err(|e| format!("java classpath: {e}"))?;
    // The heap holds the reply buffer, a copy per reply, a request in flight and, framed,
    // the frame buffers (the write buffer grows by doubling).
    let heap = format!("-Xmx{}m", (args.big_mib * 8).max(512));
    let mut java_cmd = Command::new("java");
    java_cmd.args([&heap, "-cp", classpath.trim(), "JavaBenchServer", &big, framing]);
    let mut cpp_cmd = Command::new(cpp.join("bin/cpp_bench_server"));
    cpp_cmd.args([&big, framing]);
    Ok(vec![
        Peer { name: OURS, cmd: ours },
        Peer { name: JAVA, cmd: java_cmd },
        Peer { name: CPP, cmd: cpp_cmd },
    ])
}

pub async fn run(args: &RpcArgs) -> Result<(), String> {
    let repo = find_repo();
    let (java, cpp) = build_peers(&repo)?;
    let framing = if args.framed { Framing::Framed } else { Framing::Buffered };
    let nproc = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("model name").map(|r| r.trim_start_matches([' ', '\t', ':']).to_string())))
        .unwrap_or_else(|| "unknown CPU".into());
    println!(
        "rpc --peers: {} transport, {} s per small case, {BIG_CALLS} x {} MiB per big case, nproc={nproc}, cpu={cpu}{}",
        if args.framed { "framed" } else { "buffered" },
        args.seconds,
        args.big_mib,
        if cfg!(debug_assertions) { " (DEBUG build of doris-rs: use target/release for figures)" } else { "" }
    );

    // Every server up first; all small cases before any big one, so that no small-call
    // figure runs in the wake of a 256 MiB transfer (page reclaim, a JVM's GC).
    let mut servers = Vec::new();
    for peer in peers(args, &java, &cpp)? {
        let server = Server::start(peer.name, peer.cmd)?;
        eprintln!("rpc --peers: {} on {} (pid {})", peer.name, server.addr, server.pid());
        servers.push((peer.name, server));
    }
    let mut rows = Vec::new();
    for (name, server) in &servers {
        for conns in super::CONNS {
            let before = status_mib(server.pid(), "VmRSS");
            let reset = reset_peak(server.pid());
            let s = small_case(&server.addr, framing, conns, args.seconds).await.map_err(|e| format!("{name}: {e}"))?;
            rows.push(Row {
                server: name,
                case: "1KiB reply".into(),
                conns,
                calls: s.calls,
                calls_per_s: s.calls_per_s,
                p50_us: s.p50_us,
                p99_us: s.p99_us,
                mib_per_s: None,
                rss_before_mib: before,
                peak_mib: status_mib(server.pid(), "VmHWM"),
                peak_reset: reset,
            });
        }
    }
    for (name, server) in &servers {
        for reply in [true, false] {
            let row = big_case(name, server, framing, args.big_mib, reply).await.map_err(|e| format!("{name}: {e}"))?;
            rows.push(row);
        }
    }
    drop(servers);
    // Grouped by server, in the order started.
    let order = |n: &str| [OURS, JAVA, CPP].iter().position(|x| *x == n).unwrap_or(usize::MAX);
    rows.sort_by_key(|r| order(r.server));

    print_table(&rows);
    if args.json {
        for r in &rows {
            println!(
                r#"{{"bench":"rpc-peers","server":{},"case":{},"conns":{},"framed":{},"calls":{},"calls_per_s":{:.1},"p50_us":{},"p99_us":{},"mib_per_s":{},"rss_before_mib":{},"peak_rss_mib":{},"peak_since_start":{}}}"#,
                js(r.server),
                js(&r.case),
                r.conns,
                args.framed,
                r.calls,
                r.calls_per_s,
                r.p50_us,
                r.p99_us,
                super::opt_num(r.mib_per_s),
                super::opt_num(r.rss_before_mib),
                super::opt_num(r.peak_mib),
                !r.peak_reset
            );
        }
    }
    Ok(())
}

/// BIG_CALLS big replies (getSnapshot) or requests (restoreSnapshot) on one connection.
async fn big_case(name: &'static str, server: &Server, framing: Framing, big_mib: usize, reply: bool) -> Result<Row, String> {
    let big = big_mib * MIB;
    let c = client(&server.addr, framing, Duration::from_secs(600));
    get_snapshot_checked(&c, &snapshot_request(0), 0).await?;
    let req = (!reply).then(|| restore_request(big));
    let before = status_mib(server.pid(), "VmRSS");
    let reset = reset_peak(server.pid());
    let mut lat_ns = Vec::with_capacity(BIG_CALLS);
    let start = Instant::now();
    for _ in 0..BIG_CALLS {
        let t0 = Instant::now();
        match &req {
            None => get_snapshot_checked(&c, &snapshot_request(big), big).await?,
            Some(r) => {
                let res = c.restore_snapshot(r).await.map_err(|e| format!("restoreSnapshot: {e}"))?;
                check_status(res.status.as_ref(), "restoreSnapshot")?;
            }
        }
        lat_ns.push(t0.elapsed().as_nanos() as u64);
    }
    let window = start.elapsed().as_secs_f64();
    let peak = status_mib(server.pid(), "VmHWM");
    lat_ns.sort_unstable();
    let us = |p| percentile(&lat_ns, p).unwrap_or(0) / 1000;
    Ok(Row {
        server: name,
        case: format!("{big_mib}MiB {}", if reply { "reply" } else { "request" }),
        conns: 1,
        calls: BIG_CALLS,
        calls_per_s: BIG_CALLS as f64 / window,
        p50_us: us(50.0),
        p99_us: us(99.0),
        mib_per_s: Some((BIG_CALLS * big_mib) as f64 / window),
        rss_before_mib: before,
        peak_mib: peak,
        peak_reset: reset,
    })
}

fn print_table(rows: &[Row]) {
    println!();
    println!(
        "| {:<22} | {:<14} | {:>5} | {:>9} | {:>9} | {:>9} | {:>7} | {:>10} | {:>13} |",
        "server", "case", "conns", "calls/s", "p50 us", "p99 us", "MiB/s", "RSS before", "peak RSS"
    );
    println!("|{:-<24}|{:-<16}|{:->7}|{:->11}|{:->11}|{:->11}|{:->9}|{:->12}|{:->15}|", "", "", "", "", "", "", "", "", "");
    for r in rows {
        let mib = |v: Option<f64>| v.map_or("n/a".to_string(), |x| format!("{x:.0} MiB"));
        println!(
            "| {:<22} | {:<14} | {:>5} | {:>9.0} | {:>9} | {:>9} | {:>7} | {:>10} | {:>13} |",
            r.server,
            r.case,
            r.conns,
            r.calls_per_s,
            r.p50_us,
            r.p99_us,
            r.mib_per_s.map_or("".to_string(), |m| format!("{m:.0}")),
            mib(r.rss_before_mib),
            format!("{}{}", mib(r.peak_mib), if r.peak_reset { "" } else { "*" }),
        );
    }
    if rows.iter().any(|r| !r.peak_reset) {
        println!("* peak since the server started (/proc/<pid>/clear_refs could not be written)");
    }
    println!(
        "peak RSS: the server process's VmHWM over the case, reset before it; each server holds its reply \
         buffer (the largest reply) from the start. Latency is per call as our client sees it."
    );
}
