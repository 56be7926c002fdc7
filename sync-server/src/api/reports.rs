//! The read API (`/v1/reports`, `/v1/photos`) and status changes. Every
//! user sees what [`auth::scope`] lets them; anything else is 404.

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use suishoupai_core::protocol::StatusUpdate;
use suishoupai_core::rules::{check_label, check_note};
use suishoupai_core::{Category, ReportStatus};

use super::{Json, Path, Query, check_sha256, parse_limit};
use crate::app::AppState;
use crate::auth::{self, User};
use crate::blobs::BlobKind;
use crate::error::{Error, Result};
use crate::rules::rfc3339_ms;
use crate::storage::{ReportFilter, ReportKey, StatusChange, StoredReport, report_not_found};
use crate::uploads;

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

#[derive(Serialize)]
pub struct ReportList {
    reports: Vec<StoredReport>,
    /// Pass back as `cursor` for the next page; null on the last one.
    next_cursor: Option<String>,
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
    let scope = auth::scope(&user);
    let page = app.db(move |s| s.reports(&scope, &filter)).await?;
    Ok(axum::Json(ReportList { reports: page.reports, next_cursor: page.next.map(|key| format!("{}_{}", key.created_ms, key.id)) }))
}

pub async fn one(user: User, State(app): State<AppState>, Path(id): Path<String>) -> Result<axum::Json<StoredReport>> {
    let scope = auth::scope(&user);
    let key = id.clone();
    app.db(move |s| s.report(&scope, &key)).await?.map(axum::Json).ok_or_else(|| report_not_found(&id))
}

pub async fn set_status(
    user: User,
    State(app): State<AppState>,
    Path(id): Path<String>,
    Json(update): Json<StatusUpdate>,
) -> Result<axum::Json<StoredReport>> {
    auth::require_status_change(&user, update.status)?;
    if let Some(note) = &update.note {
        check_note(note).map_err(|e| Error::BadRequest(format!("note: {e}")))?;
    }
    match (&update.department, update.status) {
        (None, ReportStatus::Dispatched) => return Err(Error::BadRequest("`dispatched` needs a department".into())),
        (Some(d), ReportStatus::Dispatched) if check_label("department", d).is_err() => {
            return Err(Error::BadRequest(check_label("department", d).unwrap_err().to_string()));
        }
        (Some(_), status) if status != ReportStatus::Dispatched => {
            return Err(Error::BadRequest("department goes only with status `dispatched`".into()));
        }
        _ => {}
    }
    let change = StatusChange { status: update.status, note: update.note, department: update.department };
    let scope = auth::scope(&user);
    let report = app.db(move |s| s.set_status(&scope, &id, &user, &change, &|report| auth::check_status_change(&user, report))).await?;
    Ok(axum::Json(report))
}

pub async fn photo(user: User, State(app): State<AppState>, Path(sha256): Path<String>) -> Result<Response> {
    check_visible(&user, &app, &sha256).await?;
    let key = sha256.clone();
    let bytes = app.blob(move |b| b.get(BlobKind::Photo, &key)).await?;
    serve_jpeg(&sha256, bytes)
}

pub async fn thumbnail(user: User, State(app): State<AppState>, Path(sha256): Path<String>) -> Result<Response> {
    check_visible(&user, &app, &sha256).await?;
    let bytes = uploads::thumbnail(&app, sha256.clone()).await?;
    serve_jpeg(&sha256, bytes)
}

/// 404 unless a report the caller may see contains the photo.
async fn check_visible(user: &User, app: &AppState, sha256: &str) -> Result<()> {
    check_sha256(sha256)?;
    let scope = auth::scope(user);
    let key = sha256.to_owned();
    if !app.db(move |s| s.photo_visible(&scope, &key)).await? {
        return Err(Error::NotFound(format!("no photo {sha256}")));
    }
    Ok(())
}

fn serve_jpeg(sha256: &str, bytes: Option<Vec<u8>>) -> Result<Response> {
    let bytes = bytes.ok_or_else(|| Error::Internal(format!("photo {sha256} has a row but no file")))?;
    Ok((
        [
            (CONTENT_TYPE, "image/jpeg".to_owned()),
            // Content-addressed: the bytes under this name never change.
            (CACHE_CONTROL, "private, max-age=31536000, immutable".to_owned()),
            (ETAG, format!("\"{sha256}\"")),
        ],
        bytes,
    )
        .into_response())
}
