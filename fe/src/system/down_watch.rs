//! Giving up on a backend that stays unreachable: a run of agent tasks fails once a
//! backend it still waits on has been down longer than `max_backend_down_time_second`.
//! Upstream has no such bound for backup and restore tasks (they wait for the job's
//! `timeout`, a day by default); here the tasks of a BE that is gone for good fail the job
//! with a message naming the BE, while one back within the bound gets its tasks again
//! through the report diff (`AgentTasks::resend_missing`) and the job goes on.

use std::collections::BTreeMap;
use std::time::Duration;

use super::task_queue::{Key, TaskError};
use crate::context::FeContext;

/// How often a run looks at the liveness of the backends it waits on.
pub const DOWN_CHECK: Duration = Duration::from_secs(1);

/// What a run needs to know of the backends: how long one has been unreachable.
pub trait Liveness: Send + Sync {
    /// How long `backend_id` has been unreachable; None while it answers (or is unknown).
    fn down_for(&self, backend_id: i64) -> Option<Duration>;
    /// How long a backend may stay unreachable before the tasks waiting on it fail.
    fn max_down(&self) -> Duration;
}

impl Liveness for FeContext {
    fn down_for(&self, backend_id: i64) -> Option<Duration> {
        let ms = self.backends.get(backend_id)?.down_for_ms(FeContext::now_ms())?;
        Some(Duration::from_millis(ms as u64))
    }

    fn max_down(&self) -> Duration {
        Duration::from_secs(self.config.max_backend_down_time_second)
    }
}

/// A run's tasks per backend: the backend's address and the tasks' keys.
pub(super) type ByBackend = BTreeMap<i64, (String, Vec<Key>)>;

/// The first backend of the run down longer than the bound while some of its tasks are
/// unanswered (`pending` says which), as the error the run fails with.
pub(super) fn first_down(live: &dyn Liveness, by_be: &ByBackend, pending: impl Fn(&Key) -> bool) -> Option<TaskError> {
    let max = live.max_down();
    for (&backend_id, (addr, keys)) in by_be {
        let Some(down) = live.down_for(backend_id).filter(|d| *d > max) else {
            continue;
        };
        let unfinished = keys.iter().filter(|k| pending(k)).count();
        if unfinished > 0 {
            return Some(TaskError::BackendDown {
                backend_id,
                addr: addr.clone(),
                down_secs: down.as_secs(),
                max_secs: max.as_secs(),
                unfinished,
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    struct Fixed(HashMap<i64, Duration>);

    impl Liveness for Fixed {
        fn down_for(&self, backend_id: i64) -> Option<Duration> {
            self.0.get(&backend_id).copied()
        }
        fn max_down(&self) -> Duration {
            Duration::from_secs(5)
        }
    }

    /// Only a backend down past the bound with unanswered tasks fails the run; the error
    /// names it, how long it has been down, the bound and its unfinished tasks.
    #[test]
    fn a_backend_down_past_the_bound_with_unanswered_tasks_fails_the_run() {
        let by_be: ByBackend = [
            (1, ("h:1".to_string(), vec![(1, 4, 100), (1, 4, 101)])),
            (2, ("h:2".to_string(), vec![(2, 4, 200)])),
            (3, ("h:3".to_string(), vec![(3, 4, 300)])),
        ]
        .into();
        // 1 is down but within the bound, 2 past it but its task answered, 3 past it.
        let live = Fixed(
            [(1, Duration::from_secs(4)), (2, Duration::from_secs(60)), (3, Duration::from_millis(7_500))].into(),
        );
        let e = first_down(&live, &by_be, |k| k.0 != 2).expect("backend 3 fails the run");
        assert_eq!(
            e.to_string(),
            "backend 3 (h:3) has been unreachable for 7 s, longer than max_backend_down_time_second (5 s); \
             1 of its task(s) unfinished"
        );
        assert!(first_down(&live, &by_be, |k| k.0 == 1).is_none(), "within the bound");
        assert!(first_down(&Fixed(HashMap::new()), &by_be, |_| true).is_none(), "all alive");
    }
}
