//! Photos received whole in one request rather than over the resumable
//! uploads: an after-photo taken in the console on a phone's browser, the
//! `media` of an Open311 request. Unlike a device's upload, such a file is
//! whatever a camera or another tool wrote (EXIF with GPS and serial
//! numbers, HEIC, PNG, a sideways orientation), so the server makes the
//! rendition itself with the core's own [`prepare`]: decoded, turned
//! upright, shrunk to the rendition's size and encoded afresh, so that
//! nothing of the sender's file but its pixels is kept. The rendition is
//! then checked like any upload, stored, and held by the sender.

use suishoupai_core::photo::prepare;

use crate::blobs::{BlobKind, Blobs};
use crate::clock::{now_ms, now_rfc3339};
use crate::error::{Error, Result};
use crate::services::quotas::Quota;
use crate::services::uploads::check_photo;
use crate::state::AppState;
use crate::storage::{self, PhotoMeta, Storage};

/// The most a whole photo may weigh as sent: a phone's 12 MP JPEG is 3 to
/// 8 MB, a 48 MP one up to 20.
pub const MAX_WHOLE_PHOTO_BYTES: usize = 24 * 1024 * 1024;

/// Makes, checks and stores the rendition of `bytes` for `user_id`; answers
/// what was stored (its `sha256` names it in an action or a report).
pub async fn ingest(app: &AppState, user_id: i64, bytes: Vec<u8>) -> Result<PhotoMeta> {
    let quota = Quota::at(&app.settings, app.now_ms())?;
    app.blocking(move |storage, blobs| ingest_blocking(storage, blobs, user_id, &bytes, &quota)).await
}

/// [`ingest`], on the calling thread.
pub fn ingest_blocking(storage: &dyn Storage, blobs: &dyn Blobs, user_id: i64, bytes: &[u8], quota: &Quota) -> Result<PhotoMeta> {
    if bytes.len() > MAX_WHOLE_PHOTO_BYTES {
        return Err(Error::BadPhoto(format!("the photo is {} bytes; at most {MAX_WHOLE_PHOTO_BYTES} are taken", bytes.len())));
    }
    let prepared = prepare(bytes).map_err(|e| Error::BadPhoto(format!("not a photo the server takes: {e}")))?;
    let meta = check_photo(&prepared.sha256, &prepared.rendition)?;
    // The day's photo bytes, as for an upload (see [`Quota`]); checked
    // before anything is stored.
    storage::read(storage, |tx| {
        let open = tx.open_uploads(user_id)?.declared_bytes;
        let held = tx.sent_since(user_id, quota.day_start_ms)?.photo_bytes;
        quota.check_photo_bytes(held.saturating_add(open), meta.bytes)
    })?;
    blobs.put(BlobKind::Photo, &meta.sha256, &prepared.rendition)?;
    // The thumbnail is at hand: store it now rather than decode again later.
    blobs.put(BlobKind::Thumbnail, &meta.sha256, &prepared.thumbnail)?;
    let received_at = now_rfc3339();
    storage::write(storage, |tx| {
        tx.add_photo(&meta, &received_at)?;
        tx.add_holder(&meta.sha256, user_id, now_ms())?;
        // Put again inside the transaction, against the photo sweep (see
        // `uploads::complete`).
        blobs.put(BlobKind::Photo, &meta.sha256, &prepared.rendition)?;
        blobs.put(BlobKind::Thumbnail, &meta.sha256, &prepared.thumbnail)
    })?;
    Ok(meta)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blobs::fs::FsBlobs;
    use crate::model::Role;
    use crate::storage::sqlite::SqliteStorage;
    use crate::storage::{NewUser, WriteTxn};

    fn testdata(name: &str) -> Vec<u8> {
        std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/testdata").join(name)).unwrap()
    }

    #[test]
    fn a_camera_file_is_stored_as_a_clean_rendition_the_sender_holds() {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open_in_memory().unwrap();
        let blobs = FsBlobs::open(dir.path()).unwrap();
        let new = NewUser { name: "li".into(), role: Role::Resident, grid_id: None, department: None };
        let li =
            storage::write(&storage, |tx: &mut dyn WriteTxn| Ok::<_, Error>(tx.insert_user(&new, "2026-01-01T00:00:00Z")?.id)).unwrap();
        let camera = testdata("photos/apple_iphone4_N_E.jpg");
        assert!(suishoupai_core::photo::clean::check(&camera).is_err(), "the test photo carries private metadata");
        let quota = Quota::at(&crate::state::Settings::default(), now_ms()).unwrap();
        let meta = ingest_blocking(&storage, &blobs, li, &camera, &quota).unwrap();
        let stored = blobs.get(BlobKind::Photo, &meta.sha256).unwrap().unwrap();
        suishoupai_core::photo::clean::check(&stored).expect("what is stored is clean");
        assert!(blobs.get(BlobKind::Thumbnail, &meta.sha256).unwrap().is_some());
        let held = storage::read(&storage, |tx| Ok::<_, Error>(tx.held_photo(li, &meta.sha256)?)).unwrap();
        assert_eq!(held.map(|p| p.bytes), Some(stored.len() as u64));
        assert!(matches!(ingest_blocking(&storage, &blobs, li, b"not a photo", &quota), Err(Error::BadPhoto(_))));
    }
}
