//! Large values stored as chunks: (owner id, part, seq) -> bytes.
//!
//! A record with an entry per tablet (a 300,000-tablet job's) is hundreds of MiB as one
//! value: serializing it whole needs a buffer that large, and redb keeps a page that large.
//! Cut in chunks, the bytes stream through a buffer of one chunk, and a chunk equal to the
//! stored one is not written again: a save rewrites only what changed.

use redb::{ReadableDatabase, ReadableTable, TableDefinition};

use super::meta_store::{storage, MetaError, MetaStore, Writer};

pub(super) const CHUNKS: TableDefinition<(i64, u32, u32), &[u8]> = TableDefinition::new("chunks");

impl Writer<'_> {
    /// Store chunk `seq` of `owner`'s `part`, unless the stored one has these bytes.
    /// Returns whether it wrote.
    pub fn put_chunk(&mut self, owner: i64, part: u32, seq: u32, bytes: &[u8]) -> Result<bool, MetaError> {
        let mut t = self.txn.open_table(CHUNKS).map_err(storage)?;
        if t.get((owner, part, seq)).map_err(storage)?.is_some_and(|g| g.value() == bytes) {
            return Ok(false);
        }
        t.insert((owner, part, seq), bytes).map_err(storage)?;
        Ok(true)
    }

    /// Drop the chunks of `owner`'s `part` from `seq` on (what a shorter value left over).
    pub fn delete_chunks_from(&mut self, owner: i64, part: u32, seq: u32) -> Result<(), MetaError> {
        let mut t = self.txn.open_table(CHUNKS).map_err(storage)?;
        t.retain_in((owner, part, seq)..=(owner, part, u32::MAX), |_, _| false).map_err(storage)
    }

    /// Drop every chunk of `owner`.
    pub fn delete_chunks_of(&mut self, owner: i64) -> Result<(), MetaError> {
        let mut t = self.txn.open_table(CHUNKS).map_err(storage)?;
        t.retain_in((owner, 0, 0)..=(owner, u32::MAX, u32::MAX), |_, _| false).map_err(storage)
    }
}

impl MetaStore {
    /// `owner`'s parts, each its chunks joined in order: (part, bytes), by part.
    pub fn read_chunks(&self, owner: i64) -> Result<Vec<(u32, Vec<u8>)>, MetaError> {
        self.with_db(|db| {
            let txn = db.begin_read().map_err(storage)?;
            let t = txn.open_table(CHUNKS).map_err(storage)?;
            let mut out: Vec<(u32, Vec<u8>)> = Vec::new();
            for entry in t.range((owner, 0, 0)..=(owner, u32::MAX, u32::MAX)).map_err(storage)? {
                let (k, v) = entry.map_err(storage)?;
                let (_, part, _) = k.value();
                match out.last_mut() {
                    Some((p, bytes)) if *p == part => bytes.extend_from_slice(v.value()),
                    _ => out.push((part, v.value().to_vec())),
                }
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::persist::MetaStore;

    #[test]
    fn chunks_join_by_part_and_equal_ones_are_not_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let store = MetaStore::open(dir.path()).unwrap();
        let wrote = store
            .write(|w| {
                Ok([
                    w.put_chunk(7, 1, 0, b"ab")?,
                    w.put_chunk(7, 1, 1, b"cd")?,
                    w.put_chunk(7, 2, 0, b"x")?,
                    w.put_chunk(8, 1, 0, b"other")?,
                ])
            })
            .unwrap();
        assert_eq!(wrote, [true; 4]);
        assert_eq!(store.read_chunks(7).unwrap(), vec![(1, b"abcd".to_vec()), (2, b"x".to_vec())]);

        let again = store.write(|w| Ok((w.put_chunk(7, 1, 0, b"ab")?, w.put_chunk(7, 1, 1, b"ce")?))).unwrap();
        assert_eq!(again, (false, true), "only the changed chunk is written");
        store.write(|w| w.delete_chunks_from(7, 1, 1)).unwrap();
        assert_eq!(store.read_chunks(7).unwrap(), vec![(1, b"ab".to_vec()), (2, b"x".to_vec())]);
        store.write(|w| w.delete_chunks_of(7)).unwrap();
        assert!(store.read_chunks(7).unwrap().is_empty());
        assert_eq!(store.read_chunks(8).unwrap(), vec![(1, b"other".to_vec())]);
    }
}
