//! Lagging replicas (upstream's `lastFailedVersion > 0`): which to repair, and the end of
//! a lag once a replica holds its partition's visible version again.

use super::{Catalog, CatalogError};

/// A replica behind its partition's visible version, with where it could catch up from.
#[derive(Debug, Clone, PartialEq)]
pub struct LaggingReplica {
    pub table_id: i64,
    pub partition_id: i64,
    pub tablet_id: i64,
    pub schema_hash: i32,
    pub replica_id: i64,
    pub backend_id: i64,
    pub visible_version: i64,
    /// Backends of the tablet's caught-up replicas (not lagging, at the visible version).
    pub healthy: Vec<i64>,
}

impl Catalog {
    /// Every lagging replica of the visible and temporary partitions.
    pub fn lagging_replicas(&self) -> Vec<LaggingReplica> {
        let st = self.state.read().unwrap();
        let mut out = Vec::new();
        for t in st.tables.values() {
            for p in t.loadable_partitions() {
                for tb in &p.index.tablets {
                    if !tb.replicas.iter().any(|r| r.is_lagging()) {
                        continue;
                    }
                    let healthy: Vec<i64> = tb
                        .replicas
                        .iter()
                        .filter(|r| !r.is_lagging() && r.version >= p.visible_version)
                        .map(|r| r.backend_id)
                        .collect();
                    for r in tb.replicas.iter().filter(|r| r.is_lagging()) {
                        out.push(LaggingReplica {
                            table_id: t.id,
                            partition_id: p.id,
                            tablet_id: tb.id,
                            schema_hash: p.index.schema_hash,
                            replica_id: r.id,
                            backend_id: r.backend_id,
                            visible_version: p.visible_version,
                            healthy: healthy.clone(),
                        });
                    }
                }
            }
        }
        out.sort_by_key(|l| (l.tablet_id, l.backend_id));
        out
    }

    /// Backend `backend_id` holds tablet `tablet_id` at `version` (a clone finished): its
    /// replica's lag ends when that reaches the partition's visible version and the newest
    /// version it missed. Whether it did.
    pub fn replica_caught_up(&self, table_id: i64, tablet_id: i64, backend_id: i64, version: i64) -> Result<bool, CatalogError> {
        if self.table_by_id(table_id).is_none() {
            return Ok(false);
        }
        self.update_table(table_id, |t| {
            let mut changed = false;
            for p in t.partitions.iter_mut().chain(t.temp_partitions.iter_mut()) {
                let visible = p.visible_version;
                for tb in p.index.tablets.iter_mut().filter(|tb| tb.id == tablet_id) {
                    for r in tb.replicas.iter_mut().filter(|r| r.backend_id == backend_id) {
                        if r.is_lagging() && version >= visible.max(r.last_failed_version) {
                            r.mark_caught_up(version);
                            changed = true;
                        }
                    }
                }
            }
            changed
        })
    }
}
