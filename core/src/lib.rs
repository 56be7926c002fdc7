//! The offline-first core of suishoupai (随手拍): photo reports with geotags,
//! kept in a local SQLite store and queued for sync. Everything here works
//! with no network at all.
//!
//! [`Store`] is the one API that the terminal client and the bindings call.

pub mod domain;
pub mod error;
pub mod photo;
pub mod protocol;
pub mod rules;
pub mod store;
pub mod support;
#[cfg(feature = "sync")]
pub mod sync;

use std::path::{Path, PathBuf};

use chrono::{SecondsFormat, Utc};

pub use crate::domain::{
    Action, CATEGORIES, Category, Crs, LatLon, Locale, Location, LocationInput, LocationSource, PhotoRef, Report, ReportId, ReportStatus,
    Reporter, ReporterRole, Role, SyncState,
};
pub use crate::error::{Error, Result, SyncCause};
pub use crate::photo::PreparedPhoto;
use crate::rules::is_sha256_hex;
use crate::store::Database;
pub use crate::store::blobs::BlobKind;
use crate::store::blobs::BlobStore;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SyncSummary {
    /// Reports the server accepted in this run.
    pub pushed: u64,
    /// Changes applied from the server in this run.
    pub pulled: u64,
    /// Photo bytes sent in this run.
    pub uploaded_bytes: u64,
    /// Photo bytes not sent because the server already had them.
    pub skipped_bytes: u64,
    /// Reports still waiting to be sent when the run ended.
    pub pending: u64,
    /// Reports the server refused for good, waiting for the user.
    pub failed: u64,
}

/// Where a photo comes from: a file the camera wrote, or a camera buffer.
#[derive(Debug, Clone)]
pub enum PhotoSource {
    Path(PathBuf),
    Bytes(Vec<u8>),
}

/// What the user filled in besides the photos; the store adds the rest.
#[derive(Debug, Clone)]
pub struct ReportDraft {
    pub category: String,
    pub note: String,
    /// The device's fix or a manual pin; wins over EXIF geotags.
    pub location: Option<LocationInput>,
    pub reporter: Reporter,
}

/// The device's store, in one data directory. Cheap to share between
/// threads (`Arc<Store>`); several processes may open the same directory.
#[derive(Debug)]
pub struct Store {
    db: Database,
    blobs: BlobStore,
}

