//! The meta store: redb tables of JSON values, one write transaction per change.
//!
//! Ids come from a generator whose ceiling is persisted a batch ahead: after a crash the
//! generator restarts at the stored ceiling, so an id handed out before the crash is
//! never handed out again (some ids are skipped, which is harmless).
//!
//! An I/O error in a commit (a full disk, say) leaves redb refusing every later
//! transaction with `PreviousIo` until the database is opened again. The store then
//! reopens itself (redb repairs the file as after a crash): the failed change is lost and
//! reported to its caller, later changes work again once the disk does.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Cluster facts and the id ceiling, keyed by name.
const CLUSTER: TableDefinition<&str, &str> = TableDefinition::new("cluster");
const BACKENDS: TableDefinition<i64, &str> = TableDefinition::new("backends");
const DATABASES: TableDefinition<i64, &str> = TableDefinition::new("databases");
const TABLES: TableDefinition<i64, &str> = TableDefinition::new("tables");
const JOBS: TableDefinition<i64, &str> = TableDefinition::new("jobs");
/// Binlog entries by commit seq (CCR).
const BINLOGS: TableDefinition<i64, &str> = TableDefinition::new("binlogs");
/// Per database: how far its binlogs were collected.
const BINLOG_GC: TableDefinition<i64, &str> = TableDefinition::new("binlog_gc");
const REPOSITORIES: TableDefinition<&str, &str> = TableDefinition::new("repositories");
const LOCAL_SNAPSHOTS: TableDefinition<&str, &str> = TableDefinition::new("local_snapshots");
const RESOURCES: TableDefinition<&str, &str> = TableDefinition::new("resources");
const STORAGE_POLICIES: TableDefinition<&str, &str> = TableDefinition::new("storage_policies");
const USERS: TableDefinition<&str, &str> = TableDefinition::new("users");
const ROLES: TableDefinition<&str, &str> = TableDefinition::new("roles");
const WORKLOAD_GROUPS: TableDefinition<&str, &str> = TableDefinition::new("workload_groups");

const FILE_NAME: &str = "doris-rs-meta.redb";
/// Upstream's catalog ids start above 10000 as well; small ids stay free for fixed objects.
const FIRST_ID: i64 = 10_000;
const ID_BATCH: i64 = 1_000;

/// Id-keyed record kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Backend,
    Database,
    Table,
    Job,
    Binlog,
    BinlogGc,
}

/// What a record too large for one chunk holds in its table: its JSON is in the chunks
/// table (a string no record serializes to: records are objects).
const CHUNKED: &str = "\"\\u0000chunked\"";

impl Kind {
    /// The part its large records take in the chunks table (job parts are below 100).
    /// Stored: never change one.
    fn chunk_part(self) -> u32 {
        match self {
            Kind::Backend => 100,
            Kind::Database => 101,
            Kind::Table => 102,
            Kind::Job => 103,
            Kind::Binlog => 104,
            Kind::BinlogGc => 105,
        }
    }

    fn def(self) -> TableDefinition<'static, i64, &'static str> {
        match self {
            Kind::Backend => BACKENDS,
            Kind::Database => DATABASES,
            Kind::Table => TABLES,
            Kind::Job => JOBS,
            Kind::Binlog => BINLOGS,
            Kind::BinlogGc => BINLOG_GC,
        }
    }
}

/// Name-keyed record kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Named {
    Repository,
    LocalSnapshot,
    Resource,
    StoragePolicy,
    User,
    Role,
    WorkloadGroup,
}

