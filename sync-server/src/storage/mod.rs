//! Rows: users and tokens, uploads under way, photos and who holds them,
//! reports and their workflow events, behind the [`Storage`] trait, so that
//! a PostgreSQL backend can take SQLite's place without touching the layers
//! above. Storage answers questions and applies changes; the decisions (is
//! this push a repeat, may this user do that) are the services'.
//!
//! # Consistency contract (every backend keeps it; `contract.rs` tests it)
//! - [`Storage::write`] is atomic and durable: every change its closure
//!   made is committed together, and survives a crash or a power cut of
//!   the server, before it returns `Ok`; if the closure fails, or the
//!   commit does, none of them is. A backend may run the closure again
//!   (to retry a serialisation failure), so a closure must not act outside
//!   the transaction it is given.
//! - [`Storage::read`] sees one snapshot: every write committed before it
//!   began, none committed after.
//! - A report id is never stored twice ([`WriteTxn::insert_report`] on a
//!   taken id fails): the first accepted content wins.
//! - Each event appended gets a sequence number greater than every event
//!   committed before it, and the report's status is updated in the same
//!   transaction. [`ReadTxn::changes`] returns events in sequence order, and
//!   a reader that has seen event `n` will never later find a newly
//!   committed event below `n`, so a cursor never skips a committed change.
//!   (SQLite gets this from its single writer; the PostgreSQL backend
//!   serialises event inserts with an advisory lock, since sequences there
//!   may commit out of order.)
//! - Uploads are keyed by user and photo ([`UploadKey`]); a photo counts as
//!   held by a user only once [`WriteTxn::add_holder`] said so.
//! - Every change to users or tokens moves [`ReadTxn::auth_version`] in the
//!   same transaction, whoever makes it, so that servers caching users
//!   notice it.
//! - A photo row is written only after its blob is durable (see
//!   [`crate::blobs`]); storage never points at bytes that are not there.
//!
//! Calls block; the HTTP layer makes them on the blocking pool.

mod codes;
#[cfg(test)]
mod contract;
mod error;
pub mod postgres;
pub mod sqlite;

use std::path::Path;

use suishoupai_core::protocol::{Change, WireReport};
use suishoupai_core::{Action, ReportStatus};

pub use self::error::{StorageError, StorageResult};
pub use crate::model::UploadKey;
use crate::model::{Role, Scope, User};

/// A backend: transactions over the server's rows.
pub trait Storage: Send + Sync + 'static {
    /// Runs `f` on one consistent snapshot.
    fn read(&self, f: &mut dyn FnMut(&dyn ReadTxn) -> StorageResult<()>) -> StorageResult<()>;
    /// Runs `f` in one atomic, durable transaction (see the contract).
    fn write(&self, f: &mut dyn FnMut(&mut dyn WriteTxn) -> StorageResult<()>) -> StorageResult<()>;
    /// Writes a copy of everything stored, as of one moment, into the
    /// directory `to` (where this backend's `open` finds it), durably,
    /// while reads and writes go on. A copy already there is replaced
    /// whole, never left half-written.
    fn backup_into(&self, to: &Path) -> StorageResult<()>;
}

/// What a snapshot answers.
pub trait ReadTxn {
    /// The owner of a token that is known and not revoked.
    fn token_owner(&self, token_sha256: &str) -> StorageResult<Option<TokenOwner>>;
    fn users(&self) -> StorageResult<Vec<UserListing>>;
    fn user_by_name(&self, name: &str) -> StorageResult<Option<User>>;
    /// A number that grows with every change to users and tokens.
    fn auth_version(&self) -> StorageResult<i64>;

