//! The read API (`/v1/reports`, `/v1/photos`), the workflow's actions and
//! duplicate suggestions. Every
//! user sees what [`crate::auth::scope`] lets them; anything else is 404.

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use suishoupai_core::protocol::ActionRequest;
use suishoupai_core::{Category, ReportStatus};

use super::extract::{Json, Path, Query, check_sha256, parse_limit};
use crate::clock::rfc3339_ms;
use crate::error::{Error, Result};
use crate::model::User;
use crate::services::duplicates::{self, Candidates};
use crate::services::stats::{self, By, Stats};
use crate::services::{photos, reports, workflow};
use crate::state::AppState;
use crate::storage::{ReportFilter, ReportKey};
use crate::views::{ReportList, ReportView, Viewer};

pub const DEFAULT_REPORTS: usize = 50;
pub const MAX_REPORTS: usize = 500;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    status: Option<String>,
    category: Option<String>,
    grid: Option<String>,
    street_office: Option<String>,
    department: Option<String>,
    overdue: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

fn time_param(name: &str, value: Option<&str>) -> Result<Option<i64>> {
    value.map(|text| rfc3339_ms(text).ok_or_else(|| Error::BadRequest(format!("{name} `{text}` is not an RFC 3339 time")))).transpose()
}

/// The listing cursor: the last report's place in the order, `MS_ID`
/// (the OpenAPI document's pattern: up to 15 digits, `_`, a report id).
fn parse_cursor(text: &str) -> Result<ReportKey> {
    text.split_once('_')
        .filter(|(ms, id)| {
            (1..=15).contains(&ms.len())
                && ms.bytes().all(|b| b.is_ascii_digit())
                && id.len() == 36
                && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b) || b == b'-')
        })
        .and_then(|(ms, id)| Some(ReportKey { created_ms: ms.parse().ok()?, id: id.to_owned() }))
        .ok_or_else(|| Error::BadRequest(format!("cursor `{text}` is not one this server gave out")))
}

/// The listing filters of `query` (shared by the list and the ledgers).
pub(super) fn report_filter(query: ListQuery, now_ms: i64) -> Result<ReportFilter> {
    let status = query
        .status
        .as_deref()
        .map(|s| ReportStatus::from_code(s).map_err(|_| Error::BadRequest(format!("status `{s}` is not a report status"))))
        .transpose()?;
    if let Some(category) = &query.category {
        Category::from_code(category).map_err(|_| Error::BadRequest(format!("category `{category}` is not in the catalogue")))?;
    }
    let overdue = match query.overdue.as_deref() {
        None | Some("false") => None,
        Some("true") => Some(now_ms),
        Some(other) => return Err(Error::BadRequest(format!("overdue `{other}` is not true or false"))),
    };
    Ok(ReportFilter {
        status,
        category: query.category,
        grid_id: query.grid,
        street_office: query.street_office,
        department: query.department,
        overdue_at_ms: overdue,
        since_ms: time_param("since", query.since.as_deref())?,
        until_ms: time_param("until", query.until.as_deref())?,
        limit: parse_limit(query.limit.as_deref(), DEFAULT_REPORTS, MAX_REPORTS)?,
        // An empty cursor is the start, as for `/v1/changes`.
        after: query.cursor.as_deref().filter(|c| !c.is_empty()).map(parse_cursor).transpose()?,
        ..ReportFilter::default()
    })
}

pub async fn list(user: User, State(app): State<AppState>, Query(query): Query<ListQuery>) -> Result<axum::Json<ReportList>> {
    let now_ms = app.now_ms();
    let filter = report_filter(query, now_ms)?;
    let list = app
        .db(move |s| {
            let page = reports::list(s, &user, &filter)?;
            let viewer = Viewer { user: &user, now_ms };
            Ok(ReportList {
                reports: page.reports.into_iter().map(|r| viewer.report(r)).collect(),
                next_cursor: page.next.map(|key| format!("{}_{}", key.created_ms, key.id)),
            })
        })
        .await?;
    Ok(axum::Json(list))
}

pub async fn one(user: User, State(app): State<AppState>, Path(id): Path<String>) -> Result<axum::Json<ReportView>> {
    let now_ms = app.now_ms();
    Ok(axum::Json(app.db(move |s| Ok(Viewer { user: &user, now_ms }.report(reports::one(s, &user, &id)?))).await?))
}

/// `POST /v1/reports/{id}/actions`: one step of the workflow.
pub async fn act(
    user: User,
    State(app): State<AppState>,
    Path(id): Path<String>,
    Json(request): Json<ActionRequest>,
) -> Result<axum::Json<ReportView>> {
    let now_ms = app.now_ms();
    let view = app
        .db(move |s| {
            let report = workflow::act(s, &user, &id, &request, now_ms)?;
            Ok(Viewer { user: &user, now_ms }.report(report))
        })
        .await?;
    Ok(axum::Json(view))
}

/// `GET /v1/reports/{id}/duplicates`: open reports that may be the same problem.
pub async fn duplicates(user: User, State(app): State<AppState>, Path(id): Path<String>) -> Result<axum::Json<Candidates>> {
    let window = app.settings.duplicate_window;
    Ok(axum::Json(app.db(move |s| duplicates::candidates(s, &user, &id, window)).await?))
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

pub(super) fn serve_jpeg(sha256: &str, bytes: Vec<u8>) -> Response {
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatsQuery {
    from: String,
    to: String,
    by: Option<String>,
}

pub(super) fn local_date(name: &str, text: &str) -> Result<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| Error::BadRequest(format!("{name} `{text}` is not a date YYYY-MM-DD")))
}

/// `GET /v1/stats?from=&to=&by=`: the campaign's figures over local days.
pub async fn stats(user: User, State(app): State<AppState>, Query(query): Query<StatsQuery>) -> Result<axum::Json<Stats>> {
    let (from, to) = (local_date("from", &query.from)?, local_date("to", &query.to)?);
    let by = query
        .by
        .as_deref()
        .map(|b| {
            By::from_code(b)
                .ok_or_else(|| Error::BadRequest(format!("by `{b}` is not one of street_office, community, grid, department, category")))
        })
        .transpose()?;
    let (tz, now_ms) = (app.settings.timezone, app.now_ms());
    Ok(axum::Json(app.db(move |s| stats::stats(s, &user, from, to, by, tz, now_ms)).await?))
}
