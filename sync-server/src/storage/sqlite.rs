//! [`Storage`] on one SQLite file: WAL with `synchronous = FULL`, so a
//! commit is on disk when it returns; one writer connection (SQLite has one
//! writer anyway) and a few readers, which WAL lets read while a write is
//! under way. Another process (the `user add` command beside a running
//! server) waits on SQLite's lock thanks to the busy timeout.
//!
//! Writes are committed in groups: each commit costs an fsync, and when
//! many requests write at once (200 devices pushing, uploads finishing) they
//! share one instead of queueing for one each. See [`SqliteStorage::write`].

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use rusqlite::types::Value;
use rusqlite::{CachedStatement, Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params, params_from_iter};
use suishoupai_core::ReportStatus;
use suishoupai_core::protocol::{Change, PushOutcome, PushResult, UploadCreate, UploadState, WireReport};

use super::{
    Candidate, ChangeBatch, HistoryEntry, NewUser, PhotoMeta, ReportFilter, ReportKey, ReportPage, Scope, StatusChange, Storage,
    StoredReport, TokenOwner, UploadAllowance, UploadKey, UploadRow, UserListing, report_not_found,
};
use crate::auth::{Role, User};
use crate::error::{Error, Result};

pub const DATABASE_FILE: &str = "server.sqlite3";

/// Numbered migrations; each runs in one transaction with the bump of
/// `user_version`. Shipped migrations are never edited: the upgrade test
/// replays a frozen copy of an old database against them.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_users_and_photos.sql"),
    include_str!("migrations/0002_reports_and_events.sql"),
    include_str!("migrations/0003_thumbnails_on_demand.sql"),
    include_str!("migrations/0004_tokens_holders_and_user_uploads.sql"),
];

pub const LATEST_VERSION: i64 = MIGRATIONS.len() as i64;

/// Readers kept open between requests; more are opened when busy.
const IDLE_READERS: usize = 8;

/// Writes in one group at most. Under steady load callers keep arriving and
/// a group would never find itself alone to commit; its first caller would
/// wait for ever longer. This bounds that wait, and costs little: a group of
/// this size already spreads the fsync thin.
const MAX_GROUP: usize = 64;

pub struct SqliteStorage {
    path: PathBuf,
    writer: Mutex<Connection>,
    /// Who waits for the writer and which group is open on it; always
    /// locked after `writer` when both are held.
    group: Mutex<Group>,
    /// Signalled when a group ends, committed or not.
    group_ended: Condvar,
    commits: AtomicU64,
    readers: Mutex<Vec<Connection>>,
}

/// The state of group commit, beside the writer connection.
#[derive(Default)]
struct Group {
    /// Callers that have asked for the writer and not yet got it. The caller
    /// holding the writer commits only when this is 0: otherwise one of them
    /// will get the writer after it and can commit for both.
    pending: usize,
    /// The group whose transaction is open on the writer.
    open: Option<OpenGroup>,
    last_id: u64,
    /// Every group with an id up to this one has ended.
    ended: u64,
    /// Groups that ended without a commit, kept until each of their waiting
    /// callers has taken its error.
    failed: HashMap<u64, FailedGroup>,
}

struct OpenGroup {
    id: u64,
    /// Callers that ran in it, however they fared.
    members: usize,
    /// Callers whose change is in it and who wait for its end.
    waiting: usize,
}

struct FailedGroup {
    error: Error,
    untold: usize,
}

/// What the caller holding the writer does with the open group after its own work.
enum Next {
    Commit,
    /// Roll the group back: its transaction is no longer what its callers put in it.
    Abandon(Error),
    /// Leave the group open for the callers queued on the writer.
    Leave,
}

/// A copy of a group's failure for each of its callers ([`Error`] is not `Clone`).
fn group_error(e: &Error) -> Error {
    match e {
        Error::Database(rusqlite::Error::SqliteFailure(code, message)) => {
            Error::Database(rusqlite::Error::SqliteFailure(*code, message.clone()))
        }
        other => Error::Internal(format!("the transaction this write was grouped into failed: {other}")),
    }
}

