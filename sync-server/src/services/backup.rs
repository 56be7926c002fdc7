//! Backups and restores of a whole deployment: the rows and the photos
//! they name, consistent with each other.
//!
//! Rows are copied first, as of one moment (the backend's
//! [`Storage::backup_into`]); then every photo that copy names, from the
//! live photo store. That is consistent because a photo's bytes are stored
//! before its row and are immutable, and the only removal, the photo
//! sweep, removes bytes after their rows and only of photos nothing shows:
//! a photo of the copy whose bytes went meanwhile is one nothing shows,
//! and it is left out of the copy, rows and all. A photo a report or an
//! action shows whose bytes are missing is an error: it names them.
//!
//! A restore is the same copy in the other direction, every photo's bytes
//! checked against its name on the way in.

use suishoupai_core::photo::sha256_hex;

use crate::blobs::{BlobKind, Blobs};
use crate::error::{Error, Result};
use crate::model::Scope;
use crate::storage::{self, ReportFilter, Storage};

/// Photos listed and copied per round.
const PAGE: usize = 500;

/// What a copy holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Copied {
    pub reports: u64,
    pub photos: u64,
    pub photo_bytes: u64,
    /// Photos nothing shows that the sweep removed while the copy was made.
    pub swept_meanwhile: u64,
}

/// Copies the bytes of every photo the rows in `to` name from `from` into
/// `to_blobs`; with `check`, each one's sha256 is checked against its name.
pub fn copy_photos(to: &dyn Storage, from: &dyn Blobs, to_blobs: &dyn Blobs, check: bool) -> Result<Copied> {
    let mut copied = Copied::default();
    let mut missing = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let names = storage::read(to, |tx| Ok::<_, Error>(tx.photo_names(after.as_deref(), PAGE)?))?;
        for sha in &names {
            let Some(bytes) = from.get(BlobKind::Photo, sha)? else {
                let shown = storage::read(to, |tx| Ok::<_, Error>(tx.photo_visible(&Scope::All, sha)?))?;
                if shown {
                    missing.push(sha.clone());
                } else {
                    storage::write(to, |tx| {
                        tx.sweep_photo(sha, i64::MAX)?;
                        Ok::<_, Error>(tx.forget_swept_photo(sha)?)
                    })?;
                    copied.swept_meanwhile += 1;
                }
                continue;
            };
            if check && sha256_hex(&bytes) != *sha {
                return Err(Error::ChecksumMismatch { expected: sha.clone(), actual: sha256_hex(&bytes) });
            }
            to_blobs.put(BlobKind::Photo, sha, &bytes)?;
            // Thumbnails are made again when missing; copied when there.
            if let Some(thumbnail) = from.get(BlobKind::Thumbnail, sha)? {
                to_blobs.put(BlobKind::Thumbnail, sha, &thumbnail)?;
            }
            copied.photos += 1;
            copied.photo_bytes += bytes.len() as u64;
        }
        match names.last() {
            Some(last) if names.len() == PAGE => after = Some(last.clone()),
            _ => break,
        }
    }
    if !missing.is_empty() {
        let message = format!("{} photo(s) that reports or actions show have no bytes in the photo store", missing.len());
        return Err(Error::MissingPhotos { message, missing });
    }
    copied.reports =
        storage::read(to, |tx| Ok::<_, Error>(tx.report_counts(&Scope::All, &ReportFilter::default())?))?.iter().map(|(_, n)| n).sum();
    Ok(copied)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::blobs::fs::FsBlobs;
    use crate::storage::sqlite::SqliteStorage;
    use crate::storage::{PhotoMeta, WriteTxn};

    fn photo(storage: &SqliteStorage, blobs: &FsBlobs, bytes: &[u8]) -> String {
        let sha = sha256_hex(bytes);
        blobs.put(BlobKind::Photo, &sha, bytes).unwrap();
        let meta = PhotoMeta { sha256: sha.clone(), bytes: bytes.len() as u64, width: 2, height: 2, phash: None };
        storage::write(storage, |tx: &mut dyn WriteTxn| Ok::<_, Error>(tx.add_photo(&meta, "2026-01-01T00:00:00Z")?)).unwrap();
        sha
    }

    #[test]
    fn a_copy_holds_every_photo_once_checked_and_leaves_out_what_the_sweep_took_meanwhile() {
        let dir = tempfile::tempdir().unwrap();
        let (storage, blobs) = (SqliteStorage::open(&dir.path().join("a")).unwrap(), FsBlobs::open(&dir.path().join("a/photos")).unwrap());
        let names: Vec<_> = (0..(PAGE + 3)).map(|n| photo(&storage, &blobs, format!("photo {n}").as_bytes())).collect();
        // The sweep took one after the rows were copied.
        storage.backup_into(&dir.path().join("b")).unwrap();
        blobs.remove(BlobKind::Photo, &names[7]).unwrap();
        let copy = Arc::new(SqliteStorage::open(&dir.path().join("b")).unwrap());
        let copy_blobs = FsBlobs::open(&dir.path().join("b/photos")).unwrap();
        let copied = copy_photos(&*copy, &blobs, &copy_blobs, true).unwrap();
        assert_eq!((copied.photos, copied.swept_meanwhile), (PAGE as u64 + 2, 1));
        assert_eq!(storage::read(&*copy, |tx| Ok::<_, Error>(tx.photo_names(None, 10_000)?)).unwrap().len(), PAGE + 2);
        assert_eq!(copy_blobs.get(BlobKind::Photo, &names[PAGE + 2]).unwrap().as_deref(), Some(format!("photo {}", PAGE + 2).as_bytes()));
        // Bytes that are not their name are refused.
        std::fs::write(dir.path().join("a/photos/renditions").join(&names[3][..2]).join(format!("{}.jpg", names[3])), b"bad").unwrap();
        storage.backup_into(&dir.path().join("c")).unwrap();
        let again = SqliteStorage::open(&dir.path().join("c")).unwrap();
        let refused = copy_photos(&again, &blobs, &FsBlobs::open(&dir.path().join("c/photos")).unwrap(), true);
        assert!(matches!(refused, Err(Error::ChecksumMismatch { ref expected, .. }) if *expected == names[3]), "{refused:?}");
    }
}
