//! The backends this FE manages: identity and ports (persisted), liveness and capacity
//! (learnt from heartbeats and reports).

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

use crate::persist::{Kind, MetaError, MetaStore};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Disk {
    pub root_path: String,
    pub total: i64,
    pub data_used: i64,
    pub available: i64,
    pub trash_used: i64,
    pub remote_used: i64,
    pub used: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Backend {
    pub id: i64,
    pub host: String,
    pub heartbeat_port: u16,
    pub be_port: i32,
    pub http_port: i32,
    pub brpc_port: i32,
    pub arrow_flight_sql_port: i32,
    pub alive: bool,
    pub decommissioned: bool,
    /// BE start time as it reports it (ms).
    pub last_start_time_ms: i64,
    /// Last successful heartbeat (ms).
    pub last_update_ms: i64,
    pub version: String,
    pub node_role: String,
    pub err_msg: String,
    pub heartbeat_failure_counter: u32,
    pub cpu_cores: i32,
    pub memory: i64,
    pub disks: BTreeMap<String, Disk>,
    /// When this FE last knew the BE to answer (ms): its last good heartbeat, or this FE's
    /// start for one that was alive when the FE last stopped. In memory only; what
    /// `max_backend_down_time_second` is measured from.
    #[serde(skip)]
    pub seen_alive_ms: i64,
}

impl Backend {
    pub(crate) fn new(id: i64, host: String, heartbeat_port: u16) -> Self {
        Backend {
            id,
            host,
            heartbeat_port,
            be_port: -1,
            http_port: -1,
            brpc_port: -1,
            arrow_flight_sql_port: -1,
            alive: false,
            decommissioned: false,
            last_start_time_ms: 0,
            last_update_ms: 0,
            version: String::new(),
            node_role: String::new(),
            err_msg: String::new(),
            heartbeat_failure_counter: 0,
            cpu_cores: 0,
            memory: 0,
            disks: BTreeMap::new(),
            seen_alive_ms: 0,
        }
    }

    /// How long the BE has been unreachable (ms), None while it answers heartbeats.
    pub fn down_for_ms(&self, now_ms: i64) -> Option<i64> {
        (!self.alive).then(|| now_ms.saturating_sub(self.seen_alive_ms).max(0))
    }

    pub fn heartbeat_addr(&self) -> String {
        host_port(&self.host, self.heartbeat_port as i32)
    }

    /// The thrift BackendService address; None until a heartbeat told us be_port.
    pub fn be_addr(&self) -> Option<String> {
        (self.be_port > 0).then(|| host_port(&self.host, self.be_port))
    }

    pub fn total_capacity(&self) -> i64 {
        self.disks.values().filter(|d| d.used).map(|d| d.total).sum()
    }

    pub fn available_capacity(&self) -> i64 {
        self.disks.values().filter(|d| d.used).map(|d| d.available).sum()
    }

    pub fn data_used_capacity(&self) -> i64 {
        self.disks.values().filter(|d| d.used).map(|d| d.data_used).sum()
    }

    pub fn trash_used_capacity(&self) -> i64 {
        self.disks.values().filter(|d| d.used).map(|d| d.trash_used).sum()
    }

    pub fn remote_used_capacity(&self) -> i64 {
        self.disks.values().filter(|d| d.used).map(|d| d.remote_used).sum()
    }

    pub fn max_disk_used_pct(&self) -> f64 {
        self.disks
            .values()
            .filter(|d| d.used && d.total > 0)
            .map(|d| (d.total - d.available) as f64 / d.total as f64)
            .fold(0.0, f64::max)
    }
}

pub fn host_port(host: &str, port: i32) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SystemError {
    #[error("Invalid host port format: {0}")]
    BadAddress(String),
    #[error("Same backend already exists[{0}]")]
    BackendExists(String),
    #[error("backend does not exists[{0}]")]
    UnknownBackend(String),
    #[error(transparent)]
    Meta(#[from] MetaError),
}

/// Parse `"host:port"` (`[v6]:port` too).
pub fn parse_host_port(s: &str) -> Result<(String, u16), SystemError> {
    let bad = || SystemError::BadAddress(s.to_string());
    let s = s.trim();
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, p) = rest.split_once("]:").ok_or_else(bad)?;
        (h.to_string(), p)
    } else {
        let (h, p) = s.rsplit_once(':').ok_or_else(bad)?;
        (h.to_string(), p)
    };
    let port: u16 = port.parse().map_err(|_| bad())?;
    if host.is_empty() || port == 0 {
        return Err(bad());
    }
    Ok((host, port))
}

