//! `doris-rs bench load`: stream load and scan throughput of a real cluster.
//!
//! Starts `doris-rs local --bes N` (this same binary) in a scratch directory, or uses a
//! running cluster given by `--fe`, creates a table with `--replication` replicas,
//! stream-loads `--rows` generated CSV rows through the FE (307 to a BE, as `curl
//! --location-trusted` does), then times `SELECT COUNT(*)` and a full `SELECT * ... ORDER
//! BY` over MySQL. Figures only: nothing here passes or fails on time, but every step
//! checks its row count, so a fast wrong answer is an error.
//!
//! Run it from a release build for figures: `cargo run --release -- bench load`.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use clap::Args;
use mysql_async::prelude::Queryable;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const MB: f64 = 1_000_000.0;
const DB: &str = "bench_load";
/// Start-up of a local cluster is seconds; generous for a loaded machine.
const UP_TIMEOUT: Duration = Duration::from_secs(180);
/// `doris-rs local` gives its children 40 s after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Args, Debug)]
pub struct LoadArgs {
    /// Rows to load (one stream load).
    #[arg(long, default_value_t = 1_000_000)]
    rows: u64,
    /// Buckets of the table.
    #[arg(long, default_value_t = 8)]
    buckets: u32,
    /// replication_num of the table.
    #[arg(long, default_value_t = 3)]
    replication: u32,
    /// Full scans to time (the figure is each one's).
    #[arg(long, default_value_t = 1)]
    scans: u32,
    /// Use the running cluster whose FE is on this host instead of starting one.
    #[arg(long, value_name = "HOST")]
    fe: Option<String>,
    /// The FE's http_port (with --fe).
    #[arg(long, default_value_t = 8030, requires = "fe")]
    http_port: u16,
    /// The FE's query_port (with --fe).
    #[arg(long, default_value_t = 9030, requires = "fe")]
    query_port: u16,
    /// Password of root (with --fe).
    #[arg(long, default_value = "", requires = "fe")]
    password: String,
    /// BEs of the started cluster.
    #[arg(long, default_value_t = 3, conflicts_with = "fe")]
    bes: u16,
    /// --base-port of the started cluster (beside a developer's own on 0).
    #[arg(long, default_value_t = 500, conflicts_with = "fe")]
    base_port: u16,
    /// Directory of the started cluster (default: a scratch directory under the system
    /// temp dir, removed afterwards).
    #[arg(long, value_name = "DIR", conflicts_with = "fe")]
    dir: Option<PathBuf>,
}

/// Removes the scratch directory however the run ends.
pub(super) struct Scratch(pub(super) Option<PathBuf>);

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(p) = &self.0 {
            let _ = std::fs::remove_dir_all(p);
        }
    }
}

/// A `doris-rs local` we started; SIGKILLed if dropped before [`Local::stop`] (its
/// children then get SIGTERM from the kernel, see local.rs).
pub(super) struct Local {
    child: Child,
    drain: tokio::task::JoinHandle<()>,
    /// The banner `local` printed once up (ports, pids).
    pub(super) banner: String,
}

