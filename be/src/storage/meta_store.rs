//! Tablet metas of one root in redb: `<root>/meta/tablet_meta.redb`, table `tablet_meta`,
//! key = tablet id, value = JSON of `TabletMeta`. Every change is durable when its call
//! returns, and after a crash a tablet's meta is either the old or the new one.
//!
//! Changes made at the same time by several task workers share one write transaction
//! (group commit): redb takes one writer at a time and each commit costs an fsync, so
//! committing them one by one made the fsyncs, not the work, set the pace of CREATE, MOVE
//! and PUBLISH across many tablets.
//!
//! An I/O error in a commit (a full disk) makes redb refuse every later transaction
//! (`PreviousIo`) until the database is opened again, which would leave the BE unable to
//! change any tablet until restarted. The store reopens it instead (redb repairs the file
//! as after a crash): the failed change is reported to its callers and is not in the
//! store; later changes work again once the disk has room.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, RwLock};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::tablet_meta::TabletMeta;
use crate::error::{BeError, Result};

const TABLETS: TableDefinition<i64, &[u8]> = TableDefinition::new("tablet_meta");
/// BE-wide values next to the tablets (key = what it is); see `policy` for the one held.
const BE_STATE: TableDefinition<&str, &[u8]> = TableDefinition::new("be_state");
const KEY_STORAGE_POLICIES: &str = "storage_policies";
/// redb's page cache per root. Its default (1 GiB) grew with the metas written and was
/// most of a BE's resident set at 100,000 tablets; reads past it come from the OS page
/// cache, and the engine keeps every meta in memory anyway.
const CACHE_BYTES: usize = 64 << 20;

pub struct MetaStore {
    /// None while an I/O error left it closed and reopening has not succeeded yet.
    db: RwLock<Option<Database>>,
    path: PathBuf,
    group: Mutex<Group>,
    group_done: Condvar,
}

/// One change of a tablet's row.
enum Change {
    Put(i64, Vec<u8>),
    Delete(i64),
}

/// Changes waiting for the next commit, numbered in the order they came.
#[derive(Default)]
struct Group {
    queue: Vec<(u64, Change)>,
    last_ticket: u64,
    /// Every change numbered up to this one has been committed or has failed.
    done_upto: u64,
    /// A caller is committing a batch now.
    writing: bool,
    /// Changes whose commit failed, with why.
    failed: HashMap<u64, BeError>,
}

fn db_err(path: &Path, what: &str, e: impl Into<redb::Error>) -> BeError {
    let e: redb::Error = e.into();
    let context = format!("tablet meta store {}: {what}", path.display());
    match e {
        // `BeError::io` makes a full disk `DiskFull`.
        redb::Error::Io(io) => BeError::io(context, io),
        redb::Error::PreviousIo => BeError::io(context, std::io::Error::other("an earlier write failed")),
        e => BeError::Internal(format!("{context}: {e}")),
    }
}

/// An error after which redb refuses every transaction until the database is reopened.
fn needs_reopen(e: &BeError) -> bool {
    matches!(e, BeError::DiskFull(_) | BeError::Io { .. })
}

fn open_db(path: &Path) -> Result<Database> {
    redb::Builder::new().set_cache_size(CACHE_BYTES).create(path).map_err(|e| db_err(path, "open", e))
}

impl MetaStore {
    /// Open or create the store; the table is created so reads never miss it.
    pub fn open(path: &Path) -> Result<MetaStore> {
        let db = open_db(path)?;
        let tx = db.begin_write().map_err(|e| db_err(path, "begin", e))?;
        tx.open_table(TABLETS).map_err(|e| db_err(path, "open table", e))?;
        tx.open_table(BE_STATE).map_err(|e| db_err(path, "open table", e))?;
        tx.commit().map_err(|e| db_err(path, "commit", e))?;
        Ok(MetaStore {
            db: RwLock::new(Some(db)),
            path: path.to_path_buf(),
            group: Mutex::new(Group::default()),
            group_done: Condvar::new(),
        })
    }

