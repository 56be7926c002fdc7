//! The one error type the apps see, and the one place core errors become it.
//!
//! Each variant is a thing the app does something different about, decided
//! by the core's typed error and, for a sync, its typed
//! [`SyncCause`](suishoupai_core::SyncCause), never by the wording of a
//! message. `reason` is the core's user-readable text (no personal data
//! besides the path of a photo the app itself named). The variants of a
//! sync that ended with work left carry that run's [`SyncSummary`], with
//! how many reports are still pending and how many were refused.

use suishoupai_core::{Action, Error as CoreError, ReportStatus, SyncCause};

use crate::types::SyncSummary;

#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum SuishoupaiError {
    /// The photo cannot be used: not a photo, broken, HEIC, unreadable file.
    /// Ask the user for another photo.
    #[error("{reason}")]
    BadPhoto { reason: String },

    /// The photo (pixels or file) is too large to take.
    #[error("{reason}")]
    TooLarge { reason: String },

    /// Neither a device fix, a manual pin nor a photo geotag says where the
    /// problem is. Ask the user to place a pin on the map and try again.
    #[error("{reason}")]
    NoLocation { reason: String },

    /// The app passed something invalid (unknown category, note too long,
    /// coordinates out of range, no photos, a bad id...).
    #[error("{reason}")]
    InvalidInput { reason: String },

    /// No such report or photo on this device, or no such case in its task list.
    #[error("{reason}")]
    NotFound { reason: String },

    /// `act` was refused here: the user may not take this action on the
    /// case, or not from `status` (the case as this device knows it, with
    /// its own pending actions applied). `allowed_actions` is what they
    /// may do now. Nothing was queued.
    #[error("{reason}")]
    ActionNotAllowed { reason: String, status: ReportStatus, allowed_actions: Vec<Action> },

    /// No server and token yet: show the login screen.
    #[error("{reason}")]
    NotLoggedIn { reason: String },

    /// The server no longer accepts this device's token (revoked after the
    /// phone was reported lost, or the user disabled): show the login
    /// screen. Queued reports stay queued.
    #[error("{reason}")]
    TokenRefused { reason: String, summary: SyncSummary },

    /// The server could not be reached, or the connection broke or timed
    /// out: reports stay queued and go later (automatically once
    /// `set_online(true)` was called).
    #[error("{reason}")]
    Network { reason: String, summary: SyncSummary },

    /// The server failed (5xx) or asked to slow down (408, 429), with its
    /// HTTP status: reports stay queued and go later.
    #[error("{reason}")]
    ServerUnavailable { status: u16, reason: String, summary: SyncSummary },

    /// The server refused `count` reports for good; `reason` gives its
    /// reasons, and each refused report's `sync_error` its own.
    /// `retry_failed` queues them again.
    #[error("{reason}")]
    ReportsRefused { count: u64, reason: String, summary: SyncSummary },

    /// The server refused a whole request (an HTTP 4xx but 401), with its status.
    #[error("{reason}")]
    ServerRefused { status: u16, reason: String, summary: SyncSummary },

    /// `count` reports or actions wait out a backoff after an earlier
    /// failure (an automatic sync does not hurry them); a sync the user
    /// starts tries them now.
    #[error("{reason}")]
    RetryLater { count: u64, reason: String, summary: SyncSummary },

    /// The sync was cancelled; what was sent before is kept.
    #[error("{reason}")]
    Cancelled { reason: String },

    /// The phone's storage is full: nothing of the call was kept and the
    /// store is intact. Ask the user to free space, then try again.
    #[error("{reason}")]
    StorageFull { reason: String },

    /// The device's storage failed (database damaged, a store written by a
    /// newer app version).
    #[error("{reason}")]
    Storage { reason: String },

    /// A bug: something that should not happen did.
    /// The key does not open this encrypted store. Nothing changed.
    #[error("{reason}")]
    WrongKey { reason: String },

    /// The store's database is damaged: `recover_store` (or
    /// `recover_encrypted_store`) keeps what can be read, then open again.
    #[error("{reason}")]
    CorruptStore { reason: String },

    /// An encrypted store opened without its key, or a plain one with a key.
    #[error("{reason}")]
    EncryptionMismatch { reason: String },

    #[error("{reason}")]
    Internal { reason: String },
}

pub type Result<T, E = SuishoupaiError> = std::result::Result<T, E>;

impl SuishoupaiError {
    pub(crate) fn storage(reason: String) -> Self {
        SuishoupaiError::Storage { reason }
    }

    pub(crate) fn bad_photo(reason: String) -> Self {
        SuishoupaiError::BadPhoto { reason }
    }
}

