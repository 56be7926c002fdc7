//! What the server does on its own while it runs: forgets uploads nobody
//! finishes, removes photos nobody's report or action shows, and notices changes to users and tokens made elsewhere (the
//! CLI beside it, another server process).

use std::time::Duration;

use suishoupai_core::protocol::UPLOAD_EXPIRY_SECS;

use crate::blobs::{BlobKind, Blobs};
use crate::clock::now_ms;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::storage::{self, Storage};

/// Photos looked at, and bytes removed, per transaction of the sweep: a
/// removal holds the writer, so a few at a time.
const PHOTO_SWEEP_BATCH: usize = 50;

/// How often abandoned uploads are looked for.
pub const SWEEP_EVERY: Duration = Duration::from_secs(600);
/// How often the auth version is read: a revoked token stops working
/// within this (plus a request's own time).
pub const AUTH_POLL_EVERY: Duration = Duration::from_millis(250);

/// Removes uploads untouched for [`UPLOAD_EXPIRY_SECS`] with their partial
/// bytes, and partial files that no upload owns (left by a crash between
/// the two, or by an older layout). Answers how many uploads went.
pub async fn sweep_uploads(app: &AppState) -> Result<usize> {
    let cutoff = now_ms() - UPLOAD_EXPIRY_SECS as i64 * 1000;
    let expired = app.db(move |s| storage::write(s, |tx| Ok::<_, Error>(tx.expire_uploads(cutoff)?))).await?;
    for key in &expired {
        // A PATCH of this upload may be writing its chunk right now; after
        // it, it finds no upload and fails, and the partial goes here.
        let _held = app.upload_locks.hold(key).await;
        let key = key.clone();
        app.blob(move |b| b.discard_partial(&key)).await?;
    }
    let (owned, held) = tokio::try_join!(app.db(|s| storage::read(s, |tx| Ok(tx.upload_keys()?))), app.blob(|b| b.partials()))?;
    let owned: std::collections::HashSet<_> = owned.into_iter().collect();
    for key in held.into_iter().filter(|key| !owned.contains(key)) {
        let _held = app.upload_locks.hold(&key).await;
        // Looked up again under the lock: the upload may have started meanwhile.
        let lookup = key.clone();
        if app.db(move |s| storage::read(s, |tx| Ok(tx.upload(&lookup)?))).await?.is_none() {
            app.blob(move |b| b.discard_partial(&key)).await?;
        }
    }
    Ok(expired.len())
}

/// Removes the photos that no report and no event shows and that nobody
/// sent for [`crate::state::Settings::unreferenced_photo_grace`]: sent
/// whole or uploaded by a client that never pushed what shows them, they
/// would fill the disk (a hostile client's daily photo quota, every day).
/// A device that comes back later still has the photo: its push answers
/// `missing_photos` and it uploads it again. Answers how many went.
pub async fn sweep_photos(app: &AppState) -> Result<usize> {
    let held_before_ms = now_ms().saturating_sub(app.settings.unreferenced_photo_grace.as_millis() as i64);
    app.blocking(move |storage, blobs| sweep_photos_held_before(storage, blobs, held_before_ms)).await
}

/// [`sweep_photos`] of the photos last held before `held_before_ms`, on the
/// calling thread. The rows go first, each checked again as it goes; the
/// bytes after, each removed inside a transaction that takes the photo off
/// the swept list, so that a photo sent anew meanwhile (which takes itself
/// off, and puts its bytes inside its own transaction) keeps them. Bytes
/// a crash left after their rows went are removed by the next sweep.
pub fn sweep_photos_held_before(storage: &dyn Storage, blobs: &dyn Blobs, held_before_ms: i64) -> Result<usize> {
    loop {
        let found = storage::read(storage, |tx| Ok::<_, Error>(tx.unreferenced_photos(held_before_ms, PHOTO_SWEEP_BATCH)?))?;
        storage::write(storage, |tx| found.iter().try_for_each(|sha| tx.sweep_photo(sha, held_before_ms).map(drop)))?;
        if found.len() < PHOTO_SWEEP_BATCH {
            break;
        }
    }
    let mut removed = 0;
    loop {
        let swept = storage::read(storage, |tx| Ok::<_, Error>(tx.swept_photos(PHOTO_SWEEP_BATCH)?))?;
        removed += storage::write(storage, |tx| {
            let mut removed = 0;
            for sha in &swept {
                if tx.forget_swept_photo(sha)? {
                    blobs.remove(BlobKind::Photo, sha)?;
                    blobs.remove(BlobKind::Thumbnail, sha)?;
                    removed += 1;
                }
            }
            Ok::<_, Error>(removed)
        })?;
        if swept.len() < PHOTO_SWEEP_BATCH {
            return Ok(removed);
        }
    }
}

