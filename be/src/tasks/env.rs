//! What a task executor runs with: the BE's shared context (storage, config, metrics,
//! HTTP client), the master FE client and the report state. No agent internals.

use std::sync::Arc;

use doris_thrift::master_service::TFinishTaskRequest;
use doris_thrift::types::TTaskType;

use crate::context::BeContext;
use crate::error::ok_status;
use crate::master::{MasterClient, ReportState};

pub struct TaskEnv {
    pub ctx: Arc<BeContext>,
    pub master: MasterClient,
    pub reports: Arc<ReportState>,
    /// Snapshot dirs a DOWNLOAD is filling (see `DirLocks`).
    pub download_dirs: DirLocks,
}

/// One writer per directory. A DOWNLOAD sent again for the same job (the FE restarted and
/// resumed the job while the first still runs here) must not write the same `.part`
/// files at the same time: the second waits, then finds the files the first brought.
#[derive(Default)]
pub struct DirLocks {
    held: dashmap::DashMap<String, Arc<tokio::sync::Mutex<()>>>,
}

/// The locks of a set of dirs; unused entries leave the map when it is dropped.
pub struct DirGuards<'a> {
    locks: &'a DirLocks,
    guards: Vec<(String, tokio::sync::OwnedMutexGuard<()>)>,
}

impl DirLocks {
    /// Lock every dir of `dirs` (in sorted order, so two callers cannot deadlock).
    pub async fn lock_all(&self, dirs: impl IntoIterator<Item = String>) -> DirGuards<'_> {
        let mut dirs: Vec<String> = dirs.into_iter().collect();
        dirs.sort();
        dirs.dedup();
        let mut guards = Vec::with_capacity(dirs.len());
        for d in dirs {
            let m = self.held.entry(d.clone()).or_default().clone();
            guards.push((d, m.lock_owned().await));
        }
        DirGuards { locks: self, guards }
    }

    pub fn len(&self) -> usize {
        self.held.len()
    }

    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }
}

impl Drop for DirGuards<'_> {
    fn drop(&mut self) {
        for (d, g) in self.guards.drain(..) {
            drop(g);
            // Only the map's own handle left: nobody holds or waits for it.
            self.locks.held.remove_if(&d, |_, m| Arc::strong_count(m) == 1);
        }
    }
}

impl TaskEnv {
    /// A finishTask with only the common fields set and an OK status; the backend is
    /// filled again just before it is sent.
    pub fn finish_request(&self, task_type: TTaskType, signature: i64) -> TFinishTaskRequest {
        TFinishTaskRequest {
            backend: self.master.backend(),
            task_type,
            signature,
            task_status: ok_status(),
            report_version: None,
            finish_tablet_infos: None,
            tablet_checksum: None,
            request_version: None,
            request_version_hash: None,
            snapshot_path: None,
            error_tablet_ids: None,
            snapshot_files: None,
            tablet_files: None,
            downloaded_tablet_ids: None,
            copy_size: None,
            copy_time_ms: None,
            succ_tablets: None,
            table_id_to_delta_num_rows: None,
            table_id_to_tablet_id_to_delta_num_rows: None,
            resp_partitions: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_writer_of_a_dir_waits_for_the_first() {
        let locks = Arc::new(DirLocks::default());
        let first = locks.lock_all(["/a".to_string(), "/b".to_string()]).await;
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        let l2 = locks.clone();
        let second = tokio::spawn(async move {
            let _g = l2.lock_all(["/b".to_string(), "/c".to_string()]).await;
            let _ = tx.send(());
        });
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(rx.try_recv().is_err(), "the second writer must wait while /b is held");
        // Another dir is free meanwhile.
        drop(locks.lock_all(["/d".to_string()]).await);
        drop(first);
        second.await.unwrap();
        assert!(rx.try_recv().is_ok());
        assert!(locks.is_empty(), "unused entries leave the map");
    }
}
