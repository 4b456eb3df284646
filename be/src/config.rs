//! `be.conf`: Doris-style `key = value` lines with upstream key names.
//!
//! Unknown keys are warned about and ignored (a real be.conf carries many keys we do
//! not use); a value that does not parse fails start-up naming its key.

use std::path::PathBuf;

use doris_conf::{at_least_one, bad, ConfValue};
pub use doris_conf::{ConfigError, Key};

doris_conf::config_keys! {
    #[derive(Clone)]
    pub struct BeConfig {
        /// thrift BackendService port (agent tasks from the FE)
        be_port: u16 = "9060",
        /// thrift HeartbeatService port
        heartbeat_service_port: u16 = "9050",
        /// HTTP port: /api/_tablet/_download, /api/health, /metrics
        webserver_port: u16 = "8040",
        /// reported to the FE in heartbeats; nothing listens on it
        brpc_port: u16 = "8060",
        /// data roots separated by ';' (',medium:ssd' style suffixes are accepted and ignored)
        storage_root_paths: Vec<PathBuf> = "${DORIS_HOME}/storage" [key = "storage_root_path", parse = storage_roots],
        /// CIDR list used to pick the address reported to the FE
        priority_networks: String = "",
        /// snapshots older than this are removed by the sweeper
        snapshot_expire_time_sec: u64 = "172800" [cpp = "int32_t"],
        // A load's pending rowsets older than this are checked with the FE and dropped when dead.
        /// pending load rowsets older than this are dropped once the FE says their txn is dead
        pending_data_expire_time_sec: u64 = "1800" [cpp = "int32_t"],
        /// hours a load's error log (the rows it filtered, behind ErrorURL) is kept
        load_error_log_reserve_hours: u64 = "48" [cpp = "int32_t"],
        /// largest thrift message accepted, in bytes
        thrift_max_message_size: usize = "2147483647" [cpp = "int32_t"],
        /// seconds between task reports to the master FE
        report_task_interval_seconds: u64 = "10" [cpp = "int32_t"],
        /// seconds between tablet reports
        report_tablet_interval_seconds: u64 = "60" [cpp = "int32_t"],
        /// seconds between disk reports
        report_disk_state_interval_seconds: u64 = "60" [cpp = "int32_t"],
        /// seconds between cooldown passes: the cooldown replica uploads cold rowsets, the others follow its remote meta
        generate_cooldown_task_interval_sec: u64 = "20" [parse = at_least_one, cpp = "int32_t"],
        /// workers for CREATE tasks
        create_tablet_worker_count: usize = "3" [parse = at_least_one, cpp = "int32_t"],
        /// workers for DROP tasks
        drop_tablet_worker_count: usize = "3" [parse = at_least_one, cpp = "int32_t"],
        /// workers for MAKE_SNAPSHOT tasks
        make_snapshot_worker_count: usize = "5" [parse = at_least_one, cpp = "int32_t"],
        /// workers for RELEASE_SNAPSHOT tasks
        release_snapshot_worker_count: usize = "5" [parse = at_least_one, cpp = "int32_t"],
        /// workers for UPLOAD tasks
        upload_worker_count: usize = "1" [parse = at_least_one, cpp = "int32_t"],
        /// workers for DOWNLOAD tasks
        download_worker_count: usize = "3" [parse = at_least_one, cpp = "int32_t"],
        /// workers for PUBLISH_VERSION tasks
        publish_version_worker_count: usize = "8" [parse = at_least_one, cpp = "int32_t"],
        /// workers for REALTIME_PUSH tasks (a DELETE's predicate)
        push_worker_count_normal_priority: usize = "3" [parse = at_least_one, cpp = "int32_t"],
        /// workers for CLONE tasks (upstream's default)
        clone_worker_count: usize = "3" [parse = at_least_one, cpp = "int32_t"],
        /// workers for MOVE tasks
        move_dir_worker_count: usize = "3" [parse = at_least_one, cpp = "int32_t"],
        /// parallel file GETs per download task, across its tablets
        download_parallelism: usize = "8" [parse = at_least_one],
        /// retries per file, with backoff
        download_max_retries: u32 = "3",
        /// seconds a remote BE may stay silent (no answer, no bytes) before a pull attempt is given up; at least 3
        download_reply_timeout_sec: u64 = "15" [parse = reply_timeout],
        /// verify each pulled file's MD5 against the remote
        download_verify_md5: bool = "true",
        // Upstream's algorithm: sequential per tablet, HEAD per file.
        /// pull the way upstream does (sequential, HEAD per file); for comparison
        download_upstream_mode: bool = "false",
        /// free space a root keeps when pulling into it
        storage_min_left_capacity_bytes: u64 = "1073741824",
        // Upstream's flood stage: a root this full takes no new load data (both must hold).
        /// used percent of a root at which writes of load data are refused
        storage_flood_stage_usage_percent: u32 = "90" [cpp = "int32_t"],
        /// bytes left on a root at or below which writes of load data are refused
        storage_flood_stage_left_capacity_bytes: u64 = "1073741824" [cpp = "int64_t"],
        // Upstream's switch for binlogs (CCR incremental sync); the CCR syncer refuses a
        // cluster whose BEs have it off.
        /// keep the rowsets binlogs refer to and serve them to target BEs (CCR)
        enable_feature_binlog: bool = "false",
    }
}

