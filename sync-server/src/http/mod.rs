//! The HTTP layer, thin: handlers parse, ask [`crate::services`] and
//! answer a view. Also the router, the middleware every answer passes, the
//! one mapping from errors to answers ([`error`]) and the connections
//! ([`serve`]).

mod auth;
mod catalog;
mod console;
pub mod error;
mod extract;
pub mod forms;
mod ledger;
mod meta;
pub mod observe;
mod open311;
mod reports;
pub mod serve;
mod stats;
mod sync;
#[cfg(test)]
mod tests;
mod uploads;

pub use self::extract::{BODY_READ_TIMEOUT, MAX_JSON_BYTES};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{from_fn_with_state, map_response};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;

use self::error::error_response;
use crate::error::Error;
use crate::state::AppState;

/// Declares the routes once: `routes!(router; "/path" => get(handler), post(other); ...)`
/// adds each to the router and to the table that [`routes`] answers, so
/// the OpenAPI test can hold the document to exactly what is routed.
macro_rules! routes {
    ($router:expr; $($path:literal => $($method:ident($handler:expr)),+ ;)+) => {{
        let mut table: Vec<(&'static str, &'static str)> = Vec::new();
        let mut router = $router;
        $(
            router = router.route($path, axum::routing::MethodRouter::new()$(.$method($handler))+);
            $(table.push((const_upper(stringify!($method)), $path));)+
        )+
        (router, table)
    }};
}

/// The HTTP method of a routing function's name.
const fn const_upper(method: &'static str) -> &'static str {
    match method.as_bytes() {
        b"get" => "GET",
        b"post" => "POST",
        b"head" => "HEAD",
        b"patch" => "PATCH",
        b"put" => "PUT",
        b"delete" => "DELETE",
        _ => panic!("a method the routes table does not know"),
    }
}

/// The router and the table of every `(method, path)` of the JSON API
/// (the console's pages are not in it: they are not the API).
fn routing(app: Option<&AppState>) -> (Router<AppState>, Vec<(&'static str, &'static str)>) {
    let (uploads, upload_routes) = routes!(Router::<AppState>::new();
        "/v1/uploads" => post(uploads::create);
        "/v1/uploads/batch" => post(uploads::create_batch);
        "/v1/uploads/{sha256}" => head(uploads::offset), patch(uploads::append);
    );
    let (router, mut table) = routes!(Router::<AppState>::new();
        "/healthz" => get(meta::healthz);
        "/v1/openapi.json" => get(meta::openapi);
        "/metrics" => get(meta::metrics);
        "/v1/push" => post(sync::push);
        "/v1/changes" => get(sync::changes);
        "/v1/reports" => get(reports::list);
        "/v1/reports/{id}" => get(reports::one);
        "/v1/reports/{id}/actions" => post(reports::act);
        "/v1/reports/{id}/duplicates" => get(reports::duplicates);
        "/v1/tasks" => get(sync::tasks);
        "/v1/stats" => get(reports::stats);
        "/v1/ledger.xlsx" => get(ledger::xlsx);
        "/v1/ledger.csv" => get(ledger::csv);
        "/v1/stats/daily" => get(stats::daily);
        "/v1/stats/ranking" => get(stats::ranking);
        "/v1/departments" => get(catalog::departments), post(catalog::add_department);
        "/v1/routes" => get(catalog::routes);
        "/v1/routes/{category}" => put(catalog::set_route);
        "/v1/grids" => get(catalog::grids), post(catalog::import_grid);
        "/v1/photos/{sha256}" => get(reports::photo);
        "/v1/photos/{sha256}/thumbnail" => get(reports::thumbnail);
    );
    // Open311 GeoReport v2: errors in its own format, a photo in a POST.
    let (open311, open311_routes) = routes!(Router::<AppState>::new();
        "/open311/v2/discovery.json" => get(open311::discovery);
        "/open311/v2/services.json" => get(open311::services);
        "/open311/v2/requests.json" => get(open311::requests), post(open311::create);
        "/open311/v2/requests/{id}" => get(open311::request);
        "/open311/v2/media/{sha256}" => get(open311::media);
    );
    table.extend(upload_routes);
    table.extend(open311_routes);
    let open311 = open311.layer(DefaultBodyLimit::max(open311::MAX_POST_BYTES)).layer(map_response(open311::errors));
    let mut router = router.merge(uploads.layer(map_response(tus_resumable))).merge(open311);
    if let Some(app) = app {
        router = router.merge(console::router(app));
    }
    let router = router
        .fallback(|| async { Error::NotFound("no such route".into()) })
        // A bug that panics a handler answers 500 (made JSON below) and
        // leaves the connection and the server running.
        .layer(CatchPanicLayer::new())
        .layer(map_response(json_errors))
        .layer(map_response(no_sniffing));
    (router, table)
}

/// Every answer is logged and counted ([`observe`]), including the
/// fallback's 404 and a panic's 500.
fn observed(router: Router<AppState>, state: &AppState) -> Router<AppState> {
    router.layer(from_fn_with_state(state.clone(), observe::observe))
}

pub fn router(state: AppState) -> Router {
    observed(routing(Some(&state)).0, &state).with_state(state)
}

/// Every `(method, path)` the router serves.
pub fn routes() -> Vec<(&'static str, &'static str)> {
    routing(None).1
}

/// Browsers must take every answer for what its Content-Type says: a photo
/// is an image, an error is JSON, never a page to run.
async fn no_sniffing(mut response: Response) -> Response {
    response.headers_mut().insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// tus clients check this header on every answer of the upload endpoints.
async fn tus_resumable(mut response: Response) -> Response {
    response.headers_mut().insert(HeaderName::from_static("tus-resumable"), HeaderValue::from_static("1.0.0"));
    response
}

/// The safety net under [`Error`]'s own mapping: any error answer that is not
/// JSON yet (axum's 405, a rejection we did not wrap) becomes an
/// [`suishoupai_core::protocol::ErrorBody`], keeping its status and headers.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    // The console's error pages are HTML on purpose.
    let is_json_or_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json") || v.as_bytes().starts_with(b"text/html"));
    if !(status.is_client_error() || status.is_server_error()) || is_json_or_page {
        return response;
    }
    let code = match status {
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    };
    let message = match status {
        StatusCode::METHOD_NOT_ALLOWED => "this route does not take this method (see the Allow header)".to_owned(),
        s => s.canonical_reason().unwrap_or("error").to_owned(),
    };
    let (mut parts, _) = response.into_parts();
    let mut answer = error_response(status, code, message);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_TYPE);
    answer.headers_mut().extend(parts.headers);
    answer.into_response()
}
