//! Snapshots between two in-process BEs: MAKE_SNAPSHOT on A, DOWNLOAD on B from A's
//! webserver (`remote_tablet_snapshots`), MOVE on B; UPLOAD to a `file://` repository and
//! DOWNLOAD back. Real sockets, real files, a recording FE.

mod agent_support;

use std::path::{Path, PathBuf};

use agent_support::*;
use doris_be::agent::{self, BeHandle};
use doris_thrift::agent_service::TRemoteTabletSnapshot;
use doris_thrift::status::TStatusCode;
use doris_thrift::types::{TNetworkAddress, TTaskType};
use md5::{Digest, Md5};

const TOKEN: &str = "cluster-token-1";

async fn be(fe: &TestFe, root: &Path, backend_id: i64) -> BeHandle {
    let be = agent::start(be_config(root)).await.unwrap();
    let r = heartbeat(&be, &master_info(fe.port(), 21, 1, TOKEN, backend_id)).await;
    assert_eq!(r.status.status_code, TStatusCode::OK);
    be
}

async fn create(fe: &TestFe, be: &BeHandle, sig: i64, tablet_id: i64) {
    submit(be, vec![create_task(sig, tablet_id)]).await;
    let f = fe.wait_finish(TTaskType::CREATE, sig).await;
    assert_eq!(f.task_status.status_code, TStatusCode::OK, "{}", status_text(&f.task_status));
}

/// MAKE_SNAPSHOT through the agent; the tablet's snapshot dir and the listed files.
async fn snapshot(fe: &TestFe, be: &BeHandle, sig: i64, tablet_id: i64) -> (PathBuf, Vec<String>) {
    submit(be, vec![snapshot_task(sig, tablet_id, true)]).await;
    let f = fe.wait_finish(TTaskType::MAKE_SNAPSHOT, sig).await;
    assert_eq!(f.task_status.status_code, TStatusCode::OK, "{}", status_text(&f.task_status));
    let path = PathBuf::from(f.snapshot_path.unwrap());
    (path.join(tablet_id.to_string()).join(SCHEMA_HASH.to_string()), f.snapshot_files.unwrap())
}

fn md5_hex(b: &[u8]) -> String {
    hex::encode(Md5::digest(b))
}

