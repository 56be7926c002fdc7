//! Health and the API description, which need no token, and the
//! metrics, which are the admins'.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::auth::require_operator;
use crate::error::Result;
use crate::model::User;
use crate::services;
use crate::state::AppState;

pub async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({ "status": "ok" }))
}

/// The OpenAPI 3.1 document, written by hand next to this file.
pub const OPENAPI_JSON: &str = include_str!("openapi.json");

pub async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}

/// `GET /metrics`: the Prometheus (OpenMetrics) text, for admins.
pub async fn metrics(user: User, State(app): State<AppState>) -> Result<Response> {
    require_operator(&user)?;
    let now_ms = app.now_ms();
    let (open_uploads, overdue) = app.db(move |s| services::metrics::gauges(s, now_ms)).await?;
    let text = app.metrics.render(open_uploads, overdue);
    Ok(([(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)], text).into_response())
}

pub const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
