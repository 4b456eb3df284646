//! Backup repositories against a real local directory and a real S3 server (moto).
//!
//! The S3 tests start `moto` (`python3 -m moto.server`) themselves; it must be installed:
//! `pip install 'moto[server]'`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use doris_fe::backup::job_info::{BackupJobInfo, TabletIds};
use doris_fe::backup::meta::BackupMeta;
use doris_fe::backup::repository::{Repository, StorageKind};
use doris_fe::executor::backup::show;
use doris_fe::backup::time::{format_time, snapshot_timestamp};
use doris_fe::mysql::Value;
use doris_fe::sql::{parse, Statement};
use doris_thrift::types::TStorageBackendType;
use md5::{Digest, Md5};
use object_store::path::Path as ObjPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

fn md5_hex(b: &[u8]) -> String {
    hex::encode(Md5::digest(b))
}

fn local_repo(dir: &Path, name: &str, read_only: bool) -> Repository {
    Repository::new(1, name, read_only, format!("file://{}", dir.display()), StorageKind::Local, BTreeMap::new(), 1_700_000_000_000)
        .unwrap()
}

fn job_info(name: &str, backup_time: i64) -> Vec<u8> {
    let info = BackupJobInfo { name: name.into(), database: "db1".into(), id: 10001, backup_time, ..Default::default() };
    info.to_json().into_bytes()
}

