//! `doris-rs local`: one FE and N BEs on this machine, each a separate process of this
//! same binary (`fe --conf` / `be --conf`), for a newcomer's first cluster.
//!
//! Layout under `--dir` (kept across restarts, so a second start finds its data again):
//!
//! ```text
//! <dir>/fe/conf/fe.conf   <dir>/fe/meta/            FE metadata
//! <dir>/be<i>/conf/be.conf <dir>/be<i>/storage/     BE i's data
//! <dir>/log/fe.log  <dir>/log/be<i>.log             each child's stdout and stderr (appended)
//! ```
//!
//! The conf files are written anew on every start (ports follow `--base-port`).
//!
//! Ports: upstream's defaults for the FE and for BE 0; BE i adds i to each of BE 0's, and
//! `--base-port N` adds N to every port:
//!
//! | process | ports (`--base-port 0`)                                            |
//! |---------|--------------------------------------------------------------------|
//! | FE      | query 9030, rpc 9020, http 8030                                    |
//! | BE i    | be_port 9060+i, heartbeat_service_port 9050+i, webserver_port 8040+i, brpc_port 8060+i |
//!
//! So up to 10 BEs (9050+10 would be BE 0's be_port). Two clusters run side by side when
//! their `--base-port`s differ by a multiple of 100 that is not a multiple of 1000 (e.g. 0
//! and 100): a difference of 1000 lands the FE's http port on the other's query port
//! (upstream's 8030 and 9030). Every port is checked before anything starts.