pub struct Backends {
    store: Arc<MetaStore>,
    map: RwLock<BTreeMap<i64, Backend>>,
}

impl Backends {
    pub fn load(store: Arc<MetaStore>) -> Result<Self, MetaError> {
        let mut map = BTreeMap::new();
        let now = crate::context::FeContext::now_ms();
        for (id, mut b) in store.load_all::<Backend>(Kind::Backend)? {
            // A BE stored dead went down after its stored last heartbeat (the record is
            // written when it goes down); one stored alive may have answered until this
            // FE stopped, so it gets the full bound from now.
            b.seen_alive_ms = if b.alive || b.last_update_ms <= 0 { now } else { b.last_update_ms };
            // Liveness is re-learnt from heartbeats after a restart.
            b.alive = false;
            b.err_msg = String::new();
            map.insert(id, b);
        }
        Ok(Backends { store, map: RwLock::new(map) })
    }

    pub fn add(&self, host: &str, heartbeat_port: u16) -> Result<Backend, SystemError> {
        let mut map = self.map.write().unwrap();
        if map.values().any(|b| b.host == host && b.heartbeat_port == heartbeat_port) {
            return Err(SystemError::BackendExists(host_port(host, heartbeat_port as i32)));
        }
        let mut b = Backend::new(self.store.next_id()?, host.to_string(), heartbeat_port);
        // Down time counts from when it was added.
        b.seen_alive_ms = crate::context::FeContext::now_ms();
        self.store.put(Kind::Backend, b.id, &b)?;
        map.insert(b.id, b.clone());
        Ok(b)
    }

    pub fn drop(&self, host: &str, heartbeat_port: u16) -> Result<Backend, SystemError> {
        let mut map = self.map.write().unwrap();
        let id = map
            .values()
            .find(|b| b.host == host && b.heartbeat_port == heartbeat_port)
            .map(|b| b.id)
            .ok_or_else(|| SystemError::UnknownBackend(host_port(host, heartbeat_port as i32)))?;
        self.store.delete(Kind::Backend, id)?;
        Ok(map.remove(&id).expect("present"))
    }

    pub fn all(&self) -> Vec<Backend> {
        self.map.read().unwrap().values().cloned().collect()
    }

    pub fn get(&self, id: i64) -> Option<Backend> {
        self.map.read().unwrap().get(&id).cloned()
    }

    pub fn alive_ids(&self) -> Vec<i64> {
        self.map.read().unwrap().values().filter(|b| b.alive && !b.decommissioned).map(|b| b.id).collect()
    }

    /// The backend a BE names itself as in finishTask/report (host and be_port).
    pub fn find_by_be_addr(&self, host: &str, be_port: i32) -> Option<Backend> {
        self.map.read().unwrap().values().find(|b| b.host == host && b.be_port == be_port).cloned()
    }

    /// Update one backend in memory; persist when `f` says the durable part changed.
    pub fn update(&self, id: i64, f: impl FnOnce(&mut Backend) -> bool) -> Result<Option<Backend>, MetaError> {
        let mut map = self.map.write().unwrap();
        let Some(b) = map.get_mut(&id) else { return Ok(None) };
        if f(b) {
            self.store.put(Kind::Backend, id, &*b)?;
        }
        Ok(Some(b.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_ports_parse() {
        assert_eq!(parse_host_port("127.0.0.1:9050").unwrap(), ("127.0.0.1".into(), 9050));
        assert_eq!(parse_host_port("[::1]:9050").unwrap(), ("::1".into(), 9050));
        assert!(parse_host_port("nohost").is_err());
        assert!(parse_host_port("h:0").is_err());
        assert!(parse_host_port("h:99999").is_err());
    }
}
