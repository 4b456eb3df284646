//! The storage engine: every tablet on every root of this BE. This file opens it and
//! holds the lookups; changes live in `tablets`, snapshots in `snapshot` and `move_dir`,
//! crash repair in `recovery`, report rows in `report`, policies in `policy`.
//!
//! Tablet metas live in each root's redb (`meta_store`); the engine keeps a copy of every
//! meta in memory and changes it only after the redb commit succeeded. Operations on one
//! tablet serialize on a per-tablet mutex; methods are synchronous (callers run the heavy
//! ones on `spawn_blocking`).

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use dashmap::DashMap;

use super::data_dir::DataDir;
use super::move_dir::MoveSpec;
use super::policy::PolicySet;
use super::recovery::recover_root;
use super::snapshot::SnapshotSpec;
use super::tablet_meta::TabletMeta;
use crate::config::BeConfig;
use crate::error::{BeError, Result};

/// What MAKE_SNAPSHOT produced.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotInfo {
    /// The timestamp directory `<root>/snapshot/<yyyyMMddHHmmss>.<seq>.<timeout_s>`.
    pub snapshot_path: PathBuf,
    /// File names in `<snapshot_path>/<tablet_id>/<schema_hash>/`.
    pub files: Vec<String>,
}

/// A loaded tablet: which root holds it and its committed meta.
#[derive(Clone)]
pub(crate) struct Tablet {
    pub(crate) dir: usize,
    pub(crate) meta: TabletMeta,
}

pub struct StorageEngine {
    pub(crate) dirs: Vec<Arc<DataDir>>,
    pub(crate) tablets: RwLock<HashMap<i64, Tablet>>,
    /// Tablets on each root, kept with `tablets` (changed under its write lock) so that
    /// placing a new tablet does not count every tablet: that made CREATE quadratic.
    per_dir: Mutex<Vec<usize>>,
    locks: DashMap<i64, Arc<Mutex<()>>>,
    pub(crate) snapshot_expire_time_sec: u64,
    /// Shared fsyncs of snapshots and new tablet dirs (one journal commit for many tasks).
    pub(crate) durable: super::group_sync::GroupSync,
    cluster_id: RwLock<Option<i32>>,
    /// Storage policies and resources (PUSH_STORAGE_POLICY), persisted on every root.
    pub(crate) policies: RwLock<PolicySet>,
}

impl StorageEngine {
    /// Open (creating when missing) every storage root; load every tablet meta.
    ///
    /// Then repair what a crash may have left: tablet directories without a committed
    /// meta (a CREATE that died, a DROP that died after its commit), rowset files no
    /// committed meta references (a MOVE or load that died), half-built snapshots.
    pub fn open(config: &BeConfig) -> Result<Arc<Self>> {
        if config.storage_root_paths.is_empty() {
            return Err(BeError::InvalidArgument("storage_root_path names no root".into()));
        }
        let mut dirs: Vec<Arc<DataDir>> = Vec::new();
        for root in &config.storage_root_paths {
            let d = DataDir::open(root)?;
            if dirs.iter().any(|o| o.root == d.root) {
                return Err(BeError::InvalidArgument(format!("storage root {} is listed twice", d.root.display())));
            }
            dirs.push(Arc::new(d));
        }

        // Every root must agree on the cluster; roots that never saw one inherit it.
        let mut cluster_id = None;
        for d in &dirs {
            if let Some(id) = d.read_cluster_id()? {
                match cluster_id {
                    None => cluster_id = Some(id),
                    Some(prev) if prev != id => {
                        return Err(BeError::Corruption(format!(
                            "storage roots disagree on the cluster id: {prev} vs {id} in {}",
                            d.root.display()
                        )))
                    }
                    Some(_) => {}
                }
            }
        }
        if let Some(id) = cluster_id {
            for d in &dirs {
                if d.read_cluster_id()?.is_none() {
                    d.write_cluster_id(id)?;
                }
            }
        }

        let mut tablets: HashMap<i64, Tablet> = HashMap::new();
        for (idx, d) in dirs.iter().enumerate() {
            let metas = d.meta.load_all()?;
            let mine: HashMap<i64, TabletMeta> = metas.into_iter().map(|m| (m.tablet_id, m)).collect();
            recover_root(d, &mine)?;
            for (id, meta) in mine {
                if let Some(prev) = tablets.get(&id) {
                    tracing::warn!(
                        tablet_id = id,
                        kept = %dirs[prev.dir].root.display(),
                        ignored = %d.root.display(),
                        "tablet meta found on two roots; keeping the first"
                    );
                    continue;
                }
                tablets.insert(id, Tablet { dir: idx, meta });
            }
        }
        // The newest policy set any root holds (see `policy`).
        let mut policies = PolicySet::default();
        for d in &dirs {
            if let Some(bytes) = d.meta.get_storage_policies()? {
                let set = PolicySet::decode(&bytes)?;
                if set.generation > policies.generation {
                    policies = set;
                }
            }
        }
        tracing::info!(
            roots = dirs.len(),
            tablets = tablets.len(),
            storage_policies = policies.policies.len(),
            "storage engine opened"
        );
        let mut per_dir = vec![0usize; dirs.len()];
        for t in tablets.values() {
            per_dir[t.dir] += 1;
        }
        Ok(Arc::new(StorageEngine {
            dirs,
            tablets: RwLock::new(tablets),
            per_dir: Mutex::new(per_dir),
            locks: DashMap::new(),
            snapshot_expire_time_sec: config.snapshot_expire_time_sec,
            durable: Default::default(),
            cluster_id: RwLock::new(cluster_id),
            policies: RwLock::new(policies),
        }))
    }

