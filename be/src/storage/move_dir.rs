//! MOVE: install a downloaded snapshot into a local tablet (restore, CCR).
//!
//! Order of work, so a crash leaves either the old or the new tablet:
//! 1. read and check everything in `src` (the `.hdr`, every segment file it names);
//! 2. link the files into the tablet dir under NEW rowset ids — names no committed meta
//!    references, so the sweep at open removes them if we die here;
//! 3. commit the rewritten meta (the switch);
//! 4. remove the old rowsets' files (again finished by the sweep at open after a crash);
//! 5. write `LOADED` in `src`, so the same MOVE again answers OK without changes.
//!
//! CCR binlog files (`*.binlog`, `*.binlog-index`) follow their rowset's rename;
//! `rowset_binlog_metas.pb` is not tied to a rowset and is replaced after the commit.

use std::collections::HashMap;
use std::path::PathBuf;


use super::engine::StorageEngine;
use super::recovery::rowset_file_prefix;
use super::fsutil;
use super::hdr;
use super::snapshot::BINLOG_METAS_FILE;
use super::tablet_meta::TabletMeta;
use crate::error::{BeError, Result};

/// Written in a MOVE's source dir once it is installed.
pub const LOADED_MARKER: &str = "LOADED";

/// What MOVE installs: the snapshot in `src` into the local tablet.
#[derive(Debug, Clone, PartialEq)]
pub struct MoveSpec {
    pub tablet_id: i64,
    pub schema_hash: i32,
    /// `<...>/<tablet_id>/<schema_hash>/` of a downloaded snapshot, with its `.hdr`.
    pub src: PathBuf,
    /// Replace the tablet's data (the only mode supported, as upstream).
    pub overwrite: bool,
}

