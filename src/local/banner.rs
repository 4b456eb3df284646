//! What `doris-rs local` prints once the cluster is up.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use super::layout::{Layout, HOST};
use super::procs::Cluster;

pub(super) fn print_banner(layout: &Layout, cluster: &Cluster, dir: &str, log_dir: &Path) {
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
