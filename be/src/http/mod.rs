//! The BE webserver (`webserver_port`): download API, health, metrics.

mod download;
mod health;
pub mod md5_cache;
mod metrics;
mod router;

use std::sync::Arc;

use tokio::net::TcpListener;
pub use tokio_util::sync::CancellationToken;

use crate::context::BeContext;

pub use download::{parse_range, RangeAnswer};
pub use health::HEALTH_BODY;
pub use router::router;

/// Serve HTTP on `listener` until `stop` is cancelled; in-flight requests finish.
pub async fn serve(ctx: Arc<BeContext>, listener: TcpListener, stop: CancellationToken) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "BE webserver listening");
    axum::serve(listener, router(ctx)).with_graceful_shutdown(stop.cancelled_owned()).await?;
    tracing::info!(%addr, "BE webserver stopped");
    Ok(())
}
