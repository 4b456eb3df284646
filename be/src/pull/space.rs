//! Free-space check before a pull writes anything big.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::error::{BeError, Result};

/// `need` lists (local dir, bytes to write there). Dirs on one file system share its
/// free space, so their needs add up. Blocking.
pub fn check_capacity(need: &[(PathBuf, u64)], keep_free: u64) -> Result<()> {
    let mut per_fs: HashMap<u64, (&Path, u64)> = HashMap::new();
    for (dir, bytes) in need {
        let dev = std::fs::metadata(dir).map_err(|e| BeError::io(format!("stat {}", dir.display()), e))?.dev();
        let e = per_fs.entry(dev).or_insert((dir.as_path(), 0));
        e.1 = e.1.saturating_add(*bytes);
    }
    for (dir, bytes) in per_fs.into_values() {
        if bytes == 0 {
            continue;
        }
        let avail = fs4::available_space(dir).map_err(|e| BeError::io(format!("free space of {}", dir.display()), e))?;
        if avail.saturating_sub(keep_free) < bytes {
            return Err(BeError::DiskFull(format!(
                "pulling {bytes} bytes into {} needs more than the {avail} bytes free there minus {keep_free} kept free (storage_min_left_capacity_bytes)",
                dir.display()
            )));
        }
    }
    Ok(())
}