impl Named {
    fn def(self) -> TableDefinition<'static, &'static str, &'static str> {
        match self {
            Named::Repository => REPOSITORIES,
            Named::LocalSnapshot => LOCAL_SNAPSHOTS,
            Named::Resource => RESOURCES,
            Named::StoragePolicy => STORAGE_POLICIES,
            Named::User => USERS,
            Named::Role => ROLES,
            Named::WorkloadGroup => WORKLOAD_GROUPS,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    #[error("cannot create the meta directory {path}: {source}")]
    Dir { path: PathBuf, source: std::io::Error },
    #[error("meta store {path}: {source}")]
    Open { path: PathBuf, source: redb::DatabaseError },
    #[error("meta store: {0}")]
    Storage(#[from] redb::Error),
    /// An I/O failure of the store's file (a full disk): named, so the error says where.
    #[error("meta store {path}: {source}")]
    Disk { path: PathBuf, source: redb::Error },
    #[error("meta store record {what} does not decode: {source}")]
    Decode { what: String, source: serde_json::Error },
    #[error("cannot encode {what}: {source}")]
    Encode { what: String, source: serde_json::Error },
    #[error("fe.conf sets cluster_id = {configured} but the meta store at {path} belongs to cluster {stored}")]
    ClusterMismatch { configured: i32, stored: i32, path: PathBuf },
}

impl MetaError {
    /// An I/O failure after which redb refuses every transaction until reopened.
    fn needs_reopen(&self) -> bool {
        matches!(self, MetaError::Storage(redb::Error::Io(_) | redb::Error::PreviousIo) | MetaError::Disk { .. })
    }
}

pub(super) fn storage(e: impl Into<redb::Error>) -> MetaError {
    MetaError::Storage(e.into())
}

/// Opens the database: the file under `meta_dir`, or another backend in tests.
type Opener = Box<dyn Fn() -> Result<Database, redb::DatabaseError> + Send + Sync>;

/// What identifies this cluster to its BEs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterInfo {
    pub cluster_id: i32,
    /// Checked by BEs on downloads; generated once.
    pub token: String,
    /// Incremented on every start so BEs can tell a restarted master from a stale one.
    pub epoch: i64,
}

struct Ids {
    next: i64,
    ceiling: i64,
}

pub struct MetaStore {
    /// None while an I/O error left it closed and reopening has not succeeded yet.
    db: RwLock<Option<Database>>,
    open: Opener,
    path: PathBuf,
    ids: Mutex<Ids>,
}

impl std::fmt::Debug for MetaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetaStore").field("path", &self.path).finish_non_exhaustive()
    }
}

/// Writes inside one transaction; see [`MetaStore::write`].
pub struct Writer<'a> {
    pub(super) txn: &'a WriteTransaction,
}

impl Writer<'_> {
    /// A record larger than a chunk (a table of 300,000 tablets is a hundred MiB) streams
    /// into the chunks table instead of one buffer and one redb page of its size.
    pub fn put<T: Serialize>(&mut self, kind: Kind, id: i64, value: &T) -> Result<(), MetaError> {
        let json = match self.put_streamed(id, kind.chunk_part(), value, || format!("{kind:?} {id}"))? {
            super::Streamed::Small(bytes) => {
                self.delete_chunks_from(id, kind.chunk_part(), 0)?;
                String::from_utf8(bytes).expect("serde_json writes UTF-8")
            }
            super::Streamed::Chunked { .. } => CHUNKED.to_string(),
        };
        let mut t = self.txn.open_table(kind.def()).map_err(storage)?;
        t.insert(id, json.as_str()).map_err(storage)?;
        Ok(())
    }

    pub fn delete(&mut self, kind: Kind, id: i64) -> Result<(), MetaError> {
        let mut t = self.txn.open_table(kind.def()).map_err(storage)?;
        t.remove(id).map_err(storage)?;
        self.delete_chunks_from(id, kind.chunk_part(), 0)
    }

    pub fn put_named<T: Serialize>(&mut self, kind: Named, name: &str, value: &T) -> Result<(), MetaError> {
        let json = serde_json::to_string(value)
            .map_err(|source| MetaError::Encode { what: format!("{kind:?} {name}"), source })?;
        let mut t = self.txn.open_table(kind.def()).map_err(storage)?;
        t.insert(name, json.as_str()).map_err(storage)?;
        Ok(())
    }

    pub fn delete_named(&mut self, kind: Named, name: &str) -> Result<(), MetaError> {
        let mut t = self.txn.open_table(kind.def()).map_err(storage)?;
        t.remove(name).map_err(storage)?;
        Ok(())
    }
}

/// redb's page cache for the FE meta. Its default (1 GiB) filled with the pages of large
/// job records (a 100,000-tablet backup's record is tens of MiB, rewritten at each step)
/// and made up most of the FE's resident set; the OS page cache serves reads past this.
const META_CACHE_BYTES: usize = 32 << 20;

impl MetaStore {
    /// Open (or create) the store under `meta_dir`.
    pub fn open(meta_dir: &Path) -> Result<Self, MetaError> {
        std::fs::create_dir_all(meta_dir).map_err(|source| MetaError::Dir { path: meta_dir.into(), source })?;
        let path = meta_dir.join(FILE_NAME);
        let file = path.clone();
        Self::open_with(path, Box::new(move || redb::Builder::new().set_cache_size(META_CACHE_BYTES).create(&file)))
    }

