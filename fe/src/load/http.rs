//! The FE's load endpoints on http_port:
//! - `PUT /api/{db}/{table}/_stream_load`: checks Basic auth, then answers 307 to an
//!   alive BE's webserver (as upstream; `curl --location-trusted` resends the body and
//!   the credentials there).
//! - `GET /api/_internal/load_plan?db&table&txn_id[&partitions=p1,p2 |
//!   &temporary_partitions=tp1]`: the write plan a BE needs for a load, for callers holding
//!   the cluster token (header `token`); only the named partitions when some are named
//!   (the stream load's headers of those names, as upstream).
//! - `GET /api/_internal/load/txn_state?txn_ids=1,2`: `{"1": "PREPARE", "2": "UNKNOWN"}`,
//!   the states of transactions a BE holds pending rowsets of (token-checked). A PREPARE
//!   transaction past its timeout is aborted before it is answered.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use rand::seq::SliceRandom;
use serde::Serialize;

use super::publish;
use super::txn::TxnState;
use crate::catalog::table::{Distribution, PartitionKind};
use super::Loads;

pub const TOKEN_HEADER: &str = "token";

fn json_error(code: StatusCode, msg: impl Into<String>) -> Response {
    let body = serde_json::json!({ "status": "FAILED", "msg": msg.into() });
    (code, axum::Json(body)).into_response()
}

/// `Authorization: Basic ...` checked against the users: the identity when the password
/// is right. The client's address is not known here, so only identities for any host match.
fn check_basic(ctx: &Loads, headers: &HeaderMap) -> Option<crate::auth::UserIdentity> {
    use headers::authorization::{Authorization, Basic};
    use headers::HeaderMapExt;
    let auth = headers.typed_get::<Authorization<Basic>>()?;
    ctx.check_password(auth.username(), auth.password(), None).ok()
}

