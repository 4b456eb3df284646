//! Large values stored as chunks: (owner id, part, seq) -> bytes.
//!
//! A record with an entry per tablet (a 300,000-tablet job's) is hundreds of MiB as one
//! value: serializing it whole needs a buffer that large, and redb keeps a page that large.
//! Cut in chunks, the bytes stream through a buffer of one chunk, and a chunk equal to the
//! stored one is not written again: a save rewrites only what changed.

use std::io;
use std::ops::RangeInclusive;

use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use serde::Serialize;

use super::meta_store::{storage, MetaError, MetaStore, Writer};

pub(super) const CHUNKS: TableDefinition<(i64, u32, u32), &[u8]> = TableDefinition::new("chunks");

/// Bytes per chunk: small enough that a write needs little memory and redb small pages,
/// large enough that a value has few of them.
pub const CHUNK_BYTES: usize = 256 << 10;

/// What [`Writer::put_streamed`] made of a value.
pub enum Streamed {
    /// It fits in one chunk: these bytes, not stored (the caller stores them).
    Small(Vec<u8>),
    /// Stored as this many chunks, of which `wrote` were written (the others were equal).
    Chunked { wrote: usize },
}

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

    /// Drop every chunk of `owner`'s `parts`.
    pub fn delete_chunks(&mut self, owner: i64, parts: RangeInclusive<u32>) -> Result<(), MetaError> {
        let mut t = self.txn.open_table(CHUNKS).map_err(storage)?;
        t.retain_in((owner, *parts.start(), 0)..=(owner, *parts.end(), u32::MAX), |_, _| false).map_err(storage)
    }

    /// Stream `value`'s JSON into chunks of `owner`'s `part`, through a buffer of one chunk.
    /// A value that fits in one chunk is handed back instead, nothing stored or dropped;
    /// otherwise the chunks a longer earlier value left past the end are dropped.
    pub fn put_streamed<T: Serialize>(&mut self, owner: i64, part: u32, value: &T, what: impl FnOnce() -> String) -> Result<Streamed, MetaError> {
        let mut sink = ChunkSink { w: self, owner, part, seq: 0, buf: Vec::new(), wrote: 0, failed: None };
        let res = serde_json::to_writer(&mut sink, value);
        if let Some(e) = sink.failed.take() {
            return Err(e);
        }
        res.map_err(|source| MetaError::Encode { what: what(), source })?;
        if sink.seq == 0 {
            return Ok(Streamed::Small(std::mem::take(&mut sink.buf)));
        }
        sink.cut()?;
        let (end, wrote) = (sink.seq, sink.wrote);
        self.delete_chunks_from(owner, part, end)?;
        Ok(Streamed::Chunked { wrote })
    }
}

/// Collects written bytes and stores each full chunk.
struct ChunkSink<'w, 'a> {
    w: &'w mut Writer<'a>,
    owner: i64,
    part: u32,
    seq: u32,
    buf: Vec<u8>,
    /// Chunks written (the others were stored already).
    wrote: usize,
    /// The store's error behind a failed write (io::Error cannot carry it).
    failed: Option<MetaError>,
}

impl ChunkSink<'_, '_> {
    /// Store what is buffered as the next chunk.
    fn cut(&mut self) -> Result<(), MetaError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        if self.w.put_chunk(self.owner, self.part, self.seq, &self.buf)? {
            self.wrote += 1;
        }
        self.seq += 1;
        self.buf.clear();
        Ok(())
    }
}

impl io::Write for ChunkSink<'_, '_> {
    fn write(&mut self, mut data: &[u8]) -> io::Result<usize> {
        let n = data.len();
        while !data.is_empty() {
            // Cut only once more bytes come: a value of exactly one chunk stays small.
            if self.buf.len() == CHUNK_BYTES {
                self.spill()?;
            }
            let take = (CHUNK_BYTES - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        Ok(n)
    }

    /// Chunks are cut by size only; the last one by `put_streamed`.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl ChunkSink<'_, '_> {
    fn spill(&mut self) -> io::Result<()> {
        self.cut().map_err(|e| {
            self.failed = Some(e);
            io::Error::other("meta store write failed")
        })
    }
}

/// `owner`'s `part`, its chunks joined, read in `txn`.
pub(super) fn joined(txn: &redb::ReadTransaction, owner: i64, part: u32) -> Result<Vec<u8>, MetaError> {
    let t = txn.open_table(CHUNKS).map_err(storage)?;
    let mut bytes = Vec::new();
    for entry in t.range((owner, part, 0)..=(owner, part, u32::MAX)).map_err(storage)? {
        bytes.extend_from_slice(entry.map_err(storage)?.1.value());
    }
    Ok(bytes)
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
        store.write(|w| w.delete_chunks(7, 0..=u32::MAX)).unwrap();
        assert!(store.read_chunks(7).unwrap().is_empty());
        assert_eq!(store.read_chunks(8).unwrap(), vec![(1, b"other".to_vec())]);
    }

    /// A record larger than a chunk goes to the chunks table and comes back whole; a
    /// smaller one later is stored inline again, and deleting it leaves no chunk.
    #[test]
    fn large_records_are_stored_in_chunks() {
        use crate::persist::{Kind, CHUNK_BYTES};
        let dir = tempfile::tempdir().unwrap();
        let store = MetaStore::open(dir.path()).unwrap();
        let big: Vec<String> = (0..3 * CHUNK_BYTES / 20).map(|i| format!("tablet-{i:012}")).collect();
        store.put(Kind::Table, 5, &big).unwrap();
        store.put(Kind::Database, 5, &"small").unwrap();
        assert_eq!(store.get::<Vec<String>>(Kind::Table, 5).unwrap().as_ref(), Some(&big));
        assert_eq!(store.load_all::<Vec<String>>(Kind::Table).unwrap(), vec![(5, big.clone())]);
        assert_eq!(store.get::<String>(Kind::Database, 5).unwrap().as_deref(), Some("small"));
        let parts = store.read_chunks(5).unwrap();
        assert_eq!(parts.len(), 1, "only the table is chunked");
        assert!(parts[0].1.len() > 2 * CHUNK_BYTES);

        store.put(Kind::Table, 5, &vec!["one".to_string()]).unwrap();
        assert!(store.read_chunks(5).unwrap().is_empty(), "a small record leaves no chunk behind");
        assert_eq!(store.get::<Vec<String>>(Kind::Table, 5).unwrap(), Some(vec!["one".to_string()]));
        store.put(Kind::Table, 5, &big).unwrap();
        store.delete(Kind::Table, 5).unwrap();
        assert!(store.read_chunks(5).unwrap().is_empty());
        assert_eq!(store.get::<Vec<String>>(Kind::Table, 5).unwrap(), None);
    }
}
