//! Kotlin, Swift and Python bindings of the suishoupai (随手拍) core, made
//! with uniffi. Thin on purpose: each call converts its arguments, calls the
//! core's [`suishoupai_core::Store`] and converts the answer; core errors
//! become [`SuishoupaiError`] in one place (`error.rs`).
//!
//! Generate the foreign code with `bindings/generate.sh OUT_DIR`.

mod error;
mod sync;
mod types;

use std::path::Path;
use std::sync::Arc;

use suishoupai_core::sync::auto::AutoSync;
use suishoupai_core::{self as core, BlobKind, PhotoSource, PreparedPhoto};

pub use crate::error::{Result, SuishoupaiError};
pub use crate::sync::{SyncListener, SyncObserver};
pub use crate::types::*;

uniffi::setup_scaffolding!("suishoupai");

/// The device's report store, in one data directory (the app's files dir).
/// Open one per process and share it: every method is safe to call from
/// several threads, and all but `set_online` and the async sync do their
/// work on the calling thread, so call them off the UI thread.
#[derive(uniffi::Object)]
pub struct Store {
    inner: Arc<core::Store>,
    auto: AutoSync,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("inner", &self.inner).field("auto", &self.auto).finish()
    }
}

#[uniffi::export]
impl Store {
    /// Opens the store in `data_dir`, creating it or upgrading it as needed.
    #[uniffi::constructor]
    pub fn new(data_dir: String) -> Result<Arc<Self>> {
        Ok(Self::around(core::Store::open(data_dir)?))
    }

    /// Opens the encrypted store in `data_dir`, or makes one. `key` is 32
    /// random bytes made once and kept by the platform's keystore (Android
    /// Keystore, iOS Keychain; see the README). The database is encrypted
    /// with SQLCipher and every photo file with XChaCha20-Poly1305. A wrong
    /// key is `WrongKey` and changes nothing; a plain store is never
    /// encrypted in place (`EncryptionMismatch`). Its photos are read with
    /// `thumbnail_bytes` and `photo_bytes`: their files are sealed, so
    /// `thumbnail_path` and `photo_path` refuse.
    #[uniffi::constructor]
    pub fn open_encrypted(data_dir: String, key: Vec<u8>) -> Result<Arc<Self>> {
        Ok(Self::around(core::Store::open_encrypted(data_dir, &key)?))
    }

    /// Makes a report from the photo files in `draft.photo_paths`. Photos
    /// are checked and rendered before anything is stored: a bad photo
    /// fails the whole report and leaves nothing behind.
    pub fn create_report(&self, draft: ReportDraft) -> Result<Report> {
        self.create(&draft, Vec::new())
    }

    /// Same as `create_report`, with photos as encoded buffers (JPEG, PNG or
    /// WebP bytes from the camera), after any in `draft.photo_paths`.
    pub fn create_report_from_bytes(&self, draft: ReportDraft, photos: Vec<Vec<u8>>) -> Result<Report> {
        self.create(&draft, photos)
    }

    /// One page of this device's reports, newest first: up to `limit` (50
    /// when none, 1 to 1000), from where `cursor` (the `next_cursor` of the
    /// page before) says; the first page without one. A bad limit or a
    /// cursor not made by this list is `InvalidInput`. For a queue screen,
    /// page after page as the user scrolls.
    #[uniffi::method(default(limit = None, cursor = None))]
    pub fn list_reports(&self, limit: Option<u32>, cursor: Option<String>) -> Result<ReportPage> {
        Ok(self.inner.report_page(limit, cursor.as_deref())?.into())
    }

    pub fn get_report(&self, id: String) -> Result<Report> {
        Ok(self.inner.get_report(&core::ReportId::parse(&id)?)?.into())
    }

    pub fn report_count(&self) -> Result<u64> {
        Ok(self.inner.report_count()?)
    }

    /// Reports not yet accepted by the server (waiting or refused).
    pub fn pending_count(&self) -> Result<u64> {
        Ok(self.inner.pending_count()?)
    }

    /// The report categories, named in `locale`, in display order.
    pub fn categories(&self, locale: Locale) -> Vec<Category> {
        core::CATEGORIES.iter().map(|c| Category { code: c.code.to_owned(), name: c.name(locale).to_owned() }).collect()
    }

    /// The JPEG file of a photo's thumbnail (long edge 320 px), for lists.
    pub fn thumbnail_path(&self, sha256: String) -> Result<String> {
        self.path_of(&sha256, BlobKind::Thumbnail)
    }

    /// The JPEG file of a photo's upload rendition (long edge 1600 px).
    pub fn photo_path(&self, sha256: String) -> Result<String> {
        self.path_of(&sha256, BlobKind::Rendition)
    }

    /// The thumbnail's JPEG bytes.
    pub fn thumbnail_bytes(&self, sha256: String) -> Result<Vec<u8>> {
        Ok(self.inner.photo_bytes(&sha256, BlobKind::Thumbnail)?)
    }