fn open_connection(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    // The CLI (`user add`) may hold the write lock for a moment while the server runs.
    conn.busy_timeout(Duration::from_secs(10))?;
    // FULL: an acknowledged push survives a power cut, not only a crash.
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
    Ok(conn)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Writes catch their closures' panics and nothing else in here panics
    // while holding a lock, so a poisoned lock still guards sound state.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Brings the database up to `target`, with the core's migration runner
/// (each migration in one transaction with its version bump).
pub fn migrate_to(conn: &mut Connection, target: i64) -> Result<()> {
    Ok(suishoupai_core::support::migrations::run_migrations(conn, MIGRATIONS, target)?)
}

impl SqliteStorage {
    /// Opens (creating or upgrading) the database in `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
        let path = dir.join(DATABASE_FILE);
        let mut writer = open_connection(&path)?;
        migrate_to(&mut writer, LATEST_VERSION)?;
        Ok(SqliteStorage {
            path,
            writer: Mutex::new(writer),
            group: Mutex::new(Group::default()),
            group_ended: Condvar::new(),
            commits: AtomicU64::new(0),
            readers: Mutex::new(Vec::new()),
        })
    }

    /// Commits made by writes so far: fewer than the writes when they were
    /// grouped. For tests and benchmarks.
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Runs `f` atomically and returns once its change is committed, or
    /// with an error once it is certain not to be.
    ///
    /// Group commit: callers that arrive while another holds the writer
    /// queue for it, and each runs `f` in the same IMMEDIATE transaction,
    /// in a savepoint of its own so that a failure or a panic of `f` undoes
    /// only its caller's work. The last caller of the queue commits for all
    /// of them, one fsync for the lot; the others wait for that commit, and
    /// all of them fail if it fails. A caller releases the writer without
    /// committing only when another has already asked for it, so an open
    /// group always has a caller to come that ends it.
    fn write<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        lock(&self.group).pending += 1;
        let mut conn = lock(&self.writer);
        let id = self.join_group(&mut conn)?;
        let (ran, doubt) = run_in_savepoint(&mut conn, f);
        let succeeded = matches!(ran, Ok(Ok(_)));
        let group = self.end_turn(conn, id, succeeded, doubt);
        match ran {
            // Only now, with the group settled, so that no waiter is stranded.
            Err(panic) => resume_unwind(panic),
            Ok(Err(e)) => Err(e),
            Ok(Ok(value)) => group.map(|()| value),
        }
    }

    /// Joins the group open on the writer, or opens one; answers its id.
    fn join_group(&self, conn: &mut Connection) -> Result<u64> {
        let mut group = lock(&self.group);
        group.pending -= 1;
        if let Some(open) = &group.open {
            return Ok(open.id);
        }
        drop(group);
        if !conn.is_autocommit() {
            // Left over by a failed ROLLBACK after a failed COMMIT: nobody's
            // change in it will be committed, and it would block BEGIN.
            let _ = conn.execute_batch("ROLLBACK");
        }
        // Nothing of anyone else is open, so a failure concerns this caller only.
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let mut group = lock(&self.group);
        group.last_id += 1;
        let id = group.last_id;
        group.open = Some(OpenGroup { id, members: 0, waiting: 0 });
        Ok(id)
    }

    /// After a caller's own work: commits the group, or leaves it to the
    /// callers queued on the writer and (if the caller's change is in it)
    /// waits for its end. Answers whether the caller's change, if it made
    /// one, was committed.
    fn end_turn(&self, conn: MutexGuard<'_, Connection>, id: u64, succeeded: bool, doubt: Option<rusqlite::Error>) -> Result<()> {
        let mut group = lock(&self.group);
        let pending = group.pending;
        let Some(open) = group.open.as_mut().filter(|open| open.id == id) else {
            // Cannot happen: only the caller holding the writer ends a group.
            return Err(Error::Internal(format!("write group {id} ended under its caller")));
        };
        open.members += 1;
        let next = if let Some(e) = doubt {
            Next::Abandon(Error::Internal(format!("a write's savepoint could not be released or rolled back: {e}")))
        } else if conn.is_autocommit() {
            // SQLite rolls the whole transaction back on some errors (a full
            // disk, an I/O error): the others' changes are gone too.
            Next::Abandon(Error::Internal("SQLite rolled back the transaction of this write's group".into()))
        } else if pending == 0 || open.members >= MAX_GROUP {
            Next::Commit
        } else {
            Next::Leave
        };
        let result = match next {
            Next::Leave if succeeded => {
                open.waiting += 1;
                drop(conn);
                while group.ended < id {
                    group = self.group_ended.wait(group).unwrap_or_else(|poisoned| poisoned.into_inner());
                }
                return match group.failed.get_mut(&id) {
                    None => Ok(()),
                    Some(failed) => {
                        let error = group_error(&failed.error);
                        failed.untold -= 1;
                        if failed.untold == 0 {
                            group.failed.remove(&id);
                        }
                        Err(error)
                    }
                };
            }
            // Its own work was undone: it has nothing to wait for.
            Next::Leave => return Ok(()),
            Next::Abandon(e) => Err(e),
            Next::Commit => {
                // Not holding the group lock through the fsync lets new
                // callers queue meanwhile and form the next group.
                drop(group);
                let committed = conn.execute_batch("COMMIT").map_err(Error::from);
                group = lock(&self.group);
                committed
            }
        };
        if result.is_err() && !conn.is_autocommit() {
            // A failed COMMIT may leave the transaction open; the next group
            // must not inherit its changes.
            let _ = conn.execute_batch("ROLLBACK");
        }
        let waiting = group.open.take().map_or(0, |open| open.waiting);
        group.ended = id;
        match &result {
            Ok(()) => {
                self.commits.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) if waiting > 0 => {
                group.failed.insert(id, FailedGroup { error: group_error(e), untold: waiting });
            }
            Err(_) => {}
        }
        drop(group);
        self.group_ended.notify_all();
        result
    }

    /// Runs `f` in one read transaction, so that it sees a single snapshot.
    fn read<T>(&self, f: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        let idle = lock(&self.readers).pop();
        let mut conn = match idle {
            Some(conn) => conn,
            None => open_connection(&self.path)?,
        };
        let value = {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
            f(&tx)
        };
        let mut readers = lock(&self.readers);
        if readers.len() < IDLE_READERS {
            readers.push(conn);
        }
        value
    }
}

/// What a write's closure did: returned, or panicked with this payload.
type Ran<T> = std::thread::Result<Result<T>>;

/// Runs `f` in a savepoint of the group's transaction: kept if `f`
/// succeeds, rolled back if it fails or panics. Also answers the savepoint's
/// own failure, which leaves the group's transaction in doubt.
fn run_in_savepoint<T>(conn: &mut Connection, f: impl FnOnce(&Connection) -> Result<T>) -> (Ran<T>, Option<rusqlite::Error>) {
    let savepoint = match conn.savepoint() {
        Ok(savepoint) => savepoint,
        Err(e) => return (Ok(Err(e.into())), None),
    };
    // Unwind safety: a panic's half-done work is rolled back with the
    // savepoint below, and the panic itself goes back to the caller.
    let ran = catch_unwind(AssertUnwindSafe(|| f(&savepoint)));
    let settled = match ran {
        Ok(Ok(_)) => savepoint.commit(),
        _ => savepoint.finish(),
    };
    (ran, settled.err())
}

/// The SQL condition for `scope` on the reports aliased `r`, with its parameters.
fn scope_sql(scope: &Scope) -> (&'static str, Vec<Value>) {
    match scope {
        Scope::Owner(owner) => ("r.owner_id = ?", vec![Value::Integer(*owner)]),
        Scope::GridOrOwner { grid_id, owner } => {
            ("(r.grid_id = ? OR r.owner_id = ?)", vec![Value::Text(grid_id.clone()), Value::Integer(*owner)])
        }
        Scope::Department(department) => ("r.department = ?", vec![Value::Text(department.clone())]),
        Scope::All => ("1", Vec::new()),
    }
}

