//! CCR incremental sync on the BE: applying an UPSERT binlog's rowset to a target replica.
//!
//! - `source`: what a source BE serves for it (`GET /api/_binlog/_download`, in `http::binlog`).
//! - `Ingests` (here): BackendService `ingest_binlog` and `query_ingest_binlog` on the
//!   target: validate, start the work in the background, say how it is going.
//! - `fetch`: the work: binlog info, rowset meta, segments, pending rowset.
//! - `registry`: ingests by (txn, partition, tablet) with their progress.
//!
//! The txn's rowset becomes visible when the target FE commits the txn and sends
//! PUBLISH_VERSION, exactly as after a stream load.

pub mod error;
pub mod fetch;
pub mod registry;
pub mod source;

use std::sync::Arc;

use doris_thrift::backend_service::{TIngestBinlogRequest, TQueryIngestBinlogRequest};
use tracing::{info, info_span, warn, Instrument};

use crate::context::BeContext;
use crate::storage::TabletMeta;
pub use error::{IngestError, Step};
use registry::{Begin, IngestKey, Progress, Registry};

/// A validated `TIngestBinlogRequest`.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestRequest {
    pub txn_id: i64,
    pub remote_tablet_id: i64,
    pub binlog_version: i64,
    pub remote_host: String,
    /// The source BE's webserver port, as the syncer sends it (a string).
    pub remote_port: String,
    pub partition_id: i64,
    pub local_tablet_id: i64,
    pub load_id: (i64, i64),
}

impl TryFrom<&TIngestBinlogRequest> for IngestRequest {
    type Error = IngestError;

    /// Upstream's checks, in its order and with its texts. Empty host or port strings
    /// count as missing too: nothing could be fetched with them.
    fn try_from(r: &TIngestBinlogRequest) -> Result<Self, IngestError> {
        use IngestError::Missing;
        let txn_id = r.txn_id.ok_or(Missing("txn_id"))?;
        let remote_tablet_id = r.remote_tablet_id.ok_or(Missing("remote_tablet_id"))?;
        let binlog_version = r.binlog_version.ok_or(Missing("binlog_version"))?;
        let remote_host = r.remote_host.clone().filter(|h| !h.trim().is_empty()).ok_or(Missing("remote_host"))?;
        let remote_port = r.remote_port.clone().filter(|p| !p.trim().is_empty()).ok_or(Missing("remote_port"))?;
        let partition_id = r.partition_id.ok_or(Missing("partition_id"))?;
        let local_tablet_id = r.local_tablet_id.ok_or(Missing("local_tablet_id"))?;
        let load_id = r.load_id.as_ref().map(|l| (l.hi, l.lo)).ok_or(Missing("load_id"))?;
        let (remote_host, remote_port) = (remote_host.trim().to_string(), remote_port.trim().to_string());
        Ok(IngestRequest { txn_id, remote_tablet_id, binlog_version, remote_host, remote_port, partition_id, local_tablet_id, load_id })
    }
}

/// What `ingest_binlog` did with an accepted request (all answered OK, `is_async`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submitted {
    Started,
    /// The same ingest is running: left alone.
    AlreadyRunning,
    /// The tablet already holds the txn's rowset: nothing to do.
    AlreadyDone,
}

/// `query_ingest_binlog`'s answer, before it is put on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryStatus {
    AnalysisError,
    NotFound,
    Doing,
    Ok,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryAnswer {
    pub status: QueryStatus,
    pub err_msg: Option<String>,
}

impl QueryAnswer {
    fn new(status: QueryStatus, err_msg: Option<String>) -> Self {
        QueryAnswer { status, err_msg }
    }
}

/// What a tablet's meta says about a txn.
enum TxnInTablet {
    /// Its rowset is pending in this partition, or already published.
    Done,
    /// Pending for another partition: a conflicting request.
    OtherPartition(i64),
    Absent,
}

fn txn_in_tablet(meta: &TabletMeta, txn_id: i64, partition_id: i64) -> TxnInTablet {
    let pending = meta.pending.iter().find(|p| p.txn_id == txn_id);
    match pending {
        Some(p) if p.partition_id == partition_id => TxnInTablet::Done,
        Some(p) => TxnInTablet::OtherPartition(p.partition_id),
        None if meta.rowsets.iter().any(|r| r.txn_id == Some(txn_id)) => TxnInTablet::Done,
        None => TxnInTablet::Absent,
    }
}

