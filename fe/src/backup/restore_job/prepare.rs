//! PENDING: create the missing tables (or shadows), check the existing ones, map the
//! backed-up tablets onto local replicas in bucket order, hold the tables.


use tokio_util::sync::CancellationToken;
use tracing::info;

use super::*;

/// Tables: create the missing ones, check the existing ones (adding the partitions they
/// lack); map tablets.
pub(super) async fn pending(
    ctx: &BackupEnv,
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
            if let Some(c) = tmeta.auto_increment_ceiling {
                x.auto_increment_ceilings.push((t.id, c));
            }
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
            let remote = RemoteIndex { table_id: tinfo.id, partition_id: pinfo.id, index: idx };
            x.tablets.extend(map_tablets(&local, lp, &remote, &local_name)?);
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

/// Where a backed-up index is: its table's and partition's backed-up ids and the index.
pub(super) struct RemoteIndex<'a> {
    pub table_id: i64,
    pub partition_id: i64,
    pub index: &'a crate::backup::job_info::BackupIndexInfo,
}

/// The local replicas that take a backed-up index: bucket `i` of the backup (its
/// `tablets_order`; ascending ids for old backups without one) fills local tablet `i`, on
/// every replica of it. The
/// bucket counts must agree.
pub(super) fn map_tablets(
    local: &OlapTable,
    lp: &Partition,
    remote: &RemoteIndex<'_>,
    local_name: &str,
) -> Result<Vec<RestoreTablet>> {
    let remote_ids = remote.index.sorted_tablet_ids();
    if remote_ids.len() != lp.index.tablets.len() {
        return Err(FeError::IllegalState(format!(
            "partition {} of {local_name} has {} tablets, the backup has {}",
            lp.name,
            lp.index.tablets.len(),
            remote_ids.len()
        )));
    }
    let mut out = Vec::new();
    for (remote_id, lt) in remote_ids.iter().zip(&lp.index.tablets) {
        for rep in &lt.replicas {
            out.push(RestoreTablet {
                table_id: local.id,
                partition_id: lp.id,
                local_tablet_id: lt.id,
                local_be_id: rep.backend_id,
                schema_hash: local.schema_hash,
                remote_tablet_id: *remote_id,
                remote_schema_hash: remote.index.schema_hash,
                remote_table_id: remote.table_id,
                remote_partition_id: remote.partition_id,
                remote_index_id: remote.index.id,
                local_snapshot_path: String::new(),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::job_info::BackupIndexInfo;
    use crate::catalog::fixtures::two_partition_table;

    fn index(ids: &[i64]) -> BackupIndexInfo {
        let mut idx = BackupIndexInfo { id: 13, schema_hash: 44, ..Default::default() };
        for id in ids {
            idx.tablets.insert(*id, vec![]);
            idx.tablets_order.push(*id);
        }
        idx
    }

    /// Backed-up tablets in the backup's bucket order fill the local tablets in theirs, one
    /// entry per local replica, carrying the backed-up ids the download needs.
    #[test]
    fn buckets_map_in_order() {
        let mut t = two_partition_table();
        // A second replica of the first bucket, on backend 8.
        let mut extra = t.partitions[0].index.tablets[0].replicas[0].clone();
        extra.backend_id = 8;
        t.partitions[0].index.tablets[0].replicas.push(extra);
        let lp = &t.partitions[0];
        let idx = index(&[602, 601]);
        let out = map_tablets(&t, lp, &RemoteIndex { table_id: 11, partition_id: 12, index: &idx }, "t").unwrap();
        let got: Vec<(i64, i64, i64)> = out.iter().map(|r| (r.local_tablet_id, r.local_be_id, r.remote_tablet_id)).collect();
        let (b0, b1) = (lp.index.tablets[0].id, lp.index.tablets[1].id);
        assert_eq!(got, [(b0, 7, 602), (b0, 8, 602), (b1, 7, 601)]);
        // Without a recorded order (old backups), ascending ids.
        let mut old = idx.clone();
        old.tablets_order.clear();
        let out = map_tablets(&t, lp, &RemoteIndex { table_id: 11, partition_id: 12, index: &old }, "t").unwrap();
        assert_eq!(out.iter().map(|r| r.remote_tablet_id).collect::<Vec<_>>(), [601, 601, 602]);
        assert!(out.iter().all(|r| r.remote_table_id == 11 && r.remote_partition_id == 12 && r.remote_index_id == 13));
        assert!(out.iter().all(|r| r.schema_hash == t.schema_hash && r.remote_schema_hash == 44));
        assert!(out.iter().all(|r| r.table_id == t.id && r.partition_id == lp.id && r.local_snapshot_path.is_empty()));
    }

    /// A backup with another bucket count cannot be restored into the partition.
    #[test]
    fn bucket_counts_must_agree() {
        let t = two_partition_table();
        let idx = index(&[601, 602, 603]);
        let e = map_tablets(&t, &t.partitions[0], &RemoteIndex { table_id: 11, partition_id: 12, index: &idx }, "t")
            .unwrap_err();
        assert!(e.to_string().contains("partition p1 of t has 2 tablets, the backup has 3"), "{e}");
    }
}
