//! [`Storage`] on one SQLite file: WAL with `synchronous = FULL`, so a
//! commit is on disk when it returns; one writer connection (SQLite has one
//! writer anyway) whose commits are grouped (see `group_commit.rs`), and a few
//! readers, which WAL lets read while a write is under way. Another process
//! (the `user add` command beside a running server) waits on SQLite's lock
//! thanks to the busy timeout.
//!
//! [`SqliteStorage::open_in_memory`] is the same backend on a database in
//! memory, for fast tests: one connection for reads and writes.

mod group_commit;
mod txn;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

use self::group_commit::{GroupCommit, lock};
use self::txn::SqliteTxn;
use crate::storage::{ReadTxn, Storage, StorageError, StorageResult, WriteTxn};

pub const DATABASE_FILE: &str = "server.sqlite3";

/// Numbered migrations; each runs in one transaction with the bump of
/// `user_version`. Shipped migrations are never edited: the upgrade test
/// replays a frozen copy of an old database against them.
pub const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_users_and_photos.sql"),
    include_str!("migrations/0002_reports_and_events.sql"),
    include_str!("migrations/0003_thumbnails_on_demand.sql"),
    include_str!("migrations/0004_tokens_holders_and_user_uploads.sql"),
    include_str!("migrations/0005_case_workflow.sql"),
    include_str!("migrations/0006_console_sign_in.sql"),
    include_str!("migrations/0007_daily_quotas.sql"),
    include_str!("migrations/0008_duplicate_lookup_index.sql"),
    include_str!("migrations/0009_swept_photos.sql"),
    include_str!("migrations/0010_refused_actions.sql"),
];

pub const LATEST_VERSION: i64 = MIGRATIONS.len() as i64;

/// Readers kept open between requests; more are opened when busy.
const IDLE_READERS: usize = 8;

pub struct SqliteStorage {
    writes: GroupCommit,
    /// Where readers connect: the file, or nowhere for a database in memory
    /// (whose reads go through the writer connection).
    path: Option<PathBuf>,
    readers: Mutex<Vec<Connection>>,
}

fn open_connection(path: &Path) -> StorageResult<Connection> {
    let conn = Connection::open(path)?;
    suishoupai_core::support::pragmas::plan_once(&conn)?;
    // The CLI (`user add`) may hold the write lock for a moment while the server runs.
    conn.busy_timeout(Duration::from_secs(10))?;
    // FULL: an acknowledged push survives a power cut, not only a crash.
    suishoupai_core::support::pragmas::apply(&conn, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
    Ok(conn)
}

/// Copies the database `from` is connected to into `to/server.sqlite3`
/// with SQLite's online backup API, in one step: one read transaction, so
/// the copy is one moment's, and with WAL the server's writers never wait
/// for it. Written beside the target and renamed over it once synced.
pub fn copy_database(from: &Connection, to: &Path) -> StorageResult<()> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| StorageError::Io { path, source }
    };
    std::fs::create_dir_all(to).map_err(io(to))?;
    let (partial, target) = (to.join(format!("{DATABASE_FILE}.partial")), to.join(DATABASE_FILE));
    let _ = std::fs::remove_file(&partial);
    {
        let mut copy = Connection::open(&partial)?;
        let backup = rusqlite::backup::Backup::new(from, &mut copy)?;
        // Every page in one step; busy only while another connection holds
        // a lock the copy must wait out.
        while backup.step(-1)? != rusqlite::backup::StepResult::Done {
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(backup);
        // The copy in one file (no -wal beside it), whatever the source's mode.
        copy.pragma_update(None, "journal_mode", "DELETE")?;
    }
    std::fs::File::open(&partial).and_then(|f| f.sync_all()).map_err(io(&partial))?;
    std::fs::rename(&partial, &target).map_err(io(&target))?;
    std::fs::File::open(to).and_then(|d| d.sync_all()).map_err(io(to))
}

