//! Free-space checks before a pull or an ingest writes anything big.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::config::BeConfig;
use crate::error::{BeError, Result};

/// How full a disk may get before writes into it are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpaceLimits {
    /// `storage_min_left_capacity_bytes`: kept free whatever else.
    pub keep_free: u64,
    /// Upstream's flood stage: refused when, after the write, the disk would be at least
    /// this full (percent) ...
    pub flood_usage_percent: u32,
    /// ... and have at most this many bytes left.
    pub flood_left_bytes: u64,
}

impl SpaceLimits {
    pub fn of(config: &BeConfig) -> SpaceLimits {
        SpaceLimits {
            keep_free: config.storage_min_left_capacity_bytes,
            flood_usage_percent: config.storage_flood_stage_usage_percent,
            flood_left_bytes: config.storage_flood_stage_left_capacity_bytes,
        }
    }
}

/// `need` lists (local dir, bytes to write there). Dirs on one file system share its
/// free space, so their needs add up. The flood stage refusal carries upstream's text
/// (`reach the capacity limit of path <dir>, file_size=<bytes>`). Blocking.
pub fn check_capacity(need: &[(PathBuf, u64)], limits: &SpaceLimits) -> Result<()> {
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
        let s = fs4::statvfs(dir).map_err(|e| BeError::io(format!("free space of {}", dir.display()), e))?;
        let (total, avail) = (s.total_space(), s.available_space());
        let keep_free = limits.keep_free;
        if avail.saturating_sub(keep_free) < bytes {
            return Err(BeError::DiskFull(format!(
                "disk of {}: writing {bytes} bytes there needs more than the {avail} bytes free minus {keep_free} kept free (storage_min_left_capacity_bytes)",
                dir.display()
            )));
        }
        if total > 0 {
            let left = avail - bytes;
            let used_pct = (total - left) as f64 * 100.0 / total as f64;
            if used_pct >= f64::from(limits.flood_usage_percent) && left <= limits.flood_left_bytes {
                return Err(BeError::DiskFull(format!(
                    "reach the capacity limit of path {}, file_size={bytes}: {used_pct:.1}% used and {left} bytes left after it \
                     (storage_flood_stage_usage_percent = {}, storage_flood_stage_left_capacity_bytes = {})",
                    dir.display(),
                    limits.flood_usage_percent,
                    limits.flood_left_bytes
                )));
            }
        }
    }
    Ok(())
}
