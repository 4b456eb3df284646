//! `fe.conf`: Doris-style `key = value` lines with upstream key names.
//!
//! Unknown keys are warned about and ignored (a real fe.conf carries many keys we do not
//! use); a value that does not parse fails start-up naming its key.

use std::net::IpAddr;
use std::path::PathBuf;

use doris_conf::{at_least_one, bad, ConfValue};
pub use doris_conf::{ConfigError, Key};

doris_conf::config_keys! {
    #[derive(Clone)]
    pub struct FeConfig {
        /// thrift FrontendService port (BEs, CCR syncer); 0 = any free port
        rpc_port: u16 = "9020",
        /// MySQL protocol port; 0 = any free port
        query_port: u16 = "9030",
        /// HTTP port (/api/health); 0 = any free port
        http_port: u16 = "8030",
        /// directory of the metadata store
        meta_dir: PathBuf = "${DORIS_HOME}/doris-meta",
        /// CIDR list (';' separated) choosing the address we advertise
        priority_networks: String = "" [parse = networks],
        // None: generated on the first start and kept in the meta store.
        /// cluster id sent to BEs; empty = generated once and persisted
        cluster_id: Option<i32> = "" [parse = cluster_id],
        /// password of user root (MySQL and thrift RPCs)
        root_password: String = "" [secret],
        /// password of user admin
        admin_password: String = "" [secret],
        // Fractions are accepted: tests use them.
        /// seconds between heartbeats to each BE (fractions allowed)
        heartbeat_interval_second: f64 = "5" [parse = positive_seconds],
        // Agent tasks waiting on such a BE fail (a BACKUP/RESTORE in a cancellable state is
        // cancelled); SHOW BACKENDS notes it in ErrMsg.
        /// seconds a BE may be unreachable before tasks waiting on it fail
        max_backend_down_time_second: u64 = "3600",
        // Upstream's report diff: a task a BE's report no longer lists is sent again.
        /// ms after sending before a task missing from its BE's task report is resent
        agent_task_resend_wait_time_ms: u64 = "5000" [java = "long"],
        // Upstream's: a CREATE TABLE (or a restore's, or ADD PARTITION's) wait grows with
        // the replicas it makes, between the least and the most below.
        /// seconds a CREATE waits per replica it makes
        tablet_create_timeout_second: u64 = "2" [parse = at_least_one, java = "int"],
        /// least wait for BEs to create a table's tablets
        min_create_table_timeout_second: u64 = "30" [java = "int"],
        /// most wait for BEs to create a table's tablets
        max_create_table_timeout_second: u64 = "3600" [parse = at_least_one, java = "int"],
        /// default timeout of BACKUP/RESTORE jobs
        backup_job_default_timeout_ms: u64 = "86400000",
        /// lifetime of snapshots kept on BEs (__keep_on_local__)
        local_snapshot_ttl_second: u64 = "86400",
        /// jobs kept per database
        max_backup_restore_job_num_per_db: usize = "10" [java = "int"],
        // Upstream's FE memory guard.
        /// most tablets a BACKUP or RESTORE job may involve
        max_backup_tablets_per_job: usize = "300000" [java = "int"],
        // Upstream's table-level scheduler; off, jobs of one database run one at a time.
        /// queue and run BACKUP/RESTORE jobs of one database side by side unless they conflict
        enable_table_level_backup_concurrency: bool = "false",
        /// jobs running at once per database (table-level scheduler)
        max_backup_restore_concurrent_num_per_db: usize = "10" [parse = at_least_one, java = "int"],
        /// a job queued longer than this is cancelled (table-level scheduler)
        backup_pending_job_timeout_ms: u64 = "3600000",
        /// largest thrift message accepted, in bytes
        thrift_max_message_size: usize = "2147483647",
        // Upstream's switch for binlogs (CCR incremental sync); the CCR syncer refuses a
        // cluster whose FE or BEs have it off.
        /// keep binlogs of tables and databases whose binlog.enable is true (CCR)
        enable_feature_binlog: bool = "false",
        /// a new UNIQUE KEY table gets the hidden delete sign column (merge_type DELETE/MERGE loads)
        enable_batch_delete_by_default: bool = "true",
        /// a new UNIQUE KEY table gets the hidden version column
        enable_hidden_version_column_by_default: bool = "true",
        // Upstream's, for stream loads, INSERTs and DELETEs (all the loads we take): their
        // transactions, labels and SHOW LOAD entries are forgotten this long after they end.
        /// seconds a finished load's label, transaction and SHOW LOAD entry are kept
        streaming_label_keep_max_second: u64 = "43200" [java = "int"],
        /// seconds between sweeps of expired load labels
        label_clean_interval_second: u64 = "3600" [parse = at_least_one, java = "int"],
    }
}