/// A database file that `copy_database` can read without changing it
/// (no migration: a backup is restored as it was, then upgraded in place).
pub fn open_for_copy(dir: &Path) -> StorageResult<Connection> {
    let path = dir.join(DATABASE_FILE);
    if !path.is_file() {
        return Err(StorageError::Io { path, source: std::io::Error::from(std::io::ErrorKind::NotFound) });
    }
    Ok(Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?)
}

/// Brings the database up to `target`, with the core's migration runner
/// (each migration in one transaction with its version bump).
pub fn migrate_to(conn: &mut Connection, target: i64) -> StorageResult<()> {
    Ok(suishoupai_core::support::migrations::run_migrations(conn, MIGRATIONS, target)?)
}

impl SqliteStorage {
    /// Opens (creating or upgrading) the database in `dir`.
    pub fn open(dir: &Path) -> StorageResult<Self> {
        std::fs::create_dir_all(dir).map_err(|source| StorageError::Io { path: dir.to_owned(), source })?;
        let path = dir.join(DATABASE_FILE);
        let mut writer = open_connection(&path)?;
        migrate_to(&mut writer, LATEST_VERSION)?;
        Ok(SqliteStorage { writes: GroupCommit::new(writer, true), path: Some(path), readers: Mutex::new(Vec::new()) })
    }

    /// A fresh database in memory, gone when dropped: the same SQL, no
    /// disk, no concurrency between reads and writes.
    pub fn open_in_memory() -> StorageResult<Self> {
        let mut conn = Connection::open_in_memory()?;
        suishoupai_core::support::pragmas::plan_once(&conn)?;
        conn.execute_batch("PRAGMA foreign_keys = ON;")?;
        migrate_to(&mut conn, LATEST_VERSION)?;
        Ok(SqliteStorage { writes: GroupCommit::new(conn, false), path: None, readers: Mutex::new(Vec::new()) })
    }

    /// An in-memory database already migrated, for tests that built it.
    #[cfg(test)]
    fn from_connection_for_tests(conn: Connection) -> Self {
        SqliteStorage { writes: GroupCommit::new(conn, false), path: None, readers: Mutex::new(Vec::new()) }
    }

    /// Commits made by writes so far: fewer than the writes when they were
    /// grouped. For tests and benchmarks.
    pub fn commits(&self) -> u64 {
        self.writes.commits()
    }

    /// Runs `f` in one read transaction on `conn`, so that it sees a single snapshot.
    fn read_on(conn: &mut Connection, f: &mut dyn FnMut(&dyn ReadTxn) -> StorageResult<()>) -> StorageResult<()> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        f(&SqliteTxn::new(&tx))
    }
}

impl Storage for SqliteStorage {
    fn read(&self, f: &mut dyn FnMut(&dyn ReadTxn) -> StorageResult<()>) -> StorageResult<()> {
        let Some(path) = &self.path else { return Self::read_on(&mut self.writes.connection(), f) };
        let idle = lock(&self.readers).pop();
        let mut conn = match idle {
            Some(conn) => conn,
            None => open_connection(path)?,
        };
        let result = Self::read_on(&mut conn, f);
        let mut readers = lock(&self.readers);
        if readers.len() < IDLE_READERS {
            readers.push(conn);
        }
        result
    }

    fn write(&self, f: &mut dyn FnMut(&mut dyn WriteTxn) -> StorageResult<()>) -> StorageResult<()> {
        self.writes.write(|conn| f(&mut SqliteTxn::new(conn)))
    }

    fn backup_into(&self, to: &Path) -> StorageResult<()> {
        match &self.path {
            Some(path) => copy_database(&open_connection(path)?, to),
            None => copy_database(&self.writes.connection(), to),
        }
    }
}

#[cfg(test)]
mod tests {
    use suishoupai_core::support::migrations::{testing, version};

    use super::*;

    fn on_file() -> (tempfile::TempDir, SqliteStorage) {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(dir.path()).unwrap();
        (dir, storage)
    }

