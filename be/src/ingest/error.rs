//! Why an ingest was refused or failed, mapped once to Doris status codes. Refusals carry
//! upstream's texts (`txn_id is empty`, `tablet 5 not found`, ...); failures name the
//! step and the remote BE, which is what an operator needs to look at next.

use std::fmt;

use doris_thrift::status::{TStatus, TStatusCode};

use crate::error::BeError;

/// The step of an ingest that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    GetBinlogInfo,
    GetRowsetMeta,
    /// HEAD of a segment, for its size and md5.
    SegmentSize(u32),
    /// The free-space check before anything is written.
    Space,
    GetSegmentFile(u32),
    /// Adding the pending rowset to the local tablet.
    Commit,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::GetBinlogInfo => f.write_str("get_binlog_info"),
            Step::GetRowsetMeta => f.write_str("get_rowset_meta"),
            Step::SegmentSize(i) => write!(f, "get_segment_file (size of segment {i})"),
            // Upstream's refusal reads "no enough space"; operators grep for it.
            Step::Space => f.write_str("the free space check (no enough space)"),
            Step::GetSegmentFile(i) => write!(f, "get_segment_file (segment {i})"),
            Step::Commit => f.write_str("commit of the pending rowset"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("enable feature binlog is false")]
    Disabled,
    /// A required request field is not set (upstream's text).
    #[error("{0} is empty")]
    Missing(&'static str),
    #[error("tablet {0} not found")]
    TabletMissing(i64),
    #[error("tablet {tablet_id} already has a pending rowset of txn {txn_id} for partition {held_partition}, not {partition_id}")]
    TxnConflict { tablet_id: i64, txn_id: i64, partition_id: i64, held_partition: i64 },
    /// The remote BE could not be asked, or refused.
    #[error("ingest binlog failed at {step} from {remote}: {source}")]
    Remote { step: Step, remote: String, source: BeError },
    /// The remote answered something we cannot use.
    #[error("ingest binlog failed at {step} from {remote}: {detail}")]
    BadAnswer { step: Step, remote: String, detail: String },
    #[error(
        "ingest binlog from {remote}: the remote rowset's tablet {remote_tablet_id} has key columns {remote_keys:?}, \
         local tablet {tablet_id} has {local_keys:?}; the tables differ"
    )]
    Schema { remote: String, remote_tablet_id: i64, remote_keys: Vec<String>, tablet_id: i64, local_keys: Vec<String> },
    /// Local work (capacity, files, the tablet meta) failed.
    #[error("ingest binlog from {remote} failed at {step}: {source}")]
    Local { step: Step, remote: String, source: BeError },
}

impl IngestError {
    pub fn code(&self) -> TStatusCode {
        match self {
            IngestError::Disabled => TStatusCode::RUNTIME_ERROR,
            IngestError::Missing(_) => TStatusCode::ANALYSIS_ERROR,
            IngestError::TabletMissing(_) => TStatusCode::TABLET_MISSING,
            IngestError::TxnConflict { .. } => TStatusCode::ALREADY_EXIST,
            IngestError::Remote { source, .. } | IngestError::Local { source, .. } => source.code(),
            IngestError::BadAnswer { .. } => TStatusCode::RUNTIME_ERROR,
            IngestError::Schema { .. } => TStatusCode::INVALID_ARGUMENT,
        }
    }

    pub fn to_status(&self) -> TStatus {
        TStatus { status_code: self.code(), error_msgs: Some(vec![self.to_string()]) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_carry_upstream_texts_and_codes() {
        let s = IngestError::Missing("txn_id").to_status();
        assert_eq!(s.status_code, TStatusCode::ANALYSIS_ERROR);
        assert_eq!(s.error_msgs, Some(vec!["txn_id is empty".to_string()]));
        assert_eq!(IngestError::Disabled.to_string(), "enable feature binlog is false");
        assert_eq!(IngestError::TabletMissing(5).code(), TStatusCode::TABLET_MISSING);
        let e = IngestError::Remote {
            step: Step::GetSegmentFile(2),
            remote: "10.0.0.1:8040".into(),
            source: BeError::Http("connection refused".into()),
        };
        assert_eq!(e.code(), TStatusCode::HTTP_ERROR);
        assert_eq!(
            e.to_string(),
            "ingest binlog failed at get_segment_file (segment 2) from 10.0.0.1:8040: http error: connection refused"
        );
    }
}
