//! Counters served at `/metrics` in Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

#[derive(Default)]
pub struct Metrics {
    /// Bytes written to disk by the snapshot pull engine.
    pub download_bytes: AtomicU64,
    pub download_files: AtomicU64,
    pub download_errors: AtomicU64,
    /// (task type, state) -> count; state is "received", "running", "succeeded", "failed".
    tasks: Mutex<BTreeMap<(String, &'static str), u64>>,
}

impl Metrics {
    pub fn task(&self, task_type: &str, state: &'static str) {
        *self.tasks.lock().unwrap().entry((task_type.to_string(), state)).or_default() += 1;
    }

    pub fn task_count(&self, task_type: &str, state: &'static str) -> u64 {
        self.tasks.lock().unwrap().get(&(task_type.to_string(), state)).copied().unwrap_or(0)
    }

    pub fn render(&self) -> String {
        let mut s = String::new();
        s.push_str("# TYPE doris_be_agent_tasks_total counter\n");
        for ((t, st), n) in self.tasks.lock().unwrap().iter() {
            let _ = writeln!(s, "doris_be_agent_tasks_total{{type=\"{t}\",state=\"{st}\"}} {n}");
        }
        let c = |n: &AtomicU64| n.load(Ordering::Relaxed);
        let _ = writeln!(s, "# TYPE doris_be_download_bytes_total counter\ndoris_be_download_bytes_total {}", c(&self.download_bytes));
        let _ = writeln!(s, "# TYPE doris_be_download_files_total counter\ndoris_be_download_files_total {}", c(&self.download_files));
        let _ = writeln!(s, "# TYPE doris_be_download_errors_total counter\ndoris_be_download_errors_total {}", c(&self.download_errors));
        s
    }
}
