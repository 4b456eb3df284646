//! Tablet changes: CREATE, DROP, new rowsets (visible or pending), meta updates,
//! PUBLISH_VERSION and cooldown confs. Each runs under the tablet's lock and takes
//! effect at its redb commit.

use super::data_dir::SHARD_COUNT;
use super::engine::{StorageEngine, Tablet};
use super::fsutil;
use super::tablet_meta::{CooldownState, PendingRowset, RowsetMeta, TabletMeta, TabletSchema};
use crate::error::{BeError, Result};

/// What CREATE makes: a tablet with one empty rowset [0, version].
#[derive(Debug, Clone, PartialEq)]
pub struct NewTablet {
    pub tablet_id: i64,
    pub schema_hash: i32,
    pub version: i64,
    pub schema: TabletSchema,
    pub replica_id: i64,
    pub table_id: i64,
    pub partition_id: i64,
    /// Upstream's medium name ("HDD", "SSD", ...).
    pub storage_medium: String,
    /// 0: none.
    pub storage_policy_id: i64,
    pub in_restore_mode: bool,
}

impl StorageEngine {
    /// CREATE: a tablet with one empty rowset [0, version]. Creating a tablet that
    /// exists with the same schema hash is OK (idempotent). Takes a `NewTablet` or
    /// what converts to one (the CREATE request, converted in `tasks::create`).
    pub fn create_tablet<T>(&self, new: T) -> Result<TabletMeta>
    where
        T: TryInto<NewTablet>,
        BeError: From<T::Error>,
    {
        let req: NewTablet = new.try_into()?;
        let tablet_id = req.tablet_id;
        if tablet_id <= 0 {
            return Err(BeError::InvalidArgument(format!("invalid tablet id {tablet_id}")));
        }
        let (schema_hash, version) = (req.schema_hash, req.version);
        if version < 0 {
            return Err(BeError::InvalidArgument(format!("tablet {tablet_id}: negative version {version}")));
        }

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
            replica_id: req.replica_id,
            table_id: req.table_id,
            partition_id: req.partition_id,
            shard_id: (tablet_id % SHARD_COUNT) as u32,
            schema: req.schema,
            storage_medium: req.storage_medium,
            storage_policy_id: req.storage_policy_id,
            creation_time_ms: chrono::Utc::now().timestamp_millis(),
            in_restore_mode: req.in_restore_mode,
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
                delete_predicate: None,
            }],
            pending: Vec::new(),
            cooldown: CooldownState::default(),
        };
        let path = self.dirs[dir].tablet_path(meta.shard_id, tablet_id, schema_hash);
        // A leftover dir (a create that died before its commit) is garbage: start clean.
        fsutil::remove_dir_all(&self.dirs[dir].tablet_id_path(meta.shard_id, tablet_id))?;
        fsutil::create_dir_all(&path)?;
        // The dirs must be on disk before the meta naming the tablet is; concurrent CREATEs
        // share the fsyncs.
        let tablet_id_dir = path.parent().expect("tablet id dir");
        self.durable.sync([tablet_id_dir.to_path_buf(), tablet_id_dir.parent().expect("shard dir").to_path_buf()])?;
        super::failpoint!("create_tablet.after_dir");
        if let Err(e) = self.commit(dir, meta.clone()) {
            let _ = fsutil::remove_dir_all(&self.dirs[dir].tablet_id_path(meta.shard_id, tablet_id));
            return Err(e);
        }
        tracing::info!(tablet_id, schema_hash, version, root = %self.dirs[dir].root.display(), "tablet created");
        Ok(meta)
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
        self.forget(tablet_id);
        // Files go after the commit; a crash in between is finished by the sweep at open.
        fsutil::remove_dir_all(&d.tablet_id_path(t.meta.shard_id, tablet_id))?;
        tracing::info!(tablet_id, "tablet dropped");
        Ok(())
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
            super::failpoint!("publish_version.before_meta");
            if let Err(e) = self.commit(t.dir, meta) {
                tracing::warn!(tablet_id, txn_id, error = %e, "publish commit failed");
                failed.push(tablet_id);
            }
            // After the first tablet's commit: a crash here leaves the txn's other tablets
            // pending, which the FE's repeated PUBLISH_VERSION finishes.
            super::failpoint!("publish_version.after_meta");
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
}
