//! What a crash may leave behind, recognised at open: tablet dirs without a committed
//! meta, rowset files no committed meta references, half-built snapshots.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::data_dir::DataDir;
use super::fsutil;
use super::tablet_meta::TabletMeta;
use crate::error::Result;

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

/// Remove what a crash left on one root (see `StorageEngine::open`).
pub(crate) fn recover_root(d: &DataDir, metas: &HashMap<i64, TabletMeta>) -> Result<()> {
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

/// Remove rowset files of rowsets the meta does not hold locally, partial rowset files
/// (`.part`), and temp files of atomic writes.
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
        // A rowset file still being received (a binlog ingest cut short) is never complete.
        let partial = name.strip_suffix(".part").and_then(rowset_file_prefix).is_some();
        let orphan = rowset_file_prefix(&name).is_some_and(|p| !referenced.contains(p));
        if stale_tmp || partial || orphan {
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
}
