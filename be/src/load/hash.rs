//! Which bucket (tablet) a row goes to: a CRC-32 chained over the distribution columns'
//! values, modulo the bucket count. Each value is hashed in a fixed byte form (integers in
//! their column width, little-endian; strings as their bytes; NULL adds nothing), so the
//! same row always lands in the same bucket, on every BE and across versions.

use super::types::{Cell, ColKind};

/// The bytes a value is hashed as.
fn value_bytes(cell: &Cell, kind: &ColKind, buf: &mut Vec<u8>) {
    buf.clear();
    match cell {
        Cell::Null => {}
        Cell::Bool(b) => buf.push(*b as u8),
        Cell::Int(v) => match kind {
            ColKind::TinyInt => buf.extend_from_slice(&(*v as i8).to_le_bytes()),
            ColKind::SmallInt => buf.extend_from_slice(&(*v as i16).to_le_bytes()),
            ColKind::Int => buf.extend_from_slice(&(*v as i32).to_le_bytes()),
            _ => buf.extend_from_slice(&v.to_le_bytes()),
        },
        Cell::Large(v) | Cell::Decimal(v) => buf.extend_from_slice(&v.to_le_bytes()),
        Cell::Float(f) => buf.extend_from_slice(&f.to_le_bytes()),
        Cell::Date(d) => buf.extend_from_slice(&d.to_le_bytes()),
        Cell::DateTime(m) => buf.extend_from_slice(&m.to_le_bytes()),
        Cell::Str(s) => buf.extend_from_slice(s.as_bytes()),
        // Not a distribution column type upstream; hashed by its stored form all the same.
        Cell::Array(_) | Cell::Map(_) | Cell::Struct(_) => {
            buf.extend_from_slice(super::complex::to_stored(cell).to_string().as_bytes())
        }
    }
}

/// The row's hash over the columns at `idx` (with their kinds).
pub fn row_hash(row: &[Cell], idx: &[(usize, ColKind)]) -> u32 {
    let mut h: u32 = 0;
    let mut buf = Vec::with_capacity(16);
    for (i, kind) in idx {
        value_bytes(&row[*i], kind, &mut buf);
        let mut hasher = crc32fast::Hasher::new_with_initial(h);
        hasher.update(&buf);
        h = hasher.finalize();
    }
    h
}

/// The bucket of a row among `buckets`. With no distribution columns (RANDOM), the row's
/// ordinal spreads rows round-robin.
pub fn bucket_of(row: &[Cell], idx: &[(usize, ColKind)], buckets: u32, ordinal: u64) -> usize {
    let buckets = buckets.max(1);
    if idx.is_empty() {
        return (ordinal % buckets as u64) as usize;
    }
    (row_hash(row, idx) % buckets) as usize
}
