//! `POST /v1/uploads`, `POST /v1/uploads/batch`, `HEAD` and
//! `PATCH /v1/uploads/{sha256}`: resumable photo uploads. The order of
//! writes lives in [`crate::services::uploads`].

use axum::extract::{Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use suishoupai_core::protocol::{MAX_CHUNK_BYTES, MAX_UPLOAD_BATCH, UploadBatch, UploadBatchStates, UploadCreate};

use super::extract::{Json, Path, check_sha256, read_body};
use crate::error::{Error, Result};
use crate::model::{UploadKey, User};
use crate::services::uploads;
use crate::state::AppState;

pub async fn create(user: User, State(app): State<AppState>, Json(request): Json<UploadCreate>) -> Result<Response> {
    uploads::check_upload(&request, "")?;
    let state = uploads::start(&app, vec![request], user.id).await?.remove(0);
    let location = format!("/v1/uploads/{}", state.sha256);
    Ok(([(LOCATION, location)], axum::Json(state)).into_response())
}

pub async fn create_batch(
    user: User,
    State(app): State<AppState>,
    Json(request): Json<UploadBatch>,
) -> Result<axum::Json<UploadBatchStates>> {
    if request.uploads.len() > MAX_UPLOAD_BATCH {
        return Err(Error::TooLarge(format!(
            "a batch asks about at most {MAX_UPLOAD_BATCH} photos, this one about {}",
            request.uploads.len()
        )));
    }
    for (index, upload) in request.uploads.iter().enumerate() {
        uploads::check_upload(upload, &format!("uploads[{index}]."))?;
    }
    Ok(axum::Json(UploadBatchStates { uploads: uploads::start(&app, request.uploads, user.id).await? }))
}

pub async fn offset(user: User, State(app): State<AppState>, Path(sha256): Path<String>) -> Result<Response> {
    check_sha256(&sha256)?;
    let state = uploads::state(&app, UploadKey { user_id: user.id, sha256 }).await?;
    Ok((
        StatusCode::OK,
        [
            ("upload-offset", state.offset.to_string()),
            ("upload-length", state.length.to_string()),
            (CACHE_CONTROL.as_str(), "no-store".to_owned()),
        ],
    )
        .into_response())
}

pub async fn append(
    user: User,
    State(app): State<AppState>,
    Path(sha256): Path<String>,
    headers: HeaderMap,
    request: Request,
) -> Result<Response> {
    check_sha256(&sha256)?;
    if headers.get(CONTENT_TYPE).is_none_or(|v| v.as_bytes() != b"application/offset+octet-stream") {
        return Err(Error::UnsupportedMediaType("Content-Type must be application/offset+octet-stream".into()));
    }
    let offset = headers
        .get("upload-offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(|| Error::BadRequest("Upload-Offset header is missing or not a non-negative integer".into()))?;
    let too_large = || Error::TooLarge(format!("a chunk is at most {MAX_CHUNK_BYTES} bytes"));
    let chunk = read_body(request.into_body(), MAX_CHUNK_BYTES as usize).await.map_err(|e| match e {
        Error::TooLarge(_) => too_large(),
        other => other,
    })?;
    let bytes = chunk.len() as u64;
    let offset = uploads::append(&app, UploadKey { user_id: user.id, sha256 }, offset, chunk).await?;
    app.metrics.uploaded(bytes);
    Ok((StatusCode::NO_CONTENT, [("upload-offset", offset.to_string())]).into_response())
}
