//! Binlogs (CCR incremental sync): the ordered per-database log of committed changes the
//! CCR syncer reads with getBinlog. This module holds the log's entries and the rules of
//! reading it; `log` keeps them (durable in the meta store, by commit seq). Loads write an
//! UPSERT at publish, in the transaction that makes their versions visible; DDL writes its
//! record (`ddl`) in the transaction that changes the catalog.

pub mod access;
pub mod daemon;
pub mod ddl;
pub mod gc;
pub mod log;
pub mod read;
pub mod record;

pub use access::{keeps, resolve, BinlogError, Target};
pub use log::Binlogs;
pub use read::Read;
pub use record::{Binlog, BinlogKind, PartitionRecord, TableRecord, UpsertRecord};
