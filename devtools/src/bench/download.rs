//! `doris-rs bench download`: the snapshot pull engine between two BEs on loopback (same
//! disk), compared with upstream's algorithm and with `cp -r` of the same files.
//!
//! P1: 2 GiB in 64 data files over 8 tablets (plus a small header each).
//! P2: 20,000 files of 8 KiB over 500 tablets.
//! Figures only: nothing here passes or fails on time. Sources stay in the page cache
//! across runs, so every contender reads them hot. Both BEs run in this process, so the
//! CPU per GiB shown counts the serving side as well as the pulling one.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use doris_be::config::BeConfig;
use doris_be::http::CancellationToken;
use doris_be::pull::{pull, PullOutcome, PullProgress};
use doris_be::storage::StorageEngine;
use doris_be::BeContext;
use doris_thrift::agent_service::TRemoteTabletSnapshot;
use doris_thrift::types::TNetworkAddress;

const MIB: f64 = 1024.0 * 1024.0;
const SCHEMA_HASH: i64 = 368169781;
const TOKEN: &str = "bench-download-token";
/// Upstream runs at most this many DOWNLOAD tasks per BE (download_worker_count).
const UPSTREAM_TASKS: usize = 3;

#[derive(Args, Debug)]
pub struct DownloadArgs {
    /// Shrink sizes and counts by this factor (e.g. 0.05 for a quick run).
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// Where the two BEs' storage roots go (default: the system temp dir). Needs room
    /// for the sources plus one copy at a time.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Only this scenario: p1 or p2.
    #[arg(long)]
    only: Option<String>,
    /// Parallel GETs of our engine.
    #[arg(long, default_value_t = 8)]
    parallelism: usize,
    /// Whether our engine checks md5s (`download_verify_md5`).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    verify_md5: bool,
}

struct Scenario {
    name: &'static str,
    tablets: usize,
    files_per_tablet: usize,
    file_size: usize,
    hdr_size: usize,
}

struct NoProgress;

#[async_trait::async_trait]
impl PullProgress for NoProgress {
    async fn report(&self, _: i32, _: i32) -> doris_be::error::Result<()> {
        Ok(())
    }
}

/// Removes the bench's directory however the run ends.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Node {
    ctx: Arc<BeContext>,
    root: PathBuf,
    port: u16,
    stop: CancellationToken,
}

async fn start_node(root: PathBuf, tweak: impl FnOnce(&mut BeConfig)) -> Result<Node, String> {
    let mut config = BeConfig { storage_root_paths: vec![root.clone()], ..Default::default() };
    tweak(&mut config);
    let storage = StorageEngine::open(&config).map_err(|e| format!("open storage {}: {e}", root.display()))?;
    let ctx = BeContext::new(config, storage);
    ctx.master.write().unwrap().token = TOKEN.to_string();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| format!("bind: {e}"))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let stop = CancellationToken::new();
    tokio::spawn(doris_be::http::serve(ctx.clone(), listener, stop.clone()));
    let root = root.canonicalize().map_err(|e| e.to_string())?;
    Ok(Node { ctx, root, port, stop })
}

/// Cheap, incompressible-looking bytes; `seed` makes every file's content (and md5) differ.
fn fill(buf: &mut [u8], seed: u64) {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for chunk in buf.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let b = x.to_le_bytes();
        chunk.copy_from_slice(&b[..chunk.len()]);
    }
}

