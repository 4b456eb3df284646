//! The BE webserver (`webserver_port`): download API, binlog download API (CCR), health,
//! metrics, show_config.

mod binlog;
mod config;
mod download;
mod health;
mod metrics;
mod router;

use std::future::IntoFuture;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
pub use tokio_util::sync::CancellationToken;

use crate::context::BeContext;

pub use download::{parse_range, RangeAnswer};
pub use health::HEALTH_BODY;
pub use router::router;

/// How long requests in flight get to finish once a shutdown began: a peer that stops
/// reading a large download must not hold the BE's shutdown for good.
pub const DRAIN_GRACE: Duration = Duration::from_secs(10);

/// Serve HTTP on `listener` until `stop` is cancelled; in-flight requests get [`DRAIN_GRACE`].
pub async fn serve(ctx: Arc<BeContext>, listener: TcpListener, stop: CancellationToken) -> std::io::Result<()> {
    serve_draining(ctx, listener, stop, DRAIN_GRACE).await
}

/// [`serve`] with in-flight requests given `grace` to finish after `stop`; those still
/// running then are left behind (they end with the runtime).
pub async fn serve_draining(
    ctx: Arc<BeContext>,
    listener: TcpListener,
    stop: CancellationToken,
    grace: Duration,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "BE webserver listening");
    // Without TCP_NODELAY a streamed answer (headers first, body when ready) waits for the
    // client's delayed ACK of the headers, 40 ms on Linux: every first-time listing of a
    // snapshot, which streams while it hashes, cost that much.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
    });
    let server = axum::serve(listener, router(ctx)).with_graceful_shutdown(stop.clone().cancelled_owned());
    let overdue = async {
        stop.cancelled().await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        r = server.into_future() => r?,
        _ = overdue => tracing::warn!(%addr, grace_s = grace.as_secs_f64(), "requests still running after the shutdown grace; left behind"),
    }
    tracing::info!(%addr, "BE webserver stopped");
    Ok(())
}
