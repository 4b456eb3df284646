//! `doris-rs bench scale --tablets N`: how backup and restore cost grows with tablets.
//!
//! Starts `doris-rs local --bes B`, creates a table of `--tablets` tablets (partitions of
//! 1,000 buckets, one replica each; empty), then runs one CCR full sync of it into another
//! database of the same cluster with `ccr-sync` (BACKUP to `__keep_on_local__`, getSnapshot,
//! restoreSnapshot, as the CCR syncer does), and prints each phase's seconds (the restore's
//! from SHOW RESTORE's timestamps) and the FE's and BEs' peak RSS. Figures only; the restored
//! table must have every tablet, or the run fails.
//!
//! Run it from a release build: `cargo run --release -- bench scale --tablets 100000`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Instant;

use clap::Args;
use mysql_async::prelude::Queryable;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use super::load::{mysql_opts, Local, Scratch, Target};

const DB: &str = "bench_scale";
const BUCKETS_PER_PARTITION: u64 = 1000;

#[derive(Args, Debug)]
pub struct ScaleArgs {
    /// Tablets of the table (rounded up to whole partitions of 1,000 buckets; fewer than
    /// 1,000: one partition of that many).
    #[arg(long, default_value_t = 20_000)]
    tablets: u64,
    /// BEs of the cluster.
    #[arg(long, default_value_t = 3)]
    bes: u16,
    /// --base-port of the cluster.
    #[arg(long, default_value_t = 700)]
    base_port: u16,
    /// Directory of the cluster (default: a scratch directory, removed afterwards).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// Peak resident set (VmHWM) of a process, in MiB.
fn peak_rss_mib(pid: u32) -> Option<u64> {
    status_mib(pid, "VmHWM:")
}

/// A `/proc/<pid>/status` size line (VmHWM:, VmRSS:) in MiB.
fn status_mib(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: u64 = status.lines().find(|l| l.starts_with(key))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}

/// The FE's resident set now, for the report ("?" when unknown).
fn fe_rss_now(local: &Local) -> String {
    local.pids().into_iter().find(|(who, _)| who == "FE").and_then(|(_, pid)| status_mib(pid, "VmRSS:")).map_or("?".into(), |m| m.to_string())
}

pub async fn run(args: ScaleArgs) -> Result<(), String> {
    if args.tablets == 0 {
        return Err("--tablets must be at least 1".into());
    }
    let (dir, _scratch) = match &args.dir {
        Some(d) => (d.clone(), Scratch(None)),
        None => {
            let d = std::env::temp_dir().join(format!("doris-rs-bench-scale-{}", std::process::id()));
            (d.clone(), Scratch(Some(d)))
        }
    };
    println!("starting doris-rs local --bes {} in {}", args.bes, dir.display());
    let local = Local::start(args.bes, args.base_port, &dir).await?;
    let measured = measure(&args, &local).await;
    let stopped = local.stop().await;
    let report = measured?;
    stopped?;
    print!("{report}");
    Ok(())
}

async fn measure(args: &ScaleArgs, local: &Local) -> Result<String, String> {
    let t = Target { host: "127.0.0.1".into(), http: 8030 + args.base_port, query: 9030 + args.base_port, password: String::new() };
    let mut conn = mysql_async::Conn::new(mysql_opts(&t)).await.map_err(|e| format!("connecting: {e}"))?;
    let (partitions, buckets) = if args.tablets <= BUCKETS_PER_PARTITION {
        (1, args.tablets)
    } else {
        (args.tablets.div_ceil(BUCKETS_PER_PARTITION), BUCKETS_PER_PARTITION)
    };
    let tablets = partitions * buckets;
    let parts: Vec<String> =
        (0..partitions).map(|i| format!("PARTITION p{i} VALUES LESS THAN (\"{}\")", (i + 1) * 1000)).collect();
    let create = format!(
        "CREATE TABLE {DB}.t (k INT, v INT) DUPLICATE KEY(k) PARTITION BY RANGE(k) ({}) \
         DISTRIBUTED BY HASH(k) BUCKETS {buckets} PROPERTIES (\"replication_num\" = \"1\")",
        parts.join(", ")
    );
    conn.query_drop(format!("CREATE DATABASE {DB}")).await.map_err(|e| format!("CREATE DATABASE: {e}"))?;
    let mut phases: Vec<(String, f64)> = Vec::new();
    let started = Instant::now();
    conn.query_drop(&create).await.map_err(|e| format!("CREATE TABLE: {e}"))?;
    phases.push((format!("CREATE TABLE ({partitions} partitions x {buckets} buckets)"), started.elapsed().as_secs_f64()));
    let rss_after_create = fe_rss_now(local);

    // One full sync into another database, timed line by line.
    let exe = std::env::current_exe().map_err(|e| format!("locating this binary: {e}"))?;
    let (q, rpc) = (format!("127.0.0.1:{}", t.query), format!("127.0.0.1:{}", 9020 + args.base_port));
    let mut child = Command::new(exe)
        .arg("ccr-sync")
        .args(["--src", &q, "--src-rpc", &rpc, "--dst", &q, "--dst-rpc", &rpc, "--db", DB, "--dst-db", "bench_scale_copy"])
        .args(["--table", "t", "--label", "scale1", "--timeout", "7200"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("ccr-sync: {e}"))?;
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    let sync_started = Instant::now();
    let (mut backup_done, mut snapshot_got) = (None, None);
    while let Ok(Some(l)) = lines.next_line().await {
        let at = sync_started.elapsed().as_secs_f64();
        if backup_done.is_none() && l.trim() == "FINISHED" {
            backup_done = Some(at);
        } else if l.starts_with("source: getSnapshot") {
            snapshot_got = Some(at);
        }
    }
    let status = child.wait().await.map_err(|e| format!("ccr-sync: {e}"))?;
    if !status.success() {
        return Err(format!("ccr-sync failed: {status}"));
    }
    let total = sync_started.elapsed().as_secs_f64();
    let rss_after_sync = fe_rss_now(local);
    let backup = backup_done.ok_or("ccr-sync printed no FINISHED for the backup")?;
    phases.push(("BACKUP to __keep_on_local__ (submit -> FINISHED)".into(), backup));
    phases.push(("getSnapshot".into(), snapshot_got.map_or(0.0, |s| s - backup)));
    // The restore's own phases, from SHOW RESTORE's timestamps (second resolution).
    let rows: Vec<mysql_async::Row> =
        conn.query("SHOW RESTORE FROM bench_scale_copy WHERE Label = \"scale1\"").await.map_err(|e| format!("SHOW RESTORE: {e}"))?;
    let row = rows.last().ok_or("SHOW RESTORE: no row")?;
    let get = |name: &str| -> Option<chrono::NaiveDateTime> {
        let i = row.columns_ref().iter().position(|c| c.name_str() == name)?;
        let v: Option<String> = row.get(i);
        chrono::NaiveDateTime::parse_from_str(v.as_deref()?, "%Y-%m-%d %H:%M:%S").ok()
    };
    let times: BTreeMap<&str, Option<chrono::NaiveDateTime>> = ["CreateTime", "MetaPreparedTime", "SnapshotFinishedTime", "DownloadFinishedTime", "FinishedTime"]
        .into_iter()
        .map(|n| (n, get(n)))
        .collect();
    let span = |a: &str, b: &str| match (times[a], times[b]) {
        (Some(x), Some(y)) => (y - x).num_seconds() as f64,
        _ => f64::NAN,
    };
    phases.push(("restore: create tablets (CreateTime -> MetaPreparedTime)".into(), span("CreateTime", "MetaPreparedTime")));
    phases.push(("restore: snapshots (-> SnapshotFinishedTime)".into(), span("MetaPreparedTime", "SnapshotFinishedTime")));
    phases.push(("restore: download (-> DownloadFinishedTime)".into(), span("SnapshotFinishedTime", "DownloadFinishedTime")));
    phases.push(("restore: commit (-> FinishedTime)".into(), span("DownloadFinishedTime", "FinishedTime")));
    phases.push(("restore: total (CreateTime -> FinishedTime)".into(), span("CreateTime", "FinishedTime")));
    phases.push(("full sync, end to end (ccr-sync)".into(), total));

    let tablet_rows: Vec<mysql_async::Row> =
        conn.query("SHOW TABLETS FROM bench_scale_copy.t").await.map_err(|e| format!("SHOW TABLETS: {e}"))?;
    if tablet_rows.len() as u64 != tablets {
        return Err(format!("the restored table has {} tablets, expected {tablets}", tablet_rows.len()));
    }
    let _ = conn.disconnect().await;

    let mut s = format!("\nbench scale: {tablets} tablets, {} BE(s), one replica\n\n| phase | seconds |\n| --- | --- |\n", args.bes);
    for (name, secs) in &phases {
        s.push_str(&format!("| {name} | {secs:.1} |\n"));
    }
    s.push_str("\n| process | peak RSS MiB |\n| --- | --- |\n");
    for (who, pid) in local.pids() {
        s.push_str(&format!("| {who} | {} |\n", peak_rss_mib(pid).map_or("?".into(), |m| m.to_string())));
    }
    s.push_str(&format!("\nFE resident set: {rss_after_create} MiB after CREATE TABLE, {rss_after_sync} MiB after the full sync\n"));
    Ok(s)
}