pub async fn stream_load_redirect(
    State(ctx): State<Loads>,
    Path((db, table)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let Some(user) = check_basic(&ctx, &headers) else {
        return (
            StatusCode::UNAUTHORIZED,
            [("WWW-Authenticate", "Basic realm=\"doris\"")],
            axum::Json(serde_json::json!({"status": "FAILED", "msg": "Access denied: wrong user or password"})),
        )
            .into_response();
    };
    if let Err(e) = ctx.users.require(&user, &crate::auth::Scope::table(&db, &table), crate::auth::Priv::Load) {
        return json_error(StatusCode::FORBIDDEN, e.to_string());
    }
    if let Err(e) = ctx.catalog.table(&db, &table) {
        return json_error(StatusCode::NOT_FOUND, e.to_string());
    }
    redirect_to_backend(&ctx, &format!("/api/{db}/{table}/_stream_load"), &uri)
}

/// 307 to the same path on a random alive BE (the client resends with its credentials).
fn redirect_to_backend(ctx: &Loads, path: &str, uri: &Uri) -> Response {
    let mut alive: Vec<_> = ctx.backends.all().into_iter().filter(|b| b.alive && b.http_port > 0).collect();
    alive.shuffle(&mut rand::thread_rng());
    let Some(be) = alive.first() else {
        return json_error(StatusCode::SERVICE_UNAVAILABLE, "No backend alive.");
    };
    let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
    let location = format!("http://{}:{}{path}{query}", be.host, be.http_port);
    (StatusCode::TEMPORARY_REDIRECT, [("Location", location)]).into_response()
}

/// `PUT /api/{db}/_stream_load_2pc`: like upstream's FE, sent on to a BE, which calls
/// loadTxn2PC (that checks the user's privileges on the transaction's tables).
pub async fn stream_load_2pc_redirect(State(ctx): State<Loads>, Path(db): Path<String>, headers: HeaderMap, uri: Uri) -> Response {
    if check_basic(&ctx, &headers).is_none() {
        return (
            StatusCode::UNAUTHORIZED,
            [("WWW-Authenticate", "Basic realm=\"doris\"")],
            axum::Json(serde_json::json!({"status": "FAILED", "msg": "Access denied: wrong user or password"})),
        )
            .into_response();
    }
    if ctx.catalog.database(&db).is_none() {
        return json_error(StatusCode::NOT_FOUND, format!("unknown database, database={db}"));
    }
    redirect_to_backend(&ctx, &format!("/api/{db}/_stream_load_2pc"), &uri)
}

#[derive(Serialize)]
struct PlanColumn {
    name: String,
    #[serde(rename = "type")]
    type_: String,
    nullable: bool,
    default_value: Option<String>,
    /// An AUTO_INCREMENT column: the BE fills what a load leaves out (or NULL) with values
    /// from getAutoIncrementRange, naming the column by `unique_id`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    auto_increment: bool,
    unique_id: i32,
    /// One of upstream's hidden columns (after the visible ones): the BE fills it (delete
    /// sign, sequence, version) unless the load names it in `columns`/`hidden_columns`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    hidden: bool,
}

#[derive(Serialize)]
struct PlanReplica {
    backend_id: i64,
    host: String,
    http_port: i32,
}

#[derive(Serialize)]
struct PlanTablet {
    id: i64,
    /// The replicas to write: those on alive backends that are not lagging.
    replicas: Vec<PlanReplica>,
    /// How many of them must be written for the load to commit (upstream's
    /// `loadRequiredReplicaNum`, a majority of the tablet's replicas).
    load_required_replica_num: usize,
}

#[derive(Serialize)]
struct PlanPartition {
    id: i64,
    name: String,
    range: Option<(Vec<String>, Vec<String>)>,
    list_values: Vec<Vec<String>>,
    tablets: Vec<PlanTablet>,
}

#[derive(Serialize)]
struct LoadPlan {
    txn_id: i64,
    db_id: i64,
    table_id: i64,
    columns: Vec<PlanColumn>,
    /// Upstream's KeysType name; the BE checks merge_type and the sequence column by it.
    keys_type: &'static str,
    /// The value column a UNIQUE table's sequence column takes its values from.
    #[serde(skip_serializing_if = "Option::is_none")]
    sequence_map_col: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    merge_on_write: bool,
    partition_kind: &'static str,
    partition_columns: Vec<String>,
    distribution_columns: Vec<String>,
    partitions: Vec<PlanPartition>,
}

pub async fn load_plan(State(ctx): State<Loads>, Query(q): Query<HashMap<String, String>>, headers: HeaderMap) -> Response {
    let token = headers.get(TOKEN_HEADER).and_then(|v| v.to_str().ok()).or(q.get("token").map(|s| s.as_str()));
    if token != Some(ctx.cluster.token.as_str()) {
        return json_error(StatusCode::UNAUTHORIZED, "invalid token");
    }
    let (Some(db), Some(table), Some(txn_id)) =
        (q.get("db"), q.get("table"), q.get("txn_id").and_then(|t| t.parse::<i64>().ok()))
    else {
        return json_error(StatusCode::BAD_REQUEST, "db, table and txn_id are required");
    };
    let t = match ctx.catalog.table(db, table) {
        Ok(t) => t,
        Err(e) => return json_error(StatusCode::NOT_FOUND, e.to_string()),
    };
    match ctx.txns.state_now(txn_id, crate::context::FeContext::now_ms()) {
        Ok(Some(rec)) if rec.writes(t.id) && rec.state == TxnState::Prepare => {}
        Ok(_) => return json_error(StatusCode::CONFLICT, format!("transaction [{txn_id}] is not a running load of {db}.{table}")),
        Err(e) => return json_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
    let names = |key: &str| -> Option<Vec<String>> {
        let v = q.get(key)?;
        Some(v.split(',').map(|s| s.trim().trim_matches('`').to_string()).filter(|s| !s.is_empty()).collect())
    };
    let targets: Vec<&crate::catalog::Partition> = match (names("partitions"), names("temporary_partitions")) {
        (Some(_), Some(_)) => {
            return json_error(StatusCode::BAD_REQUEST, "partitions and temporary_partitions cannot both be given")
        }
        (Some(names), None) | (None, Some(names)) => {
            let temporary = q.contains_key("temporary_partitions");
            let mut out = Vec::new();
            for n in &names {
                let p = if temporary { t.temp_partition(n) } else { t.partition(n) };
                match p {
                    Some(p) => out.push(p),
                    // Upstream's ERR_UNKNOWN_PARTITION text.
                    None => return json_error(StatusCode::BAD_REQUEST, format!("Unknown partition '{n}' in table '{table}'")),
                }
            }
            out
        }
        (None, None) => t.partitions.iter().collect(),
    };
    let backends: HashMap<i64, _> = ctx.backends.all().into_iter().map(|b| (b.id, b)).collect();
    let mut plan_tablets: HashMap<i64, PlanTablet> = HashMap::new();
    for tb in targets.iter().flat_map(|p| p.index.tablets.iter()) {
        match plan_tablet(tb, &backends) {
            Ok(pt) => plan_tablets.insert(tb.id, pt),
            // Refused before anything is written, as upstream's sink refuses it.
            Err(msg) => return json_error(StatusCode::SERVICE_UNAVAILABLE, msg),
        };
    }
    let plan = LoadPlan {
        txn_id,
        db_id: t.db_id,
        table_id: t.id,
        columns: t
            .full_schema()
            .map(|c| PlanColumn {
                name: c.name.clone(),
                type_: c.data_type.to_sql(),
                nullable: c.nullable,
                default_value: c.default_value.clone(),
                auto_increment: c.auto_increment.is_some(),
                unique_id: c.unique_id,
                hidden: crate::catalog::hidden::is_hidden_name(&c.name),
            })
            .collect(),
        keys_type: t.keys_type.upstream_name(),
        sequence_map_col: t.sequence_map_col().map(str::to_string),
        merge_on_write: t.merge_on_write(),
        partition_kind: match t.partition_kind {
            PartitionKind::Unpartitioned => "UNPARTITIONED",
            PartitionKind::Range => "RANGE",
            PartitionKind::List => "LIST",
        },
        partition_columns: t.partition_columns.clone(),
        distribution_columns: match &t.distribution {
            Distribution::Hash { columns, .. } => columns.clone(),
            Distribution::Random { .. } => Vec::new(),
        },
        partitions: targets
            .into_iter()
            .map(|p| PlanPartition {
                id: p.id,
                name: p.name.clone(),
                range: p.range.clone(),
                list_values: p.list_values.clone(),
                tablets: p.index.tablets.iter().filter_map(|tb| plan_tablets.remove(&tb.id)).collect(),
            })
            .collect(),
    };
    axum::Json(plan).into_response()
}

/// A tablet's replicas for a load: those on alive backends that are caught up. Fewer than
/// the quorum refuse the load with upstream's `REPLICA_FEW_ERR` text.
fn plan_tablet(tb: &crate::catalog::Tablet, backends: &HashMap<i64, crate::system::backends::Backend>) -> Result<PlanTablet, String> {
    let required = super::commit::load_required_replica_num(tb.replicas.len());
    let replicas: Vec<PlanReplica> = tb
        .replicas
        .iter()
        .filter(|r| !r.is_lagging())
        .filter_map(|r| backends.get(&r.backend_id).filter(|b| b.alive && b.http_port > 0).map(|b| (r, b)))
        .map(|(r, b)| PlanReplica { backend_id: r.backend_id, host: b.host.clone(), http_port: b.http_port })
        .collect();
    if replicas.len() < required {
        let alive: Vec<String> = replicas.iter().map(|r| r.backend_id.to_string()).collect();
        return Err(format!(
            "tablet {} alive replica num {} < load required replica num {required}, alive backends: [{}]",
            tb.id,
            replicas.len(),
            alive.join(",")
        ));
    }
    Ok(PlanTablet { id: tb.id, replicas, load_required_replica_num: required })
}

/// Most transactions one txn_state call may ask about.
const MAX_TXN_STATE_IDS: usize = 10_000;

pub async fn txn_state(State(ctx): State<Loads>, Query(q): Query<HashMap<String, String>>, headers: HeaderMap) -> Response {
    let token = headers.get(TOKEN_HEADER).and_then(|v| v.to_str().ok()).or(q.get("token").map(|s| s.as_str()));
    if token != Some(ctx.cluster.token.as_str()) {
        return json_error(StatusCode::UNAUTHORIZED, "invalid token");
    }
    let ids: Result<Vec<i64>, _> =
        q.get("txn_ids").map(|s| s.as_str()).unwrap_or("").split(',').filter(|s| !s.is_empty()).map(|s| s.trim().parse::<i64>()).collect();
    let ids = match ids {
        Ok(ids) if ids.len() <= MAX_TXN_STATE_IDS => ids,
        Ok(_) => return json_error(StatusCode::BAD_REQUEST, format!("at most {MAX_TXN_STATE_IDS} txn_ids per call")),
        Err(_) => return json_error(StatusCode::BAD_REQUEST, "txn_ids must be a comma-separated list of ids"),
    };
    let st = &ctx.txns;

    let now = crate::context::FeContext::now_ms();
    let mut out = serde_json::Map::new();
    for id in ids {
        let was_prepare = matches!(st.get(id), Ok(Some(ref r)) if matches!(r.state, TxnState::Prepare | TxnState::Precommitted));
        let state = match st.state_now(id, now) {
            Ok(Some(rec)) => {
                if was_prepare && rec.state == TxnState::Aborted {
                    tracing::info!(txn_id = id, label = %rec.label, "load transaction timed out; aborted");
                    publish::clear_on_backends(&ctx, &rec);
                }
                rec.state.name()
            }
            Ok(None) => "UNKNOWN",
            Err(e) => return json_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        };
        out.insert(id.to_string(), state.into());
    }
    axum::Json(serde_json::Value::Object(out)).into_response()
}
