//! UPLOAD and DOWNLOAD against a real S3 API: moto servers on loopback (child processes),
//! two in-process BEs and a recording FE. The tasks carry the S3 properties the FE puts in
//! `broker_prop` (AWS_ENDPOINT, AWS_ACCESS_KEY, AWS_SECRET_KEY, AWS_REGION,
//! use_path_style).
//!
//! Two servers: one that accepts any credentials for the round trip, and one that checks
//! signatures (IAM on) for the wrong secret key. moto's signature check cannot serve the
//! round trip itself: it recomputes the signature from a decoded query string, so every
//! listing with `delimiter=/` (which UPLOAD and DOWNLOAD send) fails even with the right
//! key (boto3's own listings fail the same way).
//!
//! moto is a test dependency (`pip install 'moto[server]'`, see tests/requirements.txt):
//! without it this test fails and says so, it never skips.

mod agent_support;
mod moto_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use agent_support::*;
use moto_support::*;
use doris_be::agent::{self, BeHandle};
use doris_thrift::status::TStatusCode;
use doris_thrift::types::{TStorageBackendType, TTaskType};
use md5::{Digest, Md5};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjPath;
use object_store::{ObjectStore, ObjectStoreExt};

const TOKEN: &str = "s3-cluster-token";

/// `broker_prop` as the FE builds it for an S3 repository (`be_location_and_props`).
fn s3_props(moto: &Moto, secret: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        // Without a scheme, as users usually write it; the BE takes it as plain HTTP.
        ("AWS_ENDPOINT".to_string(), format!("127.0.0.1:{}", moto.port)),
        ("AWS_ACCESS_KEY".to_string(), moto.access_key.clone()),
        ("AWS_SECRET_KEY".to_string(), secret.to_string()),
        ("AWS_REGION".to_string(), "us-east-1".to_string()),
        ("use_path_style".to_string(), "true".to_string()),
    ])
}

fn s3_upload(sig: i64, job: i64, location: &str, props: &BTreeMap<String, String>, src: &Path, dest: &str) -> doris_thrift::agent_service::TAgentTaskRequest {
    let mut t = upload_task(sig, job, location, &[(src.display().to_string(), dest.to_string())]);
    let req = t.upload_req.as_mut().unwrap();
    req.storage_backend = Some(TStorageBackendType::S3);
    req.broker_prop = Some(props.clone());
    t
}

fn s3_download(sig: i64, job: i64, location: &str, props: &BTreeMap<String, String>, src: &str, dest: &Path) -> doris_thrift::agent_service::TAgentTaskRequest {
    let mut t = repo_download_task(sig, job, location, &[(src.to_string(), dest.display().to_string())]);
    let req = t.download_req.as_mut().unwrap();
    req.storage_backend = Some(TStorageBackendType::S3);
    req.broker_prop = Some(props.clone());
    t
}

async fn be(fe: &TestFe, root: &Path, backend_id: i64) -> BeHandle {
    let be = agent::start(be_config(root)).await.unwrap();
    let r = heartbeat(&be, &master_info(fe.port(), 31, 1, TOKEN, backend_id)).await;
    assert_eq!(r.status.status_code, TStatusCode::OK);
    be
}

async fn ok_task(fe: &TestFe, be: &BeHandle, t: doris_thrift::agent_service::TAgentTaskRequest) -> doris_thrift::master_service::TFinishTaskRequest {
    let (ty, sig) = (t.task_type, t.signature);
    let r = submit(be, vec![t]).await;
    assert_eq!(r.status.status_code, TStatusCode::OK, "{}", status_text(&r.status));
    let f = fe.wait_finish(ty, sig).await;
    assert_eq!(f.task_status.status_code, TStatusCode::OK, "{}", status_text(&f.task_status));
    f
}

/// MAKE_SNAPSHOT; the tablet's snapshot dir and its listed files.
async fn snapshot(fe: &TestFe, be: &BeHandle, sig: i64, tablet_id: i64) -> (PathBuf, Vec<String>) {
    let f = ok_task(fe, be, snapshot_task(sig, tablet_id, true)).await;
    let dir = PathBuf::from(f.snapshot_path.unwrap()).join(tablet_id.to_string()).join(SCHEMA_HASH.to_string());
    (dir, f.snapshot_files.unwrap())
}

