//! Storage: data dirs, tablets and their meta, snapshots.
//!
//! Layout of one root:
//! ```text
//! <root>/cluster_id                                   the cluster this BE joined (decimal text)
//! <root>/meta/tablet_meta.redb                        tablet metas (crash-safe), storage policies
//! <root>/data/<shard>/<tablet_id>/<schema_hash>/      rowset files <rowset_id>_<seg>.dat
//! <root>/snapshot/<yyyyMMddHHmmss>.<seq>.<timeout_s>/<tablet_id>/<schema_hash>/
//!                                                     hard links + <tablet_id>.hdr
//! <root>/snapshot/.tmp.<name>/                        a snapshot being built (removed at open)
//! ```
//!
//! Crash safety rests on one rule: the redb commit of a tablet's meta is the moment an
//! operation takes effect. Files are put in place before the commit and old files are
//! removed after it; whatever a crash leaves behind is recognised at open as not referenced
//! by any committed meta and removed (see `recovery`).
//!
//! ## Failpoints
//! Built only with the cargo feature `failpoints` (on for this crate's tests; a release
//! binary has none). Tests kill the process mid-operation by setting the environment
//! variable `DORIS_RS_FAILPOINT` to one of these names; the process aborts when it
//! reaches the point:
//!
//! | name                        | where                                                    |
//! |-----------------------------|----------------------------------------------------------|
//! | `create_tablet.after_dir`   | tablet dir created, meta not committed                   |
//! | `drop_tablet.after_meta`    | meta deleted, files not yet removed                      |
//! | `add_rowset.before_meta`    | rowset validated, meta not committed                     |
//! | `make_snapshot.after_link`  | staging dir filled, not yet renamed to its final name    |
//! | `make_snapshot.after_rename`| snapshot under its final name, not yet fsynced nor reported |
//! | `move_dir.after_link`       | snapshot files linked into the tablet dir, meta not committed |
//! | `move_dir.after_meta`       | new meta committed, old files still there, no `LOADED`   |
//! | `publish_version.before_meta` | a tablet's rowset made visible in memory, not committed |
//! | `publish_version.after_meta`  | the first tablet of the txn committed, the others still pending |
//! | `load_rowset.before_meta`   | a received load segment on disk, its pending rowset not committed |
//! | `stream_load.after_begin`   | the coordinator began the txn at the FE, nothing written  |
//! | `stream_load.after_write`   | every replica holds its pending rowset, txn not committed |

/// `failpoint!("name")`: abort here when `DORIS_RS_FAILPOINT` names this point. Expands to
/// nothing without the `failpoints` feature.
#[cfg(feature = "failpoints")]
macro_rules! failpoint {
    ($name:literal) => {
        $crate::storage::abort_at_failpoint($name)
    };
}
#[cfg(not(feature = "failpoints"))]
macro_rules! failpoint {
    ($name:literal) => {};
}
pub(crate) use failpoint;

pub mod data_dir;
pub mod engine;
pub mod fsutil;
pub mod group_sync;
pub mod hdr;
pub mod md5_cache;
pub mod meta_store;
pub mod move_dir;
pub mod policy;
pub mod recovery;
pub mod report;
pub mod schema;
pub mod snapshot;
pub mod tablet_meta;
pub mod tablets;

pub use data_dir::DataDir;
pub use engine::{SnapshotInfo, StorageEngine};
pub use move_dir::MoveSpec;
pub use snapshot::SnapshotSpec;
pub use tablets::NewTablet;
pub use policy::{PolicySet, PushOutcome, ResourceKind, S3Resource, StoragePolicy, StorageResource};
pub use tablet_meta::{ColumnMeta, CooldownState, DeleteCondition, PendingRowset, RowsetMeta, TabletMeta, TabletSchema};

/// The environment variable naming the failpoint to abort at.
#[cfg(feature = "failpoints")]
pub const FAILPOINT_ENV: &str = "DORIS_RS_FAILPOINT";

/// Abort the process (as `kill -9` would end it: no unwinding, no destructors) when
/// `DORIS_RS_FAILPOINT` names this point. Names are listed in the module doc.
#[cfg(feature = "failpoints")]
pub fn abort_at_failpoint(name: &str) {
    if std::env::var(FAILPOINT_ENV).is_ok_and(|v| v == name) {
        tracing::warn!(failpoint = name, "failpoint reached, aborting");
        std::process::abort();
    }
}