    fn open_with(path: PathBuf, open: Opener) -> Result<Self, MetaError> {
        let db = open().map_err(|source| MetaError::Open { path: path.clone(), source })?;
        let txn = db.begin_write().map_err(storage)?;
        let ceiling = {
            for def in [BACKENDS, DATABASES, TABLES, JOBS, BINLOGS, BINLOG_GC] {
                txn.open_table(def).map_err(storage)?;
            }
            for def in [REPOSITORIES, LOCAL_SNAPSHOTS, RESOURCES, STORAGE_POLICIES, USERS, ROLES, WORKLOAD_GROUPS] {
                txn.open_table(def).map_err(storage)?;
            }
            txn.open_table(super::chunks::CHUNKS).map_err(storage)?;
            let t = txn.open_table(CLUSTER).map_err(storage)?;
            let v = t.get("id_ceiling").map_err(storage)?.map(|g| g.value().to_string());
            v.and_then(|s| s.parse::<i64>().ok()).unwrap_or(FIRST_ID)
        };
        txn.commit().map_err(storage)?;
        // Start at the stored ceiling: ids below it may have been handed out before a crash.
        Ok(MetaStore { db: RwLock::new(Some(db)), open, path, ids: Mutex::new(Ids { next: ceiling, ceiling }) })
    }

    /// Run `f` on the database. After an I/O error the database is reopened (the error is
    /// still returned: that change did not happen); a store left closed by a reopen that
    /// failed is reopened first. `f` must not use the store itself.
    pub(super) fn with_db<R>(&self, f: impl FnOnce(&Database) -> Result<R, MetaError>) -> Result<R, MetaError> {
        if self.db.read().unwrap().is_none() {
            self.reopen()?;
        }
        let r = match self.db.read().unwrap().as_ref() {
            Some(db) => f(db),
            None => Err(MetaError::Storage(redb::Error::DatabaseClosed)),
        };
        let r = r.map_err(|e| match e {
            MetaError::Storage(source @ (redb::Error::Io(_) | redb::Error::PreviousIo)) => {
                MetaError::Disk { path: self.path.clone(), source }
            }
            e => e,
        });
        if let Err(e) = &r {
            if e.needs_reopen() {
                tracing::error!(path = %self.path.display(), error = %e, "meta store write failed; reopening it");
                if let Err(e) = self.reopen() {
                    tracing::error!(path = %self.path.display(), error = %e, "cannot reopen the meta store; retrying on its next use");
                }
            }
        }
        r
    }

