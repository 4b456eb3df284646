//! `GET /api/health`: the fixed answer upstream BEs give, which monitoring scripts match.

use axum::http::header;
use axum::response::IntoResponse;

pub const HEALTH_BODY: &str = r#"{"status": "OK","msg": "To Be Added"}"#;

pub async fn handle() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], HEALTH_BODY)
}
