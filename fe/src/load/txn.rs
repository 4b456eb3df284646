//! Load transactions and labels.
//!
//! A transaction is PREPARE after loadTxnBegin, PRECOMMITTED when a two-phase-commit load
//! reported its replicas written (loadTxnPreCommit; its rowsets stay pending until
//! loadTxn2PC commits or aborts it), COMMITTED once the BE reported a quorum of each
//! tablet's replicas written and versions were assigned, VISIBLE once a quorum of each
//! tablet's replicas published, or ABORTED. A label is unique per database among transactions that are not ABORTED.
//!
//! Records live in their own redb file beside the meta store
//! (`<meta_dir>/doris-rs-load.redb`, tables `load_txns` and `load_labels`, and
//! `load_txns_active`, the ids of those not yet VISIBLE or ABORTED, which the publish loop
//! and each commit read instead of every transaction kept), written before the state they
//! describe is acted on. As upstream, a finished transaction, its label and its SHOW LOAD
//! entry are forgotten `streaming_label_keep_max_second` after it ended
//! ([`TxnStore::remove_expired`]); the label can then be used again. A write that fails on I/O (a full disk) leaves
//! redb refusing every later transaction until reopened; the store reopens itself, so the
//! failed load is refused and later ones work again once the disk has room.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::error::FeError;

const TXNS: TableDefinition<i64, &str> = TableDefinition::new("load_txns");
const LABELS: TableDefinition<&str, i64> = TableDefinition::new("load_labels");
/// The transactions not yet VISIBLE or ABORTED (rebuilt from `load_txns` at open).
const ACTIVE: TableDefinition<i64, ()> = TableDefinition::new("load_txns_active");
/// SHOW LOAD's jobs (`super::jobs`), by job id.
const LOAD_JOBS: TableDefinition<i64, &str> = TableDefinition::new("load_jobs");
pub const FILE_NAME: &str = "doris-rs-load.redb";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxnState {
    Prepare,
    /// Written, waiting for the user's commit or abort (two-phase commit).
    Precommitted,
    Committed,
    Visible,
    Aborted,
}

impl TxnState {
    pub fn name(&self) -> &'static str {
        match self {
            TxnState::Prepare => "PREPARE",
            TxnState::Precommitted => "PRECOMMITTED",
            TxnState::Committed => "COMMITTED",
            TxnState::Visible => "VISIBLE",
            TxnState::Aborted => "ABORTED",
        }
    }

    /// VISIBLE or ABORTED: nothing more happens to it.
    pub fn is_final(&self) -> bool {
        matches!(self, TxnState::Visible | TxnState::Aborted)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "StoredTxn")]
pub struct TxnRecord {
    pub txn_id: i64,
    pub db_id: i64,
    /// The tables it writes, ascending: one for a stream load, one or more for a
    /// transaction a CCR syncer begins (beginTxn's `table_ids`).
    pub table_ids: Vec<i64>,
    pub label: String,
    pub state: TxnState,
    pub create_ms: i64,
    /// When it became COMMITTED.
    pub commit_ms: Option<i64>,
    /// When it became PRECOMMITTED (two-phase commit).
    pub precommit_ms: Option<i64>,
    /// The replicas a PRECOMMITTED transaction wrote (`(tablet id, backend id)`), for its
    /// commit.
    pub written: Vec<(i64, i64)>,
    /// The replicas (`(tablet id, backend id)`) that published a COMMITTED transaction so
    /// far: a retry sends PUBLISH_VERSION only to backends with replicas still missing.
    pub published: Vec<(i64, i64)>,
    pub finish_ms: Option<i64>,
    pub reason: Option<String>,
    /// Who began it, as SHOW TRANSACTION's Coordinator prints it ("BE: <ip>").
    pub coordinator: String,
    /// (partition id, version) assigned at commit.
    pub partition_versions: Vec<(i64, i64)>,
    /// Seconds a PREPARE transaction may run before the FE aborts it (the begin request's
    /// `timeout`, else upstream's `stream_load_default_timeout_second`).
    pub timeout_s: i64,
}

/// SHOW TRANSACTION's Coordinator of a transaction begun over thrift: `BE: <ip>` of the
/// client, as upstream records it (the request's `user_ip` when the connection's address is
/// unknown).
pub fn coordinator(user_ip: Option<&str>) -> String {
    let ip = doris_thrift::transport::peer().map(|p| p.ip().to_string());
    format!("BE: {}", ip.as_deref().or(user_ip.filter(|i| !i.is_empty())).unwrap_or("unknown"))
}

