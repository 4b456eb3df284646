//! What a restore does to the catalog: holding a table against loads, partitions it adds
//! (restoring, invisible until commit) or throws away, and the commit that sets the
//! backed-up versions. Every change is persisted before it is visible, like all catalog
//! changes.

use std::sync::Arc;

use super::table::{OlapTable, Partition, PartitionKind, RestoreLock};
use super::{Catalog, CatalogError};
use crate::persist::Kind;

impl Catalog {
    /// Clear every restore lock whose job `ended` says is over; the tables released.
    pub fn release_restore_locks(&self, ended: impl Fn(i64) -> bool) -> Result<Vec<String>, CatalogError> {
        let mut st = self.state.write().unwrap();
        let mut released = Vec::new();
        for t in st.tables.values_mut() {
            if !t.restore_lock.as_ref().is_some_and(|l| ended(l.job_id)) {
                continue;
            }
            let mut copy = OlapTable::clone(t);
            copy.restore_lock = None;
            self.store.put(Kind::Table, copy.id, &copy)?;
            released.push(copy.name.clone());
            *t = Arc::new(copy);
        }
        Ok(released)
    }

    /// Register `p` in the table as a restoring partition (invisible to reads, loads and
    /// SHOW, its tablets known to tablet reports), persisted, before its tablets are made on
    /// the BEs. Checked again here against every partition the table has now.
    pub fn add_restoring_partition(&self, table_id: i64, p: Partition) -> Result<Arc<OlapTable>, CatalogError> {
        let mut st = self.state.write().unwrap();
        let t = st
            .tables
            .get(&table_id)
            .ok_or_else(|| CatalogError::UnknownTable { db: String::new(), table: table_id.to_string() })?;
        t.check_new_partition(&p)?;
        let mut copy = OlapTable::clone(t);
        let tablets: Vec<i64> = p.index.tablets.iter().map(|x| x.id).collect();
        copy.restoring_partitions.push(p);
        self.store.put(Kind::Table, table_id, &copy)?;
        for id in tablets {
            st.tablet_index.insert(id, table_id);
        }
        let copy = Arc::new(copy);
        st.tables.insert(table_id, copy.clone());
        Ok(copy)
    }

    /// Remove the restoring partitions `ids` from the table (a cancelled restore); the
    /// removed ones, whose tablets the caller drops on the BEs. A table or partition that
    /// is gone already is no error.
    pub fn remove_restoring_partitions(&self, table_id: i64, ids: &[i64]) -> Result<Vec<Partition>, CatalogError> {
        let mut st = self.state.write().unwrap();
        let Some(t) = st.tables.get(&table_id) else { return Ok(Vec::new()) };
        if !t.restoring_partitions.iter().any(|p| ids.contains(&p.id)) {
            return Ok(Vec::new());
        }
        let mut copy = OlapTable::clone(t);
        let (removed, kept): (Vec<Partition>, Vec<Partition>) =
            copy.restoring_partitions.drain(..).partition(|p| ids.contains(&p.id));
        copy.restoring_partitions = kept;
        self.store.put(Kind::Table, table_id, &copy)?;
        for p in &removed {
            for tablet in &p.index.tablets {
                st.tablet_index.remove(&tablet.id);
            }
        }
        st.tables.insert(table_id, Arc::new(copy));
        Ok(removed)
    }

    /// Hold the table for a restore as `hold` says (upstream's table state RESTORE or
    /// RESTORE_WITH_LOAD). Refused while another restore that `running` says is still going
    /// holds it.
    pub fn hold_for_restore(
        &self,
        table_id: i64,
        hold: RestoreLock,
        running: impl Fn(i64) -> bool,
    ) -> Result<(), CatalogError> {
        self.update_table(table_id, |t| {
            if let Some(l) = &t.restore_lock {
                if l.job_id != hold.job_id && running(l.job_id) {
                    return Err(CatalogError::HeldByRestore(t.name.clone()));
                }
            }
            t.restore_lock = Some(hold);
            Ok(())
        })?
    }

    /// Make the restoring partition `partition_id` of the table visible (no-op once it is).
    pub fn publish_restoring_partition(&self, table_id: i64, partition_id: i64) -> Result<(), CatalogError> {
        self.update_table(table_id, |t| {
            t.publish_restoring_partition(partition_id);
        })
    }

    /// Upstream's `OlapTable.setName` renames an unpartitioned table's only partition with
    /// the table: give it `name`. The table as it is then; idempotent.
    pub fn name_single_partition(&self, table_id: i64, name: &str) -> Result<Arc<OlapTable>, CatalogError> {
        self.update_table(table_id, |t| {
            if t.partition_kind == PartitionKind::Unpartitioned && t.partitions.len() == 1 {
                t.partitions[0].name = name.to_string();
            }
        })?;
        self.table_by_id(table_id).ok_or_else(|| CatalogError::UnknownTable { db: String::new(), table: table_id.to_string() })
    }

    /// Drop every partition of the table but `keep` (restore's `clean_partitions`); the
    /// dropped ones, whose tablets the caller drops on the BEs.
    pub fn drop_partitions_except(&self, table_id: i64, keep: &[i64]) -> Result<Vec<Partition>, CatalogError> {
        let dropped = self.update_table(table_id, |t| {
            let (kept, dropped): (Vec<Partition>, Vec<Partition>) =
                std::mem::take(&mut t.partitions).into_iter().partition(|p| keep.contains(&p.id));
            t.partitions = kept;
            dropped
        })?;
        let mut st = self.state.write().unwrap();
        for tablet in dropped.iter().flat_map(|p| &p.index.tablets) {
            st.tablet_index.remove(&tablet.id);
        }
        Ok(dropped)
    }

