//! The BE's tablet header (`.hdr`, in every snapshot and read back when one is installed or
//! a pulled snapshot is checked): `storage::hdr::decode`.

use doris_be::storage::hdr::{decode, FORMAT_VERSION, MAGIC};

/// Input: a mode byte, then the file. Mode bit 0: the rest is only the body, wrapped here in
/// a well-formed header (magic, version, length, checksum) so inputs reach the JSON body
/// that a checksum would otherwise keep them from.
pub fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode & 1 == 0 {
        let _ = decode(rest);
        return;
    }
    let mut file = Vec::with_capacity(24 + rest.len());
    file.extend_from_slice(MAGIC);
    file.extend_from_slice(&FORMAT_VERSION.to_be_bytes());
    file.extend_from_slice(&(rest.len() as u64).to_be_bytes());
    file.extend_from_slice(&crc32(rest).to_be_bytes());
    file.extend_from_slice(rest);
    let _ = decode(&file);
}

/// CRC-32 (IEEE), bitwise: a few lines rather than a dependency for the harness.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}
