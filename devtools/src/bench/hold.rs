//! `doris-rs bench hold`: many connections held at once while backup, restore and stream
//! loads run (issue 16, "load held").
//!
//! Starts `doris-rs local`, then for `--seconds` keeps `--mysql` MySQL connections to the FE,
//! `--thrift` connections to the FE's thrift port and `--http` keep-alive connections to a
//! BE's HTTP port busy, each with its own connection for the whole run, while one task backs
//! the table up to a `file://` repository and restores it under a new name, over and over,
//! and another stream-loads into it. Every request must be answered (a result, or a refusal
//! carrying a message); a request that gets no answer (reset, closed, timed out) fails the
//! run, as does a job that does not finish or a load that fails. The FE's and BEs' open file
//! descriptors and resident sets are printed at the start and at the end, once every client
//! has let go, so a leak shows as a difference. Figures only: no assertion on time.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use doris_thrift::frontend_service::TGetMasterTokenRequest;
use doris_thrift::services::FrontendServiceClient;
use doris_thrift::status::TStatusCode;
use doris_thrift::transport::{ClientOptions, ClientPool};
use mysql_async::prelude::Queryable;

use super::load::{generate_csv, mysql_opts, stream_load, Local, Scratch, Target};

const DB: &str = "bench_hold";
/// A request unanswered this long counts as lost.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a backup or restore may take before the run fails.
const JOB_TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Args, Debug)]
pub struct HoldArgs {
    /// Seconds the connections are kept busy.
    #[arg(long, default_value_t = 600)]
    seconds: u64,
    /// MySQL connections to the FE.
    #[arg(long, default_value_t = 400)]
    mysql: usize,
    /// Connections to the FE's thrift port.
    #[arg(long, default_value_t = 300)]
    thrift: usize,
    /// Keep-alive HTTP connections to the first BE.
    #[arg(long, default_value_t = 300)]
    http: usize,
    /// BEs of the cluster.
    #[arg(long, default_value_t = 3)]
    bes: u16,
    /// --base-port of the cluster.
    #[arg(long, default_value_t = 740)]
    base_port: u16,
    /// The FE's normal workload group for the run (ALTER WORKLOAD GROUP): at most this many
    /// queries run at once...
    #[arg(long, default_value_t = 8)]
    max_concurrency: u32,
    /// ...at most this many wait; a query past both is refused at once...
    #[arg(long, default_value_t = 256)]
    max_queue_size: u32,
    /// ...and a waiting query is refused after this many milliseconds.
    #[arg(long, default_value_t = 30_000)]
    queue_timeout_ms: u64,
    /// Leave the FE's workload group as it is (upstream's default: no bound, nothing refused,
    /// statements wait as long as the load makes them).
    #[arg(long)]
    unbounded: bool,
    /// Directory of the cluster (default: a scratch directory, removed afterwards).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// What the clients of one kind saw.
#[derive(Default)]
struct Tally {
    answered: AtomicU64,
    /// Refused with a message (an error packet, a non-OK status, a 4xx/5xx with a body).
    refused: AtomicU64,
    /// Of the refused: by the FE's query queue (full, or the wait ran out).
    queue_refused: AtomicU64,
    /// No answer: the connection broke or the request timed out.
    lost: AtomicU64,
    first_loss: std::sync::Mutex<Option<String>>,
    /// How long each connection took to be ready (MySQL: connect and log in), in ms.
    connects: std::sync::Mutex<Vec<u64>>,
    /// How long each answered or refused statement waited (MySQL), in ms.
    waits: std::sync::Mutex<Vec<u64>>,
}

impl Tally {
    fn lose(&self, why: String) {
        self.lost.fetch_add(1, Ordering::Relaxed);
        self.first_loss.lock().unwrap().get_or_insert(why);
    }

    fn connected(&self, took: Duration) {
        self.connects.lock().unwrap().push(took.as_millis() as u64);
    }

    fn waited(&self, took: Duration) {
        self.waits.lock().unwrap().push(took.as_millis() as u64);
    }

    /// A statement refused with `e` (an error packet).
    fn refused_with(&self, e: &mysql_async::ServerError, took: Duration) -> u64 {
        self.waited(took);
        if is_queue_refusal(&e.message) {
            self.queue_refused.fetch_add(1, Ordering::Relaxed);
        }
        self.refused.fetch_add(1, Ordering::Relaxed)
    }

