//! PUSH_STORAGE_POLICY: adopt the storage policies and resources the FE pushes (newer
//! versions only), forget dropped policies. As upstream, the FE gets no finishTask: it
//! sees the (id, version) pairs in the next tablet report and pushes again on a mismatch.

use doris_thrift::agent_service::{TPushStoragePolicyReq, TS3StorageParam, TStoragePolicy, TStorageResource};
use tracing::{info, warn};

use super::{blocking, TaskEnv};
use crate::storage::policy::PolicyPush;
use crate::storage::{ResourceKind, S3Resource, StoragePolicy, StorageResource};

pub async fn run(env: &TaskEnv, req: TPushStoragePolicyReq) {
    let storage = env.ctx.storage.clone();
    let push = policy_push(&req);
    match blocking(move || storage.push_storage_policy(&push)).await {
        Ok(out) => {
            for why in &out.invalid {
                warn!(reason = %why, "storage policy entry refused");
            }
            info!(
                resources = ?out.resources_updated,
                policies = ?out.policies_updated,
                dropped = ?out.policies_dropped,
                stale = out.stale,
                refused = out.invalid.len(),
                "storage policies pushed"
            );
            if out.changed() {
                // Let the FE see the new versions without waiting a whole report interval.
                env.reports.trigger();
            }
        }
        Err(e) => warn!(error = %e, "storage policies not applied"),
    }
}

/// The push as storage applies it; entries that cannot be used carry why.
pub fn policy_push(req: &TPushStoragePolicyReq) -> PolicyPush {
    PolicyPush {
        resources: req.resource.iter().flatten().map(|r| resource_from_thrift(r)).collect(),
        dropped: req.dropped_storage_policy.clone().unwrap_or_default(),
        policies: req.storage_policy.iter().flatten().map(|p| policy_from_thrift(p)).collect(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::PolicySet;
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
        let out = set.apply(&policy_push(&push(vec![policy(1, 1, 10), policy(2, 1, 10)], vec![s3(10, 1, Some("sk"))], vec![])));
        assert_eq!(out.resources_updated, vec![10]);
        assert_eq!(out.policies_updated, vec![1, 2]);
        let (p, r) = set.resolve(1).unwrap();
        assert_eq!(p.cooldown_datetime, Some(1_700_000_000));
        let ResourceKind::S3(s) = &r.kind else { panic!("s3 expected") };
        assert_eq!((s.bucket.as_str(), s.root_path.as_str(), s.region.as_str(), s.use_path_style, s.max_conn), ("bkt", "cold", "us-west-2", true, 50));
        assert!(!format!("{s:?}").contains("sk\""), "Debug hides the secret");

        // Same version again: stale. A resource without its secret: refused, old one kept.
        let out = set.apply(&policy_push(&push(vec![policy(1, 1, 11)], vec![s3(10, 2, None)], vec![2])));
        assert_eq!(out.stale, 1);
        assert_eq!(out.invalid.len(), 1, "{:?}", out.invalid);
        assert_eq!(out.policies_dropped, vec![2]);
        assert_eq!(set.resources[&10].version, 1);
        assert_eq!(set.policy_versions(), vec![(1, 1)]);
        assert_eq!(set.resolve(1).unwrap().0.resource_id, 10);

        // A policy pointing at an unknown resource is kept but does not resolve.
        set.apply(&policy_push(&push(vec![policy(1, 2, 99)], vec![], vec![])));
        let e = set.resolve(1).unwrap_err();
        assert_eq!(e.to_string(), "not found: could not find resource, resource_id=99");
        let e = set.resolve(5).unwrap_err();
        assert!(e.to_string().contains("could not find storage_policy, storage_policy_id=5"), "{e}");

        let again = PolicySet::decode(&set.encode().unwrap()).unwrap();
        assert_eq!(again, set);
    }
}