    /// The photo, if `user_id` holds it.
    fn held_photo(&self, user_id: i64, sha256: &str) -> StorageResult<Option<PhotoMeta>>;
    fn upload(&self, key: &UploadKey) -> StorageResult<Option<UploadRow>>;
    /// What the user has open in uploads.
    fn open_uploads(&self, user_id: i64) -> StorageResult<OpenUploads>;
    /// What the user sent since `since_ms` (received at or after it): the
    /// reports they own, and the bytes of the photos they came to hold
    /// (each photo once). What their daily quotas count.
    fn sent_since(&self, user_id: i64, since_ms: i64) -> StorageResult<Sent>;
    /// Every upload under way (to tell partial files without one).
    fn upload_keys(&self) -> StorageResult<Vec<UploadKey>>;
    /// At most `limit` photos after `after` (by name), in name order.
    fn photo_names(&self, after: Option<&str>, limit: usize) -> StorageResult<Vec<String>>;
    /// At most `limit` photos that no report and no event shows and that
    /// nobody came to hold at or after `held_before_ms` (a photo whose
    /// holders have no time counts from when it was received): what the
    /// sweep may remove.
    fn unreferenced_photos(&self, held_before_ms: i64, limit: usize) -> StorageResult<Vec<String>>;
    /// At most `limit` photos whose rows were swept and whose bytes may
    /// still be in the blob store.
    fn swept_photos(&self, limit: usize) -> StorageResult<Vec<String>>;
    /// Whether a report within `scope` contains this photo.
    fn photo_visible(&self, scope: &Scope, sha256: &str) -> StorageResult<bool>;
    /// Why the photo's thumbnail cannot be made, if that was found before.
    fn thumbnail_error(&self, sha256: &str) -> StorageResult<Option<String>>;

    /// Who pushed the report under `id` and what it holds, if one exists.
    fn existing_report(&self, id: &str) -> StorageResult<Option<ExistingReport>>;
    fn report(&self, scope: &Scope, id: &str) -> StorageResult<Option<StoredReport>>;
    fn reports(&self, scope: &Scope, filter: &ReportFilter) -> StorageResult<ReportPage>;
    /// Events of reports within `scope` after sequence number `after`, oldest first.
    fn changes(&self, scope: &Scope, after: Option<i64>, limit: usize) -> StorageResult<ChangeBatch>;
    /// The open cases of a grid, or those dispatched to a department now,
    /// most recently changed first.
    fn tasks(&self, of: &TaskOwner, limit: usize) -> StorageResult<Vec<StoredReport>>;
    /// The first decision recorded under an action id, if any: the event
    /// it was taken with, or its refusal ([`WriteTxn::record_refusal`]).
    fn recorded_action(&self, action_id: &str) -> StorageResult<Option<RecordedAction>>;
    /// Reports of `category` near a point (within the box, whose corners
    /// are in degrees), created in `[since_ms, until_ms]`, but `except`.
    fn reports_near(&self, near: &Near, except: &str) -> StorageResult<Vec<NearbyReport>>;
    /// The perceptual hashes known of these photos.
    fn phashes(&self, sha256s: &[String]) -> StorageResult<Vec<(String, String)>>;

    fn grids_version(&self) -> StorageResult<i64>;
    fn grid_cells(&self) -> StorageResult<Vec<GridCell>>;
    fn departments(&self) -> StorageResult<Vec<Department>>;
    fn department(&self, code: &str) -> StorageResult<Option<Department>>;
    fn routes(&self) -> StorageResult<Vec<Route>>;
    fn route(&self, category: &str) -> StorageResult<Option<Route>>;
    /// Every case with the times of its workflow events, for statistics.
    fn case_histories(&self) -> StorageResult<Vec<CaseHistory>>;
    /// The cases that figures over `[start_ms, end_ms)` at `now_ms` can
    /// count, each with all its actions as [`ReadTxn::case_histories`] has
    /// them: at least every case with an action in the window, a deadline
    /// (`due_ms`) in it, or `dispatched`/`in_progress` with a deadline
    /// before `now_ms`. A backend may answer more (the caller filters by
    /// time again), never fewer; a period's statistics then read a period's
    /// cases, not the whole history.
    fn case_histories_within(&self, start_ms: i64, end_ms: i64, now_ms: i64) -> StorageResult<Vec<CaseHistory>>;
    /// Reports passing `filter` (all of them: the ledger is the
    /// coordinators'), oldest first (`created_ms`, then id) after `after`,
    /// at most `limit`, with what the ledger shows of their history. The
    /// filter's cursor and limit are ignored.
    fn ledger_rows(&self, filter: &ReportFilter, after: Option<&ReportKey>, limit: usize) -> StorageResult<Vec<LedgerRecord>>;
    /// How many reports in scope pass `filter`, per status that has any
    /// (the filter's status, cursor and limit are ignored).
    fn report_counts(&self, scope: &Scope, filter: &ReportFilter) -> StorageResult<Vec<(ReportStatus, u64)>>;

