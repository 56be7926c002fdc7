//! The read API (`/v1/reports`, `/v1/photos`) and status changes. Every
//! user sees what [`crate::auth::scope`] lets them; anything else is 404.

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use suishoupai_core::{Category, ReportStatus};

use super::extract::{Json, Path, Query, check_sha256, parse_limit};
use crate::clock::rfc3339_ms;
use crate::error::{Error, Result};
use crate::model::User;
use crate::services::photos;
use crate::services::reports::{self, StatusChange};
use crate::state::AppState;
use crate::storage::{ReportFilter, ReportKey};
use crate::views::{ReportList, ReportView};

pub const DEFAULT_REPORTS: usize = 50;
pub const MAX_REPORTS: usize = 500;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    status: Option<String>,
    category: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

fn time_param(name: &str, value: Option<&str>) -> Result<Option<i64>> {
    value.map(|text| rfc3339_ms(text).ok_or_else(|| Error::BadRequest(format!("{name} `{text}` is not an RFC 3339 time")))).transpose()
}

/// The listing cursor: the last report's place in the order, `MS_ID`.
fn parse_cursor(text: &str) -> Result<ReportKey> {
    text.split_once('_')
        .and_then(|(ms, id)| Some(ReportKey { created_ms: ms.parse().ok()?, id: id.to_owned() }))
        .ok_or_else(|| Error::BadRequest(format!("cursor `{text}` is not one this server gave out")))
}

pub async fn list(user: User, State(app): State<AppState>, Query(query): Query<ListQuery>) -> Result<axum::Json<ReportList>> {
    let status = query
        .status
        .as_deref()
        .map(|s| ReportStatus::from_code(s).map_err(|_| Error::BadRequest(format!("status `{s}` is not a report status"))))
        .transpose()?;
    if let Some(category) = &query.category {
        Category::from_code(category).map_err(|_| Error::BadRequest(format!("category `{category}` is not in the catalogue")))?;
    }
    let filter = ReportFilter {
        status,
        category: query.category,
        since_ms: time_param("since", query.since.as_deref())?,
        until_ms: time_param("until", query.until.as_deref())?,
        limit: parse_limit(query.limit.as_deref(), DEFAULT_REPORTS, MAX_REPORTS)?,
        after: query.cursor.as_deref().map(parse_cursor).transpose()?,
    };
    let page = app.db(move |s| reports::list(s, &user, &filter)).await?;
    Ok(axum::Json(ReportList {
        reports: page.reports.into_iter().map(ReportView::from).collect(),
        next_cursor: page.next.map(|key| format!("{}_{}", key.created_ms, key.id)),
    }))
}

pub async fn one(user: User, State(app): State<AppState>, Path(id): Path<String>) -> Result<axum::Json<ReportView>> {
    Ok(axum::Json(app.db(move |s| reports::one(s, &user, &id)).await?.into()))
}

/// `POST /v1/reports/{id}/status` (to be replaced by the workflow's actions).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusUpdate {
    status: ReportStatus,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    department: Option<String>,
}

pub async fn set_status(
    user: User,
    State(app): State<AppState>,
    Path(id): Path<String>,
    Json(update): Json<StatusUpdate>,
) -> Result<axum::Json<ReportView>> {
    let change = StatusChange { status: update.status, note: update.note, department: update.department };
    Ok(axum::Json(app.db(move |s| reports::set_status(s, &user, &id, &change)).await?.into()))
}

pub async fn photo(user: User, State(app): State<AppState>, Path(sha256): Path<String>) -> Result<Response> {
    check_sha256(&sha256)?;
    let bytes = photos::rendition(&app, &user, sha256.clone()).await?;
    Ok(serve_jpeg(&sha256, bytes))
}

pub async fn thumbnail(user: User, State(app): State<AppState>, Path(sha256): Path<String>) -> Result<Response> {
    check_sha256(&sha256)?;
    let bytes = photos::thumbnail_for(&app, &user, sha256.clone()).await?;
    Ok(serve_jpeg(&sha256, bytes))
}

fn serve_jpeg(sha256: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (CONTENT_TYPE, "image/jpeg".to_owned()),
            // Content-addressed: the bytes under this name never change.
            (CACHE_CONTROL, "private, max-age=31536000, immutable".to_owned()),
            (ETAG, format!("\"{sha256}\"")),
        ],
        bytes,
    )
        .into_response()
}
