//! MAKE_SNAPSHOT, RELEASE_SNAPSHOT and the sweeper of expired snapshots.
//!
//! A snapshot is built in `<root>/snapshot/.tmp.<name>/` and renamed to
//! `<root>/snapshot/<name>/` once complete, so a crash never leaves a half-built snapshot
//! under a name the FE could be told about; open removes the staging dirs.
//! `<name>` is `<yyyyMMddHHmmss>.<seq>.<timeout_s>` (local time, as upstream).

use std::path::{Component, Path};
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::NaiveDateTime;

use super::engine::{canonicalize_lenient, SnapshotInfo, StorageEngine};
use super::recovery::rowset_file_prefix;
use super::fsutil;
use super::hdr;
use super::tablet_meta::{RowsetMeta, TabletMeta};
use crate::error::{BeError, Result};

/// Prefix of a snapshot directory still being built.
pub const STAGING_PREFIX: &str = ".tmp.";
/// CCR's per-tablet binlog meta file, copied only when binlogs are asked for.
pub const BINLOG_METAS_FILE: &str = "rowset_binlog_metas.pb";

/// Process-wide, so two snapshots taken in the same second get different names.
static SNAPSHOT_SEQ: AtomicU64 = AtomicU64::new(0);

const TIME_FORMAT: &str = "%Y%m%d%H%M%S";

/// (creation time, seq, timeout_s) from `<yyyyMMddHHmmss>.<seq>.<timeout_s>`.
pub fn parse_snapshot_name(name: &str) -> Option<(NaiveDateTime, u64, i64)> {
    let mut parts = name.split('.');
    let (ts, seq, timeout) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || ts.len() != 14 {
        return None;
    }
    let t = NaiveDateTime::parse_from_str(ts, TIME_FORMAT).ok()?;
    Some((t, seq.parse().ok()?, timeout.parse().ok()?))
}

fn is_binlog_file(name: &str) -> bool {
    name.ends_with(".binlog") || name.ends_with(".binlog-index") || name == BINLOG_METAS_FILE
}

/// What MAKE_SNAPSHOT is asked for.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SnapshotSpec {
    pub tablet_id: i64,
    pub schema_hash: i32,
    /// None: the tablet's max version.
    pub version: Option<i64>,
    /// Incremental clone: just these single versions, when all are present.
    pub missing_versions: Vec<i64>,
    pub copy_binlog: bool,
    /// Seconds the snapshot is kept; None (or not positive): `snapshot_expire_time_sec`.
    pub timeout_s: Option<i64>,
}

/// The rowsets a snapshot of `meta` at the asked version holds.
fn select_rowsets(meta: &TabletMeta, req: &SnapshotSpec) -> Result<Vec<RowsetMeta>> {
    let tablet_id = meta.tablet_id;
    let max = meta.max_version();
    // Incremental clone: exactly the missing single versions, else a full snapshot.
    if let Some(missing) = Some(&req.missing_versions).filter(|m| !m.is_empty()) {
        let found: Vec<RowsetMeta> = missing
            .iter()
            .filter_map(|v| meta.rowsets.iter().find(|r| r.start_version == *v && r.end_version == *v))
            .cloned()
            .collect();
        if found.len() == missing.len() {
            return Ok(found);
        }
        tracing::info!(tablet_id, ?missing, "missing versions not all present; making a full snapshot");
    }
    let version = req.version.unwrap_or(max);
    if version > max {
        return Err(BeError::InvalidArgument(format!(
            "tablet {tablet_id}: snapshot version {version} is above the tablet's max version {max}"
        )));
    }
    if version < 0 {
        return Err(BeError::InvalidArgument(format!("tablet {tablet_id}: negative snapshot version {version}")));
    }
    let mut selected: Vec<RowsetMeta> = meta.rowsets.iter().filter(|r| r.end_version <= version).cloned().collect();
    selected.sort_by_key(|r| r.start_version);
    // The chosen rowsets must cover a gap-free range ending exactly at `version`.
    let mut next = selected.first().map(|r| r.start_version).unwrap_or(0);
    for r in &selected {
        if r.start_version != next {
            return Err(BeError::Corruption(format!(
                "tablet {tablet_id}: versions are not contiguous at {next} (rowset {} starts at {})",
                r.rowset_id, r.start_version
            )));
        }
        next = r.end_version + 1;
    }
    if selected.is_empty() || next - 1 != version {
        return Err(BeError::InvalidArgument(format!(
            "tablet {tablet_id}: version {version} falls inside a merged rowset; no consistent snapshot at it"
        )));
    }
    Ok(selected)
}

