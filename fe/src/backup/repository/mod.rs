//! A backup repository over `object_store`: S3 (`s3://bucket/prefix`, any S3-compatible
//! endpoint, path-style and plain HTTP included) or a local directory (`file:///abs/dir`).
//!
//! The layout is the Java FE's, so either FE can read what the other wrote:
//!
//! ```text
//! <location>/__palo_repository_<repo>/
//!   __repo_info                                   {"name": .., "create_time": "yyyy-MM-dd HH:mm:ss"}
//!   __ss_<snapshot>/
//!     __meta.<md5>                                the meta bytes of the latest backup
//!     __info_<yyyy-MM-dd-HH-mm-ss>.<md5>          the job_info of each backup (one per timestamp)
//!     __rs_meta/__meta_<timestamp>.<md5>          doris-rs: the meta of each backup
//!     __ss_content/__db_<id>/__tbl_<id>/__part_<id>/__idx_<id>/__<tablet_id>/<file>.<md5>
//! ```
//!
//! Upstream keeps one `__meta` per snapshot name, so a second backup under the same name
//! overwrites the first one's meta; doris-rs also keeps a copy per timestamp under
//! `__rs_meta/` (a name the Java FE's `__meta*` lookup does not match) and reads that
//! first, falling back to `__meta` for backups written by a Java FE.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use md5::{Digest, Md5};
use object_store::path::Path as ObjPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};

use super::job_info::{tablet_content_path, BackupJobInfo, TabletIds};
use super::time::{format_time, now_ms, parse_time};
use crate::error::{FeError, Result};

mod peers;
mod store;
pub use peers::{check_backends_can_use, is_doris_rs};
use store::{prop, KEY_ACCESS_KEY, KEY_ENDPOINT, KEY_SECRET_KEY};
use doris_thrift::types::TStorageBackendType;

pub const PREFIX_REPO: &str = "__palo_repository_";
pub const PREFIX_SNAPSHOT_DIR: &str = "__ss_";
pub const PREFIX_JOB_INFO: &str = "__info_";
pub const FILE_REPO_INFO: &str = "__repo_info";
pub const FILE_META_INFO: &str = "__meta";
pub const DIR_SNAPSHOT_CONTENT: &str = "__ss_content";
/// doris-rs: per-timestamp copies of the meta.
pub const DIR_TIMESTAMPED_META: &str = "__rs_meta";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StorageKind {
    #[serde(rename = "S3")]
    S3,
    #[serde(rename = "LOCAL")]
    Local,
}

impl StorageKind {
    /// The SHOW REPOSITORIES `Type`.
    pub fn as_str(self) -> &'static str {
        match self {
            StorageKind::S3 => "S3",
            StorageKind::Local => "LOCAL",
        }
    }

    pub fn backend_type(self) -> TStorageBackendType {
        match self {
            StorageKind::S3 => TStorageBackendType::S3,
            StorageKind::Local => TStorageBackendType::LOCAL,
        }
    }
}

/// One snapshot of a repository as SHOW SNAPSHOT lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotEntry {
    pub name: String,
    /// The `__info_` timestamps, ascending; unreadable names as `Invalid: <file>`.
    pub timestamps: Vec<String>,
    /// `OK`, or why the snapshot is unusable.
    pub status: String,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct Repository {
    pub id: i64,
    pub name: String,
    pub create_time_ms: i64,
    pub read_only: bool,
    /// As written in CREATE REPOSITORY.
    pub location: String,
    pub storage: StorageKind,
    /// As written; may hold credentials, never logged (see `Debug`).
    pub properties: BTreeMap<String, String>,
    /// The last `ping` failure, shown by SHOW REPOSITORIES.
    #[serde(skip)]
    pub err_msg: Option<String>,
    #[serde(skip)]
    opened: OnceLock<Opened>,
}

#[derive(Clone)]
struct Opened {
    store: Arc<dyn ObjectStore>,
    /// Key prefix of `location` inside the store ("" for a local directory store).
    base: String,
}

fn is_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.contains("secret") || k.contains("password") || k.contains("token") || k.contains("access_key")
}

impl fmt::Debug for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let props: BTreeMap<&str, &str> = self
            .properties
            .iter()
            .map(|(k, v)| (k.as_str(), if is_secret(k) { "******" } else { v.as_str() }))
            .collect();
        f.debug_struct("Repository")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("read_only", &self.read_only)
            .field("location", &self.location)
            .field("storage", &self.storage)
            .field("properties", &props)
            .finish()
    }
}

