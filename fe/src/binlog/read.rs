//! Reading a log as upstream's getBinlog and getBinlogLag do. A log is its DUMMY, whose
//! commit seq is how far it was collected (-1 while nothing was), and its entries
//! ascending by commit seq.

use super::record::Binlog;

/// What getBinlog answers for a reader at `prev_commit_seq`.
#[derive(Debug, Clone, PartialEq)]
pub enum Read {
    /// The next entry after the reader (status OK).
    Next(Binlog),
    /// The reader is behind what was collected: the DUMMY (BINLOG_TOO_OLD_COMMIT_SEQ), on
    /// which the syncer starts a new full sync.
    TooOld(Binlog),
    /// Nothing newer yet (BINLOG_TOO_NEW_COMMIT_SEQ): the reader polls again.
    TooNew,
}

/// The entry after `prev_commit_seq` among `entries` (ascending; entries at or before it
/// may be left out by the caller).
pub fn read_after<'a>(head: &Binlog, entries: impl IntoIterator<Item = &'a Binlog>, prev_commit_seq: i64) -> Read {
    if head.commit_seq > prev_commit_seq {
        return Read::TooOld(head.clone());
    }
    match entries.into_iter().find(|b| b.commit_seq > prev_commit_seq) {
        Some(b) => Read::Next(b.clone()),
        None => Read::TooNew,
    }
}

/// How many entries a reader at `prev_commit_seq` has still to read (getBinlogLag); a reader
/// behind the collected part has the whole log, DUMMY included, as upstream counts (the
/// caller then passes every entry).
pub fn lag_after<'a>(head: &Binlog, entries: impl IntoIterator<Item = &'a Binlog>, prev_commit_seq: i64) -> i64 {
    if head.commit_seq > prev_commit_seq {
        return 1 + entries.into_iter().count() as i64;
    }
    entries.into_iter().filter(|b| b.commit_seq > prev_commit_seq).count() as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binlog::record::BinlogKind;

    fn entry(seq: i64) -> Binlog {
        Binlog { commit_seq: seq, timestamp_ms: seq, kind: BinlogKind::Upsert, db_id: 1, table_ids: vec![2], data: String::new(), belong: -1 }
    }

    fn log(gc_point: i64, seqs: &[i64]) -> (Binlog, Vec<Binlog>) {
        (Binlog::dummy(1, -1, gc_point), seqs.iter().map(|s| entry(*s)).collect())
    }

    #[test]
    fn a_reader_gets_the_next_entry_or_waits() {
        let (h, l) = log(-1, &[10, 20, 30]);
        assert_eq!(read_after(&h, &l, -1), Read::Next(entry(10)));
        assert_eq!(read_after(&h, &l, 10), Read::Next(entry(20)));
        assert_eq!(read_after(&h, &l, 15), Read::Next(entry(20)), "between entries: the next one");
        assert_eq!(read_after(&h, &l, 30), Read::TooNew);
        assert_eq!(read_after(&h, &l, 99), Read::TooNew);
        assert_eq!((lag_after(&h, &l, -1), lag_after(&h, &l, 10), lag_after(&h, &l, 30)), (3, 2, 0));
    }

    #[test]
    fn a_reader_behind_the_collected_part_gets_the_dummy() {
        // Entries up to 20 were collected.
        let (h, l) = log(20, &[30, 40]);
        assert_eq!(read_after(&h, &l, 10), Read::TooOld(Binlog::dummy(1, -1, 20)));
        assert_eq!(lag_after(&h, &l, 10), 3, "the whole log, dummy included");
        assert_eq!(read_after(&h, &l, 20), Read::Next(entry(30)), "exactly at the collected point reads on");
        // An empty log (only its dummy): nothing newer.
        let (h, l) = log(-1, &[]);
        assert_eq!(read_after(&h, &l, 5), Read::TooNew);
        assert_eq!(lag_after(&h, &l, 5), 0);
    }
}