impl Local {
    /// `doris-rs local --bes <bes> --dir <dir> --base-port <base_port>`, up.
    pub(super) async fn start(bes: u16, base_port: u16, dir: &std::path::Path) -> Result<Local, String> {
        let exe = std::env::current_exe().map_err(|e| format!("locating this binary: {e}"))?;
        let mut child = Command::new(exe)
            .arg("local")
            .arg("--bes")
            .arg(bes.to_string())
            .arg("--dir")
            .arg(dir)
            .arg("--base-port")
            .arg(base_port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("starting doris-rs local: {e}"))?;
        let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        // The banner ends with the `logs:` line once every BE is Alive.
        let up = async {
            let mut seen = String::new();
            loop {
                match lines.next_line().await {
                    Ok(Some(l)) => {
                        let done = l.starts_with("logs: ");
                        seen.push_str(&l);
                        seen.push('\n');
                        if done {
                            return Ok(seen);
                        }
                    }
                    Ok(None) | Err(_) => return Err(format!("doris-rs local exited before it was up:\n{seen}")),
                }
            }
        };
        let banner = match tokio::time::timeout(UP_TIMEOUT, up).await {
            Ok(Ok(banner)) => banner,
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(format!("doris-rs local was not up within {} s", UP_TIMEOUT.as_secs())),
        };
        // Keep reading: `local` prints while it stops and must not block on a full pipe.
        let drain = tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Local { child, drain, banner })
    }

    /// The pids of the FE and the BEs (`pid N` on each banner line).
    pub(super) fn pids(&self) -> Vec<(String, u32)> {
        self.banner
            .lines()
            .filter_map(|l| {
                let who = l.trim().split(':').next()?.trim().to_string();
                let pid = l.rsplit_once("pid ")?.1.trim().parse().ok()?;
                Some((who, pid))
            })
            .collect()
    }

    pub(super) async fn stop(mut self) -> Result<(), String> {
        if let Some(pid) = self.child.id() {
            // SAFETY: kill(2) on our own child, not yet reaped (so the pid is not reused).
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGTERM);
            }
        }
        let status = tokio::time::timeout(STOP_TIMEOUT, self.child.wait()).await;
        let _ = self.drain.await;
        match status {
            Ok(Ok(s)) if s.success() => Ok(()),
            Ok(Ok(s)) => Err(format!("doris-rs local stopped with {s}")),
            Ok(Err(e)) => Err(format!("waiting for doris-rs local: {e}")),
            Err(_) => Err(format!("doris-rs local did not stop within {} s", STOP_TIMEOUT.as_secs())),
        }
    }
}

pub(super) struct Target {
    pub(super) host: String,
    pub(super) http: u16,
    pub(super) query: u16,
    pub(super) password: String,
}

pub async fn run(args: LoadArgs) -> Result<(), String> {
    if args.rows == 0 {
        return Err("--rows must be at least 1".into());
    }
    if args.scans == 0 {
        return Err("--scans must be at least 1".into());
    }
    let (target, local, _scratch) = match &args.fe {
        Some(host) => (
            Target { host: host.clone(), http: args.http_port, query: args.query_port, password: args.password.clone() },
            None,
            Scratch(None),
        ),
        None => {
            let (dir, scratch) = match &args.dir {
                Some(d) => (d.clone(), Scratch(None)),
                None => {
                    let d = std::env::temp_dir().join(format!("doris-rs-bench-load-{}", std::process::id()));
                    (d.clone(), Scratch(Some(d)))
                }
            };
            println!("starting doris-rs local --bes {} --base-port {} in {}", args.bes, args.base_port, dir.display());
            let local = Local::start(args.bes, args.base_port, &dir).await?;
            let target = Target {
                host: "127.0.0.1".into(),
                http: 8030 + args.base_port,
                query: 9030 + args.base_port,
                password: String::new(),
            };
            (target, Some(local), scratch)
        }
    };
    let measured = measure(&args, &target).await;
    if let Some(local) = local {
        let stopped = local.stop().await;
        // A measurement error is the one to show; a stop error only when all else went well.
        measured.as_ref().map_err(Clone::clone)?;
        stopped?;
    }
    let report = measured?;
    print!("{report}");
    Ok(())
}

pub(super) fn mysql_opts(t: &Target) -> mysql_async::Opts {
    mysql_async::OptsBuilder::default()
        .ip_or_hostname(t.host.clone())
        .tcp_port(t.query)
        .user(Some("root"))
        .pass(Some(t.password.clone()))
        // A loopback host makes the driver ask for @@socket and move to it: not here.
        .prefer_socket(false)
        // Given, so the driver does not SELECT them at connect time.
        .max_allowed_packet(Some(16 * 1024 * 1024))
        .wait_timeout(Some(28800))
        .stmt_cache_size(0)
        .into()
}

