//! getBinlog and getBinlogLag: decode, check who asks and which log, read it, encode.

use doris_thrift::frontend_service::{TGetBinlogLagResult, TGetBinlogRequest, TGetBinlogResult};
use doris_thrift::status::{TStatus, TStatusCode};

use super::auth;
use crate::binlog::{resolve, BinlogError, Binlogs, Read, Target};
use crate::context::FeContext;
use crate::error::{ok_status, FeError};

/// The log a request names, after its caller is checked.
fn target(ctx: &FeContext, r: &TGetBinlogRequest) -> Result<(Target, i64), TStatus> {
    let db = r.db.as_deref().filter(|d| !d.is_empty()).ok_or_else(|| FeError::InvalidArgument("db is not set".into()).to_status())?;
    let scope = crate::auth::Scope::db(db);
    auth::check_priv(ctx, r.user.as_deref(), r.passwd.as_deref(), r.token.as_deref(), r.user_ip.as_deref(), &scope, crate::auth::Priv::Load)
        .map_err(|e| e.to_status())?;
    let prev = r.prev_commit_seq.ok_or_else(|| FeError::InvalidArgument("prev_commit_seq is not set".into()).to_status())?;
    let t = resolve(&ctx.catalog, ctx.config.enable_feature_binlog, db, r.table.as_deref(), r.table_id)
        .map_err(|e| binlog_status(&e))?;
    Ok((t, prev))
}

/// Upstream's status for each refusal.
fn binlog_status(e: &BinlogError) -> TStatus {
    let code = match e {
        BinlogError::FeatureOff | BinlogError::Disabled(_) => TStatusCode::BINLOG_DISABLE,
        BinlogError::NoDatabase(_) => TStatusCode::BINLOG_NOT_FOUND_DB,
        BinlogError::NoTable(_) => TStatusCode::BINLOG_NOT_FOUND_TABLE,
    };
    TStatus { status_code: code, error_msgs: Some(vec![e.to_string()]) }
}

fn status(code: TStatusCode) -> TStatus {
    TStatus { status_code: code, error_msgs: None }
}

pub fn get_binlog(ctx: &FeContext, binlogs: &Binlogs, r: &TGetBinlogRequest) -> TGetBinlogResult {
    let mut out = TGetBinlogResult {
        status: None,
        next_commit_seq: None,
        binlogs: None,
        fe_version: None,
        fe_meta_version: None,
        master_address: Some(ctx.rpc_address()),
    };
    let (t, prev) = match target(ctx, r) {
        Ok(x) => x,
        Err(s) => {
            out.status = Some(s);
            return out;
        }
    };
    match binlogs.read(t.db_id, t.table_id, prev) {
        Read::Next(b) => {
            out.status = Some(ok_status());
            out.next_commit_seq = Some(b.commit_seq);
            out.binlogs = Some(vec![b.to_thrift()]);
        }
        Read::TooOld(dummy) => {
            out.status = Some(status(TStatusCode::BINLOG_TOO_OLD_COMMIT_SEQ));
            out.binlogs = Some(vec![dummy.to_thrift()]);
        }
        Read::TooNew => out.status = Some(status(TStatusCode::BINLOG_TOO_NEW_COMMIT_SEQ)),
    }
    out
}

pub fn get_binlog_lag(ctx: &FeContext, binlogs: &Binlogs, r: &TGetBinlogRequest) -> TGetBinlogLagResult {
    match target(ctx, r) {
        Ok((t, prev)) => TGetBinlogLagResult {
            status: Some(ok_status()),
            lag: Some(binlogs.lag(t.db_id, t.table_id, prev)),
            master_address: Some(ctx.rpc_address()),
        },
        Err(s) => TGetBinlogLagResult { status: Some(s), lag: None, master_address: Some(ctx.rpc_address()) },
    }
}