pub(super) fn store_err(what: impl Into<String>, e: object_store::Error) -> FeError {
    FeError::io(what, std::io::Error::other(e.to_string()))
}

fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

/// `name.<32 hex md5>` -> (name, md5).
fn split_checksum(file: &str) -> Option<(&str, &str)> {
    let (name, sum) = file.rsplit_once('.')?;
    (sum.len() == 32 && sum.bytes().all(|b| b.is_ascii_hexdigit())).then_some((name, sum))
}

impl Repository {
    /// A repository definition, checked: the location matches the storage kind and S3
    /// repositories name an endpoint. Nothing is contacted; see [`Repository::init`].
    pub fn new(
        id: i64,
        name: impl Into<String>,
        read_only: bool,
        location: impl Into<String>,
        storage: StorageKind,
        properties: BTreeMap<String, String>,
        create_time_ms: i64,
    ) -> Result<Self> {
        let name = name.into();
        let location = location.into().trim_end_matches('/').to_string();
        if name.is_empty() {
            return Err(FeError::InvalidArgument("repository name is empty".into()));
        }
        if name == super::KEEP_ON_LOCAL_REPO_NAME {
            return Err(FeError::InvalidArgument(format!("repository name {name} is reserved")));
        }
        match storage {
            StorageKind::S3 => {
                let rest = location.strip_prefix("s3://").unwrap_or_default();
                if rest.split('/').next().unwrap_or_default().is_empty() {
                    return Err(FeError::InvalidArgument(format!(
                        "S3 repository location '{location}' must look like s3://bucket/prefix"
                    )));
                }
                if prop(&properties, KEY_ENDPOINT).is_none() {
                    return Err(FeError::InvalidArgument(format!(
                        "S3 repository {name} needs \"s3.endpoint\" (or \"AWS_ENDPOINT\") in PROPERTIES"
                    )));
                }
                if prop(&properties, KEY_ACCESS_KEY).is_some() != prop(&properties, KEY_SECRET_KEY).is_some() {
                    return Err(FeError::InvalidArgument(format!(
                        "S3 repository {name} needs both \"s3.access_key\" and \"s3.secret_key\", or neither"
                    )));
                }
            }
            StorageKind::Local => {
                let dir = location.strip_prefix("file://").unwrap_or_default();
                if !dir.starts_with('/') {
                    return Err(FeError::InvalidArgument(format!(
                        "local repository location '{location}' must look like file:///absolute/dir"
                    )));
                }
            }
        }
        Ok(Repository {
            id,
            name,
            create_time_ms,
            read_only,
            location,
            storage,
            properties,
            err_msg: None,
            opened: OnceLock::new(),
        })
    }

    fn opened(&self) -> Result<&Opened> {
        if let Some(o) = self.opened.get() {
            return Ok(o);
        }
        let (store, base) = self.build_store()?;
        Ok(self.opened.get_or_init(|| Opened { store, base }))
    }

    /// The object store holding this repository (built once, then shared).
    pub fn open(&self) -> Result<Arc<dyn ObjectStore>> {
        Ok(self.opened()?.store.clone())
    }

    /// `__palo_repository_<name>`.
    pub fn root_dir(&self) -> String {
        format!("{PREFIX_REPO}{}", self.name)
    }

    /// `__palo_repository_<name>/__ss_<snapshot>`.
    pub fn snapshot_dir(&self, snapshot: &str) -> String {
        format!("{}/{PREFIX_SNAPSHOT_DIR}{snapshot}", self.root_dir())
    }

    /// The object key of a path relative to the location.
    fn key(&self, rel: &str) -> Result<ObjPath> {
        let base = &self.opened()?.base;
        Ok(if base.is_empty() { ObjPath::from(rel) } else { ObjPath::from(format!("{base}/{rel}")) })
    }

    /// A path relative to the location, as a URL the BE opens (`s3://...`, `file:///...`).
    pub fn url(&self, rel: &str) -> String {
        format!("{}/{}", self.location, rel.trim_start_matches('/'))
    }

    /// Where a tablet's snapshot files go: the directory BE UPLOAD tasks write
    /// `<file>.<md5>` into and DOWNLOAD tasks read from, as a full URL.
    pub fn tablet_remote_dir(&self, snapshot: &str, ids: &TabletIds) -> String {
        self.url(&format!("{}/{DIR_SNAPSHOT_CONTENT}/{}", self.snapshot_dir(snapshot), tablet_content_path(ids)))
    }

