//! How a backup or restore job is stored: its record under `Kind::Job` without the parts
//! that hold an entry per tablet (job info, meta, snapshots, task book, restore tablets,
//! replaced tables); each of those is stored apart, as its JSON cut in chunks (see
//! `persist::chunks`), all in the caller's transaction.
//!
//! Serialized whole, a 300,000-tablet job was a 240 MiB value written on every step. Now a
//! save streams each part through one chunk-sized buffer, and a chunk whose bytes did not
//! change since the last save is not written again.
//!
//! Records stored whole by earlier versions still load: a job without stored parts keeps
//! the fields its record holds, and is stored split from its next save on.

use serde::Serialize;

use super::StoredJob;
use crate::persist::{Kind, MetaError, MetaStore, Streamed, Writer};

// The parts' numbers in the chunk table. They are stored: never reuse one.
const JOB_INFO: u32 = 1;
const META: u32 = 2;
const SNAPSHOTS: u32 = 3;
const TASKS: u32 = 4;
const TABLETS: u32 = 5;
const REPLACED: u32 = 6;

/// Store `job` in `w`'s transaction. Its parts are taken out while its record is written
/// and put back before this returns, whatever happens. Returns how many chunks it wrote.
pub fn put(w: &mut Writer<'_>, job: &mut StoredJob) -> Result<usize, MetaError> {
    let id = job.job_id();
    let mut parts = Parts::default();
    parts.swap(job);
    let res = put_split(w, id, job, &parts);
    parts.swap(job);
    res
}

/// Forget job `id`: its record and its parts.
pub fn delete(w: &mut Writer<'_>, id: i64) -> Result<(), MetaError> {
    w.delete(Kind::Job, id)?;
    w.delete_chunks(id, JOB_INFO..=REPLACED)
}

/// Job `id` as stored.
pub fn get(store: &MetaStore, id: i64) -> Result<Option<StoredJob>, MetaError> {
    match store.get::<StoredJob>(Kind::Job, id)? {
        Some(job) => assemble(store, id, job).map(Some),
        None => Ok(None),
    }
}

/// Every stored job, in id order.
pub fn load_all(store: &MetaStore) -> Result<Vec<(i64, StoredJob)>, MetaError> {
    store
        .load_all::<StoredJob>(Kind::Job)?
        .into_iter()
        .map(|(id, job)| Ok((id, assemble(store, id, job)?)))
        .collect()
}

/// A job's parts, out of its record while the record is written.
#[derive(Default)]
struct Parts {
    job_info: Option<super::Shared<super::BackupJobInfo>>,
    meta: Option<super::Shared<super::BackupMeta>>,
    snapshots: std::collections::BTreeMap<i64, super::state::SnapshotRecord>,
    tasks: super::state::TaskBook,
    tablets: super::Shared<Vec<super::restore_job::RestoreTablet>>,
    replaced: Vec<crate::catalog::OlapTable>,
}

impl Parts {
    /// Exchange these with the job's own: takes them out of a job, or puts them back.
    fn swap(&mut self, job: &mut StoredJob) {
        use std::mem::swap;
        let (job_info, meta, snapshots, tasks) = match job {
            StoredJob::Backup { record: r } => (&mut r.job_info, &mut r.meta, &mut r.snapshots, &mut r.tasks),
            StoredJob::Restore { record: r, extra: x } => {
                swap(&mut x.tablets, &mut self.tablets);
                swap(&mut x.replaced, &mut self.replaced);
                (&mut r.job_info, &mut r.meta, &mut r.snapshots, &mut r.tasks)
            }
        };
        swap(job_info, &mut self.job_info);
        swap(meta, &mut self.meta);
        swap(snapshots, &mut self.snapshots);
        swap(tasks, &mut self.tasks);
    }
}

fn put_split(w: &mut Writer<'_>, id: i64, record: &StoredJob, p: &Parts) -> Result<usize, MetaError> {
    w.put(Kind::Job, id, record)?;
    let mut wrote = put_part(w, id, JOB_INFO, &p.job_info)?;
    wrote += put_part(w, id, META, &p.meta)?;
    wrote += put_part(w, id, SNAPSHOTS, &p.snapshots)?;
    wrote += put_part(w, id, TASKS, &p.tasks)?;
    if let StoredJob::Restore { .. } = record {
        wrote += put_part(w, id, TABLETS, &p.tablets)?;
        wrote += put_part(w, id, REPLACED, &p.replaced)?;
    }
    Ok(wrote)
}

/// Store `value` as chunks of `part`, even when it is small: a job whose parts have no
/// chunks is one stored whole by an earlier version.
fn put_part<T: Serialize>(w: &mut Writer<'_>, id: i64, part: u32, value: &T) -> Result<usize, MetaError> {
    match w.put_streamed(id, part, value, || format!("job {id} part {part}"))? {
        Streamed::Chunked { wrote } => Ok(wrote),
        Streamed::Small(bytes) => {
            let wrote = w.put_chunk(id, part, 0, &bytes)?;
            w.delete_chunks_from(id, part, 1)?;
            Ok(usize::from(wrote))
        }
    }
}

/// Put the stored parts of job `id` into its record. A part without chunks keeps what the
/// record holds (a record stored whole by an earlier version).
fn assemble(store: &MetaStore, id: i64, mut job: StoredJob) -> Result<StoredJob, MetaError> {
    for (part, bytes) in store.read_chunks(id)? {
        set_part(&mut job, part, &bytes)
            .map_err(|source| MetaError::Decode { what: format!("job {id} part {part}"), source })?;
    }
    Ok(job)
}

fn set_part(job: &mut StoredJob, part: u32, bytes: &[u8]) -> Result<(), serde_json::Error> {
    use serde_json::from_slice;
    let (r_info, r_meta, r_snaps, r_tasks) = match job {
        StoredJob::Backup { record: r } => (&mut r.job_info, &mut r.meta, &mut r.snapshots, &mut r.tasks),
        StoredJob::Restore { record: r, extra: x } => {
            if part == TABLETS {
                x.tablets = from_slice(bytes)?;
                return Ok(());
            }
            if part == REPLACED {
                x.replaced = from_slice(bytes)?;
                return Ok(());
            }
            (&mut r.job_info, &mut r.meta, &mut r.snapshots, &mut r.tasks)
        }
    };
    match part {
        JOB_INFO => *r_info = from_slice(bytes)?,
        META => *r_meta = from_slice(bytes)?,
        SNAPSHOTS => *r_snaps = from_slice(bytes)?,
        TASKS => *r_tasks = from_slice(bytes)?,
        // A part a later version added: not ours to read.
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
#[path = "job_store_tests.rs"]
mod tests;