/// The ingests of this BE.
pub struct Ingests {
    ctx: Arc<BeContext>,
    registry: Registry,
    limits: fetch::Limits,
}

impl Ingests {
    pub fn new(ctx: Arc<BeContext>) -> Arc<Self> {
        let limits = fetch::Limits::new(&ctx);
        Arc::new(Ingests { ctx, registry: Registry::default(), limits })
    }

    /// `ingest_binlog`: check the request and start the work in the background. A second
    /// call for a replica whose ingest succeeded (or runs) changes nothing; one whose
    /// ingest failed starts it again.
    pub fn submit(self: &Arc<Self>, req: &TIngestBinlogRequest) -> Result<Submitted, IngestError> {
        if !self.ctx.config.enable_feature_binlog {
            return Err(IngestError::Disabled);
        }
        let r = IngestRequest::try_from(req)?;
        let (txn_id, tablet_id, partition_id) = (r.txn_id, r.local_tablet_id, r.partition_id);
        let meta = self.ctx.storage.tablet_meta(tablet_id).ok_or(IngestError::TabletMissing(tablet_id))?;
        match txn_in_tablet(&meta, txn_id, partition_id) {
            TxnInTablet::Done => {
                info!(txn_id, tablet_id, partition_id, "ingest_binlog: the tablet already holds the txn's rowset");
                return Ok(Submitted::AlreadyDone);
            }
            TxnInTablet::OtherPartition(held_partition) => {
                return Err(IngestError::TxnConflict { tablet_id, txn_id, partition_id, held_partition })
            }
            TxnInTablet::Absent => {}
        }
        let key = IngestKey { txn_id, partition_id, tablet_id };
        if self.registry.begin(key, r.load_id) == Begin::Running {
            info!(txn_id, tablet_id, "ingest_binlog: already running");
            return Ok(Submitted::AlreadyRunning);
        }
        let span = info_span!(
            "ingest_binlog",
            txn_id,
            tablet_id,
            partition_id,
            remote_tablet_id = r.remote_tablet_id,
            binlog_version = r.binlog_version,
            remote = %format!("{}:{}", r.remote_host, r.remote_port),
        );
        let this = self.clone();
        tokio::spawn(
            async move {
                info!("ingest started");
                let out = fetch::run(&this.ctx, &this.limits, &r).await;
                match &out {
                    Ok(()) => info!("ingest done"),
                    Err(e) => warn!(error = %e, "ingest failed"),
                }
                this.registry.finish(key, out.map_err(|e| e.to_string()));
            }
            .instrument(span),
        );
        Ok(Submitted::Started)
    }

    /// `query_ingest_binlog`: upstream's answers (ANALYSIS_ERROR for a bad request,
    /// NOT_FOUND for an unknown tablet or ingest, DOING, OK, FAILED with the reason).
    pub fn query(&self, req: &TQueryIngestBinlogRequest) -> QueryAnswer {
        let missing = |f: &str| QueryAnswer::new(QueryStatus::AnalysisError, Some(format!("{f} is empty")));
        let (Some(txn_id), Some(partition_id), Some(tablet_id)) = (req.txn_id, req.partition_id, req.tablet_id) else {
            let field = if req.txn_id.is_none() {
                "txn_id"
            } else if req.partition_id.is_none() {
                "partition_id"
            } else {
                "tablet_id"
            };
            return missing(field);
        };
        if req.load_id.is_none() {
            return missing("load_id");
        }
        let Some(meta) = self.ctx.storage.tablet_meta(tablet_id) else {
            return QueryAnswer::new(QueryStatus::NotFound, Some(format!("tablet {tablet_id} not found")));
        };
        let key = IngestKey { txn_id, partition_id, tablet_id };
        let progress = self.registry.get(&key);
        if progress == Some(Progress::Doing) {
            return QueryAnswer::new(QueryStatus::Doing, None);
        }
        // The tablet meta is the truth for a done ingest: it survives restarts, and a
        // rowset the load GC dropped since (the txn was aborted) is no longer done.
        if matches!(txn_in_tablet(&meta, txn_id, partition_id), TxnInTablet::Done) {
            return QueryAnswer::new(QueryStatus::Ok, None);
        }
        match progress {
            Some(Progress::Failed(m)) => QueryAnswer::new(QueryStatus::Failed, Some(m)),
            _ => QueryAnswer::new(
                QueryStatus::NotFound,
                Some(format!("no ingest of txn {txn_id} into tablet {tablet_id} (partition {partition_id})")),
            ),
        }
    }
}