impl StorageEngine {
    pub(crate) fn move_dir_impl(&self, req: &MoveSpec) -> Result<TabletMeta> {
        let tablet_id = req.tablet_id;
        let src = self.confine(&req.src).ok_or_else(|| {
            BeError::NotAuthorized(format!("move source {} is not inside a storage root", req.src.display()))
        })?;
        if !src.is_dir() {
            return Err(BeError::NotFound(format!("move source {} is not a directory", src.display())));
        }
        let lock = self.tablet_lock(tablet_id);
        let _g = lock.lock().unwrap_or_else(|e| e.into_inner());
        let t = self.tablet(tablet_id).ok_or_else(|| BeError::NotFound(format!("tablet {tablet_id}")))?;
        if t.meta.schema_hash != req.schema_hash {
            return Err(BeError::NotFound(format!(
                "tablet {tablet_id} with schema hash {} (it has {})",
                req.schema_hash, t.meta.schema_hash
            )));
        }
        if src.join(LOADED_MARKER).exists() {
            tracing::info!(tablet_id, src = %src.display(), "move source already loaded; nothing to do");
            return Ok(t.meta);
        }
        if !req.overwrite {
            // Upstream supports only overwrite as well; merging two histories is not defined.
            return Err(BeError::InvalidArgument(format!("tablet {tablet_id}: MOVE without overwrite is not supported")));
        }

        let files = fsutil::list_files(&src)?;
        let hdrs: Vec<&String> = files.iter().filter(|f| f.ends_with(".hdr")).collect();
        let hdr_name = match hdrs.as_slice() {
            [one] => (*one).clone(),
            [] => return Err(BeError::InvalidArgument(format!("move source {} holds no .hdr", src.display()))),
            many => {
                return Err(BeError::InvalidArgument(format!(
                    "move source {} holds {} .hdr files, expected one",
                    src.display(),
                    many.len()
                )))
            }
        };
        let snap = hdr::read_file(&src.join(&hdr_name))?;

        // New ids for local rowsets; remote ones keep theirs (their objects are named by it).
        let mut renames: HashMap<String, String> = HashMap::new();
        let mut rowsets = snap.rowsets.clone();
        rowsets.sort_by_key(|r| r.start_version);
        let mut next = rowsets.first().map(|r| r.start_version).unwrap_or(0);
        for r in rowsets.iter_mut() {
            if r.start_version != next || r.end_version < r.start_version {
                return Err(BeError::Corruption(format!(
                    "{}: rowset versions are not contiguous at {next}",
                    src.join(&hdr_name).display()
                )));
            }
            next = r.end_version + 1;
            if r.remote {
                continue;
            }
            for f in r.segment_files() {
                if !files.contains(&f) {
                    return Err(BeError::Corruption(format!(
                        "move source {}: segment file {f} named by the header is missing",
                        src.display()
                    )));
                }
            }
            let new_id = self.next_rowset_id();
            renames.insert(r.rowset_id.clone(), new_id.clone());
            r.rowset_id = new_id;
        }

        let mut plan: Vec<(String, String)> = Vec::new();
        let mut binlog_metas = false;
        for f in &files {
            if *f == hdr_name || f == LOADED_MARKER {
                continue;
            }
            if f == BINLOG_METAS_FILE {
                binlog_metas = true;
            } else if let Some(prefix) = rowset_file_prefix(f) {
                match renames.get(prefix) {
                    Some(new_id) => plan.push((f.clone(), format!("{new_id}{}", &f[prefix.len()..]))),
                    None => tracing::warn!(tablet_id, file = %f, "file of a rowset the header does not name; skipped"),
                }
            } else {
                return Err(BeError::InvalidArgument(format!(
                    "move source {}: unexpected file {f}",
                    src.display()
                )));
            }
        }

        let tablet_path = self.tablet_path_of(&t);
        fsutil::create_dir_all(&tablet_path)?;
        let placed = (|| -> Result<()> {
            for (from, to) in &plan {
                fsutil::link_or_copy(&src.join(from), &tablet_path.join(to))?;
            }
            if !plan.is_empty() {
                // The new names must be on disk before the meta naming them is.
                fsutil::fsync_dir(&tablet_path)?;
            }
            Ok(())
        })();
        if let Err(e) = placed {
            // A copy across file systems that ran out of space: free what it took now
            // rather than at the next open's sweep. No meta names these files yet.
            self.remove_new_files(&tablet_path, &plan);
            return Err(e);
        }
        super::failpoint!("move_dir.after_link");

        let old = t.meta.clone();
        let meta = TabletMeta {
            tablet_id: old.tablet_id,
            schema_hash: old.schema_hash,
            replica_id: old.replica_id,
            table_id: old.table_id,
            partition_id: old.partition_id,
            shard_id: old.shard_id,
            schema: snap.schema.clone(),
            storage_medium: old.storage_medium.clone(),
            storage_policy_id: old.storage_policy_id,
            creation_time_ms: old.creation_time_ms,
            in_restore_mode: old.in_restore_mode,
            rowsets,
            pending: old.pending.clone(),
            cooldown: old.cooldown.clone(),
        };
        if let Err(e) = self.commit(t.dir, meta.clone()) {
            self.remove_new_files(&tablet_path, &plan);
            return Err(e);
        }
        super::failpoint!("move_dir.after_meta");

        for r in old.rowsets.iter().filter(|r| !r.remote) {
            for f in fsutil::list_files(&tablet_path)? {
                if rowset_file_prefix(&f) == Some(r.rowset_id.as_str()) {
                    fsutil::remove_file(&tablet_path.join(&f))?;
                }
            }
        }
        if binlog_metas {
            let tmp = tablet_path.join(format!(".{BINLOG_METAS_FILE}.tmp"));
            fsutil::remove_file(&tmp)?;
            fsutil::link_or_copy(&src.join(BINLOG_METAS_FILE), &tmp)?;
            std::fs::rename(&tmp, tablet_path.join(BINLOG_METAS_FILE))
                .map_err(|e| fsutil::io(format!("install {BINLOG_METAS_FILE} in {}", tablet_path.display()), e))?;
            fsutil::fsync_dir(&tablet_path)?;
        }
        // Removed files need no fsync: after a crash, the sweep at open removes rowset files
        // no committed meta names. Nor does the marker: if a crash loses it, a repeated MOVE
        // installs the same snapshot again, with the same outcome.
        if let Err(e) = fsutil::write_plain(&src.join(LOADED_MARKER), format!("tablet_id={tablet_id}\n").as_bytes()) {
            // The MOVE took effect; without the marker a repeat installs the same again.
            tracing::warn!(tablet_id, src = %src.display(), error = %e, "cannot write the LOADED marker");
        }
        tracing::info!(
            tablet_id,
            src = %src.display(),
            rowsets = meta.rowsets.len(),
            version = meta.max_version(),
            "snapshot moved into tablet"
        );
        Ok(meta)
    }
}

impl StorageEngine {
    /// Remove the files a failed MOVE put in the tablet dir (`plan`'s new names).
    fn remove_new_files(&self, tablet_path: &std::path::Path, plan: &[(String, String)]) {
        for (_, to) in plan {
            if let Err(e) = fsutil::remove_file(&tablet_path.join(to)) {
                tracing::warn!(file = %tablet_path.join(to).display(), error = %e, "cannot remove a file of a failed MOVE");
            }
        }
    }
}
