//! Resumable photo uploads (tus 1.0 core semantics): the order in which
//! chunk bytes, offsets, checks and photo rows are made durable.
//!
//! A chunk is written (fsynced) before its offset moves in storage, so a
//! crash between the two leaves the offset behind the bytes, and the client
//! simply sends that chunk again. A complete upload is checked (sha256, JPEG
//! within limits, decodable) before its blobs are stored, and its photo row
//! is written last.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use suishoupai_core::photo::{Format, exif, format, render, sha256_hex};
use suishoupai_core::protocol::UploadState;

use crate::app::AppState;
use crate::blobs::BlobKind;
use crate::error::{Error, Result};
use crate::storage::PhotoMeta;

/// Long edge of the thumbnails the read API serves.
pub const THUMBNAIL_LONG_EDGE: u32 = 320;
const THUMBNAIL_QUALITY: u8 = 75;

/// One async lock per upload under way, so that two PATCHes of the same
/// upload cannot interleave their file writes. Different uploads proceed
/// in parallel.
#[derive(Default)]
pub struct UploadLocks {
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl UploadLocks {
    async fn hold(&self, sha256: &str) -> UploadGuard<'_> {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
            locks.entry(sha256.to_owned()).or_default().clone()
        };
        let guard = lock.clone().lock_owned().await;
        UploadGuard { locks: self, sha256: sha256.to_owned(), lock, _guard: Some(guard) }
    }
}

struct UploadGuard<'a> {
    locks: &'a UploadLocks,
    sha256: String,
    lock: Arc<tokio::sync::Mutex<()>>,
    _guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Drop for UploadGuard<'_> {
    fn drop(&mut self) {
        self._guard.take();
        let mut locks = self.locks.locks.lock().unwrap_or_else(|p| p.into_inner());
        // Two references left (the map's and ours): nobody else waits; forget it.
        if Arc::strong_count(&self.lock) == 2 {
            locks.remove(&self.sha256);
        }
    }
}

/// The state of an upload for HEAD: under way, or complete (offset = length).
pub async fn state(app: &AppState, sha256: String) -> Result<UploadState> {
    let key = sha256.clone();
    let (upload, photo) = app.db(move |s| Ok((s.upload(&key)?, s.photo(&key)?))).await?;
    match (photo, upload) {
        (Some(photo), _) => Ok(UploadState { sha256, offset: photo.bytes, length: photo.bytes, complete: true }),
        (None, Some(up)) => Ok(UploadState { sha256, offset: up.offset, length: up.length, complete: false }),
        (None, None) => Err(Error::NotFound(format!("no upload {sha256}"))),
    }
}

/// Appends one chunk at `offset`; answers the new offset.
pub async fn append(app: &AppState, sha256: String, offset: u64, chunk: axum::body::Bytes) -> Result<u64> {
    let _held = app.upload_locks.hold(&sha256).await;
    let current = state(app, sha256.clone()).await?;
    if offset != current.offset {
        return Err(Error::OffsetMismatch { expected: current.offset, got: offset });
    }
    if current.complete {
        // The last chunk's answer was lost and the client asks again.
        return Ok(current.offset);
    }
    let end = offset + chunk.len() as u64;
    if end > current.length {
        return Err(Error::TooLarge(format!("the chunk ends at byte {end}, past the upload's declared length {}", current.length)));
    }
    if chunk.is_empty() {
        return Ok(offset);
    }
    let key = sha256.clone();
    app.blob(move |b| b.write_chunk(&key, offset, &chunk)).await?;
    if end < current.length {
        let key = sha256.clone();
        app.db(move |s| s.advance_upload(&key, offset, end)).await?;
        return Ok(end);
    }
    complete(app, sha256, current.length).await?;
    Ok(end)
}

/// All bytes are in: check them, store the photo and its thumbnail, and
/// forget the partial. A photo that fails a check is discarded.
async fn complete(app: &AppState, sha256: String, length: u64) -> Result<()> {
    let key = sha256.clone();
    let checked = app
        .blob(move |b| {
            let bytes = b.read_partial(&key, length)?;
            Ok(check_photo(&key, &bytes).map(|(meta, thumbnail)| (meta, thumbnail, bytes)))
        })
        .await?;
    let key = sha256.clone();
    let (meta, thumbnail, bytes) = match checked {
        Ok(done) => done,
        Err(refused) => {
            app.db(move |s| s.drop_upload(&key)).await?;
            let key = sha256.clone();
            app.blob(move |b| b.discard_partial(&key)).await?;
            return Err(refused);
        }
    };
    let photo = meta.clone();
    app.blob(move |b| {
        b.put(BlobKind::Photo, &key, &bytes)?;
        b.put(BlobKind::Thumbnail, &key, &thumbnail)
    })
    .await?;
    app.db(move |s| s.finish_upload(&photo)).await?;
    app.blob(move |b| b.discard_partial(&sha256)).await
}

/// Checks the bytes are the announced photo and a JPEG within the core's
/// limits, and makes its thumbnail (which also proves it decodes).
pub fn check_photo(sha256: &str, bytes: &[u8]) -> Result<(PhotoMeta, Vec<u8>)> {
    let actual = sha256_hex(bytes);
    if actual != sha256 {
        return Err(Error::ChecksumMismatch { expected: sha256.to_owned(), actual });
    }
    let bad = |e: suishoupai_core::Error| Error::BadPhoto(e.to_string());
    let header = format::read_header(bytes).map_err(bad)?;
    if header.format != Format::Jpeg {
        return Err(Error::BadPhoto(format!("the photo is {:?}; upload renditions are JPEG", header.format)));
    }
    let decoded = render::decode_at_least(bytes, header, THUMBNAIL_LONG_EDGE).map_err(bad)?;
    // Renditions from our app are upright already; another client's may
    // still carry an EXIF orientation, which the thumbnail should honour.
    let orientation = exif::read(bytes).orientation;
    let pixels = render::make_upright(render::shrink_to_fit(decoded, THUMBNAIL_LONG_EDGE), orientation);
    let thumbnail = render::encode_jpeg(&pixels, THUMBNAIL_QUALITY).map_err(bad)?;
    // Upright size, as the device's report states it.
    let (width, height) = match orientation {
        Some(5..=8) => (header.height, header.width),
        _ => (header.width, header.height),
    };
    let meta = PhotoMeta { sha256: sha256.to_owned(), bytes: bytes.len() as u64, width, height, thumbnail_bytes: thumbnail.len() as u64 };
    Ok((meta, thumbnail))
}