/// Upstream's `stream_load_default_timeout_second` (3 days).
pub const DEFAULT_TIMEOUT_S: i64 = 259_200;
/// Upstream's abort reason for a transaction that ran past its timeout.
pub const TIMEOUT_REASON: &str = "timeout by txn manager";

fn default_timeout_s() -> i64 {
    DEFAULT_TIMEOUT_S
}

/// A record as stored: records written before transactions spanned several tables name
/// their one table in `table_id`.
#[derive(Deserialize)]
struct StoredTxn {
    txn_id: i64,
    db_id: i64,
    #[serde(default)]
    table_ids: Vec<i64>,
    #[serde(default)]
    table_id: Option<i64>,
    label: String,
    state: TxnState,
    create_ms: i64,
    #[serde(default)]
    commit_ms: Option<i64>,
    #[serde(default)]
    precommit_ms: Option<i64>,
    #[serde(default)]
    written: Vec<(i64, i64)>,
    #[serde(default)]
    published: Vec<(i64, i64)>,
    finish_ms: Option<i64>,
    reason: Option<String>,
    #[serde(default)]
    coordinator: String,
    partition_versions: Vec<(i64, i64)>,
    #[serde(default = "default_timeout_s")]
    timeout_s: i64,
}

impl From<StoredTxn> for TxnRecord {
    fn from(s: StoredTxn) -> TxnRecord {
        let mut table_ids = s.table_ids;
        table_ids.extend(s.table_id);
        table_ids.sort_unstable();
        table_ids.dedup();
        TxnRecord {
            txn_id: s.txn_id,
            db_id: s.db_id,
            table_ids,
            label: s.label,
            state: s.state,
            create_ms: s.create_ms,
            commit_ms: s.commit_ms,
            precommit_ms: s.precommit_ms,
            written: s.written,
            published: s.published,
            finish_ms: s.finish_ms,
            reason: s.reason,
            coordinator: s.coordinator,
            partition_versions: s.partition_versions,
            timeout_s: s.timeout_s,
        }
    }
}

impl TxnRecord {
    /// Whether it writes table `table_id`.
    pub fn writes(&self, table_id: i64) -> bool {
        self.table_ids.contains(&table_id)
    }

    /// A PREPARE transaction past its timeout at `now_ms`, or a PRECOMMITTED one left
    /// uncommitted for its timeout since it was pre-committed.
    pub fn timed_out(&self, now_ms: i64) -> bool {
        let since = match self.state {
            TxnState::Prepare => self.create_ms,
            TxnState::Precommitted => self.precommit_ms.unwrap_or(self.create_ms),
            _ => return false,
        };
        now_ms >= since.saturating_add(self.timeout_s.saturating_mul(1000))
    }
}

pub struct TxnStore {
    /// None while an I/O error left it closed and reopening has not succeeded yet.
    db: RwLock<Option<Database>>,
    path: PathBuf,
    /// Serializes label checks with writes.
    lock: Mutex<()>,
    /// One lock per table, held from version assignment until the publish is done, so
    /// versions of a partition are published in order.
    table_locks: Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>,
    /// Wakes the publish daemon: a commit left its transaction COMMITTED but unpublished,
    /// or a transaction was aborted whose BEs are still to be cleared.
    pub publish_wakeup: tokio::sync::Notify,
    /// Transactions aborted outside the daemon (a timed-out label holder given up when
    /// its label is asked for again) whose pending rowsets the daemon asks the BEs to drop.
    to_clear: Mutex<Vec<TxnRecord>>,
}

fn storage(e: impl Into<redb::Error>) -> FeError {
    FeError::Internal(format!("load transaction store: {}", e.into()))
}

fn open_db(path: &Path) -> Result<Database, FeError> {
    // Small records: a small page cache (redb's default is 1 GiB).
    redb::Builder::new().set_cache_size(32 << 20).create(path).map_err(|e| FeError::Internal(format!("{}: {e}", path.display())))
}

fn label_key(db_id: i64, label: &str) -> String {
    format!("{db_id}/{label}")
}

