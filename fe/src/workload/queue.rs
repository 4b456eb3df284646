//! A workload group's query queue: at most `max_concurrency` queries run, at most
//! `max_queue_size` wait (first come, first served), and a waiter gives up after
//! `queue_timeout` (or the query's own timeout, if shorter). The refusals carry upstream's
//! texts, which clients and operators match on.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::oneshot;

use crate::error::FeError;

/// The queue's bounds (a workload group's `max_concurrency`, `max_queue_size`,
/// `queue_timeout` in ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueBounds {
    pub max_concurrency: u32,
    pub max_queue_size: u32,
    pub queue_timeout_ms: u64,
}

impl Default for QueueBounds {
    /// Upstream's defaults: no bound on running queries, so nothing ever waits.
    fn default() -> Self {
        QueueBounds { max_concurrency: i32::MAX as u32, max_queue_size: 0, queue_timeout_ms: 0 }
    }
}

struct Waiter {
    id: u64,
    admitted: oneshot::Sender<()>,
}

struct State {
    bounds: QueueBounds,
    running: u32,
    waiting: VecDeque<Waiter>,
    next_id: u64,
}

impl State {
    /// Moves waiters to running while there is room. Called with the lock held, so a waiter
    /// that leaves (its future dropped) is either still listed or was sent its admission.
    fn admit_waiters(&mut self) {
        while self.running < self.bounds.max_concurrency {
            let Some(w) = self.waiting.pop_front() else { break };
            // The receiver lives until its guard has taken this lock: the send cannot fail.
            if w.admitted.send(()).is_ok() {
                self.running += 1;
            }
        }
    }
}

pub struct QueryQueue {
    state: Mutex<State>,
}

/// A running query's place: released (and the next waiter admitted) when dropped.
pub struct QueueToken {
    queue: Arc<QueryQueue>,
}

impl Drop for QueueToken {
    fn drop(&mut self) {
        let mut st = self.queue.lock();
        st.running = st.running.saturating_sub(1);
        st.admit_waiters();
    }
}

/// A waiting query's entry; dropping it (the client went away, the wait timed out)
/// takes the entry out of the queue, or gives back the place it was just admitted to.
struct WaitGuard {
    queue: Arc<QueryQueue>,
    id: u64,
    rx: Option<oneshot::Receiver<()>>,
}

impl Drop for WaitGuard {
    fn drop(&mut self) {
        let Some(mut rx) = self.rx.take() else { return };
        let mut st = self.queue.lock();
        if let Some(i) = st.waiting.iter().position(|w| w.id == self.id) {
            st.waiting.remove(i);
        } else if rx.try_recv().is_ok() {
            st.running = st.running.saturating_sub(1);
            st.admit_waiters();
        }
    }
}