    fn line(&self, what: &str, conns: usize) -> String {
        let mut out = format!(
            "{what:<8} conns={conns:<5} answered={:<9} refused={:<9} lost={}{}\n",
            self.answered.load(Ordering::Relaxed),
            self.refused.load(Ordering::Relaxed),
            self.lost.load(Ordering::Relaxed),
            self.first_loss.lock().unwrap().as_deref().map(|w| format!(" (first: {w})")).unwrap_or_default(),
        );
        for (what, ms) in [("logged in", &self.connects), ("statements", &self.waits)] {
            let mut ms = ms.lock().unwrap().clone();
            if ms.is_empty() {
                continue;
            }
            ms.sort_unstable();
            let at = |p: f64| super::rpc::percentile(&ms, p).unwrap_or(0) as f64 / 1000.0;
            let queue = match self.queue_refused.load(Ordering::Relaxed) {
                n if n > 0 && what == "statements" => format!(" ({n} refused by the query queue)"),
                _ => String::new(),
            };
            out += &format!(
                "{:<8} {what} {}: p50 {:.1} s, p99 {:.1} s, max {:.1} s{queue}\n",
                "",
                ms.len(),
                at(50.0),
                at(99.0),
                at(100.0)
            );
        }
        out
    }
}

/// Open file descriptors and resident set of each process of the cluster.
fn resources(local: &Local) -> Vec<(String, usize, u64)> {
    local
        .pids()
        .into_iter()
        .map(|(who, pid)| {
            let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0);
            let rss = std::fs::read_to_string(format!("/proc/{pid}/status"))
                .ok()
                .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse::<u64>().ok())
                .map_or(0, |kb| kb / 1024);
            (who, fds, rss)
        })
        .collect()
}

/// Raise this process's open-file limit to its hard limit: the clients hold a socket each,
/// and the cluster started from here inherits the limit.
fn raise_nofile() -> u64 {
    // SAFETY: getrlimit/setrlimit on a local struct.
    unsafe {
        let mut l = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) != 0 {
            return 0;
        }
        l.rlim_cur = l.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &l);
        l.rlim_cur as u64
    }
}

pub async fn run(args: HoldArgs) -> Result<(), String> {
    let nofile = raise_nofile();
    let (dir, _scratch) = match &args.dir {
        Some(d) => (d.clone(), Scratch(None)),
        None => {
            let d = std::env::temp_dir().join(format!("doris-rs-bench-hold-{}", std::process::id()));
            (d.clone(), Scratch(Some(d)))
        }
    };
    println!("starting doris-rs local --bes {} in {} (open files limit {nofile})", args.bes, dir.display());
    let local = Local::start(args.bes, args.base_port, &dir).await?;
    let measured = measure(&args, &local, &dir).await;
    let stopped = local.stop().await;
    let report = measured?;
    stopped?;
    print!("{report}");
    Ok(())
}

