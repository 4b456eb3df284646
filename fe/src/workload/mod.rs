//! Workload groups: upstream's `normal` group, whose query queue bounds how many queries
//! run at once and how many may wait (`ALTER WORKLOAD GROUP normal PROPERTIES (...)`,
//! `SHOW WORKLOAD GROUPS`). An overloaded FE then refuses a query at once with a clear
//! error instead of leaving it to the client's timeout. The properties are stored in the
//! meta store and survive a restart.

mod queue;

pub use queue::{QueryQueue, QueueBounds, QueueToken};

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::FeError;
use crate::persist::{MetaError, MetaStore, Named};

/// The group every query runs in (upstream's default group, id 1).
pub const NORMAL: &str = "normal";
const NORMAL_ID: i64 = 1;

pub const MAX_CONCURRENCY: &str = "max_concurrency";
pub const MAX_QUEUE_SIZE: &str = "max_queue_size";
pub const QUEUE_TIMEOUT: &str = "queue_timeout";

/// SHOW WORKLOAD GROUPS' columns after Id and Name, with the value shown when unset (the
/// normal group's, upstream). The queue's two counts come last.
const SHOWN: &[(&str, &str)] = &[
    ("cpu_share", "1024"),
    ("memory_limit", "30%"),
    ("enable_memory_overcommit", "true"),
    (MAX_CONCURRENCY, "2147483647"),
    (MAX_QUEUE_SIZE, "0"),
    (QUEUE_TIMEOUT, "0"),
    ("cpu_hard_limit", "-1"),
    ("scan_thread_num", "-1"),
    ("max_remote_scan_thread_num", "-1"),
    ("min_remote_scan_thread_num", "-1"),
    ("spill_threshold_low_watermark", "50%"),
    ("spill_threshold_high_watermark", "80%"),
    ("tag", ""),
    ("read_bytes_per_second", "-1"),
    ("remote_read_bytes_per_second", "-1"),
];

/// SHOW WORKLOAD GROUPS' header.
pub fn show_columns() -> Vec<&'static str> {
    let mut cols = vec!["Id", "Name"];
    cols.extend(SHOWN.iter().map(|(k, _)| *k));
    cols.extend(["running_query_num", "waiting_query_num"]);
    cols
}

pub struct WorkloadGroups {
    store: Arc<MetaStore>,
    /// The normal group's properties as set (unset ones show their default).
    properties: Mutex<BTreeMap<String, String>>,
    queue: Arc<QueryQueue>,
}

impl WorkloadGroups {
    pub fn load(store: Arc<MetaStore>) -> Result<Self, MetaError> {
        let properties: BTreeMap<String, String> = store
            .load_all_named::<BTreeMap<String, String>>(Named::WorkloadGroup)?
            .into_iter()
            .find(|(name, _)| name == NORMAL)
            .map(|(_, p)| p)
            .unwrap_or_default();
        // Stored only after the same check passed; should one not pass, run unbounded.
        let queue = QueryQueue::new(bounds(&properties).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "workload group normal: stored properties ignored");
            QueueBounds::default()
        }));
        Ok(WorkloadGroups { store, properties: Mutex::new(properties), queue })
    }

    /// A place for one query in the normal group's queue (see [`QueryQueue::admit`]).
    pub async fn admit(&self, query_timeout: Duration) -> Result<QueueToken, FeError> {
        self.queue.admit(query_timeout).await
    }

    /// `ALTER WORKLOAD GROUP name PROPERTIES (...)`: checked whole, stored, then applied.
    pub fn alter(&self, name: &str, changes: &[(String, String)]) -> Result<(), FeError> {
        if name != NORMAL {
            return Err(FeError::NotFound(format!("workload group {name}")));
        }
        let mut props = self.properties.lock().unwrap_or_else(|e| e.into_inner());
        let mut next = props.clone();
        for (k, v) in changes {
            let key = k.trim().to_ascii_lowercase();
            if !SHOWN.iter().any(|(s, _)| *s == key) {
                return Err(FeError::InvalidArgument(format!("Property {key} is not supported.")));
            }
            next.insert(key, v.trim().to_string());
        }
        let b = bounds(&next)?;
        self.store.put_named(Named::WorkloadGroup, NORMAL, &next)?;
        *props = next;
        self.queue.set_bounds(b);
        Ok(())
    }

    /// Rows of SHOW WORKLOAD GROUPS [LIKE pattern], in [`show_columns`] order.
    pub fn show(&self, like: Option<&str>) -> Vec<Vec<String>> {
        if like.is_some_and(|p| !crate::sql::like_match(p, NORMAL)) {
            return Vec::new();
        }
        let props = self.properties.lock().unwrap_or_else(|e| e.into_inner());
        let (running, waiting) = self.queue.counts();
        let mut row = vec![NORMAL_ID.to_string(), NORMAL.to_string()];
        row.extend(SHOWN.iter().map(|(k, d)| props.get(*k).cloned().unwrap_or_else(|| d.to_string())));
        row.extend([running.to_string(), waiting.to_string()]);
        vec![row]
    }
}