    fn reopen(&self) -> Result<(), MetaError> {
        let mut db = self.db.write().unwrap();
        // The old handle goes first: it holds the file's lock. No transaction is live,
        // they all run under the read lock.
        *db = None;
        *db = Some((self.open)().map_err(|source| MetaError::Open { path: self.path.clone(), source })?);
        tracing::info!(path = %self.path.display(), "meta store reopened");
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A fresh id, never returned before by this store, crash or not.
    pub fn next_id(&self) -> Result<i64, MetaError> {
        let mut ids = self.ids.lock().unwrap();
        if ids.next >= ids.ceiling {
            let ceiling = ids.next + ID_BATCH;
            self.with_db(|db| {
                let txn = db.begin_write().map_err(storage)?;
                {
                    let mut t = txn.open_table(CLUSTER).map_err(storage)?;
                    t.insert("id_ceiling", ceiling.to_string().as_str()).map_err(storage)?;
                }
                txn.commit().map_err(storage)
            })?;
            ids.ceiling = ceiling;
        }
        let id = ids.next;
        ids.next += 1;
        Ok(id)
    }

    /// Read or create the cluster identity and bump the epoch, in one transaction.
    pub fn start_epoch(&self, configured_cluster_id: Option<i32>) -> Result<ClusterInfo, MetaError> {
        self.with_db(|db| self.start_epoch_in(db, configured_cluster_id))
    }

    fn start_epoch_in(&self, db: &Database, configured_cluster_id: Option<i32>) -> Result<ClusterInfo, MetaError> {
        let txn = db.begin_write().map_err(storage)?;
        let info = {
            let mut t = txn.open_table(CLUSTER).map_err(storage)?;
            let get = |t: &redb::Table<&str, &str>, k: &str| -> Result<Option<String>, MetaError> {
                Ok(t.get(k).map_err(storage)?.map(|g| g.value().to_string()))
            };
            let stored_id = get(&t, "cluster_id")?.and_then(|s| s.parse::<i32>().ok());
            let cluster_id = match (stored_id, configured_cluster_id) {
                (Some(s), Some(c)) if s != c => {
                    return Err(MetaError::ClusterMismatch { configured: c, stored: s, path: self.path.clone() })
                }
                (Some(s), _) => s,
                (None, Some(c)) => c,
                // Upstream draws a random positive int as well.
                (None, None) => rand::Rng::gen_range(&mut rand::thread_rng(), 1..i32::MAX),
            };
            let token = match get(&t, "token")? {
                Some(tok) if !tok.is_empty() => tok,
                _ => uuid::Uuid::new_v4().to_string(),
            };
            let epoch = get(&t, "epoch")?.and_then(|s| s.parse::<i64>().ok()).unwrap_or(0) + 1;
            t.insert("cluster_id", cluster_id.to_string().as_str()).map_err(storage)?;
            t.insert("token", token.as_str()).map_err(storage)?;
            t.insert("epoch", epoch.to_string().as_str()).map_err(storage)?;
            ClusterInfo { cluster_id, token, epoch }
        };
        txn.commit().map_err(storage)?;
        Ok(info)
    }

    /// Apply several changes atomically: all of them or none.
    pub fn write<R>(&self, f: impl FnOnce(&mut Writer<'_>) -> Result<R, MetaError>) -> Result<R, MetaError> {
        self.with_db(|db| {
            let txn = db.begin_write().map_err(storage)?;
            let r = f(&mut Writer { txn: &txn })?;
            txn.commit().map_err(storage)?;
            Ok(r)
        })
    }

    pub fn put<T: Serialize>(&self, kind: Kind, id: i64, value: &T) -> Result<(), MetaError> {
        self.write(|w| w.put(kind, id, value))
    }

    pub fn delete(&self, kind: Kind, id: i64) -> Result<(), MetaError> {
        self.write(|w| w.delete(kind, id))
    }

    pub fn get<T: DeserializeOwned>(&self, kind: Kind, id: i64) -> Result<Option<T>, MetaError> {
        self.with_db(|db| {
            let txn = db.begin_read().map_err(storage)?;
            let t = txn.open_table(kind.def()).map_err(storage)?;
            let Some(g) = t.get(id).map_err(storage)? else { return Ok(None) };
            decode(&txn, kind, id, g.value()).map(Some)
        })
    }

    /// Every record of a kind, in id order.
    pub fn load_all<T: DeserializeOwned>(&self, kind: Kind) -> Result<Vec<(i64, T)>, MetaError> {
        self.with_db(|db| {
            let txn = db.begin_read().map_err(storage)?;
            let t = txn.open_table(kind.def()).map_err(storage)?;
            let mut out = Vec::new();
            for entry in t.iter().map_err(storage)? {
                let (k, v) = entry.map_err(storage)?;
                let id = k.value();
                out.push((id, decode(&txn, kind, id, v.value())?));
            }
            Ok(out)
        })
    }

    pub fn put_named<T: Serialize>(&self, kind: Named, name: &str, value: &T) -> Result<(), MetaError> {
        self.write(|w| w.put_named(kind, name, value))
    }

    pub fn delete_named(&self, kind: Named, name: &str) -> Result<(), MetaError> {
        self.write(|w| w.delete_named(kind, name))
    }

    pub fn load_all_named<T: DeserializeOwned>(&self, kind: Named) -> Result<Vec<(String, T)>, MetaError> {
        self.with_db(|db| {
            let txn = db.begin_read().map_err(storage)?;
            let t = txn.open_table(kind.def()).map_err(storage)?;
            let mut out = Vec::new();
            for entry in t.iter().map_err(storage)? {
                let (k, v) = entry.map_err(storage)?;
                let name = k.value().to_string();
                let value = serde_json::from_str(v.value())
                    .map_err(|source| MetaError::Decode { what: format!("{kind:?} {name}"), source })?;
                out.push((name, value));
            }
            Ok(out)
        })
    }
}

/// A stored record: its JSON, or for a large one its chunks'.
fn decode<T: DeserializeOwned>(txn: &redb::ReadTransaction, kind: Kind, id: i64, stored: &str) -> Result<T, MetaError> {
    let decoded = if stored == CHUNKED {
        serde_json::from_slice(&super::chunks::joined(txn, id, kind.chunk_part())?)
    } else {
        serde_json::from_str(stored)
    };
    decoded.map_err(|source| MetaError::Decode { what: format!("{kind:?} {id}"), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_batch_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let store = MetaStore::open(dir.path()).unwrap();
        let r: Result<(), MetaError> = store.write(|w| {
            w.put(Kind::Database, 1, &"one")?;
            Err(MetaError::Decode { what: "x".into(), source: serde_json::from_str::<i32>("?").unwrap_err() })
        });
        assert!(r.is_err());
        assert!(store.get::<String>(Kind::Database, 1).unwrap().is_none());
        store
            .write(|w| {
                w.put(Kind::Database, 1, &"one")?;
                w.put(Kind::Table, 2, &"two")
            })
            .unwrap();
        assert_eq!(store.get::<String>(Kind::Table, 2).unwrap().as_deref(), Some("two"));
    }

    /// Storage whose writes fail while `full` is set, as a full disk's do; the bytes
    /// outlive each `Database` opened on them, as a file's do.
    #[derive(Debug, Clone)]
    struct Disk {
        bytes: std::sync::Arc<redb::backends::InMemoryBackend>,
        full: std::sync::Arc<std::sync::atomic::AtomicBool>,
    }

    impl Disk {
        fn check(&self) -> Result<(), std::io::Error> {
            if self.full.load(std::sync::atomic::Ordering::SeqCst) {
                Err(std::io::Error::from_raw_os_error(28)) // ENOSPC
            } else {
                Ok(())
            }
        }
    }

    impl redb::StorageBackend for Disk {
        fn len(&self) -> Result<u64, std::io::Error> {
            self.bytes.len()
        }
        fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), std::io::Error> {
            self.bytes.read(offset, out)
        }
        fn set_len(&self, len: u64) -> Result<(), std::io::Error> {
            self.check()?;
            self.bytes.set_len(len)
        }
        fn sync_data(&self) -> Result<(), std::io::Error> {
            self.check()?;
            self.bytes.sync_data()
        }
        fn write(&self, offset: u64, data: &[u8]) -> Result<(), std::io::Error> {
            self.check()?;
            self.bytes.write(offset, data)
        }
    }

    /// A commit that fails on a full disk poisons a redb database (`PreviousIo` for every
    /// later transaction); the store reopens it, so once the disk has room again changes
    /// are stored again, and nothing committed before is lost.
    #[test]
    fn a_failed_commit_does_not_leave_the_store_unusable() {
        let disk = Disk { bytes: Default::default(), full: Default::default() };
        let d = disk.clone();
        let store =
            MetaStore::open_with("test.redb".into(), Box::new(move || redb::Builder::new().create_with_backend(d.clone())))
                .unwrap();
        let full = |on: bool| disk.full.store(on, std::sync::atomic::Ordering::SeqCst);
        store.put(Kind::Job, 1, &"before").unwrap();
        let first = store.next_id().unwrap();

        full(true);
        let e = store.put(Kind::Job, 2, &"lost").unwrap_err();
        assert!(e.to_string().contains("No space left"), "{e}");
        // Still full: the reopen (a repair, which writes) fails too, and so does the next use.
        assert!(store.put(Kind::Job, 3, &"lost too").is_err());

        full(false);
        store.put(Kind::Job, 4, &"after").unwrap();
        assert_eq!(store.get::<String>(Kind::Job, 1).unwrap().as_deref(), Some("before"));
        assert_eq!(store.get::<String>(Kind::Job, 2).unwrap(), None);
        assert_eq!(store.get::<String>(Kind::Job, 3).unwrap(), None);
        assert_eq!(store.get::<String>(Kind::Job, 4).unwrap().as_deref(), Some("after"));
        assert!(store.next_id().unwrap() > first);
    }

    #[test]
    fn configured_cluster_id_must_match_the_stored_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = MetaStore::open(dir.path()).unwrap();
        let a = store.start_epoch(Some(77)).unwrap();
        assert_eq!((a.cluster_id, a.epoch), (77, 1));
        let e = store.start_epoch(Some(78)).unwrap_err();
        assert!(e.to_string().contains("cluster_id = 78"), "{e}");
        let b = store.start_epoch(None).unwrap();
        assert_eq!((b.cluster_id, b.epoch, b.token.clone()), (77, 2, a.token));
    }
}