async fn measure(args: &HoldArgs, local: &Local, dir: &std::path::Path) -> Result<String, String> {
    let t = Arc::new(Target { host: "127.0.0.1".into(), http: 8030 + args.base_port, query: 9030 + args.base_port, password: String::new() });
    let rpc_addr = format!("127.0.0.1:{}", 9020 + args.base_port);
    // The first BE's HTTP port (`local` numbers them from 8040 + base).
    let be_http = format!("http://127.0.0.1:{}", 8040 + args.base_port);
    let mut conn = mysql_async::Conn::new(mysql_opts(&t)).await.map_err(|e| format!("connecting: {e}"))?;
    let repo = dir.join("repo");
    for sql in [
        format!("CREATE DATABASE {DB}"),
        format!(
            "CREATE TABLE {DB}.t (k BIGINT NOT NULL, v VARCHAR(32), amt DECIMAL(12, 2), d DATE, dt DATETIME, x DOUBLE) \
             DUPLICATE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 8 PROPERTIES (\"replication_num\" = \"1\")"
        ),
        format!("CREATE REPOSITORY hold_repo WITH LOCAL ON LOCATION \"file://{}\" PROPERTIES ()", repo.display()),
    ] {
        conn.query_drop(&sql).await.map_err(|e| format!("{sql}: {e}"))?;
    }
    stream_load(&t, DB, "t", "hold_seed", generate_csv(10_000)).await?;
    let queue = if args.unbounded {
        "normal workload group unbounded".to_string()
    } else {
        let (c, q, ms) = (args.max_concurrency, args.max_queue_size, args.queue_timeout_ms);
        conn.query_drop(format!(
            "ALTER WORKLOAD GROUP normal PROPERTIES ('max_concurrency' = '{c}', 'max_queue_size' = '{q}', 'queue_timeout' = '{ms}')"
        ))
        .await
        .map_err(|e| format!("ALTER WORKLOAD GROUP: {e}"))?;
        format!("normal workload group: max_concurrency={c} max_queue_size={q} queue_timeout={ms} ms")
    };
    let before = resources(local);

    let started = Instant::now();
    let until = started + Duration::from_secs(args.seconds);
    let (mysql, thrift, http) = (Arc::new(Tally::default()), Arc::new(Tally::default()), Arc::new(Tally::default()));
    let mut clients = Vec::new();
    for i in 0..args.mysql {
        clients.push(tokio::spawn(mysql_client(t.clone(), i, until, mysql.clone())));
    }
    for _ in 0..args.thrift {
        clients.push(tokio::spawn(thrift_client(rpc_addr.clone(), until, thrift.clone())));
    }
    for i in 0..args.http {
        clients.push(tokio::spawn(http_client(be_http.clone(), i, until, http.clone())));
    }
    let jobs = tokio::spawn(backup_restore_loop(t.clone(), until));
    let loads = tokio::spawn(load_loop(t.clone(), until));
    for c in clients {
        c.await.map_err(|e| format!("a client task failed: {e}"))?;
    }
    let jobs = jobs.await.map_err(|e| format!("the job task failed: {e}"))??;
    let loads = loads.await.map_err(|e| format!("the load task failed: {e}"))??;
    let held = started.elapsed().as_secs_f64();
    // Every client has closed its connection; give the servers a moment to see the FINs
    // (the FE's MySQL sessions end on their next read), then count again.
    let settle = Instant::now();
    let mut after = resources(local);
    while settle.elapsed() < Duration::from_secs(30)
        && after.iter().zip(&before).any(|(a, b)| a.1 > b.1 + 16)
    {
        tokio::time::sleep(Duration::from_millis(500)).await;
        after = resources(local);
    }
    let rows: Vec<u64> = conn.query(format!("SELECT COUNT(*) FROM {DB}.t")).await.map_err(|e| format!("count: {e}"))?;

    let mut out = format!("held {:.0} s, {} connections at once; {queue}\n", held, args.mysql + args.thrift + args.http);
    out += &mysql.line("mysql", args.mysql);
    out += &thrift.line("thrift", args.thrift);
    out += &http.line("http", args.http);
    out += &format!("jobs     backups+restores finished={jobs} (each restore read back)\n");
    out += &format!("loads    stream loads finished={loads}, rows now {}\n", rows.first().copied().unwrap_or(0));
    out += "process  fds start -> end    RSS MiB start -> end\n";
    for ((who, fds0, rss0), (_, fds1, rss1)) in before.iter().zip(&after) {
        out += &format!("{who:<8} {fds0:>5} -> {fds1:<10} {rss0:>5} -> {rss1}\n");
    }
    let lost: u64 = [&mysql, &thrift, &http].iter().map(|t| t.lost.load(Ordering::Relaxed)).sum();
    if lost > 0 {
        return Err(format!("{out}{lost} request(s) got no answer"));
    }
    Ok(out)
}

