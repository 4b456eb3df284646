//! The storage engine: every tablet on every root of this BE.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use doris_thrift::agent_service::{TCreateTabletReq, TMoveDirReq, TSnapshotRequest};
use doris_thrift::master_service::{TDisk, TTabletInfo};

use super::data_dir::DataDir;
use super::tablet_meta::TabletMeta;
use crate::config::BeConfig;
use crate::error::Result;

/// What MAKE_SNAPSHOT produced.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotInfo {
    /// The timestamp directory `<root>/snapshot/<yyyyMMddHHmmss>.<seq>.<timeout_s>`.
    pub snapshot_path: PathBuf,
    /// File names in `<snapshot_path>/<tablet_id>/<schema_hash>/`.
    pub files: Vec<String>,
}

pub struct StorageEngine {
    // implementation-defined
}

impl StorageEngine {
    /// Open (creating when missing) every storage root; load every tablet meta.
    pub fn open(config: &BeConfig) -> Result<Arc<Self>> {
        let _ = config;
        todo!()
    }

    pub fn data_dirs(&self) -> &[Arc<DataDir>] {
        todo!()
    }

    /// The cluster id recorded in the roots, if this BE ever joined one.
    pub fn cluster_id(&self) -> Option<i32> {
        todo!()
    }

    /// Record the cluster id in every root (first heartbeat).
    pub fn set_cluster_id(&self, cluster_id: i32) -> Result<()> {
        let _ = cluster_id;
        todo!()
    }

    /// CREATE: a tablet with one empty rowset [0, version] (version defaults to 1).
    /// Creating a tablet that exists with the same schema hash is OK (idempotent).
    pub fn create_tablet(&self, req: &TCreateTabletReq) -> Result<TabletMeta> {
        let _ = req;
        todo!()
    }

    /// DROP: remove the tablet's meta and files. A missing tablet is OK.
    pub fn drop_tablet(&self, tablet_id: i64) -> Result<()> {
        let _ = tablet_id;
        todo!()
    }

    pub fn tablet_meta(&self, tablet_id: i64) -> Option<TabletMeta> {
        let _ = tablet_id;
        todo!()
    }

    pub fn tablet_ids(&self) -> Vec<i64> {
        todo!()
    }

    /// Directory holding a tablet's files.
    pub fn tablet_dir(&self, tablet_id: i64) -> Result<PathBuf> {
        let _ = tablet_id;
        todo!()
    }

    /// A new rowset id, unique across the cluster.
    pub fn next_rowset_id(&self) -> String {
        todo!()
    }

    /// Add a visible rowset whose segment files are already in the tablet dir
    /// (tests, and loads once published). Its versions must follow the tablet's.
    pub fn add_rowset(&self, tablet_id: i64, rowset: super::RowsetMeta) -> Result<TabletMeta> {
        let _ = (tablet_id, rowset);
        todo!()
    }

    /// MAKE_SNAPSHOT: hard links of the tablet's files up to `req.version` plus
    /// `<tablet_id>.hdr`, in the upstream snapshot layout.
    pub fn make_snapshot(&self, req: &TSnapshotRequest) -> Result<SnapshotInfo> {
        let _ = req;
        todo!()
    }

    /// RELEASE_SNAPSHOT: remove a snapshot directory; refuses paths outside a root's
    /// `snapshot/` directory.
    pub fn release_snapshot(&self, snapshot_path: &Path) -> Result<()> {
        let _ = snapshot_path;
        todo!()
    }

    /// Remove snapshots older than `snapshot_expire_time_sec` (or their own timeout).
    pub fn sweep_expired_snapshots(&self) -> Result<usize> {
        todo!()
    }

    /// MOVE: install the snapshot in `req.src` (`<...>/<tablet_id>/<schema_hash>/` with a
    /// `.hdr`) into the local tablet: new rowset ids, ids rewritten, files replaced,
    /// meta reloaded. Idempotent: a second MOVE of the same src is OK.
    pub fn move_dir(&self, req: &TMoveDirReq) -> Result<TabletMeta> {
        let _ = req;
        todo!()
    }

    /// PUBLISH_VERSION: make the txn's pending rowsets on this BE visible at `version`
    /// for tablets of `partition_id`. Returns the tablet ids that failed.
    pub fn publish_version(&self, txn_id: i64, partition_id: i64, version: i64) -> Result<Vec<i64>> {
        let _ = (txn_id, partition_id, version);
        todo!()
    }

    /// PUSH_COOLDOWN_CONF: apply when `term` is greater than the tablet's; persist.
    /// Ok(true) when applied, Ok(false) when ignored as stale.
    pub fn apply_cooldown_conf(&self, tablet_id: i64, cooldown_replica_id: i64, term: i64) -> Result<bool> {
        let _ = (tablet_id, cooldown_replica_id, term);
        todo!()
    }

    /// Canonicalize `path` and return it when it lies under one of our roots.
    pub fn confine(&self, path: &Path) -> Option<PathBuf> {
        let _ = path;
        todo!()
    }

    /// Report rows: one `TTabletInfo` per tablet.
    pub fn tablet_infos(&self) -> Vec<TTabletInfo> {
        todo!()
    }

    pub fn disk_infos(&self) -> Vec<TDisk> {
        todo!()
    }
}