#[tokio::test]
async fn snapshot_on_a_download_on_b_move_installs_the_rows() {
    let fe = TestFe::start().await;
    let (root_a, root_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = be(&fe, root_a.path(), 1).await;
    let b = be(&fe, root_b.path(), 2).await;

    create(&fe, &a, 1, 100).await;
    let files = add_random_rowset(&a, 100, 3, 300 * 1024, 1234);
    let (a_dir, listed) = snapshot(&fe, &a, 2, 100).await;
    let mut expected: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
    expected.push("100.hdr".into());
    expected.sort();
    assert_eq!(listed, expected, "snapshot_files lists the tablet's files and its header");
    for (name, bytes) in &files {
        assert_eq!(&std::fs::read(a_dir.join(name)).unwrap(), bytes);
    }

    // B: the local tablet and its (empty) snapshot dir the download fills, as a restore does.
    create(&fe, &b, 3, 200).await;
    let (b_dir, _) = snapshot(&fe, &b, 4, 200).await;
    let remote = TRemoteTabletSnapshot {
        local_tablet_id: Some(200),
        local_snapshot_path: Some(b_dir.display().to_string()),
        remote_tablet_id: Some(100),
        remote_be_id: Some(1),
        remote_be_addr: Some(TNetworkAddress { hostname: "127.0.0.1".into(), port: a.addrs.http.port() as i32 }),
        remote_snapshot_path: Some(a_dir.display().to_string()),
        remote_token: Some(TOKEN.into()),
    };
    submit(&b, vec![download_task(5, 77, vec![remote.clone()])]).await;
    let f = fe.wait_finish(TTaskType::DOWNLOAD, 5).await;
    assert_eq!(f.task_status.status_code, TStatusCode::OK, "{}", status_text(&f.task_status));
    assert_eq!(f.downloaded_tablet_ids, Some(vec![200]));
    assert_eq!(f.backend.id, Some(2));
    for (name, bytes) in &files {
        assert_eq!(&std::fs::read(b_dir.join(name)).unwrap(), bytes, "{name} is byte-identical on B");
    }
    assert!(b_dir.join("200.hdr").is_file(), "the header carries the local tablet id");
    assert!(!b_dir.join("100.hdr").exists());
    let reports: Vec<_> = fe.rec.loader_reports.lock().unwrap().iter().filter(|r| r.task_id == 5).cloned().collect();
    assert!(!reports.is_empty(), "the pull reported its progress");
    assert!(reports.iter().all(|r| r.job_id == 77 && r.task_type == TTaskType::DOWNLOAD));

    // A wrong token: A refuses, the task fails and says so.
    let mut bad = remote.clone();
    bad.remote_token = Some("wrong".into());
    submit(&b, vec![download_task(6, 77, vec![bad])]).await;
    let f = fe.wait_finish(TTaskType::DOWNLOAD, 6).await;
    assert_ne!(f.task_status.status_code, TStatusCode::OK);

    submit(&b, vec![move_task(7, 200, &b_dir.display().to_string(), 77)]).await;
    let f = fe.wait_finish(TTaskType::MOVE, 7).await;
    assert_eq!(f.task_status.status_code, TStatusCode::OK, "{}", status_text(&f.task_status));
    let meta = b.ctx.storage.tablet_meta(200).unwrap();
    assert_eq!(meta.num_rows(), 1234);
    assert_eq!(meta.max_version(), 2);
    assert_eq!(meta.tablet_id, 200);
    // The installed rowset's files hold A's bytes (under new rowset ids).
    let tablet_dir = b.ctx.storage.tablet_dir(200).unwrap();
    let mut installed: Vec<String> =
        meta.rowsets.iter().flat_map(|r| r.segment_files()).filter(|f| tablet_dir.join(f).is_file()).map(|f| md5_hex(&std::fs::read(tablet_dir.join(f)).unwrap())).collect();
    let mut sent: Vec<String> = files.iter().map(|(_, b)| md5_hex(b)).collect();
    installed.sort();
    sent.sort();
    assert_eq!(installed, sent);
    let rep = fe
        .wait_report("B's tablet report with the rows", |r| {
            r.backend.id == Some(2) && r.tablets.as_ref().and_then(|t| t.get(&200)).is_some_and(|t| t.tablet_infos[0].row_count == 1234)
        })
        .await;
    assert_eq!(rep.tablets.unwrap()[&200].tablet_infos[0].version, 2);
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn upload_to_a_file_repository_and_download_back() {
    let fe = TestFe::start().await;
    let (root_a, root_b, repo) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = be(&fe, root_a.path(), 1).await;
    let b = be(&fe, root_b.path(), 2).await;
    let location = format!("file://{}", repo.path().display());

    create(&fe, &a, 1, 100).await;
    let files = add_random_rowset(&a, 100, 2, 200 * 1024, 50);
    let (a_dir, listed) = snapshot(&fe, &a, 2, 100).await;
    let remote_dir = format!("{location}/__palo_repository_r/__ss_l/__ss_content/__db_1/__tbl_2/__part_3/__idx_4/__100");
    submit(&a, vec![upload_task(3, 88, &location, &[(a_dir.display().to_string(), remote_dir.clone())])]).await;
    let f = fe.wait_finish(TTaskType::UPLOAD, 3).await;
    assert_eq!(f.task_status.status_code, TStatusCode::OK, "{}", status_text(&f.task_status));
    let tablet_files = f.tablet_files.unwrap();
    let uploaded = &tablet_files[&100];
    let mut expected: Vec<String> =
        listed.iter().map(|n| format!("{n}.{}", md5_hex(&std::fs::read(a_dir.join(n)).unwrap()))).collect();
    expected.sort();
    assert_eq!(uploaded, &expected);
    let on_disk = PathBuf::from(remote_dir.strip_prefix("file://").unwrap());
    for (name, bytes) in &files {
        let stored = on_disk.join(format!("{name}.{}", md5_hex(bytes)));
        assert_eq!(&std::fs::read(&stored).unwrap(), bytes, "{} in the repository", stored.display());
    }

    // Back into tablet 300 on B.
    create(&fe, &b, 4, 300).await;
    let (b_dir, _) = snapshot(&fe, &b, 5, 300).await;
    submit(&b, vec![repo_download_task(6, 88, &location, &[(remote_dir.clone(), b_dir.display().to_string())])]).await;
    let f = fe.wait_finish(TTaskType::DOWNLOAD, 6).await;
    assert_eq!(f.task_status.status_code, TStatusCode::OK, "{}", status_text(&f.task_status));
    assert_eq!(f.downloaded_tablet_ids, Some(vec![300]));
    for (name, bytes) in &files {
        assert_eq!(&std::fs::read(b_dir.join(name)).unwrap(), bytes);
    }
    assert!(b_dir.join("300.hdr").is_file());
    assert!(!b_dir.join("100.hdr").exists());
    assert!(!std::fs::read_dir(&b_dir).unwrap().any(|e| e.unwrap().file_name().to_string_lossy().ends_with(".part")));

    // A damaged repository file is caught by its checksum and never lands.
    let (victim, _) = &files[0];
    std::fs::remove_file(b_dir.join(victim)).unwrap();
    std::fs::write(on_disk.join(format!("{victim}.{}", md5_hex(&files[0].1))), b"tampered").unwrap();
    submit(&b, vec![repo_download_task(7, 88, &location, &[(remote_dir, b_dir.display().to_string())])]).await;
    let f = fe.wait_finish(TTaskType::DOWNLOAD, 7).await;
    assert_eq!(f.task_status.status_code, TStatusCode::CORRUPTION, "{}", status_text(&f.task_status));
    assert!(status_text(&f.task_status).contains("invalid md5"), "{}", status_text(&f.task_status));
    assert!(!b_dir.join(victim).exists());

    // A source outside the storage roots is refused.
    let outside = tempfile::tempdir().unwrap();
    let src = outside.path().join("100").join(SCHEMA_HASH.to_string());
    std::fs::create_dir_all(&src).unwrap();
    submit(&a, vec![upload_task(8, 88, &location, &[(src.display().to_string(), format!("{location}/x/__100"))])]).await;
    let f = fe.wait_finish(TTaskType::UPLOAD, 8).await;
    assert_eq!(f.task_status.status_code, TStatusCode::NOT_AUTHORIZED, "{}", status_text(&f.task_status));
    a.shutdown().await;
    b.shutdown().await;
}