    async fn get_bytes(&self, rel: &str) -> Result<Option<Bytes>> {
        let key = self.key(rel)?;
        let store = self.open()?;
        match store.get(&key).await {
            Ok(r) => Ok(Some(r.bytes().await.map_err(|e| store_err(format!("reading {}", self.url(rel)), e))?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(store_err(format!("reading {}", self.url(rel)), e)),
        }
    }

    async fn put_bytes(&self, rel: &str, bytes: Vec<u8>) -> Result<()> {
        let key = self.key(rel)?;
        self.open()?
            .put(&key, PutPayload::from(bytes))
            .await
            .map(|_| ())
            .map_err(|e| store_err(format!("writing {}", self.url(rel)), e))
    }

    /// File names directly under `dir_rel` (empty when the directory does not exist).
    async fn list_files(&self, dir_rel: &str) -> Result<Vec<String>> {
        Ok(self.list_dir(dir_rel).await?.0)
    }

    /// (files, subdirectories) directly under `dir_rel`.
    async fn list_dir(&self, dir_rel: &str) -> Result<(Vec<String>, Vec<String>)> {
        let key = self.key(dir_rel)?;
        match self.open()?.list_with_delimiter(Some(&key)).await {
            Ok(l) => Ok((
                l.objects.iter().filter_map(|o| o.location.filename().map(str::to_string)).collect(),
                l.common_prefixes.iter().filter_map(|p| p.filename().map(str::to_string)).collect(),
            )),
            Err(object_store::Error::NotFound { .. }) => Ok((vec![], vec![])),
            Err(e) => Err(store_err(format!("listing {}", self.url(dir_rel)), e)),
        }
    }

    /// Write `<dir>/<name>.<md5>`, removing other checksummed versions of `<name>`.
    async fn put_with_checksum(&self, dir_rel: &str, name: &str, bytes: &[u8]) -> Result<()> {
        let sum = md5_hex(bytes);
        let file = format!("{name}.{sum}");
        self.put_bytes(&format!("{dir_rel}/{file}"), bytes.to_vec()).await?;
        for other in self.list_files(dir_rel).await? {
            if other != file && split_checksum(&other).is_some_and(|(n, _)| n == name) {
                let key = self.key(&format!("{dir_rel}/{other}"))?;
                self.open()?.delete(&key).await.map_err(|e| store_err(format!("removing stale {other}"), e))?;
            }
        }
        Ok(())
    }

    /// Read `<dir>/<name>.<md5>` and check the md5; `None` when absent.
    async fn get_with_checksum(&self, dir_rel: &str, name: &str) -> Result<Option<Vec<u8>>> {
        let matches: Vec<(String, String)> = self
            .list_files(dir_rel)
            .await?
            .into_iter()
            .filter_map(|f| split_checksum(&f).filter(|(n, _)| *n == name).map(|(_, s)| (f.clone(), s.to_string())))
            .collect();
        let (file, sum) = match matches.as_slice() {
            [] => return Ok(None),
            [one] => one.clone(),
            more => {
                return Err(FeError::IllegalState(format!(
                    "Expected one file with path: {}. get: {}",
                    self.url(&format!("{dir_rel}/{name}")),
                    more.len()
                )))
            }
        };
        let rel = format!("{dir_rel}/{file}");
        let bytes = self.get_bytes(&rel).await?.ok_or_else(|| FeError::NotFound(self.url(&rel)))?;
        let local = md5_hex(&bytes);
        if !local.eq_ignore_ascii_case(&sum) {
            return Err(FeError::Internal(format!(
                "md5sum does not equal. local: {local}, remote: {sum} ({})",
                self.url(&rel)
            )));
        }
        Ok(Some(bytes.to_vec()))
    }

    /// Create the repository (write `__repo_info`) or attach to an existing one (read it,
    /// check its name, adopt its create time). A read-only repository is never written to
    /// and must already exist.
    pub async fn init(&mut self) -> Result<()> {
        let rel = format!("{}/{FILE_REPO_INFO}", self.root_dir());
        if let Some(bytes) = self.get_bytes(&rel).await? {
            let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
                FeError::IllegalState(format!("failed to read repo info file {}: {e}", self.url(&rel)))
            })?;
            let got = v.get("name").and_then(|n| n.as_str()).unwrap_or_default();
            if got != self.name {
                return Err(FeError::IllegalState(format!(
                    "Invalid repository __repo_info, expected repo '{}', but get name '{got}' from {}",
                    self.name,
                    self.url(&rel)
                )));
            }
            let ct = v.get("create_time").and_then(|c| c.as_str()).unwrap_or_default();
            self.create_time_ms = parse_time(ct).ok_or_else(|| {
                FeError::IllegalState(format!("failed to parse create time of repository: {ct}"))
            })?;
            return Ok(());
        }
        if self.read_only {
            return Err(FeError::NotFound(format!(
                "read only repository {}: {}; check the location, a read only repository must already hold backups",
                self.name,
                self.url(&rel)
            )));
        }
        let body = serde_json::json!({"name": self.name, "create_time": format_time(self.create_time_ms)});
        self.put_bytes(&rel, body.to_string().into_bytes()).await
    }