impl TxnStore {
    pub fn open(meta_dir: &Path) -> Result<TxnStore, FeError> {
        let path = meta_dir.join(FILE_NAME);
        let db = open_db(&path)?;
        let w = db.begin_write().map_err(storage)?;
        {
            let txns = w.open_table(TXNS).map_err(storage)?;
            w.open_table(LABELS).map_err(storage)?;
            w.open_table(LOAD_JOBS).map_err(storage)?;
            // Rebuilt whole: a store written before the index existed gets one, and the
            // index can never disagree with the records for long.
            w.delete_table(ACTIVE).map_err(storage)?;
            let mut active = w.open_table(ACTIVE).map_err(storage)?;
            for e in txns.iter().map_err(storage)? {
                let (k, v) = e.map_err(storage)?;
                let rec: TxnRecord = serde_json::from_str(v.value())
                    .map_err(|e| FeError::Internal(format!("txn {} does not decode: {e}", k.value())))?;
                if !rec.state.is_final() {
                    active.insert(k.value(), ()).map_err(storage)?;
                }
            }
        }
        w.commit().map_err(storage)?;
        Ok(TxnStore {
            db: RwLock::new(Some(db)),
            path,
            lock: Mutex::new(()),
            table_locks: Mutex::new(HashMap::new()),
            publish_wakeup: tokio::sync::Notify::new(),
            to_clear: Mutex::new(Vec::new()),
        })
    }

    /// Run `f` on the database. After an I/O error the database is reopened (the error is
    /// still returned: that change did not happen); a store left closed by a reopen that
    /// failed is reopened first.
    fn with_db<R>(&self, f: impl FnOnce(&Database) -> Result<R, redb::Error>) -> Result<R, FeError> {
        if self.db.read().unwrap().is_none() {
            self.reopen()?;
        }
        let r = match self.db.read().unwrap().as_ref() {
            Some(db) => f(db),
            None => Err(redb::Error::DatabaseClosed),
        };
        r.map_err(|e| {
            let reopen = matches!(e, redb::Error::Io(_) | redb::Error::PreviousIo);
            let err = FeError::Internal(format!("load transaction store {}: {e}", self.path.display()));
            if reopen {
                tracing::error!(path = %self.path.display(), error = %e, "load transaction store write failed; reopening it");
                if let Err(e) = self.reopen() {
                    tracing::error!(path = %self.path.display(), error = %e, "cannot reopen the load transaction store; retrying on its next use");
                }
            }
            err
        })
    }

    fn reopen(&self) -> Result<(), FeError> {
        let mut db = self.db.write().unwrap();
        // The old handle goes first: it holds the file's lock. Transactions all run under
        // the read lock, so none is live.
        *db = None;
        *db = Some(open_db(&self.path)?);
        tracing::info!(path = %self.path.display(), "load transaction store reopened");
        Ok(())
    }

    /// The store of the FE whose meta dir is `meta_dir`, opened once per process: redb
    /// takes one open per file, and an FE restarted in the same process (tests) must find
    /// the store its predecessor had open. Only `server.rs` calls this; modules get the
    /// store in their handle.
    pub fn of(meta_dir: &Path) -> Result<Arc<TxnStore>, FeError> {
        static STORES: OnceLock<Mutex<HashMap<PathBuf, Arc<TxnStore>>>> = OnceLock::new();
        let mut m = STORES.get_or_init(Default::default).lock().unwrap();
        if let Some(s) = m.get(meta_dir) {
            return Ok(s.clone());
        }
        let s = Arc::new(TxnStore::open(meta_dir)?);
        m.insert(meta_dir.to_path_buf(), s.clone());
        Ok(s)
    }

    pub fn table_lock(&self, table_id: i64) -> Arc<tokio::sync::Mutex<()>> {
        self.table_locks.lock().unwrap().entry(table_id).or_default().clone()
    }

    /// The publish locks of all of `rec`'s tables, taken in ascending table id order so
    /// two transactions over overlapping tables cannot deadlock.
    pub async fn lock_tables(&self, rec: &TxnRecord) -> Vec<tokio::sync::OwnedMutexGuard<()>> {
        let mut guards = Vec::with_capacity(rec.table_ids.len());
        for id in &rec.table_ids {
            guards.push(self.table_lock(*id).lock_owned().await);
        }
        guards
    }

