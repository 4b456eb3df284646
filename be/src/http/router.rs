//! Routes of the BE webserver and the state its handlers share.

use std::sync::Arc;

use axum::routing::get;
use axum::Router;

use crate::storage::md5_cache::Md5Cache;
use super::{binlog, config, download, health, metrics};
use crate::context::BeContext;

pub struct HttpState {
    pub ctx: Arc<BeContext>,
    pub md5: Md5Cache,
}

/// The webserver's routes; `get` also answers HEAD (axum drops the body).
pub fn router(ctx: Arc<BeContext>) -> Router {
    let state = Arc::new(HttpState { ctx, md5: Md5Cache::default() });
    Router::new()
        .route("/api/_tablet/_download", get(download::handle))
        .route("/api/_binlog/_download", get(binlog::handle))
        .route("/api/health", get(health::handle))
        .route("/api/show_config", get(config::show))
        .route("/metrics", get(metrics::handle))
        .merge(crate::load::router(state.ctx.clone()))
        .with_state(state)
}
