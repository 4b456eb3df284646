//! `GET /metrics`: the BE's counters in Prometheus text format.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use super::router::HttpState;

pub async fn handle(State(st): State<Arc<HttpState>>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], st.ctx.metrics.render())
}
