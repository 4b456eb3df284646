//! The binlogs of every database, in memory and in the meta store (`Kind::Binlog`, keyed by
//! commit seq; `Kind::BinlogGc`, per database, how far it was collected). An entry is
//! written by the caller in the transaction of the change it records, then made visible
//! here; a restart loads them back in order.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, RwLock};

use super::gc::{self, GcPoints};
use super::read::{lag_after, read_after, Read};
use super::record::{Binlog, BinlogKind};
use crate::catalog::Catalog;
use crate::persist::{Kind, MetaError, MetaStore};

#[derive(Default)]
struct Log {
    entries: BTreeMap<i64, Binlog>,
    collected: GcPoints,
    /// Commit seqs of its DROP_PARTITION and DROP_TABLE entries.
    dropped: BTreeSet<i64>,
}

impl Log {
    fn insert(&mut self, b: Binlog) {
        if matches!(b.kind, BinlogKind::DropPartition | BinlogKind::DropTable) {
            self.dropped.insert(b.commit_seq);
        }
        self.entries.insert(b.commit_seq, b);
    }

    fn remove(&mut self, seq: i64) {
        self.dropped.remove(&seq);
        self.entries.remove(&seq);
    }
}

#[derive(Default)]
pub struct Binlogs {
    /// Database id -> its log.
    by_db: RwLock<HashMap<i64, Log>>,
    /// Database id -> the lock a writer holds from drawing an entry's commit seq until the
    /// entry is visible, so a database's seqs become visible in ascending order.
    order: Mutex<HashMap<i64, Arc<Mutex<()>>>>,
}

