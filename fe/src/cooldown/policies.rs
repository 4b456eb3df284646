//! Storage resources (S3) and storage policies: CREATE / DROP / SHOW, kept in the meta
//! store by name, and their thrift form for PUSH_STORAGE_POLICY.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use doris_thrift::agent_service::{TObjStorageType, TS3StorageParam, TStoragePolicy, TStorageResource};
use serde::{Deserialize, Serialize};

use crate::error::{FeError, Result};
use crate::mysql::{QueryOutput, Value};
use crate::persist::{MetaError, MetaStore, Named};
use crate::sql::Properties;

pub const RESOURCE_TITLES: &[&str] = &["Name", "ResourceType", "Item", "Value"];
pub const POLICY_TITLES: &[&str] =
    &["PolicyName", "Id", "Version", "Type", "StorageResource", "CooldownDatetime", "CooldownTtl", "properties"];

/// S3 resource properties we take, with the older `AWS_*` spellings upstream also accepts.
const S3_KEYS: &[(&str, &[&str])] = &[
    ("s3.endpoint", &["AWS_ENDPOINT"]),
    ("s3.region", &["AWS_REGION"]),
    ("s3.bucket", &["AWS_BUCKET"]),
    ("s3.root.path", &["AWS_ROOT_PATH"]),
    ("s3.access_key", &["AWS_ACCESS_KEY"]),
    ("s3.secret_key", &["AWS_SECRET_KEY"]),
    ("s3.session_token", &["AWS_TOKEN"]),
    ("use_path_style", &["s3.use_path_style"]),
];
const REQUIRED_S3_KEYS: &[&str] = &["s3.endpoint", "s3.region", "s3.bucket", "s3.root.path"];
const SECRET_KEYS: &[&str] = &["s3.secret_key", "s3.session_token"];

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

fn meta_err(e: MetaError) -> FeError {
    FeError::Internal(format!("meta store: {e}"))
}

/// `1d`, `2h`, `30m`, `10s` or plain seconds.
pub fn parse_ttl(v: &str) -> Option<i64> {
    let v = v.trim();
    let (num, mult) = match v.char_indices().last()? {
        (i, 'd' | 'D') => (&v[..i], 86_400),
        (i, 'h' | 'H') => (&v[..i], 3_600),
        (i, 'm' | 'M') => (&v[..i], 60),
        (i, 's' | 'S') => (&v[..i], 1),
        _ => (v, 1),
    };
    num.trim().parse::<i64>().ok().filter(|n| *n >= 0)?.checked_mul(mult)
}

