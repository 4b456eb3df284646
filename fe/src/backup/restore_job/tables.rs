//! The local tables a restore fills: which partition takes a backed-up one, tables created
//! from the backed-up schema, atomic restore's shadows, and holding them against loads.


use std::sync::Arc;

use tracing::info;

use super::*;

/// Hold `table` as `hold` says (upstream sets its state to RESTORE or RESTORE_WITH_LOAD):
/// from now on loads into its partitions (none: any) are refused, unless it allows loads,
/// and DROP needs FORCE, until the job commits or is cancelled.
/// Taken under the table's load lock, so no load commits into it meanwhile; refused while a
/// load of the table is committed but not yet visible, or another running restore holds it.
pub(super) async fn hold_table(ctx: &BackupEnv, table: &OlapTable, hold: RestoreLock) -> Result<()> {
    let txns = &ctx.txns;
    let lock = txns.table_lock(table.id);
    let _guard = lock.lock_owned().await;
    if txns.in_state(TxnState::Committed)?.iter().any(|t| t.writes(table.id)) {
        return Err(FeError::IllegalState(format!("Table {}'s has unfinished load job", table.name)));
    }
    let running: Vec<i64> = ctx.jobs.unfinished().iter().map(StoredJob::job_id).collect();
    ctx.catalog.hold_for_restore(table.id, hold, |j| running.contains(&j)).map_err(FeError::from)
}

/// Let loads into the tables job `job_id` held again.
pub(super) fn release_tables(ctx: &BackupEnv, job_id: i64) -> Result<()> {
    let released = ctx
        .catalog
        .release_restore_locks(|j| j == job_id)
        .map_err(|e| FeError::Internal(format!("releasing the restored tables: {e}")))?;
    if !released.is_empty() {
        info!(tables = ?released, "loads allowed again");
    }
    Ok(())
}

/// The partition of `local` that takes the backed-up partition `name`. An unpartitioned
/// table's only partition is named after its table, so with an alias (or an atomic
/// restore's shadow) the names differ: like upstream, it is matched as the only one.
pub(super) fn local_partition<'a>(local: &'a OlapTable, name: &str) -> Option<&'a Partition> {
    match (&local.partition_kind, local.partitions.as_slice()) {
        (PartitionKind::Unpartitioned, [only]) => Some(only),
        _ => local.partition(name),
    }
}

/// [`local_partition`], or the restoring partition this job added for `name`.
pub(super) fn target_partition<'a>(
    local: &'a OlapTable,
    x: &RestoreExtra,
    name: &str,
) -> Option<&'a Partition> {
    local_partition(local, name).or_else(|| {
        local
            .restoring_partition(name)
            .filter(|p| x.added_partitions.iter().any(|a| a.partition_id == p.id))
    })
}

/// Upstream's `OlapTable.setName` renames an unpartitioned table's only partition with the
/// table. A shadow is created under its own name but becomes `target` at the swap (which
/// only renames the table), so its partition takes the final name now. Idempotent.
pub(super) fn name_single_partition(ctx: &BackupEnv, t: Arc<OlapTable>, target: &str) -> Result<Arc<OlapTable>> {
    if t.partition_kind != PartitionKind::Unpartitioned
        || t.partitions.len() != 1
        || t.partitions[0].name == target
    {
        return Ok(t);
    }
    ctx.catalog.name_single_partition(t.id, target).map_err(|e| FeError::Internal(e.to_string()))
}

/// Create `name` with the backed-up schema (not yet recorded as ours).
pub(super) async fn create_from_meta(
    ctx: &BackupEnv,
    r: &RestoreJobRecord,
    tmeta: &crate::backup::meta::TableMeta,
    name: &str,
) -> Result<Arc<OlapTable>> {
    let n = if r.options.reserve_replica {
        tmeta.properties.replication_num
    } else {
        r.options.replica_alloc.total() as u16
    };
    let spec = meta_conv::create_spec(tmeta, &r.db_name, name, n)?;
    crate::tables::create_table_in(&ctx.ddl, &spec, true)
        .await
        .map_err(|e| FeError::IllegalState(e.to_string()))?;
    let t = ctx
        .catalog
        .table(&r.db_name, name)
        .map_err(|e| FeError::Internal(e.to_string()))?;
    info!(table = %name, table_id = t.id, replicas = n, "restore target table created");
    Ok(t)
}

/// The shadow table an atomic restore of `target` fills: made on the first run, found
/// again when the job resumes.
pub(super) async fn shadow_table(
    ctx: &BackupEnv,
    r: &mut RestoreJobRecord,
    x: &mut RestoreExtra,
    tmeta: &crate::backup::meta::TableMeta,
    target: &str,
) -> Result<Arc<OlapTable>> {
    let shadow = atomic_shadow_name(target);
    let (i, fresh) = match x.atomic.iter().position(|s| s.table == target) {
        Some(i) => (i, false),
        None => {
            x.atomic.push(AtomicSwap {
                table: target.to_string(),
                shadow_table_id: 0,
            });
            // The intent first: a shadow created just before a crash is then known as ours.
            save(ctx, r, x)?;
            (x.atomic.len() - 1, true)
        }
    };
    if let Ok(t) = ctx.catalog.table(&r.db_name, &shadow) {
        let recorded = x.atomic[i].shadow_table_id;
        let ours = x.created_tables.contains(&t.id) || (!fresh && recorded == 0);
        if !ours {
            // Upstream's refusal when the restored table's name is taken.
            return Err(FeError::IllegalState(format!(
                "Table {shadow} already exist in db: {}",
                r.db_name
            )));
        }
        if recorded != t.id || !x.created_tables.contains(&t.id) {
            x.atomic[i].shadow_table_id = t.id;
            if !x.created_tables.contains(&t.id) {
                x.created_tables.push(t.id);
            }
            save(ctx, r, x)?;
        }
        return name_single_partition(ctx, t, target);
    }
    let t = create_from_meta(ctx, r, tmeta, &shadow).await?;
    x.created_tables.push(t.id);
    x.atomic[i].shadow_table_id = t.id;
    save(ctx, r, x)?;
    name_single_partition(ctx, t, target)
}
