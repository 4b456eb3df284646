//! What backup and restore use: the job registry, repositories, agent tasks to the BEs
//! and table DDL (restores create and drop tables), besides the shared infrastructure.

use std::sync::Arc;

use super::repos::Repositories;
use super::Jobs;
use crate::system::task_queue::AgentTasks;
use crate::tables::TableDdl;

crate::module_handle!(
    /// The handle every backup and restore step runs with.
    BackupEnv { jobs: Arc<Jobs>, repos: Arc<Repositories>, tasks: Arc<AgentTasks>, ddl: TableDdl }
);

/// A shared [`BackupEnv`], for runners that outlive the call that started them.
pub type BackupCtx = Arc<BackupEnv>;
