//! [`Storage`] on one SQLite file: WAL with `synchronous = FULL`, so a
//! commit is on disk when it returns; one writer connection (SQLite has one
//! writer anyway) and a few readers, which WAL lets read while a write is
//! under way. Another process (the `user add` command beside a running
//! server) waits on SQLite's lock thanks to the busy timeout.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params, params_from_iter};
use suishoupai_core::ReportStatus;
use suishoupai_core::protocol::{Change, PushOutcome, PushResult, UploadState, WireReport};

use super::{
    Candidate, ChangeBatch, HistoryEntry, NewUser, PhotoMeta, ReportFilter, ReportKey, ReportPage, Scope, StatusChange, Storage,
    StoredReport, UploadRow, report_not_found,
};
use crate::auth::{Role, User};
use crate::error::{Error, Result};

pub const DATABASE_FILE: &str = "server.sqlite3";

/// Numbered migrations; each runs in one transaction with the bump of
/// `user_version`. Shipped migrations are never edited: the upgrade test
/// replays a frozen copy of an old database against them.
const MIGRATIONS: &[&str] = &[include_str!("migrations/0001_users_and_photos.sql"), include_str!("migrations/0002_reports_and_events.sql")];

pub const LATEST_VERSION: i64 = MIGRATIONS.len() as i64;

/// Readers kept open between requests; more are opened when busy.
const IDLE_READERS: usize = 8;

pub struct SqliteStorage {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
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
    // A panic while holding the lock cannot leave a transaction open
    // (rusqlite rolls back on drop), so the connection is still sound.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Brings the database up to `target`, with the core's migration runner
/// (each migration in one transaction with its version bump).
pub fn migrate_to(conn: &mut Connection, target: i64) -> Result<()> {
    Ok(suishoupai_core::store::schema::run_migrations(conn, MIGRATIONS, target)?)
}

impl SqliteStorage {
    /// Opens (creating or upgrading) the database in `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
        let path = dir.join(DATABASE_FILE);
        let mut writer = open_connection(&path)?;
        migrate_to(&mut writer, LATEST_VERSION)?;
        Ok(SqliteStorage { path, writer: Mutex::new(writer), readers: Mutex::new(Vec::new()) })
    }