impl QueryQueue {
    pub fn new(bounds: QueueBounds) -> Arc<Self> {
        Arc::new(QueryQueue { state: Mutex::new(State { bounds, running: 0, waiting: VecDeque::new(), next_id: 0 }) })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queries running and waiting now.
    pub fn counts(&self) -> (u32, usize) {
        let st = self.lock();
        (st.running, st.waiting.len())
    }

    /// New bounds; raising `max_concurrency` admits waiters at once.
    pub fn set_bounds(&self, bounds: QueueBounds) {
        let mut st = self.lock();
        st.bounds = bounds;
        st.admit_waiters();
    }

    /// A place to run a query: at once while fewer than `max_concurrency` run; otherwise in
    /// line behind earlier waiters, for at most the queue timeout or `query_timeout`,
    /// whichever is shorter. Refused when the line is full or the wait runs out.
    pub async fn admit(self: &Arc<Self>, query_timeout: Duration) -> Result<QueueToken, FeError> {
        let (guard, wait) = {
            let mut st = self.lock();
            if st.running < st.bounds.max_concurrency && st.waiting.is_empty() {
                st.running += 1;
                return Ok(QueueToken { queue: self.clone() });
            }
            if st.waiting.len() >= st.bounds.max_queue_size as usize {
                return Err(FeError::IllegalState(format!(
                    "query waiting queue is full, queue length={}",
                    st.bounds.max_queue_size
                )));
            }
            let (tx, rx) = oneshot::channel();
            st.next_id += 1;
            let id = st.next_id;
            st.waiting.push_back(Waiter { id, admitted: tx });
            let wait = Duration::from_millis(st.bounds.queue_timeout_ms).min(query_timeout);
            (WaitGuard { queue: self.clone(), id, rx: Some(rx) }, wait)
        };
        let mut guard = guard;
        let rx = guard.rx.as_mut().expect("set above");
        match tokio::time::timeout(wait, rx).await {
            Ok(Ok(())) => {
                // Admitted: the place is the token's to give back now, not the guard's.
                guard.rx = None;
                Ok(QueueToken { queue: self.clone() })
            }
            // The guard's drop leaves the line (or gives back a place granted just now).
            _ => Err(FeError::IllegalState(format!("query queue timeout, timeout: {} ms ", wait.as_millis()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds(c: u32, q: u32, t: u64) -> QueueBounds {
        QueueBounds { max_concurrency: c, max_queue_size: q, queue_timeout_ms: t }
    }

    const LONG: Duration = Duration::from_secs(60);

    #[tokio::test]
    async fn runs_up_to_the_bound_then_queues_then_refuses() {
        let q = QueryQueue::new(bounds(2, 1, 60_000));
        let a = q.admit(LONG).await.unwrap();
        let _b = q.admit(LONG).await.unwrap();
        let q2 = q.clone();
        let waiting = tokio::spawn(async move { q2.admit(LONG).await.map(|_| ()) });
        while q.counts().1 == 0 {
            tokio::task::yield_now().await;
        }
        let full = q.admit(LONG).await.err().expect("the line is full");
        assert_eq!(full.to_string(), "query waiting queue is full, queue length=1");
        assert_eq!(q.counts(), (2, 1));
        drop(a);
        waiting.await.unwrap().unwrap();
        // The waiter ran and let go: one still running.
        assert_eq!(q.counts(), (1, 0));
    }

    #[tokio::test]
    async fn a_wait_ends_at_the_shorter_timeout_and_leaves_the_line() {
        let q = QueryQueue::new(bounds(1, 5, 50));
        let _a = q.admit(LONG).await.unwrap();
        let e = q.admit(LONG).await.err().expect("timed out");
        assert_eq!(e.to_string(), "query queue timeout, timeout: 50 ms ");
        assert_eq!(q.counts(), (1, 0));
        // The query's own timeout, when shorter.
        q.set_bounds(bounds(1, 5, 60_000));
        let e = q.admit(Duration::from_millis(20)).await.err().expect("timed out");
        assert_eq!(e.to_string(), "query queue timeout, timeout: 20 ms ");
    }

    #[tokio::test]
    async fn upstream_defaults_never_queue_and_zero_queue_refuses() {
        let q = QueryQueue::new(QueueBounds::default());
        let held: Vec<_> = futures::future::join_all((0..100).map(|_| q.admit(LONG))).await;
        assert!(held.iter().all(|t| t.is_ok()));
        assert_eq!(q.counts(), (100, 0));
        q.set_bounds(bounds(100, 0, 0));
        let e = q.admit(LONG).await.err().expect("refused");
        assert_eq!(e.to_string(), "query waiting queue is full, queue length=0");
    }

    #[tokio::test]
    async fn a_dropped_waiter_leaves_no_entry_and_raising_the_bound_admits() {
        let q = QueryQueue::new(bounds(1, 2, 60_000));
        let _a = q.admit(LONG).await.unwrap();
        let q2 = q.clone();
        let gone = tokio::spawn(async move { q2.admit(LONG).await.map(|_| ()) });
        while q.counts().1 == 0 {
            tokio::task::yield_now().await;
        }
        gone.abort();
        let _ = gone.await;
        assert_eq!(q.counts(), (1, 0));
        let q3 = q.clone();
        let next = tokio::spawn(async move { q3.admit(LONG).await });
        while q.counts().1 == 0 {
            tokio::task::yield_now().await;
        }
        q.set_bounds(bounds(2, 2, 60_000));
        let t = next.await.unwrap().unwrap();
        assert_eq!(q.counts(), (2, 0));
        drop(t);
        assert_eq!(q.counts(), (1, 0));
    }
}
