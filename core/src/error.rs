//! The core's one error type. Every variant names the problem in words a user
//! can act on; none carries personal data (no coordinates, no notes, no paths
//! of photos the user did not name).

use std::path::PathBuf;

use crate::domain::{Action, ReportStatus, Role};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bytes are not a photo format we take (empty, text, random bytes, AVIF...).
    #[error("unsupported photo format: {0}")]
    UnsupportedFormat(String),

    /// iPhones save HEIC by default; we cannot decode HEVC here, so the app
    /// must hand us a JPEG (iOS converts on export). The geotag stays readable
    /// through `photo::inspect`.
    #[error(
        "HEIC photos cannot be stored: pass a JPEG instead (iOS: Settings > Camera > Formats > Most Compatible, or export the photo as JPEG)"
    )]
    HeicNotSupported,

    /// The header announces more pixels than we are willing to decode.
    #[error("photo is too large: {width}x{height} pixels (at most {max_side} px a side and {max_megapixels} megapixels)")]
    TooLarge { width: u64, height: u64, max_side: u32, max_megapixels: u32 },

    #[error("photo file is too large: {bytes} bytes (at most {max_bytes})")]
    FileTooLarge { bytes: u64, max_bytes: u64 },

    /// The file claims to be a supported format but its data is broken.
    #[error("corrupt photo: {0}")]
    CorruptPhoto(String),

    /// A photo meant as an upload rendition still carries metadata (EXIF,
    /// XMP, IPTC, a comment...): the server stores none, whoever sends it.
    #[error("the photo carries private metadata ({0}); upload the app's rendition, which carries none")]
    PrivateMetadata(String),

    #[error("unknown category `{0}` (run `suishoupai categories` for the list)")]
    UnknownCategory(String),

    #[error("invalid location: {0}")]
    InvalidLocation(String),

    #[error("a report needs at least one photo")]
    NoPhotos,

    #[error("a report takes at most {max} photos, got {got}")]
    TooManyPhotos { got: usize, max: usize },

    #[error("invalid input: {0}")]
    InvalidInput(String),

    #[error("report {0} not found")]
    ReportNotFound(String),

    #[error("photo {0} not found")]
    PhotoNotFound(String),

    /// The case is not in this device's task list: not synced yet, or not
    /// one this user may act on.
    #[error("case {0} is not among this device's tasks (sync to fetch them)")]
    TaskNotFound(String),

    /// This user may never take the action on this case (their role, grid
    /// or department), whatever its status: judged before the status, as
    /// the server does. `allowed` is what they may do now.
    #[error("a {role} may not `{action}` this case; allowed now: {}", list(allowed))]
    NotYourAction { action: Action, role: Role, status: ReportStatus, allowed: Vec<Action> },

    /// The case's status, as this device knows it (the server's last word
    /// and this device's actions not yet sent), does not allow the action.
    #[error("`{action}` is not allowed while the case is `{status}`; allowed now: {}", list(allowed))]
    ActionNotAllowed { action: Action, status: ReportStatus, allowed: Vec<Action> },

    #[error("the store was written by a newer version of the app (schema {found}, this app knows up to {supported})")]
    SchemaTooNew { found: i64, supported: i64 },

    /// The store's file does not hold what its schema promises.
    #[error("the store is damaged: {0}")]
    StoreDamaged(String),

    /// The key given does not open this encrypted store. Nothing was
    /// changed; the store opens with its own key.
    #[error("the key does not open this store: it was encrypted with another key")]
    WrongKey,

    /// A plain `open` of a store that was made encrypted.
    #[error("this store is encrypted: open it with its key (open_encrypted)")]
    StoreEncrypted,

    /// `open_encrypted` of a store that was made plain: it is never
    /// encrypted in place (export and import its reports instead).
    #[error("this store is not encrypted: open it without a key (open)")]
    StoreNotEncrypted,

    /// This build of the core has no SQLCipher (feature `encryption`).
    #[error("this build cannot open encrypted stores (built without the `encryption` feature)")]
    EncryptionUnavailable,

    #[error("not logged in: run `suishoupai login --server URL --token TOKEN` first")]
    NotLoggedIn,

    /// The server could not be reached, or the connection broke or timed
    /// out: worth retrying later.
    #[error("network: {0}")]
    Network(String),

    /// The server answered 5xx, 408 or 429: worth retrying later.
    #[error("server unavailable ({status}): {message}")]
    ServerUnavailable { status: u16, message: String },

    /// The server does not accept this device's token (401): revoked, or
    /// the user disabled. The app shows its login screen.
    #[error("the server does not accept this device's token ({0}); log in again")]
    TokenRefused(String),

    /// The server answered with another 4xx: retrying the same request will not help.
    #[error("server refused ({status}): {message}")]
    ServerRefused { status: u16, message: String },

    /// A sync ended with work left: `summary.pending` reports wait for a
    /// retry, `summary.failed` were refused for good and need the user.
    #[error("sync incomplete: {}; {cause}", queued(summary))]
    SyncIncomplete { cause: SyncCause, summary: crate::SyncSummary },

    /// The caller cancelled a sync; what was done before is kept.
    #[error("sync cancelled")]
    Cancelled,

    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),

    #[error("file error on {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// Actions as a user reads them: `rectify, verify`, or `none`.
