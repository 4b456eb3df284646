//! The `.hdr` file: a tablet meta as it travels inside a snapshot.
//!
//! Upstream writes a binary header followed by a protobuf `TabletMetaPB`; doris-rs uses its
//! own format, versioned and checksummed so that a truncated or damaged download is caught
//! before anything is installed. All integers are big-endian.
//!
//! ```text
//! offset  size  field
//! 0       8     magic, the ASCII bytes "DRSTMETA"
//! 8       4     format version, u32 (currently 1)
//! 12      8     body length in bytes, u64
//! 20      4     CRC-32 (IEEE, as zlib computes it) of the body, u32
//! 24      n     body: UTF-8 JSON of `TabletMeta` (field names as in tablet_meta.rs)
//! ```
//!
//! A reader refuses a newer format version rather than guess at it; JSON fields it does
//! not know are ignored, so adding optional fields does not need a new version.

use std::path::Path;

use super::fsutil;
use super::tablet_meta::TabletMeta;
use crate::error::{BeError, Result};

pub const MAGIC: &[u8; 8] = b"DRSTMETA";
pub const FORMAT_VERSION: u32 = 1;
pub const HEADER_LEN: usize = 24;

pub fn encode(meta: &TabletMeta) -> Result<Vec<u8>> {
    let body = serde_json::to_vec(meta).map_err(|e| BeError::Internal(format!("encode tablet meta: {e}")))?;
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_be_bytes());
    out.extend_from_slice(&(body.len() as u64).to_be_bytes());
    out.extend_from_slice(&crc32fast::hash(&body).to_be_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

pub fn decode(bytes: &[u8]) -> Result<TabletMeta> {
    if bytes.len() < HEADER_LEN {
        return Err(BeError::Corruption(format!(
            "tablet header truncated: {} bytes, the fixed header alone is {HEADER_LEN}",
            bytes.len()
        )));
    }
    if &bytes[0..8] != MAGIC {
        return Err(BeError::Corruption(format!(
            "not a doris-rs tablet header: bad magic {:02x?}",
            &bytes[0..8]
        )));
    }
    let version = u32::from_be_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if version > FORMAT_VERSION {
        return Err(BeError::Corruption(format!(
            "tablet header format version {version} is newer than the supported {FORMAT_VERSION}"
        )));
    }
    if version == 0 {
        return Err(BeError::Corruption("tablet header format version 0 is invalid".into()));
    }
    let len = u64::from_be_bytes(bytes[12..20].try_into().expect("8 bytes"));
    let crc = u32::from_be_bytes(bytes[20..24].try_into().expect("4 bytes"));
    let body = &bytes[HEADER_LEN..];
    if body.len() as u64 != len {
        return Err(BeError::Corruption(format!(
            "tablet header body length mismatch: header says {len} bytes, file has {}",
            body.len()
        )));
    }
    let actual = crc32fast::hash(body);
    if actual != crc {
        return Err(BeError::Corruption(format!(
            "tablet header checksum mismatch: expected {crc:08x}, computed {actual:08x}"
        )));
    }
    serde_json::from_slice(body).map_err(|e| BeError::Corruption(format!("tablet header body is not a tablet meta: {e}")))
}

pub fn read_file(path: &Path) -> Result<TabletMeta> {
    let bytes = std::fs::read(path).map_err(|e| fsutil::io(format!("read {}", path.display()), e))?;
    decode(&bytes).map_err(|e| match e {
        BeError::Corruption(m) => BeError::Corruption(format!("{}: {m}", path.display())),
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_hdr_roundtrip_and_checks() {
        let meta = TabletMeta::for_test(1, 3);
        let b = encode(&meta).unwrap();
        assert_eq!(decode(&b).unwrap(), meta);
        let mut v0 = b.clone();
        v0[8..12].copy_from_slice(&0u32.to_be_bytes());
        assert!(matches!(decode(&v0), Err(BeError::Corruption(_))));
        let mut longer = b.clone();
        longer.push(b' ');
        assert!(matches!(decode(&longer), Err(BeError::Corruption(m)) if m.contains("length")));
    }
}
