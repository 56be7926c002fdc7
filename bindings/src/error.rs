//! The one error type the apps see, and the one place core errors become it.
//!
//! Each variant is a thing the app does something different about; its
//! message is the core's user-readable text (no personal data besides the
//! path of a photo the app itself named).

use suishoupai_core::Error as CoreError;

#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum SuishoupaiError {
    /// The photo cannot be used: not a photo, broken, HEIC, unreadable file.
    /// Ask the user for another photo.
    #[error("{0}")]
    BadPhoto(String),

    /// The photo (pixels or file) is too large to take.
    #[error("{0}")]
    TooLarge(String),

    /// Neither a device fix, a manual pin nor a photo geotag says where the
    /// problem is. Ask the user to place a pin on the map and try again.
    #[error("{0}")]
    NoLocation(String),

    /// The app passed something invalid (unknown category, note too long,
    /// coordinates out of range, no photos, a bad id...).
    #[error("{0}")]
    InvalidInput(String),

    /// No such report or photo on this device.
    #[error("{0}")]
    NotFound(String),

    /// No server and token yet, or the server no longer accepts the token:
    /// show the login screen.
    #[error("{0}")]
    NotLoggedIn(String),

    /// The server could not be reached: reports stay queued and are sent
    /// later (automatically when `set_online(true)` was called).
    #[error("{0}")]
    Network(String),

    /// The server refused some reports for good; the message says why, and
    /// each refused report's `sync_error` too.
    #[error("{0}")]
    ServerRefused(String),

    /// The sync was cancelled; what was sent before is kept.
    #[error("{0}")]
    Cancelled(String),

    /// The device's storage failed (disk full, database damaged, a store
    /// written by a newer app version).
    #[error("{0}")]
    Storage(String),

    /// A bug: something that should not happen did.
    #[error("{0}")]
    Internal(String),
}

pub type Result<T, E = SuishoupaiError> = std::result::Result<T, E>;

impl From<CoreError> for SuishoupaiError {
    fn from(e: CoreError) -> Self {
        use SuishoupaiError as E;
        let message = e.to_string();
        match e {
            CoreError::UnsupportedFormat(_) | CoreError::HeicNotSupported | CoreError::CorruptPhoto(_) | CoreError::PrivateMetadata(_) => {
                E::BadPhoto(message)
            }
            CoreError::TooLarge { .. } | CoreError::FileTooLarge { .. } => E::TooLarge(message),
            CoreError::UnknownCategory(_)
            | CoreError::InvalidLocation(_)
            | CoreError::NoPhotos
            | CoreError::TooManyPhotos { .. }
            | CoreError::InvalidInput(_) => E::InvalidInput(message),
            CoreError::ReportNotFound(_) | CoreError::PhotoNotFound(_) => E::NotFound(message),
            CoreError::SchemaTooNew { .. } | CoreError::StoreDamaged(_) | CoreError::Database(_) | CoreError::Io { .. } => {
                E::Storage(message)
            }
            CoreError::NotLoggedIn => E::NotLoggedIn("not logged in: sign in to a server first".into()),
            CoreError::ServerRefused { status: 401, .. } => E::NotLoggedIn(message),
            CoreError::Network(_) => E::Network(message),
            CoreError::ServerRefused { .. } => E::ServerRefused(message),
            CoreError::Cancelled => E::Cancelled(message),
            CoreError::SyncIncomplete { pending, failed, reason, .. } => {
                // The core keeps only the reason's text; its 401 case says
                // to log in again (see core::sync::run).
                if reason.contains("log in again") {
                    E::NotLoggedIn(reason)
                } else if pending > 0 {
                    E::Network(format!("{pending} report(s) wait to be sent: {reason}"))
                } else if failed > 0 {
                    E::ServerRefused(format!("the server refused {failed} report(s): {reason}"))
                } else if reason.starts_with("network:") {
                    E::Network(reason)
                } else {
                    E::ServerRefused(reason)
                }
            }
        }
    }
}