    /// The upload rendition's JPEG bytes.
    pub fn photo_bytes(&self, sha256: String) -> Result<Vec<u8>> {
        Ok(self.inner.photo_bytes(&sha256, BlobKind::Rendition)?)
    }

    /// Who the server says the user is, at the last sync (none before the first).
    pub fn me(&self) -> Result<Option<Me>> {
        Ok(self.inner.me()?.map(Me::from))
    }

    /// The cases the user may act on, as the last sync brought them, with
    /// this device's pending actions applied; newest change first, then the
    /// cases kept because this device acted on them. Empty before the
    /// first sync and for residents.
    pub fn tasks(&self) -> Result<Vec<Task>> {
        Ok(self.inner.tasks()?.into_iter().map(Task::from).collect())
    }

    /// One page of `tasks()`, paged as `list_reports`.
    #[uniffi::method(default(limit = None, cursor = None))]
    pub fn task_page(&self, limit: Option<u32>, cursor: Option<String>) -> Result<TaskPage> {
        Ok(self.inner.task_page(limit, cursor.as_deref())?.into())
    }

    /// One case, its history and this device's own actions on it.
    pub fn task(&self, id: String) -> Result<TaskDetail> {
        Ok(self.inner.task(&id)?.into())
    }

    /// Takes an action on a case, offline: checked against the workflow
    /// table here (`ActionNotAllowed` if it may not be taken now), queued
    /// with its after-photos, and sent at the next sync in the order taken.
    /// The server may still refuse it; the action then shows `FAILED` with
    /// the server's reason in `task(id).actions`.
    pub fn act(&self, report_id: String, action: TaskAction) -> Result<OwnAction> {
        for path in &action.photo_paths {
            check_photo_file(Path::new(path))?;
        }
        let photos =
            action.photo_paths.iter().map(|p| PhotoSource::Path(p.into())).chain(action.photos.into_iter().map(PhotoSource::Bytes));
        let core_action = core::TaskAction {
            action: action.action,
            note: action.note,
            public_note: action.public_note,
            due_at: action.due_at,
            photos: photos.collect(),
        };
        let taken = self.inner.act(&report_id, &core_action)?;
        self.auto.nudge();
        Ok(taken.into())
    }

    /// Actions not yet sent.
    pub fn pending_action_count(&self) -> Result<u64> {
        Ok(self.inner.pending_action_count()?)
    }

    /// Remembers the server and this device's token. No network needed.
    pub fn login(&self, server_url: String, token: String) -> Result<()> {
        self.inner.login(&server_url, &token)?;
        self.auto.nudge();
        Ok(())
    }

    /// Sends what is queued and pulls status changes, now, on this thread.
    /// `observer` hears (reports done, reports queued at the start).
    #[uniffi::method(default(observer))]
    pub fn sync(&self, observer: Option<Arc<dyn SyncObserver>>) -> Result<SyncSummary> {
        crate::sync::run_blocking(&self.inner, observer, None)
    }

    /// `sync` as a suspend function (Kotlin) / async function (Swift).
    /// Cancelling the coroutine or task stops the run at its next step
    /// (photo chunk, batch, page); what was sent before is kept.
    #[uniffi::method(default(observer))]
    pub async fn sync_async(&self, observer: Option<Arc<dyn SyncObserver>>) -> Result<SyncSummary> {
        crate::sync::run_async(self.inner.clone(), observer).await
    }

    /// Puts reports the server refused back in the queue; returns how many.
    pub fn retry_failed(&self) -> Result<u64> {
        Ok(self.inner.retry_failed()? as u64)
    }

    /// Call from the app's connectivity callback. While online, queued
    /// reports are sent in the background (respecting each one's backoff)
    /// and new ones soon after they are made; going offline stops that at
    /// the next step. Returns at once.
    pub fn set_online(&self, online: bool) {
        self.auto.set_online(online);
    }

    /// Hears the outcome of every background sync (see `SyncListener`);
    /// `None` stops that.
    pub fn set_sync_listener(&self, listener: Option<Arc<dyn SyncListener>>) {
        self.auto.set_listener(listener.map(|l| crate::sync::run_listener(self.inner.clone(), l)));
    }
}

