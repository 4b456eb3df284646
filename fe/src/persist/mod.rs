//! Durable metadata: one redb database under `meta_dir`.

mod chunks;
pub mod meta_store;

pub use chunks::{Streamed, CHUNK_BYTES};
pub use meta_store::{ClusterInfo, Kind, MetaError, MetaStore, Named, Writer};