async fn mysql_client(t: Arc<Target>, i: usize, until: Instant, tally: Arc<Tally>) {
    let started = Instant::now();
    let mut conn = match tokio::time::timeout(ANSWER_TIMEOUT, mysql_async::Conn::new(mysql_opts(&t))).await {
        Ok(Ok(c)) => {
            tally.connected(started.elapsed());
            c
        }
        Ok(Err(mysql_async::Error::Server(_))) => {
            // Refused at connect (too many connections): an answer, but this client is done.
            tally.refused.fetch_add(1, Ordering::Relaxed);
            return;
        }
        Ok(Err(e)) => return tally.lose(format!("connect: {e}")),
        Err(_) => return tally.lose("connect timed out".into()),
    };
    let queries = [
        format!("SELECT COUNT(*) FROM {DB}.t WHERE k > {}", i * 7),
        format!("SELECT SUM(amt) FROM {DB}.t WHERE k < 1000"),
        format!("SHOW BACKUP FROM {DB}"),
        "SELECT 1".to_string(),
        // Refused: the table does not exist.
        format!("SELECT * FROM {DB}.missing_{i}"),
    ];
    let mut n = i;
    while Instant::now() < until {
        let q = &queries[n % queries.len()];
        n += 1;
        let sent = Instant::now();
        match tokio::time::timeout(ANSWER_TIMEOUT, conn.query_iter(q.as_str())).await {
            Ok(Ok(mut r)) => match r.collect::<mysql_async::Row>().await {
                Ok(_) => {
                    tally.waited(sent.elapsed());
                    tally.answered.fetch_add(1, Ordering::Relaxed)
                }
                Err(mysql_async::Error::Server(e)) => tally.refused_with(&e, sent.elapsed()),
                Err(e) => return tally.lose(format!("{q}: {e}")),
            },
            Ok(Err(mysql_async::Error::Server(e))) => tally.refused_with(&e, sent.elapsed()),
            Ok(Err(e)) => return tally.lose(format!("{q}: {e}")),
            Err(_) => return tally.lose(format!("{q}: no answer in {} s", ANSWER_TIMEOUT.as_secs())),
        };
    }
    let _ = conn.disconnect().await;
}

async fn thrift_client(addr: String, until: Instant, tally: Arc<Tally>) {
    let opts = ClientOptions { call_timeout: ANSWER_TIMEOUT, ..Default::default() };
    // A pool of its own: this client holds one connection for the whole run.
    let c = FrontendServiceClient::new(ClientPool::new().channel(&addr, opts));
    let mut n = 0u64;
    while Instant::now() < until {
        // Every other call with a wrong password: refused with a status and a message.
        let password = if n % 2 == 0 { "" } else { "wrong" };
        n += 1;
        let req = TGetMasterTokenRequest::new(Some(String::new()), Some("root".to_string()), Some(password.to_string()));
        match c.get_master_token(&req).await {
            Ok(r) => match r.status {
                Some(s) if s.status_code == TStatusCode::OK => tally.answered.fetch_add(1, Ordering::Relaxed),
                Some(s) if s.error_msgs.as_ref().is_some_and(|m| !m.is_empty()) => tally.refused.fetch_add(1, Ordering::Relaxed),
                other => return tally.lose(format!("getMasterToken answered {other:?} without a message")),
            },
            // An application exception would be an answer, but getMasterToken never throws
            // one: every error here is a call that got no answer.
            Err(e) => return tally.lose(format!("getMasterToken: {e}")),
        };
    }
}

async fn http_client(base: String, i: usize, until: Instant, tally: Arc<Tally>) {
    let http = match reqwest::Client::builder().pool_max_idle_per_host(1).timeout(ANSWER_TIMEOUT).build() {
        Ok(h) => h,
        Err(e) => return tally.lose(format!("http client: {e}")),
    };
    let urls = [
        format!("{base}/api/health"),
        // Refused: a token no FE issued.
        format!("{base}/api/_tablet/_download?token=not-a-token-{i}&file=/etc/passwd"),
        format!("{base}/metrics"),
    ];
    let mut n = i;
    while Instant::now() < until {
        let url = &urls[n % urls.len()];
        n += 1;
        match http.get(url).send().await {
            Ok(r) => {
                let ok = r.status().is_success();
                match r.bytes().await {
                    Ok(_) if ok => tally.answered.fetch_add(1, Ordering::Relaxed),
                    Ok(body) if !body.is_empty() => tally.refused.fetch_add(1, Ordering::Relaxed),
                    Ok(_) => return tally.lose(format!("GET {url}: refused without a message")),
                    Err(e) => return tally.lose(format!("GET {url}: {e}")),
                };
            }
            Err(e) => return tally.lose(format!("GET {url}: {e}")),
        }
    }
}

