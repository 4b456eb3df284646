//! SAVE_META: the job info; a `__keep_on_local__` backup publishes its local snapshot and
//! finishes here.


use tracing::info;

use super::*;

/// Build the job info; a local backup publishes its local snapshot and finishes.
pub(super) async fn save_meta(ctx: &BackupEnv, mut r: BackupJobRecord) -> Result<()> {
    let meta = r
        .meta
        .take()
        .ok_or_else(|| FeError::Internal("backup job lost its meta".into()))?;
    // Tablets in bucket order: the catalog's order within each partition.
    let mut tablets = Vec::new();
    for t in &meta.tables {
        let local = ctx.catalog.table_by_id(t.id);
        for p in &t.partition.partitions {
            let order: Vec<i64> = match local
                .as_ref()
                .and_then(|lt| lt.partitions.iter().find(|lp| lp.id == p.id))
            {
                Some(lp) => lp.index.tablets.iter().map(|x| x.id).collect(),
                None => r
                    .snapshots
                    .values()
                    .filter(|s| s.partition_id == p.id)
                    .map(|s| s.tablet_id)
                    .collect(),
            };
            for id in order {
                let Some(s) = r.snapshots.get(&id) else {
                    continue;
                };
                tablets.push(TabletSnapshot {
                    ids: TabletIds {
                        db_id: s.db_id,
                        table_id: s.table_id,
                        partition_id: s.partition_id,
                        index_id: s.index_id,
                        tablet_id: s.tablet_id,
                    },
                    be_id: s.be_id,
                    snapshot_path: s.path.clone(),
                    files: s.files.clone(),
                });
            }
        }
    }
    let info = BackupJobInfo::build(&JobInfoInput {
        label: &r.label,
        db_name: &r.db_name,
        db_id: r.db_id,
        backup_time: r.create_time_ms,
        content: r.content,
        meta: &meta,
        tablets: &tablets,
        table_commit_seq_map: Some(r.table_commit_seq_map.clone()),
    })?;
    if r.repo_id != KEEP_ON_LOCAL_REPO_ID {
        r.job_info = Some(info.into());
        r.meta = Some(meta.into());
        r.move_to(BackupState::UploadInfo, FeContext::now_ms())?;
        return save(ctx, &r);
    }
    let now = FeContext::now_ms();
    r.move_to(BackupState::UploadInfo, now)?;
    r.move_to(BackupState::Finished, now)?;
    let snap = LocalSnapshot {
        label: r.label.clone(),
        db_id: r.db_id,
        db_name: r.db_name.clone(),
        job_id: r.job_id,
        meta: meta.encode(),
        job_info: info.to_json(),
        create_time_ms: now,
        ttl_ms: ctx.config.local_snapshot_ttl_second as i64 * 1000,
        commit_seq: r.table_commit_seq_map.values().copied().max().unwrap_or(0),
        // The finished record keeps neither the documents nor the per-tablet snapshots: the
        // local snapshot holds them (encoded), and at 100,000s of tablets a second copy
        // was a large part of the FE's resident set.
        snapshots: std::mem::take(&mut r.snapshots).into_values().collect(),
    };
    local_snapshots::publish(ctx, snap, StoredJob::Backup { record: r }).await?;
    info!("local snapshot saved; backup finished");
    Ok(())
}
