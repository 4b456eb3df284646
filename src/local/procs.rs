//! The child processes: started from this same binary in their own process group, stopped
//! with SIGTERM then SIGKILL, watched for an early exit; and the signals that stop them.

use std::fmt::Write as _;
use std::io::{Read, Seek, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::process::{Child, Command};
use tokio::time::Instant;

/// How long stopping waits for the children after SIGTERM before SIGKILL. A BE lets its
/// running tasks finish for up to 30 s.
const STOP_GRACE: Duration = Duration::from_secs(40);
/// Lines of a child's log shown when it fails.
const LOG_TAIL_LINES: usize = 25;

/// One child process.
pub(super) struct Proc {
    /// "FE" or "BE i".
    pub(super) role: String,
    pub(super) child: Child,
    pub(super) pid: u32,
    pub(super) log: PathBuf,
    /// Shown to the user (relative to what they typed).
    pub(super) log_shown: PathBuf,
}

impl Proc {
    /// The child's exit status if it has exited.
    fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    pub(super) fn failure(&self, what: &str) -> String {
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
pub(super) fn spawn(sub: &str, conf: &Path, home: &Path, log: &Path) -> std::io::Result<Child> {
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
pub(super) struct Cluster {
    pub(super) procs: Vec<Proc>,
}

impl Cluster {
    /// SIGTERM to every child still running, wait up to STOP_GRACE (or until another
    /// signal), SIGKILL the rest.
    /// Returns what each one did, for the user.
    pub(super) async fn stop(&mut self, signals: &mut Signals) -> Vec<String> {
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
    pub(super) fn check_alive(&mut self) -> Result<(), String> {
        for p in &mut self.procs {
            if let Some(status) = p.exited() {
                return Err(p.failure(&format!("exited during start-up with {status}")));
            }
        }
        Ok(())
    }

    /// Resolves when the first child exits: (index, status).
    pub(super) async fn first_exit(&mut self) -> (usize, String) {
        let waits = self.procs.iter_mut().map(|p| Box::pin(p.child.wait()));
        let (r, i, _) = futures::future::select_all(waits).await;
        (i, r.map(|s| s.to_string()).unwrap_or_else(|e| format!("an error waiting for it ({e})")))
    }
}

/// SIGINT or SIGTERM, by name.
pub(super) struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

impl Signals {
    pub(super) fn new() -> Result<Signals, String> {
        use tokio::signal::unix::{signal, SignalKind};
        let err = |e: std::io::Error| format!("installing signal handlers: {e}");
        Ok(Signals {
            int: signal(SignalKind::interrupt()).map_err(err)?,
            term: signal(SignalKind::terminate()).map_err(err)?,
        })
    }

    pub(super) async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.int.recv() => "SIGINT",
            _ = self.term.recv() => "SIGTERM",
        }
    }
}