/// Cheap deterministic values (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// `rows` CSV lines for (k BIGINT, v VARCHAR(32), amt DECIMAL(12,2), d DATE, dt DATETIME,
/// x DOUBLE), keys 0..rows shuffled by a bijection so the load is not pre-sorted.
pub(super) fn generate_csv(rows: u64) -> Vec<u8> {
    let mut out = String::with_capacity(rows as usize * 64);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    // An odd multiplier is a bijection on 0..2^64; modulo a power of two >= rows keeps it
    // one on that range, and keys past `rows` are skipped.
    let span = rows.next_power_of_two();
    let mut i = 0u64;
    while i < span {
        let k = i.wrapping_mul(0x5851_F42D_4C95_7F2D) & (span - 1);
        i += 1;
        if k >= rows {
            continue;
        }
        let r = rng.next();
        let cents = (r % 2_000_000_000) as i64 - 1_000_000_000;
        let day = r % 2000;
        let (y, m, d) = (2020 + day / 336, 1 + day % 336 / 28, 1 + day % 28);
        let secs = r % 86_400;
        let v = if k.is_multiple_of(97) { "\\N".to_string() } else { format!("name-{}", r >> 40) };
        let sign = if cents < 0 { "-" } else { "" };
        let _ = writeln!(
            out,
            "{k},{v},{sign}{}.{:02},{y}-{m:02}-{d:02},{y}-{m:02}-{d:02} {:02}:{:02}:{:02},{}",
            cents.abs() / 100,
            cents.abs() % 100,
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            (r >> 11) as f64 / 1024.0
        );
    }
    out.into_bytes()
}

/// One stream load through the FE: the FE answers 307 to a BE before it reads a body (as
/// curl's `Expect: 100-continue` lets it), so the body goes only to the BE.
pub(super) async fn stream_load(t: &Target, db: &str, table: &str, label: &str, body: Vec<u8>) -> Result<serde_json::Value, String> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("http client: {e}"))?;
    let fe_url = format!("http://{}:{}/api/{db}/{table}/_stream_load", t.host, t.http);
    let put = |url: &str, body: Vec<u8>| {
        http.put(url)
            .basic_auth("root", Some(&t.password))
            .header("label", label)
            .header("column_separator", ",")
            .body(body)
            .send()
    };
    let resp = put(&fe_url, Vec::new()).await.map_err(|e| format!("PUT {fe_url}: {e}"))?;
    if resp.status() != reqwest::StatusCode::TEMPORARY_REDIRECT {
        let code = resp.status();
        let text = resp.text().await.unwrap_or_default();
        return Err(format!("PUT {fe_url}: expected a 307 to a BE, got {code}: {text}"));
    }
    let be_url = resp
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| format!("PUT {fe_url}: 307 without a Location"))?
        .to_string();
    let resp = put(&be_url, body).await.map_err(|e| format!("PUT {be_url}: {e}"))?;
    let code = resp.status();
    let bytes = resp.bytes().await.map_err(|e| format!("PUT {be_url}: reading the answer: {e}"))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| format!("PUT {be_url}: {code}, not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
}

struct Row {
    step: String,
    rows: u64,
    bytes: Option<u64>,
    secs: f64,
}

