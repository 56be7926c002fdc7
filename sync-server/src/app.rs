//! The router and the state every handler shares.

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::map_response;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, head, post};
use tower_http::catch_panic::CatchPanicLayer;

use crate::api;
use crate::auth::KnownUsers;
use crate::blobs::Blobs;
use crate::error::{Error, Result, error_response};
use crate::storage::{Storage, UploadAllowance};
use crate::uploads::UploadLocks;
use suishoupai_core::protocol;

#[derive(Clone)]
pub struct AppState {
    pub storage: Arc<dyn Storage>,
    pub blobs: Arc<dyn Blobs>,
    pub upload_locks: Arc<UploadLocks>,
    pub known_users: Arc<KnownUsers>,
    pub settings: Settings,
}

/// What a deployment may tune; [`Settings::default`] is documented in the README.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub upload_allowance: UploadAllowance,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            upload_allowance: UploadAllowance {
                max_open: protocol::MAX_OPEN_UPLOADS_PER_USER,
                max_declared_bytes: protocol::MAX_OPEN_UPLOAD_BYTES_PER_USER,
            },
        }
    }
}

impl AppState {
    pub fn new(storage: Arc<dyn Storage>, blobs: Arc<dyn Blobs>, settings: Settings) -> Self {
        AppState { storage, blobs, upload_locks: Arc::default(), known_users: Arc::default(), settings }
    }

    /// Runs a storage call on the blocking pool: SQLite calls block, and an
    /// fsync must not stall the async workers.
    pub async fn db<T: Send + 'static>(&self, f: impl FnOnce(&dyn Storage) -> Result<T> + Send + 'static) -> Result<T> {
        let storage = self.storage.clone();
        tokio::task::spawn_blocking(move || f(&*storage)).await.map_err(|e| Error::Internal(format!("storage task failed: {e}")))?
    }

    /// Runs a step that needs both storage and blobs as one blocking task.
    pub async fn blocking<T: Send + 'static>(&self, f: impl FnOnce(&dyn Storage, &dyn Blobs) -> Result<T> + Send + 'static) -> Result<T> {
        let (storage, blobs) = (self.storage.clone(), self.blobs.clone());
        tokio::task::spawn_blocking(move || f(&*storage, &*blobs)).await.map_err(|e| Error::Internal(format!("upload task failed: {e}")))?
    }

    /// Runs a blob call (file I/O, fsync, photo checks) on the blocking pool.
    pub async fn blob<T: Send + 'static>(&self, f: impl FnOnce(&dyn Blobs) -> Result<T> + Send + 'static) -> Result<T> {
        let blobs = self.blobs.clone();
        tokio::task::spawn_blocking(move || f(&*blobs)).await.map_err(|e| Error::Internal(format!("blob task failed: {e}")))?
    }
}

/// Every route of the router, as `(method, path)`: the OpenAPI document must
/// describe exactly these (a test holds both to it).
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/v1/openapi.json"),
    ("POST", "/v1/uploads"),
    ("POST", "/v1/uploads/batch"),
    ("HEAD", "/v1/uploads/{sha256}"),
    ("PATCH", "/v1/uploads/{sha256}"),
    ("POST", "/v1/push"),
    ("GET", "/v1/changes"),
    ("GET", "/v1/reports"),
    ("GET", "/v1/reports/{id}"),
    ("POST", "/v1/reports/{id}/status"),
    ("GET", "/v1/photos/{sha256}"),
    ("GET", "/v1/photos/{sha256}/thumbnail"),
];

pub fn router(state: AppState) -> Router {
    let uploads = Router::new()
        .route("/v1/uploads", post(api::uploads::create))
        .route("/v1/uploads/batch", post(api::uploads::create_batch))
        .route("/v1/uploads/{sha256}", head(api::uploads::offset).patch(api::uploads::append))
        .layer(map_response(tus_resumable));
    Router::new()
        .route("/healthz", get(api::meta::healthz))
        .route("/v1/openapi.json", get(api::meta::openapi))
        .merge(uploads)
        .route("/v1/push", post(api::sync::push))
        .route("/v1/changes", get(api::sync::changes))
        .route("/v1/reports", get(api::reports::list))
        .route("/v1/reports/{id}", get(api::reports::one))
        .route("/v1/reports/{id}/status", post(api::reports::set_status))
        .route("/v1/photos/{sha256}", get(api::reports::photo))
        .route("/v1/photos/{sha256}/thumbnail", get(api::reports::thumbnail))
        .fallback(|| async { Error::NotFound("no such route".into()) })
        // A bug that panics a handler answers 500 (made JSON below) and
        // leaves the connection and the server running.
        .layer(CatchPanicLayer::new())
        .layer(map_response(json_errors))
        .layer(map_response(no_sniffing))
        .with_state(state)
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
    let is_json = response.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
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
