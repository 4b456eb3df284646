//! `SHOW TRANSACTION [FROM db] WHERE id = N | label = "x"`: one transaction, with
//! upstream's columns (the CCR syncer polls TransactionStatus after a PUBLISH_TIMEOUT).

use super::format::time_string;
use crate::context::Ctx;
use crate::error::FeError;
use crate::load::txn::{TxnRecord, TxnState, TxnStore};
use crate::mysql::QueryOutput;
use crate::sql::TxnFilter;

const COLUMNS: [&str; 15] = [
    "TransactionId",
    "Label",
    "Coordinator",
    "TransactionStatus",
    "LoadJobSourceType",
    "PrepareTime",
    "PreCommitTime",
    "CommitTime",
    "PublishTime",
    "FinishTime",
    "Reason",
    "ErrorReplicasCount",
    "ListenerId",
    "TimeoutMs",
    "ErrMsg",
];

pub fn show(ctx: &Ctx, txns: &TxnStore, db: &str, filter: &TxnFilter) -> Result<QueryOutput, FeError> {
    let d = ctx.catalog.database(db).ok_or_else(|| FeError::UnknownDatabase(db.to_string()))?;
    let rec = match filter {
        TxnFilter::Id(id) => txns.get(*id)?.filter(|t| t.db_id == d.id),
        TxnFilter::Label(l) => txns.by_label(d.id, l)?,
    };
    let rec = rec.ok_or_else(|| match filter {
        TxnFilter::Id(id) => FeError::IllegalState(format!("transaction with id {id} does not exist")),
        TxnFilter::Label(l) => FeError::IllegalState(format!("transaction with label {l} does not exist")),
    })?;
    Ok(QueryOutput::text_rows(&COLUMNS, vec![row(&rec)]))
}

fn row(t: &TxnRecord) -> Vec<crate::mysql::Value> {
    let publish_ms = if t.state == TxnState::Visible { t.finish_ms } else { None };
    vec![
        t.txn_id.to_string().into(),
        t.label.clone().into(),
        t.coordinator.clone().into(),
        t.state.name().into(),
        // Stream loads and the syncer's beginTxn both begin as upstream's BACKEND_STREAMING.
        "BACKEND_STREAMING".into(),
        time_string(t.create_ms).into(),
        time_string(t.precommit_ms.unwrap_or(0)).into(),
        time_string(t.commit_ms.unwrap_or(0)).into(),
        time_string(publish_ms.unwrap_or(0)).into(),
        time_string(t.finish_ms.unwrap_or(0)).into(),
        t.reason.clone().unwrap_or_default().into(),
        "0".into(),
        "-1".into(),
        (t.timeout_s.saturating_mul(1000)).to_string().into(),
        String::new().into(),
    ]
}
