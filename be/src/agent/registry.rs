//! The signatures of the tasks this BE holds, per task type.
//!
//! A signature is registered when a task is queued and removed once its finishTask was
//! sent, so a task the FE re-sends while it is queued or running is not run twice, and
//! the task report tells the FE exactly what is still in flight.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use doris_thrift::types::TTaskType;

#[derive(Default)]
pub struct TaskRegistry {
    held: Mutex<BTreeMap<TTaskType, BTreeSet<i64>>>,
}

impl TaskRegistry {
    /// Tasks that are neither de-duplicated nor reported (as upstream): pushed confs are
    /// idempotent and carry no meaningful signature, and -1 means "no signature".
    pub fn is_exempt(task_type: TTaskType, signature: i64) -> bool {
        task_type == TTaskType::PUSH_COOLDOWN_CONF || task_type == TTaskType::PUSH_STORAGE_POLICY || signature == -1
    }

    /// True when the task should run: new, or exempt from de-duplication.
    pub fn register(&self, task_type: TTaskType, signature: i64) -> bool {
        if Self::is_exempt(task_type, signature) {
            return true;
        }
        self.held.lock().unwrap().entry(task_type).or_default().insert(signature)
    }

    pub fn remove(&self, task_type: TTaskType, signature: i64) {
        if Self::is_exempt(task_type, signature) {
            return;
        }
        if let Some(set) = self.held.lock().unwrap().get_mut(&task_type) {
            set.remove(&signature);
        }
    }

    pub fn contains(&self, task_type: TTaskType, signature: i64) -> bool {
        self.held.lock().unwrap().get(&task_type).is_some_and(|s| s.contains(&signature))
    }

    /// What the task report sends: every type seen so far, with its signatures held.
    pub fn snapshot(&self) -> BTreeMap<TTaskType, BTreeSet<i64>> {
        self.held.lock().unwrap().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_refused_until_removed_and_exempt_types_always_run() {
        let r = TaskRegistry::default();
        assert!(r.register(TTaskType::CREATE, 7));
        assert!(!r.register(TTaskType::CREATE, 7));
        assert!(r.register(TTaskType::DROP, 7), "signatures are per task type");
        assert!(r.contains(TTaskType::CREATE, 7));
        r.remove(TTaskType::CREATE, 7);
        assert!(r.register(TTaskType::CREATE, 7), "a finished task may be sent again");
        assert!(r.register(TTaskType::PUSH_COOLDOWN_CONF, 9));
        assert!(r.register(TTaskType::PUSH_COOLDOWN_CONF, 9));
        assert!(r.register(TTaskType::MAKE_SNAPSHOT, -1));
        assert!(r.register(TTaskType::MAKE_SNAPSHOT, -1));
        let snap = r.snapshot();
        assert_eq!(snap[&TTaskType::CREATE], BTreeSet::from([7]));
        assert!(!snap.contains_key(&TTaskType::PUSH_COOLDOWN_CONF));
        assert!(!snap.contains_key(&TTaskType::MAKE_SNAPSHOT));
    }
}
