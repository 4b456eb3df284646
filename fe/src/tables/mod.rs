//! Table DDL that reaches the BEs, above the catalog: CREATE TABLE sends CREATE tasks and
//! waits for them before the catalog registers the table; DROP TABLE / DATABASE removes
//! from the catalog, then sends DROP tasks. The catalog itself stays pure metadata (it
//! never sends tasks); restore uses the same task builders for the tables and partitions
//! it adds or throws away.

mod columns;
mod create;
mod drop;
mod overwrite;
mod partitions;
mod rename;

pub use create::{create_table, create_table_in, create_tablet_req, create_tasks, create_tasks_in};
pub use drop::{drop_database, drop_partition_tablets, drop_table, drop_tablets};
pub use overwrite::{abort_overwrite, begin_overwrite, commit_overwrite, drop_leftovers, Overwrite};
pub use partitions::{add_partition, drop_partition, truncate, AddPartition};
pub use columns::alter_columns;
pub use rename::rename_table;

use std::sync::Arc;

use crate::binlog::Binlogs;
use crate::cooldown::Policies;
use crate::system::task_queue::AgentTasks;

crate::module_handle!(
    /// What table DDL uses: agent tasks to the BEs, storage policies (CREATE TABLE sends
    /// the policy's id), the binlogs (DDL of a table that keeps them is logged).
    TableDdl { tasks: Arc<AgentTasks>, policies: Arc<Policies>, binlogs: Arc<Binlogs> }
);