/// The key table.
pub const KEYS: &[Key] = BeConfig::KEYS;

/// `/a;/b,medium:ssd`: roots separated by ';', each with an optional ',...' suffix we ignore.
fn storage_roots(key: &str, v: &str) -> Result<Vec<PathBuf>, ConfigError> {
    let roots: Vec<PathBuf> = v
        .split(';')
        .map(|s| s.split(',').next().unwrap_or("").trim())
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .collect();
    if roots.is_empty() {
        return Err(bad(key, v, "no path given"));
    }
    Ok(roots)
}

fn reply_timeout(key: &str, v: &str) -> Result<u64, ConfigError> {
    let secs = u64::parse_conf(key, v)?;
    // Our BEs send a keep-alive line every 2 s while they hash for a listing.
    if secs < 3 {
        return Err(bad(key, v, "must be at least 3 seconds"));
    }
    Ok(secs)
}

impl BeConfig {
    /// The key table for `doris-rs be --help`.
    pub fn help() -> String {
        doris_conf::help("be.conf", KEYS, 22)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn upstream_keys_parse_and_bad_values_name_their_key() {
        let c = BeConfig::parse_str(
            "# comment\nbe_port = 19060\nstorage_root_path = /a;/b,medium:ssd\nsome_upstream_key = x\n",
            Path::new("be.conf"),
        )
        .unwrap();
        assert_eq!(c.be_port, 19060);
        assert_eq!(c.heartbeat_service_port, 9050);
        assert_eq!(c.storage_root_paths, vec![PathBuf::from("/a"), PathBuf::from("/b")]);
        let e = BeConfig::parse_str("webserver_port = eighty\n", Path::new("be.conf")).unwrap_err();
        assert!(e.to_string().contains("webserver_port"), "{e}");
        let e = BeConfig::parse_str("download_worker_count = 0\n", Path::new("be.conf")).unwrap_err();
        assert!(e.to_string().contains("download_worker_count"), "{e}");
        assert_eq!(c.download_reply_timeout_sec, 15);
        let e = BeConfig::parse_str("download_reply_timeout_sec = 2\n", Path::new("be.conf")).unwrap_err();
        assert!(e.to_string().contains("download_reply_timeout_sec"), "{e}");
    }

    #[test]
    fn help_lists_every_key_with_its_default_and_doc() {
        let help = BeConfig::help();
        assert_eq!(help.lines().count(), 1 + KEYS.len());
        assert!(help.starts_with("be.conf keys (key = value):\n  be_port "), "{help}");
        let doc = "data roots separated by ';' (',medium:ssd' style suffixes are accepted and ignored)";
        let line = format!("  {:<36} default {:<22} {doc}\n", "storage_root_path", "${DORIS_HOME}/storage");
        assert!(help.contains(&line), "{help}");
        assert_eq!(BeConfig::default().download_reply_timeout_sec, 15);
    }
}