    /// Runs `f` in one IMMEDIATE transaction, committed if `f` succeeds.
    fn write<T>(&self, f: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
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
fn load_report(tx: &Transaction, row: ReportRow) -> Result<StoredReport> {
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

fn report_in_scope(tx: &Transaction, scope: &Scope, id: &str) -> Result<Option<StoredReport>> {
    let (condition, mut values) = scope_sql(scope);
    values.insert(0, Value::Text(id.to_owned()));
    let row = tx
        .prepare_cached(&format!("{REPORT_SELECT} WHERE r.id = ? AND {condition}"))?
        .query_row(params_from_iter(values), report_row)
        .optional()?;
    row.map(|row| load_report(tx, row)).transpose()
}

fn photo_meta(tx: &Transaction, sha256: &str) -> Result<Option<PhotoMeta>> {
    Ok(tx
        .prepare_cached("SELECT bytes, width, height, thumbnail_bytes FROM photos WHERE sha256 = ?1")?
        .query_row([sha256], |r| {
            Ok(PhotoMeta {
                sha256: sha256.to_owned(),
                bytes: r.get::<_, i64>(0)? as u64,
                width: r.get(1)?,
                height: r.get(2)?,
                thumbnail_bytes: r.get::<_, i64>(3)? as u64,
            })
        })
        .optional()?)
}

fn accepted(id: &str, status: ReportStatus) -> PushResult {
    PushResult { id: id.to_owned(), outcome: PushOutcome::Accepted, missing: Vec::new(), error: None, status: Some(status) }
}

fn refused(id: &str, outcome: PushOutcome, error: String) -> PushResult {
    PushResult { id: id.to_owned(), outcome, missing: Vec::new(), error: Some(error), status: None }
}

/// One report of a push, inside the batch's transaction.
fn push_one(tx: &Transaction, owner: &User, candidate: &Candidate, received_at: &str) -> Result<PushResult> {
    let id = candidate.id.as_str();
    // An id already taken decides first: a retried push must get the answer
    // it got the first time, even if the rules changed since.
    let existing = tx
        .prepare_cached("SELECT owner_id, content_sha256, status FROM reports WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))
        .optional()?;
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
        match photo_meta(tx, &photo.sha256)? {
            None => {
                if !missing.contains(&photo.sha256) {
                    missing.push(photo.sha256.clone());
                }
            }
            Some(meta) if (meta.bytes, meta.width, meta.height) != (photo.bytes, photo.width, photo.height) => {
                return Ok(refused(
                    id,
                    PushOutcome::Invalid,
                    format!(
                        "photos[{index}] says {}x{} px and {} bytes, but the uploaded photo is {}x{} px and {} bytes",
                        photo.width, photo.height, photo.bytes, meta.width, meta.height, meta.bytes
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
    tx.prepare_cached(
        "INSERT INTO reports (id, owner_id, content_sha256, body, category, created_at, created_ms, grid_id, status, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'submitted', ?9)",
    )?
    .execute(params![
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
        tx.prepare_cached("INSERT INTO report_photos (report_id, position, sha256) VALUES (?1, ?2, ?3)")?.execute(params![
            id,
            position as i64,
            photo.sha256
        ])?;
    }
    insert_event(tx, id, ReportStatus::Submitted, None, None, owner.id, received_at)?;
    Ok(accepted(id, ReportStatus::Submitted))
}

fn insert_event(
    tx: &Transaction,
    report_id: &str,
    status: ReportStatus,
    note: Option<&str>,
    department: Option<&str>,
    actor_id: i64,
    at: &str,
) -> Result<()> {
    tx.prepare_cached("INSERT INTO events (report_id, status, note, department, actor_id, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?
        .execute(params![report_id, status.code(), note, department, actor_id, at])?;
    Ok(())
}

impl Storage for SqliteStorage {
    fn add_user(&self, user: &NewUser, token_sha256: &str) -> Result<User> {
        self.write(|tx| {
            let taken = tx.query_row("SELECT count(*) FROM users WHERE name = ?1", [&user.name], |r| r.get::<_, i64>(0))?;
            if taken > 0 {
                return Err(Error::DuplicateUser(user.name.clone()));
            }
            tx.execute(
                "INSERT INTO users (name, role, grid_id, department, token_sha256, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![user.name, user.role.code(), user.grid_id, user.department, token_sha256, now()],
            )?;
            Ok(User {
                id: tx.last_insert_rowid(),
                name: user.name.clone(),
                role: user.role,
                grid_id: user.grid_id.clone(),
                department: user.department.clone(),
            })
        })
    }

    fn list_users(&self) -> Result<Vec<User>> {
        self.read(|tx| {
            tx.prepare("SELECT id, name, role, grid_id, department FROM users ORDER BY name")?
                .query_map([], user_from_row)?
                .map(|row| make_user(row?))
                .collect()
        })
    }

    fn user_by_token_hash(&self, token_sha256: &str) -> Result<Option<User>> {
        self.read(|tx| {
            tx.prepare_cached("SELECT id, name, role, grid_id, department FROM users WHERE token_sha256 = ?1")?
                .query_row([token_sha256], user_from_row)
                .optional()?
                .map(make_user)
                .transpose()
        })
    }

    fn photo(&self, sha256: &str) -> Result<Option<PhotoMeta>> {
        self.read(|tx| photo_meta(tx, sha256))
    }

    fn upload(&self, sha256: &str) -> Result<Option<UploadRow>> {
        self.read(|tx| {
            Ok(tx
                .prepare_cached("SELECT length, offset FROM uploads WHERE sha256 = ?1")?
                .query_row([sha256], |r| Ok(UploadRow { length: r.get::<_, i64>(0)? as u64, offset: r.get::<_, i64>(1)? as u64 }))
                .optional()?)
        })
    }

    fn start_upload(&self, sha256: &str, length: u64, user_id: i64) -> Result<UploadState> {
        self.write(|tx| {
            let state = |offset: u64, length: u64, complete: bool| UploadState { sha256: sha256.to_owned(), offset, length, complete };
            if let Some(photo) = photo_meta(tx, sha256)? {
                return Ok(state(photo.bytes, photo.bytes, true));
            }
            let under_way = tx
                .query_row("SELECT length, offset FROM uploads WHERE sha256 = ?1", [sha256], |r| {
                    Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64))
                })
                .optional()?;
            match under_way {
                Some((known, offset)) if known == length => Ok(state(offset, length, false)),
                _ => {
                    tx.execute(
                        "INSERT INTO uploads (sha256, length, offset, started_by, started_at) VALUES (?1, ?2, 0, ?3, ?4)
                         ON CONFLICT (sha256) DO UPDATE SET length = excluded.length, offset = 0,
                             started_by = excluded.started_by, started_at = excluded.started_at",
                        params![sha256, length as i64, user_id, now()],
                    )?;
                    Ok(state(0, length, false))
                }
            }
        })
    }

    fn advance_upload(&self, sha256: &str, from: u64, to: u64) -> Result<()> {
        self.write(|tx| {
            let offset = tx
                .query_row("SELECT offset FROM uploads WHERE sha256 = ?1", [sha256], |r| r.get::<_, i64>(0))
                .optional()?
                .ok_or_else(|| Error::NotFound(format!("no upload {sha256}")))? as u64;
            if offset != from {
                return Err(Error::OffsetMismatch { expected: offset, got: from });
            }
            tx.execute("UPDATE uploads SET offset = ?2 WHERE sha256 = ?1", params![sha256, to as i64])?;
            Ok(())
        })
    }

    fn finish_upload(&self, photo: &PhotoMeta) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT OR IGNORE INTO photos (sha256, bytes, width, height, thumbnail_bytes, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![photo.sha256, photo.bytes as i64, photo.width, photo.height, photo.thumbnail_bytes as i64, now()],
            )?;
            tx.execute("DELETE FROM uploads WHERE sha256 = ?1", [&photo.sha256])?;
            Ok(())
        })
    }

    fn drop_upload(&self, sha256: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM uploads WHERE sha256 = ?1", [sha256])?;
            Ok(())
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

    fn push_reports(&self, owner: &User, batch: &[Candidate]) -> Result<Vec<PushResult>> {
        let received_at = now();
        // One transaction, hence one fsync, for the whole batch.
        self.write(|tx| batch.iter().map(|candidate| push_one(tx, owner, candidate, &received_at)).collect())
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

    use suishoupai_core::store::schema::describe;

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
