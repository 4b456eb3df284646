//! Reading a log as upstream's getBinlog and getBinlogLag do. A log is ascending by
//! commit seq and headed by its DUMMY, whose commit seq is how far it was collected (-1
//! while nothing was).

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

/// The entry after `prev_commit_seq` in `log` (non-empty, headed by its DUMMY).
pub fn read_after(log: &[Binlog], prev_commit_seq: i64) -> Read {
    let head = log.first().expect("a log always holds its DUMMY");
    if head.commit_seq > prev_commit_seq {
        return Read::TooOld(head.clone());
    }
    let i = log.partition_point(|b| b.commit_seq <= prev_commit_seq);
    match log.get(i) {
        Some(b) => Read::Next(b.clone()),
        None => Read::TooNew,
    }
}

/// How many entries a reader at `prev_commit_seq` has still to read (getBinlogLag); a reader
/// behind the collected part has the whole log, DUMMY included, as upstream counts.
pub fn lag_after(log: &[Binlog], prev_commit_seq: i64) -> i64 {
    let Some(head) = log.first() else { return 0 };
    if head.commit_seq > prev_commit_seq {
        return log.len() as i64;
    }
    (log.len() - log.partition_point(|b| b.commit_seq <= prev_commit_seq)) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binlog::record::BinlogKind;

    fn entry(seq: i64) -> Binlog {
        Binlog { commit_seq: seq, timestamp_ms: seq, kind: BinlogKind::Upsert, db_id: 1, table_ids: vec![2], data: String::new(), belong: -1 }
    }

    fn log(gc_point: i64, seqs: &[i64]) -> Vec<Binlog> {
        std::iter::once(Binlog::dummy(1, -1, gc_point)).chain(seqs.iter().map(|s| entry(*s))).collect()
    }

    #[test]
    fn a_reader_gets_the_next_entry_or_waits() {
        let l = log(-1, &[10, 20, 30]);
        assert_eq!(read_after(&l, -1), Read::Next(entry(10)));
        assert_eq!(read_after(&l, 10), Read::Next(entry(20)));
        assert_eq!(read_after(&l, 15), Read::Next(entry(20)), "between entries: the next one");
        assert_eq!(read_after(&l, 30), Read::TooNew);
        assert_eq!(read_after(&l, 99), Read::TooNew);
        assert_eq!((lag_after(&l, -1), lag_after(&l, 10), lag_after(&l, 30)), (3, 2, 0));
    }

    #[test]
    fn a_reader_behind_the_collected_part_gets_the_dummy() {
        // Entries up to 20 were collected.
        let l = log(20, &[30, 40]);
        assert_eq!(read_after(&l, 10), Read::TooOld(Binlog::dummy(1, -1, 20)));
        assert_eq!(lag_after(&l, 10), 3, "the whole log, dummy included");
        assert_eq!(read_after(&l, 20), Read::Next(entry(30)), "exactly at the collected point reads on");
        // An empty log (only its dummy): nothing newer.
        assert_eq!(read_after(&log(-1, &[]), 5), Read::TooNew);
        assert_eq!(lag_after(&log(-1, &[]), 5), 0);
    }
}
