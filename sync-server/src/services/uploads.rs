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
//! Thumbnails are made when first asked for ([`super::photos::thumbnail_for`]),
//! not here: a coordinator looks at a fraction of the photos, and encoding
//! a thumbnail of each on the path a device waits on cost more than
//! receiving it.

use bytes::Bytes;
use suishoupai_core::photo::{clean, sha256_hex};
use suishoupai_core::protocol::{MAX_PHOTO_BYTES, UploadCreate, UploadState};
use suishoupai_core::rules::is_sha256_hex;

use crate::blobs::{BlobKind, Blobs};
use crate::clock::{now_ms, now_rfc3339};
use crate::error::{Error, Result};
use crate::model::UploadKey;
use crate::services::duplicates;
use crate::services::quotas::Quota;
use crate::state::{AppState, UploadAllowance};
use crate::storage::{self, PhotoMeta, ReadTxn, Storage};

/// How long a client over its upload allowance should wait: uploads
/// finishing or expiring free it, so a minute is a fair first guess.
const QUOTA_RETRY_AFTER_SECS: u64 = 60;

/// The state of the user's upload for HEAD: under way, or complete
/// (offset = length) for a photo the user holds.
pub async fn state(app: &AppState, key: UploadKey) -> Result<UploadState> {
    app.db(move |s| stored_state(s, &key)).await
}

fn stored_state(storage: &dyn Storage, key: &UploadKey) -> Result<UploadState> {
    storage::read(storage, |tx| state_in(tx, key))
}

fn state_in(tx: &dyn ReadTxn, key: &UploadKey) -> Result<UploadState> {
    let sha256 = key.sha256.clone();
    match (tx.held_photo(key.user_id, &key.sha256)?, tx.upload(key)?) {
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
        advance(storage, key, offset, end)?;
        return Ok(end);
    }
    complete(storage, blobs, key, offset, chunk)?;
    Ok(end)
}

/// Moves the offset from `from` to `to`, or fails with
/// [`Error::OffsetMismatch`] and changes nothing.
fn advance(storage: &dyn Storage, key: &UploadKey, from: u64, to: u64) -> Result<()> {
    storage::write(storage, |tx| {
        let offset = tx.upload(key)?.ok_or_else(|| Error::NotFound(format!("no upload {}", key.sha256)))?.offset;
        if offset != from {
            return Err(Error::OffsetMismatch { expected: offset, got: from });
        }
        Ok(tx.set_upload_offset(key, to, now_ms())?)
    })
}

/// Starts the user's uploads of many photos in one storage transaction.
pub async fn start(app: &AppState, uploads: Vec<UploadCreate>, user_id: i64) -> Result<Vec<UploadState>> {
    let allowance = app.settings.upload_allowance;
    let quota = Quota::at(&app.settings, app.now_ms())?;
    app.db(move |s| start_uploads(s, user_id, &uploads, &allowance, &quota, now_ms())).await
}

