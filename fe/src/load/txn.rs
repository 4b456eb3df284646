//! Load transactions and labels.
//!
//! A transaction is PREPARE after loadTxnBegin, COMMITTED once the BE reported every
//! replica written and versions were assigned, VISIBLE once every replica BE published,
//! or ABORTED. A label is unique per database among transactions that are not ABORTED.
//!
//! Records live in their own redb file beside the meta store
//! (`<meta_dir>/doris-rs-load.redb`, tables `load_txns` and `load_labels`), written before
//! the state they describe is acted on.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::error::FeError;

const TXNS: TableDefinition<i64, &str> = TableDefinition::new("load_txns");
const LABELS: TableDefinition<&str, i64> = TableDefinition::new("load_labels");
pub const FILE_NAME: &str = "doris-rs-load.redb";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxnState {
    Prepare,
    Committed,
    Visible,
    Aborted,
}

impl TxnState {
    pub fn name(&self) -> &'static str {
        match self {
            TxnState::Prepare => "PREPARE",
            TxnState::Committed => "COMMITTED",
            TxnState::Visible => "VISIBLE",
            TxnState::Aborted => "ABORTED",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TxnRecord {
    pub txn_id: i64,
    pub db_id: i64,
    pub table_id: i64,
    pub label: String,
    pub state: TxnState,
    pub create_ms: i64,
    pub finish_ms: Option<i64>,
    pub reason: Option<String>,
    /// (partition id, version) assigned at commit.
    pub partition_versions: Vec<(i64, i64)>,
}

pub struct TxnStore {
    db: Database,
    /// Serializes label checks with writes.
    lock: Mutex<()>,
    /// One lock per table, held from version assignment until the publish is done, so
    /// versions of a partition are published in order.
    table_locks: Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>,
}

fn storage(e: impl Into<redb::Error>) -> FeError {
    FeError::Internal(format!("load transaction store: {}", e.into()))
}

fn label_key(db_id: i64, label: &str) -> String {
    format!("{db_id}/{label}")
}

impl TxnStore {
    pub fn open(meta_dir: &Path) -> Result<TxnStore, FeError> {
        let path = meta_dir.join(FILE_NAME);
        let db = Database::create(&path).map_err(|e| FeError::Internal(format!("{}: {e}", path.display())))?;
        let w = db.begin_write().map_err(storage)?;
        {
            w.open_table(TXNS).map_err(storage)?;
            w.open_table(LABELS).map_err(storage)?;
        }
        w.commit().map_err(storage)?;
        Ok(TxnStore { db, lock: Mutex::new(()), table_locks: Mutex::new(HashMap::new()) })
    }

    /// The store of the FE whose meta dir is `meta_dir` (one per FE, opened on first use).
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

    pub fn get(&self, txn_id: i64) -> Result<Option<TxnRecord>, FeError> {
        let r = self.db.begin_read().map_err(storage)?;
        let t = r.open_table(TXNS).map_err(storage)?;
        let Some(v) = t.get(txn_id).map_err(storage)? else { return Ok(None) };
        serde_json::from_str(v.value()).map(Some).map_err(|e| FeError::Internal(format!("txn {txn_id} does not decode: {e}")))
    }

    pub fn by_label(&self, db_id: i64, label: &str) -> Result<Option<TxnRecord>, FeError> {
        let id = {
            let r = self.db.begin_read().map_err(storage)?;
            let t = r.open_table(LABELS).map_err(storage)?;
            match t.get(label_key(db_id, label).as_str()).map_err(storage)? {
                Some(v) => v.value(),
                None => return Ok(None),
            }
        };
        self.get(id)
    }

    fn put(&self, rec: &TxnRecord) -> Result<(), FeError> {
        let json = serde_json::to_string(rec).map_err(|e| FeError::Internal(e.to_string()))?;
        let w = self.db.begin_write().map_err(storage)?;
        {
            let mut t = w.open_table(TXNS).map_err(storage)?;
            t.insert(rec.txn_id, json.as_str()).map_err(storage)?;
            let mut l = w.open_table(LABELS).map_err(storage)?;
            l.insert(label_key(rec.db_id, &rec.label).as_str(), rec.txn_id).map_err(storage)?;
        }
        w.commit().map_err(storage)
    }

    /// A new PREPARE transaction, or the existing one holding the label.
    pub fn begin(&self, rec: TxnRecord) -> Result<Result<TxnRecord, TxnRecord>, FeError> {
        let _g = self.lock.lock().unwrap();
        if let Some(old) = self.by_label(rec.db_id, &rec.label)? {
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

    /// Every transaction in the given states (publish retries after a restart).
    pub fn in_state(&self, state: TxnState) -> Result<Vec<TxnRecord>, FeError> {
        let r = self.db.begin_read().map_err(storage)?;
        let t = r.open_table(TXNS).map_err(storage)?;
        let mut out = Vec::new();
        for e in t.iter().map_err(storage)? {
            let (_, v) = e.map_err(storage)?;
            if let Ok(rec) = serde_json::from_str::<TxnRecord>(v.value()) {
                if rec.state == state {
                    out.push(rec);
                }
            }
        }
        Ok(out)
    }
}
