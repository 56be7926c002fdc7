//! The server's one error type, with typed causes. Every variant carries a
//! message for people that names the field, header or limit at fault; none
//! carries tokens, notes or coordinates. It knows nothing of HTTP: the one
//! place where errors become answers is [`crate::http::error`].

use suishoupai_core::{Action, ReportStatus};

use crate::storage::StorageError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Malformed request: bad JSON, a missing or ill-formed field, header or parameter.
    #[error("{0}")]
    BadRequest(String),

    #[error("{0}")]
    Unauthorized(String),

    /// The caller is known but their role may not do this.
    #[error("{0}")]
    Forbidden(String),

    /// Also answered for things that exist but the caller may not see, so that
    /// existence is not revealed.
    #[error("{0}")]
    NotFound(String),

    #[error("Upload-Offset is {got} but the server has {expected} bytes of this upload")]
    OffsetMismatch { expected: u64, got: u64 },

    /// The request is well-formed but the state of the thing forbids it
    /// (a department marking rectified a report no longer dispatched).
    #[error("{0}")]
    Conflict(String),

    #[error("{0}")]
    TooLarge(String),

    #[error("{0}")]
    UnsupportedMediaType(String),

    #[error("the uploaded bytes have sha256 {actual}, not the announced {expected}; the upload was discarded")]
    ChecksumMismatch { expected: String, actual: String },

    /// A photo that is not a whole, decodable JPEG within the limits. The
    /// message says what is wrong (and, for an upload, that it was discarded).
    #[error("{0}")]
    BadPhoto(String),

    /// An uploaded photo still carries private metadata; it was discarded.
    #[error("{0}")]
    PrivateMetadata(String),

    /// The caller is over an allowance; trying again after `retry_after_secs` may work.
    #[error("{message}")]
    QuotaExceeded { message: String, retry_after_secs: u64 },

    /// Too many failed sign-ins for a name or from an address; trying again
    /// after `retry_after_secs` may work.
    #[error("{message}")]
    TooManyAttempts { message: String, retry_after_secs: u64 },

    /// The client sent its request too slowly.
    #[error("{0}")]
    Timeout(String),

    /// A workflow action the case's status does not allow now (409, with
    /// the status and the actions that are allowed).
    #[error("{message}")]
    InvalidTransition { message: String, status: ReportStatus, allowed: Vec<Action> },

    /// An action id already taken with other content (409 `action_conflict`).
    #[error("{0}")]
    ActionConflict(String),

    /// An action names photos the caller has not uploaded (409, with their hashes).
    #[error("{message}")]
    MissingPhotos { message: String, missing: Vec<String> },

    /// A command named a user who does not exist.
    #[error("there is no user named `{0}`")]
    UnknownUser(String),

    /// `user add` with a name already taken.
    #[error("a user named `{0}` already exists")]
    DuplicateUser(String),

    /// A stored photo whose bytes are not its name (changed or damaged
    /// where it is kept), found while copying it.
    #[error("photo {expected} in {place} has sha256 {actual}: its bytes were changed or damaged")]
    DamagedPhoto { expected: String, actual: String, place: String },

    /// Storage failed: the detail goes to the log, not the client.
    #[error("storage: {0}")]
    Storage(#[from] StorageError),

    /// The photo bucket failed or could not be reached; the detail goes to
    /// the log, not the client.
    #[error("photo store, {what}: {source}")]
    PhotoStore { what: String, source: Box<object_store::Error> },

    #[error("file error on {path}: {source}")]
    Io { path: std::path::PathBuf, source: std::io::Error },

    /// A bug or a broken invariant; the detail goes to the log, not the client.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// Whether the disk (or the user's file-system quota) is full: the
    /// request failed whole, and trying again once space is freed may work.
    pub fn is_disk_full(&self) -> bool {
        match self {
            Error::Io { source, .. } => is_full(source),
            Error::Storage(e) => e.is_disk_full(),
            _ => false,
        }
    }

    /// Whether the database or the photo store could not be reached: the
    /// request changed nothing, and trying again (later, or on another
    /// instance) may work.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Error::PhotoStore { .. } => true,
            Error::Storage(e) => e.is_unavailable(),
            _ => false,
        }
    }

    pub(crate) fn io(path: impl Into<std::path::PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}

/// ENOSPC or EDQUOT.
pub(crate) fn is_full(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded)
}

/// The core's plumbing (durable writes) reports in the core's error type.
impl From<suishoupai_core::Error> for Error {
    fn from(e: suishoupai_core::Error) -> Self {
        match e {
            suishoupai_core::Error::Io { path, source } => Error::Io { path, source },
            other => Error::Storage(StorageError::from(other)),
        }
    }
}

/// A spreadsheet that could not be written is the server's failure.
impl From<rust_xlsxwriter::XlsxError> for Error {
    fn from(e: rust_xlsxwriter::XlsxError) -> Self {
        Error::Internal(format!("writing a spreadsheet: {e}"))
    }
}
