//! Moved to [`crate::tables`]; kept only while restore still names the old path.

pub use crate::tables::{create_table, create_tasks, drop_partition_tablets, drop_table, drop_tablets};
