//! The offline-first core of suishoupai (随手拍): photo reports with geotags,
//! kept in a local SQLite store and queued for sync, and the cases a grid
//! worker or a department works on, acted on offline and queued the same
//! way. Everything here works with no network at all.
//!
//! [`Store`] is the one API that the terminal client and the bindings call.

pub mod clock;
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

use crate::domain::page;
pub use crate::domain::{
    Action, CATEGORIES, Category, Crs, LatLon, Locale, Location, LocationInput, LocationSource, OwnAction, PhotoRef, Report, ReportId,
    ReportPage, ReportStatus, Reporter, ReporterRole, Role, SyncState, TaskDetail, TaskPage, TaskView,
};
pub use crate::error::{Error, Result, SyncCause};
pub use crate::photo::PreparedPhoto;
use crate::rules::is_sha256_hex;
use crate::store::Database;
pub use crate::store::blobs::BlobKind;
use crate::store::blobs::BlobStore;
use crate::store::keys::{self, StoreKey};
pub use crate::store::recover::Recovery;
use crate::store::seal::Sealer;

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
    /// Actions (see [`Store::act`]) the server took in this run.
    pub actions_sent: u64,
    /// Actions the server refused for good in this run (the case moved on,
    /// or it was never this user's to take): each says why in its
    /// `sync_error`, and is never sent again. Not a cause for an incomplete
    /// run: nothing is left to do about them.
    pub actions_refused: u64,
    /// Actions still waiting to be sent when the run ended; like `pending`,
    /// they make the run incomplete.
    pub actions_pending: u64,
    /// Cases in the task list after the run (the server's feed, and the
    /// ones kept for this device's actions).
    pub tasks: u64,
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