    /// Every test of the contract, on a file and in memory.
    mod on_file {
        crate::storage::contract::storage_contract_tests!(super::on_file());
    }
    mod in_memory {
        crate::storage::contract::storage_contract_tests!(((), super::SqliteStorage::open_in_memory().unwrap()));
    }

    #[test]
    fn upgraded_database_equals_fresh_database() {
        // A database as version 1 of the server left it, with a user and a photo.
        let old = testing::upgraded_equals_fresh(MIGRATIONS, include_str!("testdata/server_v1.sql"), 1);
        let (users, photos): (i64, i64) = old
            .query_row("SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM photos)", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        assert_eq!((users, photos), (1, 1), "old rows survive the upgrade");
        let token_owner: String = old
            .query_row(
                "SELECT u.name FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.token_sha256 = ?1 AND t.revoked_at IS NULL",
                ["a".repeat(64)],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(token_owner, "wang", "the user's token still signs them in");
    }

    #[test]
    fn a_version_4_database_with_cases_upgrades() {
        // Version 4's schema is its migrations, frozen like every migration.
        let old = format!("{}\n{}\nPRAGMA user_version = 4;", MIGRATIONS[..4].join("\n"), include_str!("testdata/server_v4_rows.sql"));
        let db = testing::upgraded_equals_fresh(MIGRATIONS, &old, 4);
        let department: String = db.query_row("SELECT name FROM departments WHERE code = '城管'", [], |r| r.get(0)).unwrap();
        assert_eq!(department, "城管", "a department named only by its users became one");
        let (latitude, changed_ms): (f64, i64) =
            db.query_row("SELECT latitude, changed_ms FROM reports", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        assert_eq!((latitude, changed_ms), (32.34, 1_777_600_800_000));
        let received_ms: i64 = db.query_row("SELECT received_ms FROM reports", [], |r| r.get(0)).unwrap();
        let received_at: String = db.query_row("SELECT received_at FROM reports", [], |r| r.get(0)).unwrap();
        assert_eq!(Some(received_ms), crate::clock::rfc3339_ms(&received_at), "the time received, in ms, for the daily quota");
        let (roles, public): (String, String) = db
            .query_row("SELECT group_concat(actor_role), group_concat(public_note) FROM events", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        assert_eq!((roles.as_str(), public.as_str()), ("resident,coordinator", "已转城管"), "the reporter still sees the old note");
        let placed: i64 = db.query_row("SELECT count(*) FROM report_places", [], |r| r.get(0)).unwrap();
        assert_eq!(placed, 1, "the located report is in the spatial index");
        // And the storage reads it as any other case.
        let storage = SqliteStorage::from_connection_for_tests(db);
        let report = crate::storage::read(&storage, |tx| tx.report(&crate::model::Scope::All, "01900000-0000-7000-8000-000000000001"))
            .unwrap()
            .unwrap();
        let expected = (suishoupai_core::ReportStatus::Dispatched, Some("城管"), 2);
        assert_eq!((report.status, report.department.as_deref(), report.history.len()), expected);
    }

    #[test]
    fn every_step_is_reachable_and_idempotent() {
        testing::every_step_is_reachable_and_idempotent(MIGRATIONS);
    }

    #[test]
    fn newer_database_is_refused() {
        testing::newer_database_is_refused(MIGRATIONS);
    }

    #[test]
    fn failed_migration_changes_nothing() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_to(&mut conn, 1).unwrap();
        // Make migration 2 fail half-way: its events table already exists.
        conn.execute_batch("CREATE TABLE events (x INTEGER)").unwrap();
        assert!(migrate_to(&mut conn, 2).is_err());
        assert_eq!(version(&conn).unwrap(), 1);
        let reports: i64 = conn.query_row("SELECT count(*) FROM sqlite_schema WHERE name = 'reports'", [], |r| r.get(0)).unwrap();
        assert_eq!(reports, 0, "the CREATE TABLE before the failure was rolled back");
    }
}
