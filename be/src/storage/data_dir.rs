//! One storage root and its directory layout (see the `storage` module doc).

use std::path::{Path, PathBuf};

use md5::{Digest, Md5};

use super::fsutil;
use super::meta_store::MetaStore;
use crate::error::{BeError, Result};

pub const DATA_PREFIX: &str = "data";
pub const SNAPSHOT_PREFIX: &str = "snapshot";
pub const META_PREFIX: &str = "meta";
pub const CLUSTER_ID_FILE: &str = "cluster_id";
/// Tablets spread over this many shard directories under `data/`.
pub const SHARD_COUNT: i64 = 1024;

pub struct DataDir {
    /// Canonical path of the root.
    pub root: PathBuf,
    /// Stable id of the root, reported as `path_hash`.
    pub path_hash: i64,
    pub(crate) meta: MetaStore,
}

impl DataDir {
    /// Create the root's directories when missing and open its meta store.
    pub fn open(root: &Path) -> Result<DataDir> {
        fsutil::create_dir_all(root)?;
        let root = root.canonicalize().map_err(|e| fsutil::io(format!("canonicalize {}", root.display()), e))?;
        for sub in [DATA_PREFIX, SNAPSHOT_PREFIX, META_PREFIX] {
            fsutil::create_dir_all(&root.join(sub))?;
        }
        let meta = MetaStore::open(&root.join(META_PREFIX).join("tablet_meta.redb"))?;
        Ok(DataDir { path_hash: path_hash(&root), root, meta })
    }

    pub fn data_path(&self) -> PathBuf {
        self.root.join(DATA_PREFIX)
    }

    pub fn snapshot_path(&self) -> PathBuf {
        self.root.join(SNAPSHOT_PREFIX)
    }

    pub fn meta_path(&self) -> &Path {
        self.meta.path()
    }

    /// `<root>/data/<shard>/<tablet_id>`: removing it removes the tablet's files.
    pub fn tablet_id_path(&self, shard: u32, tablet_id: i64) -> PathBuf {
        self.data_path().join(shard.to_string()).join(tablet_id.to_string())
    }

    /// `<root>/data/<shard>/<tablet_id>/<schema_hash>`: the tablet's files.
    pub fn tablet_path(&self, shard: u32, tablet_id: i64, schema_hash: i32) -> PathBuf {
        self.tablet_id_path(shard, tablet_id).join(schema_hash.to_string())
    }

    /// The cluster id recorded in this root, if any.
    pub fn read_cluster_id(&self) -> Result<Option<i32>> {
        let p = self.root.join(CLUSTER_ID_FILE);
        match std::fs::read_to_string(&p) {
            Ok(s) if s.trim().is_empty() => Ok(None),
            Ok(s) => s
                .trim()
                .parse::<i32>()
                .map(Some)
                .map_err(|_| BeError::Corruption(format!("{}: not a cluster id: {:?}", p.display(), s.trim()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(fsutil::io(format!("read {}", p.display()), e)),
        }
    }

    pub fn write_cluster_id(&self, cluster_id: i32) -> Result<()> {
        fsutil::write_atomic(&self.root.join(CLUSTER_ID_FILE), cluster_id.to_string().as_bytes())
    }

    /// Upstream's flood stage: refuse `incoming` bytes when, after them, the root would be
    /// at least `usage_percent` full and have at most `left_bytes` left.
    pub fn check_flood_stage(&self, incoming: u64, usage_percent: u32, left_bytes: u64) -> Result<()> {
        let (total, avail) = self.capacity()?;
        if total == 0 {
            return Ok(());
        }
        let left = avail.saturating_sub(incoming);
        let used_pct = (total - left) as f64 * 100.0 / total as f64;
        if used_pct >= f64::from(usage_percent) && left <= left_bytes {
            return Err(crate::error::BeError::DiskFull(format!(
                "disk {} exceed capacity limit: {used_pct:.1}% used and {left} bytes left after {incoming} more \
                 (storage_flood_stage_usage_percent = {usage_percent}, storage_flood_stage_left_capacity_bytes = {left_bytes})",
                self.root.display()
            )));
        }
        Ok(())
    }

    /// (total, available) bytes of the file system holding the root.
    pub fn capacity(&self) -> Result<(u64, u64)> {
        let s = fs4::statvfs(&self.root).map_err(|e| fsutil::io(format!("statvfs {}", self.root.display()), e))?;
        Ok((s.total_space(), s.available_space()))
    }
}

/// First 8 bytes of the MD5 of the canonical root path: stable across restarts.
fn path_hash(root: &Path) -> i64 {
    let d = Md5::digest(root.to_string_lossy().as_bytes());
    i64::from_be_bytes(d[..8].try_into().expect("8 bytes"))
}
