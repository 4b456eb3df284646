//! Storage: data dirs, tablets and their meta, snapshots.
//!
//! Layout of one root:
//! ```text
//! <root>/cluster_id                                   the cluster this BE joined
//! <root>/meta/tablet_meta.redb                        tablet metas (crash-safe)
//! <root>/data/<shard>/<tablet_id>/<schema_hash>/      rowset files <rowset_id>_<seg>.dat
//! <root>/snapshot/<yyyyMMddHHmmss>.<seq>.<timeout_s>/<tablet_id>/<schema_hash>/
//!                                                     hard links + <tablet_id>.hdr
//! ```

pub mod data_dir;
pub mod engine;
pub mod hdr;
pub mod meta_store;
pub mod snapshot;
pub mod tablet_meta;

pub use data_dir::DataDir;
pub use engine::{SnapshotInfo, StorageEngine};
pub use tablet_meta::{ColumnMeta, CooldownState, PendingRowset, RowsetMeta, TabletMeta, TabletSchema};