    /// A user's password hash (None until one is set) and whether they are
    /// disabled, for signing in by name.
    fn credentials(&self, name: &str) -> StorageResult<Option<Credentials>>;
    /// The user of a session that exists, has not expired at `now_ms`, and
    /// whose user is not disabled.
    fn session(&self, session_sha256: &str, now_ms: i64) -> StorageResult<Option<SessionRow>>;
    /// Failed sign-ins of `subject` at or after `since_ms`, and the earliest of them.
    fn sign_in_failures(&self, subject: &str, since_ms: i64) -> StorageResult<(u32, Option<i64>)>;
    /// The user's tokens that are not revoked, by device (never the token).
    fn devices(&self, user_id: i64) -> StorageResult<Vec<DeviceToken>>;
    /// Every report with a location, for placing them again.
    fn located_reports(&self) -> StorageResult<Vec<LocatedReport>>;
}

/// What a transaction changes, besides what it reads.
pub trait WriteTxn: ReadTxn {
    /// Fails with [`StorageError::Conflict`] if the name is taken.
    fn insert_user(&mut self, user: &NewUser, created_at: &str) -> StorageResult<User>;
    fn insert_token(&mut self, user_id: i64, token_sha256: &str, device: &str, created_at: &str) -> StorageResult<()>;
    /// Revokes every token of the user not revoked yet.
    fn revoke_tokens(&mut self, user_id: i64, at: &str) -> StorageResult<()>;
    /// `Some(time)` disables the user from then, `None` enables them.
    fn set_disabled(&mut self, user_id: i64, disabled_at: Option<&str>) -> StorageResult<()>;
    /// Revokes the user's tokens of this device; answers how many.
    fn revoke_device_tokens(&mut self, user_id: i64, device: &str, at: &str) -> StorageResult<usize>;
    /// Sets the user's password hash (an Argon2id PHC string).
    fn set_password(&mut self, user_id: i64, password_hash: &str) -> StorageResult<()>;
    fn insert_session(&mut self, session: &NewSession) -> StorageResult<()>;
    fn delete_session(&mut self, session_sha256: &str) -> StorageResult<()>;
    /// Ends every session of the user (a new password, an admin's order).
    fn delete_sessions_of(&mut self, user_id: i64) -> StorageResult<()>;
    fn record_sign_in_failure(&mut self, subject: &str, at_ms: i64) -> StorageResult<()>;
    fn clear_sign_in_failures(&mut self, subject: &str) -> StorageResult<()>;
    /// Forgets sessions expired at `now_ms` and failures before `failures_before_ms`.
    fn expire_sign_ins(&mut self, now_ms: i64, failures_before_ms: i64) -> StorageResult<()>;

    /// Starts the upload, or starts it again from 0 with this length.
    fn put_upload(&mut self, key: &UploadKey, length: u64, started_at: &str, now_ms: i64) -> StorageResult<()>;
    fn set_upload_offset(&mut self, key: &UploadKey, offset: u64, now_ms: i64) -> StorageResult<()>;
    fn delete_upload(&mut self, key: &UploadKey) -> StorageResult<()>;
    /// Forgets uploads untouched since `touched_before_ms`; answers them.
    fn expire_uploads(&mut self, touched_before_ms: i64) -> StorageResult<Vec<UploadKey>>;
    /// Removes the photo's rows (the photo, its holders) if it is still as
    /// [`ReadTxn::unreferenced_photos`] says, and lists it as swept;
    /// answers whether it did.
    fn sweep_photo(&mut self, sha256: &str, held_before_ms: i64) -> StorageResult<bool>;
    /// Takes the photo off the swept list unless it was recorded again
    /// since; answers whether its bytes may go. The caller removes them
    /// inside this same transaction, so that no record of the photo can
    /// commit between the answer and the removal.
    fn forget_swept_photo(&mut self, sha256: &str) -> StorageResult<bool>;
    /// Records a complete photo (a second record of it changes nothing),
    /// taking it off the swept list.
    fn add_photo(&mut self, photo: &PhotoMeta, received_at: &str) -> StorageResult<()>;
    /// The user holds the photo from `held_ms` on (a second record of it
    /// changes nothing, its time included).
    fn add_holder(&mut self, sha256: &str, user_id: i64, held_ms: i64) -> StorageResult<()>;
    fn set_thumbnail_error(&mut self, sha256: &str, reason: &str) -> StorageResult<()>;