    /// Run `f` on the database. After an I/O error the database is reopened (the error is
    /// still returned: that change did not happen); a store left closed by a reopen that
    /// failed is reopened first.
    fn with_db<R>(&self, f: impl FnOnce(&Database) -> Result<R>) -> Result<R> {
        if self.db.read().unwrap_or_else(|e| e.into_inner()).is_none() {
            self.reopen()?;
        }
        let r = match self.db.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
            Some(db) => f(db),
            None => Err(BeError::Internal(format!("tablet meta store {} is closed", self.path.display()))),
        };
        if let Err(e) = &r {
            if needs_reopen(e) {
                tracing::error!(path = %self.path.display(), error = %e, "tablet meta store write failed; reopening it");
                if let Err(e) = self.reopen() {
                    tracing::error!(path = %self.path.display(), error = %e, "cannot reopen the tablet meta store; retrying on its next use");
                }
            }
        }
        r
    }

    fn reopen(&self) -> Result<()> {
        let mut db = self.db.write().unwrap_or_else(|e| e.into_inner());
        // The old handle goes first: it holds the file's lock. Transactions all run under
        // the read lock, so none is live.
        *db = None;
        *db = Some(open_db(&self.path)?);
        tracing::info!(path = %self.path.display(), "tablet meta store reopened");
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn put(&self, meta: &TabletMeta) -> Result<()> {
        let value = serde_json::to_vec(meta).map_err(|e| BeError::Internal(format!("encode tablet meta: {e}")))?;
        self.apply(Change::Put(meta.tablet_id, value))
    }

    pub fn delete(&self, tablet_id: i64) -> Result<()> {
        self.apply(Change::Delete(tablet_id))
    }

    /// Queue a change and return once a commit holding it is durable. Whoever finds no
    /// commit under way commits everything queued so far, its own change included; the
    /// others wait for that commit (or, when theirs came too late for it, for the next).
    fn apply(&self, change: Change) -> Result<()> {
        let mut g = self.group.lock().unwrap_or_else(|e| e.into_inner());
        g.last_ticket += 1;
        let mine = g.last_ticket;
        g.queue.push((mine, change));
        loop {
            if g.done_upto >= mine {
                return match g.failed.remove(&mine) {
                    Some(e) => Err(e),
                    None => Ok(()),
                };
            }
            if g.writing {
                g = self.group_done.wait(g).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            g.writing = true;
            let batch = std::mem::take(&mut g.queue);
            drop(g);
            let failures = self.commit_batch(&batch);
            g = self.group.lock().unwrap_or_else(|e| e.into_inner());
            g.writing = false;
            g.failed.extend(failures);
            // Tickets are queued in order and batches are taken whole, one at a time.
            if let Some((last, _)) = batch.last() {
                g.done_upto = g.done_upto.max(*last);
            }
            self.group_done.notify_all();
        }
    }

    /// Commit a batch in one transaction. Should that fail with more than one change in
    /// it, each is committed alone, so one bad change fails only its own caller.
    fn commit_batch(&self, batch: &[(u64, Change)]) -> Vec<(u64, BeError)> {
        match self.commit_changes(batch.iter().map(|(_, c)| c)) {
            Ok(()) => Vec::new(),
            Err(e) if batch.len() == 1 => vec![(batch[0].0, e)],
            Err(_) => batch
                .iter()
                .filter_map(|(t, c)| self.commit_changes(std::iter::once(c)).err().map(|e| (*t, e)))
                .collect(),
        }
    }

    fn commit_changes<'a>(&self, changes: impl Iterator<Item = &'a Change>) -> Result<()> {
        self.with_db(|db| Self::commit_in(db, &self.path, changes))
    }

    fn commit_in<'a>(db: &Database, path: &Path, changes: impl Iterator<Item = &'a Change>) -> Result<()> {
        let tx = db.begin_write().map_err(|e| db_err(path, "begin", e))?;
        {
            let mut t = tx.open_table(TABLETS).map_err(|e| db_err(path, "open table", e))?;
            for c in changes {
                match c {
                    Change::Put(id, value) => {
                        t.insert(*id, value.as_slice()).map_err(|e| db_err(path, "insert", e))?;
                    }
                    Change::Delete(id) => {
                        t.remove(*id).map_err(|e| db_err(path, "remove", e))?;
                    }
                }
            }
        }
        tx.commit().map_err(|e| db_err(path, "commit", e))
    }

    pub fn get(&self, tablet_id: i64) -> Result<Option<TabletMeta>> {
        self.with_db(|db| {
            let tx = db.begin_read().map_err(|e| db_err(&self.path, "begin read", e))?;
            let t = tx.open_table(TABLETS).map_err(|e| db_err(&self.path, "open table", e))?;
            match t.get(tablet_id).map_err(|e| db_err(&self.path, "get", e))? {
                Some(v) => Ok(Some(decode(tablet_id, v.value())?)),
                None => Ok(None),
            }
        })
    }

    pub fn load_all(&self) -> Result<Vec<TabletMeta>> {
        self.with_db(|db| {
            let tx = db.begin_read().map_err(|e| db_err(&self.path, "begin read", e))?;
            let t = tx.open_table(TABLETS).map_err(|e| db_err(&self.path, "open table", e))?;
            let mut out = Vec::new();
            for row in t.iter().map_err(|e| db_err(&self.path, "iterate", e))? {
                let (k, v) = row.map_err(|e| db_err(&self.path, "read", e))?;
                out.push(decode(k.value(), v.value())?);
            }
            Ok(out)
        })
    }
}

