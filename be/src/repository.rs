//! A backup repository as UPLOAD and DOWNLOAD see it: an object store (S3, or a local
//! `file://` directory) holding each tablet's snapshot files as `<name>.<md5>`. Cooldown
//! shares its S3 client and upload routine.
//!
//! A remote directory in `src_dest_map` is either a full URL (`s3://bucket/key`,
//! `file:///abs/dir`) or a path under the task's `location`.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use doris_thrift::types::TStorageBackendType;
use futures::StreamExt;
use md5::{Digest, Md5};
use object_store::aws::AmazonS3Builder;
use object_store::buffered::BufWriter;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjPath;
use object_store::{ObjectStore, ObjectStoreExt};
use tokio::io::AsyncWriteExt;

use crate::error::{BeError, Result};

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    S3 { bucket: String },
    Local,
}

pub struct Repository {
    store: Arc<dyn ObjectStore>,
    kind: Kind,
    /// Key prefix (S3) or absolute directory (local) of `location`.
    base: String,
}

/// A remote file: its name without the checksum suffix, md5 and size.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteFile {
    pub md5: String,
    pub size: u64,
    pub location: ObjPath,
}

fn prop<'a>(props: &'a BTreeMap<String, String>, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| props.get(*k)).map(|s| s.trim()).filter(|s| !s.is_empty())
}

fn strip_scheme<'a>(s: &'a str, schemes: &[&str]) -> Option<&'a str> {
    schemes.iter().find_map(|p| s.strip_prefix(p))
}

const S3_SCHEMES: &[&str] = &["s3://", "s3a://", "s3n://"];

/// The error and every cause under it, one line: the store's own reply (e.g. S3's
/// `SignatureDoesNotMatch`) sits at the bottom of the chain.
fn chain_text(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        if !text.contains(&t) {
            text.push_str(": ");
            text.push_str(&t);
        }
        cur = s.source();
    }
    text
}

pub(crate) fn store_err(what: &str, e: object_store::Error) -> BeError {
    let text = chain_text(&e);
    match e {
        object_store::Error::NotFound { .. } => BeError::NotFound(format!("{what}: {text}")),
        object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. } => {
            BeError::NotAuthorized(format!("{what}: {text}"))
        }
        // Listing and multipart errors come back as Generic; their status is only in the text.
        _ if text.contains("403 Forbidden") || text.contains("401 Unauthorized") => {
            BeError::NotAuthorized(format!("{what}: {text}"))
        }
        _ => BeError::Io { context: what.to_string(), source: std::io::Error::other(text) },
    }
}

/// What an S3 client is built from: a repository's properties or a storage resource.
pub(crate) struct S3Settings<'a> {
    pub bucket: &'a str,
    pub region: &'a str,
    pub access_key: Option<&'a str>,
    pub secret_key: Option<&'a str>,
    pub token: Option<&'a str>,
    /// With or without a scheme; without one it is plain HTTP, as Doris endpoints often are.
    pub endpoint: Option<&'a str>,
    /// Some(false): virtual-hosted style requests; otherwise path style.
    pub path_style: Option<bool>,
}

/// An S3 client; the error text may name a setting but never carries key values.
pub(crate) fn s3_store(s: &S3Settings<'_>) -> std::result::Result<object_store::aws::AmazonS3, String> {
    let mut b = AmazonS3Builder::new().with_bucket_name(s.bucket).with_region(s.region);
    if let Some(ak) = s.access_key {
        b = b.with_access_key_id(ak);
    }
    if let Some(sk) = s.secret_key {
        b = b.with_secret_access_key(sk);
    }
    if let Some(tok) = s.token {
        b = b.with_token(tok);
    }
    if let Some(ep) = s.endpoint {
        let ep = if ep.contains("://") { ep.to_string() } else { format!("http://{ep}") };
        b = b
            .with_allow_http(ep.starts_with("http://"))
            .with_virtual_hosted_style_request(s.path_style == Some(false))
            .with_endpoint(ep);
    }
    // A store that is down fails within a minute instead of retrying for object_store's
    // default three.
    b = b.with_retry(object_store::RetryConfig {
        max_retries: 3,
        retry_timeout: std::time::Duration::from_secs(60),
        ..Default::default()
    });
    b.build().map_err(|e| e.to_string())
}

