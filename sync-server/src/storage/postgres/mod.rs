//! [`Storage`] on PostgreSQL, for several server instances over one
//! database: a pool of connections (`deadpool-postgres`), every write one
//! `SERIALIZABLE` transaction, run again when PostgreSQL finds it could not
//! be ordered with a concurrent one (the contract allows a backend to run
//! a write's closure again), and every read one `REPEATABLE READ READ ONLY`
//! transaction, which is one snapshot. What two instances may race on is
//! decided by the database, never by a lock in one process: a report id
//! and an action id by their keys, the changes feed's order by an advisory
//! lock that event-appending transactions take (see `txn.rs`).
//!
//! The trait is synchronous and `tokio-postgres` is not: calls block on a
//! tokio runtime that the storage owns (a small one of its own, or one it
//! was given). They come from the blocking pool (`spawn_blocking`), the
//! CLI and tests' own threads, never from an async worker thread, where
//! blocking would stall the server (tokio refuses it with a panic).

mod import;
mod migrate;
mod txn;

#[cfg(test)]
mod tests;

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use tokio::runtime::Handle;
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

pub use self::import::Imported;
pub use self::migrate::{LATEST_VERSION, MIGRATIONS};
use self::txn::{Failure, PgTxn};
use crate::storage::error::postgres_unavailable;
use crate::storage::{ReadTxn, Storage, StorageError, StorageResult, WriteTxn};

/// How many times a write is tried before its serialisation failure is
/// the caller's: contention that outlasts this is a fault to see.
const WRITE_ATTEMPTS: u32 = 30;

/// How to connect: the pool's size, and the runtime to drive connections on.
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    /// Connections kept at most; a call waits for one beyond that.
    pub max_connections: usize,
    /// The runtime whose threads drive the connections (the server's own,
    /// a multi-thread one: a current-thread runtime drives its I/O only
    /// while its own thread waits in `block_on`); `None`: a small runtime
    /// of the storage's own, stopped with it.
    pub runtime: Option<Handle>,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions { max_connections: 16, runtime: None }
    }
}

pub struct PostgresStorage {
    pool: Pool,
    handle: Handle,
    /// The runtime the storage made for itself, if it was given none.
    /// Always `Some` until dropped.
    own_runtime: Option<tokio::runtime::Runtime>,
}

impl PostgresStorage {
    /// Connects to the database at `url` (`postgres://user@host:port/db`,
    /// or libpq's `key=value` form) and brings its schema up to
    /// [`LATEST_VERSION`], refusing one written by a newer server. Blocks,
    /// like every call: not from async code (a `spawn_blocking` closure
    /// or a plain thread). Connections are plain TCP or a Unix socket:
    /// no TLS yet.
    pub fn connect(url: &str, options: &PostgresOptions) -> StorageResult<Self> {
        let mut config: tokio_postgres::Config = url.parse()?;
        // The contract promises durability at `Ok`: whatever the database's
        // default, a commit waits for its WAL flush.
        let session = match config.get_options() {
            Some(given) => format!("{given} -c synchronous_commit=on"),
            None => "-c synchronous_commit=on".to_owned(),
        };
        config.options(&session);
        let (handle, own_runtime) = match &options.runtime {
            Some(handle) => (handle.clone(), None),
            None => {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("postgres-storage")
                    .enable_all()
                    .build()
                    .map_err(|source| StorageError::Io { path: "tokio runtime".into(), source })?;
                (runtime.handle().clone(), Some(runtime))
            }
        };
        let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(options.max_connections.max(1))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(30)))
            .create_timeout(Some(Duration::from_secs(10)))
            .build()
            .map_err(|e| StorageError::Backend(format!("a PostgreSQL pool could not be built: {e}")))?;
        let storage = PostgresStorage { pool, handle, own_runtime };
        let client = storage.block_on(storage.pool.get())?;
        storage.block_on(migrate::run(&client, MIGRATIONS))?;
        Ok(storage)
    }

    /// Copies a SQLite deployment's rows (`sqlite`, best inside a read
    /// transaction) into this database, which must hold no user and no
    /// report, in one transaction checked by counts and hashes before it
    /// commits (see `import.rs`). No server may use either meanwhile.
    pub fn import_from_sqlite(&self, sqlite: &rusqlite::Connection) -> StorageResult<Imported> {
        let client = self.block_on(self.pool.get())?;
        let imported = self.block_on(import::import(&client, sqlite));
        if imported.is_err() {
            // Whatever state the failure left the connection in, it is not
            // handed to another caller.
            drop(Object::take(client));
        }
        imported
    }

    /// Runs `future` to its end on the storage's runtime, from a thread
    /// that is not one of a runtime's async workers.
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.handle.block_on(future)
    }

    /// A connection with `begin` (a `BEGIN …`) run on it. A connection the
    /// pool kept but whose server went away fails its first statement:
    /// nothing was done on it yet, so another connection is tried.
    fn begin(&self, begin: &str) -> StorageResult<Connection> {
        let mut tries = 0;
        loop {
            tries += 1;
            let client = self.block_on(self.pool.get())?;
            match self.block_on(client.batch_execute(begin)) {
                Ok(()) => return Ok(Connection { client: Some(client), open: true }),
                Err(e) if tries < 3 && postgres_unavailable(&e) => {
                    drop(Object::take(client));
                }
                Err(e) => {
                    drop(Object::take(client));
                    return Err(e.into());
                }
            }
        }
    }

    /// Ends the transaction on `conn` with `end` (`COMMIT` or `ROLLBACK`).
    /// A commit the server refused (a serialisation failure) ended the
    /// transaction too; one cut off by a lost connection leaves it open.
    fn end(&self, conn: &mut Connection, end: &str) -> Result<(), tokio_postgres::Error> {
        let ended = self.block_on(conn.client().batch_execute(end));
        if ended.as_ref().map_or_else(|e| e.as_db_error().is_some(), |()| true) {
            conn.open = false;
        }
        ended
    }
}