fn meta_bytes(table: &str) -> Vec<u8> {
    let json = format!(r#"{{"doris_rs_meta_version":1,"tables":[{{"name":"{table}","id":1,"keys_type":"DUP_KEYS","columns":[],"partition":{{"kind":"UNPARTITIONED","partitions":[]}},"distribution":{{"kind":"RANDOM","buckets":1}}}}]}}"#);
    let mut out = (json.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(json.as_bytes());
    out
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

fn text(v: &Value) -> String {
    String::from_utf8(v.to_text().unwrap()).unwrap()
}

#[tokio::test]
async fn backup_repo_local_layout_and_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("backups"); // created by open()
    let mut repo = local_repo(&base, "repo1", false);
    repo.init().await.unwrap();
    let root = base.join("__palo_repository_repo1");
    let info: serde_json::Value = serde_json::from_slice(&std::fs::read(root.join("__repo_info")).unwrap()).unwrap();
    assert_eq!(info["name"], "repo1");
    assert_eq!(info["create_time"], format_time(1_700_000_000_000));
    repo.ping().await.unwrap();
    assert_eq!(repo.err_msg, None);

    // Two backups under one snapshot name.
    let ts1 = snapshot_timestamp(1_700_000_000_000);
    let ts2 = snapshot_timestamp(1_700_086_400_000);
    let (m1, i1) = (meta_bytes("t_first"), job_info("snap", 1_700_000_000_000));
    let (m2, i2) = (meta_bytes("t_second"), job_info("snap", 1_700_086_400_000));
    repo.upload_meta_and_info("snap", &ts1, &m1, &i1).await.unwrap();
    repo.upload_meta_and_info("snap", &ts2, &m2, &i2).await.unwrap();

    let ss = root.join("__ss_snap");
    let mut expected = vec![
        "__rs_meta".to_string(),
        format!("__info_{ts1}.{}", md5_hex(&i1)),
        format!("__info_{ts2}.{}", md5_hex(&i2)),
        format!("__meta.{}", md5_hex(&m2)),
    ];
    expected.sort();
    assert_eq!(files_in(&ss), expected, "upstream names, one __meta (the latest)");
    assert_eq!(std::fs::read(ss.join(format!("__meta.{}", md5_hex(&m2)))).unwrap(), m2);
    assert_eq!(
        files_in(&ss.join("__rs_meta")),
        vec![format!("__meta_{ts1}.{}", md5_hex(&m1)), format!("__meta_{ts2}.{}", md5_hex(&m2))]
    );

    // Each timestamp reads back its own meta and info.
    let (m, i) = repo.read_meta_and_info("snap", &ts1).await.unwrap();
    assert_eq!((m.as_slice(), i.as_slice()), (m1.as_slice(), i1.as_slice()));
    assert_eq!(BackupMeta::decode(&m).unwrap().tables[0].name, "t_first");
    let (m, _) = repo.read_meta_and_info("snap", &ts2).await.unwrap();
    assert_eq!(m, m2);
    assert_eq!(repo.read_job_info("snap", &ts2).await.unwrap().backup_time, 1_700_086_400_000);

    let snaps = repo.list_snapshots().await.unwrap();
    assert_eq!(snaps.len(), 1);
    assert_eq!(snaps[0].name, "snap");
    assert_eq!(snaps[0].timestamps, vec![ts1.clone(), ts2.clone()]);
    assert_eq!(snaps[0].status, "OK");
    let (_, rows) = show::snapshot_rows(&snaps);
    assert_eq!(text(&rows[0][1]), format!("{ts1}\n{ts2}"));

    // Missing timestamp: the error names what is missing.
    let e = repo.read_meta_and_info("snap", "2001-01-01-00-00-00").await.unwrap_err();
    assert_eq!(e.status_code(), doris_thrift::status::TStatusCode::SNAPSHOT_NOT_EXIST);
    assert!(e.to_string().contains("snap with timestamp 2001-01-01-00-00-00 in repository repo1"), "{e}");

    // Where BE uploads land.
    let ids = TabletIds { db_id: 10001, table_id: 10010, partition_id: 10011, index_id: 10012, tablet_id: 10013 };
    let url = repo.tablet_remote_dir("snap", &ids);
    let dir = PathBuf::from(url.strip_prefix("file://").unwrap());
    assert_eq!(dir, ss.join("__ss_content/__db_10001/__tbl_10010/__part_10011/__idx_10012/__10013"));
    let (ty, loc, props) = repo.be_location_and_props();
    assert_eq!((ty, props.is_empty()), (TStorageBackendType::LOCAL, true));
    assert_eq!(loc, format!("file://{}", base.display()));
}

#[tokio::test]
async fn backup_repo_local_checks() {
    let tmp = tempfile::tempdir().unwrap();
    let mut w = local_repo(tmp.path(), "r", false);
    w.create_time_ms = 1_600_000_000_000;
    w.init().await.unwrap();

    // Attaching again adopts the stored create time.
    let mut again = local_repo(tmp.path(), "r", false);
    again.init().await.unwrap();
    assert_eq!(again.create_time_ms, 1_600_000_000_000);

    // A read-only repository reads but never writes, and must already exist.
    let mut ro = local_repo(tmp.path(), "r", true);
    ro.init().await.unwrap();
    let e = ro.upload_meta_and_info("s", "2024-01-01-00-00-00", b"m", b"i").await.unwrap_err();
    assert_eq!(e.to_string(), "Repository r is read only");
    let mut missing = local_repo(tmp.path(), "nothing_here", true);
    let e = missing.init().await.unwrap_err();
    assert!(e.to_string().contains("read only repository nothing_here"), "{e}");
    assert!(!tmp.path().join("__palo_repository_nothing_here").exists());

    // A __repo_info naming another repository is refused with upstream's words.
    let other = tmp.path().join("__palo_repository_x");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("__repo_info"), br#"{"name":"y","create_time":"2024-01-01 00:00:00"}"#).unwrap();
    let e = local_repo(tmp.path(), "x", false).init().await.unwrap_err();
    assert!(e.to_string().starts_with("Invalid repository __repo_info, expected repo 'x', but get name 'y'"), "{e}");

    // A corrupted file is caught by its md5 suffix.
    w.upload_meta_and_info("s", "2024-01-01-00-00-00", &meta_bytes("t"), &job_info("s", 1)).await.unwrap();
    let ss = tmp.path().join("__palo_repository_r/__ss_s");
    let info_file = files_in(&ss).into_iter().find(|f| f.starts_with("__info_")).unwrap();
    std::fs::write(ss.join(&info_file), b"{\"tampered\":true}").unwrap();
    let e = w.read_meta_and_info("s", "2024-01-01-00-00-00").await.unwrap_err();
    assert!(e.to_string().contains("md5sum does not equal"), "{e}");

    // A snapshot written by a Java FE (no __rs_meta) reads its single __meta; a directory
    // without info files shows as an error row.
    let java = tmp.path().join("__palo_repository_r/__ss_java");
    std::fs::create_dir_all(&java).unwrap();
    let (m, i) = (meta_bytes("jt"), job_info("java", 2));
    std::fs::write(java.join(format!("__meta.{}", md5_hex(&m))), &m).unwrap();
    std::fs::write(java.join(format!("__info_2023-05-06-07-08-09.{}", md5_hex(&i))), &i).unwrap();
    std::fs::write(java.join("__info_2023-05-06-07-08-10.part"), b"partial").unwrap();
    let (rm, ri) = w.read_meta_and_info("java", "2023-05-06-07-08-09").await.unwrap();
    assert_eq!((rm, ri), (m, i));
    std::fs::create_dir_all(tmp.path().join("__palo_repository_r/__ss_empty/__ss_content")).unwrap();
    let snaps = w.list_snapshots().await.unwrap();
    let names: Vec<&str> = snaps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["empty", "java", "s"]);
    assert_eq!(snaps[0].status, "ERROR: No info file found");
    assert_eq!(snaps[1].timestamps, ["2023-05-06-07-08-09", "Invalid: __info_2023-05-06-07-08-10.part"]);

    // SHOW SNAPSHOT in its three forms.
    let (cols, rows) = show::show_snapshot(&w, Some("java"), Some("2023-05-06-07-08-09")).await.unwrap();
    let names: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Snapshot", "Timestamp", "Database", "Details", "Status"]);
    let row: Vec<String> = rows[0].iter().map(text).collect();
    assert_eq!((row[0].as_str(), row[2].as_str(), row[4].as_str()), ("java", "db1", "OK"));
    assert!(row[3].contains("\"name\": \"java\""), "{}", row[3]);
    let (_, rows) = show::show_snapshot(&w, Some("java"), Some("1999-01-01-00-00-00")).await.unwrap();
    assert!(text(&rows[0][4]).starts_with("Failed to get info: "));
    let (cols, rows) = show::show_snapshot(&w, Some("java"), None).await.unwrap();
    assert_eq!((cols.len(), rows.len()), (3, 1));
    assert_eq!(show::show_snapshot(&w, None, None).await.unwrap().1.len(), 3);
    assert!(show::show_snapshot(&w, None, Some("t")).await.is_err());

    // Losing __repo_info makes ping fail and SHOW REPOSITORIES show why.
    std::fs::remove_file(tmp.path().join("__palo_repository_r/__repo_info")).unwrap();
    assert!(w.ping().await.is_err());
    let (cols, rows) = show::show_repositories([&w]);
    let names: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["RepoId", "RepoName", "CreateTime", "IsReadOnly", "Location", "Broker", "Type", "ErrMsg"]);
    let row: Vec<String> = rows[0].iter().map(text).collect();
    assert_eq!(&row[..7], &["1", "r", &format_time(1_600_000_000_000), "false", &format!("file://{}", tmp.path().display()), "-", "LOCAL"]);
    assert!(row[7].contains("__repo_info") && row[7].len() > 20, "{}", row[7]);
}

