//! The heartbeat loop: tell every BE who its master is, learn its ports and liveness.

use std::time::Duration;

use doris_thrift::heartbeat_service::{THeartbeatResult, TMasterInfo};
use doris_thrift::services::HeartbeatServiceClient;
use doris_thrift::status::TStatusCode;
use doris_thrift::transport::ClientOptions;
use tokio_util::sync::CancellationToken;
use tracing::{info, info_span, warn, Instrument};

use super::backends::Backend;
use super::task_queue::status_text;
use crate::context::{Ctx, FeContext};

/// The least a heartbeat waits for its answer.
const MIN_TIMEOUT: Duration = Duration::from_secs(5);

pub fn interval(ctx: &FeContext) -> Duration {
    Duration::from_secs_f64(ctx.config.heartbeat_interval_second)
}

pub async fn run(ctx: Ctx, stop: CancellationToken) {
    loop {
        heartbeat_all(&ctx).await;
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(interval(&ctx)) => {}
            _ = ctx.heartbeat_now.notified() => {}
        }
    }
}

/// One round: every backend, concurrently.
pub async fn heartbeat_all(ctx: &Ctx) {
    let rounds = ctx.backends.all().into_iter().map(|b| {
        let span = info_span!("heartbeat", backend_id = b.id);
        heartbeat_one(ctx, b).instrument(span)
    });
    futures::future::join_all(rounds).await;
}

pub fn master_info(ctx: &FeContext, b: &Backend) -> TMasterInfo {
    TMasterInfo::new(
        ctx.rpc_address(),
        ctx.cluster.cluster_id,
        ctx.cluster.epoch,
        ctx.cluster.token.clone(),
        b.host.clone(),
        ctx.ports.http_port as i32,
        0i64,
        b.id,
        None,
        None,
        None,
        None,
    )
}

async fn heartbeat_one(ctx: &Ctx, b: Backend) {
    // As long as the interval, and never under upstream's default interval (5 s): a BE
    // whose answer waits behind a busy runtime (its own or ours) is not dead, and one
    // failed heartbeat marks a BE dead (upstream's tolerance count is 1). A stopped BE
    // refuses the connection at once; only a hung one costs the whole timeout.
    let t = interval(ctx).max(MIN_TIMEOUT);
    let opts = ClientOptions { connect_timeout: t, call_timeout: t, ..Default::default() };
    let client = HeartbeatServiceClient::new(ctx.pool.channel(b.heartbeat_addr(), opts));
    let outcome = client.heartbeat(&master_info(ctx, &b)).await;
    let now = FeContext::now_ms();
    let r = ctx.backends.update(b.id, |be| match &outcome {
        Ok(r) if r.status.status_code == TStatusCode::OK => apply_ok(be, r, now),
        Ok(r) => mark_failed(be, format!("heartbeat refused: {}", status_text(&r.status))),
        Err(e) => mark_failed(be, e.to_string()),
    });
    if let Err(e) = r {
        warn!(error = %e, "cannot persist backend state");
    }
}

/// Returns whether the durable part changed.
fn apply_ok(be: &mut Backend, r: &THeartbeatResult, now: i64) -> bool {
    let i = &r.backend_info;
    let before = (be.be_port, be.http_port, be.brpc_port, be.version.clone(), be.last_start_time_ms, be.alive);
    if !be.alive {
        info!(host = %be.host, be_port = i.be_port, "backend is alive");
    }
    be.alive = true;
    be.be_port = i.be_port;
    be.http_port = i.http_port;
    be.brpc_port = i.brpc_port.unwrap_or(-1);
    be.arrow_flight_sql_port = i.arrow_flight_sql_port.unwrap_or(-1);
    be.version = i.version.clone().unwrap_or_default();
    be.node_role = i.be_node_role.clone().unwrap_or_else(|| "mix".into());
    be.memory = i.be_mem.unwrap_or(0);
    if let Some(t) = i.be_start_time {
        be.last_start_time_ms = t;
    }
    be.last_update_ms = now;
    be.seen_alive_ms = now;
    be.err_msg.clear();
    be.heartbeat_failure_counter = 0;
    before != (be.be_port, be.http_port, be.brpc_port, be.version.clone(), be.last_start_time_ms, be.alive)
}

fn mark_failed(be: &mut Backend, msg: String) -> bool {
    let was_alive = be.alive;
    be.heartbeat_failure_counter = be.heartbeat_failure_counter.saturating_add(1);
    be.alive = false;
    if was_alive {
        warn!(host = %be.host, error = %msg, "backend is down");
    }
    be.err_msg = msg;
    was_alive
}
