//! PENDING: create the missing tables (or shadows), check the existing ones, map the
//! backed-up tablets onto local replicas in bucket order, hold the tables.


use tokio_util::sync::CancellationToken;
use tracing::info;

use super::*;

/// Tables: create the missing ones, check the existing ones (adding the partitions they
/// lack); map tablets.
pub(super) async fn pending(
    ctx: &FeContext,
    mut r: RestoreJobRecord,
    mut x: RestoreExtra,
    cancel: &CancellationToken,
) -> Result<()> {
    let meta = r
        .meta
        .clone()
        .ok_or_else(|| FeError::Internal("restore job lost its meta".into()))?;
    let info = r
        .job_info
        .clone()
        .ok_or_else(|| FeError::Internal("restore job lost its job info".into()))?;
    let wanted: Vec<(String, Option<String>, Vec<String>)> = if r.table_refs.is_empty() {
        info.backup_objects
            .keys()
            .map(|n| (n.clone(), None, vec![]))
            .collect()
    } else {
        r.table_refs
            .iter()
            .map(|t| (t.table.clone(), t.alias.clone(), t.partitions.clone()))
            .collect()
    };
    let involved: usize = wanted
        .iter()
        .filter_map(|(name, _, parts)| info.backup_objects.get(name).map(|t| (t, parts)))
        .flat_map(|(t, parts)| {
            t.partitions
                .iter()
                .filter(move |(p, _)| parts.is_empty() || parts.iter().any(|w| w.eq_ignore_ascii_case(p)))
        })
        .flat_map(|(_, p)| p.indexes.values())
        .map(|i| i.tablets.len())
        .sum();
    crate::backup::check_tablet_count(involved, ctx.config.max_backup_tablets_per_job)?;
    x.tablets.clear();
    x.partitions.clear();
    for (name, alias, parts) in wanted {
        let tinfo = info.backup_objects.get(&name).ok_or_else(|| {
            FeError::InvalidArgument(format!(
                "Table {name} does not exist in snapshot {}",
                r.label
            ))
        })?;
        let mut tmeta = meta
            .table_by_id(tinfo.id)
            .or_else(|| meta.table(&name))
            .cloned()
            .ok_or_else(|| {
                FeError::InvalidArgument(format!(
                    "the meta of snapshot {} lacks table {name}",
                    r.label
                ))
            })?;
        if !parts.is_empty() {
            tmeta
                .partition
                .partitions
                .retain(|p| parts.iter().any(|q| q.eq_ignore_ascii_case(&p.name)));
        }
        let local_name = alias.unwrap_or_else(|| name.clone());
        let existing = ctx.catalog.table(&r.db_name, &local_name).ok();
        let local = if r.options.atomic_restore {
            if let Some(t) = &existing {
                let lm = meta_conv::table_meta(t, None);
                if let Err(e) = tmeta.check_same_schema(&lm, &local_name) {
                    if !r.options.force_replace {
                        return Err(e);
                    }
                    info!(table = %local_name, "the existing table has another schema; force_replace replaces it");
                }
            }
            shadow_table(ctx, &mut r, &mut x, &tmeta, &local_name).await?
        } else if let Some(t) = existing {
            let lm = meta_conv::table_meta(&t, None);
            tmeta.check_same_schema(&lm, &local_name)?;
            add_missing_partitions(ctx, &mut r, &mut x, &tmeta, tinfo, t, &name, cancel).await?
        } else {
            let t = create_from_meta(ctx, &r, &tmeta, &local_name).await?;
            x.created_tables.push(t.id);
            // Persist at once: a cancel or restart must know to drop it.
            save(ctx, &r, &x)?;
            t
        };
        for p in &tmeta.partition.partitions {
            let pinfo = tinfo.partitions.get(&p.name).ok_or_else(|| {
                FeError::InvalidArgument(format!(
                    "job info lacks partition {} of table {name}",
                    p.name
                ))
            })?;
            let lp = target_partition(&local, &x, &p.name).ok_or_else(|| {
                // A meta that disagrees with itself (e.g. an UNPARTITIONED table listing
                // several partitions) can get here; an error cancels the job cleanly.
                FeError::IllegalState(format!(
                    "table {local_name} has no partition for {} of the backup",
                    p.name
                ))
            })?;
            let idx = pinfo
                .indexes
                .get(&name)
                .or_else(|| pinfo.indexes.values().next())
                .ok_or_else(|| {
                    FeError::InvalidArgument(format!(
                        "job info lacks the index of {name}.{}",
                        p.name
                    ))
                })?;
            let remote_ids = idx.sorted_tablet_ids();
            if remote_ids.len() != lp.index.tablets.len() {
                return Err(FeError::IllegalState(format!(
                    "partition {} of {local_name} has {} tablets, the backup has {}",
                    p.name,
                    lp.index.tablets.len(),
                    remote_ids.len()
                )));
            }
            for (remote, lt) in remote_ids.iter().zip(&lp.index.tablets) {
                for rep in &lt.replicas {
                    x.tablets.push(RestoreTablet {
                        table_id: local.id,
                        partition_id: lp.id,
                        local_tablet_id: lt.id,
                        local_be_id: rep.backend_id,
                        schema_hash: local.schema_hash,
                        remote_tablet_id: *remote,
                        remote_schema_hash: idx.schema_hash,
                        remote_table_id: tinfo.id,
                        remote_partition_id: pinfo.id,
                        remote_index_id: idx.id,
                        local_snapshot_path: String::new(),
                    });
                }
            }
            x.partitions.push((local.id, lp.id, pinfo.version));
        }
        // A table made for the restore (new, or a shadow) is held whole, with loads going
        // on if the restore allows them (upstream's RESTORE_WITH_LOAD); an existing one
        // only where it is overwritten, whatever `allow_load` says (as upstream checks the
        // partition's state before the table's).
        let made = x.created_tables.contains(&local.id) || x.atomic.iter().any(|s| s.shadow_table_id == local.id);
        let lock = if made {
            RestoreLock { job_id: r.job_id, partition_ids: Vec::new(), allow_load: r.options.allow_load }
        } else {
            let held = x.partitions.iter().filter(|(t, _, _)| *t == local.id).map(|(_, p, _)| *p).collect();
            RestoreLock { job_id: r.job_id, partition_ids: held, allow_load: r.options.allow_load }
        };
        hold_table(ctx, &local, lock).await?;
    }
    let now = FeContext::now_ms();
    r.move_to(RestoreState::Snapshoting, now)?;
    if info.content == crate::backup::BackupContent::MetadataOnly {
        // Tables only: nothing to download. An atomic restore still has its swap to do,
        // which COMMITTING does (with no tablet to move).
        x.tablets.clear();
        x.partitions.clear();
        // Added partitions stay empty, as upstream's do: visible now.
        publish_added_partitions(ctx, &x)?;
        if x.atomic.is_empty() {
            release_tables(ctx, r.job_id)?;
        }
        let last = if x.atomic.is_empty() {
            RestoreState::Finished
        } else {
            RestoreState::Committing
        };
        for s in [
            RestoreState::Download,
            RestoreState::Downloading,
            RestoreState::Commit,
            RestoreState::Committing,
            RestoreState::Finished,
        ] {
            r.move_to(s, now)?;
            if s == last {
                break;
            }
        }
    }
    save(ctx, &r, &x)
}