async fn measure(args: &LoadArgs, t: &Target) -> Result<String, String> {
    let mut conn = mysql_async::Conn::new(mysql_opts(t))
        .await
        .map_err(|e| format!("connecting to {}:{}: {e}", t.host, t.query))?;
    let table = format!("t{}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis());
    let ddl = [
        format!("CREATE DATABASE IF NOT EXISTS {DB}"),
        format!(
            "CREATE TABLE {DB}.{table} (k BIGINT NOT NULL, v VARCHAR(32), amt DECIMAL(12, 2), d DATE, dt DATETIME, x DOUBLE) \
             DUPLICATE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS {} PROPERTIES (\"replication_num\" = \"{}\")",
            args.buckets, args.replication
        ),
    ];
    for sql in &ddl {
        conn.query_drop(sql).await.map_err(|e| format!("{sql}: {e}"))?;
    }

    let body = generate_csv(args.rows);
    let load_bytes = body.len() as u64;
    let mut out = Vec::new();

    let started = Instant::now();
    let res = stream_load(t, DB, &table, &format!("{table}_1"), body).await?;
    let secs = started.elapsed().as_secs_f64();
    let loaded = res.get("NumberLoadedRows").and_then(|v| v.as_u64());
    if res.get("Status").and_then(|v| v.as_str()) != Some("Success") || loaded != Some(args.rows) {
        return Err(format!("the load did not load {} rows: {res}", args.rows));
    }
    out.push(Row { step: "stream load (client wall time)".into(), rows: args.rows, bytes: Some(load_bytes), secs });
    if let Some(ms) = res.get("LoadTimeMs").and_then(|v| v.as_u64()) {
        out.push(Row {
            step: "stream load (BE LoadTimeMs)".into(),
            rows: args.rows,
            bytes: Some(load_bytes),
            secs: ms as f64 / 1000.0,
        });
    }

    let count_sql = format!("SELECT COUNT(*) FROM {DB}.{table}");
    let started = Instant::now();
    let count: Option<u64> = conn.query_first(&count_sql).await.map_err(|e| format!("{count_sql}: {e}"))?;
    out.push(Row { step: "SELECT COUNT(*)".into(), rows: args.rows, bytes: None, secs: started.elapsed().as_secs_f64() });
    if count != Some(args.rows) {
        return Err(format!("{count_sql}: {count:?}, expected {}", args.rows));
    }

    let scan_sql = format!("SELECT * FROM {DB}.{table} ORDER BY k");
    for i in 0..args.scans {
        let started = Instant::now();
        let mut result = conn.query_iter(&scan_sql).await.map_err(|e| format!("{scan_sql}: {e}"))?;
        // Rows are counted and checked in order as they stream in, not kept.
        let (mut n, mut in_order) = (0u64, true);
        result
            .for_each(|row| {
                let k: Option<u64> = row.get(0);
                in_order &= k == Some(n);
                n += 1;
            })
            .await
            .map_err(|e| format!("{scan_sql}: {e}"))?;
        drop(result);
        let secs = started.elapsed().as_secs_f64();
        if n != args.rows || !in_order {
            return Err(format!("{scan_sql}: {n} rows (in key order: {in_order}), expected {} in order", args.rows));
        }
        let step = if args.scans == 1 { "SELECT * ORDER BY k".to_string() } else { format!("SELECT * ORDER BY k (#{})", i + 1) };
        out.push(Row { step, rows: n, bytes: None, secs });
    }
    let _ = conn.query_drop(format!("DROP TABLE {DB}.{table}")).await;
    let _ = conn.disconnect().await;

    let mut s = format!(
        "\nbench load: {} rows, {} buckets, replication_num {}, {:.1} MB of CSV\n\n",
        args.rows,
        args.buckets,
        args.replication,
        load_bytes as f64 / MB
    );
    s.push_str("| step | rows | seconds | rows/s | MB/s |\n| --- | --- | --- | --- | --- |\n");
    for r in &out {
        let mbs = r.bytes.map(|b| format!("{:.1}", b as f64 / MB / r.secs)).unwrap_or_default();
        let _ = writeln!(s, "| {} | {} | {:.3} | {:.0} | {mbs} |", r.step, r.rows, r.secs, r.rows as f64 / r.secs);
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::generate_csv;

    #[test]
    fn generated_keys_are_each_key_once() {
        let csv = String::from_utf8(generate_csv(1000)).unwrap();
        let mut keys: Vec<u64> = csv.lines().map(|l| l.split(',').next().unwrap().parse().unwrap()).collect();
        assert_eq!(keys.len(), 1000);
        assert_ne!(keys[..10], (0..10).collect::<Vec<_>>()[..], "the file is not pre-sorted");
        keys.sort_unstable();
        assert_eq!(keys, (0..1000).collect::<Vec<_>>());
    }
}
