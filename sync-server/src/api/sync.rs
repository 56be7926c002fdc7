//! `POST /v1/push` and `GET /v1/changes`: what devices call to sync.

use axum::extract::State;
use serde::Deserialize;
use suishoupai_core::protocol::{ChangesPage, MAX_PUSH_REPORTS, PushResponse};

use super::{Json, Query, parse_limit};
use crate::app::AppState;
use crate::auth::{self, User, require_reporter};
use crate::error::{Error, Result};
use crate::rules;

/// [`suishoupai_core::protocol::PushRequest`], with each report kept as
/// JSON text until [`rules::candidate`] judges it on its own (unparsed: a
/// tree of `Value`s cost more than all the checks).
#[derive(Deserialize)]
pub struct PushBody {
    reports: Vec<Box<serde_json::value::RawValue>>,
}

pub async fn push(user: User, State(app): State<AppState>, Json(body): Json<PushBody>) -> Result<axum::Json<PushResponse>> {
    require_reporter(&user)?;
    if body.reports.len() > MAX_PUSH_REPORTS {
        return Err(Error::TooLarge(format!("a push carries at most {MAX_PUSH_REPORTS} reports, this one has {}", body.reports.len())));
    }
    let now_ms = crate::uploads::now_ms();
    let candidates = body
        .reports
        .iter()
        .enumerate()
        .map(|(index, report)| rules::candidate(&user, index, report.get(), now_ms))
        .collect::<Result<Vec<_>>>()?;
    let results = app.db(move |s| s.push_reports(&user, &candidates)).await?;
    Ok(axum::Json(PushResponse { results }))
}

pub const DEFAULT_CHANGES: usize = 100;
pub const MAX_CHANGES: usize = 1000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangesQuery {
    cursor: Option<String>,
    limit: Option<String>,
}

pub async fn changes(user: User, State(app): State<AppState>, Query(query): Query<ChangesQuery>) -> Result<axum::Json<ChangesPage>> {
    // The cursor is the sequence number of the last change handed out;
    // clients treat it as opaque.
    let after = match query.cursor.as_deref() {
        None | Some("") => None,
        Some(text) => Some(
            text.parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| Error::BadRequest(format!("cursor `{text}` is not one this server gave out")))?,
        ),
    };
    let limit = parse_limit(query.limit.as_deref(), DEFAULT_CHANGES, MAX_CHANGES)?;
    let scope = auth::scope(&user);
    let batch = app.db(move |s| s.changes(&scope, after, limit)).await?;
    Ok(axum::Json(ChangesPage {
        changes: batch.changes,
        // An empty page keeps the client where it was.
        next_cursor: batch.last_seq.or(after).map(|seq| seq.to_string()),
        has_more: batch.has_more,
    }))
}
