//! MD5 of data files (served by the webserver, checked by pulls), remembered per
//! (canonical path, size, mtime) so that repeated listings and `acquire_md5` HEADs do
//! not re-read unchanged files.

use std::fs::Metadata;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use dashmap::DashMap;
use md5::{Digest, Md5};

/// Entries kept before the cache starts over; snapshot files come and go, and a few
/// hundred thousand short strings is a bounded amount of memory.
const MAX_ENTRIES: usize = 200_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    path: PathBuf,
    size: u64,
    mtime: Option<SystemTime>,
}

#[derive(Default)]
pub struct Md5Cache {
    map: DashMap<Key, String>,
}

impl Md5Cache {
    fn key(path: &Path, meta: &Metadata) -> Key {
        Key { path: path.to_path_buf(), size: meta.len(), mtime: meta.modified().ok() }
    }

    /// The remembered md5 of `path` as it was when `meta` was taken.
    pub fn get(&self, path: &Path, meta: &Metadata) -> Option<String> {
        self.map.get(&Self::key(path, meta)).map(|h| h.clone())
    }

    pub fn put(&self, path: &Path, meta: &Metadata, hex: String) {
        if self.map.len() >= MAX_ENTRIES {
            self.map.clear();
        }
        self.map.insert(Self::key(path, meta), hex);
    }

    /// Hex MD5 of the file at `path` (already canonical) whose metadata is `meta`.
    pub async fn md5(&self, path: &Path, meta: &Metadata) -> std::io::Result<String> {
        if let Some(hit) = self.get(path, meta) {
            return Ok(hit);
        }
        let p = path.to_path_buf();
        let (_, hex) = tokio::task::spawn_blocking(move || hash_file(&p))
            .await
            .map_err(|e| std::io::Error::other(format!("md5 task failed: {e}")))??;
        self.put(path, meta, hex.clone());
        Ok(hex)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// Read a whole file: (bytes read, hex MD5). Blocking.
pub fn hash_file(path: &Path) -> std::io::Result<(u64, String)> {
    let mut f = std::fs::File::open(path)?;
    hash_reader(&mut f, u64::MAX)
}

/// MD5 of at most `limit` bytes of `r`: (bytes read, hex MD5). Blocking.
pub fn hash_reader(r: &mut impl Read, limit: u64) -> std::io::Result<(u64, String)> {
    let (n, h) = hash_prefix(r, limit)?;
    Ok((n, hex::encode(h.finalize())))
}

/// Feed at most `limit` bytes of `r` into a fresh hasher, returned unfinished so a caller
/// can continue it (resumed downloads). Blocking.
pub fn hash_prefix(r: &mut impl Read, limit: u64) -> std::io::Result<(u64, Md5)> {
    let mut h = Md5::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    while total < limit {
        let want = usize::try_from((limit - total).min(buf.len() as u64)).unwrap_or(buf.len());
        let n = match r.read(&mut buf[..want]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        h.update(&buf[..n]);
        total += n as u64;
    }
    Ok((total, h))
}