impl Store {
    /// Opens the store in `dir`, creating it or upgrading its schema as needed.
    pub fn open(dir: impl AsRef<Path>) -> Result<Store> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
        Ok(Store { blobs: BlobStore::open(dir)?, db: Database::open(dir)? })
    }

    /// Makes a report from photo files or buffers. All photos are checked and
    /// rendered before anything is written: a bad photo fails the whole
    /// report and leaves no row and no file behind.
    pub fn create_report(&self, draft: &ReportDraft, photos: &[PhotoSource]) -> Result<Report> {
        // Cheap checks first, so a bad draft does not cost a photo decode.
        check_draft(draft, photos.len())?;
        let photos = photos
            .iter()
            .map(|source| match source {
                PhotoSource::Path(path) => photo::prepare(&read_photo_file(path)?),
                PhotoSource::Bytes(bytes) => photo::prepare(bytes),
            })
            .collect::<Result<Vec<_>>>()?;
        self.create_report_from_prepared(draft, &photos)
    }

    /// Stores a report whose photos are already prepared (see [`photo::prepare`]).
    pub fn create_report_from_prepared(&self, draft: &ReportDraft, photos: &[PreparedPhoto]) -> Result<Report> {
        check_draft(draft, photos.len())?;
        let location = domain::location::resolve(draft.location.as_ref(), photos.iter().map(PreparedPhoto::geotag))?;
        let report = Report {
            id: ReportId::new(),
            category: draft.category.clone(),
            note: draft.note.trim().to_owned(),
            location,
            photos: photos
                .iter()
                .map(|p| PhotoRef { sha256: p.sha256.clone(), width: p.width, height: p.height, bytes: p.rendition.len() as u64 })
                .collect(),
            reporter: draft.reporter.clone(),
            taken_at: photos.iter().find_map(|p| p.metadata.taken_at).map(|t| t.to_rfc3339()),
            created_at: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
            sync_state: SyncState::Pending,
            sync_error: None,
            status: ReportStatus::Submitted,
            fixed_on_spot: false,
            after_photos: Vec::new(),
        };
        // Files first, durably; the rows that point at them after.
        for photo in photos {
            self.blobs.put(BlobKind::Rendition, &photo.sha256, &photo.rendition)?;
            self.blobs.put(BlobKind::Thumbnail, &photo.sha256, &photo.thumbnail)?;
        }
        let thumbnail_bytes: Vec<u64> = photos.iter().map(|p| p.thumbnail.len() as u64).collect();
        self.db.write(|tx| store::insert_report(tx, &report, &thumbnail_bytes))?;
        Ok(report)
    }

    pub fn get_report(&self, id: &ReportId) -> Result<Report> {
        self.db.read(|tx| store::get_report(tx, id))?.ok_or_else(|| Error::ReportNotFound(id.to_string()))
    }

    /// Every report on this device, newest first.
    pub fn list_reports(&self) -> Result<Vec<Report>> {
        self.db.read(store::list_reports)
    }

    /// How many reports this device holds.
    pub fn report_count(&self) -> Result<u64> {
        self.db.read(store::report_count)
    }

    /// How many reports still wait to be sent.
    pub fn pending_count(&self) -> Result<u64> {
        self.db.read(store::outbox_len)
    }

    /// The file of a stored photo's rendition or thumbnail.
    pub fn photo_path(&self, sha256: &str, kind: BlobKind) -> Result<PathBuf> {
        if !is_sha256_hex(sha256) {
            return Err(Error::InvalidInput(format!("`{sha256}` is not a sha256 (64 lower-case hex digits)")));
        }
        if !self.db.read(|tx| store::photo_exists(tx, sha256))? {
            return Err(Error::PhotoNotFound(sha256.to_owned()));
        }
        Ok(self.blobs.path(kind, sha256))
    }
}

#[cfg(feature = "sync")]
impl Store {
    /// Remembers the server and this device's token. No network is needed.
    pub fn login(&self, server_url: &str, token: &str) -> Result<()> {
        sync::login(&self.db, server_url, token)
    }

    /// Sends everything queued and pulls what changed. `Err(SyncIncomplete)`
    /// says what is still queued and why; nothing is lost either way.
    pub fn sync(&self, trigger: sync::Trigger, progress: &dyn sync::Progress) -> Result<SyncSummary> {
        sync::run(&self.db, &self.blobs, trigger, progress)
    }

    /// Puts reports the server refused back in the queue.
    pub fn retry_failed(&self) -> Result<usize> {
        self.db.write(store::retry_failed)
    }
}

fn check_draft(draft: &ReportDraft, photo_count: usize) -> Result<()> {
    Category::from_code(&draft.category)?;
    rules::check_note(&draft.note)?;
    rules::check_photo_count(photo_count)?;
    if let Some(location) = &draft.location {
        location.to_location()?;
    }
    if let Some(grid) = &draft.reporter.grid_id {
        rules::check_label("grid id", grid)?;
    }
    Ok(())
}

/// Reads a photo file, refusing one too large before reading it.
fn read_photo_file(path: &Path) -> Result<Vec<u8>> {
    let len = std::fs::metadata(path).map_err(Error::io(path))?.len();
    if len > photo::format::MAX_FILE_BYTES {
        return Err(Error::FileTooLarge { bytes: len, max_bytes: photo::format::MAX_FILE_BYTES });
    }
    std::fs::read(path).map_err(Error::io(path))
}
