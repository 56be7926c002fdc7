//! The extractors that turn every malformed request into an [`Error`], so
//! that axum's plain-text rejections never leak, and the small parsers of
//! parameters every handler shares.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;
use suishoupai_core::rules::is_sha256_hex;

use crate::error::{Error, Result};

/// The largest JSON body taken. A push of 100 reports with 2000-character
/// Chinese notes is about 0.8 MB, or 1.4 MB from a client that escapes every
/// non-ASCII character as `\uXXXX`; it must fit.
pub const MAX_JSON_BYTES: usize = 2 * 1024 * 1024;

/// How much of an oversize body is read and thrown away before answering
/// 413. Closing the connection on a client still sending makes its TCP stack
/// drop our answer (a reset), so the client would see a network error and
/// retry forever instead of reading the 413; a body past this is abuse.
const DRAIN_BYTES: usize = 16 * 1024 * 1024;

/// How long a request's body may take to arrive. A 256 KiB chunk on a weak
/// 2G link (about 40 kbit/s up) takes some 52 s, and the device's own
/// timeout per request is 60 s; a client slower than this is gone or
/// dribbling on purpose, and holds a connection for nothing.
pub const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Reads a body of at most `limit` bytes within [`BODY_READ_TIMEOUT`]; more
/// is 413, slower is 408.
pub async fn read_body(body: Body, limit: usize) -> Result<Bytes> {
    tokio::time::timeout(BODY_READ_TIMEOUT, read_body_untimed(body, limit))
        .await
        .unwrap_or_else(|_| Err(Error::Timeout(format!("the request body did not arrive within {} s", BODY_READ_TIMEOUT.as_secs()))))
}

async fn read_body_untimed(mut body: Body, limit: usize) -> Result<Bytes> {
    // Sized from Content-Length when given, so a photo is not copied again
    // each time the buffer grows.
    let announced = axum::body::HttpBody::size_hint(&body).lower().min(limit as u64);
    let mut bytes = Vec::with_capacity(announced as usize);
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| Error::BadRequest(format!("could not read the request body: {e}")))?;
        let Ok(data) = frame.into_data() else { continue };
        seen += data.len();
        if seen <= limit {
            bytes.extend_from_slice(&data);
        } else if seen > limit + DRAIN_BYTES {
            break;
        }
    }
    if seen > limit {
        return Err(Error::TooLarge(format!("the request body is larger than {limit} bytes")));
    }
    Ok(Bytes::from(bytes))
}

/// A JSON body: `Content-Type: application/json`, at most
/// [`MAX_JSON_BYTES`], and errors that name the offending field.
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = Error;

    async fn from_request(req: Request, _state: &S) -> Result<Self> {
        let is_json = req.headers().get(CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
        if !is_json {
            return Err(Error::UnsupportedMediaType("Content-Type must be application/json".into()));
        }
        let bytes = read_body(req.into_body(), MAX_JSON_BYTES).await?;
        // Plain serde first; the path is tracked only to explain a failure.
        if let Ok(value) = serde_json::from_slice(&bytes) {
            return Ok(Json(value));
        }
        let deserializer = &mut serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(deserializer).map(Json).map_err(|e| {
            let path = e.path().to_string();
            if path == "." {
                Error::BadRequest(format!("invalid JSON body: {}", e.inner()))
            } else {
                Error::BadRequest(format!("invalid JSON body at `{path}`: {}", e.inner()))
            }
        })
    }
}

/// Query parameters; an unknown or ill-formed one is a 400 that names it.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self> {
        serde_urlencoded::from_str(parts.uri.query().unwrap_or_default())
            .map(Query)
            .map_err(|e| Error::BadRequest(format!("invalid query string: {e}")))
    }
}

/// Path parameters, with axum's rejection turned into a 400 [`Error`].
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|e| Error::BadRequest(format!("invalid path: {}", e.body_text())))
    }
}

pub fn check_sha256(sha256: &str) -> Result<()> {
    if is_sha256_hex(sha256) { Ok(()) } else { Err(Error::BadRequest("sha256 must be 64 lower-case hex digits".into())) }
}

/// A `limit` parameter: absent means `default`, above `max` is capped.
pub fn parse_limit(value: Option<&str>, default: usize, max: usize) -> Result<usize> {
    match value {
        None => Ok(default),
        // A larger limit is the largest, however many digits it has.
        Some(text) if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && text.bytes().any(|b| b != b'0') => {
            Ok(text.parse::<usize>().map_or(max, |n| n.min(max)))
        }
        Some(text) => Err(Error::BadRequest(format!("limit `{text}` must be a positive integer (at most {max})"))),
    }
}
