//! The server's one error type, and the one place where errors become HTTP
//! answers. Every variant carries a message for people that names the field,
//! header or limit at fault; none carries tokens, notes or coordinates.

use axum::http::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use suishoupai_core::protocol::ErrorBody;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Malformed request: bad JSON, a missing or ill-formed field, header or parameter.
    #[error("{0}")]
    BadRequest(String),

    #[error("{0}")]
    Unauthorized(String),

    /// The caller is known but their role may not do this.
    #[error("{0}")]
    Forbidden(String),

    /// Also answered for things that exist but the caller may not see, so that
    /// existence is not revealed.
    #[error("{0}")]
    NotFound(String),

    #[error("Upload-Offset is {got} but the server has {expected} bytes of this upload")]
    OffsetMismatch { expected: u64, got: u64 },

    /// The request is well-formed but the state of the thing forbids it
    /// (a department marking rectified a report no longer dispatched).
    #[error("{0}")]
    Conflict(String),

    #[error("{0}")]
    TooLarge(String),

    #[error("{0}")]
    UnsupportedMediaType(String),

    #[error("the uploaded bytes have sha256 {actual}, not the announced {expected}; the upload was discarded")]
    ChecksumMismatch { expected: String, actual: String },

    /// A photo that is not a whole, decodable JPEG within the limits. The
    /// message says what is wrong (and, for an upload, that it was discarded).
    #[error("{0}")]
    BadPhoto(String),

    /// An uploaded photo still carries private metadata; it was discarded.
    #[error("{0}")]
    PrivateMetadata(String),

    /// The caller is over an allowance; trying again after `retry_after_secs` may work.
    #[error("{message}")]
    QuotaExceeded { message: String, retry_after_secs: u64 },

    /// The client sent its request too slowly.
    #[error("{0}")]
    Timeout(String),

    /// A command named a user who does not exist.
    #[error("there is no user named `{0}`")]
    UnknownUser(String),

    /// `user add` with a name already taken.
    #[error("a user named `{0}` already exists")]
    DuplicateUser(String),

    #[error("the database was written by a newer server (schema {found}, this server knows up to {supported})")]
    SchemaTooNew { found: i64, supported: i64 },

    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),

    #[error("file error on {path}: {source}")]
    Io { path: std::path::PathBuf, source: std::io::Error },

    /// A bug or a broken invariant; the detail goes to the log, not the client.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub(crate) fn io(path: impl Into<std::path::PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::OffsetMismatch { .. } | Error::Conflict(_) | Error::DuplicateUser(_) => StatusCode::CONFLICT,
            Error::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::ChecksumMismatch { .. } | Error::BadPhoto(_) | Error::PrivateMetadata(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::QuotaExceeded { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            Error::UnknownUser(_) => StatusCode::NOT_FOUND,
            Error::SchemaTooNew { .. } | Error::Database(_) | Error::Io { .. } | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code of [`ErrorBody::error`].
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadRequest(_) => "bad_request",
            Error::Unauthorized(_) => "unauthorized",
            Error::Forbidden(_) => "forbidden",
            Error::NotFound(_) => "not_found",
            Error::OffsetMismatch { .. } => "offset_mismatch",
            Error::Conflict(_) | Error::DuplicateUser(_) => "conflict",
            Error::TooLarge(_) => "too_large",
            Error::UnsupportedMediaType(_) => "unsupported_media_type",
            Error::ChecksumMismatch { .. } => "checksum_mismatch",
            Error::BadPhoto(_) => "bad_photo",
            Error::PrivateMetadata(_) => "private_metadata",
            Error::QuotaExceeded { .. } => "quota_exceeded",
            Error::Timeout(_) => "timeout",
            Error::UnknownUser(_) => "not_found",
            Error::SchemaTooNew { .. } | Error::Database(_) | Error::Io { .. } | Error::Internal(_) => "internal",
        }
    }
}

/// The one mapping from errors to answers: status, JSON [`ErrorBody`].
impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = if status.is_server_error() {
            // Paths and SQL belong in the log, not in a client's hands.
            eprintln!("error: {self}");
            "the server failed to handle this request; it has been logged".to_owned()
        } else {
            self.to_string()
        };
        let mut response = error_response(status, self.code(), message);
        match &self {
            // RFC 6750: a client told to authenticate is told how.
            Error::Unauthorized(_) => {
                response.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static(r#"Bearer realm="suishoupai""#));
            }
            Error::QuotaExceeded { retry_after_secs, .. } => {
                response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            _ => {}
        }
        response
    }
}

pub fn error_response(status: StatusCode, code: &str, message: String) -> Response {
    (status, axum::Json(ErrorBody { error: code.to_owned(), message })).into_response()
}

/// The core's storage helpers (migration runner, durable writes) report in
/// the core's error type; only these variants can come from them.
impl From<suishoupai_core::Error> for Error {
    fn from(e: suishoupai_core::Error) -> Self {
        match e {
            suishoupai_core::Error::SchemaTooNew { found, supported } => Error::SchemaTooNew { found, supported },
            suishoupai_core::Error::Database(e) => Error::Database(e),
            suishoupai_core::Error::Io { path, source } => Error::Io { path, source },
            suishoupai_core::Error::StoreDamaged(detail) => Error::Internal(format!("the database is damaged: {detail}")),
            other => Error::Internal(other.to_string()),
        }
    }
}