impl From<CoreError> for SuishoupaiError {
    fn from(e: CoreError) -> Self {
        SuishoupaiError::from(&e)
    }
}

/// The one mapping point.
impl From<&CoreError> for SuishoupaiError {
    fn from(e: &CoreError) -> Self {
        use SuishoupaiError as E;
        let message = e.to_string();
        let none = SyncSummary::default;
        match e {
            CoreError::UnsupportedFormat(_) | CoreError::HeicNotSupported | CoreError::CorruptPhoto(_) | CoreError::PrivateMetadata(_) => {
                E::BadPhoto { reason: message }
            }
            CoreError::TooLarge { .. } | CoreError::FileTooLarge { .. } => E::TooLarge { reason: message },
            CoreError::UnknownCategory(_)
            | CoreError::InvalidLocation(_)
            | CoreError::NoPhotos
            | CoreError::TooManyPhotos { .. }
            | CoreError::InvalidInput(_) => E::InvalidInput { reason: message },
            CoreError::ReportNotFound(_) | CoreError::PhotoNotFound(_) | CoreError::TaskNotFound(_) => E::NotFound { reason: message },
            CoreError::NotYourAction { status, allowed, .. } | CoreError::ActionNotAllowed { status, allowed, .. } => {
                E::ActionNotAllowed { reason: message, status: *status, allowed_actions: allowed.clone() }
            }
            CoreError::WrongKey => E::WrongKey { reason: message },
            CoreError::StoreEncrypted | CoreError::StoreNotEncrypted => E::EncryptionMismatch { reason: message },
            CoreError::EncryptionUnavailable => E::Internal { reason: message },
            e if e.is_damage() => E::CorruptStore { reason: message },
            e if e.is_disk_full() => E::StorageFull { reason: format!("the phone's storage is full; nothing was saved ({message})") },
            CoreError::SchemaTooNew { .. } | CoreError::StoreDamaged(_) | CoreError::Database(_) | CoreError::Io { .. } => {
                E::Storage { reason: message }
            }
            CoreError::NotLoggedIn => E::NotLoggedIn { reason: "not logged in: sign in to a server first".into() },
            CoreError::TokenRefused(_) => E::TokenRefused { reason: message, summary: none() },
            CoreError::Network(_) => E::Network { reason: message, summary: none() },
            CoreError::ServerUnavailable { status, .. } => E::ServerUnavailable { status: *status, reason: message, summary: none() },
            CoreError::ServerRefused { status, .. } => E::ServerRefused { status: *status, reason: message, summary: none() },
            CoreError::Cancelled => E::Cancelled { reason: message },
            CoreError::SyncIncomplete { cause, summary } => {
                let (pending, failed) = (summary.pending + summary.actions_pending, summary.failed);
                let summary = SyncSummary::from(*summary);
                match cause {
                    SyncCause::TokenRefused(_) => E::TokenRefused { reason: message, summary },
                    SyncCause::Network(_) => E::Network { reason: message, summary },
                    SyncCause::ServerUnavailable { status, .. } => E::ServerUnavailable { status: *status, reason: message, summary },
                    SyncCause::ServerRefused { status, .. } => E::ServerRefused { status: *status, reason: message, summary },
                    SyncCause::ReportsRefused => E::ReportsRefused { count: failed, reason: message, summary },
                    SyncCause::WaitingForRetry(_) => E::RetryLater { count: pending, reason: message, summary },
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A full phone is its own error at the edge, whatever layer hit it.
    #[test]
    fn a_full_disk_is_storage_full_and_damage_is_corrupt_store() {
        let full = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL), None);
        assert!(matches!(SuishoupaiError::from(CoreError::Database(full)), SuishoupaiError::StorageFull { .. }));
        let enospc = CoreError::Io { path: "photos".into(), source: std::io::Error::from_raw_os_error(libc_enospc()) };
        assert!(matches!(SuishoupaiError::from(enospc), SuishoupaiError::StorageFull { .. }));
        assert!(matches!(SuishoupaiError::from(CoreError::StoreDamaged("x".into())), SuishoupaiError::CorruptStore { .. }));
        let notadb = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_NOTADB), None);
        assert!(matches!(SuishoupaiError::from(CoreError::Database(notadb)), SuishoupaiError::CorruptStore { .. }));
        assert!(matches!(SuishoupaiError::from(CoreError::WrongKey), SuishoupaiError::WrongKey { .. }));
    }

    /// ENOSPC on Linux, macOS, iOS and Android alike.
    fn libc_enospc() -> i32 {
        28
    }
}
