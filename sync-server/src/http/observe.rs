//! The request log and the request counters: one middleware that every
//! answer passes.
//!
//! Each request makes one `tracing` event (target `request`, a JSON line on
//! stderr) with its method, its route *template* (`/v1/reports/{id}`:
//! never the path as sent, never the query), the status, the time to the
//! answer's head in milliseconds, the caller's user id once a token or a
//! console session named one, and an error answer's stable code. Nothing
//! else of the request is read: no header (so no token or cookie), no
//! query (so no `api_key`), no body (so no note, name, password or
//! coordinate), and no error message, which may quote what the client
//! sent.

use std::cell::Cell;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

tokio::task_local! {
    /// The user id of the request this task is serving, once known.
    static CALLER: Cell<Option<i64>>;
}

/// The route of requests no route matched, in logs and metrics.
pub const UNMATCHED: &str = "unmatched";

/// The stable code of an error answer, put in its extensions where it is
/// made, for the log.
#[derive(Debug, Clone, Copy)]
pub struct ErrorCode(pub &'static str);

/// Notes who the request being served is for (called where a token or a
/// session is found valid). Outside a request it does nothing.
pub fn note_caller(user_id: i64) {
    let _ = CALLER.try_with(|caller| caller.set(Some(user_id)));
}

pub async fn observe(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request.extensions().get::<MatchedPath>().map_or(UNMATCHED, |m| m.as_str()).to_owned();
    let (response, user_id) = CALLER
        .scope(Cell::new(None), async move {
            let response = next.run(request).await;
            (response, CALLER.with(Cell::get))
        })
        .await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    app.metrics.request(&method, &route, status, elapsed.as_secs_f64());
    let error = response.extensions().get::<ErrorCode>().map(|c| c.0);
    let duration_ms = (elapsed.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0;
    tracing::info!(target: "request", method, route, status, duration_ms, user_id, error);
    response
}
