//! `be.conf`: Doris-style `key = value` lines with upstream key names.
//!
//! Unknown keys are warned about and ignored (a real be.conf carries many keys we do
//! not use); a value that does not parse fails start-up naming its key.

use std::path::{Path, PathBuf};

use doris_conf::{apply_defaults, apply_lines, help, parse, parse_bool, read};
pub use doris_conf::{ConfigError, Key};

#[derive(Debug, Clone)]
pub struct BeConfig {
    pub be_port: u16,
    pub heartbeat_service_port: u16,
    pub webserver_port: u16,
    pub brpc_port: u16,
    pub storage_root_paths: Vec<PathBuf>,
    pub priority_networks: String,
    pub snapshot_expire_time_sec: u64,
    /// A load's pending rowsets older than this are checked with the FE and dropped when dead.
    pub pending_data_expire_time_sec: u64,
    pub thrift_max_message_size: usize,
    pub report_task_interval_seconds: u64,
    pub report_tablet_interval_seconds: u64,
    pub report_disk_state_interval_seconds: u64,
    /// Seconds between cooldown passes (upload cold rowsets, follow the cooldown replica).
    pub generate_cooldown_task_interval_sec: u64,
    pub create_tablet_worker_count: usize,
    pub drop_tablet_worker_count: usize,
    pub make_snapshot_worker_count: usize,
    pub release_snapshot_worker_count: usize,
    pub upload_worker_count: usize,
    pub download_worker_count: usize,
    pub publish_version_worker_count: usize,
    pub move_dir_worker_count: usize,
    /// Parallel GETs of the snapshot pull engine, per download task (across its tablets).
    pub download_parallelism: usize,
    pub download_max_retries: u32,
    /// Seconds a remote BE may stay silent on a pull request before the attempt is given up.
    pub download_reply_timeout_sec: u64,
    /// Check every pulled file's MD5 against the remote's.
    pub download_verify_md5: bool,
    /// Force the upstream algorithm (sequential per tablet, HEAD per file); for comparison.
    pub download_upstream_mode: bool,
    /// Keep this much space free on a root when pulling files into it.
    pub storage_min_left_capacity_bytes: u64,
}

pub const KEYS: &[Key] = &[
    Key { name: "be_port", default: "9060", doc: "thrift BackendService port (agent tasks from the FE)" },
    Key { name: "heartbeat_service_port", default: "9050", doc: "thrift HeartbeatService port" },
    Key { name: "webserver_port", default: "8040", doc: "HTTP port: /api/_tablet/_download, /api/health, /metrics" },
    Key { name: "brpc_port", default: "8060", doc: "reported to the FE in heartbeats; nothing listens on it" },
    Key { name: "storage_root_path", default: "${DORIS_HOME}/storage", doc: "data roots separated by ';' (',medium:ssd' style suffixes are accepted and ignored)" },
    Key { name: "priority_networks", default: "", doc: "CIDR list used to pick the address reported to the FE" },
    Key { name: "snapshot_expire_time_sec", default: "172800", doc: "snapshots older than this are removed by the sweeper" },
    Key { name: "pending_data_expire_time_sec", default: "1800", doc: "pending load rowsets older than this are dropped once the FE says their txn is dead" },
    Key { name: "thrift_max_message_size", default: "2147483647", doc: "largest thrift message accepted, in bytes" },
    Key { name: "report_task_interval_seconds", default: "10", doc: "seconds between task reports to the master FE" },
    Key { name: "report_tablet_interval_seconds", default: "60", doc: "seconds between tablet reports" },
    Key { name: "report_disk_state_interval_seconds", default: "60", doc: "seconds between disk reports" },
    Key {
        name: "generate_cooldown_task_interval_sec",
        default: "20",
        doc: "seconds between cooldown passes: the cooldown replica uploads cold rowsets, the others follow its remote meta",
    },
    Key { name: "create_tablet_worker_count", default: "3", doc: "workers for CREATE tasks" },
    Key { name: "drop_tablet_worker_count", default: "3", doc: "workers for DROP tasks" },
    Key { name: "make_snapshot_worker_count", default: "5", doc: "workers for MAKE_SNAPSHOT tasks" },
    Key { name: "release_snapshot_worker_count", default: "5", doc: "workers for RELEASE_SNAPSHOT tasks" },
    Key { name: "upload_worker_count", default: "1", doc: "workers for UPLOAD tasks" },
    Key { name: "download_worker_count", default: "3", doc: "workers for DOWNLOAD tasks" },
    Key { name: "publish_version_worker_count", default: "8", doc: "workers for PUBLISH_VERSION tasks" },
    Key { name: "move_dir_worker_count", default: "3", doc: "workers for MOVE tasks" },
    Key { name: "download_parallelism", default: "8", doc: "parallel file GETs per download task, across its tablets" },
    Key { name: "download_max_retries", default: "3", doc: "retries per file, with backoff" },
    Key { name: "download_reply_timeout_sec", default: "15", doc: "seconds a remote BE may stay silent (no answer, no bytes) before a pull attempt is given up; at least 3" },
    Key { name: "download_verify_md5", default: "true", doc: "verify each pulled file's MD5 against the remote" },
    Key { name: "download_upstream_mode", default: "false", doc: "pull the way upstream does (sequential, HEAD per file); for comparison" },
    Key { name: "storage_min_left_capacity_bytes", default: "1073741824", doc: "free space a root keeps when pulling into it" },
];