impl Repository {
    /// `sample` is one remote directory of the task, used when `location` is absent.
    pub fn open(
        backend: Option<TStorageBackendType>,
        location: Option<&str>,
        props: Option<&BTreeMap<String, String>>,
        sample: Option<&str>,
    ) -> Result<Self> {
        let empty = BTreeMap::new();
        let props = props.unwrap_or(&empty);
        let loc = location.filter(|l| !l.is_empty()).or(sample).unwrap_or("");
        let is_s3 = backend == Some(TStorageBackendType::S3) || strip_scheme(loc, S3_SCHEMES).is_some();
        let is_local = backend == Some(TStorageBackendType::LOCAL) || loc.starts_with("file://");
        if is_s3 {
            let rest = strip_scheme(loc, S3_SCHEMES)
                .ok_or_else(|| BeError::InvalidArgument(format!("S3 location must be s3://bucket/prefix, got `{loc}`")))?;
            let (bucket, base) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(BeError::InvalidArgument(format!("S3 location without a bucket: `{loc}`")));
            }
            let store = s3_store(&S3Settings {
                bucket,
                region: prop(props, &["AWS_REGION", "s3.region"]).unwrap_or("us-east-1"),
                access_key: prop(props, &["AWS_ACCESS_KEY", "s3.access_key"]),
                secret_key: prop(props, &["AWS_SECRET_KEY", "s3.secret_key"]),
                token: prop(props, &["AWS_TOKEN", "s3.session_token"]),
                endpoint: prop(props, &["AWS_ENDPOINT", "s3.endpoint"]),
                path_style: prop(props, &["use_path_style", "s3.use_path_style"]).map(|v| v.eq_ignore_ascii_case("true")),
            })
            .map_err(|e| BeError::InvalidArgument(format!("bad S3 repository settings: {e}")))?;
            return Ok(Repository {
                store: Arc::new(store),
                kind: Kind::S3 { bucket: bucket.to_string() },
                base: base.trim_matches('/').to_string(),
            });
        }
        if is_local {
            let dir = loc.strip_prefix("file://").unwrap_or(loc);
            if !dir.is_empty() && !dir.starts_with('/') {
                return Err(BeError::InvalidArgument(format!("a local repository needs an absolute file:// path, got `{loc}`")));
            }
            return Ok(Repository {
                store: Arc::new(LocalFileSystem::new()),
                kind: Kind::Local,
                base: dir.trim_matches('/').to_string(),
            });
        }
        let name = match backend {
            Some(TStorageBackendType::BROKER) | None => "BROKER",
            Some(TStorageBackendType::HDFS) => "HDFS",
            Some(TStorageBackendType::AZURE) => "AZURE",
            Some(_) => "this",
        };
        Err(BeError::InvalidArgument(format!(
            "{name} storage backend is not supported; use an S3 or file:// repository (location `{loc}`)"
        )))
    }

    /// The object path of a remote directory given in a task.
    pub fn resolve(&self, remote_dir: &str) -> Result<ObjPath> {
        let key = match (&self.kind, strip_scheme(remote_dir, S3_SCHEMES), remote_dir.strip_prefix("file://")) {
            (Kind::S3 { bucket }, Some(rest), _) => {
                let (b, key) = rest.split_once('/').unwrap_or((rest, ""));
                if b != bucket {
                    return Err(BeError::InvalidArgument(format!(
                        "remote path `{remote_dir}` is outside the repository bucket `{bucket}`"
                    )));
                }
                key.to_string()
            }
            (Kind::Local, _, Some(abs)) => abs.to_string(),
            (Kind::Local, _, None) if remote_dir.starts_with('/') => remote_dir.to_string(),
            (_, None, None) => format!("{}/{}", self.base, remote_dir),
            _ => return Err(BeError::InvalidArgument(format!("remote path `{remote_dir}` does not match the repository"))),
        };
        ObjPath::parse(key.trim_matches('/'))
            .map_err(|e| BeError::InvalidArgument(format!("bad remote path `{remote_dir}`: {e}")))
    }

    /// Files directly under `dir` named `<name>.<md5>`, keyed by `<name>`.
    pub async fn list_with_checksum(&self, dir: &ObjPath) -> Result<BTreeMap<String, RemoteFile>> {
        let listed = match self.store.list_with_delimiter(Some(dir)).await {
            Ok(l) => l.objects,
            Err(object_store::Error::NotFound { .. }) => Vec::new(),
            Err(e) => return Err(store_err(&format!("listing {dir}"), e)),
        };
        let mut out = BTreeMap::new();
        for meta in listed {
            let Some(file) = meta.location.filename() else { continue };
            let Some((name, md5)) = file.rsplit_once('.') else { continue };
            if name.is_empty() || md5.is_empty() {
                continue;
            }
            out.insert(name.to_string(), RemoteFile { md5: md5.to_string(), size: meta.size, location: meta.location.clone() });
        }
        Ok(out)
    }

    pub fn child(dir: &ObjPath, name: &str) -> ObjPath {
        dir.clone().join(name)
    }

    /// Stream a local file to `dest` (multipart for large files).
    pub async fn upload(&self, local: &Path, dest: &ObjPath) -> Result<()> {
        upload_file(&self.store, local, dest).await
    }

    /// Fetch `src` into `dest`, checking its md5; the file appears only when complete.
    pub async fn download(&self, src: &ObjPath, dest: &Path, expected_md5: &str) -> Result<u64> {
        let tmp = part_path(dest);
        let got = self.store.get(src).await.map_err(|e| store_err(&format!("reading {src}"), e))?;
        let mut stream = got.into_stream();
        let mut out = tokio::fs::File::create(&tmp).await.map_err(|e| BeError::io(format!("create {}", tmp.display()), e))?;
        let mut md5 = Md5::new();
        let mut n = 0u64;
        let res: Result<()> = async {
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| store_err(&format!("reading {src}"), e))?;
                md5.update(&chunk);
                n += chunk.len() as u64;
                out.write_all(&chunk).await.map_err(|e| BeError::io(format!("write {}", tmp.display()), e))?;
            }
            out.sync_all().await.map_err(|e| BeError::io(format!("sync {}", tmp.display()), e))
        }
        .await;
        drop(out);
        let actual = hex::encode(md5.finalize());
        let res = res.and_then(|()| {
            if actual.eq_ignore_ascii_case(expected_md5) {
                Ok(())
            } else {
                Err(BeError::Corruption(format!(
                    "invalid md5 of downloaded file: {}, expected: {expected_md5}, get: {actual}",
                    dest.display()
                )))
            }
        });
        if let Err(e) = res {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(e);
        }
        tokio::fs::rename(&tmp, dest).await.map_err(|e| BeError::io(format!("rename to {}", dest.display()), e))?;
        Ok(n)
    }
}

