//! Storage policies and the resources (object stores) they point at, as the FE pushes
//! them with PUSH_STORAGE_POLICY. Cooldown resolves a tablet's `storage_policy_id` here.
//!
//! Upstream keeps them in memory only and relies on the FE to push them again after a
//! restart (it compares the ids and versions of the tablet report). We also keep them in
//! each root's redb, so a restarted BE can cool tablets down before the FE re-pushes.
//! The whole set is stored as one value with a generation; the highest generation found
//! on any root wins at open, so a drop is never undone by a root that missed it.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{BeError, Result};

/// A cooldown rule: when a tablet's data moves to the resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoragePolicy {
    pub id: i64,
    pub name: String,
    pub version: i64,
    /// Seconds since the epoch after which data cools down (absent: not by date).
    pub cooldown_datetime: Option<i64>,
    /// Seconds after a rowset's creation it cools down (absent: not by age).
    pub cooldown_ttl: Option<i64>,
    pub resource_id: i64,
}

/// An S3-compatible object store. `Debug` never shows the secret or the token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3Resource {
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    /// Key prefix under the bucket (may be empty).
    pub root_path: String,
    pub access_key: String,
    pub secret_key: String,
    pub token: Option<String>,
    pub use_path_style: bool,
    pub max_conn: i32,
    pub request_timeout_ms: i32,
    pub conn_timeout_ms: i32,
    /// `TObjStorageType` value (1 = AWS, ...), when the FE said.
    pub provider: Option<i32>,
}

impl fmt::Debug for S3Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Resource")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("root_path", &self.root_path)
            .field("access_key", &self.access_key)
            .field("secret_key", &"<hidden>")
            .field("token", &self.token.as_ref().map(|_| "<hidden>"))
            .field("use_path_style", &self.use_path_style)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResourceKind {
    S3(S3Resource),
    /// Kept so the report matches what the FE pushed; cooldown to HDFS is not supported.
    Hdfs,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageResource {
    pub id: i64,
    pub name: String,
    pub version: i64,
    pub kind: ResourceKind,
}

/// Every policy and resource this BE knows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicySet {
    /// Bumped by every change that is persisted.
    pub generation: u64,
    pub policies: BTreeMap<i64, StoragePolicy>,
    pub resources: BTreeMap<i64, StorageResource>,
}

/// What one push changed, for the log and for tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushOutcome {
    pub resources_updated: Vec<i64>,
    pub policies_updated: Vec<i64>,
    pub policies_dropped: Vec<i64>,
    /// Entries whose version is not newer than the one held (ids).
    pub stale: usize,
    /// Entries refused, with the reason each.
    pub invalid: Vec<String>,
}

impl PushOutcome {
    pub fn changed(&self) -> bool {
        !(self.resources_updated.is_empty() && self.policies_updated.is_empty() && self.policies_dropped.is_empty())
    }
}

/// A PUSH_STORAGE_POLICY as storage applies it: entries already converted, the ones that
/// cannot be used carrying why (see `tasks::storage_policy`).
#[derive(Debug, Clone, Default)]
pub struct PolicyPush {
    pub resources: Vec<std::result::Result<StorageResource, String>>,
    pub dropped: Vec<i64>,
    pub policies: Vec<std::result::Result<StoragePolicy, String>>,
}

impl PolicySet {
    /// Apply a push as upstream does: resources first (a newer version replaces), then
    /// dropped policies, then policies (a newer version replaces). Invalid entries are
    /// skipped and named in the outcome; the rest still applies.
    pub fn apply(&mut self, push: &PolicyPush) -> PushOutcome {
        let mut out = PushOutcome::default();
        for r in &push.resources {
            match r.clone() {
                Ok(res) => {
                    if self.resources.get(&res.id).is_some_and(|held| held.version >= res.version) {
                        out.stale += 1;
                        continue;
                    }
                    out.resources_updated.push(res.id);
                    self.resources.insert(res.id, res);
                }
                Err(why) => out.invalid.push(why),
            }
        }
        for id in &push.dropped {
            if self.policies.remove(id).is_some() {
                out.policies_dropped.push(*id);
            }
        }
        for p in &push.policies {
            match p.clone() {
                Ok(pol) => {
                    if self.policies.get(&pol.id).is_some_and(|held| held.version >= pol.version) {
                        out.stale += 1;
                        continue;
                    }
                    out.policies_updated.push(pol.id);
                    self.policies.insert(pol.id, pol);
                }
                Err(why) => out.invalid.push(why),
            }
        }
        out
    }

    /// (id, version) of every policy, as the tablet report carries them.
    pub fn policy_versions(&self) -> Vec<(i64, i64)> {
        self.policies.values().map(|p| (p.id, p.version)).collect()
    }

    /// (id, version) of every resource, as the tablet report carries them.
    pub fn resource_versions(&self) -> Vec<(i64, i64)> {
        self.resources.values().map(|r| (r.id, r.version)).collect()
    }

    /// The policy and its resource (upstream's error texts when either is unknown).
    pub fn resolve(&self, storage_policy_id: i64) -> Result<(StoragePolicy, StorageResource)> {
        let policy = self.policies.get(&storage_policy_id).ok_or_else(|| {
            BeError::NotFound(format!("could not find storage_policy, storage_policy_id={storage_policy_id}"))
        })?;
        let resource = self
            .resources
            .get(&policy.resource_id)
            .ok_or_else(|| BeError::NotFound(format!("could not find resource, resource_id={}", policy.resource_id)))?;
        Ok((policy.clone(), resource.clone()))
    }

    pub fn encode(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self).map_err(|e| BeError::Internal(format!("encode storage policies: {e}")))
    }

    pub fn decode(bytes: &[u8]) -> Result<PolicySet> {
        serde_json::from_slice(bytes).map_err(|e| BeError::Corruption(format!("stored storage policies do not decode: {e}")))
    }
}

/// How the engine keeps the set: one copy in memory, persisted on every root.
impl super::StorageEngine {
    /// PUSH_STORAGE_POLICY: apply the push and, when it changed anything, persist the new
    /// set on every root before it is used.
    pub fn push_storage_policy(&self, push: &PolicyPush) -> Result<PushOutcome> {
        let mut held = self.policies.write().unwrap_or_else(|e| e.into_inner());
        let mut next = held.clone();
        let out = next.apply(push);
        if out.changed() {
            next.generation += 1;
            let bytes = next.encode()?;
            for d in &self.dirs {
                d.meta.put_storage_policies(&bytes)?;
            }
            *held = next;
        }
        Ok(out)
    }

    /// Every storage policy and resource held.
    pub fn storage_policies(&self) -> PolicySet {
        self.policies.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// A policy and the resource it names, as cooldown needs them.
    pub fn resolve_storage_policy(&self, storage_policy_id: i64) -> Result<(StoragePolicy, StorageResource)> {
        self.policies.read().unwrap_or_else(|e| e.into_inner()).resolve(storage_policy_id)
    }

    /// The storage policy of a tablet with its resource; NotFound when the tablet has none.
    pub fn tablet_storage_policy(&self, tablet_id: i64) -> Result<(StoragePolicy, StorageResource)> {
        let t = self.tablet(tablet_id).ok_or_else(|| BeError::NotFound(format!("tablet {tablet_id} not found")))?;
        if t.meta.storage_policy_id <= 0 {
            return Err(BeError::NotFound(format!("tablet {tablet_id} has no storage policy")));
        }
        self.resolve_storage_policy(t.meta.storage_policy_id)
    }
}