#[test]
fn backup_repo_from_create_repository_statement() {
    let stmt = match parse(
        r#"CREATE READ ONLY REPOSITORY `s3r` WITH S3 ON LOCATION "s3://bkt/dir" PROPERTIES ("s3.endpoint" = "http://127.0.0.1:1", "s3.access_key" = "ak", "s3.secret_key" = "sk", "s3.region" = "us-west-2")"#,
    )
    .unwrap()
    {
        Statement::CreateRepository(c) => c,
        other => panic!("{other:?}"),
    };
    assert_eq!(stmt.storage, doris_fe::sql::RepositoryStorage::S3);
    let props = stmt.properties.iter().cloned().collect();
    let r = Repository::new(9, &stmt.name, stmt.read_only, &stmt.location, StorageKind::S3, props, 5).unwrap();
    assert_eq!((r.id, r.name.as_str(), r.read_only, r.storage), (9, "s3r", true, StorageKind::S3));
    let (_, _, props) = r.be_location_and_props();
    assert_eq!(props["AWS_REGION"], "us-west-2");
    assert_eq!(props["AWS_ENDPOINT"], "http://127.0.0.1:1");
}

// ------------------------------------------------------------------ S3 (moto)

struct Moto {
    child: Child,
    port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    fn start() -> Moto {
        let ok = Command::new("python3").args(["-c", "import moto.server"]).status().map(|s| s.success()).unwrap_or(false);
        assert!(ok, "these tests need a local S3 server: pip install 'moto[server]'");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut child = Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start moto: pip install 'moto[server]'");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut ready = Some(tx);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if line.contains("Running on") {
                    if let Some(tx) = ready.take() {
                        let _ = tx.send(());
                    }
                }
            }
        });
        let moto = Moto { child, port };
        rx.recv_timeout(Duration::from_secs(120)).expect("moto did not report it was listening");
        moto
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn create_bucket(&self, bucket: &str) {
        let resp = reqwest::Client::new().put(format!("{}/{bucket}", self.endpoint())).send().await.unwrap();
        assert!(resp.status().is_success(), "create bucket: {}", resp.status());
    }

    /// A client of its own (not the repository's) to look at what landed in the bucket.
    fn raw(&self, bucket: &str) -> object_store::aws::AmazonS3 {
        object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_region("us-east-1")
            .with_endpoint(self.endpoint())
            .with_allow_http(true)
            .with_access_key_id("testing")
            .with_secret_access_key("testing-secret")
            .build()
            .unwrap()
    }

    /// Object keys under a prefix, read straight from the server.
    async fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        use futures::TryStreamExt;
        let store = self.raw(bucket);
        let prefix = ObjPath::from(prefix);
        let mut keys: Vec<String> =
            store.list(Some(&prefix)).map_ok(|m| m.location.to_string()).try_collect().await.unwrap();
        keys.sort();
        keys
    }

    async fn object(&self, bucket: &str, key: &str) -> Vec<u8> {
        self.raw(bucket).get(&ObjPath::from(key)).await.unwrap().bytes().await.unwrap().to_vec()
    }
}

