//! One storage root and its directory layout.

use std::path::PathBuf;

pub struct DataDir {
    pub root: PathBuf,
    /// Stable id of the root, reported as `path_hash`.
    pub path_hash: i64,
}