/// For each photo, in one transaction: starts the user's upload, or
/// answers the state of theirs under way or of the photo they hold. An
/// upload under way with another length starts again from 0 (one of the
/// two announcements was wrong; the checksum decides). New uploads that
/// would take the user past `allowance`, or past the day's photo bytes
/// (those held since the local midnight plus every upload under way), fail
/// the whole call with [`Error::QuotaExceeded`], and nothing is opened.
pub fn start_uploads(
    storage: &dyn Storage,
    user_id: i64,
    uploads: &[UploadCreate],
    allowance: &UploadAllowance,
    quota: &Quota,
    now_ms: i64,
) -> Result<Vec<UploadState>> {
    // The handlers check first, naming the field; this keeps any other
    // caller from reaching storage's CHECK constraints (a 500).
    for upload in uploads {
        check_upload(upload, "")?;
    }
    let started_at = now_rfc3339();
    storage::write(storage, |tx| {
        let mut open = tx.open_uploads(user_id)?;
        let held_today = tx.sent_since(user_id, quota.day_start_ms)?.photo_bytes;
        let mut states = Vec::with_capacity(uploads.len());
        for UploadCreate { sha256, length } in uploads {
            let key = UploadKey { user_id, sha256: sha256.clone() };
            let state = |offset: u64, length: u64, complete: bool| UploadState { sha256: sha256.clone(), offset, length, complete };
            if let Some(photo) = tx.held_photo(user_id, sha256)? {
                states.push(state(photo.bytes, photo.bytes, true));
                continue;
            }
            let under_way = tx.upload(&key)?;
            match under_way {
                Some(up) if up.length == *length => states.push(state(up.offset, *length, false)),
                _ => {
                    let (was_open, was_declared) = under_way.map_or((0, 0), |up| (1, up.length));
                    open.count = open.count - was_open + 1;
                    open.declared_bytes = open.declared_bytes - was_declared + length;
                    if open.count > allowance.max_open || open.declared_bytes > allowance.max_declared_bytes {
                        return Err(Error::QuotaExceeded {
                            message: format!(
                                "at most {} uploads and {} declared bytes may be open at once; finish or wait for the ones under way",
                                allowance.max_open, allowance.max_declared_bytes
                            ),
                            retry_after_secs: QUOTA_RETRY_AFTER_SECS,
                        });
                    }
                    quota.check_photo_bytes(held_today, open.declared_bytes)?;
                    tx.put_upload(&key, *length, &started_at, now_ms)?;
                    states.push(state(0, *length, false));
                }
            }
        }
        Ok(states)
    })
}