impl Store {
    fn create(&self, draft: &ReportDraft, buffers: Vec<Vec<u8>>) -> Result<Report> {
        let core_draft = draft.to_core();
        for path in &draft.photo_paths {
            // Checked here, so that a missing file is a bad photo, not a storage failure.
            check_photo_file(Path::new(path))?;
        }
        let sources: Vec<PhotoSource> =
            draft.photo_paths.iter().map(|p| PhotoSource::Path(p.into())).chain(buffers.into_iter().map(PhotoSource::Bytes)).collect();
        if !draft.fixed_on_spot && !draft.after_photo_paths.is_empty() {
            return Err(SuishoupaiError::InvalidInput { reason: "after-photos go with a report fixed on the spot (fixed_on_spot)".into() });
        }
        for path in &draft.after_photo_paths {
            check_photo_file(Path::new(path))?;
        }
        let after: Vec<PhotoSource> = draft.after_photo_paths.iter().map(|p| PhotoSource::Path(p.into())).collect();

        let report = if core_draft.location.is_some() || draft.allow_without_location {
            if draft.fixed_on_spot {
                self.inner.create_fixed_on_spot_report(&core_draft, &sources, &after)?
            } else {
                self.inner.create_report(&core_draft, &sources)?
            }
        } else {
            // Whether a photo's geotag can place the report is known only
            // once the photos are read: prepare them here (one file in
            // memory at a time, as the core does), and let the core store them.
            core::Category::from_code(&core_draft.category)?;
            core::rules::check_note(&core_draft.note)?;
            core::rules::check_photo_count(sources.len())?;
            let prepared = sources.iter().map(prepare).collect::<Result<Vec<PreparedPhoto>>>()?;
            if prepared.iter().all(|p| p.geotag().is_none()) {
                return Err(SuishoupaiError::NoLocation {
                    reason: "the report has no location: the photos carry no geotag and there is no device fix; place a pin on the map"
                        .into(),
                });
            }
            if draft.fixed_on_spot {
                let after = after.iter().map(prepare).collect::<Result<Vec<PreparedPhoto>>>()?;
                self.inner.create_fixed_on_spot_report_from_prepared(&core_draft, &prepared, &after)?
            } else {
                self.inner.create_report_from_prepared(&core_draft, &prepared)?
            }
        };
        self.auto.nudge();
        Ok(report.into())
    }

    fn around(store: core::Store) -> Arc<Self> {
        let inner = Arc::new(store);
        Arc::new(Store { auto: AutoSync::new(inner.clone()), inner })
    }

    fn path_of(&self, sha256: &str, kind: BlobKind) -> Result<String> {
        let path = self.inner.photo_path(sha256, kind)?;
        path.into_os_string().into_string().map_err(|p| SuishoupaiError::storage(format!("the store's path is not UTF-8: {p:?}")))
    }
}

/// What a recovery of a damaged store kept.
#[derive(Debug, Clone, uniffi::Record)]
pub struct RecoveryReport {
    /// Where the damaged database was moved (kept, not deleted).
    pub damaged_copy: String,
    pub reports_kept: u64,
    pub actions_kept: u64,
    /// Whether some rows could not be read and are gone.
    pub rows_lost: bool,
}

impl From<core::Recovery> for RecoveryReport {
    fn from(r: core::Recovery) -> Self {
        RecoveryReport {
            damaged_copy: r.damaged_copy.to_string_lossy().into_owned(),
            reports_kept: r.reports_kept,
            actions_kept: r.actions_kept,
            rows_lost: r.rows_lost,
        }
    }
}

/// After a `CorruptStore`: moves the damaged database of the plain store in
/// `data_dir` aside and keeps what can be read of it; then open the store
/// again. No `Store` may be open on `data_dir` meanwhile.
#[uniffi::export]
pub fn recover_store(data_dir: String) -> Result<RecoveryReport> {
    Ok(core::Store::recover(data_dir)?.into())
}

/// `recover_store` for an encrypted store, with its key.
#[uniffi::export]
pub fn recover_encrypted_store(data_dir: String, key: Vec<u8>) -> Result<RecoveryReport> {
    Ok(core::Store::recover_encrypted(data_dir, &key)?.into())
}

fn unreadable(path: &Path) -> impl FnOnce(std::io::Error) -> SuishoupaiError + '_ {
    move |e| SuishoupaiError::bad_photo(format!("cannot read photo file {}: {e}", path.display()))
}

/// A camera file the core can read (it checks the size and reads it).
fn check_photo_file(path: &Path) -> Result<()> {
    std::fs::File::open(path).map_err(unreadable(path))?;
    if !std::fs::metadata(path).map_err(unreadable(path))?.is_file() {
        return Err(SuishoupaiError::bad_photo(format!("cannot read photo file {}: not a file", path.display())));
    }
    Ok(())
}

fn prepare(source: &PhotoSource) -> Result<PreparedPhoto> {
    match source {
        PhotoSource::Path(path) => Ok(core::photo::prepare(&read_photo_file(path)?)?),
        PhotoSource::Bytes(bytes) => Ok(core::photo::prepare(bytes)?),
    }
}

/// A camera file, refused before reading if it is larger than any photo.
fn read_photo_file(path: &Path) -> Result<Vec<u8>> {
    let len = std::fs::metadata(path).map_err(unreadable(path))?.len();
    let max_bytes = core::photo::format::MAX_FILE_BYTES;
    if len > max_bytes {
        return Err(core::Error::FileTooLarge { bytes: len, max_bytes }.into());
    }
    std::fs::read(path).map_err(unreadable(path))
}