/// The writer hands store errors over as io errors; a refusal of our credentials must
/// still read as one.
/// Stream a local file to `dest` in `store` (multipart for large files): repository
/// uploads and cooldown both.
pub(crate) async fn upload_file(store: &Arc<dyn ObjectStore>, local: &Path, dest: &ObjPath) -> Result<()> {
    let mut file = tokio::fs::File::open(local).await.map_err(|e| BeError::io(format!("open {}", local.display()), e))?;
    let mut w = BufWriter::new(store.clone(), dest.clone());
    let copied = tokio::io::copy(&mut file, &mut w).await;
    if let Err(e) = copied {
        let _ = w.abort().await;
        return Err(upload_err(local, dest, e));
    }
    w.shutdown().await.map_err(|e| upload_err(local, dest, e))
}

fn upload_err(local: &Path, dest: &ObjPath, e: std::io::Error) -> BeError {
    let what = format!("upload {} to {dest}", local.display());
    let text = chain_text(&e);
    if e.kind() == std::io::ErrorKind::PermissionDenied || text.contains("403 Forbidden") || text.contains("401 Unauthorized") {
        return BeError::NotAuthorized(format!("{what}: {text}"));
    }
    BeError::io(what, e)
}

/// Where a file being downloaded is written until verified.
pub fn part_path(dest: &Path) -> PathBuf {
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    dest.with_file_name(format!(".{name}.part"))
}

pub fn is_part_file(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".part")
}

/// Hex md5 of a local file.
pub async fn md5_file(path: &Path) -> Result<String> {
    let p = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut f = std::fs::File::open(&p).map_err(|e| BeError::io(format!("open {}", p.display()), e))?;
        let mut h = Md5::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = f.read(&mut buf).map_err(|e| BeError::io(format!("read {}", p.display()), e))?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        Ok(hex::encode(h.finalize()))
    })
    .await
    .map_err(|e| BeError::Internal(format!("md5 of {}: {e}", path.display())))?
}

