//! Where `ccr-sync --follow` stands, kept in a redb file so a restart (or a kill) resumes
//! where it stopped: the commit seq of the last binlog applied, each source table's
//! full-sync point and the target table it is kept in. Written after each binlog is applied; applying one twice is harmless
//! (UPSERTs go under a label derived from their commit seq, DDL replays are checked first).

use std::collections::BTreeMap;
use std::path::Path;

use redb::{Database, ReadableDatabase, TableDefinition};
use serde::{Deserialize, Serialize};

const PROGRESS: TableDefinition<&str, &str> = TableDefinition::new("ccr_progress");

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// The last binlog applied (or the full sync's point); the next read is after it.
    pub commit_seq: i64,
    /// Source table id -> commit seq its last full sync includes: its older entries are
    /// skipped.
    pub table_seqs: BTreeMap<i64, i64>,
    /// Source table id -> the target table it is kept in (by id, so a rename on the source
    /// while the follower lags still finds its table).
    #[serde(default)]
    pub targets: BTreeMap<i64, String>,
    pub full_syncs: u64,
    pub applied: u64,
}

pub struct Store {
    db: Database,
    key: String,
}

fn err(e: impl std::fmt::Display) -> String {
    format!("ccr-sync progress store: {e}")
}

impl Store {
    /// The store at `path`, holding the progress of job `key`.
    pub fn open(path: &Path, key: &str) -> Result<Store, String> {
        let db = Database::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Store { db, key: key.to_string() })
    }

    pub fn load(&self) -> Result<Option<Progress>, String> {
        let r = self.db.begin_read().map_err(err)?;
        let t = match r.open_table(PROGRESS) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(err(e)),
        };
        let Some(v) = t.get(self.key.as_str()).map_err(err)? else { return Ok(None) };
        serde_json::from_str(v.value()).map(Some).map_err(err)
    }

    pub fn save(&self, p: &Progress) -> Result<(), String> {
        let json = serde_json::to_string(p).map_err(err)?;
        let w = self.db.begin_write().map_err(err)?;
        {
            let mut t = w.open_table(PROGRESS).map_err(err)?;
            t.insert(self.key.as_str(), json.as_str()).map_err(err)?;
        }
        w.commit().map_err(err)
    }
}
