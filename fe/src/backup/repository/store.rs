//! Opening a repository's store: the `object_store` client for its S3 bucket or local
//! directory, and the properties a BE's UPLOAD/DOWNLOAD task opens the same store with.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use doris_thrift::types::TStorageBackendType;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::{ObjectStore, RetryConfig};

use super::{store_err, Repository, StorageKind};
use crate::error::{FeError, Result};

/// Property keys, Doris spelling first, then the AWS_* spelling the BE takes.
pub(super) const KEY_ENDPOINT: &[&str] = &["s3.endpoint", "AWS_ENDPOINT"];
pub(super) const KEY_ACCESS_KEY: &[&str] = &["s3.access_key", "AWS_ACCESS_KEY"];
pub(super) const KEY_SECRET_KEY: &[&str] = &["s3.secret_key", "AWS_SECRET_KEY"];
pub(super) const KEY_REGION: &[&str] = &["s3.region", "AWS_REGION"];
pub(super) const KEY_TOKEN: &[&str] = &["s3.session_token", "AWS_TOKEN"];
pub(super) const KEY_PATH_STYLE: &[&str] = &["use_path_style", "s3.use_path_style"];
pub(super) const DEFAULT_REGION: &str = "us-east-1";

pub(super) fn prop<'a>(props: &'a BTreeMap<String, String>, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| props.get(*k)).map(|s| s.trim()).filter(|s| !s.is_empty())
}

impl Repository {
    pub(super) fn build_store(&self) -> Result<(Arc<dyn ObjectStore>, String)> {
        match self.storage {
            StorageKind::S3 => {
                let rest = self.location.strip_prefix("s3://").unwrap_or_default();
                let (bucket, base) = rest.split_once('/').unwrap_or((rest, ""));
                let p = &self.properties;
                let endpoint = prop(p, KEY_ENDPOINT).unwrap_or_default();
                // Doris endpoints are often written without a scheme; those are plain HTTP.
                let endpoint =
                    if endpoint.contains("://") { endpoint.to_string() } else { format!("http://{endpoint}") };
                // Path-style unless told otherwise: what S3-compatible servers need.
                let virtual_hosted = prop(p, KEY_PATH_STYLE).is_some_and(|v| v.eq_ignore_ascii_case("false"));
                let retry = RetryConfig { max_retries: 3, retry_timeout: Duration::from_secs(30), ..Default::default() };
                let mut b = AmazonS3Builder::new()
                    .with_bucket_name(bucket)
                    .with_region(prop(p, KEY_REGION).unwrap_or(DEFAULT_REGION))
                    .with_allow_http(endpoint.starts_with("http://"))
                    .with_virtual_hosted_style_request(virtual_hosted)
                    .with_endpoint(endpoint)
                    .with_retry(retry);
                match (prop(p, KEY_ACCESS_KEY), prop(p, KEY_SECRET_KEY)) {
                    (Some(ak), Some(sk)) => b = b.with_access_key_id(ak).with_secret_access_key(sk),
                    _ => b = b.with_skip_signature(true),
                }
                if let Some(t) = prop(p, KEY_TOKEN) {
                    b = b.with_token(t);
                }
                // The builder's errors name settings, never their values.
                let store = b.build().map_err(|e| {
                    FeError::InvalidArgument(format!("repository {}: bad S3 settings: {e}", self.name))
                })?;
                Ok((Arc::new(store), base.trim_matches('/').to_string()))
            }
            StorageKind::Local => {
                let dir = self.location.strip_prefix("file://").unwrap_or_default();
                std::fs::create_dir_all(dir)
                    .map_err(|e| FeError::io(format!("creating the directory of repository {} ({dir})", self.name), e))?;
                let store = LocalFileSystem::new_with_prefix(dir).map_err(|e| {
                    store_err(format!("opening the directory of repository {} ({dir})", self.name), e)
                })?;
                Ok((Arc::new(store), String::new()))
            }
        }
    }

    /// What a BE UPLOAD/DOWNLOAD task needs to open the same store: storage backend,
    /// location and `broker_prop` (`AWS_ENDPOINT`, `AWS_ACCESS_KEY`, `AWS_SECRET_KEY`,
    /// `AWS_REGION`, ...). The map holds credentials: do not log it.
    pub fn be_location_and_props(&self) -> (TStorageBackendType, String, BTreeMap<String, String>) {
        let mut out = BTreeMap::new();
        if self.storage == StorageKind::S3 {
            let p = &self.properties;
            let mut put = |k: &str, keys: &[&str]| {
                if let Some(v) = prop(p, keys) {
                    out.insert(k.to_string(), v.to_string());
                }
            };
            put("AWS_ENDPOINT", KEY_ENDPOINT);
            put("AWS_ACCESS_KEY", KEY_ACCESS_KEY);
            put("AWS_SECRET_KEY", KEY_SECRET_KEY);
            put("AWS_TOKEN", KEY_TOKEN);
            put("use_path_style", KEY_PATH_STYLE);
            out.insert("AWS_REGION".into(), prop(p, KEY_REGION).unwrap_or(DEFAULT_REGION).to_string());
        }
        (self.storage.backend_type(), self.location.clone(), out)
    }

}
