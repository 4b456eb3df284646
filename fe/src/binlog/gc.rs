//! Which binlogs a collection removes, as upstream's binlog GC decides: a log kept by its
//! database is collected under the database's settings, otherwise each table's entries
//! under the table's. Within one such group, the oldest entries go while any limit is
//! exceeded: older than `binlog.ttl_seconds`, more than `binlog.max_history_nums`, or more
//! than `binlog.max_bytes` of records. What is removed moves the group's collected point
//! (its DUMMY), behind which readers get BINLOG_TOO_OLD_COMMIT_SEQ.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::record::Binlog;
use crate::catalog::binlog::BinlogConfig;

/// How far a database's log was collected: the highest commit seq removed from the whole
/// log, and per table from the table's entries (-1: nothing yet).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GcPoints {
    pub db: i64,
    pub tables: BTreeMap<i64, i64>,
}

/// Nothing collected.
impl Default for GcPoints {
    fn default() -> Self {
        GcPoints { db: -1, tables: BTreeMap::new() }
    }
}

impl GcPoints {

    /// The DUMMY's commit seq of the log of the database (`None`) or of one table.
    pub fn point(&self, table_id: Option<i64>) -> i64 {
        match table_id {
            None => self.db,
            Some(t) => self.tables.get(&t).copied().unwrap_or(-1),
        }
    }

    /// Account for removing `b`.
    pub fn remove(&mut self, b: &Binlog) {
        self.db = self.db.max(b.commit_seq);
        for t in &b.table_ids {
            let p = self.tables.entry(*t).or_insert(-1);
            *p = (*p).max(b.commit_seq);
        }
    }
}

/// Whose settings collect an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner {
    Database,
    Table(i64),
}

/// The commit seqs to remove from one database's `log` (ascending) at `now_ms`. `db` is
/// the database's settings when it keeps binlogs; otherwise `table` gives each table's
/// (a dropped table's entries go by the defaults).
pub fn plan(
    log: &BTreeMap<i64, Binlog>,
    db: Option<BinlogConfig>,
    table: impl Fn(i64) -> BinlogConfig,
    now_ms: i64,
) -> Vec<i64> {
    let mut groups: HashMap<Owner, Vec<&Binlog>> = HashMap::new();
    for b in log.values() {
        let owner = match (db, b.table_ids.first()) {
            (Some(_), _) | (None, None) => Owner::Database,
            (None, Some(t)) => Owner::Table(*t),
        };
        groups.entry(owner).or_default().push(b);
    }
    let mut out = Vec::new();
    for (owner, entries) in groups {
        let cfg = match owner {
            Owner::Database => db.unwrap_or_default(),
            Owner::Table(t) => table(t),
        };
        let expire_before = now_ms.saturating_sub(cfg.ttl_seconds.saturating_mul(1000));
        let mut count = entries.len() as i64;
        let mut bytes: i64 = entries.iter().map(|b| b.data.len() as i64).sum();
        for b in entries {
            let over = b.timestamp_ms < expire_before || count > cfg.max_history_nums || bytes > cfg.max_bytes;
            if !over {
                break;
            }
            out.push(b.commit_seq);
            count -= 1;
            bytes -= b.data.len() as i64;
        }
    }
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binlog::record::BinlogKind;

    fn entry(seq: i64, table: i64, ts: i64, len: usize) -> Binlog {
        Binlog { commit_seq: seq, timestamp_ms: ts, kind: BinlogKind::Upsert, db_id: 1, table_ids: vec![table], data: "x".repeat(len), belong: -1 }
    }

    fn log(entries: &[Binlog]) -> BTreeMap<i64, Binlog> {
        entries.iter().map(|b| (b.commit_seq, b.clone())).collect()
    }

    fn cfg(ttl_s: i64, bytes: i64, nums: i64) -> BinlogConfig {
        BinlogConfig { enable: true, ttl_seconds: ttl_s, max_bytes: bytes, max_history_nums: nums }
    }

    #[test]
    fn each_limit_removes_the_oldest_first() {
        let l = log(&[entry(1, 7, 1_000, 10), entry(2, 7, 2_000, 10), entry(3, 7, 9_000, 10), entry(4, 7, 9_500, 10)]);
        // ttl 5 s at 10 s: entries written before 5 s go.
        assert_eq!(plan(&l, Some(cfg(5, i64::MAX, i64::MAX)), |_| BinlogConfig::default(), 10_000), [1, 2]);
        // at most 3 entries.
        assert_eq!(plan(&l, Some(cfg(86_400, i64::MAX, 3)), |_| BinlogConfig::default(), 10_000), [1]);
        // at most 25 bytes of records: two of 10 stay.
        assert_eq!(plan(&l, Some(cfg(86_400, 25, i64::MAX)), |_| BinlogConfig::default(), 10_000), [1, 2]);
        // nothing over a limit: nothing goes.
        assert!(plan(&l, Some(cfg(86_400, i64::MAX, i64::MAX)), |_| BinlogConfig::default(), 10_000).is_empty());
    }

    #[test]
    fn without_the_database_each_table_goes_by_its_own() {
        let l = log(&[entry(1, 7, 0, 1), entry(2, 8, 0, 1), entry(3, 7, 0, 1), entry(4, 8, 0, 1)]);
        let table = |t| if t == 7 { cfg(86_400, i64::MAX, 1) } else { cfg(86_400, i64::MAX, 5) };
        assert_eq!(plan(&l, None, table, 1_000), [1], "table 7 keeps one, table 8 all");
        let mut points = GcPoints::default();
        points.remove(&l[&1]);
        assert_eq!((points.point(None), points.point(Some(7)), points.point(Some(8))), (1, 1, -1));
    }
}
