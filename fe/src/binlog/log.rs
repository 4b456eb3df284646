//! The binlogs of every database, in memory and in the meta store (`Kind::Binlog`, keyed by
//! commit seq). An entry is written by the caller in the transaction of the change it
//! records, then made visible here; a restart loads them back in order.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};

use super::record::Binlog;
use crate::persist::{Kind, MetaError, MetaStore};

#[derive(Default)]
pub struct Binlogs {
    /// Database id -> its entries by commit seq.
    by_db: RwLock<HashMap<i64, BTreeMap<i64, Binlog>>>,
    /// Database id -> the lock a writer holds from drawing an entry's commit seq until the
    /// entry is visible, so a database's seqs become visible in ascending order.
    order: Mutex<HashMap<i64, Arc<Mutex<()>>>>,
}

impl Binlogs {
    pub fn load(store: &MetaStore) -> Result<Self, MetaError> {
        let mut by_db: HashMap<i64, BTreeMap<i64, Binlog>> = HashMap::new();
        for (seq, b) in store.load_all::<Binlog>(Kind::Binlog)? {
            by_db.entry(b.db_id).or_default().insert(seq, b);
        }
        Ok(Binlogs { by_db: RwLock::new(by_db), order: Mutex::default() })
    }

    /// The ordering lock of database `db_id` (see the field).
    pub fn order_lock(&self, db_id: i64) -> Arc<Mutex<()>> {
        self.order.lock().unwrap().entry(db_id).or_default().clone()
    }

    /// Record a change of database `db_id` in its log, when `wanted`: under the database's
    /// ordering lock, draw a commit seq and let `apply` make the change, storing the entry
    /// it returns in the change's own store transaction; then make the entry visible.
    /// Without `wanted`, `apply` is given no seq and must return no entry.
    pub fn record<R, E: From<MetaError>>(
        &self,
        store: &MetaStore,
        db_id: i64,
        wanted: bool,
        apply: impl FnOnce(Option<i64>) -> Result<(R, Option<Binlog>), E>,
    ) -> Result<R, E> {
        if !wanted {
            return apply(None).map(|(r, _)| r);
        }
        let order = self.order_lock(db_id);
        let _in_order = order.lock().unwrap_or_else(|p| p.into_inner());
        let seq = store.next_id()?;
        let (r, entry) = apply(Some(seq))?;
        if let Some(b) = entry {
            self.publish(b);
        }
        Ok(r)
    }

    /// Make an entry the caller has stored visible to readers.
    pub fn publish(&self, b: Binlog) {
        self.by_db.write().unwrap().entry(b.db_id).or_default().insert(b.commit_seq, b);
    }

    /// The log of database `db_id`, or of one of its tables (its entries only), headed by
    /// its DUMMY. Nothing is collected yet, so the DUMMY stands at -1.
    pub fn log_of(&self, db_id: i64, table_id: Option<i64>) -> Vec<Binlog> {
        let by_db = self.by_db.read().unwrap();
        let head = Binlog::dummy(db_id, table_id.unwrap_or(-1), -1);
        let entries = by_db.get(&db_id).into_iter().flat_map(|m| m.values());
        std::iter::once(head)
            .chain(entries.filter(|b| table_id.is_none_or(|t| b.table_ids.contains(&t))).cloned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binlog::record::BinlogKind;

    fn entry(seq: i64, db: i64, table: i64) -> Binlog {
        Binlog { commit_seq: seq, timestamp_ms: seq, kind: BinlogKind::Upsert, db_id: db, table_ids: vec![table], data: "{}".into(), belong: -1 }
    }

    /// Entries come back after a restart, in order, per database and per table.
    #[test]
    fn stored_entries_load_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = MetaStore::open(dir.path()).unwrap();
        for b in [entry(30, 1, 7), entry(10, 1, 7), entry(20, 1, 8), entry(15, 2, 9)] {
            store.put(Kind::Binlog, b.commit_seq, &b).unwrap();
        }
        let logs = Binlogs::load(&store).unwrap();
        let seqs = |l: Vec<Binlog>| l.iter().map(|b| b.commit_seq).collect::<Vec<_>>();
        assert_eq!(seqs(logs.log_of(1, None)), [-1, 10, 20, 30]);
        assert_eq!(seqs(logs.log_of(1, Some(7))), [-1, 10, 30]);
        assert_eq!(seqs(logs.log_of(2, None)), [-1, 15]);
        assert_eq!(seqs(logs.log_of(3, None)), [-1], "a database without entries: only its dummy");
        logs.publish(entry(40, 1, 8));
        assert_eq!(seqs(logs.log_of(1, Some(8))), [-1, 20, 40]);
    }
}