impl StorageEngine {
    pub(crate) fn make_snapshot_impl(&self, req: &SnapshotSpec) -> Result<SnapshotInfo> {
        let tablet_id = req.tablet_id;
        let lock = self.tablet_lock(tablet_id);
        let _g = lock.lock().unwrap_or_else(|e| e.into_inner());
        let t = self.tablet(tablet_id).ok_or_else(|| BeError::NotFound(format!("tablet {tablet_id}")))?;
        if t.meta.schema_hash != req.schema_hash {
            return Err(BeError::NotFound(format!(
                "tablet {tablet_id} with schema hash {} (it has {})",
                req.schema_hash, t.meta.schema_hash
            )));
        }
        let rowsets = select_rowsets(&t.meta, req)?;
        // Remote rowsets are keyed by this tablet's id in the policy's store: a snapshot
        // restored into another tablet could not read them.
        if let Some(r) = rowsets.iter().find(|r| r.remote) {
            return Err(BeError::InvalidArgument(format!(
                "tablet {tablet_id}: rowset [{}, {}] is cooled down to remote storage; snapshots of remote data are not supported",
                r.start_version, r.end_version
            )));
        }
        let copy_binlog = req.copy_binlog;
        let timeout = match req.timeout_s {
            Some(s) if s > 0 => s,
            _ => self.snapshot_expire_time_sec as i64,
        };
        let snap_root = self.dirs[t.dir].snapshot_path();
        let tablet_path = self.tablet_path_of(&t);

        let name = loop {
            let seq = SNAPSHOT_SEQ.fetch_add(1, Ordering::Relaxed);
            let name = format!("{}.{}.{}", chrono::Local::now().format(TIME_FORMAT), seq, timeout);
            // The counter restarts with the process; skip names an earlier run used.
            if !snap_root.join(&name).exists() {
                break name;
            }
        };
        let staging = snap_root.join(format!("{STAGING_PREFIX}{name}"));
        let inner_rel = Path::new(&tablet_id.to_string()).join(t.meta.schema_hash.to_string());
        let inner = staging.join(&inner_rel);
        fsutil::create_dir_all(&inner)?;

        let build = || -> Result<()> {
            let present = fsutil::list_files(&tablet_path)?;
            for rs in rowsets.iter().filter(|r| !r.remote) {
                for f in rs.segment_files() {
                    if !present.contains(&f) {
                        return Err(BeError::Corruption(format!(
                            "tablet {tablet_id}: segment file {f} of rowset {} is missing",
                            rs.rowset_id
                        )));
                    }
                }
                for f in present.iter().filter(|f| rowset_file_prefix(f) == Some(rs.rowset_id.as_str())) {
                    if is_binlog_file(f) && !copy_binlog {
                        continue;
                    }
                    fsutil::link_or_copy(&tablet_path.join(f), &inner.join(f))?;
                }
            }
            if copy_binlog && present.iter().any(|f| f == BINLOG_METAS_FILE) {
                fsutil::link_or_copy(&tablet_path.join(BINLOG_METAS_FILE), &inner.join(BINLOG_METAS_FILE))?;
            }
            let mut snap_meta = t.meta.clone();
            snap_meta.rowsets = rowsets.clone();
            snap_meta.pending.clear();
            // Made durable after the rename, together with other tasks' snapshots.
            fsutil::write_plain(&inner.join(format!("{tablet_id}.hdr")), &hdr::encode(&snap_meta)?)?;
            Ok(())
        };
        if let Err(e) = build() {
            let _ = fsutil::remove_dir_all(&staging);
            return Err(e);
        }
        super::failpoint!("make_snapshot.after_link");
        let final_path = snap_root.join(&name);
        std::fs::rename(&staging, &final_path)
            .map_err(|e| fsutil::io(format!("rename {} to {}", staging.display(), final_path.display()), e))?;
        super::failpoint!("make_snapshot.after_rename");
        // The snapshot is reported (and so used) only once this returns: a crash before it
        // may leave an incomplete snapshot dir, which no FE knows and which expires.
        let final_inner = final_path.join(&inner_rel);
        self.durable.sync([
            final_inner.join(format!("{tablet_id}.hdr")),
            final_inner.clone(),
            final_inner.parent().expect("tablet id dir").to_path_buf(),
            final_path.clone(),
            snap_root.clone(),
        ])?;
        let files = fsutil::list_files(&final_inner)?;
        tracing::info!(
            tablet_id,
            version = rowsets.last().map(|r| r.end_version).unwrap_or(0),
            path = %final_path.display(),
            files = files.len(),
            "snapshot made"
        );
        Ok(SnapshotInfo { snapshot_path: final_path, files })
    }

