//! The coordinators' console, served at `/`: HTML rendered on the server
//! from askama templates (`sync-server/templates/console/`, compiled into
//! the binary and checked at build time) over the same services and role
//! scopes as the JSON API, with a little vendored JavaScript for the map.
//! Every asset is embedded, so the console works on an intranet with no
//! internet at all: no CDN, no web font, no tile server unless `serve
//! --tiles URL` names one.
//!
//! Staff sign in with a name and a password ([`crate::services::sign_in`]);
//! every form is `multipart/form-data` with the session's CSRF token first
//! ([`forms`], [`session`]). Errors become pages ([`page::ConsoleError`]).

mod admin;
mod assets;
mod campaign;
mod cases;
mod forms;
mod i18n;
mod map;
mod page;
mod session;
mod sign_in;
mod stats;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_FRAME_OPTIONS};
use axum::http::{HeaderValue, Request};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use axum::routing::{get, post};

use self::page::see_other;
use self::session::Staff;
use crate::model::Role;
use crate::services::{grids, whole_photos};
use crate::state::AppState;

/// The console's routes (not part of the JSON API's OpenAPI document).
pub fn router(app: &AppState) -> Router<AppState> {
    // A rectification's after-photos, with room for the form around them.
    let act_limit = whole_photos::MAX_WHOLE_PHOTO_BYTES * 2 + (1 << 20);
    Router::new()
        .route("/", get(|| async { see_other("/console/") }))
        .route("/favicon.ico", get(assets::favicon))
        .route("/console", get(home))
        .route("/console/", get(home))
        .route("/console/sign-in", get(sign_in::form).post(sign_in::submit))
        .route("/console/sign-out", post(sign_in::sign_out))
        .route("/console/lang", get(sign_in::switch_language))
        .route("/console/cases", get(cases::list))
        .route("/console/cases/{id}", get(cases::one))
        .route("/console/cases/{id}/act", post(cases::act).layer(DefaultBodyLimit::max(act_limit)))
        .route("/console/queue", get(cases::queue))
        .route("/console/photos/{sha256}", get(cases::photo))
        .route("/console/photos/{sha256}/thumbnail", get(cases::thumbnail))
        .route("/console/stats", get(stats::page))
        .route("/console/bulletin", get(campaign::daily))
        .route("/console/ranking", get(campaign::ranking))
        .route("/console/ledger.xlsx", get(campaign::ledger_xlsx))
        .route("/console/ledger.csv", get(campaign::ledger_csv))
        .route("/console/admin", get(admin::page))
        .route("/console/admin/{form}", post(admin::submit).layer(DefaultBodyLimit::max(grids::MAX_GRID_FILE_BYTES + (1 << 20))))
        .route("/console/assets/{*path}", get(assets::asset))
        .layer(from_fn_with_state(content_security_policy(app), security_headers))
}

/// Where a signed-in user starts: a department at its queue, others at the cases.
async fn home(staff: Result<Staff, page::ConsoleError>) -> Response {
    match staff {
        Ok(staff) if matches!(staff.user.role, Role::Department | Role::GridWorker) => see_other("/console/queue"),
        Ok(_) => see_other("/console/cases"),
        Err(_) => see_other("/console/sign-in"),
    }
}

/// Scripts, styles and images from this server only (and tiles from the
/// one tile server named); no frames, no inline script.
fn content_security_policy(app: &AppState) -> HeaderValue {
    let tiles = app.settings.tiles.as_ref().and_then(|t| tile_origin(&t.url)).map(|o| format!(" {o}")).unwrap_or_default();
    let policy = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:{tiles}; connect-src 'self'; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    );
    HeaderValue::from_str(&policy).unwrap_or(HeaderValue::from_static("default-src 'self'"))
}

/// `scheme://host[:port]` of a tile URL template.
fn tile_origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split('/').next()?;
    (matches!(scheme, "http" | "https") && !host.is_empty()).then(|| format!("{scheme}://{host}"))
}

async fn security_headers(
    axum::extract::State(policy): axum::extract::State<HeaderValue>,
    request: Request<axum::body::Body>,
    next: Next,
) -> Response {
    let is_asset = request.uri().path().starts_with("/console/assets/") || request.uri().path() == "/favicon.ico";
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    // A page that set its own (stricter) policy keeps it.
    if !headers.contains_key(CONTENT_SECURITY_POLICY) {
        headers.insert(CONTENT_SECURITY_POLICY, policy);
    }
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !is_asset && !headers.contains_key(CACHE_CONTROL) {
        // Pages carry names and CSRF tokens: no cache keeps them.
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