/// An action on a case, as the user takes it (see [`Store::act`]).
#[derive(Debug, Clone)]
pub struct TaskAction {
    pub action: Action,
    /// Internal, for the staff; `return`, `rectify` and `reopen` need one.
    pub note: Option<String>,
    /// Shown to the reporter.
    pub public_note: Option<String>,
    /// RFC 3339, in the future; `reopen` needs one.
    pub due_at: Option<String>,
    /// After-photos: at least one for `rectify`, none for the others.
    pub photos: Vec<PhotoSource>,
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
    /// A store made encrypted is refused ([`Error::StoreEncrypted`]).
    pub fn open(dir: impl AsRef<Path>) -> Result<Store> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
        if keys::is_encrypted(dir) {
            return Err(Error::StoreEncrypted);
        }
        Ok(Store { blobs: BlobStore::open(dir, None)?, db: Database::open(dir, None)? })
    }

    /// Opens the encrypted store in `dir`, or makes one: the database under
    /// SQLCipher, every photo file sealed with an AEAD, all under keys
    /// derived from `key` (32 random bytes the app keeps in the platform's
    /// keystore). A wrong key is [`Error::WrongKey`] and changes nothing; a
    /// plain store is never encrypted in place ([`Error::StoreNotEncrypted`]).
    pub fn open_encrypted(dir: impl AsRef<Path>, key: &[u8]) -> Result<Store> {
        let dir = dir.as_ref();
        let key = StoreKey::new(key)?;
        if !cfg!(feature = "encryption") {
            return Err(Error::EncryptionUnavailable);
        }
        std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
        if keys::is_encrypted(dir) {
            keys::check(dir, &key)?;
        } else if dir.join(store::DATABASE_FILE).exists() {
            return Err(Error::StoreNotEncrypted);
        } else {
            keys::mark(dir, &key)?;
        }
        Ok(Store { blobs: BlobStore::open(dir, Some(Sealer::new(&key)))?, db: Database::open(dir, Some(&key))? })
    }

    /// Recovers the plain store in `dir` whose database is damaged (what an
    /// open or a read answered [`Error::is_damage`] for): the damaged file
    /// is moved aside under `damaged/` and what can be read of it is kept
    /// ([`store::recover`]). The store must not be open meanwhile.
    pub fn recover(dir: impl AsRef<Path>) -> Result<Recovery> {
        let dir = dir.as_ref();
        if keys::is_encrypted(dir) {
            return Err(Error::StoreEncrypted);
        }
        store::recover::recover(dir, None)
    }

    /// [`Store::recover`] for an encrypted store; the key is checked first.
    pub fn recover_encrypted(dir: impl AsRef<Path>, key: &[u8]) -> Result<Recovery> {
        let dir = dir.as_ref();
        let key = StoreKey::new(key)?;
        if !keys::is_encrypted(dir) {
            return Err(Error::StoreNotEncrypted);
        }
        keys::check(dir, &key)?;
        store::recover::recover(dir, Some(&key))
    }

    /// Makes a report from photo files or buffers. All photos are checked and
    /// rendered before anything is written: a bad photo fails the whole
    /// report and leaves no row and no file behind.
    pub fn create_report(&self, draft: &ReportDraft, photos: &[PhotoSource]) -> Result<Report> {
        // Cheap checks first, so a bad draft does not cost a photo decode.
        check_draft(draft, photos.len())?;
        let photos = photos.iter().map(prepare_source).collect::<Result<Vec<_>>>()?;
        self.create_report_from_prepared(draft, &photos)
    }

    /// Makes a report of a problem a grid worker fixed on the spot (即查即改):
    /// `photos` show it before, `after_photos` (at least one) after. The
    /// server takes it `rectified`, awaiting verification. The reporter must
    /// be a grid worker; once the device knows its user (after a sync), the
    /// user must be one too, else the report is refused here. Before that
    /// it is taken offline, and a server that disagrees refuses it at the
    /// push (the report then shows `failed` with the server's reason).
    pub fn create_fixed_on_spot_report(&self, draft: &ReportDraft, photos: &[PhotoSource], after_photos: &[PhotoSource]) -> Result<Report> {
        check_draft(draft, photos.len())?;
        self.check_fixed_on_spot(draft, after_photos.len())?;
        let photos = photos.iter().map(prepare_source).collect::<Result<Vec<_>>>()?;
        let after = after_photos.iter().map(prepare_source).collect::<Result<Vec<_>>>()?;
        self.store_report(draft, &photos, Some(&after))
    }

    /// [`Store::create_fixed_on_spot_report`] with photos already prepared.
    pub fn create_fixed_on_spot_report_from_prepared(
        &self,
        draft: &ReportDraft,
        photos: &[PreparedPhoto],
        after_photos: &[PreparedPhoto],
    ) -> Result<Report> {
        check_draft(draft, photos.len())?;
        self.check_fixed_on_spot(draft, after_photos.len())?;
        self.store_report(draft, photos, Some(after_photos))
    }

    fn check_fixed_on_spot(&self, draft: &ReportDraft, after_photos: usize) -> Result<()> {
        if draft.reporter.role != ReporterRole::GridWorker {
            return Err(Error::InvalidInput("only a grid worker reports a problem fixed on the spot".into()));
        }
        if after_photos == 0 {
            return Err(Error::InvalidInput("a problem fixed on the spot needs at least one after-photo".into()));
        }
        if after_photos > rules::MAX_PHOTOS_PER_REPORT {
            return Err(Error::InvalidInput(format!("a report takes at most {} after-photos", rules::MAX_PHOTOS_PER_REPORT)));
        }
        if let Some(me) = self.db.read(store::tasks::me)?
            && me.role != Role::GridWorker
        {
            return Err(Error::InvalidInput(format!("a {} may not report a problem fixed on the spot; grid workers do", me.role)));
        }
        Ok(())
    }

    /// Stores a report whose photos are already prepared (see [`photo::prepare`]).
    pub fn create_report_from_prepared(&self, draft: &ReportDraft, photos: &[PreparedPhoto]) -> Result<Report> {
        check_draft(draft, photos.len())?;
        self.store_report(draft, photos, None)
    }

    /// Stores a checked draft; `after` makes it a report fixed on the spot.
    fn store_report(&self, draft: &ReportDraft, photos: &[PreparedPhoto], after: Option<&[PreparedPhoto]>) -> Result<Report> {
        let location = domain::location::resolve(draft.location.as_ref(), photos.iter().map(PreparedPhoto::geotag))?;
        let report = Report {
            id: ReportId::new(),
            category: draft.category.clone(),
            note: draft.note.trim().to_owned(),
            location,
            photos: photos.iter().map(photo_ref).collect(),
            reporter: draft.reporter.clone(),
            taken_at: photos.iter().find_map(|p| p.metadata.taken_at).map(|t| t.to_rfc3339()),
            created_at: clock::now_rfc3339(),
            sync_state: SyncState::Pending,
            sync_error: None,
            status: ReportStatus::Submitted,
            fixed_on_spot: after.is_some(),
            after_photos: after.unwrap_or_default().iter().map(photo_ref).collect(),
        };
        // Files first, durably; the rows that point at them after.
        let all = || photos.iter().chain(after.unwrap_or_default());
        for photo in all() {
            self.put_photo(photo)?;
        }
        let thumbnail_bytes: Vec<u64> = all().map(|p| p.thumbnail.len() as u64).collect();
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

    /// One page of this device's reports, newest first: up to `limit`
    /// ([`domain::page::DEFAULT_PAGE_LIMIT`] when `None`, at most
    /// [`domain::page::MAX_PAGE_LIMIT`]), starting where `cursor` (a
    /// `next_cursor` of the page before) says; the first page without one.
    pub fn report_page(&self, limit: Option<u32>, cursor: Option<&str>) -> Result<ReportPage> {
        let limit = page::limit(limit)?;
        let after = cursor.map(page::ReportCursor::decode).transpose()?;
        // One more than the page, to learn whether another page follows.
        let mut reports = self.db.read(|tx| store::report_page(tx, after.as_ref(), limit + 1))?;
        let more = reports.len() > limit as usize;
        reports.truncate(limit as usize);
        let next_cursor = more.then(|| reports.last().map(|r| page::ReportCursor::of(r).encode())).flatten();
        Ok(ReportPage { reports, next_cursor })
    }

    /// How many reports this device holds.
    pub fn report_count(&self) -> Result<u64> {
        self.db.read(store::report_count)
    }

    /// How many reports still wait to be sent.
    pub fn pending_count(&self) -> Result<u64> {
        self.db.read(store::outbox_len)
    }

    /// The file of a stored photo's rendition or thumbnail. For the photos
    /// of a case in the task list, the device holds the thumbnail only.
    pub fn photo_path(&self, sha256: &str, kind: BlobKind) -> Result<PathBuf> {
        self.check_held(sha256, kind)?;
        if self.blobs.is_sealed() {
            return Err(Error::InvalidInput("an encrypted store keeps its photos sealed: read them with photo_bytes".into()));
        }
        Ok(self.blobs.path(kind, sha256))
    }

    /// The bytes of a stored photo's rendition or thumbnail (opened, in an
    /// encrypted store).
    pub fn photo_bytes(&self, sha256: &str, kind: BlobKind) -> Result<Vec<u8>> {
        self.check_held(sha256, kind)?;
        self.blobs.read(kind, sha256)
    }

    fn check_held(&self, sha256: &str, kind: BlobKind) -> Result<()> {
        if !is_sha256_hex(sha256) {
            return Err(Error::InvalidInput(format!("`{sha256}` is not a sha256 (64 lower-case hex digits)")));
        }
        let held = self.db.read(|tx| match kind {
            BlobKind::Rendition => store::photo_exists(tx, sha256),
            BlobKind::Thumbnail => store::tasks::has_thumbnail(tx, sha256),
        })?;
        if !held {
            return Err(Error::PhotoNotFound(sha256.to_owned()));
        }
        Ok(())
    }

    /// Who the server said this device's user is, at the last sync; `None`
    /// before the first.
    pub fn me(&self) -> Result<Option<protocol::Me>> {
        self.db.read(store::tasks::me)
    }

    /// The cases this user may act on, as the last sync brought them, with
    /// this device's actions not yet sent applied: the server's order
    /// (newest change first), then the cases kept because this device acted
    /// on them (see [`domain::task::KEEP_ACTED_ON_MS`]). Empty before the
    /// first sync, and for a resident or a coordinator.
    pub fn tasks(&self) -> Result<Vec<TaskView>> {
        Ok(self.tasks_after(None, None)?.into_iter().map(|(view, _)| view).collect())
    }

    /// One page of the task list, in the order of [`Store::tasks`]: up to
    /// `limit`, starting where `cursor` (a `next_cursor` of the page before)
    /// says, as [`Store::report_page`].
    pub fn task_page(&self, limit: Option<u32>, cursor: Option<&str>) -> Result<TaskPage> {
        let limit = page::limit(limit)?;
        let after = cursor.map(page::TaskCursor::decode).transpose()?;
        let mut tasks = self.tasks_after(after.as_ref(), Some(limit + 1))?;
        let more = tasks.len() > limit as usize;
        tasks.truncate(limit as usize);
        let next_cursor = more.then(|| tasks.last().map(|(_, cursor)| cursor.encode())).flatten();
        Ok(TaskPage { tasks: tasks.into_iter().map(|(view, _)| view).collect(), next_cursor })
    }

    fn tasks_after(&self, after: Option<&page::TaskCursor>, count: Option<u32>) -> Result<Vec<(TaskView, page::TaskCursor)>> {
        let now = now_ms();
        self.db.read(|tx| {
            let me = store::tasks::me(tx)?;
            store::tasks::task_page(tx, after, count)?
                .into_iter()
                .map(|(stored, cursor)| {
                    let own = store::tasks::actions_of(tx, &stored.task.id)?;
                    Ok((domain::task::view(&stored.task, me.as_ref(), &own, stored.in_feed, now), cursor))
                })
                .collect()
        })
    }

    /// One case of the task list, with its history and this device's own actions on it.
    pub fn task(&self, id: &str) -> Result<TaskDetail> {
        let now = now_ms();
        self.db.read(|tx| {
            let stored = store::tasks::get_task(tx, id)?.ok_or_else(|| Error::TaskNotFound(id.to_owned()))?;
            let me = store::tasks::me(tx)?;
            let actions = store::tasks::actions_of(tx, id)?;
            let task = domain::task::view(&stored.task, me.as_ref(), &actions, stored.in_feed, now);
            Ok(TaskDetail { task, history: stored.task.history, actions })
        })
    }

    /// Takes an action on a case, offline: checked here against the same
    /// rules and workflow table the server uses ([`rules::check_action`],
    /// [`domain::workflow::judge`]), from the case's status as this device
    /// knows it (the server's last word with this device's pending actions
    /// applied, so that a rectify may be followed by a verify but not by a
    /// second rectify), then queued with its after-photos, which are stored
    /// like a report's. The next sync sends it, in the order taken; the
    /// server decides again and may refuse it (the action then shows
    /// `failed` with the server's reason). A refusal here stores nothing.
    pub fn act(&self, report_id: &str, action: &TaskAction) -> Result<OwnAction> {
        let note = |text: &Option<String>| text.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned);
        let mut request = protocol::ActionRequest {
            action_id: uuid::Uuid::now_v7().hyphenated().to_string(),
            action: action.action,
            note: note(&action.note),
            public_note: note(&action.public_note),
            department: None,
            due_at: action.due_at.as_deref().map(str::trim).map(str::to_owned),
            duplicate_of: None,
            // Placeholders of the right count until the photos are prepared:
            // the cheap checks go first, so a refusal costs no photo decode.
            photos: vec!["0".repeat(64); action.photos.len()],
        };
        rules::check_action(&request, now_ms())?;
        self.db.read(|tx| judge_action(tx, report_id, action.action))?;
        let photos = action.photos.iter().map(prepare_source).collect::<Result<Vec<_>>>()?;
        request.photos = photos.iter().map(|p| p.sha256.clone()).collect();
        for photo in &photos {
            self.put_photo(photo)?;
        }
        let taken_at = clock::now_rfc3339();
        let refs: Vec<(PhotoRef, u64)> = photos.iter().map(|p| (photo_ref(p), p.thumbnail.len() as u64)).collect();
        self.db.write(|tx| {
            // Judged again under the write lock: another process may have
            // acted on the case since.
            judge_action(tx, report_id, action.action)?;
            store::tasks::insert_action(tx, &request, report_id, &refs, &taken_at)?;
            store::tasks::get_action(tx, &request.action_id)?.ok_or_else(|| Error::StoreDamaged("a queued action vanished".into()))
        })
    }

    /// How many actions wait to be sent.
    pub fn pending_action_count(&self) -> Result<u64> {
        self.db.read(store::tasks::pending_action_count)
    }

    /// A prepared photo's files, durably, before any row points at them.
    fn put_photo(&self, photo: &PreparedPhoto) -> Result<()> {
        self.blobs.put(BlobKind::Rendition, &photo.sha256, &photo.rendition)?;
        self.blobs.put(BlobKind::Thumbnail, &photo.sha256, &photo.thumbnail)
    }
}

