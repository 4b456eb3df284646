//! Storage resources (S3) and storage policies: created, dropped and listed, kept in the
//! meta store by name, and their thrift form for PUSH_STORAGE_POLICY. What CREATE's
//! properties mean is the executor's (`executor/cooldown.rs`): it hands over specs.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use doris_thrift::agent_service::{TObjStorageType, TS3StorageParam, TStoragePolicy, TStorageResource};
use serde::{Deserialize, Serialize};

use crate::persist::{MetaError, MetaStore, Named};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    pub id: i64,
    pub name: String,
    pub version: i64,
    /// Canonical `s3.*` keys (and `use_path_style`), values as given.
    pub properties: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoragePolicy {
    pub id: i64,
    pub name: String,
    pub version: i64,
    pub resource: String,
    /// Seconds since the epoch.
    pub cooldown_datetime: Option<i64>,
    /// Seconds after a rowset is written.
    pub cooldown_ttl: Option<i64>,
    /// As written, for SHOW.
    pub properties: BTreeMap<String, String>,
}

/// Policy (id, version)s and resource (id, version)s, sorted.
pub type Versions = (Vec<(i64, i64)>, Vec<(i64, i64)>);

/// Every resource and policy, plus a generation that moves with each change (pushes
/// compare it) and the ids of dropped policies (BEs are told to drop them).
#[derive(Default)]
pub struct Policies {
    resources: Mutex<BTreeMap<String, Resource>>,
    policies: Mutex<BTreeMap<String, StoragePolicy>>,
    dropped: Mutex<Vec<i64>>,
    generation: AtomicU64,
    /// What each backend last reported holding: policy (id, version)s, resource (id, version)s.
    reported: Mutex<HashMap<i64, Versions>>,
}

/// A resource to create: S3, with canonical `s3.*` keys (and `use_path_style`).
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceSpec {
    pub name: String,
    pub if_not_exists: bool,
    pub properties: BTreeMap<String, String>,
}

/// A storage policy to create: exactly one of `cooldown_datetime` and `cooldown_ttl`.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicySpec {
    pub name: String,
    pub if_not_exists: bool,
    pub resource: String,
    /// Seconds since the epoch.
    pub cooldown_datetime: Option<i64>,
    /// Seconds after a rowset is written.
    pub cooldown_ttl: Option<i64>,
    /// As written (keys lower-cased), for SHOW.
    pub properties: BTreeMap<String, String>,
}

/// Why a resource or policy change is refused (upstream's texts).
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("Resource({0}) already exist")]
    ResourceExists(String),
    #[error("Resource({0}) does not exist")]
    UnknownResource(String),
    #[error("Resource {resource} is used by storage policy {policy}")]
    ResourceInUse { resource: String, policy: String },
    /// A policy names a resource that does not exist.
    #[error("storage resource doesn't exist: {0}")]
    NoSuchResource(String),
    #[error("Storage policy {0} already exists")]
    PolicyExists(String),
    #[error("Storage policy {0} does not exist")]
    UnknownPolicy(String),
    #[error("Storage policy {policy} is used by table {table}")]
    PolicyInUse { policy: String, table: String },
    #[error("meta store: {0}")]
    Meta(#[from] MetaError),
}

