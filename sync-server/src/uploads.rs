//! Resumable photo uploads (tus 1.0 core semantics): the order in which
//! chunk bytes, offsets, checks and photo rows are made durable.
//!
//! A chunk is written (fsynced) before its offset moves in storage, so a
//! crash between the two leaves the offset behind the bytes, and the client
//! simply sends that chunk again. The chunk that completes an upload is not
//! written to the partial at all: the photo is checked (sha256, a whole JPEG
//! within limits) from memory, stored durably under its name, and its photo
//! row is written last. A photo that fits in one chunk, the usual case, thus
//! costs one file and one row.
//!
//! Thumbnails are made when first asked for ([`thumbnail`]), not here:
//! decoding every photo on arrival cost more CPU than receiving it, on the
//! path a device waits on, while a coordinator looks at a fraction of them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use suishoupai_core::photo::{Format, exif, format, render, sha256_hex};
use suishoupai_core::protocol::{UploadCreate, UploadState};

use axum::body::Bytes;

use crate::app::AppState;
use crate::blobs::{BlobKind, Blobs};
use crate::error::{Error, Result};
use crate::storage::{PhotoMeta, Storage};

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
    app.db(move |s| stored_state(s, sha256)).await
}

fn stored_state(storage: &dyn Storage, sha256: String) -> Result<UploadState> {
    match (storage.photo(&sha256)?, storage.upload(&sha256)?) {
        (Some(photo), _) => Ok(UploadState { sha256, offset: photo.bytes, length: photo.bytes, complete: true }),
        (None, Some(up)) => Ok(UploadState { sha256, offset: up.offset, length: up.length, complete: false }),
        (None, None) => Err(Error::NotFound(format!("no upload {sha256}"))),
    }
}

/// Appends one chunk at `offset`; answers the new offset. The whole step
/// runs as one blocking task: a photo's latency is what limits a device's
/// sync on a fast link, and each hop to the blocking pool adds to it.
pub async fn append(app: &AppState, sha256: String, offset: u64, chunk: Bytes) -> Result<u64> {
    let _held = app.upload_locks.hold(&sha256).await;
    app.blocking(move |storage, blobs| append_held(storage, blobs, sha256, offset, &chunk)).await
}

fn append_held(storage: &dyn Storage, blobs: &dyn Blobs, sha256: String, offset: u64, chunk: &[u8]) -> Result<u64> {
    let current = stored_state(storage, sha256.clone())?;
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
        blobs.write_chunk(&sha256, offset, chunk)?;
        storage.advance_upload(&sha256, offset, end)?;
        return Ok(end);
    }
    complete(storage, blobs, &sha256, offset, chunk)?;
    Ok(end)
}

/// Starts the uploads of many photos in one storage transaction (see
/// [`crate::storage::Storage::start_uploads`]).
pub async fn start(app: &AppState, uploads: Vec<UploadCreate>, user_id: i64) -> Result<Vec<UploadState>> {
    app.db(move |s| s.start_uploads(&uploads, user_id)).await
}

/// The last chunk is in: check the whole photo, store it, then its row, and
/// forget the partial. A photo that fails a check is discarded.
fn complete(storage: &dyn Storage, blobs: &dyn Blobs, sha256: &str, offset: u64, last_chunk: &[u8]) -> Result<()> {
    let earlier;
    let bytes = if offset == 0 {
        last_chunk
    } else {
        let mut whole = blobs.read_partial(sha256, offset)?;
        whole.extend_from_slice(last_chunk);
        earlier = whole;
        &earlier[..]
    };
    let meta = match check_photo(sha256, bytes) {
        Ok(meta) => meta,
        Err(refused) => {
            storage.drop_upload(sha256)?;
            blobs.discard_partial(sha256)?;
            return Err(refused);
        }
    };
    blobs.put(BlobKind::Photo, sha256, bytes)?;
    storage.finish_upload(&meta)?;
    if offset > 0 {
        blobs.discard_partial(sha256)?;
    }
    Ok(())
}

/// Checks the bytes are the announced photo and a whole JPEG within the
/// core's limits, from its header and markers alone (no decoding: see the
/// module's note on thumbnails).
pub fn check_photo(sha256: &str, bytes: &[u8]) -> Result<PhotoMeta> {
    let actual = sha256_hex(bytes);
    if actual != sha256 {
        return Err(Error::ChecksumMismatch { expected: sha256.to_owned(), actual });
    }
    let header = format::read_header(bytes).map_err(|e| Error::BadPhoto(e.to_string()))?;
    if header.format != Format::Jpeg {
        return Err(Error::BadPhoto(format!("the photo is {:?}; upload renditions are JPEG", header.format)));
    }
    // A JPEG ends with its EOI marker; one cut short in transfer or on the
    // device's disk does not. (Trailing zero padding is tolerated.)
    let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |last| last + 1);
    if !bytes[..end].ends_with(&[0xFF, 0xD9]) {
        return Err(Error::BadPhoto("the JPEG is truncated: it does not end with an end-of-image marker".into()));
    }
    // Upright size, as the device's report states it.
    let (width, height) = match exif::read(bytes).orientation {
        Some(5..=8) => (header.height, header.width),
        _ => (header.width, header.height),
    };
    Ok(PhotoMeta { sha256: sha256.to_owned(), bytes: bytes.len() as u64, width, height })
}

/// The thumbnail of a stored photo, made and stored on first request.
/// `None` if the photo itself is not stored.
pub async fn thumbnail(app: &AppState, sha256: String) -> Result<Option<Vec<u8>>> {
    app.blob(move |b| {
        if let Some(thumbnail) = b.get(BlobKind::Thumbnail, &sha256)? {
            return Ok(Some(thumbnail));
        }
        let Some(photo) = b.get(BlobKind::Photo, &sha256)? else { return Ok(None) };
        let thumbnail = make_thumbnail(&photo)?;
        // Two requests racing here both make it; the second put keeps the first.
        b.put(BlobKind::Thumbnail, &sha256, &thumbnail)?;
        Ok(Some(thumbnail))
    })
    .await
}

fn make_thumbnail(photo: &[u8]) -> Result<Vec<u8>> {
    let bad = |e: suishoupai_core::Error| Error::BadPhoto(format!("the stored photo cannot be decoded for a thumbnail: {e}"));
    let header = format::read_header(photo).map_err(bad)?;
    let decoded = render::decode_at_least(photo, header, THUMBNAIL_LONG_EDGE).map_err(bad)?;
    // Renditions from our app are upright already; another client's may
    // still carry an EXIF orientation, which the thumbnail should honour.
    let pixels = render::make_upright(render::shrink_to_fit(decoded, THUMBNAIL_LONG_EDGE), exif::read(photo).orientation);
    render::encode_jpeg(&pixels, THUMBNAIL_QUALITY).map_err(bad)
}
