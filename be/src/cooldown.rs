//! Single-replica cooldown: cold rowsets of a tablet with a storage policy move to the
//! policy's object store once, by the tablet's cooldown replica; the other replicas follow.
//!
//! The FE (upstream's, or any that speaks PUSH_STORAGE_POLICY and PUSH_COOLDOWN_CONF) picks
//! one replica per tablet and a term. Each pass here, per tablet:
//! - **cooldown replica** (`cooldown_replica_id` is ours): the local rowsets that are cold
//!   by the policy (`cooldown_ttl` after they were written, or past `cooldown_datetime`),
//!   taken in version order after the ones already remote, are uploaded as
//!   `<root>/data/<tablet_id>/<rowset_id>_<segment>.dat`; then the remote tablet meta
//!   `<root>/data/<tablet_id>/<replica_id>.<term>.meta` is written with every remote rowset
//!   and a new cooldown meta id; then the tablet meta marks them remote; then the local
//!   files go. A crash between steps repeats the step or leaves local files a restart
//!   removes.
//! - **other replicas**: read the cooldown replica's remote meta for the current term and,
//!   once they hold its versions, swap their own rowsets up to its last version for the
//!   remote ones and adopt its cooldown meta id.
//!
//! Both report `cooldown_meta_id` and the remote size; scans read remote rowsets from the
//! store. Remote files are never deleted here (upstream deletes them after asking the FE
//! with `confirmUnusedRemoteFiles`); only S3 resources can be cooled down to.
//!
//! The remote tablet meta is a format of ours (upstream's is a TabletMetaPB): one JSON
//! object, see [`RemoteTabletMeta`].

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use object_store::path::Path as ObjPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, info_span, warn, Instrument};

use crate::context::BeContext;
use crate::error::{BeError, Result};
use crate::storage::policy::{ResourceKind, StoragePolicy, StorageResource};
use crate::storage::{RowsetMeta, StorageEngine, TabletMeta};
use crate::repository::{s3_store, store_err, upload_file, S3Settings};

/// What `format` of a remote tablet meta says.
pub const REMOTE_META_FORMAT: &str = "doris-rs-remote-tablet-meta";
pub const REMOTE_META_VERSION: u32 = 1;

/// The remote tablet meta a cooldown replica writes for its term.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteTabletMeta {
    /// [`REMOTE_META_FORMAT`].
    pub format: String,
    /// [`REMOTE_META_VERSION`]; a reader refuses a newer one.
    pub version: u32,
    pub tablet_id: i64,
    /// The cooldown replica that wrote it, and its term.
    pub replica_id: i64,
    pub cooldown_term: i64,
    /// (hi, lo) of the TUniqueId the replicas report once they hold these rowsets.
    pub cooldown_meta_id: (i64, i64),
    /// Every remote rowset of the tablet, in version order from version 0.
    pub rowsets: Vec<RowsetMeta>,
}

/// A storage resource's object store, with upstream's key layout under its root path.
pub struct RemoteStore {
    store: Arc<dyn ObjectStore>,
    root: String,
}

impl RemoteStore {
    pub fn open(resource: &StorageResource) -> Result<Self> {
        let s3 = match &resource.kind {
            ResourceKind::S3(s3) => s3,
            ResourceKind::Hdfs => {
                return Err(BeError::InvalidArgument(format!(
                    "resource {} is HDFS: cooldown to HDFS is not supported",
                    resource.name
                )))
            }
        };
        let store = s3_store(&S3Settings {
            bucket: &s3.bucket,
            region: &s3.region,
            access_key: Some(s3.access_key.as_str()).filter(|k| !k.is_empty()),
            secret_key: Some(s3.secret_key.as_str()).filter(|k| !k.is_empty()),
            token: s3.token.as_deref(),
            endpoint: Some(s3.endpoint.as_str()),
            path_style: Some(s3.use_path_style),
        })
        .map_err(|e| BeError::InvalidArgument(format!("bad settings of resource {}: {e}", resource.name)))?;
        Ok(RemoteStore { store: Arc::new(store), root: s3.root_path.clone() })
    }

    fn key(&self, rel: &str) -> ObjPath {
        if self.root.is_empty() {
            ObjPath::from(rel)
        } else {
            ObjPath::from(format!("{}/{rel}", self.root))
        }
    }

    /// Where a segment file of a tablet's remote rowset lives.
    pub fn segment_key(&self, tablet_id: i64, file: &str) -> ObjPath {
        self.key(&format!("data/{tablet_id}/{file}"))
    }

    /// Where the cooldown replica `replica_id` keeps the tablet's remote meta of `term`.
    pub fn meta_key(&self, tablet_id: i64, replica_id: i64, term: i64) -> ObjPath {
        self.key(&format!("data/{tablet_id}/{replica_id}.{term}.meta"))
    }

