//! What the tablet and disk reports (and CREATE's finishTask) show of this BE's storage.

use doris_thrift::master_service::{TDisk, TTabletInfo};
use doris_thrift::types::{TStorageMedium, TUniqueId};

use super::engine::{StorageEngine, Tablet};
use super::schema;

impl StorageEngine {
    /// Report rows: one `TTabletInfo` per tablet.
    pub fn tablet_infos(&self) -> Vec<TTabletInfo> {
        let tablets = self.tablets.read().unwrap_or_else(|e| e.into_inner());
        let mut ids: Vec<&i64> = tablets.keys().collect();
        ids.sort_unstable();
        ids.into_iter().map(|id| self.tablet_info_of(&tablets[id])).collect()
    }

    /// One tablet's report row (CREATE's finish_tablet_infos).
    pub fn tablet_info(&self, tablet_id: i64) -> Option<TTabletInfo> {
        self.tablet(tablet_id).map(|t| self.tablet_info_of(&t))
    }

    fn tablet_info_of(&self, t: &Tablet) -> TTabletInfo {
        let m = &t.meta;
        let txns: Vec<i64> = m.pending.iter().map(|p| p.txn_id).collect();
        TTabletInfo {
            tablet_id: m.tablet_id,
            schema_hash: m.schema_hash,
            version: m.max_version(),
            version_hash: 0,
            row_count: m.num_rows(),
            data_size: m.data_size(),
            storage_medium: Some(schema::storage_medium_from_name(&m.storage_medium)),
            transaction_ids: (!txns.is_empty()).then_some(txns),
            total_version_count: Some(m.rowsets.len() as i64),
            path_hash: Some(self.dirs[t.dir].path_hash),
            version_miss: None,
            used: Some(true),
            partition_id: Some(m.partition_id),
            is_in_memory: None,
            replica_id: Some(m.replica_id),
            remote_data_size: Some(m.remote_data_size()),
            cooldown_term: Some(m.cooldown.cooldown_term),
            cooldown_meta_id: m.cooldown.cooldown_meta_id.map(|(hi, lo)| TUniqueId { hi, lo }),
            visible_version_count: Some(m.rowsets.len() as i64),
            is_persistent: None,
        }
    }

    pub fn disk_infos(&self) -> Vec<TDisk> {
        let tablets = self.tablets.read().unwrap_or_else(|e| e.into_inner());
        let mut used = vec![0i64; self.dirs.len()];
        for t in tablets.values() {
            used[t.dir] += t.meta.data_size();
        }
        let mut remote = vec![0i64; self.dirs.len()];
        for t in tablets.values() {
            remote[t.dir] += t.meta.remote_data_size();
        }
        self.dirs
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let (total, avail, ok) = match d.capacity() {
                    Ok((t, a)) => (t as i64, a as i64, true),
                    Err(e) => {
                        tracing::warn!(root = %d.root.display(), error = %e, "cannot read disk capacity");
                        (0, 0, false)
                    }
                };
                TDisk {
                    root_path: d.root.display().to_string(),
                    disk_total_capacity: total,
                    data_used_capacity: used[i],
                    used: ok,
                    disk_available_capacity: Some(avail),
                    path_hash: Some(d.path_hash),
                    storage_medium: Some(TStorageMedium::HDD),
                    remote_used_capacity: Some(remote[i]),
                    trash_used_capacity: Some(0),
                }
            })
            .collect()
    }
}
