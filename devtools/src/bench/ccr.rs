//! `doris-rs bench ccr`: incremental CCR throughput and lag between two local clusters.
//!
//! Starts a source and a target `doris-rs local`, creates a table that keeps binlogs on the
//! source, runs one `ccr-sync --follow` full sync, then keeps `ccr-sync --follow` running
//! while `--loads` stream loads of `--rows` rows each go into the source back to back. It
//! times each load and when the follower applied it (the follower's `UPSERT: txn` lines),
//! and prints, side by side, the source's load rate and the target's apply rate (rows/s),
//! their ratio, and the lag from a load's end to its rows being visible on the target.
//! The target's row count must equal the source's at the end, or the run fails.
//!
//! Run it from a release build for figures: `cargo run --release -- bench ccr`.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use clap::Args;
use mysql_async::prelude::Queryable;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio::sync::mpsc;

use super::load::{generate_csv, mysql_opts, stream_load, Local, Scratch, Target};

const DB: &str = "bench_ccr";
/// How long the follower may take to apply the last load before the run fails.
const APPLY_TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Args, Debug)]
pub struct CcrArgs {
    /// Stream loads into the source while the follower runs.
    #[arg(long, default_value_t = 20)]
    loads: u32,
    /// Rows per load.
    #[arg(long, default_value_t = 50_000)]
    rows: u64,
    /// Buckets of the table.
    #[arg(long, default_value_t = 8)]
    buckets: u32,
    /// BEs of each cluster (replication_num is 1).
    #[arg(long, default_value_t = 1)]
    bes: u16,
    /// --base-port of the source cluster; the target's is 100 above.
    #[arg(long, default_value_t = 600)]
    base_port: u16,
    /// Directory of both clusters (default: a scratch directory, removed afterwards).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

fn target(base_port: u16) -> Target {
    Target { host: "127.0.0.1".into(), http: 8030 + base_port, query: 9030 + base_port, password: String::new() }
}

pub async fn run(args: CcrArgs) -> Result<(), String> {
    if args.loads == 0 || args.rows == 0 {
        return Err("--loads and --rows must be at least 1".into());
    }
    let (dir, _scratch) = match &args.dir {
        Some(d) => (d.clone(), Scratch(None)),
        None => {
            let d = std::env::temp_dir().join(format!("doris-rs-bench-ccr-{}", std::process::id()));
            (d.clone(), Scratch(Some(d)))
        }
    };
    println!("starting two doris-rs local clusters (--bes {}) in {}", args.bes, dir.display());
    let src_local = Local::start(args.bes, args.base_port, &dir.join("src")).await?;
    let dst_local = Local::start(args.bes, args.base_port + 100, &dir.join("dst")).await?;
    let measured = measure(&args, &dir).await;
    let stopped = (src_local.stop().await, dst_local.stop().await);
    let report = measured?;
    stopped.0?;
    stopped.1?;
    print!("{report}");
    Ok(())
}

fn follower(args: &CcrArgs, dir: &std::path::Path, once: bool) -> Result<Command, String> {
    let exe = std::env::current_exe().map_err(|e| format!("locating this binary: {e}"))?;
    let (s, d) = (target(args.base_port), target(args.base_port + 100));
    let mut cmd = Command::new(exe);
    cmd.arg("ccr-sync")
        .args(["--src", &format!("127.0.0.1:{}", s.query), "--src-rpc", &format!("127.0.0.1:{}", 9020 + args.base_port)])
        .args(["--dst", &format!("127.0.0.1:{}", d.query), "--dst-rpc", &format!("127.0.0.1:{}", 9120 + args.base_port)])
        .args(["--db", DB, "--table", "t", "--follow", "--poll-ms", "20"])
        .arg("--state")
        .arg(dir.join("follow.redb"))
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    if once {
        cmd.arg("--exit-when-caught-up");
    }
    Ok(cmd)
}

async fn count(conn: &mut mysql_async::Conn) -> Result<u64, String> {
    let sql = format!("SELECT COUNT(*) FROM {DB}.t");
    let n: Option<u64> = conn.query_first(&sql).await.map_err(|e| format!("{sql}: {e}"))?;
    n.ok_or_else(|| format!("{sql}: no row"))
}

async fn measure(args: &CcrArgs, dir: &std::path::Path) -> Result<String, String> {
    let (s, d) = (target(args.base_port), target(args.base_port + 100));
    let mut src = mysql_async::Conn::new(mysql_opts(&s)).await.map_err(|e| format!("source: {e}"))?;
    let mut dst = mysql_async::Conn::new(mysql_opts(&d)).await.map_err(|e| format!("target: {e}"))?;
    for sql in [
        format!("CREATE DATABASE {DB}"),
        format!(
            "CREATE TABLE {DB}.t (k BIGINT NOT NULL, v VARCHAR(32), amt DECIMAL(12, 2), d DATE, dt DATETIME, x DOUBLE) \
             DUPLICATE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS {} \
             PROPERTIES (\"replication_num\" = \"1\", \"binlog.enable\" = \"true\")",
            args.buckets
        ),
    ] {
        src.query_drop(&sql).await.map_err(|e| format!("{sql}: {e}"))?;
    }
    // The full sync (of the empty table), then the follower that applies the loads.
    let out = follower(args, dir, true)?.output().await.map_err(|e| format!("ccr-sync: {e}"))?;
    if !out.status.success() {
        return Err(format!("ccr-sync full sync failed: {}", String::from_utf8_lossy(&out.stdout)));
    }
    let mut child = follower(args, dir, false)?.stdout(Stdio::piped()).spawn().map_err(|e| format!("ccr-sync --follow: {e}"))?;
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    let (tx, mut applied) = mpsc::unbounded_channel::<Instant>();
    let reader = tokio::spawn(async move {
        while let Ok(Some(l)) = lines.next_line().await {
            if l.contains(" UPSERT: txn ") {
                let _ = tx.send(Instant::now());
            }
        }
    });

    let bodies: Vec<Vec<u8>> = (0..args.loads).map(|_| generate_csv(args.rows)).collect();
    let started = Instant::now();
    let mut loaded_at = Vec::new();
    for (i, body) in bodies.into_iter().enumerate() {
        let res = stream_load(&s, DB, "t", &format!("bench_{i}"), body).await?;
        if res.get("Status").and_then(|v| v.as_str()) != Some("Success") {
            return Err(format!("load {i}: {res}"));
        }
        loaded_at.push(Instant::now());
    }
    let load_secs = started.elapsed().as_secs_f64();
    let mut applied_at = Vec::new();
    let deadline = tokio::time::Instant::now() + APPLY_TIMEOUT;
    while applied_at.len() < loaded_at.len() {
        match tokio::time::timeout_at(deadline, applied.recv()).await {
            Ok(Some(t)) => applied_at.push(t),
            Ok(None) => return Err("ccr-sync --follow exited".into()),
            Err(_) => return Err(format!("{} of {} loads applied within {} s", applied_at.len(), loaded_at.len(), APPLY_TIMEOUT.as_secs())),
        }
    }
    let apply_secs = (applied_at[applied_at.len() - 1] - started).as_secs_f64();
    let _ = child.kill().await;
    reader.abort();
    let total = args.rows * u64::from(args.loads);
    let (n_src, n_dst) = (count(&mut src).await?, count(&mut dst).await?);
    if n_src != total || n_dst != total {
        return Err(format!("rows: source {n_src}, target {n_dst}, expected {total}"));
    }
    let lags: Vec<f64> = loaded_at
        .iter()
        .zip(&applied_at)
        .map(|(l, a)| a.saturating_duration_since(*l).as_secs_f64())
        .collect();
    let mean_lag = lags.iter().sum::<f64>() / lags.len() as f64;
    let max_lag = lags.iter().copied().fold(0.0, f64::max);
    let (load_rate, apply_rate) = (total as f64 / load_secs, total as f64 / apply_secs);
    Ok(format!(
        "\nbench ccr: {} loads x {} rows, {} buckets, {} BE(s) per cluster\n\n\
         | side | rows | seconds | rows/s |\n| --- | --- | --- | --- |\n\
         | source: stream loads, back to back | {total} | {load_secs:.2} | {load_rate:.0} |\n\
         | target: applied by ccr-sync --follow (from the first load's start) | {total} | {apply_secs:.2} | {apply_rate:.0} |\n\n\
         apply/load ratio {:.2}; lag from a load's end to its rows visible on the target: mean {mean_lag:.2} s, max {max_lag:.2} s, after the last load {:.2} s\n",
        args.loads,
        args.rows,
        args.buckets,
        args.bes,
        apply_rate / load_rate,
        lags[lags.len() - 1],
    ))
}
