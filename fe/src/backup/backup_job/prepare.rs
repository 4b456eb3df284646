//! PENDING: resolve the tables, capture their meta at the visible versions, choose one
//! replica per tablet and the commit seq the snapshot is at.

use std::collections::BTreeMap;


use super::*;
use crate::catalog::OlapTable;
use crate::catalog::table::ReplicaState;

/// Resolve tables, capture the meta (with visible versions) and choose a replica per tablet.
pub(super) async fn pending(ctx: &BackupEnv, mut r: BackupJobRecord) -> Result<()> {
    // The versions captured and the commit seq drawn are one point in the database's
    // binlog: no load publishes (draws its seq, makes its versions visible) in between, so
    // a CCR reader resuming after the seq misses nothing and repeats nothing.
    let order = ctx.binlogs.order_lock(r.db_id);
    let in_order = order.lock().unwrap_or_else(|p| p.into_inner());
    let mut tables = Vec::new();
    let mut snapshots = BTreeMap::new();
    for tr in &r.table_refs {
        let t = ctx
            .catalog
            .table(&r.db_name, &tr.table)
            .map_err(|_| FeError::UnknownTable(tr.table.clone()))?;
        let meta = meta_conv::table_meta(&t, Some(&tr.partitions));
        let chosen = choose_replicas(r.db_id, &t, &meta, |be| {
            ctx.backends.get(be).is_some_and(|b| b.alive && b.be_addr().is_some())
        })?;
        snapshots.extend(chosen.into_iter().map(|s| (s.tablet_id, s)));
        tables.push(meta);
    }
    crate::backup::check_tablet_count(snapshots.len(), ctx.config.max_backup_tablets_per_job)?;
    r.meta = Some(BackupMeta::new(tables).into());
    r.snapshots = snapshots;
    let seq = commit_seq(ctx)?;
    drop(in_order);
    r.table_commit_seq_map = r
        .meta
        .as_ref()
        .unwrap()
        .tables
        .iter()
        .map(|t| (t.id, seq))
        .collect();
    r.move_to(BackupState::Snapshoting, FeContext::now_ms())?;
    save(ctx, &r)
}

/// The commit sequence a snapshot taken now is at: a fresh id from the meta store's
/// generator, which binlog commit seqs are drawn from too. Drawn under the database's
/// binlog ordering lock, it is above the seq of every binlog whose change the snapshot
/// holds and below every later one, so getBinlog after it returns exactly what the
/// snapshot lacks. Ids are never handed out twice (the ceiling is persisted ahead of use),
/// so it is non-zero, durable across restarts and above any earlier snapshot's.
pub(super) fn commit_seq(ctx: &BackupEnv) -> Result<i64> {
    Ok(ctx.store.next_id()?)
}

/// The replica each tablet of `t`'s backed-up partitions (those `meta` lists) is
/// snapshotted on, as upstream chooses: one on a usable backend (alive, reachable), in
/// normal state, that has reached the partition's captured visible version; the most
/// recent such one. A tablet without one fails the job with upstream's message.
pub(super) fn choose_replicas(
    db_id: i64,
    t: &OlapTable,
    meta: &crate::backup::TableMeta,
    usable: impl Fn(i64) -> bool,
) -> Result<Vec<SnapshotRecord>> {
    let wanted: std::collections::HashMap<i64, i64> =
        meta.partition.partitions.iter().map(|m| (m.id, m.visible_version)).collect();
    let mut out = Vec::new();
    for p in t.partitions.iter() {
        let Some(&visible) = wanted.get(&p.id) else { continue };
        for tablet in &p.index.tablets {
            let replica = tablet
                .replicas
                .iter()
                .filter(|rep| usable(rep.backend_id) && rep.state == ReplicaState::Normal && rep.version >= visible && !rep.is_lagging())
                .max_by_key(|rep| (rep.version, std::cmp::Reverse(rep.id)))
                .ok_or_else(|| {
                    FeError::IllegalState(format!(
                        "failed to choose replica to make snapshot for tablet {}. visible version: {visible}",
                        tablet.id
                    ))
                })?;
            out.push(SnapshotRecord {
                db_id,
                table_id: t.id,
                partition_id: p.id,
                index_id: t.base_index_id,
                tablet_id: tablet.id,
                be_id: replica.backend_id,
                schema_hash: t.schema_hash,
                path: String::new(),
                files: Vec::new(),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::fixtures::two_partition_table;

    /// Only the partitions the meta lists; per tablet the most recent replica among those
    /// on usable backends that reached the captured version; a tablet with none fails the
    /// job with upstream's message naming it.
    #[test]
    fn replicas_are_chosen_by_version_on_usable_backends() {
        let mut t = two_partition_table();
        let visible = 4;
        t.partitions[0].visible_version = visible;
        for tb in t.partitions[0].index.tablets.iter_mut() {
            for r in tb.replicas.iter_mut() {
                r.version = visible;
            }
        }
        let tablet = &mut t.partitions[0].index.tablets[0];
        let mut newer = tablet.replicas[0].clone();
        newer.backend_id = 8;
        newer.version = visible + 5;
        tablet.replicas.push(newer.clone());
        let mut dead = newer.clone();
        dead.backend_id = 9;
        dead.version += 10;
        tablet.replicas.push(dead);
        let mut creating = newer.clone();
        creating.backend_id = 10;
        creating.version += 20;
        creating.state = ReplicaState::Creating;
        tablet.replicas.push(creating);
        let first = tablet.id;
        let meta = meta_conv::table_meta(&t, Some(&["p1".to_string()]));
        let out = choose_replicas(1, &t, &meta, |be| be != 9).unwrap();
        assert_eq!(out.len(), 2, "p1's two buckets only");
        assert!(out.iter().all(|s| s.partition_id == t.partitions[0].id && s.db_id == 1 && s.table_id == t.id));
        assert_eq!(out.iter().find(|s| s.tablet_id == first).map(|s| s.be_id), Some(8));
        let e = choose_replicas(1, &t, &meta, |_| false).unwrap_err();
        assert!(e.to_string().contains(&format!("failed to choose replica to make snapshot for tablet {first}. visible version: {visible}")), "{e}");

        // Behind the visible version (it missed a load): not chosen; none left: the job fails.
        let second = t.partitions[0].index.tablets[1].id;
        for r in t.partitions[0].index.tablets[1].replicas.iter_mut() {
            r.version = visible - 1;
        }
        let e = choose_replicas(1, &t, &meta, |_| true).unwrap_err();
        assert!(e.to_string().contains(&format!("tablet {second}. visible version: {visible}")), "{e}");
    }
}
