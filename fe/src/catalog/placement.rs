//! Where a tablet's replicas go: round-robin over the alive backends, never two replicas of
//! one tablet on the same backend.

use super::types::StorageMedium;
use super::CatalogError;

/// Pick `n` distinct backends from `alive` (sorted ids), starting at the rotating cursor.
pub fn place_replicas(
    alive: &[i64],
    n: usize,
    medium: StorageMedium,
    cursor: &mut usize,
) -> Result<Vec<i64>, CatalogError> {
    if alive.len() < n || n == 0 {
        return Err(CatalogError::NotEnoughBackends { replication_num: n, medium: medium.name().to_string() });
    }
    let start = *cursor % alive.len();
    *cursor = cursor.wrapping_add(1);
    Ok((0..n).map(|i| alive[(start + i) % alive.len()]).collect())
}
