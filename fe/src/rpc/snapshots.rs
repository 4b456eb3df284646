//! getSnapshot and restoreSnapshot (CCR full sync) and snapshotLoaderReport.

use std::io::{Read, Write};

use doris_thrift::frontend_service::{TGetSnapshotRequest, TRestoreSnapshotRequest, TSnapshotType};
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;

use super::auth;
use crate::backup::{BackupJobInfo, BackupMeta, TableRefRecord};
use crate::backup::BackupCtx;
use crate::error::{FeError, Result};
use crate::backup::restore_job::{self, RestoreRequest};

pub fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(bytes).map_err(|e| FeError::io("gzip", e))?;
    enc.finish().map_err(|e| FeError::io("gzip", e))
}

/// Decompress a document of at most `limit` bytes: a few KiB of gzip can expand to
/// gigabytes, so a document is held to what could have been sent uncompressed
/// (`thrift_max_message_size`) and refused beyond it, before it is all in memory.
pub fn gunzip(bytes: &[u8], limit: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    GzDecoder::new(bytes).take(limit as u64 + 1).read_to_end(&mut out).map_err(|e| {
        FeError::InvalidArgument(format!("compressed is set but the bytes are not gzip: {e}"))
    })?;
    if out.len() > limit {
        return Err(FeError::InvalidArgument(format!(
            "a compressed document expands to more than {limit} bytes (thrift_max_message_size)"
        )));
    }
    Ok(out)
}

/// A thrift binary field carries at most `i32::MAX` bytes, and a peer configured as we are
/// refuses a message over `thrift_max_message_size`: refuse an answer that cannot arrive
/// with a status saying what to change, instead of a reply the client drops as a broken
/// connection.
fn check_answer_fits(meta: usize, job_info: usize, compressed: bool, limit: usize) -> Result<()> {
    let wire_max = i32::MAX as usize;
    // Each document is at most the total, so the total's bound covers both fields.
    let bound = limit.min(wire_max);
    if meta.saturating_add(job_info) <= bound {
        return Ok(());
    }
    let what = if compressed { "compressed" } else { "uncompressed" };
    let remedy = if compressed {
        "raise thrift_max_message_size on both FEs and the syncer"
    } else {
        "ask for it compressed (enable_compress in the getSnapshot request) or raise thrift_max_message_size"
    };
    Err(FeError::InvalidArgument(format!(
        "the snapshot is too large to send: {what} meta {meta} bytes and job_info {job_info} bytes, \
         over the limit of {bound} bytes (thrift_max_message_size = {limit}, \
         a thrift binary field holds at most {wire_max}); {remedy}"
    )))
}

fn required<'a>(v: &'a Option<String>, what: &str) -> Result<&'a str> {
    v.as_deref()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| FeError::InvalidArgument(format!("{what} is not set")))
}

/// What getSnapshot answers on success.
pub struct SnapshotAnswer {
    pub meta: Vec<u8>,
    pub job_info: Vec<u8>,
    pub compressed: bool,
    pub expired_at: i64,
    pub commit_seq: i64,
}

pub fn get_snapshot(ctx: &BackupCtx, req: &TGetSnapshotRequest) -> Result<SnapshotAnswer> {
    required(&req.user, "user")?;
    let db = required(&req.db, "db")?;
    auth::check_priv(
        ctx,
        req.user.as_deref(),
        req.passwd.as_deref(),
        req.token.as_deref(),
        None,
        &crate::auth::Scope::db(db),
        crate::auth::Priv::Load,
    )?;
    let label = required(&req.label_name, "label_name")?;
    if req.snapshot_type != Some(TSnapshotType::LOCAL) {
        return Err(FeError::not_supported(
            "getSnapshot of a snapshot type other than LOCAL",
        ));
    }
    let snap = ctx
        .jobs
        .local_snapshot(label)
        .filter(|s| s.db_name == db)
        .ok_or_else(|| FeError::SnapshotNotExist(label.to_string()))?;
    let compress = req.enable_compress == Some(true);
    let (meta, job_info) = if compress {
        (gzip(&snap.meta)?, gzip(snap.job_info.as_bytes())?)
    } else {
        (snap.meta.clone(), snap.job_info.clone().into_bytes())
    };
    check_answer_fits(meta.len(), job_info.len(), compress, ctx.config.thrift_max_message_size)?;
    Ok(SnapshotAnswer {
        meta,
        job_info,
        compressed: compress,
        expired_at: snap.expired_at_ms(),
        commit_seq: snap.commit_seq,
    })
}

