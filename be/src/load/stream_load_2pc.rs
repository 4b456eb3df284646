//! `PUT /api/{db}/_stream_load_2pc`: the user's commit or abort of a load sent with
//! `two_phase_commit: true` (PRECOMMITTED on the FE). Headers: `txn_id` (or `label`) and
//! `txn_operation: commit|abort`; the FE's loadTxn2PC checks the user and does it.
//!
//! The answer is upstream's: `{"status": "Success", "msg": "transaction [ID] commit
//! successfully."}`, or the error's status name and message.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use doris_thrift::frontend_service::TLoadTxn2PCRequest;
use doris_thrift::status::TStatusCode;
use tracing::info;

use super::{caller, header, master_fe_client};
use crate::context::BeContext;

/// `{"status": ..., "msg": ...}` as upstream's pretty writer lays it out.
fn answer(status: &str, msg: &str) -> Response {
    let q = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    let body = format!("{{\n    \"status\": {},\n    \"msg\": {}\n}}", q(status), q(msg));
    (StatusCode::OK, [("Content-Type", "application/json; charset=UTF-8")], body).into_response()
}

/// Upstream's name of a status code, as its JSON answers print it.
fn code_name(c: TStatusCode) -> &'static str {
    match c {
        TStatusCode::ANALYSIS_ERROR => "ANALYSIS_ERROR",
        TStatusCode::NOT_FOUND => "NOT_FOUND",
        TStatusCode::NOT_AUTHORIZED => "NOT_AUTHORIZED",
        TStatusCode::INVALID_ARGUMENT => "INVALID_ARGUMENT",
        TStatusCode::ILLEGAL_STATE => "ILLEGAL_STATE",
        TStatusCode::NOT_MASTER => "NOT_MASTER",
        TStatusCode::TIMEOUT => "TIMEOUT",
        _ => "INTERNAL_ERROR",
    }
}

pub async fn handle(State(ctx): State<Arc<BeContext>>, Path(db): Path<String>, headers: HeaderMap) -> Response {
    let Some((user, passwd, token)) = caller(&headers) else {
        let mut r = answer("INTERNAL_ERROR", "no valid Basic authorization");
        *r.status_mut() = StatusCode::UNAUTHORIZED;
        r.headers_mut().insert("WWW-Authenticate", "Basic realm=\"doris\"".parse().expect("static header"));
        return r;
    };
    let txn_id_text = header(&headers, "txn_id");
    let label = header(&headers, "label");
    let txn_id = match &txn_id_text {
        Some(t) => match t.parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => return answer("INTERNAL_ERROR", &format!("convert txn_id [{t}] failed")),
        },
        None if label.is_some() => None,
        None => return answer("INTERNAL_ERROR", "the txn_id header (or label) naming the transaction is required"),
    };
    let op = header(&headers, "txn_operation").unwrap_or_default();
    if op != "commit" && op != "abort" {
        return answer("INTERNAL_ERROR", "transaction operation should be 'commit' or 'abort'");
    }
    let client = match master_fe_client(&ctx, Duration::from_secs(180)) {
        Ok(c) => c,
        Err(e) => return answer("INTERNAL_ERROR", &e),
    };
    let req = TLoadTxn2PCRequest {
        cluster: None,
        user,
        passwd,
        db: Some(db),
        user_ip: None,
        txn_id,
        operation: Some(op.clone()),
        auth_code: None,
        token,
        thrift_rpc_timeout_ms: Some(180_000),
        label: label.clone(),
        auth_code_uuid: None,
    };
    match client.load_txn_2pc(&req).await {
        Err(e) => answer("INTERNAL_ERROR", &format!("loadTxn2PC failed: {e}")),
        Ok(res) if res.status.status_code != TStatusCode::OK => {
            answer(code_name(res.status.status_code), &res.status.error_msgs.clone().unwrap_or_default().join("; "))
        }
        Ok(_) => {
            let which = txn_id_text.or(label).unwrap_or_default();
            info!(txn = %which, op = %op, "two-phase commit done");
            answer("Success", &format!("transaction [{which}] {op} successfully."))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_are_upstreams_shape() {
        let r = answer("Success", "transaction [7] commit successfully.");
        let body = axum::body::to_bytes(r.into_body(), 1 << 16).await.unwrap();
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            "{\n    \"status\": \"Success\",\n    \"msg\": \"transaction [7] commit successfully.\"\n}"
        );
        assert_eq!(code_name(TStatusCode::ANALYSIS_ERROR), "ANALYSIS_ERROR");
    }
}