fn s3_repo(moto: &Moto, name: &str, location: &str, endpoint: String) -> Repository {
    let props = BTreeMap::from([
        ("s3.endpoint".to_string(), endpoint),
        ("s3.access_key".to_string(), "testing".to_string()),
        ("s3.secret_key".to_string(), "testing-secret".to_string()),
        ("s3.region".to_string(), "us-east-1".to_string()),
    ]);
    let _ = moto;
    Repository::new(3, name, false, location, StorageKind::S3, props, 1_700_000_000_000).unwrap()
}

#[tokio::test]
async fn backup_repo_s3_against_moto() {
    let moto = Moto::start();
    moto.create_bucket("bkt").await;
    let mut repo = s3_repo(&moto, "s3repo", "s3://bkt/team/backups", moto.endpoint());
    // Nothing there yet: ping fails and says so.
    assert!(repo.ping().await.is_err());
    assert!(repo.err_msg.is_some());
    repo.init().await.unwrap();
    repo.ping().await.unwrap();
    assert_eq!(repo.err_msg, None);

    let info_json: serde_json::Value =
        serde_json::from_slice(&moto.object("bkt", "team/backups/__palo_repository_s3repo/__repo_info").await).unwrap();
    assert_eq!(info_json["name"], "s3repo");

    let ts = snapshot_timestamp(1_700_000_000_000);
    let (m, i) = (meta_bytes("orders"), job_info("snap1", 1_700_000_000_000));
    repo.upload_meta_and_info("snap1", &ts, &m, &i).await.unwrap();

    // A BE upload lands under tablet_remote_dir; put one file there through the store.
    let ids = TabletIds { db_id: 1, table_id: 2, partition_id: 3, index_id: 4, tablet_id: 5 };
    let url = repo.tablet_remote_dir("snap1", &ids);
    let key = url.strip_prefix("s3://bkt/").unwrap().to_string();
    repo.open()
        .unwrap()
        .put(&ObjPath::from(format!("{key}/5.hdr.{}", md5_hex(b"hdr"))), PutPayload::from_static(b"hdr"))
        .await
        .unwrap();

    let keys = moto.keys("bkt", "team/backups").await;
    assert_eq!(
        keys,
        vec![
            "team/backups/__palo_repository_s3repo/__repo_info".to_string(),
            format!("team/backups/__palo_repository_s3repo/__ss_snap1/__info_{ts}.{}", md5_hex(&i)),
            format!("team/backups/__palo_repository_s3repo/__ss_snap1/__meta.{}", md5_hex(&m)),
            format!("team/backups/__palo_repository_s3repo/__ss_snap1/__rs_meta/__meta_{ts}.{}", md5_hex(&m)),
            format!(
                "team/backups/__palo_repository_s3repo/__ss_snap1/__ss_content/__db_1/__tbl_2/__part_3/__idx_4/__5/5.hdr.{}",
                md5_hex(b"hdr")
            ),
        ]
    );
    assert_eq!(moto.object("bkt", &format!("team/backups/__palo_repository_s3repo/__ss_snap1/__meta.{}", md5_hex(&m))).await, m);

    let snaps = repo.list_snapshots().await.unwrap();
    assert_eq!(snaps.len(), 1);
    assert_eq!((snaps[0].name.as_str(), snaps[0].timestamps.clone(), snaps[0].status.as_str()), ("snap1", vec![ts.clone()], "OK"));
    let (rm, ri) = repo.read_meta_and_info("snap1", &ts).await.unwrap();
    assert_eq!((rm, ri), (m, i));

    // Another FE attaching to the same bucket, endpoint written without a scheme and the
    // AWS_* spellings, sees the same repository.
    let props = BTreeMap::from([
        ("AWS_ENDPOINT".to_string(), format!("127.0.0.1:{}", moto.port)),
        ("AWS_ACCESS_KEY".to_string(), "testing".to_string()),
        ("AWS_SECRET_KEY".to_string(), "testing-secret".to_string()),
        ("AWS_REGION".to_string(), "us-east-1".to_string()),
    ]);
    let mut other = Repository::new(4, "s3repo", true, "s3://bkt/team/backups", StorageKind::S3, props, 0).unwrap();
    other.init().await.unwrap();
    assert_eq!(other.create_time_ms, 1_700_000_000_000, "create time adopted from __repo_info");
    let detail = other.read_job_info("snap1", &ts).await.unwrap();
    assert_eq!(detail.name, "snap1");
    let row: Vec<String> = show::snapshot_detail_row("snap1", &ts, Ok(&detail)).iter().map(text).collect();
    assert_eq!(row[2], "db1");
    assert_eq!(row[4], "OK");

    // What the BE gets to open the same store.
    let (ty, loc, props) = repo.be_location_and_props();
    assert_eq!(ty, TStorageBackendType::S3);
    assert_eq!(loc, "s3://bkt/team/backups");
    assert_eq!(props["AWS_ENDPOINT"], moto.endpoint());
    assert_eq!(props["AWS_ACCESS_KEY"], "testing");
    assert_eq!(props["AWS_SECRET_KEY"], "testing-secret");
    assert_eq!(props["AWS_REGION"], "us-east-1");
}

#[tokio::test]
async fn backup_repo_s3_errors_are_actionable() {
    let moto = Moto::start();
    // The bucket does not exist: init reports the failing object, no secret in the text.
    let mut repo = s3_repo(&moto, "r", "s3://no-such-bucket/x", moto.endpoint());
    let e = repo.init().await.unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("s3://no-such-bucket/x/__palo_repository_r/__repo_info"), "{msg}");
    assert!(!msg.contains("testing-secret"), "{msg}");
    moto.create_bucket("bk2").await;
    let repo = s3_repo(&moto, "r", "s3://bk2", moto.endpoint());
    let e = repo.read_meta_and_info("nope", "2024-01-01-00-00-00").await.unwrap_err();
    assert_eq!(e.status_code(), doris_thrift::status::TStatusCode::SNAPSHOT_NOT_EXIST);
    assert!(repo.list_snapshots().await.unwrap().is_empty());
}
