//! New tablets and their replicas, placed on backends.

use crate::catalog::placement::place_replicas;
use crate::catalog::table::{Replica, ReplicaState, Tablet};
use crate::catalog::types::StorageMedium;
use crate::catalog::CatalogError;

/// `buckets` new tablets of `replication_num` replicas each, placed round-robin from
/// `cursor` over `alive_backends`.
pub(super) fn place_tablets(
    buckets: u32,
    replication_num: u16,
    medium: StorageMedium,
    alive_backends: &[i64],
    next_id: &mut impl FnMut() -> Result<i64, CatalogError>,
    cursor: &mut usize,
) -> Result<Vec<Tablet>, CatalogError> {
    let mut tablets = Vec::new();
    for _ in 0..buckets {
        let tablet_id = next_id()?;
        let backends = place_replicas(alive_backends, replication_num as usize, medium, cursor)?;
        let mut replicas = Vec::new();
        for backend_id in backends {
            replicas.push(Replica {
                id: next_id()?,
                backend_id,
                version: 1,
                row_count: 0,
                data_size: 0,
                remote_data_size: 0,
                version_count: 1,
                path_hash: 0,
                state: ReplicaState::Normal,
                last_report_ms: 0,
                cooldown_term: 0,
                last_failed_version: -1,
                last_failed_time_ms: 0,
                last_success_version: 1,
                cooldown_meta_id: None,
            });
        }
        tablets.push(Tablet { id: tablet_id, replicas, cooldown_replica_id: 0, cooldown_term: 0 });
    }
    Ok(tablets)
}