pub fn restore_snapshot(ctx: &BackupCtx, req: &TRestoreSnapshotRequest) -> Result<i64> {
    required(&req.user, "user")?;
    let db = required(&req.db, "db")?;
    auth::check_priv(
        ctx,
        req.user.as_deref(),
        req.passwd.as_deref(),
        req.token.as_deref(),
        None,
        &crate::auth::Scope::db(db),
        crate::auth::Priv::Load,
    )?;
    let label = required(&req.label_name, "label_name")?;
    let repo = required(&req.repo_name, "repo_name")?;
    let meta = req
        .meta
        .as_deref()
        .ok_or_else(|| FeError::InvalidArgument("meta is not set".into()))?;
    let info = req
        .job_info
        .as_deref()
        .ok_or_else(|| FeError::InvalidArgument("job_info is not set".into()))?;
    // Parsed from the request's own bytes when they are not compressed (no copy: at
    // 100,000s of tablets these documents are tens of MiB each).
    let (meta, job_info) = if req.compressed == Some(true) {
        let limit = ctx.config.thrift_max_message_size;
        (BackupMeta::decode(&gunzip(meta, limit)?)?, BackupJobInfo::from_json(&gunzip(info, limit)?)?)
    } else {
        (BackupMeta::decode(meta)?, BackupJobInfo::from_json(info)?)
    };
    let mut properties: Vec<(String, String)> = req
        .properties
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    for (key, v) in [
        ("clean_tables", req.clean_tables),
        ("clean_partitions", req.clean_partitions),
        ("atomic_restore", req.atomic_restore),
    ] {
        if v == Some(true) {
            properties.retain(|(k, _)| k != key);
            properties.push((key.to_string(), "true".to_string()));
        }
    }
    let table_refs: Vec<TableRefRecord> = req
        .table_refs
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|t| {
            let table = t.table.clone().filter(|s| !s.is_empty())?;
            Some(TableRefRecord {
                table,
                partitions: vec![],
                alias: t.alias_name.clone().filter(|s| !s.is_empty()),
            })
        })
        .collect();
    restore_job::submit(
        ctx,
        RestoreRequest {
            db_name: db,
            label,
            repo_name: repo,
            table_refs,
            properties,
            meta,
            job_info,
            whole_db: false,
        },
    )
}

/// The answer to a BE's download progress: CANCELLED tells it to stop.
pub fn loader_report(
    ctx: &BackupCtx,
    job_id: i64,
    task_id: i64,
    finished: Option<i32>,
    total: Option<i32>,
) -> Result<()> {
    if ctx.jobs.is_cancelled(job_id) {
        return Err(FeError::Cancelled(format!(
            "job {job_id} is cancelled or unknown"
        )));
    }
    ctx.jobs
        .record_progress(job_id, task_id, finished.unwrap_or(0), total.unwrap_or(0));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A gzip bomb (a few KiB expanding to 64 MiB) is refused at the limit, not inflated.
    #[test]
    fn an_answer_over_the_message_limit_is_refused_naming_the_remedy() {
        assert!(check_answer_fits(10, 20, false, 30).is_ok());
        let e = check_answer_fits(10, 21, false, 30).unwrap_err().to_string();
        assert!(e.contains("thrift_max_message_size = 30") && e.contains("enable_compress"), "{e}");
        let e = check_answer_fits(10, 21, true, 30).unwrap_err().to_string();
        assert!(e.contains("compressed meta 10 bytes") && !e.contains("enable_compress"), "{e}");
        // Over what a binary field can carry, whatever the configured limit.
        let e = check_answer_fits(i32::MAX as usize + 1, 0, false, usize::MAX).unwrap_err().to_string();
        assert!(e.contains(&format!("over the limit of {} bytes", i32::MAX)), "{e}");
    }

    #[test]
    fn a_compressed_document_is_held_to_the_message_limit() {
        let doc = vec![b' '; 64 << 20];
        let bomb = gzip(&doc).unwrap();
        assert!(bomb.len() < 256 << 10, "{} bytes of gzip", bomb.len());
        let e = gunzip(&bomb, 1 << 20).unwrap_err();
        assert!(e.to_string().contains("expands to more than 1048576 bytes"), "{e}");
        assert_eq!(gunzip(&bomb, 64 << 20).unwrap().len(), 64 << 20, "exactly at the limit is fine");
        assert!(gunzip(b"not gzip", 1 << 20).is_err());
    }
}
