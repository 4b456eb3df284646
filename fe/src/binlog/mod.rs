//! Binlogs (CCR incremental sync): the ordered per-database log of committed changes the
//! CCR syncer reads with getBinlog. This module holds the log's entries and the rules of
//! reading it; keeping the log durable and writing to it from publish and DDL is the next
//! step (issue 13).

pub mod read;
pub mod record;

pub use read::{lag_after, read_after, Read};
pub use record::{Binlog, BinlogKind, PartitionRecord, TableRecord, UpsertRecord};
