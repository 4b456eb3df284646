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

mod args;
mod banner;
mod layout;
mod procs;
mod register;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::time::Instant;

pub use args::LocalArgs;
use args::{check_be_conf, check_fe_conf, extra_lines};
use banner::print_banner;
use layout::{be_conf, check_ports_free, fe_conf, Layout};
use procs::{spawn, Cluster, Proc, Signals};
use register::{connect_fe, register_and_wait};

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
    let ended = loop {
        let ended = tokio::select! {
            s = signals.recv() => Ended::Signal(s),
            (i, status) = cluster.first_exit() => Ended::Died(i, status),
        };
        match ended {
            Ended::Died(i, status) if args.keep_going && cluster.procs[i].role.starts_with("BE") => {
                let p = cluster.procs.remove(i);
                eprintln!("doris-rs local: {} (pid {}) exited with {status}; the others keep running (--keep-going)", p.role, p.pid);
            }
            ended => break ended,
        }
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

