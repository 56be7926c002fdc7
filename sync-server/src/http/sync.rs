//! `POST /v1/push` and `GET /v1/changes`: what devices call to sync.

use axum::extract::State;
use serde::Deserialize;
use suishoupai_core::protocol::{ChangesPage, MAX_PUSH_REPORTS, PushResponse};

use super::extract::{Json, Query, parse_limit};
use crate::auth::require_reporter;
use crate::error::{Error, Result};
use crate::model::User;
use crate::services::quotas::Quota;
use crate::services::{push, reports, tasks};
use crate::state::AppState;

/// [`suishoupai_core::protocol::PushRequest`], with each report kept as
/// JSON text until [`push::candidate`] judges it on its own (unparsed: a
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
    let now_ms = app.now_ms();
    let candidates = body
        .reports
        .iter()
        .enumerate()
        .map(|(index, report)| push::candidate(&user, index, report.get(), now_ms))
        .collect::<Result<Vec<_>>>()?;
    let grids = app.grids.clone();
    let quota = Quota::at(&app.settings, now_ms)?;
    let counted = app.db(move |s| push::push_counted(s, &grids, &user, &candidates, now_ms, &quota)).await?;
    let results = counted
        .into_iter()
        .map(|(result, fate)| {
            app.metrics.pushed(fate);
            result
        })
        .collect();
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
    let batch = app.db(move |s| reports::changes(s, &user, after, limit)).await?;
    Ok(axum::Json(ChangesPage {
        changes: batch.changes,
        // An empty page keeps the client where it was.
        next_cursor: batch.last_seq.or(after).map(|seq| seq.to_string()),
        has_more: batch.has_more,
    }))
}

/// `GET /v1/tasks`: the cases the caller may act on, for working offline.
pub async fn tasks(user: User, State(app): State<AppState>) -> Result<axum::Json<suishoupai_core::protocol::TaskFeed>> {
    let now_ms = app.now_ms();
    Ok(axum::Json(app.db(move |s| tasks::feed(s, &user, now_ms)).await?))
}