/// Runs [`sweep_uploads`] and [`sweep_photos`] now and every
/// [`SWEEP_EVERY`], for ever.
pub async fn keep_sweeping(app: AppState) {
    let mut every = tokio::time::interval(SWEEP_EVERY);
    loop {
        every.tick().await;
        if let Err(e) = sweep_uploads(&app).await {
            tracing::error!(detail = %e, "sweeping abandoned uploads");
        }
        if let Err(e) = sweep_photos(&app).await {
            tracing::error!(detail = %e, "sweeping unreferenced photos");
        }
    }
}

/// Reads the auth version every [`AUTH_POLL_EVERY`] and hands it to the
/// user cache, which empties itself when it moved. Until the first read
/// succeeds the cache stays off, so a stale user is never served.
pub async fn keep_auth_fresh(app: AppState) {
    let mut every = tokio::time::interval(AUTH_POLL_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        match app.db(|s| storage::read(s, |tx| Ok(tx.auth_version()?))).await {
            Ok(version) => app.known_users.refresh(version),
            Err(e) => {
                app.known_users.forget();
                tracing::error!(detail = %e, "reading the auth version");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::blobs::fs::FsBlobs;
    use crate::model::Role;
    use crate::services::quotas::Quota;
    use crate::services::whole_photos::ingest_blocking;
    use crate::storage::sqlite::SqliteStorage;
    use crate::storage::{NewUser, PhotoMeta, WriteTxn};

    fn camera_photo() -> Vec<u8> {
        std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/testdata/photos/apple_iphone4_N_E.jpg")).unwrap()
    }

    struct Setup {
        _dir: tempfile::TempDir,
        storage: Arc<SqliteStorage>,
        blobs: Arc<FsBlobs>,
        li: i64,
        quota: Quota,
    }

    fn setup() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(&dir.path().join("db")).unwrap();
        let blobs = FsBlobs::open(&dir.path().join("blobs")).unwrap();
        let new = NewUser { name: "li".into(), role: Role::Resident, grid_id: None, department: None };
        let li =
            storage::write(&storage, |tx: &mut dyn WriteTxn| Ok::<_, Error>(tx.insert_user(&new, "2026-01-01T00:00:00Z")?.id)).unwrap();
        let quota = Quota::at(&crate::state::Settings::default(), now_ms()).unwrap();
        Setup { _dir: dir, storage: Arc::new(storage), blobs: Arc::new(blobs), li, quota }
    }

    fn held(s: &Setup, sha256: &str) -> Option<PhotoMeta> {
        storage::read(&*s.storage, |tx| Ok::<_, Error>(tx.held_photo(s.li, sha256)?)).unwrap()
    }

    fn bytes(blobs: &dyn Blobs, sha256: &str) -> (bool, bool) {
        (blobs.get(BlobKind::Photo, sha256).unwrap().is_some(), blobs.get(BlobKind::Thumbnail, sha256).unwrap().is_some())
    }

    #[test]
    fn a_photo_nobody_shows_goes_after_its_grace_and_not_before() {
        let s = setup();
        let meta = ingest_blocking(&*s.storage, &*s.blobs, s.li, &camera_photo(), &s.quota).unwrap();
        // Within the grace (held now, the cut an hour ago): kept.
        assert_eq!(sweep_photos_held_before(&*s.storage, &*s.blobs, now_ms() - 3_600_000).unwrap(), 0);
        assert!(held(&s, &meta.sha256).is_some());
        assert_eq!(bytes(&*s.blobs, &meta.sha256), (true, true));
        // Past it: the rows and both files go, and a second sweep finds nothing.
        assert_eq!(sweep_photos_held_before(&*s.storage, &*s.blobs, now_ms() + 1).unwrap(), 1);
        assert_eq!(held(&s, &meta.sha256), None);
        assert_eq!(bytes(&*s.blobs, &meta.sha256), (false, false));
        assert_eq!(sweep_photos_held_before(&*s.storage, &*s.blobs, now_ms() + 1).unwrap(), 0);
        // Sent again: whole again.
        ingest_blocking(&*s.storage, &*s.blobs, s.li, &camera_photo(), &s.quota).unwrap();
        assert_eq!(bytes(&*s.blobs, &meta.sha256), (true, true));
    }

    /// Puts through to the file store, and the first time a photo's bytes
    /// are put runs the sweep's second half right after: the moment when a
    /// photo swept a moment ago is sent anew, its bytes written and its row
    /// not yet.
    struct SweepAfterFirstPut {
        inner: Arc<FsBlobs>,
        storage: Arc<SqliteStorage>,
        fired: Mutex<bool>,
    }

    impl Blobs for SweepAfterFirstPut {
        fn write_chunk(&self, upload: &crate::model::UploadKey, offset: u64, bytes: &[u8]) -> Result<()> {
            self.inner.write_chunk(upload, offset, bytes)
        }
        fn read_partial(&self, upload: &crate::model::UploadKey, length: u64) -> Result<Vec<u8>> {
            self.inner.read_partial(upload, length)
        }
        fn discard_partial(&self, upload: &crate::model::UploadKey) -> Result<()> {
            self.inner.discard_partial(upload)
        }
        fn partials(&self) -> Result<Vec<crate::model::UploadKey>> {
            self.inner.partials()
        }
        fn put(&self, kind: BlobKind, sha256: &str, bytes: &[u8]) -> Result<()> {
            self.inner.put(kind, sha256, bytes)?;
            let first = kind == BlobKind::Thumbnail && !std::mem::replace(&mut *self.fired.lock().unwrap(), true);
            if first {
                // Nothing is held before 0: only the swept list is worked.
                assert_eq!(sweep_photos_held_before(&*self.storage, &*self.inner, 0).unwrap(), 1, "the sweep removed the new bytes");
            }
            Ok(())
        }
        fn get(&self, kind: BlobKind, sha256: &str) -> Result<Option<Vec<u8>>> {
            self.inner.get(kind, sha256)
        }
        fn remove(&self, kind: BlobKind, sha256: &str) -> Result<()> {
            self.inner.remove(kind, sha256)
        }
    }

    #[test]
    fn a_photo_sent_anew_while_its_bytes_are_swept_keeps_them() {
        let s = setup();
        let meta = ingest_blocking(&*s.storage, &*s.blobs, s.li, &camera_photo(), &s.quota).unwrap();
        // The sweep's first half: the rows went, the bytes are still there.
        let cut = now_ms() + 1;
        assert!(storage::write(&*s.storage, |tx| Ok::<_, Error>(tx.sweep_photo(&meta.sha256, cut)?)).unwrap());
        // Sent anew, with the second half between its bytes and its row.
        let racing = SweepAfterFirstPut { inner: s.blobs.clone(), storage: s.storage.clone(), fired: Mutex::new(false) };
        ingest_blocking(&*s.storage, &racing, s.li, &camera_photo(), &s.quota).unwrap();
        assert!(*racing.fired.lock().unwrap());
        assert!(held(&s, &meta.sha256).is_some());
        assert_eq!(bytes(&*s.blobs, &meta.sha256), (true, true), "a photo recorded without its bytes");
    }
}