    pub(crate) fn release_snapshot_impl(&self, path: &Path) -> Result<()> {
        if !path.is_absolute() {
            return Err(BeError::InvalidArgument(format!("snapshot path {} is not absolute", path.display())));
        }
        if path.components().any(|c| matches!(c, Component::ParentDir)) {
            return Err(BeError::InvalidArgument(format!("snapshot path {} contains '..'", path.display())));
        }
        let canon = canonicalize_lenient(path).ok_or_else(|| {
            BeError::NotAuthorized(format!("snapshot path {} cannot be resolved safely", path.display()))
        })?;
        for d in &self.dirs {
            let snap_root = d.snapshot_path();
            let Ok(rel) = canon.strip_prefix(&snap_root) else { continue };
            let Some(Component::Normal(first)) = rel.components().next() else {
                return Err(BeError::InvalidArgument(format!(
                    "{} is the snapshot directory itself, not a snapshot",
                    path.display()
                )));
            };
            let target = snap_root.join(first);
            fsutil::remove_dir_all(&target)?;
            tracing::info!(path = %target.display(), "snapshot released");
            return Ok(());
        }
        Err(BeError::NotAuthorized(format!(
            "snapshot path {} is not inside a storage root's snapshot directory",
            path.display()
        )))
    }

    /// The sweep as of `now` (local time, as the names are written).
    pub fn sweep_expired_snapshots_at(&self, now: NaiveDateTime) -> Result<usize> {
        let mut removed = 0;
        for d in &self.dirs {
            let snap_root = d.snapshot_path();
            for name in fsutil::list_dirs(&snap_root)? {
                let Some((created, _, timeout)) = parse_snapshot_name(&name) else { continue };
                let expire = (timeout.max(0) as u64).min(self.snapshot_expire_time_sec) as i64;
                if (now - created).num_seconds() > expire {
                    fsutil::remove_dir_all(&snap_root.join(&name))?;
                    tracing::info!(path = %snap_root.join(&name).display(), "expired snapshot removed");
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_snapshot_names_parse() {
        let (t, seq, timeout) = parse_snapshot_name("20190819221234.3.86400").unwrap();
        assert_eq!(t.format(TIME_FORMAT).to_string(), "20190819221234");
        assert_eq!((seq, timeout), (3, 86400));
        for bad in ["20190819221234.3", "2019081922123.3.1", "20190819221234.x.1", ".tmp.20190819221234.3.1", "a.b.c.d"] {
            assert!(parse_snapshot_name(bad).is_none(), "{bad}");
        }
    }
}