/// `yyyy-MM-dd HH:mm:ss` in the FE's local time zone, as upstream reads it.
pub fn parse_datetime(v: &str) -> Option<i64> {
    let t = chrono::NaiveDateTime::parse_from_str(v.trim(), "%Y-%m-%d %H:%M:%S").ok()?;
    t.and_local_timezone(chrono::Local).single().map(|t| t.timestamp())
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

    pub fn create_resource(&self, store: &MetaStore, name: &str, if_not_exists: bool, props: &Properties) -> Result<()> {
        let mut given: BTreeMap<String, String> = BTreeMap::new();
        let mut kind = None;
        for (k, v) in props {
            if k.eq_ignore_ascii_case("type") {
                kind = Some(v.to_ascii_lowercase());
                continue;
            }
            let canonical = S3_KEYS
                .iter()
                .find(|(c, alts)| c.eq_ignore_ascii_case(k) || alts.iter().any(|a| a.eq_ignore_ascii_case(k)))
                .map(|(c, _)| *c)
                .ok_or_else(|| FeError::InvalidArgument(format!("unknown resource property '{k}'")))?;
            given.insert(canonical.to_string(), v.clone());
        }
        match kind.as_deref() {
            Some("s3") => {}
            Some(other) => return Err(FeError::not_supported(format!("resource type {other}; only s3 resources are supported"))),
            None => return Err(FeError::InvalidArgument("Resource type can't be null".into())),
        }
        if let Some(missing) = REQUIRED_S3_KEYS.iter().find(|k| given.get(**k).is_none_or(|v| v.trim().is_empty())) {
            return Err(FeError::InvalidArgument(format!("Missing [{missing}] in properties.")));
        }
        let mut resources = self.resources.lock().unwrap();
        if resources.contains_key(name) {
            if if_not_exists {
                return Ok(());
            }
            return Err(FeError::IllegalState(format!("Resource({name}) already exist")));
        }
        let r = Resource { id: store.next_id().map_err(meta_err)?, name: name.to_string(), version: 1, properties: given };
        store.put_named(Named::Resource, name, &r).map_err(meta_err)?;
        resources.insert(name.to_string(), r);
        self.changed();
        Ok(())
    }

    pub fn drop_resource(&self, store: &MetaStore, name: &str, if_exists: bool) -> Result<()> {
        let mut resources = self.resources.lock().unwrap();
        if !resources.contains_key(name) {
            return if if_exists { Ok(()) } else { Err(FeError::IllegalState(format!("Resource({name}) does not exist"))) };
        }
        if let Some(p) = self.policies.lock().unwrap().values().find(|p| p.resource == name) {
            return Err(FeError::IllegalState(format!("Resource {name} is used by storage policy {}", p.name)));
        }
        store.delete_named(Named::Resource, name).map_err(meta_err)?;
        resources.remove(name);
        self.changed();
        Ok(())
    }

    pub fn create_policy(&self, store: &MetaStore, name: &str, if_not_exists: bool, props: &Properties) -> Result<()> {
        let mut resource = None;
        let (mut datetime, mut ttl) = (None, None);
        let mut shown = BTreeMap::new();
        for (k, v) in props {
            match k.to_ascii_lowercase().as_str() {
                "storage_resource" => resource = Some(v.clone()),
                "cooldown_datetime" => {
                    datetime = Some(parse_datetime(v).ok_or_else(|| {
                        FeError::InvalidArgument(format!("cooldown_datetime format error: {v}, expected yyyy-MM-dd HH:mm:ss"))
                    })?)
                }
                "cooldown_ttl" => {
                    ttl = Some(parse_ttl(v).ok_or_else(|| {
                        FeError::InvalidArgument(format!("cooldown_ttl format error: {v}, expected seconds or a number with d, h, m or s"))
                    })?)
                }
                _ => return Err(FeError::InvalidArgument(format!("unknown storage policy property '{k}'"))),
            }
            shown.insert(k.to_ascii_lowercase(), v.clone());
        }
        let resource = resource.ok_or_else(|| FeError::InvalidArgument("Missing [storage_resource] in properties.".into()))?;
        if datetime.is_some() == ttl.is_some() {
            return Err(FeError::InvalidArgument("cooldown_datetime or cooldown_ttl must be set, and not both".into()));
        }
        if !self.resources.lock().unwrap().contains_key(&resource) {
            return Err(FeError::InvalidArgument(format!("storage resource doesn't exist: {resource}")));
        }
        let mut policies = self.policies.lock().unwrap();
        if policies.contains_key(name) {
            if if_not_exists {
                return Ok(());
            }
            return Err(FeError::IllegalState(format!("Storage policy {name} already exists")));
        }
        let p = StoragePolicy {
            id: store.next_id().map_err(meta_err)?,
            name: name.to_string(),
            version: 1,
            resource,
            cooldown_datetime: datetime,
            cooldown_ttl: ttl,
            properties: shown,
        };
        store.put_named(Named::StoragePolicy, name, &p).map_err(meta_err)?;
        policies.insert(name.to_string(), p);
        self.changed();
        Ok(())
    }

    /// `in_use`: a table that names the policy, if any.
    pub fn drop_policy(&self, store: &MetaStore, name: &str, if_exists: bool, in_use: Option<String>) -> Result<()> {
        let mut policies = self.policies.lock().unwrap();
        let Some(p) = policies.get(name).cloned() else {
            return if if_exists { Ok(()) } else { Err(FeError::IllegalState(format!("Storage policy {name} does not exist"))) };
        };
        if let Some(table) = in_use {
            return Err(FeError::IllegalState(format!("Storage policy {name} is used by table {table}")));
        }
        store.delete_named(Named::StoragePolicy, name).map_err(meta_err)?;
        policies.remove(name);
        self.dropped.lock().unwrap().push(p.id);
        self.changed();
        Ok(())
    }

    pub fn show_resources(&self) -> QueryOutput {
        let mut rows = Vec::new();
        for r in self.resources.lock().unwrap().values() {
            let mut row = |item: &str, value: &str| {
                rows.push(vec![Value::from(r.name.as_str()), "s3".into(), item.into(), value.into()]);
            };
            row("id", &r.id.to_string());
            row("version", &r.version.to_string());
            row("type", "s3");
            for (k, v) in &r.properties {
                row(k, if SECRET_KEYS.contains(&k.as_str()) { "******" } else { v });
            }
        }
        QueryOutput::text_rows(RESOURCE_TITLES, rows)
    }

    pub fn show_policies(&self) -> QueryOutput {
        let rows = self
            .policies
            .lock()
            .unwrap()
            .values()
            .map(|p| {
                let datetime = p
                    .cooldown_datetime
                    .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
                    .map(|t| t.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M:%S").to_string())
                    .unwrap_or_else(|| "-1".into());
                let props = serde_json::to_string(&p.properties).unwrap_or_default();
                vec![
                    Value::from(p.name.as_str()),
                    p.id.to_string().into(),
                    p.version.to_string().into(),
                    "STORAGE".into(),
                    p.resource.as_str().into(),
                    datetime.into(),
                    p.cooldown_ttl.map_or("-1".to_string(), |t| t.to_string()).into(),
                    props.into(),
                ]
            })
            .collect();
        QueryOutput::text_rows(POLICY_TITLES, rows)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_and_datetimes() {
        assert_eq!(parse_ttl("1d"), Some(86_400));
        assert_eq!(parse_ttl("2h"), Some(7_200));
        assert_eq!(parse_ttl("30m"), Some(1_800));
        assert_eq!(parse_ttl("10s"), Some(10));
        assert_eq!(parse_ttl("3600"), Some(3_600));
        assert_eq!(parse_ttl("0"), Some(0));
        assert_eq!(parse_ttl("-1"), None);
        assert_eq!(parse_ttl("1w"), None);
        assert_eq!(parse_ttl(""), None);
        assert!(parse_datetime("2022-06-08 00:00:00").is_some());
        assert!(parse_datetime("2022-06-08").is_none());
    }
}
