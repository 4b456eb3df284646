//! The storage engine: every tablet on every root of this BE.
//!
//! Tablet metas live in each root's redb (`meta_store`); the engine keeps a copy of every
//! meta in memory and changes it only after the redb commit succeeded. Operations on one
//! tablet serialize on a per-tablet mutex; methods are synchronous (callers run the heavy
//! ones on `spawn_blocking`).

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use dashmap::DashMap;
use doris_thrift::agent_service::{TCreateTabletReq, TMoveDirReq, TSnapshotRequest};
use doris_thrift::master_service::{TDisk, TTabletInfo};
use doris_thrift::types::{TStorageMedium, TUniqueId};

use super::data_dir::{DataDir, SHARD_COUNT};
use super::fsutil;
use super::policy::{PolicySet, PushOutcome, StoragePolicy, StorageResource};
use super::schema;
use super::tablet_meta::{CooldownState, PendingRowset, RowsetMeta, TabletMeta};
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
    locks: DashMap<i64, Arc<Mutex<()>>>,
    pub(crate) snapshot_expire_time_sec: u64,
    cluster_id: RwLock<Option<i32>>,
    /// Storage policies and resources (PUSH_STORAGE_POLICY), persisted on every root.
    policies: RwLock<PolicySet>,
}

/// Extensions of files that belong to one rowset and are named `<rowset_id>_<rest>`.
const ROWSET_FILE_EXTS: &[&str] = &[".dat", ".idx", ".binlog", ".binlog-index"];

