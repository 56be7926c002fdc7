//! Resumable photo uploads (tus 1.0 core semantics): the order in which
//! chunk bytes, offsets, checks and photo rows are made durable.
//!
//! An upload is one user's (see [`UploadKey`]): two users sending the same
//! photo make two uploads, and neither learns of the other's. A photo the
//! server already has counts for a user only once that user has sent it
//! whole; until then the server answers as if it had never seen it.
//!
//! A chunk is written (fsynced) before its offset moves in storage, so a
//! crash between the two leaves the offset behind the bytes, and the client
//! simply sends that chunk again. The chunk that completes an upload is not
//! written to the partial at all: the photo is checked (sha256, a clean
//! JPEG: see [`suishoupai_core::photo::clean`]) from memory, stored durably
//! under its name, and its photo row is written last. A photo that fits in
//! one chunk, the usual case, thus costs one file and one row.
//!
//! Thumbnails are made when first asked for ([`thumbnail`]), not here: a
//! coordinator looks at a fraction of the photos, and encoding a thumbnail
//! of each on the path a device waits on cost more than receiving it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use suishoupai_core::photo::{THUMBNAIL_LONG_EDGE, clean, exif, format, render, sha256_hex};
use suishoupai_core::protocol::{UploadCreate, UploadState};

use crate::app::AppState;
use crate::blobs::{BlobKind, Blobs};
use crate::error::{Error, Result};
use crate::storage::{PhotoMeta, Storage, UploadKey};

const THUMBNAIL_QUALITY: u8 = 75;

pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// One async lock per upload under way, so that two PATCHes of the same
/// upload (or a PATCH and the expiry of the upload) cannot interleave their
/// file writes. Different uploads proceed in parallel.
#[derive(Default)]
pub struct UploadLocks {
    locks: Mutex<HashMap<UploadKey, Arc<tokio::sync::Mutex<()>>>>,
}

impl UploadLocks {
    pub async fn hold(&self, key: &UploadKey) -> UploadGuard<'_> {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
            locks.entry(key.clone()).or_default().clone()
        };
        let guard = lock.clone().lock_owned().await;
        UploadGuard { locks: self, key: key.clone(), lock, _guard: Some(guard) }
    }
}

pub struct UploadGuard<'a> {
    locks: &'a UploadLocks,
    key: UploadKey,
    lock: Arc<tokio::sync::Mutex<()>>,
    _guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Drop for UploadGuard<'_> {
    fn drop(&mut self) {
        self._guard.take();
        let mut locks = self.locks.locks.lock().unwrap_or_else(|p| p.into_inner());
        // Two references left (the map's and ours): nobody else waits; forget it.
        if Arc::strong_count(&self.lock) == 2 {
            locks.remove(&self.key);
        }
    }
}

/// The state of the user's upload for HEAD: under way, or complete
/// (offset = length) for a photo the user holds.
pub async fn state(app: &AppState, key: UploadKey) -> Result<UploadState> {
    app.db(move |s| stored_state(s, &key)).await
}

fn stored_state(storage: &dyn Storage, key: &UploadKey) -> Result<UploadState> {
    let sha256 = key.sha256.clone();
    match (storage.held_photo(key.user_id, &key.sha256)?, storage.upload(key)?) {
        (Some(photo), _) => Ok(UploadState { sha256, offset: photo.bytes, length: photo.bytes, complete: true }),
        (None, Some(up)) => Ok(UploadState { sha256, offset: up.offset, length: up.length, complete: false }),
        (None, None) => Err(Error::NotFound(format!("no upload {sha256}"))),
    }
}

/// Appends one chunk at `offset`; answers the new offset. The whole step
/// runs as one blocking task: a photo's latency is what limits a device's
/// sync on a fast link, and each hop to the blocking pool adds to it.
pub async fn append(app: &AppState, key: UploadKey, offset: u64, chunk: Bytes) -> Result<u64> {
    let _held = app.upload_locks.hold(&key).await;
    app.blocking(move |storage, blobs| append_held(storage, blobs, &key, offset, &chunk)).await
}

fn append_held(storage: &dyn Storage, blobs: &dyn Blobs, key: &UploadKey, offset: u64, chunk: &[u8]) -> Result<u64> {
    let current = stored_state(storage, key)?;
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
    if end < current.length {
        blobs.write_chunk(key, offset, chunk)?;
        storage.advance_upload(key, offset, end, now_ms())?;
        return Ok(end);
    }
    complete(storage, blobs, key, offset, chunk)?;
    Ok(end)
}