/// Regular files directly in `dir`, sorted, without our in-progress files.
pub fn local_files(dir: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let rd = std::fs::read_dir(dir).map_err(|e| BeError::io(format!("list {}", dir.display()), e))?;
    for entry in rd {
        let entry = entry.map_err(|e| BeError::io(format!("list {}", dir.display()), e))?;
        let is_file = entry.file_type().map(|t| t.is_file()).unwrap_or(false);
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_file && !is_part_file(&name) {
            out.push(name);
        }
    }
    out.sort();
    Ok(out)
}

/// `(tablet_id, schema_hash)` from a snapshot dir `.../<tablet_id>/<schema_hash>`.
pub fn tablet_and_schema_hash(path: &str) -> Result<(i64, i32)> {
    let bad = || BeError::InvalidArgument(format!("failed to get tablet id from path: {path}"));
    let mut parts = path.trim_end_matches('/').rsplit('/');
    let schema_hash = parts.next().and_then(|s| s.parse::<i32>().ok()).ok_or_else(bad)?;
    let tablet_id = parts.next().and_then(|s| s.parse::<i64>().ok()).ok_or_else(bad)?;
    Ok((tablet_id, schema_hash))
}

/// The tablet id at the end of a repository dir (`.../__idx_3/__10005`).
pub fn remote_tablet_id(remote_dir: &str) -> Result<i64> {
    let d = remote_dir.trim_end_matches('/');
    d.rsplit_once('_')
        .and_then(|(_, id)| id.parse::<i64>().ok())
        .ok_or_else(|| BeError::InvalidArgument(format!("invalid remote file path: {remote_dir}")))
}

/// A snapshot file's local name: only the header carries the tablet id.
pub fn local_name(file: &str, local_tablet_id: i64) -> String {
    if file.ends_with(".hdr") {
        format!("{local_tablet_id}.hdr")
    } else {
        file.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_and_resolve() {
        assert_eq!(tablet_and_schema_hash("/s/snapshot/20240101.1.60/10005/123/").unwrap(), (10005, 123));
        assert!(tablet_and_schema_hash("/s/x/abc").is_err());
        assert_eq!(remote_tablet_id("s3://b/r/__tbl_1/__part_2/__idx_3/__10005").unwrap(), 10005);
        assert!(remote_tablet_id("s3://b/r/nothing").is_err());
        assert_eq!(local_name("10005.hdr", 77), "77.hdr");
        assert_eq!(local_name("0200_0.dat", 77), "0200_0.dat");
        assert_eq!(local_name("rowset_binlog_metas.pb", 77), "rowset_binlog_metas.pb");

        let local = Repository::open(Some(TStorageBackendType::LOCAL), Some("file:///tmp/repo"), None, None).unwrap();
        assert_eq!(local.resolve("file:///tmp/repo/a/b").unwrap().as_ref(), "tmp/repo/a/b");
        assert_eq!(local.resolve("a/b").unwrap().as_ref(), "tmp/repo/a/b");
        assert!(local.resolve("file:///tmp/../etc").is_err());

        let props = BTreeMap::from([
            ("AWS_ENDPOINT".to_string(), "127.0.0.1:9000".to_string()),
            ("AWS_ACCESS_KEY".to_string(), "ak".to_string()),
            ("AWS_SECRET_KEY".to_string(), "sk".to_string()),
            ("AWS_REGION".to_string(), "us-east-1".to_string()),
        ]);
        let s3 = Repository::open(Some(TStorageBackendType::S3), Some("s3://bkt/prefix"), Some(&props), None).unwrap();
        assert_eq!(s3.resolve("s3://bkt/prefix/x/__10").unwrap().as_ref(), "prefix/x/__10");
        assert_eq!(s3.resolve("x").unwrap().as_ref(), "prefix/x");
        assert!(s3.resolve("s3://other/prefix/x").is_err());
        let e = Repository::open(Some(TStorageBackendType::BROKER), Some("bos://x"), None, None).err().unwrap();
        assert!(e.to_string().contains("not supported"), "{e}");
    }
}
