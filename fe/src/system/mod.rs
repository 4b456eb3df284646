//! Backends, heartbeats, reports and agent tasks.

pub mod backends;
pub mod be_http;
pub mod down_watch;
pub mod heartbeat;
pub mod reports;
pub mod task_queue;
#[cfg(test)]
mod task_runs_tests;

pub use backends::{Backend, Backends, SystemError};
pub use task_queue::{AgentTask, AgentTasks, Finished, TaskError};