/// Starts the user's uploads of many photos in one storage transaction
/// (see [`crate::storage::Storage::start_uploads`]).
pub async fn start(app: &AppState, uploads: Vec<UploadCreate>, user_id: i64) -> Result<Vec<UploadState>> {
    let allowance = app.settings.upload_allowance;
    app.db(move |s| s.start_uploads(user_id, &uploads, &allowance, now_ms())).await
}

/// The last chunk is in: check the whole photo, store it, then its row, and
/// forget the partial. A photo that fails a check is discarded, partial and
/// upload both, and nothing of it is ever served.
fn complete(storage: &dyn Storage, blobs: &dyn Blobs, key: &UploadKey, offset: u64, last_chunk: &[u8]) -> Result<()> {
    let earlier;
    let bytes = if offset == 0 {
        last_chunk
    } else {
        let mut whole = blobs.read_partial(key, offset)?;
        whole.extend_from_slice(last_chunk);
        earlier = whole;
        &earlier[..]
    };
    let meta = match check_photo(&key.sha256, bytes) {
        Ok(meta) => meta,
        Err(refused) => {
            storage.drop_upload(key)?;
            blobs.discard_partial(key)?;
            return Err(refused);
        }
    };
    // Content-addressed: if another user sent the same photo, this is a no-op.
    blobs.put(BlobKind::Photo, &key.sha256, bytes)?;
    storage.finish_upload(key, &meta)?;
    if offset > 0 {
        blobs.discard_partial(key)?;
    }
    Ok(())
}

/// Checks the bytes are the announced photo and a clean JPEG: within the
/// core's limits, with no private metadata, and image data that decodes.
pub fn check_photo(sha256: &str, bytes: &[u8]) -> Result<PhotoMeta> {
    let actual = sha256_hex(bytes);
    if actual != sha256 {
        return Err(Error::ChecksumMismatch { expected: sha256.to_owned(), actual });
    }
    let header = clean::check(bytes).map_err(|e| match e {
        suishoupai_core::Error::PrivateMetadata(_) => Error::PrivateMetadata(format!("{e}; the upload was discarded")),
        other => Error::BadPhoto(format!("not a photo the server takes: {other}; the upload was discarded")),
    })?;
    // A clean JPEG has no EXIF orientation: its stored size is its upright size.
    Ok(PhotoMeta { sha256: sha256.to_owned(), bytes: bytes.len() as u64, width: header.width, height: header.height })
}

/// The thumbnail of a stored photo, made and stored on first request.
/// `None` if the photo itself is not stored. A photo whose thumbnail cannot
/// be made (stored before uploads were decoded on arrival) is remembered as
/// such, and answered at once from then on instead of decoded again.
pub async fn thumbnail(app: &AppState, sha256: String) -> Result<Option<Vec<u8>>> {
    let key = sha256.clone();
    if let Some(reason) = app.db(move |s| s.thumbnail_error(&key)).await? {
        return Err(Error::BadPhoto(reason));
    }
    let made = app
        .blob(move |b| {
            if let Some(thumbnail) = b.get(BlobKind::Thumbnail, &sha256)? {
                return Ok(Some(Ok(thumbnail)));
            }
            let Some(photo) = b.get(BlobKind::Photo, &sha256)? else { return Ok(None) };
            let thumbnail = match make_thumbnail(&photo) {
                Ok(thumbnail) => thumbnail,
                Err(reason) => return Ok(Some(Err((sha256, reason)))),
            };
            // Two requests racing here both make it; the second put keeps the first.
            b.put(BlobKind::Thumbnail, &sha256, &thumbnail)?;
            Ok(Some(Ok(thumbnail)))
        })
        .await?;
    match made {
        None => Ok(None),
        Some(Ok(thumbnail)) => Ok(Some(thumbnail)),
        Some(Err((sha256, reason))) => {
            let remembered = reason.clone();
            app.db(move |s| s.set_thumbnail_error(&sha256, &remembered)).await?;
            Err(Error::BadPhoto(reason))
        }
    }
}

fn make_thumbnail(photo: &[u8]) -> Result<Vec<u8>, String> {
    let bad = |e: suishoupai_core::Error| format!("the stored photo cannot be decoded for a thumbnail: {e}");
    let header = format::read_header(photo).map_err(bad)?;
    let decoded = render::decode_at_least(photo, header, THUMBNAIL_LONG_EDGE).map_err(bad)?;
    // Photos stored before uploads were checked may still carry an EXIF
    // orientation, which the thumbnail should honour.
    let pixels = render::make_upright(render::shrink_to_fit(decoded, THUMBNAIL_LONG_EDGE), exif::read(photo).orientation);
    render::encode_jpeg(&pixels, THUMBNAIL_QUALITY).map_err(bad)
}
