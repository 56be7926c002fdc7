//! `GET /v1/ledger.xlsx` and `GET /v1/ledger.csv`: the ledger (台账) with
//! the list filters of `GET /v1/reports`, plus `from` and `to` (local
//! dates) for the statistics sheet, by default the last 30 days. The file
//! is written to an unnamed temporary file on the blocking pool, a page of
//! reports at a time, and streamed from there: memory stays bounded at any
//! number of rows.

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE, HOST};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use chrono::{Days, NaiveDate, TimeZone};
use std::io::Seek;

use super::reports::{ListQuery, local_date, report_filter};
use crate::error::{Error, Result};
use crate::model::User;
use crate::services::ledger::{self, LedgerFormat, LedgerRequest};
use crate::state::AppState;

/// Days of the statistics sheet when no period is asked for.
const DEFAULT_DAYS: u64 = 30;

/// Where the photo links point: this server as the client reached it.
fn base_url(headers: &HeaderMap) -> Result<String> {
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.len() <= 255 && h.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| Error::BadRequest("a ledger needs the request's Host header for its photo links".into()))?;
    let https = headers.get("x-forwarded-proto").is_some_and(|p| p.as_bytes().eq_ignore_ascii_case(b"https"));
    Ok(format!("{}://{host}", if https { "https" } else { "http" }))
}

fn today(app: &AppState) -> NaiveDate {
    app.settings.timezone.timestamp_millis_opt(app.now_ms()).single().map(|t| t.date_naive()).unwrap_or_default()
}

/// The ledger asked for by a query string and the request's headers.
pub(super) fn ledger_request(app: &AppState, query: Option<&str>, headers: &HeaderMap) -> Result<LedgerRequest> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or_default())
        .map_err(|e| Error::BadRequest(format!("the query string is not one: {e}")))?;
    let (mut from, mut to) = (None, None);
    let mut rest = Vec::new();
    for (name, value) in pairs {
        match name.as_str() {
            "from" => from = Some(local_date("from", &value)?),
            "to" => to = Some(local_date("to", &value)?),
            "limit" | "cursor" => return Err(Error::BadRequest(format!("a ledger lists every report: no `{name}`"))),
            _ => rest.push((name, value)),
        }
    }
    let encoded = serde_urlencoded::to_string(&rest).map_err(|e| Error::Internal(e.to_string()))?;
    let list: ListQuery = serde_urlencoded::from_str(&encoded).map_err(|e| Error::BadRequest(format!("bad ledger filter: {e}")))?;
    let now_ms = app.now_ms();
    let to = to.unwrap_or_else(|| today(app));
    let from = from.unwrap_or_else(|| to.checked_sub_days(Days::new(DEFAULT_DAYS - 1)).unwrap_or(to));
    Ok(LedgerRequest {
        filter: report_filter(list, now_ms)?,
        from,
        to,
        base_url: base_url(headers)?,
        timezone: app.settings.timezone,
        now_ms,
    })
}

/// Writes the ledger for `user` and answers it as a download.
pub(super) async fn download(app: &AppState, user: User, request: LedgerRequest, format: LedgerFormat) -> Result<Response> {
    let name = format!("ledger-{}.{}", today(app), format.extension());
    let file = app
        .db(move |s| {
            let mut file = tempfile::tempfile().map_err(Error::io(std::env::temp_dir()))?;
            ledger::write_for(s, &user, &request, format, &mut file)?;
            file.rewind().map_err(Error::io(std::env::temp_dir()))?;
            Ok(file)
        })
        .await?;
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file)));
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(([(CONTENT_TYPE, HeaderValue::from_static(format.content_type())), (CONTENT_DISPOSITION, disposition)], body).into_response())
}

pub async fn xlsx(user: User, State(app): State<AppState>, RawQuery(query): RawQuery, headers: HeaderMap) -> Result<Response> {
    let request = ledger_request(&app, query.as_deref(), &headers)?;
    download(&app, user, request, LedgerFormat::Xlsx).await
}

pub async fn csv(user: User, State(app): State<AppState>, RawQuery(query): RawQuery, headers: HeaderMap) -> Result<Response> {
    let request = ledger_request(&app, query.as_deref(), &headers)?;
    download(&app, user, request, LedgerFormat::Csv).await
}