fn list(actions: &[Action]) -> String {
    if actions.is_empty() { "none".into() } else { actions.iter().map(|a| a.code()).collect::<Vec<_>>().join(", ") }
}

/// What a sync left queued; actions only when there are some, so the
/// message of a device that takes none reads as it always has.
fn queued(summary: &crate::SyncSummary) -> String {
    let reports = format!("{} report(s) still queued, {} refused", summary.pending, summary.failed);
    if summary.actions_pending == 0 { reports } else { format!("{reports}, {} action(s) still queued", summary.actions_pending) }
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}

impl Error {
    /// Whether the device's storage is full (SQLite's `SQLITE_FULL`,
    /// ENOSPC or EDQUOT): the call failed whole and changed nothing; it
    /// works again once space is freed.
    pub fn is_disk_full(&self) -> bool {
        match self {
            Error::Database(rusqlite::Error::SqliteFailure(e, _)) => e.code == rusqlite::ErrorCode::DiskFull,
            Error::Io { source, .. } => matches!(source.kind(), std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded),
            _ => false,
        }
    }

    /// Whether the store's files are damaged: what `Store::recover` is for.
    pub fn is_damage(&self) -> bool {
        match self {
            Error::StoreDamaged(_) => true,
            Error::Database(rusqlite::Error::SqliteFailure(e, _)) => {
                matches!(e.code, rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt)
            }
            _ => false,
        }
    }

    /// Whether trying the same thing again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Network(_) | Error::ServerUnavailable { .. })
    }
}

/// Why a sync ended with work left, for the app to choose what to show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncCause {
    /// The token was refused: show the login screen.
    #[error("the server does not accept this device's token ({0}); log in again")]
    TokenRefused(String),
    /// No network, or it broke or timed out: queued reports go later.
    #[error("network: {0}")]
    Network(String),
    /// The server failed (5xx) or asked to wait (408, 429): queued reports go later.
    #[error("server unavailable ({status}): {message}")]
    ServerUnavailable { status: u16, message: String },
    /// The server refused a whole request (a 4xx other than 401).
    #[error("server refused ({status}): {message}")]
    ServerRefused { status: u16, message: String },
    /// Some reports were refused for good; each says why in its `sync_error`.
    /// (A refused action is no cause: it is final and waits for nobody; the
    /// run counts it in `actions_refused` and the case shows it.)
    #[error("the server refused some reports; see `report list` for why")]
    ReportsRefused,
    /// Reports or actions wait out their backoff after an earlier failure, given here.
    #[error("{0}")]
    WaitingForRetry(String),
}

impl SyncCause {
    /// The cause of a run stopped by `e` (an error that ends a run: see
    /// `sync::stops_run`); `None` for any other error.
    pub fn of(e: &Error) -> Option<SyncCause> {
        Some(match e {
            Error::TokenRefused(m) => SyncCause::TokenRefused(m.clone()),
            Error::Network(m) => SyncCause::Network(m.clone()),
            Error::ServerUnavailable { status, message } => SyncCause::ServerUnavailable { status: *status, message: message.clone() },
            Error::ServerRefused { status, message } => SyncCause::ServerRefused { status: *status, message: message.clone() },
            _ => return None,
        })
    }
}