/// The queue bounds a group's properties set, each checked as upstream checks it.
fn bounds(props: &BTreeMap<String, String>) -> Result<QueueBounds, FeError> {
    let mut b = QueueBounds::default();
    let number = |key: &str| -> Result<Option<u64>, FeError> {
        match props.get(key) {
            None => Ok(None),
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| *n <= i32::MAX as u32)
                .map(|n| Some(n as u64))
                .ok_or_else(|| FeError::InvalidArgument(format!("{key} requires a positive integer"))),
        }
    };
    if let Some(n) = number(MAX_CONCURRENCY)? {
        b.max_concurrency = n as u32;
    }
    if let Some(n) = number(MAX_QUEUE_SIZE)? {
        b.max_queue_size = n as u32;
    }
    if let Some(n) = number(QUEUE_TIMEOUT)? {
        b.queue_timeout_ms = n;
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(kv: &[(&str, &str)]) -> Vec<(String, String)> {
        kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[tokio::test]
    async fn alter_is_checked_stored_and_shown_and_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(MetaStore::open(dir.path()).unwrap());
        let groups = WorkloadGroups::load(store.clone()).unwrap();
        let cols = show_columns();
        let at = |row: &Vec<String>, c: &str| row[cols.iter().position(|x| *x == c).unwrap()].clone();
        assert_eq!(at(&groups.show(None)[0], MAX_CONCURRENCY), "2147483647");

        let bad = groups.alter(NORMAL, &props(&[(MAX_CONCURRENCY, "-1")])).unwrap_err();
        assert_eq!(bad.to_string(), "invalid argument: max_concurrency requires a positive integer");
        let bad = groups.alter(NORMAL, &props(&[("no_such", "1")])).unwrap_err();
        assert_eq!(bad.to_string(), "invalid argument: Property no_such is not supported.");
        assert!(groups.alter("g1", &props(&[(MAX_QUEUE_SIZE, "1")])).is_err());

        groups.alter(NORMAL, &props(&[(MAX_CONCURRENCY, "1"), (MAX_QUEUE_SIZE, "0")])).unwrap();
        let token = groups.admit(Duration::from_secs(5)).await.unwrap();
        let row = &groups.show(Some("norm%"))[0];
        assert_eq!((at(row, MAX_CONCURRENCY), at(row, "running_query_num")), ("1".into(), "1".into()));
        let refused = groups.admit(Duration::from_secs(5)).await.err().unwrap();
        assert_eq!(refused.to_string(), "query waiting queue is full, queue length=0");
        drop(token);
        assert!(groups.show(Some("other")).is_empty());
        drop(groups);
        drop(store);

        let store = Arc::new(MetaStore::open(dir.path()).unwrap());
        let groups = WorkloadGroups::load(store).unwrap();
        assert_eq!(at(&groups.show(None)[0], MAX_CONCURRENCY), "1");
        let _one = groups.admit(Duration::from_secs(5)).await.unwrap();
        assert!(groups.admit(Duration::from_secs(5)).await.is_err());
    }
}