fn md5_hex(b: &[u8]) -> String {
    hex::encode(Md5::digest(b))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_to_s3_and_download_back_and_a_wrong_secret_is_refused() {
    let (moto, strict) = tokio::task::spawn_blocking(|| (start_moto(false), start_moto(true))).await.unwrap();
    let fe = TestFe::start().await;
    let (root_a, root_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = be(&fe, root_a.path(), 1).await;
    let b = be(&fe, root_b.path(), 2).await;
    let location = format!("s3://{BUCKET}/backup_repo");
    let props = s3_props(&moto, &moto.secret_key);

    // One file above the 10 MiB a single PUT takes, so it goes up in parts.
    ok_task(&fe, &a, create_task(1, 100)).await;
    let mut files = add_random_rowset(&a, 100, 1, 11 << 20, 10);
    files.extend(add_random_rowset(&a, 100, 2, 300 << 10, 20));
    let (a_dir, listed) = snapshot(&fe, &a, 2, 100).await;
    let remote_dir = format!("{location}/__palo_repository_r/__ss_l/__ss_content/__db_1/__tbl_2/__part_3/__idx_4/__100");

    let f = ok_task(&fe, &a, s3_upload(3, 88, &location, &props, &a_dir, &remote_dir)).await;
    let mut expected: Vec<String> =
        listed.iter().map(|n| format!("{n}.{}", md5_hex(&std::fs::read(a_dir.join(n)).unwrap()))).collect();
    expected.sort();
    assert_eq!(f.tablet_files.unwrap()[&100], expected, "tablet_files names every file as <file>.<md5>");

    // What is in the bucket, read with a client of our own.
    let store = AmazonS3Builder::new()
        .with_bucket_name(BUCKET)
        .with_region("us-east-1")
        .with_endpoint(format!("http://127.0.0.1:{}", moto.port))
        .with_allow_http(true)
        .with_access_key_id(&moto.access_key)
        .with_secret_access_key(&moto.secret_key)
        .build()
        .unwrap();
    let prefix = ObjPath::from("backup_repo/__palo_repository_r/__ss_l/__ss_content/__db_1/__tbl_2/__part_3/__idx_4/__100");
    let listing = store.list_with_delimiter(Some(&prefix)).await.unwrap();
    let mut keys: Vec<String> = listing.objects.iter().map(|o| o.location.filename().unwrap().to_string()).collect();
    keys.sort();
    assert_eq!(keys, expected, "the bucket holds exactly the uploaded files");
    for name in &listed {
        let local = std::fs::read(a_dir.join(name)).unwrap();
        let key = prefix.clone().join(format!("{name}.{}", md5_hex(&local)));
        let stored = store.get(&key).await.unwrap().bytes().await.unwrap();
        assert_eq!(stored.len(), local.len(), "{key}");
        assert!(stored.as_ref() == local.as_slice(), "{key} holds the local file's bytes");
    }

    // Back into tablet 300 on B, as a restore does.
    ok_task(&fe, &b, create_task(4, 300)).await;
    let (b_dir, _) = snapshot(&fe, &b, 5, 300).await;
    let f = ok_task(&fe, &b, s3_download(6, 88, &location, &props, &remote_dir, &b_dir)).await;
    assert_eq!(f.downloaded_tablet_ids, Some(vec![300]));
    for (name, bytes) in &files {
        let got = std::fs::read(b_dir.join(name)).unwrap();
        assert!(&got == bytes, "{name} downloaded byte for byte");
    }
    assert_eq!(std::fs::read(b_dir.join("300.hdr")).unwrap(), std::fs::read(a_dir.join("100.hdr")).unwrap(), "the header, renamed for the local tablet");
    assert!(!b_dir.join("100.hdr").exists());

    // A wrong secret key, against the server that checks signatures: the key pair is
    // good (our own client can write and read with it), the wrong secret is refused by
    // the store, and the tasks end at once with a clear status.
    let strict_store = |secret: &str| {
        AmazonS3Builder::new()
            .with_bucket_name(BUCKET)
            .with_region("us-east-1")
            .with_endpoint(format!("http://127.0.0.1:{}", strict.port))
            .with_allow_http(true)
            .with_access_key_id(&strict.access_key)
            .with_secret_access_key(secret)
            .build()
            .unwrap()
    };
    let probe = ObjPath::from("backup_repo/probe");
    strict_store(&strict.secret_key).put(&probe, b"ok".to_vec().into()).await.expect("the right secret is accepted");
    assert!(strict_store("not-the-secret").get(&probe).await.is_err(), "moto checks the secret");
    let wrong = s3_props(&strict, "not-the-secret");
    submit(&a, vec![s3_upload(7, 89, &location, &wrong, &a_dir, &remote_dir)]).await;
    let f = fe.wait_finish(TTaskType::UPLOAD, 7).await;
    let msg = status_text(&f.task_status);
    assert_eq!(f.task_status.status_code, TStatusCode::NOT_AUTHORIZED, "{msg}");
    assert!(msg.contains("403") && msg.contains("SignatureDoesNotMatch"), "{msg}");
    assert!(!msg.contains("not-the-secret"), "the secret is never echoed: {msg}");
    submit(&b, vec![s3_download(8, 89, &location, &wrong, &remote_dir, &b_dir)]).await;
    let f = fe.wait_finish(TTaskType::DOWNLOAD, 8).await;
    assert_eq!(f.task_status.status_code, TStatusCode::NOT_AUTHORIZED, "{}", status_text(&f.task_status));
    assert!(status_text(&f.task_status).contains("SignatureDoesNotMatch"), "{}", status_text(&f.task_status));

    a.shutdown().await;
    b.shutdown().await;
    drop(moto);
    drop(strict);
}
