//! Group fsync: many task workers making files and directories durable at the same time
//! share the flushes.
//!
//! On ext4 (and most journalling file systems) an fsync commits the journal, and one
//! commit carries every metadata change made before it. A snapshot or a tablet creation
//! needs a handful of directories durable; each worker fsyncing its own in turn paid one
//! journal commit per directory per tablet, which set the pace of MAKE_SNAPSHOT, CREATE and
//! MOVE across 100,000 tablets (issue 15). Here a worker queues its paths and waits: whoever
//! finds no flush under way fsyncs everything queued so far (the first fsync of the batch
//! commits the journal; the rest usually find nothing left to write), the others wait for
//! that flush, or for the next one when they came too late for it. The pattern is the meta
//! store's group commit (`meta_store.rs`).

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::path::PathBuf;
use std::sync::{Condvar, Mutex};

use crate::error::{BeError, Result};

#[derive(Default)]
pub struct GroupSync {
    state: Mutex<State>,
    flushed: Condvar,
}

#[derive(Default)]
struct State {
    /// Paths waiting for the next flush, each with the ticket of the call that asked.
    queue: Vec<(u64, PathBuf)>,
    last_ticket: u64,
    /// Every call numbered up to this one has been flushed (or has failed).
    done_upto: u64,
    flushing: bool,
    /// Calls whose paths failed to flush, with why.
    failed: HashMap<u64, String>,
}

impl GroupSync {
    /// Return once every path (a file or a directory) has been fsynced, by this call or by a
    /// flush that started after the paths were queued. Order within one call does not
    /// matter: the caller has already made every change it wants durable.
    pub fn sync(&self, paths: impl IntoIterator<Item = PathBuf>) -> Result<()> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.last_ticket += 1;
        let mine = s.last_ticket;
        let before = s.queue.len();
        s.queue.extend(paths.into_iter().map(|p| (mine, p)));
        if s.queue.len() == before {
            // Nothing asked; still counts as done once earlier tickets are.
            s.queue.push((mine, PathBuf::new()));
        }
        loop {
            if s.done_upto >= mine {
                return match s.failed.remove(&mine) {
                    Some(e) => Err(BeError::Internal(e)),
                    None => Ok(()),
                };
            }
            if s.flushing {
                s = self.flushed.wait(s).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            s.flushing = true;
            let batch = std::mem::take(&mut s.queue);
            drop(s);
            let failures = flush(&batch);
            s = self.state.lock().unwrap_or_else(|e| e.into_inner());
            s.flushing = false;
            s.failed.extend(failures);
            // Tickets are queued in order and batches taken whole, one at a time.
            if let Some((last, _)) = batch.last() {
                s.done_upto = s.done_upto.max(*last);
            }
            self.flushed.notify_all();
        }
    }
}

/// Fsync each distinct path once; a failure fails every call that asked for that path.
fn flush(batch: &[(u64, PathBuf)]) -> HashMap<u64, String> {
    let distinct: BTreeSet<&PathBuf> = batch.iter().map(|(_, p)| p).filter(|p| !p.as_os_str().is_empty()).collect();
    let mut bad: HashMap<&PathBuf, String> = HashMap::new();
    for p in distinct {
        if let Err(e) = File::open(p).and_then(|f| f.sync_all()) {
            bad.insert(p, format!("fsync {}: {e}", p.display()));
        }
    }
    let mut failed = HashMap::new();
    for (ticket, p) in batch {
        if let Some(e) = bad.get(p) {
            failed.entry(*ticket).or_insert_with(|| e.clone());
        }
    }
    failed
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn every_caller_returns_and_errors_reach_only_their_caller() {
        let dir = tempfile::tempdir().unwrap();
        let gs = Arc::new(GroupSync::default());
        let mut handles = Vec::new();
        for i in 0..16 {
            let gs = gs.clone();
            let d = dir.path().join(format!("d{i}"));
            std::fs::create_dir(&d).unwrap();
            std::fs::write(d.join("f"), b"x").unwrap();
            handles.push(std::thread::spawn(move || gs.sync([d.join("f"), d.clone(), d.parent().unwrap().to_path_buf()])));
        }
        for h in handles {
            h.join().unwrap().unwrap();
        }
        // A missing path fails its own call, not a concurrent one.
        let missing = dir.path().join("gone");
        let gs2 = gs.clone();
        let ok_dir = dir.path().to_path_buf();
        let ok = std::thread::spawn(move || gs2.sync([ok_dir]));
        let err = gs.sync([missing]).unwrap_err().to_string();
        assert!(err.contains("gone"), "{err}");
        ok.join().unwrap().unwrap();
        // An empty call returns.
        gs.sync(Vec::new()).unwrap();
    }
}