/// Whether `action` may be taken on the case `report_id` now, as this
/// device knows it: the table's verdict, as a typed error if not.
fn judge_action(tx: &rusqlite::Transaction, report_id: &str, action: Action) -> Result<()> {
    use domain::workflow::{Refusal, judge};
    let stored = store::tasks::get_task(tx, report_id)?.ok_or_else(|| Error::TaskNotFound(report_id.to_owned()))?;
    let me = store::tasks::me(tx)?;
    let own = store::tasks::actions_of(tx, report_id)?;
    let capacities = domain::task::capacities_for(me.as_ref(), &stored.task);
    let pending = own.iter().filter(|a| a.sync_state == SyncState::Pending);
    let (status, _) = domain::task::fold(&stored.task, &capacities, pending);
    match judge(action, status, &capacities) {
        Ok(_) => Ok(()),
        Err(Refusal::NotYours) => Err(Error::NotYourAction {
            action,
            role: me.map_or(Role::Resident, |m| m.role),
            status,
            allowed: domain::workflow::allowed_actions(status, &capacities),
        }),
        Err(Refusal::NotNow { allowed }) => Err(Error::ActionNotAllowed { action, status, allowed }),
    }
}

fn photo_ref(p: &PreparedPhoto) -> PhotoRef {
    PhotoRef { sha256: p.sha256.clone(), width: p.width, height: p.height, bytes: p.rendition.len() as u64 }
}

fn prepare_source(source: &PhotoSource) -> Result<PreparedPhoto> {
    match source {
        PhotoSource::Path(path) => photo::prepare(&read_photo_file(path)?),
        PhotoSource::Bytes(bytes) => photo::prepare(bytes),
    }
}

fn now_ms() -> i64 {
    clock::now_ms()
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

    /// [`Store::sync`] over another transport than the HTTP one the device
    /// is logged in to: the deterministic simulation's network (see
    /// `tests/src/sim`). The same run, step for step.
    pub fn sync_over(&self, transport: &dyn sync::Transport, trigger: sync::Trigger, progress: &dyn sync::Progress) -> Result<SyncSummary> {
        sync::run_with(&self.db, &self.blobs, transport, trigger, progress)
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
