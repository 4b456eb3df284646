//! `doris-rs local`'s arguments, and the `--fe-conf`/`--be-conf` keys checked against what
//! the FE and BE accept, before anything starts.

use std::fmt::Write as _;
use std::path::PathBuf;

use super::layout::MAX_BES;

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
    /// Keep the cluster running when a BE exits (to try loads and repair with a BE down);
    /// start it again with `doris-rs be --conf <dir>/be<i>/conf/be.conf`. Without it, any
    /// child's exit stops the cluster.
    #[arg(long)]
    pub keep_going: bool,
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

pub(super) fn check_fe_conf(extra: &[(String, String)]) -> Result<(), String> {
    check_extra_conf("--fe-conf", extra, FE_KEYS_OF_LOCAL, |k, v| {
        doris_fe::config::FeConfig::default().set(k, v).map_err(|e| e.to_string())
    })
}

pub(super) fn check_be_conf(extra: &[(String, String)]) -> Result<(), String> {
    check_extra_conf("--be-conf", extra, BE_KEYS_OF_LOCAL, |k, v| {
        doris_be::config::BeConfig::default().set(k, v).map_err(|e| e.to_string())
    })
}

/// The extra lines appended to a generated conf.
pub(super) fn extra_lines(extra: &[(String, String)]) -> String {
    if extra.is_empty() {
        return String::new();
    }
    let mut out = String::from("# From the command line:\n");
    for (k, v) in extra {
        let _ = writeln!(out, "{k} = {v}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