/// The rowset id a data/index/binlog file belongs to, from its name `<rowset_id>_<rest>`.
pub(crate) fn rowset_file_prefix(name: &str) -> Option<&str> {
    if !ROWSET_FILE_EXTS.iter().any(|e| name.ends_with(e)) {
        return None;
    }
    let (prefix, _) = name.split_once('_')?;
    (!prefix.is_empty()).then_some(prefix)
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
        Ok(Arc::new(StorageEngine {
            dirs,
            tablets: RwLock::new(tablets),
            locks: DashMap::new(),
            snapshot_expire_time_sec: config.snapshot_expire_time_sec,
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

    /// PUSH_STORAGE_POLICY: apply the push and, when it changed anything, persist the new
    /// set on every root before it is used.
    pub fn push_storage_policy(&self, req: &doris_thrift::agent_service::TPushStoragePolicyReq) -> Result<PushOutcome> {
        let mut held = self.policies.write().unwrap_or_else(|e| e.into_inner());
        let mut next = held.clone();
        let out = next.apply(req);
        if out.changed() {
            next.generation += 1;
            let bytes = next.encode()?;
            for d in &self.dirs {
                d.meta.put_storage_policies(&bytes)?;
            }
            *held = next;
        }
        Ok(out)
    }

    /// Every storage policy and resource held.
    pub fn storage_policies(&self) -> PolicySet {
        self.policies.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// A policy and the resource it names, as cooldown needs them.
    pub fn resolve_storage_policy(&self, storage_policy_id: i64) -> Result<(StoragePolicy, StorageResource)> {
        self.policies.read().unwrap_or_else(|e| e.into_inner()).resolve(storage_policy_id)
    }

    /// The storage policy of a tablet with its resource; NotFound when the tablet has none.
    pub fn tablet_storage_policy(&self, tablet_id: i64) -> Result<(StoragePolicy, StorageResource)> {
        let t = self.tablet(tablet_id).ok_or_else(|| BeError::NotFound(format!("tablet {tablet_id} not found")))?;
        if t.meta.storage_policy_id <= 0 {
            return Err(BeError::NotFound(format!("tablet {tablet_id} has no storage policy")));
        }
        self.resolve_storage_policy(t.meta.storage_policy_id)
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
        self.tablets.write().unwrap_or_else(|e| e.into_inner()).insert(meta.tablet_id, Tablet { dir, meta });
        Ok(())
    }

    /// CREATE: a tablet with one empty rowset [0, version] (version defaults to 1).
    /// Creating a tablet that exists with the same schema hash is OK (idempotent).
    pub fn create_tablet(&self, req: &TCreateTabletReq) -> Result<TabletMeta> {
        let tablet_id = req.tablet_id;
        if tablet_id <= 0 {
            return Err(BeError::InvalidArgument(format!("invalid tablet id {tablet_id}")));
        }
        let schema_hash = req.tablet_schema.schema_hash;
        let version = req.version.unwrap_or(1);
        if version < 0 {
            return Err(BeError::InvalidArgument(format!("tablet {tablet_id}: negative version {version}")));
        }
        let tablet_schema = schema::from_thrift(&req.tablet_schema)
            .map_err(|e| BeError::InvalidArgument(format!("tablet {tablet_id}: {e}")))?;

        let lock = self.tablet_lock(tablet_id);
        let _g = lock.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = self.tablet(tablet_id) {
            if t.meta.schema_hash == schema_hash {
                tracing::info!(tablet_id, schema_hash, "tablet already exists; create is a no-op");
                return Ok(t.meta);
            }
            return Err(BeError::AlreadyExist(format!(
                "tablet {tablet_id} exists with schema hash {}, asked for {schema_hash}",
                t.meta.schema_hash
            )));
        }

        let dir = self.least_loaded_dir();
        let meta = TabletMeta {
            tablet_id,
            schema_hash,
            replica_id: req.replica_id.unwrap_or(0),
            table_id: req.table_id.unwrap_or(0),
            partition_id: req.partition_id.unwrap_or(0),
            shard_id: (tablet_id % SHARD_COUNT) as u32,
            schema: tablet_schema,
            storage_medium: schema::storage_medium_name(req.storage_medium.unwrap_or(TStorageMedium::HDD)).to_string(),
            storage_policy_id: req.storage_policy_id.unwrap_or(0),
            creation_time_ms: chrono::Utc::now().timestamp_millis(),
            in_restore_mode: req.in_restore_mode.unwrap_or(false),
            rowsets: vec![RowsetMeta {
                rowset_id: self.next_rowset_id(),
                start_version: 0,
                end_version: version,
                num_segments: 0,
                num_rows: 0,
                data_size: 0,
                txn_id: None,
                remote: false,
                creation_time_s: chrono::Utc::now().timestamp(),
            }],
            pending: Vec::new(),
            cooldown: CooldownState::default(),
        };
        let path = self.dirs[dir].tablet_path(meta.shard_id, tablet_id, schema_hash);
        // A leftover dir (a create that died before its commit) is garbage: start clean.
        fsutil::remove_dir_all(&self.dirs[dir].tablet_id_path(meta.shard_id, tablet_id))?;
        fsutil::create_dir_all(&path)?;
        if let Some(p) = path.parent().and_then(|p| p.parent()) {
            fsutil::fsync_dir(p)?;
        }
        super::failpoint!("create_tablet.after_dir");
        self.commit(dir, meta.clone())?;
        tracing::info!(tablet_id, schema_hash, version, root = %self.dirs[dir].root.display(), "tablet created");
        Ok(meta)
    }

    fn least_loaded_dir(&self) -> usize {
        let tablets = self.tablets.read().unwrap_or_else(|e| e.into_inner());
        let mut counts = vec![0usize; self.dirs.len()];
        for t in tablets.values() {
            counts[t.dir] += 1;
        }
        (0..self.dirs.len()).min_by_key(|&i| (counts[i], i)).unwrap_or(0)
    }

    /// DROP: remove the tablet's meta and files. A missing tablet is OK. A non-zero
    /// `replica_id` must be the tablet's: a DROP meant for an older replica (the FE dropping
    /// what it thought an orphan, say) must not remove a newer one with the same tablet id.
    pub fn drop_tablet(&self, tablet_id: i64, replica_id: i64) -> Result<()> {
        let lock = self.tablet_lock(tablet_id);
        let _g = lock.lock().unwrap_or_else(|e| e.into_inner());
        let Some(t) = self.tablet(tablet_id) else {
            tracing::info!(tablet_id, "drop of a tablet we do not have");
            return Ok(());
        };
        if replica_id != 0 && t.meta.replica_id != replica_id {
            // Upstream's wording, which operators grep for.
            return Err(BeError::Aborted(format!(
                "replica_id not match({} vs {replica_id})",
                t.meta.replica_id
            )));
        }
        let d = &self.dirs[t.dir];
        d.meta.delete(tablet_id)?;
        super::failpoint!("drop_tablet.after_meta");
        self.tablets.write().unwrap_or_else(|e| e.into_inner()).remove(&tablet_id);
        // Files go after the commit; a crash in between is finished by the sweep at open.
        fsutil::remove_dir_all(&d.tablet_id_path(t.meta.shard_id, tablet_id))?;
        tracing::info!(tablet_id, "tablet dropped");
        Ok(())
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

    /// Add a visible rowset whose segment files are already in the tablet dir
    /// (tests, and loads once published). Its versions must follow the tablet's.
    pub fn add_rowset(&self, tablet_id: i64, rowset: super::RowsetMeta) -> Result<TabletMeta> {
        let lock = self.tablet_lock(tablet_id);
        let _g = lock.lock().unwrap_or_else(|e| e.into_inner());
        let t = self.tablet(tablet_id).ok_or_else(|| BeError::NotFound(format!("tablet {tablet_id}")))?;
        let max = t.meta.max_version();
        if rowset.start_version != max + 1 || rowset.end_version < rowset.start_version {
            return Err(BeError::InvalidArgument(format!(
                "tablet {tablet_id}: rowset [{}, {}] does not follow version {max}",
                rowset.start_version, rowset.end_version
            )));
        }
        self.check_new_rowset(&t, &rowset)?;
        let mut meta = t.meta.clone();
        meta.rowsets.push(rowset);
        super::failpoint!("add_rowset.before_meta");
        self.commit(t.dir, meta.clone())?;
        tracing::info!(tablet_id, version = meta.max_version(), "rowset added");
        Ok(meta)
    }

    /// A load's rowset whose files are in the tablet dir, waiting for PUBLISH_VERSION.
    pub fn add_pending_rowset(&self, tablet_id: i64, txn_id: i64, partition_id: i64, rowset: RowsetMeta) -> Result<TabletMeta> {
        let lock = self.tablet_lock(tablet_id);
        let _g = lock.lock().unwrap_or_else(|e| e.into_inner());
        let t = self.tablet(tablet_id).ok_or_else(|| BeError::NotFound(format!("tablet {tablet_id}")))?;
        if t.meta.pending.iter().any(|p| p.txn_id == txn_id) {
            return Err(BeError::AlreadyExist(format!("tablet {tablet_id}: txn {txn_id} already has a pending rowset")));
        }
        self.check_new_rowset(&t, &rowset)?;
        let mut meta = t.meta.clone();
        meta.pending.push(PendingRowset { txn_id, partition_id, rowset });
        self.commit(t.dir, meta.clone())?;
        Ok(meta)
    }

    fn check_new_rowset(&self, t: &Tablet, rowset: &RowsetMeta) -> Result<()> {
        let tablet_id = t.meta.tablet_id;
        if rowset.rowset_id.is_empty() || rowset.rowset_id.contains(['_', '/', '.']) {
            return Err(BeError::InvalidArgument(format!("tablet {tablet_id}: bad rowset id {:?}", rowset.rowset_id)));
        }
        let taken = t.meta.rowsets.iter().map(|r| &r.rowset_id).chain(t.meta.pending.iter().map(|p| &p.rowset.rowset_id));
        if taken.into_iter().any(|id| *id == rowset.rowset_id) {
            return Err(BeError::AlreadyExist(format!("tablet {tablet_id}: rowset {} exists", rowset.rowset_id)));
        }
        if !rowset.remote {
            let dir = self.tablet_path_of(t);
            for f in rowset.segment_files() {
                if !dir.join(&f).is_file() {
                    return Err(BeError::NotFound(format!("tablet {tablet_id}: segment file {f} is not in {}", dir.display())));
                }
            }
        }
        Ok(())
    }

    /// Change a tablet's meta under its lock and commit it (cooldown, restore mode, ...).
    /// The closure may refuse with an error; ids and location cannot be changed.
    pub fn update_meta(&self, tablet_id: i64, f: impl FnOnce(&mut TabletMeta) -> Result<()>) -> Result<TabletMeta> {
        let lock = self.tablet_lock(tablet_id);
        let _g = lock.lock().unwrap_or_else(|e| e.into_inner());
        let t = self.tablet(tablet_id).ok_or_else(|| BeError::NotFound(format!("tablet {tablet_id}")))?;
        let mut meta = t.meta.clone();
        f(&mut meta)?;
        if meta.tablet_id != t.meta.tablet_id || meta.schema_hash != t.meta.schema_hash || meta.shard_id != t.meta.shard_id {
            return Err(BeError::InvalidArgument(format!("tablet {tablet_id}: update may not change ids or shard")));
        }
        self.commit(t.dir, meta.clone())?;
        Ok(meta)
    }

    /// MAKE_SNAPSHOT: hard links of the tablet's files up to `req.version` plus
    /// `<tablet_id>.hdr`, in the upstream snapshot layout.
    pub fn make_snapshot(&self, req: &TSnapshotRequest) -> Result<SnapshotInfo> {
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
    pub fn move_dir(&self, req: &TMoveDirReq) -> Result<TabletMeta> {
        self.move_dir_impl(req)
    }

    /// PUBLISH_VERSION: make the txn's pending rowsets on this BE visible at `version`
    /// for tablets of `partition_id`. Returns the tablet ids that failed.
    pub fn publish_version(&self, txn_id: i64, partition_id: i64, version: i64) -> Result<Vec<i64>> {
        let candidates: Vec<i64> = {
            let tablets = self.tablets.read().unwrap_or_else(|e| e.into_inner());
            let mut ids: Vec<i64> = tablets
                .values()
                .filter(|t| t.meta.pending.iter().any(|p| p.txn_id == txn_id && p.partition_id == partition_id))
                .map(|t| t.meta.tablet_id)
                .collect();
            ids.sort_unstable();
            ids
        };
        let mut failed = Vec::new();
        for tablet_id in candidates {
            let lock = self.tablet_lock(tablet_id);
            let _g = lock.lock().unwrap_or_else(|e| e.into_inner());
            let Some(t) = self.tablet(tablet_id) else { continue };
            let Some(pos) = t.meta.pending.iter().position(|p| p.txn_id == txn_id && p.partition_id == partition_id) else {
                continue;
            };
            let max = t.meta.max_version();
            if version != max + 1 {
                tracing::warn!(tablet_id, txn_id, version, max_version = max, "publish does not follow the tablet's version");
                failed.push(tablet_id);
                continue;
            }
            let mut meta = t.meta.clone();
            let p = meta.pending.remove(pos);
            let mut rs = p.rowset;
            rs.start_version = version;
            rs.end_version = version;
            rs.txn_id = Some(txn_id);
            meta.rowsets.push(rs);
            if let Err(e) = self.commit(t.dir, meta) {
                tracing::warn!(tablet_id, txn_id, error = %e, "publish commit failed");
                failed.push(tablet_id);
            }
        }
        Ok(failed)
    }

    /// PUSH_COOLDOWN_CONF: apply when `term` is greater than the tablet's; persist.
    /// Ok(true) when applied, Ok(false) when ignored as stale.
    pub fn apply_cooldown_conf(&self, tablet_id: i64, cooldown_replica_id: i64, term: i64) -> Result<bool> {
        let lock = self.tablet_lock(tablet_id);
        let _g = lock.lock().unwrap_or_else(|e| e.into_inner());
        let t = self.tablet(tablet_id).ok_or_else(|| BeError::NotFound(format!("tablet {tablet_id}")))?;
        if term <= t.meta.cooldown.cooldown_term {
            tracing::info!(tablet_id, term, current = t.meta.cooldown.cooldown_term, "stale cooldown conf ignored");
            return Ok(false);
        }
        let mut meta = t.meta.clone();
        meta.cooldown.cooldown_replica_id = cooldown_replica_id;
        meta.cooldown.cooldown_term = term;
        self.commit(t.dir, meta)?;
        tracing::info!(tablet_id, cooldown_replica_id, term, "cooldown conf applied");
        Ok(true)
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

/// Remove what a crash left on one root (see `StorageEngine::open`).
fn recover_root(d: &DataDir, metas: &HashMap<i64, TabletMeta>) -> Result<()> {
    let data = d.data_path();
    for shard in fsutil::list_dirs(&data)? {
        let shard_path = data.join(&shard);
        for tid in fsutil::list_dirs(&shard_path)? {
            let tid_path = shard_path.join(&tid);
            let Ok(tablet_id) = tid.parse::<i64>() else {
                tracing::warn!(path = %tid_path.display(), "unexpected directory in data/, left alone");
                continue;
            };
            let meta = metas.get(&tablet_id).filter(|m| m.shard_id.to_string() == shard);
            let Some(meta) = meta else {
                tracing::warn!(tablet_id, path = %tid_path.display(), "tablet dir without a committed meta; removing");
                fsutil::remove_dir_all(&tid_path)?;
                continue;
            };
            for sh in fsutil::list_dirs(&tid_path)? {
                if sh != meta.schema_hash.to_string() {
                    tracing::warn!(tablet_id, schema_hash = %sh, "stale schema hash dir; removing");
                    fsutil::remove_dir_all(&tid_path.join(&sh))?;
                }
            }
        }
    }
    for meta in metas.values() {
        let path = d.tablet_path(meta.shard_id, meta.tablet_id, meta.schema_hash);
        fsutil::create_dir_all(&path)?;
        remove_unreferenced_files(&path, meta)?;
        for rs in meta.rowsets.iter().filter(|r| !r.remote) {
            for f in rs.segment_files() {
                if !path.join(&f).is_file() {
                    tracing::error!(tablet_id = meta.tablet_id, file = %f, "segment file of a committed rowset is missing");
                }
            }
        }
    }
    let snap = d.snapshot_path();
    for name in fsutil::list_dirs(&snap)? {
        if name.starts_with(super::snapshot::STAGING_PREFIX) {
            tracing::info!(path = %snap.join(&name).display(), "removing half-built snapshot");
            fsutil::remove_dir_all(&snap.join(&name))?;
        }
    }
    Ok(())
}

/// Remove rowset files of rowsets the meta does not hold locally, and temp files of atomic writes.
pub(crate) fn remove_unreferenced_files(path: &Path, meta: &TabletMeta) -> Result<usize> {
    // A remote rowset's local files are leftovers of a cooldown cut short.
    let referenced: HashSet<&str> = meta
        .rowsets
        .iter()
        .filter(|r| !r.remote)
        .map(|r| r.rowset_id.as_str())
        .chain(meta.pending.iter().map(|p| p.rowset.rowset_id.as_str()))
        .collect();
    let mut removed = 0;
    for name in fsutil::list_files(path)? {
        let stale_tmp = name.starts_with('.') && name.ends_with(".tmp");
        let orphan = rowset_file_prefix(&name).is_some_and(|p| !referenced.contains(p));
        if stale_tmp || orphan {
            tracing::info!(tablet_id = meta.tablet_id, file = %name, "removing file no committed meta references");
            fsutil::remove_file(&path.join(&name))?;
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_rowset_file_names() {
        assert_eq!(rowset_file_prefix("02abc_0.dat"), Some("02abc"));
        assert_eq!(rowset_file_prefix("02abc_0_1001.idx"), Some("02abc"));
        assert_eq!(rowset_file_prefix("02abc_3.binlog-index"), Some("02abc"));
        assert_eq!(rowset_file_prefix("rowset_binlog_metas.pb"), None);
        assert_eq!(rowset_file_prefix("10001.hdr"), None);
        assert_eq!(rowset_file_prefix("_0.dat"), None);
        assert_eq!(rowset_file_prefix("nounderscore.dat"), None);
    }

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
                None,
                None,
            )],
        );
        let req = TCreateTabletReq::new(5, Box::new(schema), None, None, None, None, None, None, None);
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