fn write_file(path: &Path, size: usize, seed: u64, block: &mut [u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut left = size;
    let mut n = 0u64;
    while left > 0 {
        let take = left.min(block.len());
        // Vary each block a little so no two blocks of the data set are equal.
        block[..8.min(take)].copy_from_slice(&(seed ^ (n << 32)).to_le_bytes()[..8.min(take)]);
        f.write_all(&block[..take])?;
        left -= take;
        n += 1;
    }
    f.flush()
}

/// The remote snapshot of scenario `s`: returns (remote tablet dirs, total bytes, files).
fn make_sources(remote_root: &Path, s: &Scenario) -> Result<(Vec<PathBuf>, u64, u64), String> {
    let ts = remote_root.join("snapshot").join(format!("20260101000000.{}.86400", s.name));
    let mut block = vec![0u8; (1 << 20).min(s.file_size.max(8))];
    fill(&mut block, 7);
    let (mut bytes, mut files) = (0u64, 0u64);
    let mut dirs = Vec::with_capacity(s.tablets);
    for t in 0..s.tablets {
        let id = 10_000 + t as i64;
        let dir = ts.join(id.to_string()).join(SCHEMA_HASH.to_string());
        std::fs::create_dir_all(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
        write_file(&dir.join(format!("{id}.hdr")), s.hdr_size, id as u64, &mut block).map_err(|e| e.to_string())?;
        bytes += s.hdr_size as u64;
        files += 1;
        for f in 0..s.files_per_tablet {
            let name = format!("02000000000000{t:04x}{f:04x}0000000000000000_0.dat");
            write_file(&dir.join(name), s.file_size, (t * 100_000 + f) as u64 + 1, &mut block).map_err(|e| e.to_string())?;
            bytes += s.file_size as u64;
            files += 1;
        }
        dirs.push(dir);
    }
    Ok((dirs, bytes, files))
}

/// Fresh empty local dirs for one run; the snapshots pointing at them.
fn make_targets(local: &Node, remote: &Node, sources: &[PathBuf], run: &str) -> Result<(PathBuf, Vec<TRemoteTabletSnapshot>), String> {
    let ts = local.root.join("snapshot").join(format!("20260101000001.{run}.86400"));
    let mut snaps = Vec::with_capacity(sources.len());
    for (i, src) in sources.iter().enumerate() {
        let local_id = 50_000 + i as i64;
        let dir = ts.join(local_id.to_string()).join(SCHEMA_HASH.to_string());
        std::fs::create_dir_all(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
        let remote_id: i64 = src.parent().and_then(|p| p.file_name()).and_then(|n| n.to_str()).and_then(|n| n.parse().ok()).unwrap_or(0);
        snaps.push(TRemoteTabletSnapshot::new(
            local_id,
            dir.display().to_string(),
            remote_id,
            1i64,
            TNetworkAddress { hostname: "127.0.0.1".into(), port: remote.port as i32 },
            src.display().to_string(),
            TOKEN.to_string(),
        ));
    }
    Ok((ts, snaps))
}

/// CPU seconds (user + system) this process used so far, all threads; `None` off Linux.
/// Shown beside the wall-clock figures: on a shared machine the CPU spent per GiB
/// moves much less with the load than the throughput does.
fn cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    // USER_HZ is 100 on every Linux we run on.
    Some(ticks / 100.0)
}

/// CPU seconds per GiB moved between two `cpu_secs` readings.
fn cpu_per_gib(before: Option<f64>, bytes: u64) -> Option<f64> {
    let used = cpu_secs()? - before?;
    (bytes > 0).then(|| used / (bytes as f64 / (MIB * 1024.0)))
}

fn line(label: &str, bytes: u64, files: u64, secs: f64, cpu: Option<f64>) {
    let secs = secs.max(1e-9);
    let cpu = cpu.map(|c| format!(" {c:>6.2} cpu-s/GiB")).unwrap_or_default();
    println!(
        "  {label:<58} {:>9.1} MiB/s {:>10.0} files/s {:>8.2} s{cpu}",
        bytes as f64 / MIB / secs,
        files as f64 / secs,
        secs
    );
}

async fn run_ours(
    local: &Node,
    remote: &Node,
    sources: &[PathBuf],
    run: &str,
) -> Result<(PathBuf, Vec<TRemoteTabletSnapshot>, Option<f64>, PullOutcome, f64), String> {
    let (ts, snaps) = make_targets(local, remote, sources, run)?;
    let (t, cpu) = (Instant::now(), cpu_secs());
    let out = pull(&local.ctx, 1, &snaps, &NoProgress).await.map_err(|e| format!("pull: {e}"))?;
    let secs = t.elapsed().as_secs_f64();
    Ok((ts, snaps, cpu_per_gib(cpu, out.bytes_transferred), out, secs))
}

async fn run_scenario(s: &Scenario, remote: &Node, ours: &Node, up: &Node, parallelism: usize) -> Result<(), String> {
    let md5 = if ours.ctx.config.download_verify_md5 { "md5 on" } else { "md5 off" };
    let (sources, bytes, files) = make_sources(&remote.root, s)?;
    println!(
        "{}: {:.1} MiB in {files} files over {} tablets ({} B per data file)",
        s.name,
        bytes as f64 / MIB,
        s.tablets,
        s.file_size
    );

    // Ours, with the remote's md5 cache cold (its first listing hashes every file).
    let (ts, snaps, cpu, out, secs) = run_ours(ours, remote, &sources, "cold").await?;
    check(&out, bytes, "ours")?;
    line(&format!("ours: parallelism {parallelism}, {md5}, remote md5s cold"), out.bytes_transferred, out.files_transferred, secs, cpu);
    // Everything is already there: one listing per tablet and local hashing, no transfer.
    let t = Instant::now();
    let again = pull(&ours.ctx, 1, &snaps, &NoProgress).await.map_err(|e| format!("pull: {e}"))?;
    let secs_again = t.elapsed().as_secs_f64();
    println!(
        "  {:<58} {:>8.2} s ({} files kept, {} bytes moved)",
        "ours: re-run, all files already complete",
        secs_again,
        again.files_skipped,
        again.bytes_transferred
    );
    remove(&ts);

    let (ts, _, cpu, out, secs) = run_ours(ours, remote, &sources, "warm").await?;
    check(&out, bytes, "ours")?;
    line(&format!("ours: parallelism {parallelism}, {md5}, remote md5s cached"), out.bytes_transferred, out.files_transferred, secs, cpu);
    remove(&ts);

    // Upstream's algorithm, its tablets split over at most 3 concurrent tasks.
    let (ts, snaps) = make_targets(up, remote, &sources, "up")?;
    let mut groups: Vec<Vec<TRemoteTabletSnapshot>> = vec![Vec::new(); UPSTREAM_TASKS.min(snaps.len()).max(1)];
    let n = groups.len();
    for (i, s) in snaps.into_iter().enumerate() {
        groups[i % n].push(s);
    }
    let (t, cpu) = (Instant::now(), cpu_secs());
    let results = futures::future::join_all(groups.iter().map(|g| pull(&up.ctx, 2, g, &NoProgress))).await;
    let secs = t.elapsed().as_secs_f64();
    let (mut ub, mut uf) = (0u64, 0u64);
    for r in results {
        let o = r.map_err(|e| format!("upstream-mode pull: {e}"))?;
        ub += o.bytes_transferred;
        uf += o.files_transferred;
    }
    if ub != bytes {
        return Err(format!("upstream mode moved {ub} bytes, expected {bytes}"));
    }
    line(&format!("upstream algorithm: sequential, {n} tasks, no md5"), ub, uf, secs, cpu_per_gib(cpu, ub));
    remove(&ts);

    // cp -r of the same snapshot directory.
    let src_ts = sources[0].parent().and_then(|p| p.parent()).ok_or("bad source layout")?.to_path_buf();
    let dst = ours.root.join("cp_target");
    remove(&dst);
    let t = Instant::now();
    let st = std::process::Command::new("cp").arg("-r").arg(&src_ts).arg(&dst).status().map_err(|e| format!("cp: {e}"))?;
    let secs = t.elapsed().as_secs_f64();
    if !st.success() {
        return Err(format!("cp -r failed: {st}"));
    }
    line("cp -r (no fsync, no checksum)", bytes, files, secs, None);
    remove(&dst);
    remove(&src_ts);
    Ok(())
}

fn check(out: &PullOutcome, bytes: u64, who: &str) -> Result<(), String> {
    if out.bytes_transferred != bytes {
        return Err(format!("{who} moved {} bytes, expected {bytes}", out.bytes_transferred));
    }
    Ok(())
}

fn remove(p: &Path) {
    let _ = std::fs::remove_dir_all(p);
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split(':').nth(1)).map(|m| m.trim().to_string()))
        .unwrap_or_else(|| "unknown".into())
}