/// Wait for the last job of `show` (SHOW BACKUP/RESTORE FROM the db) labelled `label`.
async fn wait_job(conn: &mut mysql_async::Conn, show: &str, label: &str) -> Result<(), String> {
    let started = Instant::now();
    loop {
        let rows: Vec<mysql_async::Row> = conn.query(format!("{show} FROM {DB}")).await.map_err(|e| format!("{show}: {e}"))?;
        let state = rows.iter().rev().find_map(|r| {
            let name: String = r.get("SnapshotName").or_else(|| r.get("Label"))?;
            (name == label).then(|| (r.get::<String, _>("State").unwrap_or_default(), r.get::<String, _>("Status").unwrap_or_default()))
        });
        match state {
            Some((s, _)) if s == "FINISHED" => return Ok(()),
            Some((s, why)) if s == "CANCELLED" => return Err(format!("{show} {label}: CANCELLED {why}")),
            _ if started.elapsed() > JOB_TIMEOUT => return Err(format!("{show} {label}: not finished in {} s", JOB_TIMEOUT.as_secs())),
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// The FE's query queue's refusals (upstream's texts).
fn is_queue_refusal(message: &str) -> bool {
    message.starts_with("query waiting queue is full") || message.starts_with("query queue timeout")
}

/// `SELECT COUNT(*)` of a table, asked again while the FE's query queue refuses it (the
/// clients keep the queue full; a script would retry too).
async fn count_rows(conn: &mut mysql_async::Conn, table: &str) -> Result<u64, String> {
    let started = Instant::now();
    loop {
        match conn.query::<u64, _>(format!("SELECT COUNT(*) FROM {DB}.{table}")).await {
            Ok(rows) => return Ok(rows.first().copied().unwrap_or(0)),
            Err(mysql_async::Error::Server(e))
                if is_queue_refusal(&e.message) && started.elapsed() < JOB_TIMEOUT =>
            {
                tokio::time::sleep(Duration::from_millis(200)).await
            }
            Err(e) => return Err(format!("count {table}: {e}")),
        }
    }
}

/// Back up and restore under a new name until `until`; each restored table must hold the
/// rows its backup had. The number of round trips.
async fn backup_restore_loop(t: Arc<Target>, until: Instant) -> Result<u64, String> {
    let mut conn = mysql_async::Conn::new(mysql_opts(&t)).await.map_err(|e| format!("connecting: {e}"))?;
    let mut done = 0u64;
    while Instant::now() < until {
        let label = format!("hold_{done}");
        // Loads run beside: the backup's rows are those of its snapshot, counted after.
        conn.query_drop(format!("BACKUP SNAPSHOT {DB}.{label} TO hold_repo ON (t)")).await.map_err(|e| format!("BACKUP: {e}"))?;
        wait_job(&mut conn, "SHOW BACKUP", &label).await?;
        let ts: Vec<mysql_async::Row> = conn
            .query(format!("SHOW SNAPSHOT ON hold_repo WHERE SNAPSHOT = \"{label}\""))
            .await
            .map_err(|e| format!("SHOW SNAPSHOT: {e}"))?;
        let ts: String = ts.first().and_then(|r| r.get("Timestamp")).ok_or(format!("{label} not listed by SHOW SNAPSHOT"))?;
        conn.query_drop(format!(
            "RESTORE SNAPSHOT {DB}.{label} FROM hold_repo ON (t AS r_{done}) \
             PROPERTIES (\"backup_timestamp\" = \"{ts}\", \"replication_num\" = \"1\")"
        ))
        .await
        .map_err(|e| format!("RESTORE: {e}"))?;
        wait_job(&mut conn, "SHOW RESTORE", &label).await?;
        if count_rows(&mut conn, &format!("r_{done}")).await? == 0 {
            return Err(format!("restored table r_{done} is empty"));
        }
        conn.query_drop(format!("DROP TABLE {DB}.r_{done}")).await.map_err(|e| format!("DROP TABLE: {e}"))?;
        done += 1;
    }
    Ok(done)
}

async fn load_loop(t: Arc<Target>, until: Instant) -> Result<u64, String> {
    let mut done = 0u64;
    while Instant::now() < until {
        let r = stream_load(&t, DB, "t", &format!("hold_load_{done}"), generate_csv(2_000)).await?;
        if r["Status"] != "Success" {
            return Err(format!("stream load {done}: {r}"));
        }
        done += 1;
    }
    Ok(done)
}
