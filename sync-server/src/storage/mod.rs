//! Rows: users, uploads under way, photos, reports and their workflow
//! events. The HTTP layer sees only the [`Storage`] trait, so that a
//! PostgreSQL implementation can take SQLite's place without touching it.
//!
//! # Consistency contract (every implementation must keep it)
//! - Every method is atomic: it happens entirely or not at all, and a method
//!   that returns `Ok` has made its change durable (it survives a crash or a
//!   power cut of the server).
//! - [`Storage::push_reports`] is one transaction per batch: all of the
//!   batch's accepted reports become visible together, with their
//!   `submitted` events; photo existence is checked in that same transaction.
//! - A report id is never overwritten: the first accepted content wins.
//! - Each status change is appended as an event with a sequence number
//!   greater than every event committed before it; the report's status is
//!   updated in the same transaction. [`Storage::changes`] returns events in
//!   sequence order, and a reader that has seen event `n` will never later
//!   find a newly committed event below `n`, so a cursor never skips a
//!   committed change. (SQLite gets this from its single writer; a
//!   PostgreSQL backend must serialise event inserts, e.g. with a lock on the
//!   events table, since sequences there may commit out of order.)
//! - Uploads belong to the user who started them: one user never sees,
//!   resumes or completes another's. Upload offsets only move by
//!   [`Storage::advance_upload`] from the offset the caller saw; a stale
//!   caller gets [`Error::OffsetMismatch`] and nothing changes.
//! - A photo counts as present for a user only if that user holds it (sent
//!   it whole: [`Storage::finish_upload`]). For anyone else every answer is
//!   as if the server had never seen it: an upload starts at 0, a push
//!   names it missing, and no size or dimension of it is told.
//! - [`Storage::start_uploads`] opens nothing beyond the user's
//!   [`UploadAllowance`]: a batch that would pass it fails whole with
//!   [`Error::QuotaExceeded`] and writes nothing.
//! - Every change to users or tokens bumps [`Storage::auth_version`] in the
//!   same transaction, so that servers caching users notice it.
//! - A photo row is written only after its blob is durable (see
//!   [`crate::blobs`]); storage never points at bytes that are not there.
//!
//! Methods are blocking; the HTTP layer calls them on the blocking pool.

#[cfg(test)]
mod contract;
pub mod sqlite;

use serde::Serialize;
use suishoupai_core::ReportStatus;
use suishoupai_core::protocol::{Change, PushResult, UploadCreate, UploadState, WireReport};

use crate::auth::{Role, User};
use crate::error::{Error, Result};

/// The reports a caller may see, as decided by [`crate::auth::scope`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Reports this user pushed.
    Owner(i64),
    /// Reports of this grid, and those this user pushed.
    GridOrOwner {
        grid_id: String,
        owner: i64,
    },
    /// Reports dispatched to this department.
    Department(String),
    All,
}

/// A user as `user list` shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserListing {
    pub user: User,
    pub disabled: bool,
    /// Tokens not revoked.
    pub active_tokens: u32,
}

/// Whom a token belongs to, if it is known and not revoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenOwner {
    pub user: User,
    pub disabled: bool,
}

/// An upload under way is one user's: the same photo uploaded by two users
/// is two uploads.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UploadKey {
    pub user_id: i64,
    pub sha256: String,
}

/// How much a user may have open in uploads not yet complete, so that one
/// client cannot fill the disk with uploads it never finishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadAllowance {
    pub max_open: usize,
    pub max_declared_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub name: String,
    pub role: Role,
    pub grid_id: Option<String>,
    pub department: Option<String>,
}

/// A complete photo: its bytes are in the blob store. (Its thumbnail is
/// made when first asked for.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoMeta {
    pub sha256: String,
    pub bytes: u64,
    pub width: u32,
    pub height: u32,
}

/// An upload under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadRow {
    pub length: u64,
    pub offset: u64,
}

/// One report of a push, as [`crate::rules`] judged it before storage sees it.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// As sent; looked up as it is even when it is not a valid id.
    pub id: String,
    /// sha256 of the report's canonical JSON: the same id with another hash
    /// is a conflict.
    pub content_sha256: String,
    /// The report ready to store, or why it is invalid.
    pub checked: Result<NewReport, String>,
}

#[derive(Debug, Clone)]
pub struct NewReport {
    pub wire: WireReport,
    /// The canonical JSON of `wire`, kept verbatim.
    pub body: String,
    /// The grid the report belongs to (a grid worker's own grid).
    pub grid_id: Option<String>,
    /// `created_at` in milliseconds since the epoch, for filters and order.
    pub created_ms: i64,
}

