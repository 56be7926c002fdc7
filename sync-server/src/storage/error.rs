//! What storage can fail with. It knows nothing of HTTP or of the
//! protocol's decisions: those are the services', which turn these into the
//! server's [`crate::Error`].

use std::path::PathBuf;

pub type StorageResult<T> = std::result::Result<T, StorageError>;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A uniqueness rule refused a write (a name already taken by a
    /// concurrent writer): nothing of the transaction is kept.
    #[error("{0}")]
    Conflict(String),

    /// The database was written by a newer server.
    #[error("the database was written by a newer server (schema {found}, this server knows up to {supported})")]
    SchemaTooNew { found: i64, supported: i64 },

    /// A stored value is not one the server writes: the file was edited
    /// behind its back.
    #[error("stored {what} is unreadable: {detail}")]
    Corrupt { what: String, detail: String },

    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),

    /// PostgreSQL refused a statement, or the connection broke under it.
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] tokio_postgres::Error),

    /// No connection to PostgreSQL could be had (it is down, unreachable,
    /// or refuses this server): the database is unavailable, nothing was
    /// read or written.
    #[error("the database is unavailable: {0}")]
    Unavailable(#[from] deadpool_postgres::PoolError),

    /// A database that must be empty for this (the target of `move`)
    /// holds data already: nothing was changed.
    #[error("{0}")]
    NotEmpty(String),

    /// What this backend does not do (a PostgreSQL backup is `pg_dump`'s).
    #[error("{0}")]
    Unsupported(String),

    #[error("file error on {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },

    /// The caller's closure gave up: its transaction was rolled back. The
    /// caller's own error is kept by [`super::write`], which passes it on.
    #[error("the transaction was abandoned by its caller")]
    Aborted,

    /// A transaction grouped with this one failed to commit, or a broken
    /// invariant of the backend.
    #[error("{0}")]
    Backend(String),
}

impl StorageError {
    /// SQLite's `SQLITE_FULL`, PostgreSQL's `disk_full`, or a file write
    /// refused for want of space.
    pub fn is_disk_full(&self) -> bool {
        match self {
            StorageError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => e.code == rusqlite::ErrorCode::DiskFull,
            StorageError::Postgres(e) => e.code() == Some(&tokio_postgres::error::SqlState::DISK_FULL),
            StorageError::Io { source, .. } => crate::error::is_full(source),
            _ => false,
        }
    }

    /// The database could not be reached, or the connection to it broke:
    /// trying again later may work (unlike a refused statement).
    pub fn is_unavailable(&self) -> bool {
        match self {
            StorageError::Unavailable(_) => true,
            StorageError::Postgres(e) => postgres_unavailable(e),
            _ => false,
        }
    }

    /// A stored value that does not decode.
    pub fn corrupt(what: impl Into<String>, detail: impl std::fmt::Display) -> StorageError {
        StorageError::Corrupt { what: what.into(), detail: detail.to_string() }
    }
}

/// Whether PostgreSQL's error says the database is out of reach rather than
/// that it refused the statement: a closed or broken connection, class 08
/// (connection exception), or 57P0x (shutting down, not accepting
/// connections yet).
pub(crate) fn postgres_unavailable(e: &tokio_postgres::Error) -> bool {
    let refused = e.code().is_some_and(|c| c.code().starts_with("08") || c.code().starts_with("57P0"));
    let broken = std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>());
    e.is_closed() || refused || broken
}

/// The core's storage plumbing (migration runner, durable writes) reports in
/// the core's error type; only these variants can come from it.
impl From<suishoupai_core::Error> for StorageError {
    fn from(e: suishoupai_core::Error) -> Self {
        match e {
            suishoupai_core::Error::SchemaTooNew { found, supported } => StorageError::SchemaTooNew { found, supported },
            suishoupai_core::Error::Database(e) => StorageError::Sqlite(e),
            suishoupai_core::Error::Io { path, source } => StorageError::Io { path, source },
            other => StorageError::Backend(other.to_string()),
        }
    }
}