impl Binlogs {
    pub fn load(store: &MetaStore) -> Result<Self, MetaError> {
        let mut by_db: HashMap<i64, Log> = HashMap::new();
        for (db, points) in store.load_all::<GcPoints>(Kind::BinlogGc)? {
            by_db.entry(db).or_default().collected = points;
        }
        for (_, b) in store.load_all::<Binlog>(Kind::Binlog)? {
            by_db.entry(b.db_id).or_default().insert(b);
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
        let mut by_db = self.by_db.write().unwrap();
        by_db.entry(b.db_id).or_default().insert(b);
    }

    /// The DUMMY heading the log of database `db_id` (or of one of its tables).
    fn head(log: Option<&Log>, db_id: i64, table_id: Option<i64>) -> Binlog {
        let point = log.map_or(-1, |l| l.collected.point(table_id));
        Binlog::dummy(db_id, table_id.unwrap_or(-1), point)
    }

    /// getBinlog's answer for a reader of database `db_id` (or of one of its tables) at
    /// `prev_commit_seq`.
    pub fn read(&self, db_id: i64, table_id: Option<i64>, prev_commit_seq: i64) -> Read {
        let by_db = self.by_db.read().unwrap();
        let log = by_db.get(&db_id);
        let head = Self::head(log, db_id, table_id);
        let after = log.into_iter().flat_map(|l| l.entries.range(prev_commit_seq.saturating_add(1)..).map(|(_, b)| b));
        read_after(&head, after.filter(|b| b.in_log_of(table_id)), prev_commit_seq)
    }

    /// Partitions and tables whose drop is still in database `db_id`'s log (getMeta's
    /// `dropped_partitions` / `dropped_tables`: the syncer tells a dropped table from a
    /// renamed one by them).
    pub fn dropped(&self, db_id: i64) -> (Vec<i64>, Vec<i64>) {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Dropped {
            partition_id: i64,
        }
        let by_db = self.by_db.read().unwrap();
        let (mut partitions, mut tables) = (Vec::new(), Vec::new());
        for b in by_db.get(&db_id).into_iter().flat_map(|l| l.dropped.iter().filter_map(|s| l.entries.get(s))) {
            match b.kind {
                BinlogKind::DropTable => tables.extend(b.table_ids.iter().copied()),
                BinlogKind::DropPartition => partitions.extend(serde_json::from_str::<Dropped>(&b.data).map(|d| d.partition_id)),
                _ => {}
            }
        }
        (partitions, tables)
    }

    /// getBinlogLag's answer (see [`lag_after`]).
    pub fn lag(&self, db_id: i64, table_id: Option<i64>, prev_commit_seq: i64) -> i64 {
        let by_db = self.by_db.read().unwrap();
        let log = by_db.get(&db_id);
        let head = Self::head(log, db_id, table_id);
        let from = if head.commit_seq > prev_commit_seq { i64::MIN } else { prev_commit_seq.saturating_add(1) };
        let after = log.into_iter().flat_map(|l| l.entries.range(from..).map(|(_, b)| b));
        lag_after(&head, after.filter(|b| b.in_log_of(table_id)), prev_commit_seq)
    }

    /// One collection over every database's log at `now_ms`, under the databases' and
    /// tables' binlog settings in `catalog`: removed entries and the new collected points
    /// are written in one store transaction per database. The number of entries removed.
    pub fn collect(&self, store: &MetaStore, catalog: &Catalog, now_ms: i64) -> Result<usize, MetaError> {
        let dbs: Vec<i64> = self.by_db.read().unwrap().keys().copied().collect();
        let mut removed = 0;
        for db_id in dbs {
            // Writers of this database wait: a seq drawn meanwhile must not fall behind
            // the collected point.
            let order = self.order_lock(db_id);
            let _in_order = order.lock().unwrap_or_else(|p| p.into_inner());
            let db_cfg = catalog.database_by_id(db_id).map(|d| d.binlog()).filter(|c| c.enable);
            let (seqs, points) = {
                let by_db = self.by_db.read().unwrap();
                let Some(log) = by_db.get(&db_id) else { continue };
                let table_cfg = |t: i64| catalog.table_by_id(t).map(|t| t.binlog()).unwrap_or_default();
                let seqs = gc::plan(&log.entries, db_cfg, table_cfg, now_ms);
                let mut points = log.collected.clone();
                for s in &seqs {
                    points.remove(&log.entries[s]);
                }
                (seqs, points)
            };
            if seqs.is_empty() {
                continue;
            }
            store.write(|w| {
                for s in &seqs {
                    w.delete(Kind::Binlog, *s)?;
                }
                w.put(Kind::BinlogGc, db_id, &points)
            })?;
            let mut by_db = self.by_db.write().unwrap();
            if let Some(log) = by_db.get_mut(&db_id) {
                for s in &seqs {
                    log.remove(*s);
                }
                log.collected = points;
            }
            removed += seqs.len();
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binlog::record::BinlogKind;

    fn entry(seq: i64, db: i64, table: i64) -> Binlog {
        Binlog { commit_seq: seq, timestamp_ms: seq, kind: BinlogKind::Upsert, db_id: db, table_ids: vec![table], data: "{}".into(), belong: -1 }
    }

    fn next_seqs(logs: &Binlogs, db: i64, table: Option<i64>) -> Vec<i64> {
        let mut out = Vec::new();
        let mut prev = -1;
        while let Read::Next(b) = logs.read(db, table, prev) {
            out.push(b.commit_seq);
            prev = b.commit_seq;
        }
        out
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
        assert_eq!(next_seqs(&logs, 1, None), [10, 20, 30]);
        assert_eq!(next_seqs(&logs, 1, Some(7)), [10, 30]);
        assert_eq!(next_seqs(&logs, 2, None), [15]);
        assert_eq!(logs.read(3, None, -1), Read::TooNew, "a database without entries");
        assert_eq!((logs.lag(1, None, -1), logs.lag(1, Some(7), 10)), (3, 1));
        logs.publish(entry(40, 1, 8));
        assert_eq!(next_seqs(&logs, 1, Some(8)), [20, 40]);
        // Drops still in the log, for getMeta.
        logs.publish(Binlog { kind: BinlogKind::DropPartition, data: r#"{"partitionId":55,"tableId":8}"#.into(), ..entry(50, 1, 8) });
        logs.publish(Binlog { kind: BinlogKind::DropTable, ..entry(60, 1, 7) });
        assert_eq!(logs.dropped(1), (vec![55], vec![7]));
        assert_eq!(logs.dropped(2), (vec![], vec![]));
    }

    /// A collection removes entries for good and moves the DUMMY: a reader behind it gets
    /// TOO_OLD, also after a restart.
    #[test]
    fn collected_entries_leave_a_dummy_behind() {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(MetaStore::open(dir.path()).unwrap());
        let catalog = Catalog::load(store.clone()).unwrap();
        let db = catalog.create_database("d", false, 0).unwrap().unwrap();
        catalog.set_database_properties("d", &[("binlog.enable".into(), "true".into()), ("binlog.max_history_nums".into(), "2".into())]).unwrap();
        let logs = Binlogs::load(&store).unwrap();
        for seq in [10, 20, 30] {
            let b = entry(seq, db.id, 7);
            store.put(Kind::Binlog, seq, &b).unwrap();
            logs.publish(b);
        }
        assert_eq!(logs.collect(&store, &catalog, 100).unwrap(), 1);
        assert_eq!(logs.read(db.id, None, -1), Read::TooOld(Binlog::dummy(db.id, -1, 10)));
        assert_eq!(logs.read(db.id, None, 10), Read::Next(entry(20, db.id, 7)));
        assert_eq!(logs.lag(db.id, None, 5), 3, "behind: the dummy and the two left");
        let again = Binlogs::load(&store).unwrap();
        assert_eq!(again.read(db.id, Some(7), 0), Read::TooOld(Binlog::dummy(db.id, 7, 10)));
        assert_eq!(next_seqs(&again, db.id, None), Vec::<i64>::new(), "from -1 the reader is behind");
        assert_eq!(again.collect(&store, &catalog, 100).unwrap(), 0, "nothing more over the limit");
    }
}