    /// Check the repository is reachable (its `__repo_info` is there); a failure is kept
    /// in `err_msg` for SHOW REPOSITORIES, prefixed with the time like upstream.
    pub async fn ping(&mut self) -> Result<()> {
        let rel = format!("{}/{FILE_REPO_INFO}", self.root_dir());
        let res = match self.key(&rel) {
            Ok(key) => match self.open() {
                Ok(store) => store.head(&key).await.map(|_| ()).map_err(|e| store_err(format!("checking {}", self.url(&rel)), e)),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        match &res {
            Ok(()) => self.err_msg = None,
            Err(e) => self.err_msg = Some(format!("{}: {e}", format_time(now_ms()))),
        }
        res
    }

    /// Store a finished backup's meta and job info (after the BEs uploaded the tablets).
    /// `timestamp` is the `yyyy-MM-dd-HH-mm-ss` snapshot timestamp.
    pub async fn upload_meta_and_info(&self, snapshot: &str, timestamp: &str, meta: &[u8], job_info: &[u8]) -> Result<()> {
        if self.read_only {
            return Err(FeError::IllegalState(format!("Repository {} is read only", self.name)));
        }
        let dir = self.snapshot_dir(snapshot);
        self.put_with_checksum(&format!("{dir}/{DIR_TIMESTAMPED_META}"), &format!("{FILE_META_INFO}_{timestamp}"), meta)
            .await?;
        self.put_with_checksum(&dir, FILE_META_INFO, meta).await?;
        // The info file last: its presence is what makes the backup visible.
        self.put_with_checksum(&dir, &format!("{PREFIX_JOB_INFO}{timestamp}"), job_info).await
    }

    /// The snapshots of the repository, by name, for SHOW SNAPSHOT.
    pub async fn list_snapshots(&self) -> Result<Vec<SnapshotEntry>> {
        let (_, dirs) = self.list_dir(&self.root_dir()).await.map_err(|e| {
            FeError::IllegalState(format!("Failed to list snapshot in repo: {}, err: {e}", self.name))
        })?;
        let mut names: Vec<String> =
            dirs.into_iter().filter_map(|d| d.strip_prefix(PREFIX_SNAPSHOT_DIR).map(str::to_string)).collect();
        names.sort();
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            out.push(self.snapshot_entry(&name).await);
        }
        Ok(out)
    }

    /// One snapshot's timestamps and status.
    pub async fn snapshot_entry(&self, snapshot: &str) -> SnapshotEntry {
        match self.list_files(&self.snapshot_dir(snapshot)).await {
            Err(e) => SnapshotEntry {
                name: snapshot.to_string(),
                timestamps: vec![],
                status: format!("ERROR: Failed to get info: {e}"),
            },
            Ok(files) => {
                let mut timestamps: Vec<String> = files
                    .iter()
                    .filter(|f| f.starts_with(PREFIX_JOB_INFO))
                    .map(|f| match split_checksum(f) {
                        Some((n, _)) => n[PREFIX_JOB_INFO.len()..].to_string(),
                        None => format!("Invalid: {f}"),
                    })
                    .collect();
                timestamps.sort();
                let status = if timestamps.is_empty() { "ERROR: No info file found".to_string() } else { "OK".to_string() };
                SnapshotEntry { name: snapshot.to_string(), timestamps, status }
            }
        }
    }

    /// The job info of one backup.
    pub async fn read_job_info(&self, snapshot: &str, timestamp: &str) -> Result<BackupJobInfo> {
        let bytes = self.read_info_bytes(snapshot, timestamp).await?;
        BackupJobInfo::from_json(&bytes)
    }

    async fn read_info_bytes(&self, snapshot: &str, timestamp: &str) -> Result<Vec<u8>> {
        self.get_with_checksum(&self.snapshot_dir(snapshot), &format!("{PREFIX_JOB_INFO}{timestamp}"))
            .await?
            .ok_or_else(|| {
                FeError::SnapshotNotExist(format!("{snapshot} with timestamp {timestamp} in repository {}", self.name))
            })
    }

    /// The `(meta, job_info)` bytes of one backup.
    pub async fn read_meta_and_info(&self, snapshot: &str, timestamp: &str) -> Result<(Vec<u8>, Vec<u8>)> {
        let info = self.read_info_bytes(snapshot, timestamp).await?;
        let dir = self.snapshot_dir(snapshot);
        let meta = match self
            .get_with_checksum(&format!("{dir}/{DIR_TIMESTAMPED_META}"), &format!("{FILE_META_INFO}_{timestamp}"))
            .await?
        {
            Some(m) => m,
            None => self.get_with_checksum(&dir, FILE_META_INFO).await?.ok_or_else(|| {
                FeError::NotFound(format!("the meta file of snapshot {snapshot} in repository {}", self.name))
            })?,
        };
        Ok((meta, info))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3_props() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("s3.endpoint".to_string(), "127.0.0.1:9000".to_string()),
            ("s3.access_key".to_string(), "AKID".to_string()),
            ("s3.secret_key".to_string(), "very-secret".to_string()),
        ])
    }

    #[test]
    fn validation() {
        let e = Repository::new(1, "r", false, "s3://", StorageKind::S3, s3_props(), 0).unwrap_err();
        assert!(e.to_string().contains("s3://bucket/prefix"), "{e}");
        let e = Repository::new(1, "r", false, "s3://b/p", StorageKind::S3, BTreeMap::new(), 0).unwrap_err();
        assert!(e.to_string().contains("s3.endpoint"), "{e}");
        let mut half = s3_props();
        half.remove("s3.secret_key");
        assert!(Repository::new(1, "r", false, "s3://b/p", StorageKind::S3, half, 0).is_err());
        assert!(Repository::new(1, "r", false, "file://rel/dir", StorageKind::Local, BTreeMap::new(), 0).is_err());
        assert!(Repository::new(1, "__keep_on_local__", false, "file:///x", StorageKind::Local, BTreeMap::new(), 0).is_err());
    }

    #[test]
    fn debug_hides_secrets() {
        let r = Repository::new(1, "r", false, "s3://b/p", StorageKind::S3, s3_props(), 0).unwrap();
        let d = format!("{r:?}");
        assert!(!d.contains("very-secret") && !d.contains("AKID"), "{d}");
        assert!(d.contains("127.0.0.1:9000"));
    }

    #[test]
    fn paths_and_be_props() {
        let mut props = s3_props();
        props.insert("AWS_REGION".into(), "eu-west-1".into());
        let r = Repository::new(5, "repo1", false, "s3://bkt/backups/", StorageKind::S3, props, 0).unwrap();
        let ids = TabletIds { db_id: 10001, table_id: 10010, partition_id: 10011, index_id: 10012, tablet_id: 10013 };
        assert_eq!(
            r.tablet_remote_dir("snap1", &ids),
            "s3://bkt/backups/__palo_repository_repo1/__ss_snap1/__ss_content/__db_10001/__tbl_10010/__part_10011/__idx_10012/__10013"
        );
        let (ty, loc, p) = r.be_location_and_props();
        assert_eq!(ty, TStorageBackendType::S3);
        assert_eq!(loc, "s3://bkt/backups");
        assert_eq!(p["AWS_ENDPOINT"], "127.0.0.1:9000");
        assert_eq!(p["AWS_ACCESS_KEY"], "AKID");
        assert_eq!(p["AWS_SECRET_KEY"], "very-secret");
        assert_eq!(p["AWS_REGION"], "eu-west-1");
        let l = Repository::new(6, "loc", false, "file:///tmp/x", StorageKind::Local, BTreeMap::new(), 0).unwrap();
        let (ty, loc, p) = l.be_location_and_props();
        assert_eq!((ty, loc.as_str(), p.len()), (TStorageBackendType::LOCAL, "file:///tmp/x", 0));
    }

    #[test]
    fn checksum_names() {
        assert_eq!(split_checksum("__meta.0123456789abcdef0123456789abcdef"), Some(("__meta", "0123456789abcdef0123456789abcdef")));
        assert_eq!(split_checksum("__info_2024-01-01-00-00-00.part"), None);
        assert_eq!(split_checksum("noext"), None);
    }

    #[test]
    fn persisted_form_round_trips() {
        let r = Repository::new(7, "r", true, "s3://b/p", StorageKind::S3, s3_props(), 123).unwrap();
        let json = serde_json::to_string(&r).unwrap();
        let back: Repository = serde_json::from_str(&json).unwrap();
        assert_eq!((back.id, back.name.as_str(), back.read_only, back.create_time_ms), (7, "r", true, 123));
        assert_eq!(back.properties, r.properties);
        assert_eq!(back.storage, StorageKind::S3);
    }
}