use std::fmt::Write as _;
use std::io::{Read, Seek, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use mysql_async::prelude::Queryable;
use tokio::process::{Child, Command};
use tokio::time::Instant;

/// BEs one `--base-port` can hold without two of them sharing a port.
const MAX_BES: u16 = 10;
/// How long stopping waits for the children after SIGTERM before SIGKILL. A BE lets its
/// running tasks finish for up to 30 s.
const STOP_GRACE: Duration = Duration::from_secs(40);
/// Lines of a child's log shown when it fails.
const LOG_TAIL_LINES: usize = 25;
/// Heartbeat period of the generated fe.conf: a BE shows Alive about a second after it starts.
const HEARTBEAT_INTERVAL_SECOND: &str = "1";
const HOST: &str = "127.0.0.1";

#[derive(clap::Args, Debug)]
pub struct LocalArgs {
    /// Number of BEs (1 to 10).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=MAX_BES as i64))]
    pub bes: u16,
    /// Directory of confs, FE meta, BE storage and logs; a restart with the same one keeps all data.
    #[arg(long, default_value = "./var")]
    pub dir: PathBuf,
    /// Added to every port (FE query 9030+N, rpc 9020+N, http 8030+N; BE i: be 9060+i+N,
    /// heartbeat 9050+i+N, http 8040+i+N, brpc 8060+i+N), to run clusters side by side.
    #[arg(long, default_value_t = 0)]
    pub base_port: u16,
    /// Seconds to wait for the FE to answer and for every BE to be Alive.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
    /// An fe.conf key for this cluster, e.g. `--fe-conf enable_table_level_backup_concurrency=true`
    /// (repeatable; checked before anything starts).
    #[arg(long = "fe-conf", value_name = "KEY=VALUE", value_parser = key_value)]
    pub fe_conf: Vec<(String, String)>,
    /// A be.conf key for every BE, e.g. `--be-conf download_parallelism=16` (repeatable).
    #[arg(long = "be-conf", value_name = "KEY=VALUE", value_parser = key_value)]
    pub be_conf: Vec<(String, String)>,
}

fn key_value(s: &str) -> Result<(String, String), String> {
    let (k, v) = s.split_once('=').ok_or_else(|| format!("expected KEY=VALUE, got '{s}'"))?;
    let k = k.trim();
    if k.is_empty() {
        return Err(format!("expected KEY=VALUE, got '{s}'"));
    }
    Ok((k.to_string(), v.trim().to_string()))
}

/// Keys `doris-rs local` writes itself: ports follow `--base-port`, paths `--dir`.
const FE_KEYS_OF_LOCAL: &[&str] = &["query_port", "rpc_port", "http_port", "meta_dir", "priority_networks"];
const BE_KEYS_OF_LOCAL: &[&str] =
    &["be_port", "heartbeat_service_port", "webserver_port", "brpc_port", "storage_root_path", "priority_networks"];

/// Refuse extra conf keys that `local` owns, that the service does not know, or whose value
/// it would refuse at start-up: the error names the flag, before any process starts.
fn check_extra_conf(
    flag: &str,
    extra: &[(String, String)],
    owned: &[&str],
    set: impl Fn(&str, &str) -> Result<bool, String>,
) -> Result<(), String> {
    for (k, v) in extra {
        if owned.contains(&k.as_str()) {
            return Err(format!("{flag} {k}: set by doris-rs local itself (use --base-port or --dir)"));
        }
        match set(k, v) {
            Ok(true) => {}
            Ok(false) => return Err(format!("{flag} {k}: not a key doris-rs reads")),
            Err(e) => return Err(format!("{flag} {k}={v}: {e}")),
        }
    }
    Ok(())
}

fn check_fe_conf(extra: &[(String, String)]) -> Result<(), String> {
    check_extra_conf("--fe-conf", extra, FE_KEYS_OF_LOCAL, |k, v| {
        doris_fe::config::FeConfig::default().set(k, v).map_err(|e| e.to_string())
    })
}

fn check_be_conf(extra: &[(String, String)]) -> Result<(), String> {
    check_extra_conf("--be-conf", extra, BE_KEYS_OF_LOCAL, |k, v| {
        doris_be::config::BeConfig::default().set(k, v).map_err(|e| e.to_string())
    })
}

/// The extra lines appended to a generated conf.
fn extra_lines(extra: &[(String, String)]) -> String {
    if extra.is_empty() {
        return String::new();
    }
    let mut out = String::from("# From the command line:\n");
    for (k, v) in extra {
        let _ = writeln!(out, "{k} = {v}");
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FePorts {
    query: u16,
    rpc: u16,
    http: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BePorts {
    be: u16,
    heartbeat: u16,
    http: u16,
    brpc: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Layout {
    fe: FePorts,
    bes: Vec<BePorts>,
}

impl Layout {
    fn new(base: u16, bes: u16) -> Result<Layout, String> {
        let port = |upstream: u32| -> Result<u16, String> {
            u16::try_from(upstream + u32::from(base))
                .map_err(|_| format!("--base-port {base} puts port {upstream} past 65535"))
        };
        let fe = FePorts { query: port(9030)?, rpc: port(9020)?, http: port(8030)? };
        let bes = (0..u32::from(bes))
            .map(|i| {
                Ok(BePorts {
                    be: port(9060 + i)?,
                    heartbeat: port(9050 + i)?,
                    http: port(8040 + i)?,
                    brpc: port(8060 + i)?,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Layout { fe, bes })
    }

    /// Every port a child binds, with the process and key that binds it. (brpc_port is
    /// only reported to the FE: nothing listens on it.)
    fn bound_ports(&self) -> Vec<(u16, String)> {
        let mut v = vec![
            (self.fe.query, "FE query_port".to_string()),
            (self.fe.rpc, "FE rpc_port".to_string()),
            (self.fe.http, "FE http_port".to_string()),
        ];
        for (i, b) in self.bes.iter().enumerate() {
            v.push((b.be, format!("BE {i} be_port")));
            v.push((b.heartbeat, format!("BE {i} heartbeat_service_port")));
            v.push((b.http, format!("BE {i} webserver_port")));
        }
        v
    }
}

/// Fail naming the first port someone else holds. Bound the way the children bind
/// (every interface), then released at once.
fn check_ports_free(layout: &Layout) -> Result<(), String> {
    for (port, role) in layout.bound_ports() {
        if let Err(e) = std::net::TcpListener::bind(("0.0.0.0", port)) {
            return Err(format!(
                "port {port} ({role}) is not free: {e}. Is another cluster running? Stop it, or pick another --base-port"
            ));
        }
    }
    Ok(())
}

fn fe_conf(layout: &Layout, meta: &Path) -> String {
    let f = layout.fe;
    format!(
        "# Written by `doris-rs local` on every start: edits are overwritten.\n\
         query_port = {}\nrpc_port = {}\nhttp_port = {}\nmeta_dir = {}\n\
         # Loopback only: this cluster is for this machine.\npriority_networks = 127.0.0.1/32\n\
         heartbeat_interval_second = {HEARTBEAT_INTERVAL_SECOND}\n",
        f.query,
        f.rpc,
        f.http,
        meta.display()
    )
}

fn be_conf(b: &BePorts, storage: &Path) -> String {
    format!(
        "# Written by `doris-rs local` on every start: edits are overwritten.\n\
         be_port = {}\nheartbeat_service_port = {}\nwebserver_port = {}\nbrpc_port = {}\n\
         storage_root_path = {}\n\
         # Loopback only: this cluster is for this machine.\npriority_networks = 127.0.0.1/32\n",
        b.be,
        b.heartbeat,
        b.http,
        b.brpc,
        storage.display()
    )
}

/// One child process.
struct Proc {
    /// "FE" or "BE i".
    role: String,
    child: Child,
    pid: u32,
    log: PathBuf,
    /// Shown to the user (relative to what they typed).
    log_shown: PathBuf,
}

impl Proc {
    /// The child's exit status if it has exited.
    fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    fn failure(&self, what: &str) -> String {
        format!("{} (pid {}) {what}\n{}", self.role, self.pid, log_tail(&self.log, &self.log_shown))
    }
}

/// The last lines of a log, framed for an error message.
fn log_tail(path: &Path, shown: &Path) -> String {
    const MAX_BYTES: u64 = 64 * 1024;
    let mut text = String::new();
    if let Ok(mut f) = std::fs::File::open(path) {
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let _ = f.seek(SeekFrom::Start(len.saturating_sub(MAX_BYTES)));
        let mut bytes = Vec::new();
        let _ = f.read_to_end(&mut bytes);
        text = String::from_utf8_lossy(&bytes).into_owned();
    }
    let lines: Vec<&str> = text.lines().collect();
    let tail = &lines[lines.len().saturating_sub(LOG_TAIL_LINES)..];
    let mut s = format!("--- last {} lines of {} ---\n", tail.len(), shown.display());
    for l in tail {
        let _ = writeln!(s, "{l}");
    }
    s.push_str("---");
    s
}

/// Start `<exe> <sub> --conf <conf>` in `home`, stdout and stderr appended to `log`, in
/// its own process group (a terminal's Ctrl-C reaches only us; we stop the children in
/// order), and told by the kernel to stop if we die without stopping it.
fn spawn(sub: &str, conf: &Path, home: &Path, log: &Path) -> std::io::Result<Child> {
    let exe = std::env::current_exe()?;
    let mut out = std::fs::OpenOptions::new().create(true).append(true).open(log)?;
    writeln!(out, "==== doris-rs local: starting `{sub} --conf {}`", conf.display())?;
    let err = out.try_clone()?;
    let mut cmd = Command::new(exe);
    cmd.arg(sub)
        .arg("--conf")
        .arg(conf)
        .current_dir(home)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        // Plain text in the log files (tracing colours its output otherwise). RUST_LOG,
        // like the rest of our environment, is inherited.
        .env("NO_COLOR", "1")
        .process_group(0);
    #[cfg(target_os = "linux")]
    {
        let parent = std::process::id();
        // SAFETY: between fork and exec only async-signal-safe calls (prctl, getppid), no
        // allocation. PR_SET_PDEATHSIG follows the thread that forks: we spawn from the
        // runtime's main or worker threads, which live as long as this command.
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::getppid() as u32 != parent {
                    // We died between fork and prctl.
                    return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
                }
                Ok(())
            });
        }
    }
    cmd.spawn()
}

fn sigterm(pid: u32) {
    // SAFETY: kill(2) on the pid of a child we have not reaped yet (so not reused).
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGTERM);
    }
}

/// The running children, in start order (FE first).
struct Cluster {
    procs: Vec<Proc>,
}

impl Cluster {
    /// SIGTERM to every child still running, wait up to STOP_GRACE (or until another
    /// signal), SIGKILL the rest.
    /// Returns what each one did, for the user.
    async fn stop(&mut self, signals: &mut Signals) -> Vec<String> {
        let mut notes = Vec::new();
        for p in &mut self.procs {
            if p.exited().is_none() {
                sigterm(p.pid);
            }
        }
        let deadline = Instant::now() + STOP_GRACE;
        // A second Ctrl-C (or SIGTERM) while waiting: SIGKILL whatever is left.
        let mut hurry = false;
        for p in &mut self.procs {
            let waited = if hurry {
                p.child.try_wait().transpose()
            } else {
                tokio::select! {
                    r = tokio::time::timeout_at(deadline, p.child.wait()) => r.ok(),
                    s = signals.recv() => {
                        eprintln!("doris-rs local: {s} again, killing what is still running");
                        hurry = true;
                        p.child.try_wait().transpose()
                    }
                }
            };
            match waited {
                Some(Ok(s)) if s.success() => notes.push(format!("{} (pid {}) stopped", p.role, p.pid)),
                Some(Ok(s)) => notes.push(format!("{} (pid {}) stopped: {s}", p.role, p.pid)),
                Some(Err(e)) => notes.push(format!("{} (pid {}): waiting for it failed: {e}", p.role, p.pid)),
                None => {
                    let _ = p.child.kill().await;
                    let why = if hurry {
                        "killed".to_string()
                    } else {
                        format!("did not stop within {} s: killed", STOP_GRACE.as_secs())
                    };
                    notes.push(format!("{} (pid {}) {why}", p.role, p.pid));
                }
            }
        }
        notes
    }

    /// A child that has exited, as an error with its log tail.
    fn check_alive(&mut self) -> Result<(), String> {
        for p in &mut self.procs {
            if let Some(status) = p.exited() {
                return Err(p.failure(&format!("exited during start-up with {status}")));
            }
        }
        Ok(())
    }

    /// Resolves when the first child exits: (index, status).
    async fn first_exit(&mut self) -> (usize, String) {
        let waits = self.procs.iter_mut().map(|p| Box::pin(p.child.wait()));
        let (r, i, _) = futures::future::select_all(waits).await;
        (i, r.map(|s| s.to_string()).unwrap_or_else(|e| format!("an error waiting for it ({e})")))
    }
}

/// A row of SHOW BACKENDS, the columns we read.
struct Backend {
    host: String,
    heartbeat_port: u16,
    alive: bool,
    err_msg: String,
}

fn mysql_opts(port: u16) -> mysql_async::Opts {
    mysql_async::OptsBuilder::default()
        .ip_or_hostname(HOST)
        .tcp_port(port)
        .user(Some("root"))
        // A loopback host makes the driver ask for @@socket and move to it: not here.
        .prefer_socket(false)
        // Given, so the driver does not SELECT them at connect time.
        .max_allowed_packet(Some(16 * 1024 * 1024))
        .wait_timeout(Some(28800))
        .stmt_cache_size(0)
        .into()
}

async fn show_backends(conn: &mut mysql_async::Conn) -> Result<Vec<Backend>, String> {
    let rows: Vec<mysql_async::Row> = conn.query("SHOW BACKENDS").await.map_err(|e| format!("SHOW BACKENDS: {e}"))?;
    let text = |r: &mysql_async::Row, col: &str| -> String {
        r.get_opt::<Option<String>, &str>(col).and_then(|v| v.ok()).flatten().unwrap_or_default()
    };
    Ok(rows
        .iter()
        .map(|r| Backend {
            host: text(r, "Host"),
            heartbeat_port: text(r, "HeartbeatPort").parse().unwrap_or(0),
            alive: text(r, "Alive").eq_ignore_ascii_case("true"),
            err_msg: text(r, "ErrMsg"),
        })
        .collect())
}

/// Poll the FE's MySQL port until root can log in.
async fn connect_fe(
    cluster: &mut Cluster,
    port: u16,
    deadline: Instant,
    timeout: u64,
) -> Result<mysql_async::Conn, String> {
    loop {
        cluster.check_alive()?;
        let attempt = tokio::time::timeout(Duration::from_secs(5), mysql_async::Conn::new(mysql_opts(port))).await;
        let last = match attempt {
            Ok(Ok(conn)) => return Ok(conn),
            Ok(Err(e)) => e.to_string(),
            Err(_) => "no answer within 5 s".to_string(),
        };
        if Instant::now() >= deadline {
            let fe = &cluster.procs[0];
            return Err(fe.failure(&format!(
                "does not accept MySQL logins on {HOST}:{port} after {timeout} s (last error: {last})"
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Register the BEs the FE does not know yet, then wait until all of ours are Alive.
async fn register_and_wait(
    cluster: &mut Cluster,
    conn: &mut mysql_async::Conn,
    layout: &Layout,
    deadline: Instant,
    timeout: u64,
) -> Result<(), String> {
    let known = show_backends(conn).await?;
    for (i, b) in layout.bes.iter().enumerate() {
        if known.iter().any(|k| k.host == HOST && k.heartbeat_port == b.heartbeat) {
            continue;
        }
        let sql = format!("ALTER SYSTEM ADD BACKEND \"{HOST}:{}\"", b.heartbeat);
        conn.query_drop(&sql).await.map_err(|e| format!("{sql}: {e}"))?;
        println!("  registered BE {i} ({HOST}:{})", b.heartbeat);
    }
    for k in &known {
        if !(k.host == HOST && layout.bes.iter().any(|b| b.heartbeat == k.heartbeat_port)) {
            println!(
                "  note: backend {}:{} is registered in this FE but not started by this run \
                 (another --base-port or --bes before?)",
                k.host, k.heartbeat_port
            );
        }
    }
    loop {
        cluster.check_alive()?;
        let shown = show_backends(conn).await?;
        let not_alive: Vec<(usize, String)> = layout
            .bes
            .iter()
            .enumerate()
            .filter_map(|(i, b)| {
                let row = shown.iter().find(|k| k.host == HOST && k.heartbeat_port == b.heartbeat);
                match row {
                    Some(k) if k.alive => None,
                    Some(k) => Some((i, k.err_msg.clone())),
                    None => Some((i, "not listed in SHOW BACKENDS".to_string())),
                }
            })
            .collect();
        if not_alive.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let mut msg = String::new();
            for (i, err) in &not_alive {
                let p = &cluster.procs[i + 1];
                let why = if err.is_empty() { String::new() } else { format!(" ({err})") };
                let _ =
                    writeln!(msg, "{}", p.failure(&format!("is not Alive in SHOW BACKENDS after {timeout} s{why}")));
            }
            return Err(msg.trim_end().to_string());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// SIGINT or SIGTERM, by name.
struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> Result<Signals, String> {
        use tokio::signal::unix::{signal, SignalKind};
        let err = |e: std::io::Error| format!("installing signal handlers: {e}");
        Ok(Signals {
            int: signal(SignalKind::interrupt()).map_err(err)?,
            term: signal(SignalKind::terminate()).map_err(err)?,
        })
    }

    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.int.recv() => "SIGINT",
            _ = self.term.recv() => "SIGTERM",
        }
    }
}

fn create_dir(p: &Path) -> Result<(), String> {
    std::fs::create_dir_all(p).map_err(|e| format!("cannot create {}: {e}", p.display()))
}

fn write_file(p: &Path, text: &str) -> Result<(), String> {
    std::fs::write(p, text).map_err(|e| format!("cannot write {}: {e}", p.display()))
}

pub async fn run(args: LocalArgs) -> Result<(), String> {
    check_fe_conf(&args.fe_conf)?;
    check_be_conf(&args.be_conf)?;
    let layout = Layout::new(args.base_port, args.bes)?;
    check_ports_free(&layout)?;

    // Children get absolute paths: each runs in its own directory.
    create_dir(&args.dir)?;
    let root = std::fs::canonicalize(&args.dir).map_err(|e| format!("{}: {e}", args.dir.display()))?;
    let shown_dir = args.dir.display().to_string();
    let log_dir = root.join("log");
    create_dir(&log_dir)?;
    let shown_log_dir = args.dir.join("log");

    struct Plan {
        role: String,
        sub: &'static str,
        home: PathBuf,
        conf: PathBuf,
        log: String,
    }
    let mut plans = Vec::new();
    let fe_home = root.join("fe");
    create_dir(&fe_home.join("conf"))?;
    create_dir(&fe_home.join("meta"))?;
    let fe_text = fe_conf(&layout, &fe_home.join("meta")) + &extra_lines(&args.fe_conf);
    write_file(&fe_home.join("conf/fe.conf"), &fe_text)?;
    plans.push(Plan {
        role: "FE".into(),
        sub: "fe",
        conf: fe_home.join("conf/fe.conf"),
        home: fe_home,
        log: "fe.log".into(),
    });
    for (i, b) in layout.bes.iter().enumerate() {
        let home = root.join(format!("be{i}"));
        create_dir(&home.join("conf"))?;
        create_dir(&home.join("storage"))?;
        let be_text = be_conf(b, &home.join("storage")) + &extra_lines(&args.be_conf);
        write_file(&home.join("conf/be.conf"), &be_text)?;
        plans.push(Plan {
            role: format!("BE {i}"),
            sub: "be",
            conf: home.join("conf/be.conf"),
            home,
            log: format!("be{i}.log"),
        });
    }

    // Handlers first: a Ctrl-C from here on stops whatever has started.
    let mut signals = Signals::new()?;
    let mut cluster = Cluster { procs: Vec::new() };
    let n = layout.bes.len();
    println!(
        "doris-rs local: starting 1 FE and {n} BE{} in {shown_dir} (logs in {}/)",
        if n == 1 { "" } else { "s" },
        shown_log_dir.display()
    );
    let _ = std::io::stdout().flush();

    let timeout = args.timeout;
    let start = async {
        for p in &plans {
            let log = log_dir.join(&p.log);
            let child = spawn(p.sub, &p.conf, &p.home, &log).map_err(|e| format!("cannot start {}: {e}", p.role))?;
            let pid = child.id().unwrap_or(0);
            cluster.procs.push(Proc { role: p.role.clone(), child, pid, log, log_shown: shown_log_dir.join(&p.log) });
        }
        let deadline = Instant::now() + Duration::from_secs(timeout);
        let mut conn = connect_fe(&mut cluster, layout.fe.query, deadline, timeout).await?;
        let r = register_and_wait(&mut cluster, &mut conn, &layout, deadline, timeout).await;
        let _ = conn.disconnect().await;
        r
    };
    enum Started {
        Up,
        Failed(String),
        Signal(&'static str),
    }
    let started = tokio::select! {
        r = start => match r { Ok(()) => Started::Up, Err(e) => Started::Failed(e) },
        s = signals.recv() => Started::Signal(s),
    };
    match started {
        Started::Up => {}
        Started::Failed(e) => {
            eprintln!("doris-rs local: start-up failed, stopping the cluster");
            for note in cluster.stop(&mut signals).await {
                eprintln!("  {note}");
            }
            return Err(e);
        }
        Started::Signal(s) => {
            println!("doris-rs local: {s} during start-up, stopping the cluster");
            for note in cluster.stop(&mut signals).await {
                println!("  {note}");
            }
            return Ok(());
        }
    }

    print_banner(&layout, &cluster, &shown_dir, &shown_log_dir);

    enum Ended {
        Signal(&'static str),
        Died(usize, String),
    }
    let ended = tokio::select! {
        s = signals.recv() => Ended::Signal(s),
        (i, status) = cluster.first_exit() => Ended::Died(i, status),
    };
    match ended {
        Ended::Signal(s) => {
            println!("doris-rs local: {s}, stopping the cluster");
            let _ = std::io::stdout().flush();
            for note in cluster.stop(&mut signals).await {
                println!("  {note}");
            }
            println!("doris-rs local: stopped; data kept in {shown_dir}");
            Ok(())
        }
        Ended::Died(i, status) => {
            let p = &cluster.procs[i];
            let msg = p.failure(&format!("exited unexpectedly with {status}"));
            let role = p.role.clone();
            eprintln!("doris-rs local: {msg}\ndoris-rs local: stopping the others");
            for note in cluster.stop(&mut signals).await {
                eprintln!("  {note}");
            }
            Err(format!("{role} exited unexpectedly; the cluster is stopped"))
        }
    }
}

fn print_banner(layout: &Layout, cluster: &Cluster, dir: &str, log_dir: &Path) {
    let n = layout.bes.len();
    let f = layout.fe;
    let mut s = format!("doris-rs local cluster is up (1 FE, {n} BE{}) in {dir}\n", if n == 1 { "" } else { "s" });
    let _ = writeln!(s, "  mysql:  mysql -h{HOST} -P{} -uroot", f.query);
    let _ = writeln!(
        s,
        "  FE:     query {HOST}:{}  rpc {HOST}:{}  http {HOST}:{}  pid {}",
        f.query, f.rpc, f.http, cluster.procs[0].pid
    );
    for (i, b) in layout.bes.iter().enumerate() {
        let _ = writeln!(
            s,
            "  {:<7} be {HOST}:{}  heartbeat {HOST}:{}  http {HOST}:{}  brpc {}  pid {}",
            format!("BE {i}:"),
            b.be,
            b.heartbeat,
            b.http,
            b.brpc,
            cluster.procs[i + 1].pid
        );
    }
    let _ = writeln!(s, "logs: {}/   Ctrl-C stops the cluster", log_dir.display());
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(s.as_bytes());
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_ports(l: &Layout) -> Vec<u16> {
        let mut v = vec![l.fe.query, l.fe.rpc, l.fe.http];
        for b in &l.bes {
            v.extend([b.be, b.heartbeat, b.http, b.brpc]);
        }
        v
    }

    #[test]
    fn extra_conf_keys_are_checked_before_anything_starts() {
        let fe = |extra: &[(&str, &str)]| {
            let extra: Vec<(String, String)> = extra.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            check_fe_conf(&extra)
        };
        fe(&[("enable_table_level_backup_concurrency", "true"), ("backup_pending_job_timeout_ms", "60000")]).unwrap();
        assert_eq!(fe(&[("rpc_port", "1")]).unwrap_err(), "--fe-conf rpc_port: set by doris-rs local itself (use --base-port or --dir)");
        assert_eq!(fe(&[("no_such_key", "1")]).unwrap_err(), "--fe-conf no_such_key: not a key doris-rs reads");
        let bad = fe(&[("enable_table_level_backup_concurrency", "maybe")]).unwrap_err();
        assert!(bad.starts_with("--fe-conf enable_table_level_backup_concurrency=maybe: "), "{bad}");
        assert_eq!(key_value("a = b ").unwrap(), ("a".to_string(), "b".to_string()));
        assert!(key_value("novalue").is_err() && key_value("=1").is_err());
        assert_eq!(extra_lines(&[("k".into(), "v".into())]), "# From the command line:\nk = v\n");
    }

    #[test]
    fn first_be_keeps_upstream_ports() {
        let l = Layout::new(0, 3).unwrap();
        assert_eq!(l.fe, FePorts { query: 9030, rpc: 9020, http: 8030 });
        assert_eq!(l.bes[0], BePorts { be: 9060, heartbeat: 9050, http: 8040, brpc: 8060 });
        assert_eq!(l.bes[2], BePorts { be: 9062, heartbeat: 9052, http: 8042, brpc: 8062 });
    }

    #[test]
    fn base_port_shifts_every_port() {
        let a = Layout::new(0, 2).unwrap();
        let b = Layout::new(1000, 2).unwrap();
        assert_eq!(b.fe.query, 10030);
        assert!(all_ports(&a).iter().zip(all_ports(&b)).all(|(x, y)| x + 1000 == y));
        assert!(Layout::new(60000, 1).unwrap_err().contains("65535"));
    }

    #[test]
    fn no_port_is_shared_within_a_cluster_or_with_a_neighbour_100_apart() {
        let mut seen = std::collections::BTreeSet::new();
        for base in [0, 100] {
            for p in all_ports(&Layout::new(base, MAX_BES).unwrap()) {
                assert!(seen.insert(p), "port {p} used twice");
            }
        }
    }
}