impl Default for BeConfig {
    fn default() -> Self {
        let mut c = BeConfig {
            be_port: 0,
            heartbeat_service_port: 0,
            webserver_port: 0,
            brpc_port: 0,
            storage_root_paths: Vec::new(),
            priority_networks: String::new(),
            snapshot_expire_time_sec: 0,
            pending_data_expire_time_sec: 0,
            thrift_max_message_size: 0,
            report_task_interval_seconds: 0,
            report_tablet_interval_seconds: 0,
            report_disk_state_interval_seconds: 0,
            generate_cooldown_task_interval_sec: 0,
            create_tablet_worker_count: 0,
            drop_tablet_worker_count: 0,
            make_snapshot_worker_count: 0,
            release_snapshot_worker_count: 0,
            upload_worker_count: 0,
            download_worker_count: 0,
            publish_version_worker_count: 0,
            move_dir_worker_count: 0,
            download_parallelism: 0,
            download_max_retries: 0,
            download_reply_timeout_sec: 0,
            download_verify_md5: false,
            download_upstream_mode: false,
            storage_min_left_capacity_bytes: 0,
        };
        apply_defaults(KEYS, |k, v| c.set(k, v));
        c
    }
}

impl BeConfig {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        Self::parse_str(&read(path)?, path)
    }

    pub fn parse_str(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let mut c = BeConfig::default();
        apply_lines(text, path, |k, v| c.set(k, v))?;
        Ok(c)
    }

    /// Set one key; Ok(false) when the key is not ours.
    pub fn set(&mut self, key: &str, v: &str) -> Result<bool, ConfigError> {
        match key {
            "be_port" => self.be_port = parse(key, v)?,
            "heartbeat_service_port" => self.heartbeat_service_port = parse(key, v)?,
            "webserver_port" => self.webserver_port = parse(key, v)?,
            "brpc_port" => self.brpc_port = parse(key, v)?,
            "storage_root_path" => {
                let roots: Vec<PathBuf> = v
                    .split(';')
                    .map(|s| s.split(',').next().unwrap_or("").trim())
                    .filter(|s| !s.is_empty())
                    .map(PathBuf::from)
                    .collect();
                if roots.is_empty() {
                    return Err(ConfigError::Value { key: key.into(), value: v.into(), why: "no path given".into() });
                }
                self.storage_root_paths = roots;
            }
            "priority_networks" => self.priority_networks = v.to_string(),
            "snapshot_expire_time_sec" => self.snapshot_expire_time_sec = parse(key, v)?,
            "pending_data_expire_time_sec" => self.pending_data_expire_time_sec = parse(key, v)?,
            "thrift_max_message_size" => self.thrift_max_message_size = parse(key, v)?,
            "report_task_interval_seconds" => self.report_task_interval_seconds = parse(key, v)?,
            "report_tablet_interval_seconds" => self.report_tablet_interval_seconds = parse(key, v)?,
            "report_disk_state_interval_seconds" => self.report_disk_state_interval_seconds = parse(key, v)?,
            "generate_cooldown_task_interval_sec" => {
                self.generate_cooldown_task_interval_sec = parse(key, v)?;
                if self.generate_cooldown_task_interval_sec == 0 {
                    return Err(doris_conf::bad(key, v, "must be at least 1"));
                }
            }
            "create_tablet_worker_count" => self.create_tablet_worker_count = parse(key, v)?,
            "drop_tablet_worker_count" => self.drop_tablet_worker_count = parse(key, v)?,
            "make_snapshot_worker_count" => self.make_snapshot_worker_count = parse(key, v)?,
            "release_snapshot_worker_count" => self.release_snapshot_worker_count = parse(key, v)?,
            "upload_worker_count" => self.upload_worker_count = parse(key, v)?,
            "download_worker_count" => self.download_worker_count = parse(key, v)?,
            "publish_version_worker_count" => self.publish_version_worker_count = parse(key, v)?,
            "move_dir_worker_count" => self.move_dir_worker_count = parse(key, v)?,
            "download_parallelism" => self.download_parallelism = parse(key, v)?,
            "download_max_retries" => self.download_max_retries = parse(key, v)?,
            "download_reply_timeout_sec" => {
                let secs: u64 = parse(key, v)?;
                // Our BEs send a keep-alive line every 2 s while they hash for a listing.
                if secs < 3 {
                    return Err(ConfigError::Value { key: key.into(), value: v.into(), why: "must be at least 3 seconds".into() });
                }
                self.download_reply_timeout_sec = secs
            }
            "download_verify_md5" => self.download_verify_md5 = parse_bool(key, v)?,
            "download_upstream_mode" => self.download_upstream_mode = parse_bool(key, v)?,
            "storage_min_left_capacity_bytes" => self.storage_min_left_capacity_bytes = parse(key, v)?,
            _ => return Ok(false),
        }
        if (key.ends_with("_worker_count") || key == "download_parallelism") && v.trim() == "0" {
            return Err(ConfigError::Value { key: key.into(), value: v.into(), why: "must be at least 1".into() });
        }
        Ok(true)
    }

    /// The key table for `doris-rs be --help`.
    pub fn help() -> String {
        help("be.conf", KEYS, 22)
    }
}

#[cfg(test)]
mod tests {
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
}
