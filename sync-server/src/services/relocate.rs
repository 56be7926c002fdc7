//! `move`: a SQLite deployment (a data directory's `server.sqlite3` and
//! `photos/`) moved to PostgreSQL and a photo bucket, checked by counts
//! and hashes. The servers must be stopped meanwhile: what a server wrote
//! to SQLite after the copy began would not be moved.
//!
//! In this order, so that a failure at any step leaves the target
//! database empty and the move can simply be run again:
//! 1. The target is refused if it holds users or reports (checked again
//!    inside the copy's transaction).
//! 2. Every photo the database names, and its thumbnail when there is one,
//!    is copied into the bucket: each photo's bytes checked against its
//!    name before the write, and read back from the bucket and checked
//!    after it (a photo already there is read and checked, not written).
//!    Photos are content-addressed and immutable, so a photo copied by a
//!    failed run is simply found there by the next one.
//! 3. The rows, in one PostgreSQL transaction that compares counts and
//!    hashes with SQLite's before it commits
//!    ([`PostgresStorage::import_from_sqlite`]).
//!
//! Steps 2 and 3 read SQLite in one read transaction: the photos named
//! are exactly those of the rows copied. Uploads under way are not moved
//! (their devices start them again).

use std::path::Path;

use suishoupai_core::photo::sha256_hex;

use crate::backends::{Backends, Database, redact};
use crate::blobs::fs::FsBlobs;
use crate::blobs::{BlobKind, Blobs};
use crate::error::{Error, Result};
use crate::model::Scope;
use crate::storage::postgres::{PostgresOptions, PostgresStorage};
use crate::storage::sqlite::{self, SqliteStorage};
use crate::storage::{self as store, ReportFilter, StorageError};

/// Photo names read from SQLite per round.
const PAGE: i64 = 500;

/// What a move copied and checked.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Moved {
    /// Rows per table, equal in SQLite and PostgreSQL.
    pub tables: std::collections::BTreeMap<String, u64>,
    /// Uploads under way that were not moved.
    pub uploads_not_moved: u64,
    pub photos: PhotosMoved,
    /// sha256 over every report's (id, content_sha256, status), equal on both sides.
    pub reports_sha256: String,
    /// sha256 over every event's (seq, report_id, action_id), equal on both sides.
    pub events_sha256: String,
    /// Every count, hash and photo checked.
    pub verified: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PhotosMoved {
    /// Photos the database names, each now in the bucket with its sha256.
    pub named: u64,
    pub copied: u64,
    /// Found in the bucket already (a run before this one), and checked.
    pub already_there: u64,
    /// Thumbnails copied (one the bucket had already is kept).
    pub thumbnails: u64,
    pub bytes_copied: u64,
}

/// Moves the deployment in `data` to `to`, whose database must be
/// PostgreSQL and empty. Blocks; the servers of `data` must be stopped.
pub fn move_deployment(data: &Path, to: &Backends) -> Result<Moved> {
    let Database::Postgres(url) = &to.database else {
        return Err(Error::BadRequest("move needs --to-database postgres://…".into()));
    };
    if !data.join(sqlite::DATABASE_FILE).is_file() {
        return Err(Error::BadRequest(format!("{} holds no database to move", data.display())));
    }
    // Up to the schema the copy knows, then read-only.
    drop(SqliteStorage::open(data)?);
    let source = sqlite::open_for_copy(data)?;
    let target = PostgresStorage::connect(url, &PostgresOptions { max_connections: 2, runtime: None })
        .map_err(|e| Error::BadRequest(format!("cannot use {}: {e}", redact(url))))?;
    refuse_unless_empty(&target)?;
    let (from, to_blobs) = (FsBlobs::open(&data.join("photos"))?, to.blobs(false)?);
    source.execute_batch("BEGIN").map_err(StorageError::from)?;
    let moved = (|| {
        let photos = copy_photos(&source, &from, &*to_blobs)?;
        let imported = target.import_from_sqlite(&source)?;
        Ok::<_, Error>(Moved {
            tables: imported.tables.into_iter().collect(),
            uploads_not_moved: imported.uploads_not_copied,
            photos,
            reports_sha256: imported.reports_sha256,
            events_sha256: imported.events_sha256,
            verified: true,
        })
    })();
    let _ = source.execute_batch("ROLLBACK");
    moved
}

