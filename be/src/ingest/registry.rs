//! Ingests this BE runs or ran, by (txn, partition, tablet): what `query_ingest_binlog`
//! answers from, and what keeps two calls for the same replica from running twice.
//!
//! In memory only. What survives a restart is the outcome that matters: a finished ingest
//! is a pending (or published) rowset of the txn in the tablet's meta, which `Ingests`
//! checks first; an ingest cut short by a restart left only files the restart removes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One replica's ingest. Upstream keys its txn state by (partition, txn, tablet) and does
/// not look at the load id when asked; neither do we (the syncer sends {-1, -1}).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IngestKey {
    pub txn_id: i64,
    pub partition_id: i64,
    pub tablet_id: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    Doing,
    Done,
    Failed(String),
}

/// What `begin` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// Recorded as Doing: the caller runs it.
    Started,
    /// Already running: leave it be.
    Running,
}

/// How long a finished ingest's outcome is kept for queries. The syncer polls within
/// seconds; a done one also shows in the tablet meta for as long as it matters.
const KEEP_FINISHED: Duration = Duration::from_secs(6 * 3600);

struct Entry {
    progress: Progress,
    load_id: (i64, i64),
    at: Instant,
}

#[derive(Default)]
pub struct Registry {
    map: Mutex<HashMap<IngestKey, Entry>>,
}

impl Registry {
    /// Record `key` as Doing unless it already is. A failed or done entry is replaced:
    /// the caller checked the tablet meta for a done one, and a failed one may be retried.
    pub fn begin(&self, key: IngestKey, load_id: (i64, i64)) -> Begin {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        map.retain(|_, e| e.progress == Progress::Doing || now.duration_since(e.at) < KEEP_FINISHED);
        if map.get(&key).is_some_and(|e| e.progress == Progress::Doing) {
            return Begin::Running;
        }
        map.insert(key, Entry { progress: Progress::Doing, load_id, at: now });
        Begin::Started
    }

    /// Record how a started ingest ended.
    pub fn finish(&self, key: IngestKey, outcome: Result<(), String>) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let progress = match outcome {
            Ok(()) => Progress::Done,
            Err(m) => Progress::Failed(m),
        };
        let load_id = map.get(&key).map_or((-1, -1), |e| e.load_id);
        map.insert(key, Entry { progress, load_id, at: Instant::now() });
    }

    pub fn get(&self, key: &IngestKey) -> Option<Progress> {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).get(key).map(|e| e.progress.clone())
    }

    /// The load id the ingest of `key` was started with.
    pub fn load_id(&self, key: &IngestKey) -> Option<(i64, i64)> {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).get(key).map(|e| e.load_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: IngestKey = IngestKey { txn_id: 1, partition_id: 2, tablet_id: 3 };

    #[test]
    fn one_run_per_key_and_a_failed_one_may_start_again() {
        let r = Registry::default();
        assert_eq!(r.get(&K), None);
        assert_eq!(r.begin(K, (-1, -1)), Begin::Started);
        assert_eq!(r.begin(K, (-1, -1)), Begin::Running);
        assert_eq!(r.get(&K), Some(Progress::Doing));
        let other = IngestKey { tablet_id: 4, ..K };
        assert_eq!(r.begin(other, (5, 6)), Begin::Started);
        assert_eq!(r.load_id(&other), Some((5, 6)));

        r.finish(K, Err("boom".into()));
        assert_eq!(r.get(&K), Some(Progress::Failed("boom".into())));
        assert_eq!(r.begin(K, (-1, -1)), Begin::Started);
        r.finish(K, Ok(()));
        assert_eq!(r.get(&K), Some(Progress::Done));
        assert_eq!(r.get(&other), Some(Progress::Doing));
    }
}