impl FeConfig {
    /// How long a CREATE of `replicas` replicas waits for the BEs: per replica
    /// `tablet_create_timeout_second`, at least `min_create_table_timeout_second`, at most
    /// `max_create_table_timeout_second`, as upstream.
    pub fn create_timeout(&self, replicas: usize) -> std::time::Duration {
        let per = (replicas as u64).saturating_mul(self.tablet_create_timeout_second);
        let min = self.min_create_table_timeout_second.min(self.max_create_table_timeout_second);
        std::time::Duration::from_secs(per.clamp(min, self.max_create_table_timeout_second))
    }
}

/// The key table (`SHOW FRONTEND CONFIG` lists it too).
pub const KEYS: &[Key] = FeConfig::KEYS;

fn networks(key: &str, v: &str) -> Result<String, ConfigError> {
    for cidr in split_networks(v) {
        Cidr::parse(cidr).ok_or_else(|| bad(key, v, "expected CIDRs like 10.0.0.0/8;127.0.0.1/32"))?;
    }
    Ok(v.to_string())
}

fn cluster_id(key: &str, v: &str) -> Result<Option<i32>, ConfigError> {
    let id = Option::<i32>::parse_conf(key, v)?;
    if id.is_some_and(|id| id <= 0) {
        return Err(bad(key, v, "must be a positive 32-bit integer"));
    }
    Ok(id)
}

fn positive_seconds(key: &str, v: &str) -> Result<f64, ConfigError> {
    let s = f64::parse_conf(key, v)?;
    if !(s > 0.0 && s.is_finite()) {
        return Err(bad(key, v, "must be a positive number of seconds"));
    }
    Ok(s)
}

impl FeConfig {
    /// The key table for `doris-rs fe --help`.
    pub fn help() -> String {
        doris_conf::help("fe.conf", KEYS, 26)
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
    use std::path::Path;

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
    fn create_waits_grow_with_replicas_between_the_bounds() {
        let c = FeConfig::default();
        assert_eq!(c.create_timeout(3).as_secs(), 30, "at least min_create_table_timeout_second");
        assert_eq!(c.create_timeout(100).as_secs(), 200, "2 s per replica");
        assert_eq!(c.create_timeout(300_000).as_secs(), 3600, "at most max_create_table_timeout_second");
        let mut c = FeConfig::default();
        c.set("max_create_table_timeout_second", "10").unwrap();
        assert_eq!(c.create_timeout(3).as_secs(), 10, "a max below the min wins");
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

    #[test]
    fn help_lists_every_key_with_its_default_and_doc() {
        let help = FeConfig::help();
        assert_eq!(help.lines().count(), 1 + KEYS.len());
        assert!(help.starts_with("fe.conf keys (key = value):\n  rpc_port "), "{help}");
        let line = format!("  {:<36} default {:<26} {}\n", "meta_dir", "${DORIS_HOME}/doris-meta", "directory of the metadata store");
        assert!(help.contains(&line), "{help}");
        let secrets: Vec<_> = KEYS.iter().filter(|k| k.secret).map(|k| k.name).collect();
        assert_eq!(secrets, ["root_password", "admin_password"]);
    }
}
