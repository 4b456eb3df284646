//! What backup and restore use: the job registry, repositories, agent tasks to the BEs,
//! table DDL (restores create and drop tables) and the load transactions (a restore holds
//! its tables against loads), besides the shared infrastructure.

use std::sync::Arc;

use super::repos::Repositories;
use super::Jobs;
use crate::binlog::Binlogs;
use crate::load::txn::TxnStore;
use crate::system::task_queue::AgentTasks;
use crate::tables::TableDdl;

crate::module_handle!(
    /// The handle every backup and restore step runs with.
    BackupEnv {
        jobs: Arc<Jobs>,
        repos: Arc<Repositories>,
        tasks: Arc<AgentTasks>,
        ddl: TableDdl,
        /// Load transactions: a restore holds a table under its load lock.
        txns: Arc<TxnStore>,
        /// Binlogs: a backup takes its commit seq in their order.
        binlogs: Arc<Binlogs>,
    }
);

/// A shared [`BackupEnv`], for runners that outlive the call that started them.
pub type BackupCtx = Arc<BackupEnv>;
