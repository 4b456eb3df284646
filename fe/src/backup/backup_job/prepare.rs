//! PENDING: resolve the tables, capture their meta at the visible versions, choose one
//! replica per tablet and the commit seq the snapshot is at.

use std::collections::BTreeMap;


use super::*;

/// Resolve tables, capture the meta (with visible versions) and choose a replica per tablet.
pub(super) async fn pending(ctx: &FeContext, mut r: BackupJobRecord) -> Result<()> {
    let mut tables = Vec::new();
    let mut snapshots = BTreeMap::new();
    for tr in &r.table_refs {
        let t = ctx
            .catalog
            .table(&r.db_name, &tr.table)
            .map_err(|_| FeError::UnknownTable(tr.table.clone()))?;
        let meta = meta_conv::table_meta(&t, Some(&tr.partitions));
        for p in t
            .partitions
            .iter()
            .filter(|p| meta.partition.partitions.iter().any(|m| m.id == p.id))
        {
            for tablet in &p.index.tablets {
                let replica = tablet
                    .replicas
                    .iter()
                    .filter(|rep| {
                        ctx.backends
                            .get(rep.backend_id)
                            .is_some_and(|b| b.alive && b.be_addr().is_some())
                    })
                    .max_by_key(|rep| rep.version)
                    .ok_or_else(|| {
                        FeError::IllegalState(format!(
                            "tablet {} has no replica on an alive backend",
                            tablet.id
                        ))
                    })?;
                snapshots.insert(
                    tablet.id,
                    SnapshotRecord {
                        db_id: r.db_id,
                        table_id: t.id,
                        partition_id: p.id,
                        index_id: t.base_index_id,
                        tablet_id: tablet.id,
                        be_id: replica.backend_id,
                        schema_hash: t.schema_hash,
                        path: String::new(),
                        files: Vec::new(),
                    },
                );
            }
        }
        tables.push(meta);
    }
    crate::backup::check_tablet_count(snapshots.len(), ctx.config.max_backup_tablets_per_job)?;
    r.meta = Some(BackupMeta::new(tables));
    r.snapshots = snapshots;
    let seq = commit_seq(ctx)?;
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

/// The commit sequence a snapshot taken now is at. Upstream records each table's latest
/// binlog commit seq; without binlogs we take a fresh id from the meta store's generator.
/// Every committed change (load transactions, tables, partitions, jobs) draws its id from
/// that generator, whose ceiling is persisted ahead of use and never handed out twice, so
/// the value is non-zero, cluster-wide, durable across restarts and strictly greater than
/// the seq of any earlier snapshot: what a CCR syncer compares commit seqs for.
pub(super) fn commit_seq(ctx: &FeContext) -> Result<i64> {
    ctx.store
        .next_id()
        .map_err(|e| FeError::Internal(e.to_string()))
}