/// The checks of one announced upload: a photo's name, and a length of at
/// least one byte and at most the largest photo taken. `field` prefixes
/// the names in errors (`uploads[3].` in a batch).
pub fn check_upload(upload: &UploadCreate, field: &str) -> Result<()> {
    if !is_sha256_hex(&upload.sha256) {
        return Err(Error::BadRequest(format!("{field}sha256 must be 64 lower-case hex digits")));
    }
    if upload.length == 0 {
        return Err(Error::BadRequest(format!("{field}length must be at least 1 byte")));
    }
    if upload.length > MAX_PHOTO_BYTES {
        return Err(Error::TooLarge(format!("{field}length {} is over the largest photo taken, {MAX_PHOTO_BYTES} bytes", upload.length)));
    }
    Ok(())
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
            storage::write(storage, |tx| Ok::<_, Error>(tx.delete_upload(key)?))?;
            blobs.discard_partial(key)?;
            return Err(refused);
        }
    };
    // Content-addressed: if another user sent the same photo, this is a no-op.
    blobs.put(BlobKind::Photo, &key.sha256, bytes)?;
    // The photo exists from now on, and this user holds it. The bytes are
    // put again inside the transaction: the photo sweep may have removed
    // them since (a photo swept while sent anew); it removes them only
    // inside a transaction of its own, so either it saw this record or
    // this sees the bytes gone. Most often this is one `stat`.
    let received_at = now_rfc3339();
    storage::write(storage, |tx| {
        tx.add_photo(&meta, &received_at)?;
        tx.add_holder(&meta.sha256, key.user_id, now_ms())?;
        tx.delete_upload(key)?;
        blobs.put(BlobKind::Photo, &key.sha256, bytes)
    })?;
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
    let checked = clean::check(bytes).map_err(|e| match e {
        suishoupai_core::Error::PrivateMetadata(_) => Error::PrivateMetadata(format!("{e}; the upload was discarded")),
        other => Error::BadPhoto(format!("not a photo the server takes: {other}; the upload was discarded")),
    })?;
    // A clean JPEG has no EXIF orientation: its stored size is its upright size.
    Ok(PhotoMeta {
        sha256: sha256.to_owned(),
        bytes: bytes.len() as u64,
        width: checked.header.width,
        height: checked.header.height,
        phash: Some(duplicates::phash(&checked.small)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::sqlite::SqliteStorage;
    use crate::storage::{NewUser, WriteTxn};

    const ROOMY: UploadAllowance = UploadAllowance { max_open: 100, max_declared_bytes: 1 << 30 };
    const NOW: i64 = 1_780_000_000_000;

    fn user(storage: &dyn Storage, name: &str) -> i64 {
        let new = NewUser { name: name.into(), role: crate::model::Role::Resident, grid_id: None, department: None };
        storage::write(storage, |tx: &mut dyn WriteTxn| Ok::<_, Error>(tx.insert_user(&new, "2026-01-01T00:00:00Z")?.id)).unwrap()
    }

    fn ask(ns: std::ops::Range<u32>, length: u64) -> Vec<UploadCreate> {
        ns.map(|n| UploadCreate { sha256: format!("{n:064x}"), length }).collect()
    }

    /// Found by the `uploads` fuzz target: an upload of 0 bytes reached
    /// storage's CHECK (length > 0) and came back as a storage error, a 500,
    /// when called other than through the handler that checked it.
    #[test]
    fn an_empty_or_oversize_upload_is_refused_before_storage() {
        let storage = SqliteStorage::open_in_memory().unwrap();
        let ana = user(&storage, "ana");
        let start = |length: u64| start_uploads(&storage, ana, &ask(2..3, length), &ROOMY, &roomy_quota(), NOW);
        assert!(matches!(start(0), Err(Error::BadRequest(m)) if m.contains("at least 1 byte")), "{:?}", start(0));
        assert!(matches!(start(MAX_PHOTO_BYTES + 1), Err(Error::TooLarge(_))), "{:?}", start(MAX_PHOTO_BYTES + 1));
        let not_a_name = vec![UploadCreate { sha256: "ABC".into(), length: 10 }];
        assert!(matches!(start_uploads(&storage, ana, &not_a_name, &ROOMY, &roomy_quota(), NOW), Err(Error::BadRequest(_))));
        assert!(storage::read(&storage, |tx| Ok::<_, Error>(tx.open_uploads(ana)?)).unwrap().count == 0, "nothing was opened");
    }

    #[test]
    fn offsets_move_only_from_the_offset_seen() {
        let storage = SqliteStorage::open_in_memory().unwrap();
        let ana = user(&storage, "ana");
        let key = UploadKey { user_id: ana, sha256: format!("{:064x}", 2) };
        let start = |length: u64| start_uploads(&storage, ana, &ask(2..3, length), &ROOMY, &roomy_quota(), NOW).unwrap()[0].offset;
        assert_eq!(start(10), 0);
        advance(&storage, &key, 0, 4).unwrap();
        assert!(matches!(advance(&storage, &key, 0, 8), Err(Error::OffsetMismatch { expected: 4, got: 0 })));
        assert_eq!(start(10), 4, "asking again keeps the offset");
        assert_eq!(start(11), 0, "another length starts again");
    }

    #[test]
    fn many_start_together_in_order_and_a_held_photo_is_complete() {
        let storage = SqliteStorage::open_in_memory().unwrap();
        let ana = user(&storage, "ana");
        let bo = user(&storage, "bo");
        let held = format!("{:064x}", 9);
        storage::write(&storage, |tx| {
            tx.add_photo(&PhotoMeta { sha256: held.clone(), bytes: 100, width: 4, height: 3, phash: None }, "2026-01-01T00:00:00Z")?;
            Ok::<_, Error>(tx.add_holder(&held, ana, NOW)?)
        })
        .unwrap();
        let mut asked = ask(1..2, 7);
        asked.push(UploadCreate { sha256: held.clone(), length: 100 });
        let states = start_uploads(&storage, ana, &asked, &ROOMY, &roomy_quota(), NOW).unwrap();
        let got: Vec<_> = states.iter().map(|s| (s.offset, s.length, s.complete)).collect();
        assert_eq!(got, [(0, 7, false), (100, 100, true)]);
        // To bo, who never sent it, the held photo is new.
        let states = start_uploads(&storage, bo, &asked[1..], &ROOMY, &roomy_quota(), NOW).unwrap();
        assert_eq!((states[0].offset, states[0].complete), (0, false));
    }

    fn roomy_quota() -> Quota {
        Quota::at(&crate::state::Settings::default(), NOW).unwrap()
    }

    /// The day's photo bytes count what the user came to hold today and
    /// what their uploads under way declare; another day starts from nothing.
    #[test]
    fn uploads_stay_within_the_days_photo_bytes() {
        let storage = SqliteStorage::open_in_memory().unwrap();
        let ana = user(&storage, "ana");
        let settings = crate::state::Settings {
            daily_quota: crate::state::DailyQuota { reports: 10, photo_bytes: 1000 },
            ..crate::state::Settings::default()
        };
        let today = Quota::at(&settings, NOW).unwrap();
        let held = format!("{:064x}", 9);
        storage::write(&storage, |tx| {
            tx.add_photo(&PhotoMeta { sha256: held.clone(), bytes: 600, width: 4, height: 3, phash: None }, "2026-01-01T00:00:00Z")?;
            Ok::<_, Error>(tx.add_holder(&held, ana, NOW)?)
        })
        .unwrap();
        start_uploads(&storage, ana, &ask(1..2, 300), &ROOMY, &today, NOW).unwrap();
        let refused = start_uploads(&storage, ana, &ask(2..3, 101), &ROOMY, &today, NOW);
        assert!(matches!(refused, Err(Error::QuotaExceeded { retry_after_secs, .. }) if retry_after_secs > 60), "waits for midnight");
        let open = storage::read(&storage, |tx| Ok::<_, Error>(tx.open_uploads(ana)?)).unwrap();
        assert_eq!(open.count, 1, "nothing of the refused call was opened");
        start_uploads(&storage, ana, &ask(2..3, 100), &ROOMY, &today, NOW).unwrap();
        // What is open still counts tomorrow; what was held yesterday does not.
        let tomorrow = Quota::at(&settings, NOW + 86_400_000).unwrap();
        start_uploads(&storage, ana, &ask(3..4, 600), &ROOMY, &tomorrow, NOW).unwrap();
        assert!(start_uploads(&storage, ana, &ask(4..5, 1), &ROOMY, &tomorrow, NOW).is_err());
    }

    /// Past the allowance nothing is opened, and one user's uploads do not
    /// count against another's.
    #[test]
    fn uploads_stay_within_the_allowance() {
        let storage = SqliteStorage::open_in_memory().unwrap();
        let (ana, bo) = (user(&storage, "ana"), user(&storage, "bo"));
        let tight = UploadAllowance { max_open: 3, max_declared_bytes: 1000 };
        start_uploads(&storage, ana, &ask(1..3, 100), &tight, &roomy_quota(), NOW).unwrap();
        // A batch that would pass the count fails whole.
        assert!(matches!(start_uploads(&storage, ana, &ask(3..5, 100), &tight, &roomy_quota(), NOW), Err(Error::QuotaExceeded { .. })));
        let open = storage::read(&storage, |tx| Ok::<_, Error>(tx.open_uploads(ana)?)).unwrap();
        assert_eq!(open.count, 2, "nothing of the refused batch was opened");
        // Asking again about what is open costs nothing.
        start_uploads(&storage, ana, &ask(1..3, 100), &tight, &roomy_quota(), NOW).unwrap();
        assert!(
            matches!(start_uploads(&storage, ana, &ask(9..10, 801), &tight, &roomy_quota(), NOW), Err(Error::QuotaExceeded { .. })),
            "bytes"
        );
        start_uploads(&storage, ana, &ask(9..10, 800), &tight, &roomy_quota(), NOW).unwrap();
        start_uploads(&storage, bo, &ask(1..4, 300), &tight, &roomy_quota(), NOW).unwrap();
    }
}
