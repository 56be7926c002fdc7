//! The one place where errors become HTTP answers: a status, a stable code
//! and a JSON [`ErrorBody`].

use axum::http::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use suishoupai_core::protocol::{ErrorBody, InvalidTransitionBody, MissingPhotosBody};

use super::observe::ErrorCode;
use crate::error::Error;
use crate::storage::StorageError;

/// The status and the stable code of [`ErrorBody::error`] for `e`.
pub fn status_and_code(e: &Error) -> (StatusCode, &'static str) {
    match e {
        e if e.is_disk_full() => (StatusCode::INSUFFICIENT_STORAGE, "storage_full"),
        // The database or the bucket is down or unreachable: another try,
        // later or on another instance, may work.
        e if e.is_unavailable() => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        Error::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
        Error::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
        Error::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
        Error::NotFound(_) | Error::UnknownUser(_) => (StatusCode::NOT_FOUND, "not_found"),
        Error::OffsetMismatch { .. } => (StatusCode::CONFLICT, "offset_mismatch"),
        Error::Conflict(_) | Error::DuplicateUser(_) | Error::Storage(StorageError::Conflict(_)) => (StatusCode::CONFLICT, "conflict"),
        Error::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
        Error::UnsupportedMediaType(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
        Error::ChecksumMismatch { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "checksum_mismatch"),
        Error::BadPhoto(_) => (StatusCode::UNPROCESSABLE_ENTITY, "bad_photo"),
        Error::PrivateMetadata(_) => (StatusCode::UNPROCESSABLE_ENTITY, "private_metadata"),
        Error::QuotaExceeded { .. } => (StatusCode::TOO_MANY_REQUESTS, "quota_exceeded"),
        Error::TooManyAttempts { .. } => (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts"),
        Error::Timeout(_) => (StatusCode::REQUEST_TIMEOUT, "timeout"),
        Error::InvalidTransition { .. } => (StatusCode::CONFLICT, "invalid_transition"),
        Error::MissingPhotos { .. } => (StatusCode::CONFLICT, "missing_photos"),
        Error::ActionConflict(_) => (StatusCode::CONFLICT, "action_conflict"),
        Error::Storage(_) | Error::PhotoStore { .. } | Error::Io { .. } | Error::DamagedPhoto { .. } | Error::Internal(_) => {
            (StatusCode::INTERNAL_SERVER_ERROR, "internal")
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, code) = status_and_code(&self);
        let message = if status == StatusCode::INSUFFICIENT_STORAGE {
            tracing::error!(code, detail = %self, "the disk is full");
            "the server's disk is full: nothing of this request was kept; try again later".to_owned()
        } else if status == StatusCode::SERVICE_UNAVAILABLE {
            tracing::error!(code, detail = %self, "the database or the photo store is unavailable");
            "the server cannot reach its database or its photo store: nothing of this request was kept; try again shortly".to_owned()
        } else if status.is_server_error() {
            // Paths and SQL belong in the log, not in a client's hands (a
            // server fault's text is the server's own, never the client's).
            tracing::error!(code, detail = %self, "a request failed");
            "the server failed to handle this request; it has been logged".to_owned()
        } else {
            self.to_string()
        };
        let error = match self {
            // Two answers carry more than a message: what the client needs to go on.
            Error::InvalidTransition { message, status: case_status, allowed } => {
                let body = InvalidTransitionBody { error: code.to_owned(), message, status: case_status, allowed_actions: allowed };
                return with_code((status, axum::Json(body)).into_response(), code);
            }
            Error::MissingPhotos { message, missing } => {
                return with_code(
                    (status, axum::Json(MissingPhotosBody { error: code.to_owned(), message, missing })).into_response(),
                    code,
                );
            }
            other => other,
        };
        let mut response = error_response(status, code, message);
        match &error {
            // RFC 6750: a client told to authenticate is told how.
            Error::Unauthorized(_) => {
                response.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static(r#"Bearer realm="suishoupai""#));
            }
            Error::QuotaExceeded { retry_after_secs, .. } | Error::TooManyAttempts { retry_after_secs, .. } => {
                response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            e if e.is_unavailable() => {
                response.headers_mut().insert(RETRY_AFTER, HeaderValue::from_static("5"));
            }
            _ => {}
        }
        response
    }
}

pub fn error_response(status: StatusCode, code: &'static str, message: String) -> Response {
    with_code((status, axum::Json(ErrorBody { error: code.to_owned(), message })).into_response(), code)
}

/// Marks an answer with its error code, for the request log.
fn with_code(mut response: Response, code: &'static str) -> Response {
    response.extensions_mut().insert(ErrorCode(code));
    response
}