    /// A new report with its photos, status `submitted`.
    fn insert_report(&mut self, report: &NewReportRow) -> StorageResult<()>;
    /// Appends a workflow event, with its photos.
    fn append_event(&mut self, event: &NewEvent) -> StorageResult<()>;
    /// Records that an action was refused, under its id: a later request
    /// with that id finds it through [`ReadTxn::recorded_action`]. An id is
    /// recorded once, as an event or as a refusal; a second record of it
    /// fails.
    fn record_refusal(&mut self, refusal: &NewRefusal) -> StorageResult<()>;
    /// Sets the case's state, as folded from its events by the caller in
    /// the transaction that appends the event.
    fn set_case_state(&mut self, id: &str, state: &CaseState) -> StorageResult<()>;
    fn set_report_grid(&mut self, id: &str, grid_id: Option<&str>) -> StorageResult<()>;

    /// Adds the cell, or replaces the one with its id.
    fn put_grid_cell(&mut self, cell: &GridCell, imported_at: &str) -> StorageResult<()>;
    /// Adds the department, or renames the one with its code.
    fn put_department(&mut self, department: &Department) -> StorageResult<()>;
    fn put_route(&mut self, route: &Route) -> StorageResult<()>;
}

/// Runs `f` on a snapshot and answers what it answers: the caller's own
/// error type passes through, a storage failure becomes one.
pub fn read<T, E: From<StorageError>>(storage: &dyn Storage, mut f: impl FnMut(&dyn ReadTxn) -> Result<T, E>) -> Result<T, E> {
    let mut outcome = None;
    let stored = storage.read(&mut |txn| {
        let result = f(txn);
        let failed = result.is_err();
        outcome = Some(result);
        if failed { Err(StorageError::Aborted) } else { Ok(()) }
    });
    settle(stored, outcome)
}

/// Runs `f` in a transaction, committed if it succeeds and rolled back if
/// it fails (with the caller's own error passed through).
pub fn write<T, E: From<StorageError>>(storage: &dyn Storage, mut f: impl FnMut(&mut dyn WriteTxn) -> Result<T, E>) -> Result<T, E> {
    let mut outcome = None;
    let stored = storage.write(&mut |txn| {
        let result = f(txn);
        let failed = result.is_err();
        outcome = Some(result);
        if failed { Err(StorageError::Aborted) } else { Ok(()) }
    });
    settle(stored, outcome)
}

fn settle<T, E: From<StorageError>>(stored: StorageResult<()>, outcome: Option<Result<T, E>>) -> Result<T, E> {
    match (stored, outcome) {
        (Ok(()), Some(Ok(value))) => Ok(value),
        (Err(StorageError::Aborted), Some(Err(e))) => Err(e),
        (Err(e), _) => Err(e.into()),
        (Ok(()), _) => Err(StorageError::Backend("a transaction ended without running its closure".into()).into()),
    }
}

/// A user as `user list` shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserListing {
    pub user: User,
    pub disabled: bool,
    /// Tokens not revoked.
    pub active_tokens: u32,
}

/// A report as the ledger (台账) lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerRecord {
    pub id: String,
    pub category: String,
    pub grid_id: Option<String>,
    pub street_office: Option<String>,
    pub community: Option<String>,
    /// WGS-84, as stored.
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub department: Option<String>,
    pub department_name: Option<String>,
    pub status: ReportStatus,
    pub created_ms: i64,
    pub due_ms: Option<i64>,
    /// The first `accept` (立案), RFC 3339.
    pub accepted_at: Option<String>,
    /// The last `rectify`.
    pub rectified_at: Option<String>,
    /// The last `verify`, for a case closed now.
    pub closed_at: Option<String>,
    pub reworks: u32,
    /// The reporter's photos, then the after-photos, by sha256.
    pub photos: Vec<String>,
}

/// What signing in by name needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: User,
    pub password_hash: Option<String>,
    pub disabled: bool,
}

/// A signed-in browser: its user and the CSRF token its forms carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub user: User,
    pub csrf: String,
    pub expires_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub session_sha256: String,
    pub user_id: i64,
    pub csrf: String,
    pub created_ms: i64,
    pub expires_ms: i64,
}

/// A token that is not revoked, as an admin sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeviceToken {
    pub device: String,
    pub created_at: String,
}

/// Whom a token belongs to, if it is known and not revoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenOwner {
    pub user: User,
    pub disabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub name: String,
    pub role: Role,
    pub grid_id: Option<String>,
    pub department: Option<String>,
}

