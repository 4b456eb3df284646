//! ALTER SYSTEM ADD/DROP BACKEND, SHOW BACKENDS, SHOW FRONTENDS.

use super::format::{byte_string, time_string};
use crate::context::Ctx;
use crate::error::FeError;
use crate::mysql::{QueryOutput, Value};
use crate::query::TextTable;
use crate::sql::HostPort;

/// Upstream's SHOW BACKENDS columns, newest order.
pub const BACKEND_TITLES: &[&str] = &[
    "BackendId",
    "Host",
    "HeartbeatPort",
    "BePort",
    "HttpPort",
    "BrpcPort",
    "ArrowFlightSqlPort",
    "LastStartTime",
    "LastHeartbeat",
    "Alive",
    "SystemDecommissioned",
    "TabletNum",
    "DataUsedCapacity",
    "TrashUsedCapacity",
    "AvailCapacity",
    "TotalCapacity",
    "UsedPct",
    "MaxDiskUsedPct",
    "RemoteUsedCapacity",
    "Tag",
    "ErrMsg",
    "Version",
    "Status",
    "HeartbeatFailureCounter",
    "CpuCores",
    "Memory",
    "RunningTasks",
    "NodeRole",
];

pub const FRONTEND_TITLES: &[&str] = &[
    "Name",
    "Host",
    "EditLogPort",
    "HttpPort",
    "QueryPort",
    "RpcPort",
    "ArrowFlightSqlPort",
    "Role",
    "IsMaster",
    "ClusterId",
    "Join",
    "Alive",
    "ReplayedJournalId",
    "LastStartTime",
    "LastHeartbeat",
    "IsHelper",
    "ErrMsg",
    "Version",
    "CurrentConnected",
];

pub fn add_backends(ctx: &Ctx, hosts: &[HostPort]) -> Result<QueryOutput, FeError> {
    // All or nothing for duplicates named in one statement, as upstream checks first.
    for h in hosts {
        if ctx.backends.all().iter().any(|b| b.host == h.host && b.heartbeat_port == h.port) {
            return Err(crate::system::SystemError::BackendExists(h.to_string()).into());
        }
    }
    for h in hosts {
        ctx.backends.add(&h.host, h.port)?;
    }
    ctx.heartbeat_now.notify_one();
    Ok(QueryOutput::ok())
}

pub fn drop_backends(ctx: &Ctx, hosts: &[HostPort]) -> Result<QueryOutput, FeError> {
    for h in hosts {
        ctx.backends.drop(&h.host, h.port)?;
    }
    Ok(QueryOutput::ok())
}

pub fn show_backends(ctx: &Ctx) -> QueryOutput {
    let tablets = ctx.catalog.tablet_count_by_backend();
    let now = crate::context::FeContext::now_ms();
    let max_down_ms = ctx.config.max_backend_down_time_second as i64 * 1000;
    let mut backends = ctx.backends.all();
    backends.sort_by(|a, b| a.host.cmp(&b.host).then(a.id.cmp(&b.id)));
    let rows = backends
        .into_iter()
        .map(|b| {
            let total = b.total_capacity();
            let avail = b.available_capacity();
            let used_pct = if total > 0 { (total - avail) as f64 * 100.0 / total as f64 } else { 0.0 };
            let status = serde_json::json!({
                "lastSuccessReportTabletsTime": "N/A",
                "lastStreamLoadTime": -1,
                "isQueryDisabled": false,
                "isLoadDisabled": false,
                "isActive": true,
                "currentFragmentNum": 0,
                "lastFragmentUpdateTime": 0,
            });
            let cells: Vec<Value> = vec![
                b.id.to_string().into(),
                b.host.clone().into(),
                b.heartbeat_port.to_string().into(),
                b.be_port.to_string().into(),
                b.http_port.to_string().into(),
                b.brpc_port.to_string().into(),
                b.arrow_flight_sql_port.to_string().into(),
                time_string(b.last_start_time_ms).into(),
                time_string(b.last_update_ms).into(),
                b.alive.to_string().into(),
                b.decommissioned.to_string().into(),
                tablets.get(&b.id).copied().unwrap_or(0).to_string().into(),
                byte_string(b.data_used_capacity()).into(),
                byte_string(b.trash_used_capacity()).into(),
                byte_string(avail).into(),
                byte_string(total).into(),
                format!("{used_pct:.2} %").into(),
                format!("{:.2} %", b.max_disk_used_pct() * 100.0).into(),
                byte_string(b.remote_used_capacity()).into(),
                "{\"location\" : \"default\"}".into(),
                err_msg(&b, now, max_down_ms).into(),
                b.version.clone().into(),
                status.to_string().into(),
                b.heartbeat_failure_counter.to_string().into(),
                b.cpu_cores.to_string().into(),
                byte_string(b.memory).into(),
                "0".into(),
                if b.alive { b.node_role.clone() } else { String::new() }.into(),
            ];
            cells
        })
        .collect();
    QueryOutput::text_rows(BACKEND_TITLES, rows)
}

/// The heartbeat error, plus a note once a BE has been down longer than
/// `max_backend_down_time_second`.
fn err_msg(b: &crate::system::Backend, now: i64, max_down_ms: i64) -> String {
    if let Some(down) = b.down_for_ms(now).filter(|d| *d > max_down_ms) {
        let secs = down / 1000;
        return format!("{} (down for {secs} s, longer than max_backend_down_time_second)", b.err_msg);
    }
    b.err_msg.clone()
}

/// This FE's row of SHOW FRONTENDS (and of `frontends()`): doris-rs runs one FE, the master.
fn frontend_row(ctx: &Ctx) -> Vec<Value> {
    let now = crate::context::FeContext::now_ms();
    vec![
        format!("fe_{}_{}", ctx.host.replace(['.', ':'], "_"), ctx.ports.rpc_port).into(),
        ctx.host.clone().into(),
        // No BDB-JE edit log, hence no edit log port and no replayed journal.
        "0".into(),
        ctx.ports.http_port.to_string().into(),
        ctx.ports.query_port.to_string().into(),
        ctx.ports.rpc_port.to_string().into(),
        "-1".into(),
        "FOLLOWER".into(),
        "true".into(),
        ctx.cluster.cluster_id.to_string().into(),
        "true".into(),
        "true".into(),
        "0".into(),
        time_string(ctx.start_time_ms).into(),
        time_string(now).into(),
        "true".into(),
        "".into(),
        concat!("doris-rs-", env!("CARGO_PKG_VERSION")).into(),
        "Yes".into(),
    ]
}

pub fn show_frontends(ctx: &Ctx) -> QueryOutput {
    QueryOutput::text_rows(FRONTEND_TITLES, vec![frontend_row(ctx)])
}

/// `frontends()` and `backends()`: SHOW FRONTENDS / SHOW BACKENDS as tables for queries.
pub fn frontends_table(ctx: &Ctx) -> TextTable {
    text_table(show_frontends(ctx))
}

pub fn backends_table(ctx: &Ctx) -> TextTable {
    text_table(show_backends(ctx))
}

fn text_table(out: QueryOutput) -> TextTable {
    let QueryOutput::Rows { columns, rows } = out else { return TextTable::default() };
    let text = |v: Value| v.to_text().map(|b| String::from_utf8_lossy(&b).into_owned());
    TextTable {
        columns: columns.into_iter().map(|c| c.name).collect(),
        rows: rows.into_iter().map(|r| r.into_iter().map(text).collect()).collect(),
    }
}
