//! Health and the API description, which need no token, and the
//! metrics, which are the admins'.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::auth::require_operator;
use crate::error::Result;
use crate::model::User;
use crate::services;
use crate::state::AppState;

/// `GET /healthz`: whether this instance can reach its database and its
/// photo store now (a load balancer takes an instance that answers 503 out
/// of rotation). Says which failed, never why: the detail is logged.
pub async fn healthz(State(app): State<AppState>) -> Response {
    let (database, photos) = app.health().await;
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    let body = axum::Json(serde_json::json!({
        "status": word(database && photos), "database": word(database), "photos": word(photos),
    }));
    let status = if database && photos { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, body).into_response()
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