/// An upload under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadRow {
    pub length: u64,
    pub offset: u64,
}

/// A user's uploads under way: how many, and the bytes they declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OpenUploads {
    pub count: usize,
    pub declared_bytes: u64,
}

/// What a user sent over a span of time: see [`ReadTxn::sent_since`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sent {
    pub reports: u64,
    pub photo_bytes: u64,
}

/// A complete photo: its bytes are in the blob store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoMeta {
    pub sha256: String,
    pub bytes: u64,
    pub width: u32,
    pub height: u32,
    /// 64-bit perceptual hash, hex; none for photos stored before hashes were made.
    pub phash: Option<String>,
}

/// What decides a repeated push: who pushed the report and what it held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingReport {
    pub owner_id: i64,
    pub content_sha256: String,
    pub status: ReportStatus,
}

/// A report as it goes in.
#[derive(Debug, Clone)]
pub struct NewReportRow<'a> {
    pub id: &'a str,
    pub owner_id: i64,
    /// sha256 of `body`: the same id with another hash is a conflict.
    pub content_sha256: &'a str,
    /// The report's canonical JSON, kept verbatim.
    pub body: &'a str,
    pub category: &'a str,
    pub created_at: &'a str,
    pub created_ms: i64,
    pub grid_id: Option<&'a str>,
    pub received_at: &'a str,
    pub received_ms: i64,
    /// The photos' sha256, in order.
    pub photos: Vec<&'a str>,
    pub location: Option<(f64, f64)>,
}

/// A workflow event as it goes in.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub report_id: &'a str,
    /// None for a report's arrival.
    pub action: Option<Action>,
    /// The caller's id for the action, and the hash of what it asked.
    pub action_id: Option<&'a str>,
    pub content_sha256: Option<&'a str>,
    /// The status after the event.
    pub status: ReportStatus,
    pub actor_id: i64,
    pub actor_role: Role,
    pub at: &'a str,
    pub note: Option<&'a str>,
    pub public_note: Option<&'a str>,
    pub department: Option<&'a str>,
    pub due_at: Option<&'a str>,
    pub duplicate_of: Option<&'a str>,
    pub photos: Vec<&'a str>,
}

impl<'a> NewEvent<'a> {
    /// An event with nothing but its report, status, actor and time: a
    /// report's arrival; the start of any other with `..`.
    pub fn arrival(report_id: &'a str, status: ReportStatus, actor: &User, at: &'a str) -> Self {
        NewEvent {
            report_id,
            action: None,
            action_id: None,
            content_sha256: None,
            status,
            actor_id: actor.id,
            actor_role: actor.role,
            at,
            note: None,
            public_note: None,
            department: None,
            due_at: None,
            duplicate_of: None,
            photos: Vec::new(),
        }
    }
}

/// What a case's events add up to, kept on the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseState {
    pub status: ReportStatus,
    /// The department it is dispatched to now.
    pub department: Option<String>,
    pub due_at: Option<String>,
    pub due_ms: Option<i64>,
    pub duplicate_of: Option<String>,
    pub changed_ms: i64,
}

/// Whose tasks: a grid's open cases, or a department's dispatched ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskOwner {
    Grid(String),
    Department(String),
}

/// An action as it was first decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedAction {
    pub report_id: String,
    pub actor_id: i64,
    pub content_sha256: String,
    /// `None` if it was taken.
    pub refusal: Option<Refusal>,
}

/// Why an action was refused, as its first answer said: the refusals that
/// are final. (A `missing_photos` is not: the device uploads and asks
/// again with the same id.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    BadRequest(String),
    Forbidden(String),
    InvalidTransition { message: String, status: ReportStatus, allowed: Vec<Action> },
}

/// A refusal to record under an action's id.
#[derive(Debug, Clone, Copy)]
pub struct NewRefusal<'a> {
    pub action_id: &'a str,
    pub report_id: &'a str,
    pub actor_id: i64,
    pub content_sha256: &'a str,
    pub refusal: &'a Refusal,
    pub refused_ms: i64,
}