/// A pooled connection inside a transaction. One left with its transaction
/// open (a closure that panicked, a `ROLLBACK` that failed) is taken out
/// of the pool and closed, which rolls the transaction back, rather than
/// handed to the next caller mid-transaction.
struct Connection {
    client: Option<Object>,
    open: bool,
}

impl Connection {
    fn client(&self) -> &Object {
        self.client.as_ref().expect("a connection until dropped")
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if let (true, Some(client)) = (self.open, self.client.take()) {
            drop(Object::take(client));
        }
    }
}

/// SQLSTATEs that mean "run the transaction again": it could not be
/// serialised with a concurrent one, or it was chosen to end a deadlock.
fn is_retryable(e: &tokio_postgres::Error) -> bool {
    matches!(e.code(), Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED)
}

/// A short, growing pause before trying a write again, jittered so that
/// two instances that collided do not collide again in step.
fn backoff(attempt: u32) {
    let mut byte = [0u8; 1];
    let _ = getrandom::fill(&mut byte);
    let ms = u64::from(attempt.min(10)) * (1 + u64::from(byte[0] % 4));
    std::thread::sleep(Duration::from_millis(ms));
}

impl Storage for PostgresStorage {
    fn read(&self, f: &mut dyn FnMut(&dyn ReadTxn) -> StorageResult<()>) -> StorageResult<()> {
        let mut conn = self.begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
        let txn = PgTxn::new(conn.client(), &self.handle);
        let outcome = f(&txn);
        let failure = txn.failure();
        drop(txn);
        let end = if outcome.is_ok() && failure.is_none() { "COMMIT" } else { "ROLLBACK" };
        self.end(&mut conn, end)?;
        match (outcome, failure) {
            (Ok(()), Some(failure)) => Err(swallowed(&failure)),
            (outcome, _) => outcome,
        }
    }

    fn write(&self, f: &mut dyn FnMut(&mut dyn WriteTxn) -> StorageResult<()>) -> StorageResult<()> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut conn = self.begin("BEGIN ISOLATION LEVEL SERIALIZABLE")?;
            let mut txn = PgTxn::new(conn.client(), &self.handle);
            let outcome = f(&mut txn);
            let failure = txn.failure();
            drop(txn);
            match (outcome, failure) {
                (Ok(()), None) => match self.end(&mut conn, "COMMIT") {
                    Ok(()) => return Ok(()),
                    // A commit refused for serialisation kept nothing.
                    Err(e) if is_retryable(&e) && attempt < WRITE_ATTEMPTS => {}
                    // Any other failed commit (the connection lost under
                    // it) may or may not have committed: never run again.
                    Err(e) => return Err(e.into()),
                },
                (outcome, failure) => {
                    self.end(&mut conn, "ROLLBACK")?;
                    match (outcome, failure) {
                        (_, Some(failure)) if failure.retry && attempt < WRITE_ATTEMPTS => {}
                        (Ok(()), Some(failure)) => return Err(swallowed(&failure)),
                        (outcome, _) => return outcome,
                    }
                }
            }
            backoff(attempt);
        }
    }

    fn backup_into(&self, _to: &Path) -> StorageResult<()> {
        Err(StorageError::Unsupported(
            "a PostgreSQL database is backed up with pg_dump (or the cluster's own backups), not by the server".into(),
        ))
    }
}

/// A closure that went on after one of its statements failed: PostgreSQL
/// ended the transaction at the failure, so nothing of it was kept.
fn swallowed(failure: &Failure) -> StorageError {
    StorageError::Backend(format!(
        "a statement failed inside the transaction ({}) and its error was not passed on; nothing was kept",
        failure.detail
    ))
}

impl Drop for PostgresStorage {
    fn drop(&mut self) {
        // Dropping a runtime blocks on its threads, which tokio forbids
        // where blocking is (an async task dropping the last handle).
        if let Some(runtime) = self.own_runtime.take() {
            runtime.shutdown_background();
        }
    }
}
