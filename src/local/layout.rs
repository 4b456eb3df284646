//! Ports of the FE and the BEs (upstream's, shifted by `--base-port`) and the conf files
//! written for them.

use std::path::Path;

/// BEs one `--base-port` can hold without two of them sharing a port.
pub(super) const MAX_BES: u16 = 10;
/// Heartbeat period of the generated fe.conf: a BE shows Alive about a second after it starts.
const HEARTBEAT_INTERVAL_SECOND: &str = "1";
/// The address the cluster is reached at and its BEs are registered with (the children
/// bind every interface).
pub(super) const HOST: &str = "127.0.0.1";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FePorts {
    pub(super) query: u16,
    pub(super) rpc: u16,
    pub(super) http: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct BePorts {
    pub(super) be: u16,
    pub(super) heartbeat: u16,
    pub(super) http: u16,
    pub(super) brpc: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Layout {
    pub(super) fe: FePorts,
    pub(super) bes: Vec<BePorts>,
}

impl Layout {
    pub(super) fn new(base: u16, bes: u16) -> Result<Layout, String> {
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
pub(super) fn check_ports_free(layout: &Layout) -> Result<(), String> {
    for (port, role) in layout.bound_ports() {
        if let Err(e) = std::net::TcpListener::bind(("0.0.0.0", port)) {
            return Err(format!(
                "port {port} ({role}) is not free: {e}. Is another cluster running? Stop it, or pick another --base-port"
            ));
        }
    }
    Ok(())
}

pub(super) fn fe_conf(layout: &Layout, meta: &Path) -> String {
    let f = layout.fe;
    format!(
        "# Written by `doris-rs local` on every start: edits are overwritten.\n\
         query_port = {}\nrpc_port = {}\nhttp_port = {}\nmeta_dir = {}\n\
         # Loopback only: this cluster is for this machine.\npriority_networks = 127.0.0.1/32\n\
         heartbeat_interval_second = {HEARTBEAT_INTERVAL_SECOND}\n\
         # CCR: the syncer refuses a cluster without binlogs.\nenable_feature_binlog = true\n",
        f.query,
        f.rpc,
        f.http,
        meta.display()
    )
}

pub(super) fn be_conf(b: &BePorts, storage: &Path) -> String {
    format!(
        "# Written by `doris-rs local` on every start: edits are overwritten.\n\
         be_port = {}\nheartbeat_service_port = {}\nwebserver_port = {}\nbrpc_port = {}\n\
         storage_root_path = {}\n\
         # Loopback only: this cluster is for this machine.\npriority_networks = 127.0.0.1/32\n\
         # CCR: the syncer refuses a cluster without binlogs.\nenable_feature_binlog = true\n",
        b.be,
        b.heartbeat,
        b.http,
        b.brpc,
        storage.display()
    )
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
