//! The binlog collector: every 15 seconds (upstream's binlog GC period), each database's
//! log is collected under its settings (`gc`). Runs with the FE until `stop`.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::Binlogs;
use crate::context::{Ctx, FeContext};

const PERIOD: Duration = Duration::from_secs(15);

pub async fn run(ctx: Ctx, binlogs: Arc<Binlogs>, stop: CancellationToken) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(PERIOD) => {}
        }
        let (ctx2, logs) = (ctx.clone(), binlogs.clone());
        let r = tokio::task::spawn_blocking(move || logs.collect(&ctx2.store, &ctx2.catalog, FeContext::now_ms())).await;
        match r {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => info!(removed = n, "binlogs collected"),
            Ok(Err(e)) => warn!(error = %e, "binlog collection failed; retried next round"),
            Err(e) => warn!(error = %e, "binlog collection panicked"),
        }
    }
}