    pub fn get(&self, txn_id: i64) -> Result<Option<TxnRecord>, FeError> {
        let json = self.with_db(|db| {
            let r = db.begin_read()?;
            let t = r.open_table(TXNS)?;
            Ok(t.get(txn_id)?.map(|v| v.value().to_string()))
        })?;
        let Some(json) = json else { return Ok(None) };
        serde_json::from_str(&json).map(Some).map_err(|e| FeError::Internal(format!("txn {txn_id} does not decode: {e}")))
    }

    pub fn by_label(&self, db_id: i64, label: &str) -> Result<Option<TxnRecord>, FeError> {
        let id = self.with_db(|db| {
            let r = db.begin_read()?;
            let t = r.open_table(LABELS)?;
            Ok(t.get(label_key(db_id, label).as_str())?.map(|v| v.value()))
        })?;
        match id {
            Some(id) => self.get(id),
            None => Ok(None),
        }
    }

    pub fn record_load_job(&self, job: &super::jobs::LoadJob) -> Result<(), FeError> {
        let json = serde_json::to_string(job).map_err(|e| FeError::Internal(e.to_string()))?;
        self.with_db(|db| {
            let w = db.begin_write()?;
            w.open_table(LOAD_JOBS)?.insert(job.id, json.as_str())?;
            w.commit()?;
            Ok(())
        })
    }

    /// The load jobs of database `db_id`, by id.
    pub fn load_jobs(&self, db_id: i64) -> Result<Vec<super::jobs::LoadJob>, FeError> {
        let all = self.with_db(|db| {
            let r = db.begin_read()?;
            let t = r.open_table(LOAD_JOBS)?;
            let mut out = Vec::new();
            for e in t.iter()? {
                let (k, v) = e?;
                out.push((k.value(), v.value().to_string()));
            }
            Ok(out)
        })?;
        let mut jobs = Vec::new();
        for (id, json) in all {
            let job: super::jobs::LoadJob = serde_json::from_str(&json)
                .map_err(|e| FeError::Internal(format!("load job {id} does not decode: {e}")))?;
            if job.db_id == db_id {
                jobs.push(job);
            }
        }
        Ok(jobs)
    }

    fn put(&self, rec: &TxnRecord) -> Result<(), FeError> {
        let json = serde_json::to_string(rec).map_err(|e| FeError::Internal(e.to_string()))?;
        self.with_db(|db| {
            let w = db.begin_write()?;
            {
                let mut t = w.open_table(TXNS)?;
                t.insert(rec.txn_id, json.as_str())?;
                let mut l = w.open_table(LABELS)?;
                l.insert(label_key(rec.db_id, &rec.label).as_str(), rec.txn_id)?;
                let mut a = w.open_table(ACTIVE)?;
                if rec.state.is_final() {
                    a.remove(rec.txn_id)?;
                } else {
                    a.insert(rec.txn_id, ())?;
                }
            }
            w.commit()?;
            Ok(())
        })
    }

    /// A new PREPARE transaction, or the existing one holding the label. A holder past
    /// its timeout is aborted here (the label is free again) rather than waiting for the
    /// next timeout sweep.
    pub fn begin(&self, rec: TxnRecord) -> Result<Result<TxnRecord, TxnRecord>, FeError> {
        let _g = self.lock.lock().unwrap();
        if let Some(mut old) = self.by_label(rec.db_id, &rec.label)? {
            if old.timed_out(rec.create_ms) {
                abort_record(&mut old, TIMEOUT_REASON, rec.create_ms);
                self.put(&old)?;
                // Its BEs may hold pending rowsets (a coordinator that died after the
                // write): without a clear they would stay until the BE's own expiry.
                self.to_clear.lock().unwrap().push(old.clone());
                self.publish_wakeup.notify_one();
            }
            if old.state != TxnState::Aborted {
                return Ok(Err(old));
            }
        }
        self.put(&rec)?;
        Ok(Ok(rec))
    }

    /// Change a transaction under the store lock; the new record.
    pub fn update(&self, txn_id: i64, f: impl FnOnce(&mut TxnRecord) -> Result<(), FeError>) -> Result<TxnRecord, FeError> {
        let _g = self.lock.lock().unwrap();
        let mut rec = self.get(txn_id)?.ok_or_else(|| FeError::NotFound(format!("transaction [{txn_id}]")))?;
        f(&mut rec)?;
        self.put(&rec)?;
        Ok(rec)
    }

    /// Transactions aborted since the last call whose BEs are still to be cleared.
    pub fn take_to_clear(&self) -> Vec<TxnRecord> {
        std::mem::take(&mut *self.to_clear.lock().unwrap())
    }