/// A report as the read API shows it: what the device pushed, and what the
/// server knows about it since.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredReport {
    #[serde(flatten)]
    pub wire: WireReport,
    pub status: ReportStatus,
    /// The name of the user who pushed it.
    pub owner: String,
    pub grid_id: Option<String>,
    /// The department it was last dispatched to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    pub received_at: String,
    pub history: Vec<HistoryEntry>,
    #[serde(skip)]
    pub created_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEntry {
    pub status: ReportStatus,
    pub note: Option<String>,
    /// The name of the user who made the change.
    pub actor: String,
    pub at: String,
}

/// Filters of `GET /v1/reports`; all of them optional but `limit`.
#[derive(Debug, Clone, Default)]
pub struct ReportFilter {
    pub status: Option<ReportStatus>,
    pub category: Option<String>,
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

#[derive(Debug, Clone)]
pub struct StatusChange {
    pub status: ReportStatus,
    pub note: Option<String>,
    /// Set with `dispatched`; kept on the report afterwards.
    pub department: Option<String>,
}

pub trait Storage: Send + Sync + 'static {
    /// Adds a user with a first token (device `default`). Fails with
    /// [`Error::DuplicateUser`] if the name is taken.
    fn add_user(&self, user: &NewUser, token_sha256: &str) -> Result<User>;
    fn list_users(&self) -> Result<Vec<UserListing>>;
    /// The owner of a token that is known and not revoked.
    fn user_by_token_hash(&self, token_sha256: &str) -> Result<Option<TokenOwner>>;
    /// Disables or enables a user; [`Error::UnknownUser`] if there is none.
    fn set_disabled(&self, name: &str, disabled: bool) -> Result<User>;
    /// Revokes every token of the user and gives them this one instead.
    fn replace_tokens(&self, name: &str, new_token_sha256: &str) -> Result<User>;
    /// A number that grows with every change to users and tokens.
    fn auth_version(&self) -> Result<i64>;

    /// The photo, if `user_id` holds it.
    fn held_photo(&self, user_id: i64, sha256: &str) -> Result<Option<PhotoMeta>>;
    fn upload(&self, key: &UploadKey) -> Result<Option<UploadRow>>;
    /// For each photo, in one transaction: starts the user's upload, or
    /// answers the state of theirs under way or of the photo they hold. An
    /// upload under way with another length starts again from 0 (one of
    /// the two announcements was wrong; the checksum decides). New uploads
    /// that would take the user past `allowance` fail the whole call with
    /// [`Error::QuotaExceeded`].
    fn start_uploads(&self, user_id: i64, uploads: &[UploadCreate], allowance: &UploadAllowance, now_ms: i64) -> Result<Vec<UploadState>>;
    /// Moves the offset from `from` to `to`, or fails with
    /// [`Error::OffsetMismatch`] and changes nothing.
    fn advance_upload(&self, key: &UploadKey, from: u64, to: u64, now_ms: i64) -> Result<()>;
    /// The upload is verified and its blob is durable: the photo exists
    /// from now on, and the user holds it.
    fn finish_upload(&self, key: &UploadKey, photo: &PhotoMeta) -> Result<()>;
    fn drop_upload(&self, key: &UploadKey) -> Result<()>;
    /// Forgets uploads untouched since `touched_before_ms`; answers them,
    /// so that their partial files can go too.
    fn expire_uploads(&self, touched_before_ms: i64) -> Result<Vec<UploadKey>>;
    /// Every upload under way (to tell partial files without one).
    fn upload_keys(&self) -> Result<Vec<UploadKey>>;
    /// Whether a report within `scope` contains this photo.
    fn photo_visible(&self, scope: &Scope, sha256: &str) -> Result<bool>;
    /// Why the photo's thumbnail cannot be made, if that was found before.
    fn thumbnail_error(&self, sha256: &str) -> Result<Option<String>>;
    fn set_thumbnail_error(&self, sha256: &str, reason: &str) -> Result<()>;

    /// Stores the batch in one transaction and answers each report, in
    /// order. A photo counts as present only if `owner` holds it.
    fn push_reports(&self, owner: &User, batch: &[Candidate]) -> Result<Vec<PushResult>>;
    /// Events of reports within `scope` after sequence number `after`, oldest first.
    fn changes(&self, scope: &Scope, after: Option<i64>, limit: usize) -> Result<ChangeBatch>;
    fn report(&self, scope: &Scope, id: &str) -> Result<Option<StoredReport>>;
    fn reports(&self, scope: &Scope, filter: &ReportFilter) -> Result<ReportPage>;
    /// Changes a report's status if `check` accepts the report as it is
    /// inside the transaction; [`Error::NotFound`] outside `scope`.
    fn set_status(
        &self,
        scope: &Scope,
        id: &str,
        actor: &User,
        change: &StatusChange,
        check: &dyn Fn(&StoredReport) -> Result<()>,
    ) -> Result<StoredReport>;
}

pub(crate) fn report_not_found(id: &str) -> Error {
    Error::NotFound(format!("no report {id}"))
}