impl Policies {
    pub fn load(store: &MetaStore) -> std::result::Result<Self, MetaError> {
        let p = Policies::default();
        *p.resources.lock().unwrap() = store.load_all_named::<Resource>(Named::Resource)?.into_iter().collect();
        *p.policies.lock().unwrap() = store.load_all_named::<StoragePolicy>(Named::StoragePolicy)?.into_iter().collect();
        Ok(p)
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    fn changed(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    pub fn has_policies(&self) -> bool {
        !self.policies.lock().unwrap().is_empty()
    }

    pub fn policy(&self, name: &str) -> Option<StoragePolicy> {
        self.policies.lock().unwrap().get(name).cloned()
    }

    pub fn create_resource(&self, store: &MetaStore, spec: &ResourceSpec) -> Result<(), PolicyError> {
        let name = &spec.name;
        let mut resources = self.resources.lock().unwrap();
        if resources.contains_key(name) {
            if spec.if_not_exists {
                return Ok(());
            }
            return Err(PolicyError::ResourceExists(name.clone()));
        }
        let r = Resource { id: store.next_id()?, name: name.clone(), version: 1, properties: spec.properties.clone() };
        store.put_named(Named::Resource, name, &r)?;
        resources.insert(name.clone(), r);
        self.changed();
        Ok(())
    }

    pub fn drop_resource(&self, store: &MetaStore, name: &str, if_exists: bool) -> Result<(), PolicyError> {
        let mut resources = self.resources.lock().unwrap();
        if !resources.contains_key(name) {
            return if if_exists { Ok(()) } else { Err(PolicyError::UnknownResource(name.to_string())) };
        }
        if let Some(p) = self.policies.lock().unwrap().values().find(|p| p.resource == name) {
            return Err(PolicyError::ResourceInUse { resource: name.to_string(), policy: p.name.clone() });
        }
        store.delete_named(Named::Resource, name)?;
        resources.remove(name);
        self.changed();
        Ok(())
    }

    pub fn create_policy(&self, store: &MetaStore, spec: &PolicySpec) -> Result<(), PolicyError> {
        let name = &spec.name;
        if !self.resources.lock().unwrap().contains_key(&spec.resource) {
            return Err(PolicyError::NoSuchResource(spec.resource.clone()));
        }
        let mut policies = self.policies.lock().unwrap();
        if policies.contains_key(name) {
            if spec.if_not_exists {
                return Ok(());
            }
            return Err(PolicyError::PolicyExists(name.clone()));
        }
        let p = StoragePolicy {
            id: store.next_id()?,
            name: name.clone(),
            version: 1,
            resource: spec.resource.clone(),
            cooldown_datetime: spec.cooldown_datetime,
            cooldown_ttl: spec.cooldown_ttl,
            properties: spec.properties.clone(),
        };
        store.put_named(Named::StoragePolicy, name, &p)?;
        policies.insert(name.clone(), p);
        self.changed();
        Ok(())
    }

    /// `in_use`: a table that names the policy, if any.
    pub fn drop_policy(
        &self,
        store: &MetaStore,
        name: &str,
        if_exists: bool,
        in_use: Option<String>,
    ) -> Result<(), PolicyError> {
        let mut policies = self.policies.lock().unwrap();
        let Some(p) = policies.get(name).cloned() else {
            return if if_exists { Ok(()) } else { Err(PolicyError::UnknownPolicy(name.to_string())) };
        };
        if let Some(table) = in_use {
            return Err(PolicyError::PolicyInUse { policy: name.to_string(), table });
        }
        store.delete_named(Named::StoragePolicy, name)?;
        policies.remove(name);
        self.dropped.lock().unwrap().push(p.id);
        self.changed();
        Ok(())
    }

    /// Every resource, by name.
    pub fn resources(&self) -> Vec<Resource> {
        self.resources.lock().unwrap().values().cloned().collect()
    }

    /// Every storage policy, by name.
    pub fn storage_policies(&self) -> Vec<StoragePolicy> {
        self.policies.lock().unwrap().values().cloned().collect()
    }

    /// PUSH_STORAGE_POLICY's content: every policy, the resources they use, dropped ids.
    #[allow(clippy::type_complexity)]
    pub fn push_content(&self) -> (Vec<TStoragePolicy>, Vec<TStorageResource>, Vec<i64>) {
        let resources = self.resources.lock().unwrap();
        let policies = self.policies.lock().unwrap();
        let mut out_p = Vec::new();
        for p in policies.values() {
            let Some(r) = resources.get(&p.resource) else { continue };
            out_p.push(TStoragePolicy::new(p.id, p.name.clone(), p.version, p.cooldown_datetime, p.cooldown_ttl, r.id));
        }
        let out_r = resources
            .values()
            .map(|r| {
                let g = |k: &str| r.properties.get(k).cloned();
                let path_style = g("use_path_style").map(|v| v.eq_ignore_ascii_case("true"));
                let s3 = TS3StorageParam::new(
                    g("s3.endpoint"),
                    g("s3.region"),
                    g("s3.access_key"),
                    g("s3.secret_key"),
                    None::<i32>,
                    None::<i32>,
                    None::<i32>,
                    g("s3.root.path"),
                    g("s3.bucket"),
                    path_style.unwrap_or(true),
                    g("s3.session_token"),
                    TObjStorageType::AWS,
                );
                TStorageResource::new(r.id, r.name.clone(), r.version, s3, None)
            })
            .collect();
        (out_p, out_r, self.dropped.lock().unwrap().clone())
    }

    /// The versions we hold.
    pub fn versions(&self) -> Versions {
        let resources = self.resources.lock().unwrap();
        let mut p: Vec<(i64, i64)> = self.policies.lock().unwrap().values().map(|p| (p.id, p.version)).collect();
        let mut r: Vec<(i64, i64)> = resources.values().map(|r| (r.id, r.version)).collect();
        p.sort();
        r.sort();
        (p, r)
    }

    /// Note what a backend's report says it holds.
    pub fn observe_report(&self, backend_id: i64, policies: &[(i64, i64)], resources: &[(i64, i64)]) {
        let (mut p, mut r) = (policies.to_vec(), resources.to_vec());
        p.sort();
        r.sort();
        self.reported.lock().unwrap().insert(backend_id, (p, r));
    }

    /// Whether the backend last reported something else than we hold (None: it never said).
    pub fn backend_differs(&self, backend_id: i64) -> Option<bool> {
        let ours = self.versions();
        self.reported.lock().unwrap().get(&backend_id).map(|theirs| *theirs != ours)
    }
}
