//! Which BEs can take part in a job on a repository. A `file://` repository is a directory
//! the BEs themselves read and write (storage type LOCAL); only doris-rs BEs accept that. A
//! C++ BE's snapshot loader refuses LOCAL as an unknown storage type, which upstream's FE
//! would only learn when the UPLOAD or DOWNLOAD task fails mid-job; we refuse the job
//! before it starts instead.

use super::{Repository, StorageKind};
use crate::error::{FeError, Result};
use crate::system::backends::Backend;

/// What a doris-rs BE's heartbeat reports as its version.
const DORIS_RS_VERSION_PREFIX: &str = "doris-rs-";

/// Whether the BE's heartbeat says it is a doris-rs BE.
pub fn is_doris_rs(be: &Backend) -> bool {
    be.version.starts_with(DORIS_RS_VERSION_PREFIX)
}

/// Refuse a job on `repo` when one of the BEs `involved` names could not read or write it.
/// `involved` is called only for a repository that not every BE can use, as finding the
/// BEs can mean reading whole tables. A BE that has never answered a heartbeat (no version
/// yet) is not alive and gets no task, so it is not held against the job.
pub fn check_backends_can_use(repo: &Repository, involved: impl FnOnce() -> Vec<Backend>, job: &str) -> Result<()> {
    if repo.storage != StorageKind::Local {
        return Ok(());
    }
    let backends = involved();
    let mut foreign: Vec<&Backend> =
        backends.iter().filter(|b| !b.version.is_empty() && !is_doris_rs(b)).collect();
    if foreign.is_empty() {
        return Ok(());
    }
    foreign.sort_by_key(|b| b.id);
    let named: Vec<String> = foreign
        .iter()
        .map(|b| format!("{} ({}, version {})", b.id, b.heartbeat_addr(), b.version))
        .collect();
    Err(FeError::NotSupported(format!(
        "{job} on repository {}: its location {} is a local directory (storage type LOCAL), which \
         only doris-rs BEs read and write, and backend {} {} not a doris-rs BE; use an S3 repository",
        repo.name,
        repo.location,
        named.join(", "),
        if named.len() == 1 { "is" } else { "are" },
    )))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn be(id: i64, version: &str) -> Backend {
        let mut b = Backend::new(id, "127.0.0.1".into(), 9050);
        b.version = version.to_string();
        b
    }

    fn repo(location: &str, storage: StorageKind) -> Repository {
        let props = BTreeMap::from([("s3.endpoint".to_string(), "http://127.0.0.1:9000".to_string())]);
        Repository::new(1, "r", false, location, storage, props, 0).unwrap()
    }

    #[test]
    fn local_repositories_need_doris_rs_backends() {
        let file = repo("file:///backups", StorageKind::Local);
        let ours = [be(10001, "doris-rs-0.1.0"), be(10002, "doris-rs-0.1.0")];
        check_backends_can_use(&file, || ours.to_vec(), "BACKUP").unwrap();
        // Not yet heard from: no task goes there.
        check_backends_can_use(&file, || vec![be(10003, "")], "BACKUP").unwrap();
        let mixed = [be(10001, "doris-rs-0.1.0"), be(10004, "doris-3.0.3-rc01"), be(10005, "2.1.7")];
        let e = check_backends_can_use(&file, || mixed.to_vec(), "RESTORE").unwrap_err().to_string();
        assert!(e.contains("RESTORE on repository r"), "{e}");
        assert!(e.contains("backend 10004 (127.0.0.1:9050, version doris-3.0.3-rc01), 10005 (127.0.0.1:9050, version 2.1.7) are not a doris-rs BE"), "{e}");
        assert!(e.contains("use an S3 repository"), "{e}");
        // An S3 repository is read by every BE: the BEs are not even looked up.
        check_backends_can_use(&repo("s3://b/p", StorageKind::S3), || unreachable!("no BE lookup for S3"), "BACKUP").unwrap();
    }
}