    /// A restore's commit on one table (see [`OlapTable::commit_restore`]), persisted.
    pub fn commit_restore(&self, table_id: i64, job_id: i64, parts: &[(i64, i64)], now_ms: i64) -> Result<(), CatalogError> {
        self.update_table(table_id, |t| t.commit_restore(job_id, parts, now_ms))
    }
}

impl OlapTable {
    /// What committing a restore does to the table: the job's hold is released (loads may
    /// go on from the restored versions), the partitions it added join the visible ones,
    /// and each restored partition and its replicas take the backed-up visible version.
    /// `parts` are (partition id, version). Idempotent.
    pub fn commit_restore(&mut self, job_id: i64, parts: &[(i64, i64)], now_ms: i64) {
        if self.restore_lock.as_ref().is_some_and(|l| l.job_id == job_id) {
            self.restore_lock = None;
        }
        for (pid, _) in parts {
            self.publish_restoring_partition(*pid);
        }
        for p in self.partitions.iter_mut() {
            if let Some((_, v)) = parts.iter().find(|(pid, _)| *pid == p.id) {
                p.visible_version = *v;
                p.visible_version_time_ms = now_ms;
                for tablet in p.index.tablets.iter_mut() {
                    for rep in tablet.replicas.iter_mut() {
                        rep.version = *v;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::fixtures::two_partition_table;

    fn part(t: &OlapTable, id: i64) -> &Partition {
        t.partitions.iter().find(|p| p.id == id).expect("partition")
    }

    /// The restored partition and its replicas take the backed-up version, the other
    /// partition keeps its own, the job's hold is released and an added partition becomes
    /// visible; running it twice changes nothing more.
    #[test]
    fn commit_sets_versions_releases_the_hold_and_publishes_added_partitions() {
        let mut t = two_partition_table();
        let (p1, p2) = (t.partitions[0].id, t.partitions[1].id);
        let p2_version = part(&t, p2).visible_version;
        let mut added = t.partitions[1].clone();
        added.id = 9_001;
        added.name = "p_added".into();
        t.restoring_partitions.push(added);
        t.restore_lock = Some(RestoreLock { job_id: 42, partition_ids: vec![p1], allow_load: false });
        for _ in 0..2 {
            t.commit_restore(42, &[(p1, 17), (9_001, 5)], 1234);
            let p = part(&t, p1);
            assert_eq!((p.visible_version, p.visible_version_time_ms), (17, 1234));
            assert!(p.index.tablets.iter().flat_map(|tb| &tb.replicas).all(|r| r.version == 17));
            assert_eq!(part(&t, p2).visible_version, p2_version);
            assert!(t.restore_lock.is_none());
            assert!(t.restoring_partitions.is_empty());
            assert_eq!(part(&t, 9_001).visible_version, 5);
        }
    }

    /// Another job's hold stays.
    #[test]
    fn commit_keeps_another_jobs_hold() {
        let mut t = two_partition_table();
        t.restore_lock = Some(RestoreLock { job_id: 7, partition_ids: vec![], allow_load: false });
        t.commit_restore(42, &[], 1);
        assert_eq!(t.restore_lock.as_ref().map(|l| l.job_id), Some(7));
    }

    fn catalog_with(t: OlapTable) -> (tempfile::TempDir, Catalog, OlapTable) {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(crate::persist::MetaStore::open(dir.path()).unwrap());
        let cat = Catalog::load(store).unwrap();
        let db = cat.create_database("db", false, 0).unwrap().unwrap();
        let t = OlapTable { db_id: db.id, ..t };
        cat.register_table(t.clone()).unwrap();
        (dir, cat, t)
    }

    /// A second restore cannot hold a table a running one holds; once that one is over it can.
    #[test]
    fn one_restore_holds_a_table_at_a_time() {
        let (_dir, cat, t) = catalog_with(two_partition_table());
        let hold = |job_id| RestoreLock { job_id, partition_ids: vec![], allow_load: false };
        cat.hold_for_restore(t.id, hold(1), |_| true).unwrap();
        let e = cat.hold_for_restore(t.id, hold(2), |j| j == 1).unwrap_err();
        assert_eq!(e.to_string(), "Table t's state is not NORMAL: RESTORE");
        cat.hold_for_restore(t.id, hold(2), |_| false).unwrap();
        assert_eq!(cat.table_by_id(t.id).unwrap().restore_lock.as_ref().map(|l| l.job_id), Some(2));
    }

    /// clean_partitions drops the partitions not kept, and their tablets are no longer
    /// the catalog's (a BE reporting them is told to drop them).
    #[test]
    fn dropped_partitions_leave_the_tablet_index() {
        let (_dir, cat, t) = catalog_with(two_partition_table());
        let (p1, p2) = (&t.partitions[0], &t.partitions[1]);
        let p2_tablets: Vec<i64> = p2.index.tablets.iter().map(|x| x.id).collect();
        assert!(cat.unknown_tablet_ids(p2_tablets.clone()).is_empty());
        let dropped = cat.drop_partitions_except(t.id, &[p1.id]).unwrap();
        assert_eq!(dropped.iter().map(|p| p.id).collect::<Vec<_>>(), [p2.id]);
        assert_eq!(cat.table_by_id(t.id).unwrap().partitions.len(), 1);
        assert_eq!(cat.unknown_tablet_ids(p2_tablets.clone()), p2_tablets);
    }
}