    /// The store of `tablet_id`'s storage policy.
    pub fn of_tablet(storage: &StorageEngine, tablet_id: i64) -> Result<Self> {
        let (_, resource) = storage.tablet_storage_policy(tablet_id)?;
        Self::open(&resource)
    }

    /// A segment file of a remote rowset of `tablet_id`.
    pub async fn segment(&self, tablet_id: i64, file: &str) -> Result<bytes::Bytes> {
        let key = self.segment_key(tablet_id, file);
        self.get(&key).await?.ok_or_else(|| BeError::NotFound(format!("remote segment {key}")))
    }

    /// The size of a remote segment; None when there is no such object.
    pub async fn segment_size(&self, tablet_id: i64, file: &str) -> Result<Option<u64>> {
        let key = self.segment_key(tablet_id, file);
        match self.store.head(&key).await {
            Ok(m) => Ok(Some(m.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(store_err(&format!("reading the size of {key}"), e)),
        }
    }

    /// Bytes `range` of a remote segment as a stream, so a big segment is never held in
    /// memory whole (binlog downloads serve cooled-down rowsets this way).
    pub async fn segment_range(
        &self,
        tablet_id: i64,
        file: &str,
        range: std::ops::Range<u64>,
    ) -> Result<futures::stream::BoxStream<'static, std::io::Result<bytes::Bytes>>> {
        use futures::TryStreamExt;
        let key = self.segment_key(tablet_id, file);
        let opts = object_store::GetOptions { range: Some(object_store::GetRange::Bounded(range)), ..Default::default() };
        let r = self.store.get_opts(&key, opts).await.map_err(|e| store_err(&format!("reading {key}"), e))?;
        Ok(Box::pin(r.into_stream().map_err(std::io::Error::other)))
    }

    /// The object's bytes; None when there is no such object.
    pub async fn get(&self, key: &ObjPath) -> Result<Option<bytes::Bytes>> {
        match self.store.get(key).await {
            Ok(r) => r.bytes().await.map(Some).map_err(|e| store_err(&format!("reading {key}"), e)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(store_err(&format!("reading {key}"), e)),
        }
    }

    async fn put_meta(&self, m: &RemoteTabletMeta) -> Result<()> {
        let key = self.meta_key(m.tablet_id, m.replica_id, m.cooldown_term);
        let body = serde_json::to_vec(m).map_err(|e| BeError::Internal(format!("encoding the remote meta: {e}")))?;
        self.store.put(&key, PutPayload::from(body)).await.map_err(|e| store_err(&format!("writing {key}"), e))?;
        Ok(())
    }

    /// The remote meta of `replica_id` for `term`, or None when it is not written yet.
    pub async fn meta(&self, tablet_id: i64, replica_id: i64, term: i64) -> Result<Option<RemoteTabletMeta>> {
        let key = self.meta_key(tablet_id, replica_id, term);
        let Some(bytes) = self.get(&key).await? else {
            return Ok(None);
        };
        let m: RemoteTabletMeta =
            serde_json::from_slice(&bytes).map_err(|e| BeError::Corruption(format!("{key} is not a remote tablet meta: {e}")))?;
        if m.format != REMOTE_META_FORMAT || m.version > REMOTE_META_VERSION {
            return Err(BeError::Corruption(format!(
                "{key}: format {} version {} is not one this BE reads ({REMOTE_META_FORMAT} up to {REMOTE_META_VERSION})",
                m.format, m.version
            )));
        }
        if (m.tablet_id, m.replica_id, m.cooldown_term) != (tablet_id, replica_id, term) {
            return Err(BeError::Corruption(format!(
                "{key} names tablet {} replica {} term {}",
                m.tablet_id, m.replica_id, m.cooldown_term
            )));
        }
        Ok(Some(m))
    }
}

/// Whether a rowset written at `written_s` is cold under `policy` at `now_s`: upstream
/// counts `cooldown_ttl` from the write when the policy has one, else uses its datetime.
pub fn is_cold(policy: &StoragePolicy, written_s: i64, now_s: i64) -> bool {
    match (policy.cooldown_ttl.filter(|t| *t >= 0), policy.cooldown_datetime.filter(|d| *d > 0)) {
        (Some(ttl), _) => written_s.saturating_add(ttl) <= now_s,
        (None, Some(at)) => at <= now_s,
        (None, None) => false,
    }
}

/// What one tablet's pass did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The cooldown replica uploaded this many rowsets and wrote a new remote meta.
    Uploaded(usize),
    /// The cooldown replica wrote the remote meta of a new term (nothing new to upload).
    Published,
    /// A replica adopted the cooldown replica's remote rowsets.
    Followed,
    Nothing,
}

/// One pass over every tablet with a storage policy and a cooldown term: (tablet, step) for
/// those that did something, and the failures (they are retried on the next pass). One
/// store client per resource (and version) serves the whole pass.
pub async fn run_pass(storage: &Arc<StorageEngine>) -> (Vec<(i64, Step)>, Vec<(i64, BeError)>) {
    let (mut done, mut failed) = (Vec::new(), Vec::new());
    let mut stores: HashMap<(i64, i64), Arc<RemoteStore>> = HashMap::new();
    for tablet_id in storage.tablet_ids() {
        let Some(meta) = storage.tablet_meta(tablet_id) else { continue };
        if meta.storage_policy_id <= 0 || meta.cooldown.cooldown_term <= 0 {
            continue;
        }
        let span = info_span!("cooldown", tablet_id, term = meta.cooldown.cooldown_term);
        let step = async {
            let (policy, resource) = storage.resolve_storage_policy(meta.storage_policy_id)?;
            let remote = match stores.entry((resource.id, resource.version)) {
                Entry::Occupied(e) => e.get().clone(),
                Entry::Vacant(e) => e.insert(Arc::new(RemoteStore::open(&resource)?)).clone(),
            };
            if meta.cooldown.cooldown_replica_id == meta.replica_id {
                cool(storage, &remote, &policy, meta).await
            } else {
                follow(storage, &remote, meta).await
            }
        };
        match step.instrument(span).await {
            Ok(Step::Nothing) => {}
            Ok(step) => done.push((tablet_id, step)),
            Err(e) => {
                warn!(tablet_id, error = %e, "cooldown pass failed; retried on the next");
                failed.push((tablet_id, e));
            }
        }
    }
    (done, failed)
}

fn new_meta_id() -> (i64, i64) {
    let u = uuid::Uuid::new_v4().as_u128();
    ((u >> 64) as i64, u as i64)
}

/// The cooldown replica's step: upload what is cold, publish the remote meta, then let go
/// of the local files.
async fn cool(storage: &Arc<StorageEngine>, remote: &RemoteStore, policy: &StoragePolicy, meta: TabletMeta) -> Result<Step> {
    let tablet_id = meta.tablet_id;
    let (replica_id, term) = (meta.replica_id, meta.cooldown.cooldown_term);
    let now = chrono::Utc::now().timestamp();
    let tablet_written = meta.creation_time_ms / 1000;
    let mut rowsets = meta.rowsets.clone();
    rowsets.sort_by_key(|r| r.start_version);
    let held: Vec<RowsetMeta> = rowsets.iter().take_while(|r| r.remote).cloned().collect();
    let cold: Vec<RowsetMeta> = rowsets[held.len()..]
        .iter()
        .take_while(|r| !r.remote && is_cold(policy, if r.creation_time_s > 0 { r.creation_time_s } else { tablet_written }, now))
        .cloned()
        .collect();
    if cold.is_empty() {
        // Newly chosen with rowsets already remote: publish them under this term, so the
        // other replicas (which look for this term's meta) can follow.
        if held.is_empty() || remote.meta(tablet_id, replica_id, term).await?.is_some() {
            return Ok(Step::Nothing);
        }
    }
    let dir = storage.tablet_dir(tablet_id)?;
    for rs in &cold {
        for f in rs.segment_files() {
            upload_file(&remote.store, &dir.join(&f), &remote.segment_key(tablet_id, &f)).await?;
        }
    }
    let meta_id = new_meta_id();
    let mut all = held;
    all.extend(cold.iter().cloned().map(|mut r| {
        r.remote = true;
        r
    }));
    remote
        .put_meta(&RemoteTabletMeta {
            format: REMOTE_META_FORMAT.to_string(),
            version: REMOTE_META_VERSION,
            tablet_id,
            replica_id,
            cooldown_term: term,
            cooldown_meta_id: meta_id,
            rowsets: all,
        })
        .await?;
    let ids: Vec<&str> = cold.iter().map(|r| r.rowset_id.as_str()).collect();
    storage.update_meta(tablet_id, |m| {
        if m.cooldown.cooldown_replica_id != replica_id || m.cooldown.cooldown_term != term {
            return Err(BeError::Cancelled(format!("tablet {tablet_id}: the cooldown conf changed during the upload")));
        }
        for id in &ids {
            let r = m.rowsets.iter_mut().find(|r| r.rowset_id == *id).ok_or_else(|| {
                BeError::Cancelled(format!("tablet {tablet_id}: rowset {id} went away during the upload"))
            })?;
            r.remote = true;
        }
        m.cooldown.cooldown_meta_id = Some(meta_id);
        Ok(())
    })?;
    remove_local_files(&dir, &cold);
    if cold.is_empty() {
        info!("remote meta published for the new term");
        return Ok(Step::Published);
    }
    info!(rowsets = cold.len(), up_to_version = cold.last().map(|r| r.end_version), "rowsets cooled down");
    Ok(Step::Uploaded(cold.len()))
}

/// Another replica's step: take the cooldown replica's remote rowsets in place of its own.
async fn follow(storage: &Arc<StorageEngine>, remote: &RemoteStore, meta: TabletMeta) -> Result<Step> {
    let tablet_id = meta.tablet_id;
    let (leader, term) = (meta.cooldown.cooldown_replica_id, meta.cooldown.cooldown_term);
    let Some(rm) = remote.meta(tablet_id, leader, term).await? else {
        debug!(leader, "no remote meta for this term yet");
        return Ok(Step::Nothing);
    };
    if meta.cooldown.cooldown_meta_id == Some(rm.cooldown_meta_id) {
        return Ok(Step::Nothing);
    }
    let upto = rm.rowsets.iter().map(|r| r.end_version).max().unwrap_or(-1);
    let mut dropped: Vec<RowsetMeta> = Vec::new();
    let mut not_ready: Option<String> = None;
    let outcome = storage.update_meta(tablet_id, |m| {
        if (m.cooldown.cooldown_replica_id, m.cooldown.cooldown_term) != (leader, term) {
            return Err(BeError::Cancelled(format!("tablet {tablet_id}: the cooldown conf changed while following")));
        }
        if m.max_version() < upto {
            not_ready = Some(format!("local version {} is behind the remote {upto}", m.max_version()));
            return Err(BeError::Cancelled(String::new()));
        }
        if let Some(r) = m.rowsets.iter().find(|r| r.start_version <= upto && r.end_version > upto) {
            not_ready = Some(format!("local rowset [{}, {}] spans the remote's last version {upto}", r.start_version, r.end_version));
            return Err(BeError::Cancelled(String::new()));
        }
        let (old, keep): (Vec<RowsetMeta>, Vec<RowsetMeta>) = m.rowsets.drain(..).partition(|r| r.end_version <= upto);
        dropped = old.into_iter().filter(|r| !r.remote && !rm.rowsets.iter().any(|x| x.rowset_id == r.rowset_id)).collect();
        m.rowsets = rm.rowsets.iter().cloned().map(|mut r| {
            r.remote = true;
            r
        }).collect();
        m.rowsets.extend(keep);
        m.cooldown.cooldown_meta_id = Some(rm.cooldown_meta_id);
        Ok(())
    });
    if let Some(why) = not_ready {
        debug!(why = %why, "not following yet");
        return Ok(Step::Nothing);
    }
    outcome?;
    remove_local_files(&storage.tablet_dir(tablet_id)?, &dropped);
    info!(leader, up_to_version = upto, replaced = dropped.len(), "following the cooldown replica's remote rowsets");
    Ok(Step::Followed)
}

/// Best effort: a file left behind is removed at the next start (no meta references it).
fn remove_local_files(dir: &Path, rowsets: &[RowsetMeta]) {
    for rs in rowsets {
        for f in rs.segment_files() {
            if let Err(e) = std::fs::remove_file(dir.join(&f)) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    warn!(file = %f, error = %e, "cannot remove a cooled-down file; removed at the next start");
                }
            }
        }
    }
}