    /// Abort every PREPARE or PRECOMMITTED transaction past its timeout; the aborted
    /// records.
    pub fn abort_timed_out(&self, now_ms: i64) -> Result<Vec<TxnRecord>, FeError> {
        let mut out = Vec::new();
        let mut running = self.in_state(TxnState::Prepare)?;
        running.extend(self.in_state(TxnState::Precommitted)?);
        for rec in running.into_iter().filter(|t| t.timed_out(now_ms)) {
            // Re-checked under the lock: a commit may have won the race.
            let r = self.update(rec.txn_id, |t| {
                if !t.timed_out(now_ms) {
                    return Err(FeError::IllegalState(format!("transaction [{}] is {}", t.txn_id, t.state.name())));
                }
                abort_record(t, TIMEOUT_REASON, now_ms);
                Ok(())
            });
            if let Ok(r) = r {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// The state of a transaction, aborting it first when it is past its timeout (the
    /// BE's pending-rowset GC asks, and must not keep a dead load's files for ever).
    pub fn state_now(&self, txn_id: i64, now_ms: i64) -> Result<Option<TxnRecord>, FeError> {
        match self.get(txn_id)? {
            Some(r) if r.timed_out(now_ms) => {
                let r = self.update(txn_id, |t| {
                    if t.timed_out(now_ms) {
                        abort_record(t, TIMEOUT_REASON, now_ms);
                    }
                    Ok(())
                })?;
                Ok(Some(r))
            }
            other => Ok(other),
        }
    }

    /// Every transaction in `state`, which is not a final one (publish retries after a
    /// restart, timeouts, commit order): read through the index of unfinished ones.
    pub fn in_state(&self, state: TxnState) -> Result<Vec<TxnRecord>, FeError> {
        debug_assert!(!state.is_final(), "in_state reads unfinished transactions only");
        let all = self.with_db(|db| {
            let r = db.begin_read()?;
            let active = r.open_table(ACTIVE)?;
            let t = r.open_table(TXNS)?;
            let mut out = Vec::new();
            for e in active.iter()? {
                let id = e?.0.value();
                if let Some(v) = t.get(id)? {
                    out.push(v.value().to_string());
                }
            }
            Ok(out)
        })?;
        Ok(all
            .iter()
            .filter_map(|json| serde_json::from_str::<TxnRecord>(json).ok())
            .filter(|rec| rec.state == state)
            .collect())
    }

    /// Forget what ended more than `keep_ms` before `now_ms`: VISIBLE and ABORTED
    /// transactions with their labels (a label taken by a later transaction stays), and
    /// SHOW LOAD's jobs. Upstream's label cleaner with `streaming_label_keep_max_second`.
    /// The numbers of transactions and of jobs removed.
    pub fn remove_expired(&self, now_ms: i64, keep_ms: i64) -> Result<(usize, usize), FeError> {
        let expired = |finish_ms: i64| finish_ms.saturating_add(keep_ms) < now_ms;
        let _g = self.lock.lock().unwrap();
        self.with_db(|db| {
            let w = db.begin_write()?;
            let (mut txns_gone, mut jobs_gone) = (0, 0);
            {
                let mut t = w.open_table(TXNS)?;
                let mut labels = w.open_table(LABELS)?;
                let active = w.open_table(ACTIVE)?;
                let mut old = Vec::new();
                for e in t.iter()? {
                    let (k, v) = e?;
                    if active.get(k.value())?.is_some() {
                        continue;
                    }
                    // A record that does not decode is left for a person to look at.
                    let Ok(rec) = serde_json::from_str::<TxnRecord>(v.value()) else { continue };
                    if rec.state.is_final() && expired(rec.finish_ms.unwrap_or(rec.create_ms)) {
                        old.push((rec.txn_id, label_key(rec.db_id, &rec.label)));
                    }
                }
                for (id, key) in old {
                    t.remove(id)?;
                    if labels.get(key.as_str())?.map(|v| v.value()) == Some(id) {
                        labels.remove(key.as_str())?;
                    }
                    txns_gone += 1;
                }
                let mut jobs = w.open_table(LOAD_JOBS)?;
                let mut old = Vec::new();
                for e in jobs.iter()? {
                    let (k, v) = e?;
                    if serde_json::from_str::<super::jobs::LoadJob>(v.value()).is_ok_and(|j| expired(j.finish_ms)) {
                        old.push(k.value());
                    }
                }
                for id in old {
                    jobs.remove(id)?;
                    jobs_gone += 1;
                }
            }
            w.commit()?;
            Ok((txns_gone, jobs_gone))
        })
    }
}

fn abort_record(t: &mut TxnRecord, reason: &str, now_ms: i64) {
    t.state = TxnState::Aborted;
    t.finish_ms = Some(now_ms);
    t.reason = Some(reason.to_string());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::jobs::{JobState, LoadJob};

    fn txn(id: i64, label: &str, state: TxnState, finish_ms: Option<i64>) -> TxnRecord {
        TxnRecord {
            txn_id: id,
            db_id: 1,
            table_ids: vec![7],
            label: label.into(),
            state,
            create_ms: 1_000,
            commit_ms: None,
            precommit_ms: None,
            written: Vec::new(),
            published: Vec::new(),
            finish_ms,
            reason: None,
            coordinator: String::new(),
            partition_versions: Vec::new(),
            timeout_s: DEFAULT_TIMEOUT_S,
        }
    }

    fn job(id: i64, finish_ms: i64) -> LoadJob {
        LoadJob {
            id,
            db_id: 1,
            table_id: 7,
            label: format!("insert_{id}"),
            state: JobState::Finished,
            fail_msg: None,
            create_ms: 1_000,
            finish_ms,
            txn_id: 0,
            user: "root".into(),
            url: String::new(),
        }
    }

    fn ids(v: Vec<TxnRecord>) -> Vec<i64> {
        v.into_iter().map(|t| t.txn_id).collect()
    }

    #[test]
    fn unfinished_are_indexed_and_the_expired_are_forgotten_with_their_labels() {
        let dir = tempfile::tempdir().unwrap();
        let st = TxnStore::open(dir.path()).unwrap();
        st.begin(txn(1, "old", TxnState::Prepare, None)).unwrap().unwrap();
        st.update(1, |t| {
            t.state = TxnState::Visible;
            t.finish_ms = Some(2_000);
            Ok(())
        })
        .unwrap();
        st.begin(txn(2, "running", TxnState::Prepare, None)).unwrap().unwrap();
        st.begin(txn(3, "committed", TxnState::Committed, None)).unwrap().unwrap();
        // An aborted label taken again by a later transaction: the label stays with it.
        st.begin(txn(4, "again", TxnState::Aborted, Some(2_000))).unwrap().unwrap();
        st.begin(txn(5, "again", TxnState::Visible, Some(9_000))).unwrap().unwrap();
        st.record_load_job(&job(10, 2_000)).unwrap();
        st.record_load_job(&job(11, 9_000)).unwrap();
        assert_eq!(ids(st.in_state(TxnState::Prepare).unwrap()), [2]);
        assert_eq!(ids(st.in_state(TxnState::Committed).unwrap()), [3]);

        assert_eq!(st.remove_expired(5_000, 1_000).unwrap(), (2, 1));
        assert!(st.get(1).unwrap().is_none() && st.get(4).unwrap().is_none());
        assert!(st.by_label(1, "old").unwrap().is_none());
        assert_eq!(st.by_label(1, "again").unwrap().map(|t| t.txn_id), Some(5));
        assert_eq!(st.load_jobs(1).unwrap().iter().map(|j| j.id).collect::<Vec<_>>(), [11]);
        // Unfinished ones are never expired, however old.
        assert_eq!(st.remove_expired(1_000_000, 0).unwrap(), (1, 1));
        assert_eq!(ids(st.in_state(TxnState::Prepare).unwrap()), [2]);
        assert!(st.get(3).unwrap().is_some());
        // The label is free again.
        assert!(st.begin(txn(6, "old", TxnState::Prepare, None)).unwrap().is_ok());

        // The index is rebuilt from the records at open, and follows state changes.
        drop(st);
        let st = TxnStore::open(dir.path()).unwrap();
        assert_eq!(ids(st.in_state(TxnState::Prepare).unwrap()), [2, 6]);
        st.update(2, |t| {
            t.state = TxnState::Aborted;
            t.finish_ms = Some(3_000);
            Ok(())
        })
        .unwrap();
        assert_eq!(ids(st.in_state(TxnState::Prepare).unwrap()), [6]);
    }
}