/// Where to look for duplicates.
#[derive(Debug, Clone, PartialEq)]
pub struct Near {
    pub category: String,
    pub min_lat: f64,
    pub max_lat: f64,
    pub min_lon: f64,
    pub max_lon: f64,
    pub since_ms: i64,
    pub until_ms: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NearbyReport {
    pub id: String,
    pub status: ReportStatus,
    pub created_at: String,
    pub latitude: f64,
    pub longitude: f64,
    pub photos: Vec<String>,
}

/// A case as statistics count it: where it is, whose it is now, and when
/// each of its actions was taken.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseHistory {
    pub id: String,
    pub category: String,
    pub grid_id: Option<String>,
    /// Of the case's cell, when it has one and the cell is still in the grid.
    pub street_office: Option<String>,
    pub community: Option<String>,
    /// The department it is dispatched to now.
    pub department: Option<String>,
    pub status: ReportStatus,
    pub due_ms: Option<i64>,
    /// Its events with an action, oldest first: (action, ms since the epoch).
    pub actions: Vec<(Action, i64)>,
}

/// A report's place: where it is, and the cell it is in now.
#[derive(Debug, Clone, PartialEq)]
pub struct LocatedReport {
    pub id: String,
    pub grid_id: Option<String>,
    pub latitude: f64,
    pub longitude: f64,
}

/// A cell of the grid, its geometry as GeoJSON (WGS-84).
#[derive(Debug, Clone, PartialEq)]
pub struct GridCell {
    pub grid_id: String,
    pub name: String,
    pub community: String,
    pub street_office: String,
    pub geometry: String,
    /// The bounding box: min_lat, max_lat, min_lon, max_lon.
    pub bbox: [f64; 4],
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Department {
    pub code: String,
    pub name: String,
    pub name_en: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Route {
    pub category: String,
    pub department: String,
    pub deadline_hours: u32,
}

/// A report as stored: what the device pushed, and what the server knows
/// about it since. [`crate::views`] decides what of it a caller sees.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredReport {
    pub wire: WireReport,
    pub status: ReportStatus,
    pub owner_id: i64,
    /// The name of the user who pushed it.
    pub owner: String,
    pub grid_id: Option<String>,
    /// The department it is dispatched to now.
    pub department: Option<String>,
    pub due_at: Option<String>,
    pub due_ms: Option<i64>,
    pub duplicate_of: Option<String>,
    pub received_at: String,
    pub history: Vec<HistoryEntry>,
    pub created_ms: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    pub action: Option<Action>,
    /// The status after it.
    pub status: ReportStatus,
    pub note: Option<String>,
    pub public_note: Option<String>,
    pub department: Option<String>,
    pub due_at: Option<String>,
    pub duplicate_of: Option<String>,
    pub photos: Vec<String>,
    pub actor_id: i64,
    /// The name of the user who took it.
    pub actor: String,
    pub actor_role: Role,
    pub at: String,
}

/// Filters of a report listing; all of them optional but `limit`.
#[derive(Debug, Clone, Default)]
pub struct ReportFilter {
    pub status: Option<ReportStatus>,
    /// Reports in any of these statuses (none: any status). Like `status`,
    /// applied by [`ReadTxn::reports`] only.
    pub statuses: Vec<ReportStatus>,
    pub category: Option<String>,
    /// Reports of any of these categories (none: any category).
    pub categories: Vec<String>,
    /// Only these reports (none: any report).
    pub ids: Vec<String>,
    pub grid_id: Option<String>,
    /// Reports placed in a cell of this street office.
    pub street_office: Option<String>,
    /// Reports dispatched to this department now.
    pub department: Option<String>,
    /// Only reports overdue at this time: dispatched or in progress, past due.
    pub overdue_at_ms: Option<i64>,
    /// Inclusive lower bound on `created_at`, in ms.
    pub since_ms: Option<i64>,
    /// Exclusive upper bound on `created_at`, in ms.
    pub until_ms: Option<i64>,
    pub limit: usize,
    /// Continue after this report in the order (newest first).
    pub after: Option<ReportKey>,
}

/// A report's place in the listing order: `created_at` descending, then id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportKey {
    pub created_ms: i64,
    pub id: String,
}

#[derive(Debug, Clone)]
pub struct ReportPage {
    pub reports: Vec<StoredReport>,
    /// Set when more reports follow.
    pub next: Option<ReportKey>,
}

#[derive(Debug, Clone)]
pub struct ChangeBatch {
    pub changes: Vec<Change>,
    /// Sequence number of the last change in `changes`.
    pub last_seq: Option<i64>,
    pub has_more: bool,
}
