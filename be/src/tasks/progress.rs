//! Snapshot-load progress to the FE (`snapshotLoaderReport`); the FE's non-OK answer
//! stops the load (the job was cancelled).

use doris_thrift::types::TTaskType;

use crate::master::MasterClient;
use crate::error::Result;
use crate::pull::PullProgress;

pub struct FeProgress {
    pub master: MasterClient,
    pub job_id: i64,
    /// The task's signature (upstream's task id).
    pub task_id: i64,
    pub task_type: TTaskType,
}

#[async_trait::async_trait]
impl PullProgress for FeProgress {
    async fn report(&self, finished_num: i32, total_num: i32) -> Result<()> {
        self.master
            .snapshot_loader_report(self.job_id, self.task_id, self.task_type, finished_num, total_num)
            .await
    }
}
