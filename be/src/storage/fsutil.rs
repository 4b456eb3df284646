//! File system helpers with the durability steps the crash-safety rules need.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use crate::error::{BeError, Result};

/// EXDEV: a hard link across file systems is impossible, so we copy instead.
const EXDEV: i32 = 18;

pub fn io(ctx: impl std::fmt::Display, e: std::io::Error) -> BeError {
    BeError::io(ctx.to_string(), e)
}

/// Make a directory's entries (new names, renames, removals) durable.
pub fn fsync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|f| f.sync_all()).map_err(|e| io(format!("fsync {}", dir.display()), e))
}

pub fn create_dir_all(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| io(format!("create dir {}", dir.display()), e))
}

/// Write `bytes` to `path` so that a crash leaves either the old file or the whole new one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    let mut f = File::create(&tmp).map_err(|e| io(format!("create {}", tmp.display()), e))?;
    if let Err(e) = f.write_all(bytes).and_then(|_| f.sync_all()) {
        // A full disk keeps nothing of the attempt.
        drop(f);
        let _ = fs::remove_file(&tmp);
        return Err(io(format!("write {}", tmp.display()), e));
    }
    drop(f);
    fs::rename(&tmp, path).map_err(|e| io(format!("rename {} to {}", tmp.display(), path.display()), e))?;
    if let Some(parent) = path.parent() {
        fsync_dir(parent)?;
    }
    Ok(())
}

/// Write `bytes` to `path` without any fsync: for markers whose loss a crash may cause
/// harmlessly (the step they record is repeated, with the same outcome).
pub fn write_plain(path: &Path, bytes: &[u8]) -> Result<()> {
    fs::write(path, bytes).map_err(|e| {
        let _ = fs::remove_file(path);
        io(format!("write {}", path.display()), e)
    })
}

/// Hard link `src` to `dst`; copy (and fsync) when they sit on different file systems.
/// Returns true when a hard link was made.
pub fn link_or_copy(src: &Path, dst: &Path) -> Result<bool> {
    match fs::hard_link(src, dst) {
        Ok(()) => Ok(true),
        Err(e) if e.raw_os_error() == Some(EXDEV) => {
            let copied = fs::copy(src, dst).and_then(|_| File::open(dst)?.sync_all());
            if let Err(e) = copied {
                // Out of space mid-copy: the partial copy goes at once.
                let _ = fs::remove_file(dst);
                return Err(io(format!("copy {} to {}", src.display(), dst.display()), e));
            }
            Ok(false)
        }
        Err(e) => Err(io(format!("link {} to {}", src.display(), dst.display()), e)),
    }
}

/// Remove a directory tree; a missing one is fine.
pub fn remove_dir_all(dir: &Path) -> Result<()> {
    match fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(format!("remove {}", dir.display()), e)),
    }
}

/// Remove a file; a missing one is fine.
pub fn remove_file(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(format!("remove {}", path.display()), e)),
    }
}

/// Names of the regular files directly in `dir`, sorted.
pub fn list_files(dir: &Path) -> Result<Vec<String>> {
    let rd = fs::read_dir(dir).map_err(|e| io(format!("list {}", dir.display()), e))?;
    let mut out = Vec::new();
    for ent in rd {
        let ent = ent.map_err(|e| io(format!("list {}", dir.display()), e))?;
        let ft = ent.file_type().map_err(|e| io(format!("stat {}", ent.path().display()), e))?;
        if ft.is_file() {
            if let Some(n) = ent.file_name().to_str() {
                out.push(n.to_string());
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Names of the sub-directories directly in `dir` (empty when `dir` is missing).
pub fn list_dirs(dir: &Path) -> Result<Vec<String>> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(format!("list {}", dir.display()), e)),
    };
    let mut out = Vec::new();
    for ent in rd {
        let ent = ent.map_err(|e| io(format!("list {}", dir.display()), e))?;
        let ft = ent.file_type().map_err(|e| io(format!("stat {}", ent.path().display()), e))?;
        if ft.is_dir() {
            if let Some(n) = ent.file_name().to_str() {
                out.push(n.to_string());
            }
        }
    }
    out.sort();
    Ok(out)
}