/// The BE's cooldown loop: a pass every `generate_cooldown_task_interval_sec`.
pub async fn run(ctx: Arc<BeContext>, stop: CancellationToken) {
    let every = Duration::from_secs(ctx.config.generate_cooldown_task_interval_sec.max(1));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = run_pass(&ctx.storage) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(ttl: Option<i64>, at: Option<i64>) -> StoragePolicy {
        StoragePolicy { id: 1, name: "p".into(), version: 1, cooldown_datetime: at, cooldown_ttl: ttl, resource_id: 2 }
    }

    #[test]
    fn coldness_follows_the_policy() {
        assert!(is_cold(&policy(Some(60), None), 1000, 1060));
        assert!(!is_cold(&policy(Some(60), None), 1000, 1059));
        assert!(is_cold(&policy(Some(0), None), 1000, 1000));
        // The ttl wins over the datetime, as upstream has it.
        assert!(!is_cold(&policy(Some(60), Some(10)), 1000, 1001));
        assert!(is_cold(&policy(None, Some(1000)), 0, 1000));
        assert!(!is_cold(&policy(None, Some(1001)), 0, 1000));
        assert!(!is_cold(&policy(None, None), 0, i64::MAX));
        assert!(!is_cold(&policy(Some(-1), None), 0, i64::MAX), "a negative ttl is unset");
    }
}