fn decode_error(what: &str, detail: impl std::fmt::Display) -> Error {
    // Values were checked on the way in: a bad one means the file was edited
    // behind our back, which we report rather than guess around.
    Error::Internal(format!("stored {what} is unreadable: {detail}"))
}

/// id, name, role, grid_id, department.
type UserRow = (i64, String, String, Option<String>, Option<String>);

fn user_from_row(row: &Row) -> rusqlite::Result<UserRow> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?))
}

fn make_user((id, name, role, grid_id, department): UserRow) -> Result<User> {
    let role = Role::from_code(&role).ok_or_else(|| decode_error("role", &role))?;
    Ok(User { id, name, role, grid_id, department })
}

fn parse_status(code: &str) -> Result<ReportStatus> {
    ReportStatus::from_code(code).map_err(|e| decode_error("status", e))
}

const REPORT_SELECT: &str = "SELECT r.id, r.body, r.status, u.name, r.grid_id, r.department, r.received_at, r.created_ms
                             FROM reports r JOIN users u ON u.id = r.owner_id";

type ReportRow = (String, String, String, String, Option<String>, Option<String>, String, i64);

fn report_row(row: &Row) -> rusqlite::Result<ReportRow> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?, row.get(6)?, row.get(7)?))
}

/// Turns a report row into a [`StoredReport`] with its history.
fn load_report(tx: &Connection, row: ReportRow) -> Result<StoredReport> {
    let (id, body, status, owner, grid_id, department, received_at, created_ms) = row;
    let wire: WireReport = serde_json::from_str(&body).map_err(|e| decode_error(&format!("report {id}"), e))?;
    let history = tx
        .prepare_cached(
            "SELECT e.status, e.note, u.name, e.at FROM events e JOIN users u ON u.id = e.actor_id
             WHERE e.report_id = ?1 ORDER BY e.seq",
        )?
        .query_map([&id], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .map(|row| {
            let (status, note, actor, at) = row?;
            Ok(HistoryEntry { status: parse_status(&status)?, note, actor, at })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(StoredReport { wire, status: parse_status(&status)?, owner, grid_id, department, received_at, history, created_ms })
}

fn report_in_scope(tx: &Connection, scope: &Scope, id: &str) -> Result<Option<StoredReport>> {
    let (condition, mut values) = scope_sql(scope);
    values.insert(0, Value::Text(id.to_owned()));
    let row = tx
        .prepare_cached(&format!("{REPORT_SELECT} WHERE r.id = ? AND {condition}"))?
        .query_row(params_from_iter(values), report_row)
        .optional()?;
    row.map(|row| load_report(tx, row)).transpose()
}

/// The photo as `user_id` may know it: only if they hold it.
fn held_photo(tx: &Connection, user_id: i64, sha256: &str) -> Result<Option<PhotoMeta>> {
    Ok(tx.prepare_cached(HELD_PHOTO)?.query_row(params![sha256, user_id], photo_meta_row).optional()?)
}

const HELD_PHOTO: &str = "SELECT p.sha256, p.bytes, p.width, p.height FROM photos p
                          JOIN photo_holders h ON h.sha256 = p.sha256 AND h.user_id = ?2 WHERE p.sha256 = ?1";

fn photo_meta_row(r: &Row) -> rusqlite::Result<PhotoMeta> {
    Ok(PhotoMeta { sha256: r.get(0)?, bytes: r.get::<_, i64>(1)? as u64, width: r.get(2)?, height: r.get(3)? })
}

/// What a user has open in uploads: how many, and the bytes they declare.
fn open_uploads(tx: &Connection, user_id: i64) -> Result<(usize, u64)> {
    Ok(tx
        .prepare_cached("SELECT count(*), coalesce(sum(length), 0) FROM uploads WHERE user_id = ?1")?
        .query_row([user_id], |r| Ok((r.get::<_, i64>(0)? as usize, r.get::<_, i64>(1)? as u64)))?)
}

/// How long a client over its upload allowance should wait: uploads
/// finishing or expiring free it, so a minute is a fair first guess.
const QUOTA_RETRY_AFTER_SECS: u64 = 60;

/// The photos of [`Storage::start_uploads`], inside its transaction.
fn start_uploads(
    tx: &Connection,
    user_id: i64,
    uploads: &[UploadCreate],
    allowance: &UploadAllowance,
    now_ms: i64,
) -> Result<Vec<UploadState>> {
    let (mut open, mut declared) = open_uploads(tx, user_id)?;
    let started_at = now();
    let mut states = Vec::with_capacity(uploads.len());
    for UploadCreate { sha256, length } in uploads {
        let state = |offset: u64, length: u64, complete: bool| UploadState { sha256: sha256.clone(), offset, length, complete };
        if let Some(photo) = held_photo(tx, user_id, sha256)? {
            states.push(state(photo.bytes, photo.bytes, true));
            continue;
        }
        let under_way = tx
            .prepare_cached("SELECT length, offset FROM uploads WHERE user_id = ?1 AND sha256 = ?2")?
            .query_row(params![user_id, sha256], |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)))
            .optional()?;
        match under_way {
            Some((known, offset)) if known == *length => states.push(state(offset, *length, false)),
            _ => {
                let (was_open, was_declared) = under_way.map_or((0, 0), |(known, _)| (1, known));
                let (now_open, now_declared) = (open - was_open + 1, declared - was_declared + length);
                if now_open > allowance.max_open || now_declared > allowance.max_declared_bytes {
                    return Err(Error::QuotaExceeded {
                        message: format!(
                            "at most {} uploads and {} declared bytes may be open at once; finish or wait for the ones under way",
                            allowance.max_open, allowance.max_declared_bytes
                        ),
                        retry_after_secs: QUOTA_RETRY_AFTER_SECS,
                    });
                }
                (open, declared) = (now_open, now_declared);
                tx.prepare_cached(
                    "INSERT INTO uploads (user_id, sha256, length, offset, started_at, touched_ms) VALUES (?1, ?2, ?3, 0, ?4, ?5)
                     ON CONFLICT (user_id, sha256) DO UPDATE SET length = excluded.length, offset = 0,
                         started_at = excluded.started_at, touched_ms = excluded.touched_ms",
                )?
                .execute(params![user_id, sha256, *length as i64, started_at, now_ms])?;
                states.push(state(0, *length, false));
            }
        }
    }
    Ok(states)
}

fn accepted(id: &str, status: ReportStatus) -> PushResult {
    PushResult { id: id.to_owned(), outcome: PushOutcome::Accepted, missing: Vec::new(), error: None, status: Some(status) }
}

fn refused(id: &str, outcome: PushOutcome, error: String) -> PushResult {
    PushResult { id: id.to_owned(), outcome, missing: Vec::new(), error: Some(error), status: None }
}

/// The statements of a push, prepared once per batch: a batch of 100
/// reports would otherwise look each of them up in the statement cache
/// 100 times over.
struct PushStatements<'c> {
    existing: CachedStatement<'c>,
    photo: CachedStatement<'c>,
    report: CachedStatement<'c>,
    report_photo: CachedStatement<'c>,
    event: CachedStatement<'c>,
}

