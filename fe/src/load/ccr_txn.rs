//! beginTxn / commitTxn / rollbackTxn: the transactions a CCR syncer drives on the target
//! cluster to apply an UPSERT binlog. beginTxn opens a transaction over the target tables,
//! the target BEs ingest the source's rowsets into it (ingest_binlog), commitTxn checks the
//! replicas written and publishes as a stream load's commit does. Upstream's messages,
//! which the syncer matches, are kept (`commit::TxnError`).

use doris_thrift::frontend_service::*;
use doris_thrift::status::TStatusCode;
use tracing::info;

use super::commit::{self, AbortedAgain};
use super::rpc::{check_load, check_user, commit_status, status};
use super::txn::{TxnRecord, TxnState, DEFAULT_TIMEOUT_S};
use super::Loads;
use crate::catalog::Database;
use crate::context::FeContext;
use crate::error::{ok_status, FeError};

/// Upstream's refusals of a malformed request.
fn missing(what: &str) -> FeError {
    FeError::InvalidArgument(format!("{what} is not set"))
}

/// The caller, and LOAD_PRIV on the request's database (named by id or name; a request
/// naming none is refused later as malformed).
fn auth(
    ctx: &Loads,
    user: Option<&str>,
    passwd: Option<&str>,
    token: Option<&str>,
    db: Option<&str>,
    db_id: Option<i64>,
) -> Result<(), FeError> {
    match database(ctx, db, db_id) {
        Ok(d) => check_load(ctx, user.unwrap_or_default(), passwd.unwrap_or_default(), token, &crate::auth::Scope::db(&d.name)),
        Err(_) => check_user(ctx, user.unwrap_or_default(), passwd.unwrap_or_default(), token),
    }
}

/// The database a request names (by id when given, as upstream prefers it).
fn database(ctx: &Loads, db: Option<&str>, db_id: Option<i64>) -> Result<Database, FeError> {
    let found = match (db_id.filter(|id| *id > 0), db.filter(|d| !d.is_empty())) {
        (Some(id), _) => ctx.catalog.database_by_id(id),
        (None, Some(name)) => ctx.catalog.database(name),
        (None, None) => return Err(missing("db")),
    };
    found.ok_or_else(|| {
        FeError::UnknownDatabase(db.map(str::to_string).unwrap_or_else(|| db_id.unwrap_or_default().to_string()))
    })
}

pub async fn begin_txn(ctx: &Loads, req: TBeginTxnRequest) -> TBeginTxnResult {
    let mut out = TBeginTxnResult::default();
    match begin_inner(ctx, &req) {
        Ok(Ok(rec)) => {
            info!(txn_id = rec.txn_id, label = %rec.label, tables = ?rec.table_ids, "CCR transaction begun");
            out.status = Some(ok_status());
            out.txn_id = Some(rec.txn_id);
            out.db_id = Some(rec.db_id);
        }
        Ok(Err(old)) => {
            out.status = Some(status(
                TStatusCode::LABEL_ALREADY_EXISTS,
                format!("Label [{}] has already been used, relate to txn [{}]", old.label, old.txn_id),
            ));
            out.job_status = Some(if old.state == TxnState::Visible { "FINISHED" } else { "RUNNING" }.to_string());
            out.db_id = Some(old.db_id);
        }
        Err(e) => out.status = Some(e.to_status()),
    }
    out
}

fn begin_inner(ctx: &Loads, req: &TBeginTxnRequest) -> Result<Result<TxnRecord, TxnRecord>, FeError> {
    auth(ctx, req.user.as_deref(), req.passwd.as_deref(), req.token.as_deref(), req.db.as_deref(), None)?;
    let label = req.label.as_deref().filter(|l| !l.is_empty()).ok_or_else(|| missing("label"))?;
    if label.len() > 128 {
        return Err(FeError::InvalidArgument(format!("invalid label '{label}'")));
    }
    let db = database(ctx, req.db.as_deref(), None)?;
    let mut table_ids = req.table_ids.clone().filter(|t| !t.is_empty()).ok_or_else(|| missing("table ids"))?;
    table_ids.sort_unstable();
    table_ids.dedup();
    for id in &table_ids {
        let t = ctx
            .catalog
            .table_by_id(*id)
            .filter(|t| t.db_id == db.id)
            .ok_or_else(|| FeError::IllegalState(format!("unknown table, tableId={id}")))?;
        if let Some(why) = t.load_refusal(&[]) {
            return Err(FeError::IllegalState(why));
        }
    }
    let rec = TxnRecord {
        txn_id: ctx.store.next_id()?,
        db_id: db.id,
        table_ids,
        label: label.to_string(),
        state: TxnState::Prepare,
        create_ms: FeContext::now_ms(),
        commit_ms: None,
        precommit_ms: None,
        published: Vec::new(),
        written: Vec::new(),
        finish_ms: None,
        reason: None,
        coordinator: super::txn::coordinator(req.user_ip.as_deref()),
        partition_versions: Vec::new(),
        timeout_s: req.timeout.filter(|t| *t > 0).unwrap_or(DEFAULT_TIMEOUT_S),
    };
    ctx.txns.begin(rec)
}

pub async fn commit_txn(ctx: &Loads, req: TCommitTxnRequest) -> TCommitTxnResult {
    let txn_id = req.txn_id.unwrap_or_default();
    let r = async {
        auth(ctx, req.user.as_deref(), req.passwd.as_deref(), req.token.as_deref(), req.db.as_deref(), req.db_id)?;
        let txn_id = req.txn_id.ok_or_else(|| missing("txn_id"))?;
        let infos = req.commit_infos.as_ref().ok_or_else(|| missing("commit_infos"))?;
        let db = database(ctx, req.db.as_deref(), req.db_id)?;
        let written: Vec<(i64, i64)> = infos.iter().map(|c| (c.tablet_id, c.backend_id)).collect();
        commit::commit(ctx, txn_id, Some((db.id, &db.name)), &written).await
    }
    .await;
    TCommitTxnResult { status: Some(commit_status(txn_id, r)), ..Default::default() }
}

pub async fn rollback_txn(ctx: &Loads, req: TRollbackTxnRequest) -> TRollbackTxnResult {
    let r = (|| {
        auth(ctx, req.user.as_deref(), req.passwd.as_deref(), req.token.as_deref(), req.db.as_deref(), req.db_id)?;
        let txn_id = req.txn_id.ok_or_else(|| missing("txn_id"))?;
        let db = database(ctx, req.db.as_deref(), req.db_id)?;
        commit::rollback(ctx, txn_id, Some(db.id), req.reason.clone(), AbortedAgain::Refuse)
    })();
    TRollbackTxnResult { status: Some(r.map(|_| ok_status()).unwrap_or_else(|e| e.to_status())), ..Default::default() }
}