impl MetaStore {
    /// The encoded storage policy set, one durable write.
    pub fn put_storage_policies(&self, value: &[u8]) -> Result<()> {
        self.with_db(|db| {
            let tx = db.begin_write().map_err(|e| db_err(&self.path, "begin", e))?;
            {
                let mut t = tx.open_table(BE_STATE).map_err(|e| db_err(&self.path, "open table", e))?;
                t.insert(KEY_STORAGE_POLICIES, value).map_err(|e| db_err(&self.path, "insert", e))?;
            }
            tx.commit().map_err(|e| db_err(&self.path, "commit", e))
        })
    }

    pub fn get_storage_policies(&self) -> Result<Option<Vec<u8>>> {
        self.with_db(|db| {
            let tx = db.begin_read().map_err(|e| db_err(&self.path, "begin read", e))?;
            let t = tx.open_table(BE_STATE).map_err(|e| db_err(&self.path, "open table", e))?;
            let v = t.get(KEY_STORAGE_POLICIES).map_err(|e| db_err(&self.path, "get", e))?;
            Ok(v.map(|v| v.value().to_vec()))
        })
    }
}

fn decode(tablet_id: i64, bytes: &[u8]) -> Result<TabletMeta> {
    let meta: TabletMeta = serde_json::from_slice(bytes)
        .map_err(|e| BeError::Corruption(format!("tablet {tablet_id}: stored meta does not decode: {e}")))?;
    if meta.tablet_id != tablet_id {
        return Err(BeError::Corruption(format!("meta stored under tablet {tablet_id} names tablet {}", meta.tablet_id)));
    }
    Ok(meta)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// Many writers at once: every change is in the store once its call returned, also
    /// after the store is reopened, and deletes and rewrites land in call order per tablet.
    #[test]
    fn meta_store_group_commit_keeps_every_change() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tablet_meta.redb");
        let store = Arc::new(MetaStore::open(&path).unwrap());
        let threads: Vec<_> = (0..8i64)
            .map(|w| {
                let store = store.clone();
                std::thread::spawn(move || {
                    for i in 0..150i64 {
                        let id = w * 1000 + i;
                        store.put(&TabletMeta::for_test(id, 1)).unwrap();
                        assert_eq!(store.get(id).unwrap().map(|m| m.replica_id), Some(1), "visible once put returned");
                        if i % 3 == 0 {
                            store.delete(id).unwrap();
                        } else if i % 3 == 1 {
                            store.put(&TabletMeta::for_test(id, 2)).unwrap();
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        drop(store);
        let reopened = MetaStore::open(&path).unwrap();
        let all = reopened.load_all().unwrap();
        assert_eq!(all.len(), 8 * 100);
        for m in all {
            let i = m.tablet_id % 1000;
            assert_ne!(i % 3, 0, "tablet {} was deleted", m.tablet_id);
            assert_eq!(m.replica_id, if i % 3 == 1 { 2 } else { 1 }, "tablet {}", m.tablet_id);
        }
    }
}