pub async fn run(args: DownloadArgs) -> Result<(), String> {
    if !(args.scale.is_finite() && args.scale > 0.0 && args.scale <= 1.0) {
        return Err(format!("--scale must be in (0, 1], got {}", args.scale));
    }
    if args.parallelism == 0 || args.parallelism > 256 {
        return Err(format!("--parallelism must be in 1..=256, got {}", args.parallelism));
    }
    let only = args.only.as_deref().map(str::to_ascii_lowercase);
    if let Some(o) = &only {
        if o != "p1" && o != "p2" {
            return Err(format!("--only takes p1 or p2, got {o}"));
        }
    }
    let scaled = |n: usize, min: usize| ((n as f64 * args.scale).round() as usize).max(min);
    let p1 = Scenario { name: "P1", tablets: 8, files_per_tablet: 8, file_size: scaled(32 << 20, 4096), hdr_size: 4096 };
    let p2_tablets = scaled(500, 1);
    let p2 = Scenario { name: "P2", tablets: p2_tablets, files_per_tablet: (scaled(20_000, 40) / p2_tablets).max(2) - 1, file_size: 8192, hdr_size: 8192 };

    let base = args.dir.clone().unwrap_or_else(std::env::temp_dir).join(format!(
        "doris-rs-bench-download-{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
    ));
    std::fs::create_dir_all(&base).map_err(|e| format!("mkdir {}: {e}", base.display()))?;
    let _scratch = Scratch(base.clone());

    println!(
        "download: nproc={}, cpu={}, scale={}, dir={}",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        cpu_model(),
        args.scale,
        base.display()
    );
    let parallelism = args.parallelism;
    let remote = start_node(base.join("remote"), |_| {}).await?;
    let verify = args.verify_md5;
    let ours = start_node(base.join("ours"), |c| {
        c.download_parallelism = parallelism;
        c.download_verify_md5 = verify;
    })
    .await?;
    let up = start_node(base.join("upstream"), |c| {
        c.download_parallelism = 1;
        c.download_upstream_mode = true;
    })
    .await?;

    let result = async {
        if only.as_deref() != Some("p2") {
            run_scenario(&p1, &remote, &ours, &up, parallelism).await?;
        }
        if only.as_deref() != Some("p1") {
            run_scenario(&p2, &remote, &ours, &up, parallelism).await?;
        }
        Ok::<(), String>(())
    }
    .await;
    for n in [&remote, &ours, &up] {
        n.stop.cancel();
    }
    result
}