    pub fn data_dirs(&self) -> &[Arc<DataDir>] {
        &self.dirs
    }

    /// The root holding a tablet.
    pub fn data_dir_of(&self, tablet_id: i64) -> Option<Arc<DataDir>> {
        self.tablet(tablet_id).map(|t| self.dirs[t.dir].clone())
    }

    /// The cluster id recorded in the roots, if this BE ever joined one.
    pub fn cluster_id(&self) -> Option<i32> {
        *self.cluster_id.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Record the cluster id in every root (first heartbeat). Recording the same id again
    /// is OK; a different one is refused (a BE belongs to one cluster).
    pub fn set_cluster_id(&self, cluster_id: i32) -> Result<()> {
        let mut cur = self.cluster_id.write().unwrap_or_else(|e| e.into_inner());
        if let Some(prev) = *cur {
            if prev != cluster_id {
                return Err(BeError::InvalidArgument(format!(
                    "this BE belongs to cluster {prev}, refusing cluster {cluster_id}"
                )));
            }
        }
        for d in &self.dirs {
            if d.read_cluster_id()? != Some(cluster_id) {
                d.write_cluster_id(cluster_id)?;
            }
        }
        *cur = Some(cluster_id);
        Ok(())
    }

    pub(crate) fn tablet_lock(&self, tablet_id: i64) -> Arc<Mutex<()>> {
        self.locks.entry(tablet_id).or_default().clone()
    }

    pub(crate) fn tablet(&self, tablet_id: i64) -> Option<Tablet> {
        self.tablets.read().unwrap_or_else(|e| e.into_inner()).get(&tablet_id).cloned()
    }

    pub(crate) fn tablet_path_of(&self, t: &Tablet) -> PathBuf {
        self.dirs[t.dir].tablet_path(t.meta.shard_id, t.meta.tablet_id, t.meta.schema_hash)
    }

    /// Commit a tablet's meta to its root's redb, then publish it in memory.
    pub(crate) fn commit(&self, dir: usize, meta: TabletMeta) -> Result<()> {
        self.dirs[dir].meta.put(&meta)?;
        let mut map = self.tablets.write().unwrap_or_else(|e| e.into_inner());
        let prev = map.insert(meta.tablet_id, Tablet { dir, meta });
        if prev.as_ref().map(|p| p.dir) != Some(dir) {
            let mut per_dir = self.per_dir.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(p) = prev {
                per_dir[p.dir] = per_dir[p.dir].saturating_sub(1);
            }
            per_dir[dir] += 1;
        }
        Ok(())
    }

    /// Forget a tablet in memory (its meta is already deleted from its root).
    pub(crate) fn forget(&self, tablet_id: i64) {
        let mut map = self.tablets.write().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = map.remove(&tablet_id) {
            let mut per_dir = self.per_dir.lock().unwrap_or_else(|e| e.into_inner());
            per_dir[p.dir] = per_dir[p.dir].saturating_sub(1);
        }
    }

    /// The root with the fewest tablets (the first of equals).
    pub(crate) fn least_loaded_dir(&self) -> usize {
        let per_dir = self.per_dir.lock().unwrap_or_else(|e| e.into_inner());
        (0..per_dir.len()).min_by_key(|&i| (per_dir[i], i)).unwrap_or(0)
    }

    pub fn tablet_meta(&self, tablet_id: i64) -> Option<TabletMeta> {
        self.tablet(tablet_id).map(|t| t.meta)
    }

    pub fn tablet_ids(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self.tablets.read().unwrap_or_else(|e| e.into_inner()).keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    /// Directory holding a tablet's files.
    pub fn tablet_dir(&self, tablet_id: i64) -> Result<PathBuf> {
        let t = self.tablet(tablet_id).ok_or_else(|| BeError::NotFound(format!("tablet {tablet_id}")))?;
        Ok(self.tablet_path_of(&t))
    }

    /// A new rowset id, unique across the cluster: "02" followed by the 32 lowercase hex
    /// digits of a random (v4) UUID. Upstream's v2 ids also start with "02"; 122 random
    /// bits make a collision between BEs negligible without any coordination.
    pub fn next_rowset_id(&self) -> String {
        format!("02{}", uuid::Uuid::new_v4().simple())
    }

    /// MAKE_SNAPSHOT: hard links of the tablet's files up to `req.version` plus
    /// `<tablet_id>.hdr`, in the upstream snapshot layout.
    pub fn make_snapshot(&self, req: &SnapshotSpec) -> Result<SnapshotInfo> {
        self.make_snapshot_impl(req)
    }

    /// RELEASE_SNAPSHOT: remove a snapshot directory; refuses paths outside a root's
    /// `snapshot/` directory.
    pub fn release_snapshot(&self, snapshot_path: &Path) -> Result<()> {
        self.release_snapshot_impl(snapshot_path)
    }

    /// Remove snapshots older than `snapshot_expire_time_sec` (or their own timeout).
    pub fn sweep_expired_snapshots(&self) -> Result<usize> {
        self.sweep_expired_snapshots_at(chrono::Local::now().naive_local())
    }

    /// MOVE: install the snapshot in `req.src` (`<...>/<tablet_id>/<schema_hash>/` with a
    /// `.hdr`) into the local tablet: new rowset ids, ids rewritten, files replaced,
    /// meta reloaded. Idempotent: a second MOVE of the same src is OK.
    pub fn move_dir(&self, req: &MoveSpec) -> Result<TabletMeta> {
        self.move_dir_impl(req)
    }

    /// Canonicalize `path` and return it when it lies under one of our roots.
    ///
    /// The path need not exist: its longest existing ancestor is canonicalized (so symlinks
    /// pointing out of a root are caught) and the rest appended, which may not contain `..`.
    /// Relative paths are taken from the working directory.
    pub fn confine(&self, path: &Path) -> Option<PathBuf> {
        let canon = canonicalize_lenient(path)?;
        self.dirs.iter().any(|d| canon.starts_with(&d.root)).then_some(canon)
    }

}

/// Canonicalize the longest existing ancestor, then append the remaining plain components.
pub(crate) fn canonicalize_lenient(path: &Path) -> Option<PathBuf> {
    let abs = if path.is_absolute() { path.to_path_buf() } else { std::env::current_dir().ok()?.join(path) };
    if let Ok(c) = abs.canonicalize() {
        return Some(c);
    }
    let mut rest: Vec<std::ffi::OsString> = Vec::new();
    let mut cur = abs.as_path();
    loop {
        let name = cur.file_name()?;
        rest.push(name.to_os_string());
        cur = cur.parent()?;
        if let Ok(c) = cur.canonicalize() {
            let mut out = c;
            for n in rest.iter().rev() {
                out.push(n);
            }
            // `..` left in the missing part cannot be resolved safely.
            if Path::new(&abs).strip_prefix(cur).ok()?.components().any(|c| !matches!(c, Component::Normal(_))) {
                return None;
            }
            return Some(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_lenient_canonicalize() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().canonicalize().unwrap();
        std::fs::create_dir(base.join("d")).unwrap();
        assert_eq!(canonicalize_lenient(&tmp.path().join("d/../d")), Some(base.join("d")));
        assert_eq!(canonicalize_lenient(&tmp.path().join("d/x/y")), Some(base.join("d/x/y")));
        assert_eq!(canonicalize_lenient(&tmp.path().join("d/x/../y")), None);
    }

    #[test]
    fn storage_engine_create_and_reopen() {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = BeConfig { storage_root_paths: vec![tmp.path().join("root")], ..Default::default() };
        let schema = doris_thrift::agent_service::TTabletSchema::new(
            1,
            3,
            doris_thrift::types::TKeysType::DUP_KEYS,
            doris_thrift::types::TStorageType::COLUMN,
            vec![doris_thrift::descriptors::TColumn::new(
                "k".to_string(),
                doris_thrift::types::TColumnType::new(doris_thrift::types::TPrimitiveType::INT, None, None, None, None, None),
                None,
                true,
                None,
                None, None, None,
                None,
                None, None)], None, None, None, None, None, None, None);
        let req = doris_thrift::agent_service::TCreateTabletReq::new(5, Box::new(schema), None, None, None, None, None, None, None, None, None, None, None, None, None);
        let created = {
            let e = StorageEngine::open(&cfg).unwrap();
            e.create_tablet(&req).unwrap()
        };
        assert_eq!(created.schema.keys_type, "DUP_KEYS");
        let e = StorageEngine::open(&cfg).unwrap();
        assert_eq!(e.tablet_meta(5), Some(created));
        assert!(e.tablet_dir(5).unwrap().is_dir());
    }
}
