//! `fe.conf`: Doris-style `key = value` lines with upstream key names.
//!
//! Unknown keys are warned about and ignored (a real fe.conf carries many keys we do not
//! use); a value that does not parse fails start-up naming its key.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use doris_conf::{apply_defaults, apply_lines, bad, help, parse, parse_bool, read};
pub use doris_conf::{ConfigError, Key};

#[derive(Clone)]
pub struct FeConfig {
    pub rpc_port: u16,
    pub query_port: u16,
    pub http_port: u16,
    pub meta_dir: PathBuf,
    pub priority_networks: String,
    /// None: generated on the first start and kept in the meta store.
    pub cluster_id: Option<i32>,
    pub root_password: String,
    pub admin_password: String,
    /// Seconds between heartbeats to each BE; fractions are accepted (tests use them).
    pub heartbeat_interval_second: f64,
    /// A BE not heard from for this long is reported with a note in ErrMsg.
    pub max_backend_down_time_second: u64,
    /// Upper bound on waiting for the BEs to create a table's tablets.
    pub max_create_table_timeout_second: u64,
    /// Default timeout of BACKUP / RESTORE jobs.
    pub backup_job_default_timeout_ms: u64,
    /// How long a snapshot kept on the BEs (`__keep_on_local__`) stays usable.
    pub local_snapshot_ttl_second: u64,
    pub max_backup_restore_job_num_per_db: usize,
    /// Upstream's table-level scheduler: jobs of one database run side by side unless
    /// they conflict (queued, shown in SHOW BACKUP/RESTORE) instead of one at a time.
    pub enable_table_level_backup_concurrency: bool,
    /// Running jobs per database under the table-level scheduler.
    pub max_backup_restore_concurrent_num_per_db: usize,
    /// A job queued longer than this is cancelled.
    pub backup_pending_job_timeout_ms: u64,
    /// Most tablets one backup or restore job may involve (upstream: FE memory guard).
    pub max_backup_tablets_per_job: usize,
    /// Largest thrift message accepted on rpc_port.
    pub thrift_max_message_size: usize,
}

impl std::fmt::Debug for FeConfig {
    // Passwords stay out of logs and panics.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeConfig")
            .field("rpc_port", &self.rpc_port)
            .field("query_port", &self.query_port)
            .field("http_port", &self.http_port)
            .field("meta_dir", &self.meta_dir)
            .field("priority_networks", &self.priority_networks)
            .field("cluster_id", &self.cluster_id)
            .field("heartbeat_interval_second", &self.heartbeat_interval_second)
            .finish_non_exhaustive()
    }
}

pub const KEYS: &[Key] = &[
    Key { name: "rpc_port", default: "9020", doc: "thrift FrontendService port (BEs, CCR syncer); 0 = any free port" },
    Key { name: "query_port", default: "9030", doc: "MySQL protocol port; 0 = any free port" },
    Key { name: "http_port", default: "8030", doc: "HTTP port (/api/health); 0 = any free port" },
    Key { name: "meta_dir", default: "${DORIS_HOME}/doris-meta", doc: "directory of the metadata store" },
    Key { name: "priority_networks", default: "", doc: "CIDR list (';' separated) choosing the address we advertise" },
    Key { name: "cluster_id", default: "", doc: "cluster id sent to BEs; empty = generated once and persisted" },
    Key { name: "root_password", default: "", doc: "password of user root (MySQL and thrift RPCs)" },
    Key { name: "admin_password", default: "", doc: "password of user admin" },
    Key {
        name: "heartbeat_interval_second",
        default: "5",
        doc: "seconds between heartbeats to each BE (fractions allowed)",
    },
    Key {
        name: "max_backend_down_time_second",
        default: "3600",
        doc: "a BE silent this long is flagged in SHOW BACKENDS",
    },
    Key {
        name: "max_create_table_timeout_second",
        default: "60",
        doc: "bound on waiting for BEs to create a table's tablets",
    },
    Key { name: "backup_job_default_timeout_ms", default: "86400000", doc: "default timeout of BACKUP/RESTORE jobs" },
    Key {
        name: "local_snapshot_ttl_second",
        default: "86400",
        doc: "lifetime of snapshots kept on BEs (__keep_on_local__)",
    },
    Key { name: "max_backup_restore_job_num_per_db", default: "10", doc: "jobs kept per database" },
    Key {
        name: "max_backup_tablets_per_job",
        default: "300000",
        doc: "most tablets a BACKUP or RESTORE job may involve",
    },
    Key {
        name: "enable_table_level_backup_concurrency",
        default: "false",
        doc: "queue and run BACKUP/RESTORE jobs of one database side by side unless they conflict",
    },
    Key {
        name: "max_backup_restore_concurrent_num_per_db",
        default: "10",
        doc: "jobs running at once per database (table-level scheduler)",
    },
    Key {
        name: "backup_pending_job_timeout_ms",
        default: "3600000",
        doc: "a job queued longer than this is cancelled (table-level scheduler)",
    },
    Key { name: "thrift_max_message_size", default: "2147483647", doc: "largest thrift message accepted, in bytes" },
];

