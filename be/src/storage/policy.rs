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

use doris_thrift::agent_service::{TPushStoragePolicyReq, TS3StorageParam, TStoragePolicy, TStorageResource};
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

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// A pushed resource as we keep it, or why it cannot be used.
pub fn resource_from_thrift(r: &TStorageResource) -> std::result::Result<StorageResource, String> {
    let id = r.id.ok_or("resource without id")?;
    let version = r.version.ok_or_else(|| format!("resource {id} without version"))?;
    let name = r.name.clone().unwrap_or_default();
    let kind = match (&r.s3_storage_param, &r.hdfs_storage_param) {
        (Some(s3), _) => ResourceKind::S3(s3_from_thrift(id, s3)?),
        (None, Some(_)) => ResourceKind::Hdfs,
        (None, None) => return Err(format!("resource {id} has neither s3 nor hdfs parameters")),
    };
    Ok(StorageResource { id, name, version, kind })
}

fn s3_from_thrift(id: i64, p: &TS3StorageParam) -> std::result::Result<S3Resource, String> {
    let need = |v: &Option<String>, what: &str| non_empty(v).map(str::to_string).ok_or_else(|| format!("s3 resource {id} without {what}"));
    let endpoint = need(&p.endpoint, "endpoint")?;
    let bucket = need(&p.bucket, "bucket")?;
    let (ak, sk) = (non_empty(&p.ak), non_empty(&p.sk));
    if ak.is_some() != sk.is_some() {
        return Err(format!("s3 resource {id} has an access key without a secret key or the reverse"));
    }
    Ok(S3Resource {
        endpoint,
        // Upstream's FE always sends a region; us-east-1 is what S3 clients assume without.
        region: non_empty(&p.region).unwrap_or("us-east-1").to_string(),
        bucket,
        root_path: p.root_path.as_deref().unwrap_or("").trim_matches('/').to_string(),
        access_key: ak.unwrap_or("").to_string(),
        secret_key: sk.unwrap_or("").to_string(),
        token: non_empty(&p.token).map(str::to_string),
        use_path_style: p.use_path_style.unwrap_or(false),
        // Upstream's IDL defaults.
        max_conn: p.max_conn.unwrap_or(50),
        request_timeout_ms: p.request_timeout_ms.unwrap_or(3000),
        conn_timeout_ms: p.conn_timeout_ms.unwrap_or(1000),
        provider: p.provider.map(|t| t.0),
    })
}

pub fn policy_from_thrift(p: &TStoragePolicy) -> std::result::Result<StoragePolicy, String> {
    let id = p.id.ok_or("storage policy without id")?;
    let version = p.version.ok_or_else(|| format!("storage policy {id} without version"))?;
    let resource_id = p.resource_id.ok_or_else(|| format!("storage policy {id} without resource_id"))?;
    Ok(StoragePolicy {
        id,
        name: p.name.clone().unwrap_or_default(),
        version,
        cooldown_datetime: p.cooldown_datetime,
        cooldown_ttl: p.cooldown_ttl,
        resource_id,
    })
}

impl PolicySet {
    /// Apply a push as upstream does: resources first (a newer version replaces), then
    /// dropped policies, then policies (a newer version replaces). Invalid entries are
    /// skipped and named in the outcome; the rest still applies.
    pub fn apply(&mut self, req: &TPushStoragePolicyReq) -> PushOutcome {
        let mut out = PushOutcome::default();
        for r in req.resource.iter().flatten() {
            match resource_from_thrift(r) {
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
        for id in req.dropped_storage_policy.iter().flatten() {
            if self.policies.remove(id).is_some() {
                out.policies_dropped.push(*id);
            }
        }
        for p in req.storage_policy.iter().flatten() {
            match policy_from_thrift(p) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use doris_thrift::agent_service::TObjStorageType;

    fn s3(id: i64, version: i64, sk: Option<&str>) -> Box<TStorageResource> {
        Box::new(TStorageResource::new(
            id,
            format!("res{id}"),
            version,
            TS3StorageParam::new(
                "http://127.0.0.1:9000".to_string(),
                "us-west-2".to_string(),
                "AKID".to_string(),
                sk.map(str::to_string),
                None::<i32>,
                None::<i32>,
                None::<i32>,
                "/cold/".to_string(),
                "bkt".to_string(),
                true,
                None::<String>,
                TObjStorageType::AWS,
            ),
            None::<doris_thrift::plan_nodes::THdfsParams>,
        ))
    }

    fn policy(id: i64, version: i64, resource: i64) -> Box<TStoragePolicy> {
        Box::new(TStoragePolicy::new(id, format!("p{id}"), version, 1_700_000_000i64, None::<i64>, resource))
    }

    #[allow(clippy::vec_box)] // the generated request's field types
    fn push(policies: Vec<Box<TStoragePolicy>>, resources: Vec<Box<TStorageResource>>, dropped: Vec<i64>) -> TPushStoragePolicyReq {
        TPushStoragePolicyReq { storage_policy: Some(policies), resource: Some(resources), dropped_storage_policy: Some(dropped) }
    }

    #[test]
    fn newer_versions_replace_stale_and_invalid_are_skipped_and_drops_apply() {
        let mut set = PolicySet::default();
        let out = set.apply(&push(vec![policy(1, 1, 10), policy(2, 1, 10)], vec![s3(10, 1, Some("sk"))], vec![]));
        assert_eq!(out.resources_updated, vec![10]);
        assert_eq!(out.policies_updated, vec![1, 2]);
        let (p, r) = set.resolve(1).unwrap();
        assert_eq!(p.cooldown_datetime, Some(1_700_000_000));
        let ResourceKind::S3(s) = &r.kind else { panic!("s3 expected") };
        assert_eq!((s.bucket.as_str(), s.root_path.as_str(), s.region.as_str(), s.use_path_style, s.max_conn), ("bkt", "cold", "us-west-2", true, 50));
        assert!(!format!("{s:?}").contains("sk\""), "Debug hides the secret");

        // Same version again: stale. A resource without its secret: refused, old one kept.
        let out = set.apply(&push(vec![policy(1, 1, 11)], vec![s3(10, 2, None)], vec![2]));
        assert_eq!(out.stale, 1);
        assert_eq!(out.invalid.len(), 1, "{:?}", out.invalid);
        assert_eq!(out.policies_dropped, vec![2]);
        assert_eq!(set.resources[&10].version, 1);
        assert_eq!(set.policy_versions(), vec![(1, 1)]);
        assert_eq!(set.resolve(1).unwrap().0.resource_id, 10);

        // A policy pointing at an unknown resource is kept but does not resolve.
        set.apply(&push(vec![policy(1, 2, 99)], vec![], vec![]));
        let e = set.resolve(1).unwrap_err();
        assert_eq!(e.to_string(), "not found: could not find resource, resource_id=99");
        let e = set.resolve(5).unwrap_err();
        assert!(e.to_string().contains("could not find storage_policy, storage_policy_id=5"), "{e}");

        let again = PolicySet::decode(&set.encode().unwrap()).unwrap();
        assert_eq!(again, set);
    }
}