impl<'c> PushStatements<'c> {
    fn prepare(tx: &'c Connection) -> Result<Self> {
        Ok(PushStatements {
            existing: tx.prepare_cached("SELECT owner_id, content_sha256, status FROM reports WHERE id = ?1")?,
            photo: tx.prepare_cached(HELD_PHOTO)?,
            report: tx.prepare_cached(
                "INSERT INTO reports (id, owner_id, content_sha256, body, category, created_at, created_ms, grid_id, status, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'submitted', ?9)",
            )?,
            report_photo: tx.prepare_cached("INSERT INTO report_photos (report_id, position, sha256) VALUES (?1, ?2, ?3)")?,
            event: tx.prepare_cached(INSERT_EVENT)?,
        })
    }
}

/// One report of a push, inside the batch's transaction.
fn push_one(sql: &mut PushStatements, owner: &User, candidate: &Candidate, received_at: &str) -> Result<PushResult> {
    let id = candidate.id.as_str();
    // An id already taken decides first: a retried push must get the answer
    // it got the first time, even if the rules changed since.
    let existing =
        sql.existing.query_row([id], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))).optional()?;
    if let Some((owner_id, content_sha256, status)) = existing {
        if owner_id == owner.id && content_sha256 == candidate.content_sha256 {
            return Ok(accepted(id, parse_status(&status)?));
        }
        return Ok(refused(
            id,
            PushOutcome::Conflict,
            "the server already holds a different report with this id; it was not changed".into(),
        ));
    }
    let report = match &candidate.checked {
        Ok(report) => report,
        Err(reason) => return Ok(refused(id, PushOutcome::Invalid, reason.clone())),
    };
    let mut missing: Vec<String> = Vec::new();
    for (index, photo) in report.wire.photos.iter().enumerate() {
        let stored = sql.photo.query_row(params![&photo.sha256, owner.id], photo_meta_row).optional()?;
        match stored.map(|p| (p.bytes, p.width, p.height)) {
            None => {
                if !missing.contains(&photo.sha256) {
                    missing.push(photo.sha256.clone());
                }
            }
            Some((bytes, width, height)) if (bytes, width, height) != (photo.bytes, photo.width, photo.height) => {
                return Ok(refused(
                    id,
                    PushOutcome::Invalid,
                    format!(
                        "photos[{index}] says {}x{} px and {} bytes, but the uploaded photo is {width}x{height} px and {bytes} bytes",
                        photo.width, photo.height, photo.bytes
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    if !missing.is_empty() {
        return Ok(PushResult { id: id.to_owned(), outcome: PushOutcome::MissingPhotos, missing, error: None, status: None });
    }
    let wire = &report.wire;
    sql.report.execute(params![
        id,
        owner.id,
        candidate.content_sha256,
        report.body,
        wire.category,
        wire.created_at,
        report.created_ms,
        report.grid_id,
        received_at
    ])?;
    for (position, photo) in wire.photos.iter().enumerate() {
        sql.report_photo.execute(params![id, position as i64, photo.sha256])?;
    }
    sql.event.execute(params![id, ReportStatus::Submitted.code(), None::<&str>, None::<&str>, owner.id, received_at])?;
    Ok(accepted(id, ReportStatus::Submitted))
}

const INSERT_EVENT: &str = "INSERT INTO events (report_id, status, note, department, actor_id, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

fn insert_event(
    tx: &Connection,
    report_id: &str,
    status: ReportStatus,
    note: Option<&str>,
    department: Option<&str>,
    actor_id: i64,
    at: &str,
) -> Result<()> {
    tx.prepare_cached(INSERT_EVENT)?.execute(params![report_id, status.code(), note, department, actor_id, at])?;
    Ok(())
}

fn insert_token(tx: &Connection, user_id: i64, token_sha256: &str, created_at: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO tokens (user_id, token_sha256, device, created_at) VALUES (?1, ?2, 'default', ?3)",
        params![user_id, token_sha256, created_at],
    )?;
    Ok(())
}

fn user_by_name(tx: &Connection, name: &str) -> Result<User> {
    tx.prepare_cached("SELECT id, name, role, grid_id, department FROM users WHERE name = ?1")?
        .query_row([name], user_from_row)
        .optional()?
        .map(make_user)
        .transpose()?
        .ok_or_else(|| Error::UnknownUser(name.to_owned()))
}

impl Storage for SqliteStorage {
    fn add_user(&self, user: &NewUser, token_sha256: &str) -> Result<User> {
        self.write(|tx| {
            let taken = tx.query_row("SELECT count(*) FROM users WHERE name = ?1", [&user.name], |r| r.get::<_, i64>(0))?;
            if taken > 0 {
                return Err(Error::DuplicateUser(user.name.clone()));
            }
            let created_at = now();
            tx.execute(
                "INSERT INTO users (name, role, grid_id, department, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![user.name, user.role.code(), user.grid_id, user.department, created_at],
            )?;
            let id = tx.last_insert_rowid();
            insert_token(tx, id, token_sha256, &created_at)?;
            Ok(User { id, name: user.name.clone(), role: user.role, grid_id: user.grid_id.clone(), department: user.department.clone() })
        })
    }

    fn list_users(&self) -> Result<Vec<UserListing>> {
        self.read(|tx| {
            tx.prepare(
                "SELECT u.id, u.name, u.role, u.grid_id, u.department, u.disabled_at IS NOT NULL,
                        (SELECT count(*) FROM tokens t WHERE t.user_id = u.id AND t.revoked_at IS NULL)
                 FROM users u ORDER BY u.name",
            )?
            .query_map([], |r| Ok((user_from_row(r)?, r.get::<_, bool>(5)?, r.get::<_, u32>(6)?)))?
            .map(|row| {
                let (user, disabled, active_tokens) = row?;
                Ok(UserListing { user: make_user(user)?, disabled, active_tokens })
            })
            .collect()
        })
    }

    fn user_by_token_hash(&self, token_sha256: &str) -> Result<Option<TokenOwner>> {
        self.read(|tx| {
            tx.prepare_cached(
                "SELECT u.id, u.name, u.role, u.grid_id, u.department, u.disabled_at IS NOT NULL
                 FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.token_sha256 = ?1 AND t.revoked_at IS NULL",
            )?
            .query_row([token_sha256], |r| Ok((user_from_row(r)?, r.get::<_, bool>(5)?)))
            .optional()?
            .map(|(user, disabled)| Ok(TokenOwner { user: make_user(user)?, disabled }))
            .transpose()
        })
    }

    fn set_disabled(&self, name: &str, disabled: bool) -> Result<User> {
        self.write(|tx| {
            let user = user_by_name(tx, name)?;
            let at = disabled.then(now);
            tx.execute("UPDATE users SET disabled_at = ?2 WHERE id = ?1", params![user.id, at])?;
            Ok(user)
        })
    }

    fn replace_tokens(&self, name: &str, new_token_sha256: &str) -> Result<User> {
        self.write(|tx| {
            let user = user_by_name(tx, name)?;
            let at = now();
            tx.execute("UPDATE tokens SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL", params![user.id, at])?;
            insert_token(tx, user.id, new_token_sha256, &at)?;
            Ok(user)
        })
    }

    fn auth_version(&self) -> Result<i64> {
        self.read(|tx| Ok(tx.prepare_cached("SELECT value FROM meta WHERE key = 'auth_version'")?.query_row([], |r| r.get(0))?))
    }

    fn held_photo(&self, user_id: i64, sha256: &str) -> Result<Option<PhotoMeta>> {
        self.read(|tx| held_photo(tx, user_id, sha256))
    }

    fn upload(&self, key: &UploadKey) -> Result<Option<UploadRow>> {
        self.read(|tx| {
            Ok(tx
                .prepare_cached("SELECT length, offset FROM uploads WHERE user_id = ?1 AND sha256 = ?2")?
                .query_row(params![key.user_id, key.sha256], |r| {
                    Ok(UploadRow { length: r.get::<_, i64>(0)? as u64, offset: r.get::<_, i64>(1)? as u64 })
                })
                .optional()?)
        })
    }

    fn start_uploads(&self, user_id: i64, uploads: &[UploadCreate], allowance: &UploadAllowance, now_ms: i64) -> Result<Vec<UploadState>> {
        self.write(|tx| start_uploads(tx, user_id, uploads, allowance, now_ms))
    }

    fn advance_upload(&self, key: &UploadKey, from: u64, to: u64, now_ms: i64) -> Result<()> {
        self.write(|tx| {
            let offset = tx
                .query_row("SELECT offset FROM uploads WHERE user_id = ?1 AND sha256 = ?2", params![key.user_id, key.sha256], |r| {
                    r.get::<_, i64>(0)
                })
                .optional()?
                .ok_or_else(|| Error::NotFound(format!("no upload {}", key.sha256)))? as u64;
            if offset != from {
                return Err(Error::OffsetMismatch { expected: offset, got: from });
            }
            tx.execute(
                "UPDATE uploads SET offset = ?3, touched_ms = ?4 WHERE user_id = ?1 AND sha256 = ?2",
                params![key.user_id, key.sha256, to as i64, now_ms],
            )?;
            Ok(())
        })
    }

    fn finish_upload(&self, key: &UploadKey, photo: &PhotoMeta) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached("INSERT OR IGNORE INTO photos (sha256, bytes, width, height, received_at) VALUES (?1, ?2, ?3, ?4, ?5)")?
                .execute(params![photo.sha256, photo.bytes as i64, photo.width, photo.height, now()])?;
            tx.prepare_cached("INSERT OR IGNORE INTO photo_holders (sha256, user_id) VALUES (?1, ?2)")?
                .execute(params![photo.sha256, key.user_id])?;
            tx.prepare_cached("DELETE FROM uploads WHERE user_id = ?1 AND sha256 = ?2")?.execute(params![key.user_id, key.sha256])?;
            Ok(())
        })
    }

    fn drop_upload(&self, key: &UploadKey) -> Result<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM uploads WHERE user_id = ?1 AND sha256 = ?2", params![key.user_id, key.sha256])?;
            Ok(())
        })
    }

    fn expire_uploads(&self, touched_before_ms: i64) -> Result<Vec<UploadKey>> {
        self.write(|tx| {
            tx.prepare("DELETE FROM uploads WHERE touched_ms < ?1 RETURNING user_id, sha256")?
                .query_map([touched_before_ms], |r| Ok(UploadKey { user_id: r.get(0)?, sha256: r.get(1)? }))?
                .collect::<rusqlite::Result<_>>()
                .map_err(Error::from)
        })
    }

    fn upload_keys(&self) -> Result<Vec<UploadKey>> {
        self.read(|tx| {
            tx.prepare("SELECT user_id, sha256 FROM uploads")?
                .query_map([], |r| Ok(UploadKey { user_id: r.get(0)?, sha256: r.get(1)? }))?
                .collect::<rusqlite::Result<_>>()
                .map_err(Error::from)
        })
    }

    fn photo_visible(&self, scope: &Scope, sha256: &str) -> Result<bool> {
        self.read(|tx| {
            let (condition, mut values) = scope_sql(scope);
            values.insert(0, Value::Text(sha256.to_owned()));
            Ok(tx
                .prepare_cached(&format!(
                    "SELECT EXISTS (SELECT 1 FROM report_photos p JOIN reports r ON r.id = p.report_id
                                    WHERE p.sha256 = ? AND {condition})"
                ))?
                .query_row(params_from_iter(values), |r| r.get(0))?)
        })
    }

    fn thumbnail_error(&self, sha256: &str) -> Result<Option<String>> {
        self.read(|tx| {
            Ok(tx
                .prepare_cached("SELECT thumbnail_error FROM photos WHERE sha256 = ?1")?
                .query_row([sha256], |r| r.get(0))
                .optional()?
                .flatten())
        })
    }

    fn set_thumbnail_error(&self, sha256: &str, reason: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute("UPDATE photos SET thumbnail_error = ?2 WHERE sha256 = ?1", params![sha256, reason])?;
            Ok(())
        })
    }

    fn push_reports(&self, owner: &User, batch: &[Candidate]) -> Result<Vec<PushResult>> {
        let received_at = now();
        // One transaction, hence one fsync, for the whole batch.
        self.write(|tx| {
            let mut statements = PushStatements::prepare(tx)?;
            batch.iter().map(|candidate| push_one(&mut statements, owner, candidate, &received_at)).collect()
        })
    }

    fn changes(&self, scope: &Scope, after: Option<i64>, limit: usize) -> Result<ChangeBatch> {
        self.read(|tx| {
            let (condition, mut values) = scope_sql(scope);
            values.insert(0, Value::Integer(after.unwrap_or(0)));
            values.push(Value::Integer(limit as i64 + 1));
            let mut rows = tx
                .prepare_cached(&format!(
                    "SELECT e.seq, e.report_id, e.status, e.note, e.at FROM events e JOIN reports r ON r.id = e.report_id
                     WHERE e.seq > ? AND {condition} ORDER BY e.seq LIMIT ?"
                ))?
                .query_map(params_from_iter(values), |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get(3)?, r.get(4)?))
                })?
                .collect::<rusqlite::Result<Vec<(i64, String, String, Option<String>, String)>>>()?;
            let has_more = rows.len() > limit;
            rows.truncate(limit);
            let last_seq = rows.last().map(|row| row.0);
            let changes = rows
                .into_iter()
                .map(|(_, report_id, status, note, changed_at)| Ok(Change { report_id, status: parse_status(&status)?, note, changed_at }))
                .collect::<Result<_>>()?;
            Ok(ChangeBatch { changes, last_seq, has_more })
        })
    }

    fn report(&self, scope: &Scope, id: &str) -> Result<Option<StoredReport>> {
        self.read(|tx| report_in_scope(tx, scope, id))
    }

    fn reports(&self, scope: &Scope, filter: &ReportFilter) -> Result<ReportPage> {
        self.read(|tx| {
            let (condition, mut values) = scope_sql(scope);
            let mut sql = format!("{REPORT_SELECT} WHERE {condition}");
            if let Some(status) = filter.status {
                sql.push_str(" AND r.status = ?");
                values.push(Value::Text(status.code().to_owned()));
            }
            if let Some(category) = &filter.category {
                sql.push_str(" AND r.category = ?");
                values.push(Value::Text(category.clone()));
            }
            if let Some(since) = filter.since_ms {
                sql.push_str(" AND r.created_ms >= ?");
                values.push(Value::Integer(since));
            }
            if let Some(until) = filter.until_ms {
                sql.push_str(" AND r.created_ms < ?");
                values.push(Value::Integer(until));
            }
            if let Some(after) = &filter.after {
                sql.push_str(" AND (r.created_ms, r.id) < (?, ?)");
                values.push(Value::Integer(after.created_ms));
                values.push(Value::Text(after.id.clone()));
            }
            sql.push_str(" ORDER BY r.created_ms DESC, r.id DESC LIMIT ?");
            values.push(Value::Integer(filter.limit as i64 + 1));
            let rows = tx.prepare(&sql)?.query_map(params_from_iter(values), report_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            let has_more = rows.len() > filter.limit;
            let reports = rows.into_iter().take(filter.limit).map(|row| load_report(tx, row)).collect::<Result<Vec<_>>>()?;
            let next = if has_more { reports.last().map(|r| ReportKey { created_ms: r.created_ms, id: r.wire.id.clone() }) } else { None };
            Ok(ReportPage { reports, next })
        })
    }

    fn set_status(
        &self,
        scope: &Scope,
        id: &str,
        actor: &User,
        change: &StatusChange,
        check: &dyn Fn(&StoredReport) -> Result<()>,
    ) -> Result<StoredReport> {
        self.write(|tx| {
            let report = report_in_scope(tx, scope, id)?.ok_or_else(|| report_not_found(id))?;
            check(&report)?;
            tx.execute(
                "UPDATE reports SET status = ?2, department = coalesce(?3, department) WHERE id = ?1",
                params![id, change.status.code(), change.department],
            )?;
            insert_event(tx, id, change.status, change.note.as_deref(), change.department.as_deref(), actor.id, &now())?;
            // Read back with the widest scope: a change may take the report
            // out of the actor's own (a re-dispatch away from a department).
            report_in_scope(tx, &Scope::All, id)?.ok_or_else(|| report_not_found(id))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use suishoupai_core::support::migrations::describe;

    use super::*;
    use crate::storage::contract;

    fn version(conn: &Connection) -> i64 {
        conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap()
    }

    fn fresh() -> (tempfile::TempDir, SqliteStorage) {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(dir.path()).unwrap();
        (dir, storage)
    }

    #[test]
    fn contract_push_is_idempotent_and_first_content_wins() {
        contract::push_is_idempotent_and_first_content_wins(&fresh().1);
    }

    #[test]
    fn contract_upload_offsets_move_only_from_the_offset_seen() {
        contract::upload_offsets_move_only_from_the_offset_seen(&fresh().1);
    }

    #[test]
    fn contract_uploads_start_together_in_order() {
        contract::uploads_start_together_in_order(&fresh().1);
    }

    #[test]
    fn contract_photos_count_only_for_those_who_sent_them() {
        contract::photos_count_only_for_those_who_sent_them(&fresh().1);
    }

    #[test]
    fn contract_uploads_stay_within_the_allowance() {
        contract::uploads_stay_within_the_allowance(&fresh().1);
    }

    #[test]
    fn contract_untouched_uploads_expire() {
        contract::untouched_uploads_expire(&fresh().1);
    }

    #[test]
    fn contract_tokens_are_revoked_and_users_disabled() {
        contract::tokens_are_revoked_and_users_disabled(&fresh().1);
    }

    #[test]
    fn contract_a_cursor_never_skips_a_committed_change() {
        let (_dir, storage) = fresh();
        contract::a_cursor_never_skips_a_committed_change(Arc::new(storage));
    }

    #[test]
    fn contract_scopes_hide_other_peoples_reports() {
        contract::scopes_hide_other_peoples_reports(&fresh().1);
    }

    #[test]
    fn upgraded_database_equals_fresh_database() {
        let mut fresh = Connection::open_in_memory().unwrap();
        migrate_to(&mut fresh, LATEST_VERSION).unwrap();

        // A database as version 1 of the server left it, with a user and a
        // photo. A frozen copy, not migration 1 itself: editing a shipped
        // migration makes this test fail.
        let mut old = Connection::open_in_memory().unwrap();
        old.execute_batch(include_str!("testdata/server_v1.sql")).unwrap();
        assert_eq!(version(&old), 1);
        migrate_to(&mut old, LATEST_VERSION).unwrap();

        assert_eq!(describe(&old).unwrap(), describe(&fresh).unwrap());
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
    fn every_step_is_reachable_and_idempotent() {
        let mut conn = Connection::open_in_memory().unwrap();
        for target in 1..=LATEST_VERSION {
            migrate_to(&mut conn, target).unwrap();
            assert_eq!(version(&conn), target);
            migrate_to(&mut conn, target).unwrap();
        }
    }

    #[test]
    fn newer_database_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", LATEST_VERSION + 1).unwrap();
        assert!(matches!(migrate_to(&mut conn, LATEST_VERSION), Err(Error::SchemaTooNew { .. })));
    }

    #[test]
    fn failed_migration_changes_nothing() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_to(&mut conn, 1).unwrap();
        // Make migration 2 fail half-way: its events table already exists.
        conn.execute_batch("CREATE TABLE events (x INTEGER)").unwrap();
        assert!(migrate_to(&mut conn, 2).is_err());
        assert_eq!(version(&conn), 1);
        let reports: i64 = conn.query_row("SELECT count(*) FROM sqlite_schema WHERE name = 'reports'", [], |r| r.get(0)).unwrap();
        assert_eq!(reports, 0, "the CREATE TABLE before the failure was rolled back");
    }
}

#[cfg(test)]
mod group_commit_tests {
    use std::panic::AssertUnwindSafe;
    use std::sync::{Barrier, mpsc};
    use std::thread;
    use std::time::{Duration, Instant};

    use super::*;

    type Step<'a> = Box<dyn FnOnce(&Connection) -> Result<()> + Send + 'a>;

    fn fresh() -> (tempfile::TempDir, SqliteStorage) {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(dir.path()).unwrap();
        (dir, storage)
    }

    fn add(tx: &Connection, name: &str) -> Result<()> {
        tx.execute("INSERT INTO users (name, role, created_at) VALUES (?1, 'resident', ?2)", params![name, now()])?;
        Ok(())
    }

    fn names(storage: &SqliteStorage) -> Vec<String> {
        let mut names: Vec<_> = storage.list_users().unwrap().into_iter().map(|u| u.user.name).collect();
        names.sort();
        names
    }

    fn wait_until_someone_queues(storage: &SqliteStorage) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while lock(&storage.group).pending == 0 {
            assert!(Instant::now() < deadline, "the next caller never queued for the writer");
            thread::sleep(Duration::from_millis(1));
        }
    }

    /// Runs each step in a write of its own, all in one group and in this
    /// order: each caller, holding the writer, waits for the next one to
    /// queue for it. Answers each thread's outcome.
    fn run_as_one_group<'a>(storage: &'a SqliteStorage, steps: Vec<Step<'a>>) -> Vec<thread::Result<Result<()>>> {
        let last = steps.len() - 1;
        thread::scope(|scope| {
            let threads: Vec<_> = steps
                .into_iter()
                .enumerate()
                .map(|(n, step)| {
                    let (started, has_started) = mpsc::channel();
                    let thread = scope.spawn(move || {
                        storage.write(|tx| {
                            started.send(()).unwrap();
                            if n < last {
                                wait_until_someone_queues(storage);
                            }
                            step(tx)
                        })
                    });
                    has_started.recv().unwrap();
                    thread
                })
                .collect();
            threads.into_iter().map(|thread| thread.join()).collect()
        })
    }

    /// Runs `write(thread, n)` for n in 0..writes on `threads` threads
    /// released together, so that their writes meet on the writer.
    fn all_at_once(threads: usize, writes: usize, write: impl Fn(usize, usize) + Sync) {
        let barrier = Barrier::new(threads);
        thread::scope(|scope| {
            for t in 0..threads {
                let (barrier, write) = (&barrier, &write);
                scope.spawn(move || {
                    barrier.wait();
                    (0..writes).for_each(|w| write(t, w));
                });
            }
        });
    }

    #[test]
    fn concurrent_writers_share_commits() {
        const THREADS: usize = 16;
        const WRITES: usize = 50;
        let (_dir, storage) = fresh();
        all_at_once(THREADS, WRITES, |t, w| {
            let name = format!("u{t}-{w}");
            let token = format!("{name:0>64}");
            let user = NewUser { name, role: Role::Resident, grid_id: None, department: None };
            let added = storage.add_user(&user, &token).unwrap();
            // Answered only once committed: a reader sees it.
            assert_eq!(storage.user_by_token_hash(&token).unwrap().map(|o| o.user.id), Some(added.id));
        });
        let mut expected: Vec<_> = (0..THREADS).flat_map(|t| (0..WRITES).map(move |w| format!("u{t}-{w}"))).collect();
        expected.sort();
        assert_eq!(names(&storage), expected);
        let (writes, commits) = ((THREADS * WRITES) as u64, storage.commits());
        eprintln!("{writes} writes in {commits} commits");
        assert!(commits < writes, "{writes} writes in {commits} commits: none were grouped");
    }

    #[test]
    fn concurrent_writers_that_fail_leave_no_trace() {
        const THREADS: usize = 16;
        const WRITES: usize = 50;
        let (_dir, storage) = fresh();
        all_at_once(THREADS, WRITES, |t, w| {
            let result = storage.write(|tx| {
                add(tx, &format!("u{t}-{w}"))?;
                if w % 3 == 0 { Err(Error::Conflict("refused after writing".into())) } else { Ok(()) }
            });
            assert_eq!(result.is_ok(), w % 3 != 0);
        });
        let mut expected: Vec<_> =
            (0..THREADS).flat_map(|t| (0..WRITES).filter(|w| w % 3 != 0).map(move |w| format!("u{t}-{w}"))).collect();
        expected.sort();
        assert_eq!(names(&storage), expected);
        assert!(storage.commits() < (THREADS * WRITES) as u64);
    }

    #[test]
    fn a_failing_caller_undoes_only_its_own_work() {
        let (_dir, storage) = fresh();
        let failing = |name: &'static str| -> Step<'_> {
            Box::new(move |tx| {
                add(tx, name)?;
                Err(Error::Conflict(format!("{name} refused after writing")))
            })
        };
        let steps: Vec<Step> = vec![Box::new(|tx| add(tx, "a")), failing("b"), Box::new(|tx| add(tx, "c")), failing("d")];
        let outcomes = run_as_one_group(&storage, steps);
        let outcomes: Vec<_> = outcomes.into_iter().map(|outcome| outcome.expect("no step panics")).collect();
        assert!(outcomes[0].is_ok() && outcomes[2].is_ok());
        assert!(matches!(outcomes[1], Err(Error::Conflict(_))));
        // The last of the group fails and still commits for the others.
        assert!(matches!(outcomes[3], Err(Error::Conflict(_))));
        assert_eq!(names(&storage), ["a", "c"]);
        assert_eq!(storage.commits(), 1, "one group, one commit");
    }

    #[test]
    fn a_panicking_caller_gets_its_panic_and_spares_its_group() {
        let (_dir, storage) = fresh();
        let panicking = |name: &'static str| -> Step<'_> {
            Box::new(move |tx| {
                add(tx, name)?;
                panic!("{name} panics after writing");
            })
        };
        let steps: Vec<Step> = vec![Box::new(|tx| add(tx, "a")), panicking("b"), Box::new(|tx| add(tx, "c")), panicking("d")];
        let outcomes = run_as_one_group(&storage, steps);
        assert!(matches!(outcomes[0], Ok(Ok(()))));
        assert!(matches!(outcomes[2], Ok(Ok(()))));
        for n in [1, 3] {
            let panic = outcomes[n].as_ref().expect_err("the panic reaches its caller");
            assert!(panic.downcast_ref::<String>().is_some_and(|message| message.ends_with("panics after writing")));
        }
        assert_eq!(names(&storage), ["a", "c"]);
        assert_eq!(storage.commits(), 1);

        // Nothing is left open or locked.
        assert!(lock(&storage.writer).is_autocommit());
        storage.write(|tx| add(tx, "e")).unwrap();
        assert_eq!(names(&storage), ["a", "c", "e"]);
        // A panic of a caller alone, who commits for nobody.
        let alone = std::panic::catch_unwind(AssertUnwindSafe(|| {
            storage.write(|tx| -> Result<()> {
                add(tx, "f")?;
                panic!("f panics")
            })
        }));
        assert!(alone.is_err());
        storage.write(|tx| add(tx, "g")).unwrap();
        assert_eq!(names(&storage), ["a", "c", "e", "g"]);
        assert!(lock(&storage.writer).is_autocommit());
    }

    #[test]
    fn a_failed_commit_fails_every_caller_of_its_group() {
        let (_dir, storage) = fresh();
        // A deferred foreign key is checked at COMMIT: a dangling one makes
        // the group's COMMIT fail, with the transaction still open.
        lock(&storage.writer)
            .execute_batch("CREATE TABLE dangling (user_id INTEGER REFERENCES users (id) DEFERRABLE INITIALLY DEFERRED)")
            .unwrap();
        let steps: Vec<Step> = vec![
            Box::new(|tx| add(tx, "a")),
            Box::new(|tx| {
                tx.execute("INSERT INTO dangling (user_id) VALUES (999)", [])?;
                Ok(())
            }),
            Box::new(|tx| add(tx, "c")),
        ];
        let outcomes = run_as_one_group(&storage, steps);
        for outcome in outcomes {
            let error = outcome.expect("no step panics").expect_err("the group was not committed");
            assert!(matches!(error, Error::Database(rusqlite::Error::SqliteFailure(..))), "{error:?}");
        }
        assert!(names(&storage).is_empty());
        assert_eq!(storage.commits(), 0);
        assert!(lock(&storage.group).failed.is_empty(), "every waiter took its error");

        // The failed transaction was rolled back: the next write starts afresh.
        storage.write(|tx| add(tx, "d")).unwrap();
        assert_eq!(names(&storage), ["d"]);
        assert_eq!(storage.commits(), 1);
    }
}