/// Early, before any photo is copied; the copy's transaction checks again.
fn refuse_unless_empty(target: &PostgresStorage) -> Result<()> {
    let users = super::users::list(target)?.len();
    let reports: u64 =
        store::read(target, |tx| Ok::<_, Error>(tx.report_counts(&Scope::All, &ReportFilter::default())?))?.iter().map(|(_, n)| n).sum();
    if users > 0 || reports > 0 {
        return Err(StorageError::NotEmpty(format!(
            "the target PostgreSQL database already holds {users} user(s) and {reports} report(s); move into an empty database (nothing was changed)"
        ))
        .into());
    }
    Ok(())
}

/// Copies every photo `source` names from `from` into `to`, each checked
/// on both sides of the write.
fn copy_photos(source: &rusqlite::Connection, from: &dyn Blobs, to: &dyn Blobs) -> Result<PhotosMoved> {
    let mut moved = PhotosMoved::default();
    let mut missing = Vec::new();
    let mut after = String::new();
    loop {
        let names: Vec<String> = source
            .prepare_cached("SELECT sha256 FROM photos WHERE sha256 > ?1 ORDER BY sha256 LIMIT ?2")
            .and_then(|mut s| s.query_map(rusqlite::params![after, PAGE], |r| r.get(0))?.collect())
            .map_err(StorageError::from)?;
        for sha in &names {
            moved.named += 1;
            match to.get(BlobKind::Photo, sha)? {
                Some(there) => {
                    check(sha, &there, "the bucket")?;
                    moved.already_there += 1;
                }
                None => {
                    let Some(bytes) = from.get(BlobKind::Photo, sha)? else {
                        missing.push(sha.clone());
                        continue;
                    };
                    check(sha, &bytes, "the photo directory")?;
                    to.put(BlobKind::Photo, sha, &bytes)?;
                    let back = to
                        .get(BlobKind::Photo, sha)?
                        .ok_or_else(|| Error::Internal(format!("photo {sha} is not in the bucket after its write")))?;
                    check(sha, &back, "the bucket")?;
                    moved.copied += 1;
                    moved.bytes_copied += bytes.len() as u64;
                }
            }
            // A thumbnail is the server's own rendition, filed under the
            // photo's name, and made again where missing: copied when there,
            // checked by reading it back.
            // One the bucket has already (made by a server over it) is kept.
            if let Some(thumbnail) = from.get(BlobKind::Thumbnail, sha)?
                && to.get(BlobKind::Thumbnail, sha)?.is_none()
            {
                to.put(BlobKind::Thumbnail, sha, &thumbnail)?;
                let back = to.get(BlobKind::Thumbnail, sha)?.unwrap_or_default();
                if sha256_hex(&back) != sha256_hex(&thumbnail) {
                    return Err(Error::DamagedPhoto {
                        expected: sha.clone(),
                        actual: sha256_hex(&back),
                        place: "the bucket (its thumbnail differs from the photo directory's)".into(),
                    });
                }
                moved.thumbnails += 1;
            }
        }
        match names.last() {
            Some(last) if names.len() == PAGE as usize => after = last.clone(),
            _ => break,
        }
    }
    if !missing.is_empty() {
        let message = format!(
            "{} photo(s) the database names have no bytes in the photo directory; no row was moved (photos copied so far stay in the bucket, harmlessly)",
            missing.len()
        );
        return Err(Error::MissingPhotos { message, missing });
    }
    Ok(moved)
}

fn check(sha: &str, bytes: &[u8], place: &str) -> Result<()> {
    let actual = sha256_hex(bytes);
    if actual != sha {
        return Err(Error::DamagedPhoto { expected: sha.to_owned(), actual, place: place.to_owned() });
    }
    Ok(())
}