impl Default for FeConfig {
    fn default() -> Self {
        let mut c = FeConfig {
            rpc_port: 0,
            query_port: 0,
            http_port: 0,
            meta_dir: PathBuf::new(),
            priority_networks: String::new(),
            cluster_id: None,
            root_password: String::new(),
            admin_password: String::new(),
            heartbeat_interval_second: 0.0,
            max_backend_down_time_second: 0,
            max_create_table_timeout_second: 0,
            backup_job_default_timeout_ms: 0,
            local_snapshot_ttl_second: 0,
            max_backup_restore_job_num_per_db: 0,
            max_backup_tablets_per_job: 0,
            enable_table_level_backup_concurrency: false,
            max_backup_restore_concurrent_num_per_db: 0,
            backup_pending_job_timeout_ms: 0,
            thrift_max_message_size: 0,
        };
        apply_defaults(KEYS, |k, v| c.set(k, v));
        c
    }
}

impl FeConfig {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        Self::parse_str(&read(path)?, path)
    }

    pub fn parse_str(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let mut c = FeConfig::default();
        apply_lines(text, path, |k, v| c.set(k, v))?;
        Ok(c)
    }

    /// Set one key; Ok(false) when the key is not ours.
    pub fn set(&mut self, key: &str, v: &str) -> Result<bool, ConfigError> {
        match key {
            "rpc_port" => self.rpc_port = parse(key, v)?,
            "query_port" => self.query_port = parse(key, v)?,
            "http_port" => self.http_port = parse(key, v)?,
            "meta_dir" => {
                if v.is_empty() {
                    return Err(bad(key, v, "no path given"));
                }
                self.meta_dir = PathBuf::from(v)
            }
            "priority_networks" => {
                for cidr in split_networks(v) {
                    Cidr::parse(cidr).ok_or_else(|| bad(key, v, "expected CIDRs like 10.0.0.0/8;127.0.0.1/32"))?;
                }
                self.priority_networks = v.to_string()
            }
            "cluster_id" => {
                self.cluster_id = if v.is_empty() {
                    None
                } else {
                    let id: i32 = parse(key, v)?;
                    if id <= 0 {
                        return Err(bad(key, v, "must be a positive 32-bit integer"));
                    }
                    Some(id)
                }
            }
            "root_password" => self.root_password = v.to_string(),
            "admin_password" => self.admin_password = v.to_string(),
            "heartbeat_interval_second" => {
                let s: f64 = parse(key, v)?;
                if !(s > 0.0 && s.is_finite()) {
                    return Err(bad(key, v, "must be a positive number of seconds"));
                }
                self.heartbeat_interval_second = s
            }
            "max_backend_down_time_second" => self.max_backend_down_time_second = parse(key, v)?,
            "max_create_table_timeout_second" => {
                self.max_create_table_timeout_second = parse(key, v)?;
                if self.max_create_table_timeout_second == 0 {
                    return Err(bad(key, v, "must be at least 1"));
                }
            }
            "backup_job_default_timeout_ms" => self.backup_job_default_timeout_ms = parse(key, v)?,
            "local_snapshot_ttl_second" => self.local_snapshot_ttl_second = parse(key, v)?,
            "max_backup_restore_job_num_per_db" => self.max_backup_restore_job_num_per_db = parse(key, v)?,
            "max_backup_tablets_per_job" => self.max_backup_tablets_per_job = parse(key, v)?,
            "enable_table_level_backup_concurrency" => {
                self.enable_table_level_backup_concurrency = parse_bool(key, v)?
            }
            "max_backup_restore_concurrent_num_per_db" => {
                self.max_backup_restore_concurrent_num_per_db = parse(key, v)?;
                if self.max_backup_restore_concurrent_num_per_db == 0 {
                    return Err(bad(key, v, "must be at least 1"));
                }
            }
            "backup_pending_job_timeout_ms" => self.backup_pending_job_timeout_ms = parse(key, v)?,
            "thrift_max_message_size" => self.thrift_max_message_size = parse(key, v)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The key table for `doris-rs fe --help`.
    pub fn help() -> String {
        help("fe.conf", KEYS, 26)
    }

    /// The address we advertise to BEs and clients: the first candidate local address
    /// inside `priority_networks`, else the address of the default route, else loopback.
    pub fn advertised_host(&self) -> String {
        let mut candidates: Vec<IpAddr> = Vec::new();
        if let Some(ip) = default_route_ip() {
            candidates.push(ip);
        }
        candidates.push(IpAddr::from([127, 0, 0, 1]));
        let nets: Vec<Cidr> = split_networks(&self.priority_networks).filter_map(Cidr::parse).collect();
        if nets.is_empty() {
            return candidates[0].to_string();
        }
        for net in &nets {
            if let Some(ip) = candidates.iter().find(|ip| net.contains(**ip)) {
                return ip.to_string();
            }
        }
        // A network naming one exact address we could not discover: trust it.
        nets.iter().find(|n| n.exact()).map(|n| n.addr.to_string()).unwrap_or_else(|| candidates[0].to_string())
    }
}

fn split_networks(v: &str) -> impl Iterator<Item = &str> {
    v.split([';', ',']).map(str::trim).filter(|s| !s.is_empty())
}

/// The local address the kernel would use to reach the outside; no packet is sent.
fn default_route_ip() -> Option<IpAddr> {
    let s = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    s.connect("10.254.254.254:1").ok()?;
    let ip = s.local_addr().ok()?.ip();
    (!ip.is_unspecified()).then_some(ip)
}

#[derive(Debug, Clone, Copy)]
struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    fn parse(s: &str) -> Option<Cidr> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.trim().parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p.trim().parse::<u8>().ok().filter(|p| *p <= max)?,
            None => max,
        };
        Some(Cidr { addr, prefix })
    }

    fn exact(&self) -> bool {
        self.prefix == if self.addr.is_ipv4() { 32 } else { 128 }
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(i)) => {
                let mask = if self.prefix == 0 { 0 } else { u32::MAX << (32 - self.prefix as u32) };
                u32::from(n) & mask == u32::from(i) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(i)) => {
                let mask = if self.prefix == 0 { 0 } else { u128::MAX << (128 - self.prefix as u32) };
                u128::from(n) & mask == u128::from(i) & mask
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_keys_parse_and_bad_values_name_their_key() {
        let c = FeConfig::parse_str(
            "# comment\nrpc_port = 19020\nmeta_dir = /tmp/m\nsys_log_level = INFO\nheartbeat_interval_second = 0.2\n",
            Path::new("fe.conf"),
        )
        .unwrap();
        assert_eq!(c.rpc_port, 19020);
        assert_eq!(c.query_port, 9030);
        assert_eq!(c.http_port, 8030);
        assert_eq!(c.meta_dir, PathBuf::from("/tmp/m"));
        assert_eq!(c.cluster_id, None);
        assert_eq!(c.heartbeat_interval_second, 0.2);
        let e = FeConfig::parse_str("query_port = ninety\n", Path::new("fe.conf")).unwrap_err();
        assert!(e.to_string().contains("query_port"), "{e}");
        let e = FeConfig::parse_str("cluster_id = -3\n", Path::new("fe.conf")).unwrap_err();
        assert!(e.to_string().contains("cluster_id"), "{e}");
        let e = FeConfig::parse_str("priority_networks = 10.0.0.0/99\n", Path::new("fe.conf")).unwrap_err();
        assert!(e.to_string().contains("priority_networks"), "{e}");
        let e = FeConfig::parse_str("just words\n", Path::new("fe.conf")).unwrap_err();
        assert!(matches!(e, ConfigError::Syntax { line: 1, .. }), "{e}");
    }

    #[test]
    fn priority_networks_pick_loopback_when_asked() {
        let mut c = FeConfig::default();
        c.set("priority_networks", "127.0.0.0/8").unwrap();
        assert_eq!(c.advertised_host(), "127.0.0.1");
    }

    #[test]
    fn passwords_stay_out_of_debug_output() {
        let mut c = FeConfig::default();
        c.set("root_password", "s3cret").unwrap();
        assert!(!format!("{c:?}").contains("s3cret"));
    }
}
