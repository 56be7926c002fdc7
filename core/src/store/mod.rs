//! The device's local store: SQLite for rows, content-addressed files for
//! photos. This module knows SQL and files; it knows nothing of EXIF, HTTP or
//! FFI. Its callers are the facade in `lib.rs` and the sync client (which
//! works through the outbox); the bindings and the CLI go through the facade.

pub mod blobs;
pub mod keys;
pub mod recover;
pub mod schema;
pub mod seal;
pub mod tasks;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, Transaction, TransactionBehavior, params};

use crate::domain::page::ReportCursor;
use crate::domain::{Location, LocationSource, PhotoRef, Report, ReportId, ReportStatus, Reporter, ReporterRole, SyncState};
use crate::error::{Error, Result};
use crate::store::keys::StoreKey;

pub const DATABASE_FILE: &str = "store.sqlite3";

/// One writer and one reader connection. WAL lets the reader see committed
/// data while a write is under way; the mutexes make the store safe to share
/// between threads, and SQLite's locks between processes.
#[derive(Debug)]
pub struct Database {
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
}

pub(crate) fn open_connection(path: &Path, flags: OpenFlags, key: Option<&StoreKey>) -> Result<Connection> {
    let conn = Connection::open_with_flags(path, flags)?;
    if let Some(key) = key {
        unlock(&conn, key)?;
    }
    crate::support::pragmas::plan_once(&conn)?;
    // Another process (the CLI beside the app) may hold the write lock briefly.
    conn.busy_timeout(Duration::from_secs(10))?;
    // FULL: a report the user saw saved survives a power cut, not only a crash.
    crate::support::pragmas::apply(&conn, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
        .map_err(damage)?;
    Ok(conn)
}

/// Gives SQLCipher the database's key, first thing on the connection. A
/// SQLite without SQLCipher ignores `PRAGMA key` and would write the
/// database in the clear: it is asked for its cipher first.
fn unlock(conn: &Connection, key: &StoreKey) -> Result<()> {
    let cipher: Option<String> = conn.query_row("PRAGMA cipher_version", [], |r| r.get(0)).optional()?;
    if cipher.is_none() {
        return Err(Error::EncryptionUnavailable);
    }
    let pragma = zeroize::Zeroizing::new(format!("PRAGMA key = {};", key.database_pragma().as_str()));
    conn.execute_batch(&pragma)?;
    Ok(())
}

/// A database that SQLite finds damaged (or that another key encrypted,
/// which the key check rules out first) as the typed error.
fn damage(e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt) => {
            Error::StoreDamaged(format!("{DATABASE_FILE} cannot be read ({e}); see Store::recover"))
        }
        _ => Error::Database(e),
    }
}

impl Database {
    /// Opens (creating or upgrading) the database in `dir`; with SQLCipher
    /// and `key` for an encrypted store.
    pub fn open(dir: &Path, key: Option<&StoreKey>) -> Result<Self> {
        let path = dir.join(DATABASE_FILE);
        let mut writer = open_connection(&path, OpenFlags::default(), key)?;
        schema::migrate_to(&mut writer, schema::LATEST_VERSION).map_err(|e| match e {
            Error::Database(e) => damage(e),
            e => e,
        })?;
        let reader = open_connection(&path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX, key)?;
        Ok(Database { writer: Mutex::new(writer), reader: Mutex::new(reader) })
    }

    fn lock(conn: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a transaction open
        // (rusqlite rolls back on drop), so the connection is still sound.
        conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` in one IMMEDIATE transaction, committed if `f` succeeds.
    pub fn write<T>(&self, f: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        let mut conn = Self::lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    /// Runs `f` in one read transaction, so that it sees a single snapshot.
    pub fn read<T>(&self, f: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        let mut conn = Self::lock(&self.reader);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        f(&tx)
    }
}

/// A report row as it goes in: the report and its already-stored photos.
/// `thumbnail_bytes` gives the size of each photo's thumbnail file, the
/// report's photos first, then its after-photos.
pub fn insert_report(tx: &Transaction, report: &Report, thumbnail_bytes: &[u64]) -> Result<()> {
    let location = report.location.as_ref();
    tx.prepare_cached(
        "INSERT INTO reports (id, category, note, latitude, longitude, location_source, accuracy_m,
                              reporter_role, grid_id, taken_at, created_at, status, sync_state, sync_error, fixed_on_spot)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?
    .execute(params![
        report.id.to_string(),
        report.category,
        report.note,
        location.map(|l| l.latitude),
        location.map(|l| l.longitude),
        location.map(|l| l.source.code()),
        location.and_then(|l| l.accuracy_m),
        report.reporter.role.code(),
        report.reporter.grid_id,
        report.taken_at,
        report.created_at,
        report.status.code(),
        report.sync_state.code(),
        report.sync_error,
        report.fixed_on_spot,
    ])?;
    let (before, after) = thumbnail_bytes.split_at(report.photos.len().min(thumbnail_bytes.len()));
    for (position, (photo, thumb)) in report.photos.iter().zip(before).enumerate() {
        insert_photo(tx, photo, *thumb)?;
        tx.prepare_cached("INSERT INTO report_photos (report_id, position, sha256) VALUES (?1, ?2, ?3)")?.execute(params![
            report.id.to_string(),
            position as i64,
            photo.sha256
        ])?;
    }
    for (position, (photo, thumb)) in report.after_photos.iter().zip(after).enumerate() {
        insert_photo(tx, photo, *thumb)?;
        tx.prepare_cached("INSERT INTO report_after_photos (report_id, position, sha256) VALUES (?1, ?2, ?3)")?.execute(params![
            report.id.to_string(),
            position as i64,
            photo.sha256
        ])?;
    }
    tx.prepare_cached("INSERT INTO outbox (report_id) VALUES (?1)")?.execute(params![report.id.to_string()])?;
    Ok(())
}

/// A photo row for a rendition (and thumbnail) already on disk; a photo
/// stored before (the same pixels in another report or action) stays as is.
pub fn insert_photo(tx: &Transaction, photo: &PhotoRef, thumbnail_bytes: u64) -> Result<()> {
    tx.prepare_cached("INSERT OR IGNORE INTO photos (sha256, width, height, bytes, thumbnail_bytes) VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(params![photo.sha256, photo.width, photo.height, photo.bytes as i64, thumbnail_bytes as i64])?;
    Ok(())
}

const REPORT_COLUMNS: &str = "id, category, note, latitude, longitude, location_source, accuracy_m, reporter_role, grid_id,
                              taken_at, created_at, status, sync_state, sync_error, fixed_on_spot";

fn report_from_row(row: &Row) -> rusqlite::Result<Report> {
    // Values were checked on the way in; a bad one here means the file was
    // edited behind our back, which we report rather than guess around.
    let decode = |index: usize, e: Error| rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, Box::new(e));
    let id: String = row.get(0)?;
    let latitude: Option<f64> = row.get(3)?;
    let longitude: Option<f64> = row.get(4)?;
    let source: Option<String> = row.get(5)?;
    let location = match (latitude, longitude, source) {
        (Some(latitude), Some(longitude), Some(source)) => Some(Location {
            latitude,
            longitude,
            source: LocationSource::from_code(&source).map_err(|e| decode(5, e))?,
            accuracy_m: row.get(6)?,
        }),
        _ => None,
    };
    Ok(Report {
        id: ReportId::parse(&id).map_err(|e| decode(0, e))?,
        category: row.get(1)?,
        note: row.get(2)?,
        location,
        photos: Vec::new(),
        reporter: Reporter { role: ReporterRole::from_code(&row.get::<_, String>(7)?).map_err(|e| decode(7, e))?, grid_id: row.get(8)? },
        taken_at: row.get(9)?,
        created_at: row.get(10)?,
        status: ReportStatus::from_code(&row.get::<_, String>(11)?).map_err(|e| decode(11, e))?,
        sync_state: SyncState::from_code(&row.get::<_, String>(12)?).map_err(|e| decode(12, e))?,
        sync_error: row.get(13)?,
        fixed_on_spot: row.get(14)?,
        after_photos: Vec::new(),
    })
}

pub(crate) fn photo_from_row(row: &Row) -> rusqlite::Result<PhotoRef> {
    Ok(PhotoRef { sha256: row.get(0)?, width: row.get(1)?, height: row.get(2)?, bytes: row.get::<_, i64>(3)? as u64 })
}

/// The after-photos of a report fixed on the spot, in order.
fn after_photos(tx: &Transaction, id: &str) -> Result<Vec<PhotoRef>> {
    Ok(tx
        .prepare_cached(
            "SELECT p.sha256, p.width, p.height, p.bytes FROM report_after_photos ra JOIN photos p USING (sha256)
             WHERE ra.report_id = ?1 ORDER BY ra.position",
        )?
        .query_map([id], photo_from_row)?
        .collect::<rusqlite::Result<_>>()?)
}

pub fn get_report(tx: &Transaction, id: &ReportId) -> Result<Option<Report>> {
    let report = tx
        .prepare_cached(&format!("SELECT {REPORT_COLUMNS} FROM reports WHERE id = ?1"))?
        .query_row([id.to_string()], report_from_row)
        .optional()?;
    let Some(mut report) = report else { return Ok(None) };
    fill_photos(tx, &mut report)?;
    Ok(Some(report))
}

/// A report row's photos and after-photos, in order.
fn fill_photos(tx: &Transaction, report: &mut Report) -> Result<()> {
    let id = report.id.to_string();
    report.photos = tx
        .prepare_cached(
            "SELECT p.sha256, p.width, p.height, p.bytes FROM report_photos rp JOIN photos p USING (sha256)
             WHERE rp.report_id = ?1 ORDER BY rp.position",
        )?
        .query_map([&id], photo_from_row)?
        .collect::<rusqlite::Result<_>>()?;
    if report.fixed_on_spot {
        report.after_photos = after_photos(tx, &id)?;
    }
    Ok(())
}

/// Up to `count` reports with their photos, newest first, starting after
/// `after`: a keyset walk of the `reports_newest_first` index, so a page
/// costs the same at the end of the list as at its start.
pub fn report_page(tx: &Transaction, after: Option<&ReportCursor>, count: u32) -> Result<Vec<Report>> {
    let sql = report_page_sql(after.is_some());
    let mut reports: Vec<Report> = match after {
        None => tx.prepare_cached(&sql)?.query_map([count], report_from_row)?.collect::<rusqlite::Result<_>>()?,
        Some(after) => tx
            .prepare_cached(&sql)?
            .query_map(params![after.created_at, after.id.to_string(), count], report_from_row)?
            .collect::<rusqlite::Result<_>>()?,
    };
    for report in &mut reports {
        fill_photos(tx, report)?;
    }
    Ok(reports)
}

/// All reports, newest first, with their photos: two queries, not one per report.
pub fn list_reports(tx: &Transaction) -> Result<Vec<Report>> {
    let mut photos: HashMap<String, Vec<PhotoRef>> = HashMap::new();
    let mut stmt = tx.prepare_cached(
        "SELECT p.sha256, p.width, p.height, p.bytes, rp.report_id FROM report_photos rp JOIN photos p USING (sha256)
         ORDER BY rp.report_id, rp.position",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        photos.entry(row.get(4)?).or_default().push(photo_from_row(row)?);
    }
    let mut reports: Vec<Report> = tx
        .prepare_cached(&format!("SELECT {REPORT_COLUMNS} FROM reports ORDER BY created_at DESC, id DESC"))?
        .query_map([], report_from_row)?
        .collect::<rusqlite::Result<_>>()?;
    for report in &mut reports {
        report.photos = photos.remove(&report.id.to_string()).unwrap_or_default();
        // Few reports are fixed on the spot: one query each is cheap.
        if report.fixed_on_spot {
            report.after_photos = after_photos(tx, &report.id.to_string())?;
        }
    }
    Ok(reports)
}

/// The query of a page: the first (`LIMIT ?1`), or one after a cursor
/// (`?1`, `?2`: its creation time and id; `LIMIT ?3`).
fn report_page_sql(after_cursor: bool) -> String {
    let after = if after_cursor { "WHERE (created_at, id) < (?1, ?2)" } else { "" };
    let limit = if after_cursor { "?3" } else { "?1" };
    format!("SELECT {REPORT_COLUMNS} FROM reports {after} ORDER BY created_at DESC, id DESC LIMIT {limit}")
}

pub fn photo_exists(tx: &Transaction, sha256: &str) -> Result<bool> {
    Ok(tx.prepare_cached("SELECT 1 FROM photos WHERE sha256 = ?1")?.exists([sha256])?)
}

pub fn report_count(tx: &Transaction) -> Result<u64> {
    Ok(tx.query_row("SELECT count(*) FROM reports", [], |r| r.get::<_, i64>(0))? as u64)
}

pub fn outbox_len(tx: &Transaction) -> Result<u64> {
    Ok(tx.query_row("SELECT count(*) FROM outbox", [], |r| r.get::<_, i64>(0))? as u64)
}

/// An outbox entry due for sending, with its report.
#[derive(Debug, Clone)]
pub struct OutboxItem {
    pub report: Report,
    pub attempts: u32,
}

/// Up to `limit` queued reports, oldest first; with `due_before`, only those
/// whose backoff has expired.
pub fn outbox_due(tx: &Transaction, due_before: Option<i64>, limit: usize) -> Result<Vec<OutboxItem>> {
    let rows: Vec<(String, u32)> = tx
        .prepare_cached("SELECT report_id, attempts FROM outbox WHERE failed = 0 AND next_attempt_at <= ?1 ORDER BY seq LIMIT ?2")?
        .query_map(params![due_before.unwrap_or(i64::MAX), limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    rows.into_iter()
        .map(|(id, attempts)| {
            let id = ReportId::parse(&id)?;
            let report = get_report(tx, &id)?.ok_or_else(|| Error::ReportNotFound(id.to_string()))?;
            Ok(OutboxItem { report, attempts })
        })
        .collect()
}

/// Whether a report still waits in the outbox to be sent (not refused).
pub fn is_queued(tx: &Transaction, id: &ReportId) -> Result<bool> {
    Ok(tx.prepare_cached("SELECT 1 FROM outbox WHERE report_id = ?1 AND failed = 0")?.exists([id.to_string()])?)
}

/// The server has the report: it leaves the outbox.
pub fn mark_synced(tx: &Transaction, id: &ReportId, status: Option<ReportStatus>) -> Result<()> {
    tx.prepare_cached("DELETE FROM outbox WHERE report_id = ?1")?.execute([id.to_string()])?;
    tx.prepare_cached("UPDATE reports SET sync_state = 'synced', sync_error = NULL, status = coalesce(?2, status) WHERE id = ?1")?
        .execute(params![id.to_string(), status.map(ReportStatus::code)])?;
    Ok(())
}

/// The server refused the report for good: it stays queued but is skipped,
/// with the reason for the user.
pub fn mark_failed(tx: &Transaction, id: &ReportId, reason: &str) -> Result<()> {
    tx.prepare_cached("UPDATE outbox SET failed = 1, last_error = ?2 WHERE report_id = ?1")?.execute(params![id.to_string(), reason])?;
    tx.prepare_cached("UPDATE reports SET sync_state = 'failed', sync_error = ?2 WHERE id = ?1")?
        .execute(params![id.to_string(), reason])?;
    Ok(())
}

/// A retryable failure: try again after `next_attempt_at` (unix ms).
pub fn mark_retry(tx: &Transaction, id: &ReportId, reason: &str, next_attempt_at: i64) -> Result<()> {
    tx.prepare_cached("UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3 WHERE report_id = ?1")?
        .execute(params![id.to_string(), next_attempt_at, reason])?;
    tx.prepare_cached("UPDATE reports SET sync_error = ?2 WHERE id = ?1")?.execute(params![id.to_string(), reason])?;
    Ok(())
}

/// Puts failed reports back in the queue, for when the user asks to retry.
pub fn retry_failed(tx: &Transaction) -> Result<usize> {
    tx.execute(
        "UPDATE reports SET sync_state = 'pending', sync_error = NULL WHERE id IN (SELECT report_id FROM outbox WHERE failed = 1)",
        [],
    )?;
    Ok(tx.execute("UPDATE outbox SET failed = 0, attempts = 0, next_attempt_at = 0, last_error = NULL WHERE failed = 1", [])?)
}

/// What is still queued: (waiting to be sent, refused for good).
pub fn outbox_counts(tx: &Transaction) -> Result<(u64, u64)> {
    Ok(tx.query_row("SELECT count(*) FILTER (WHERE failed = 0), count(*) FILTER (WHERE failed = 1) FROM outbox", [], |r| {
        Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64))
    })?)
}

/// The last error of a queued report that is waiting to be retried.
pub fn last_retry_error(tx: &Transaction) -> Result<Option<String>> {
    Ok(tx
        .query_row("SELECT last_error FROM outbox WHERE failed = 0 AND last_error IS NOT NULL ORDER BY seq LIMIT 1", [], |r| r.get(0))
        .optional()?)
}

pub fn photo_uploaded(tx: &Transaction, sha256: &str) -> Result<bool> {
    Ok(tx.prepare_cached("SELECT 1 FROM uploaded_photos WHERE sha256 = ?1")?.exists([sha256])?)
}

pub fn set_photo_uploaded(tx: &Transaction, sha256: &str, uploaded: bool) -> Result<()> {
    let sql = if uploaded {
        "INSERT OR IGNORE INTO uploaded_photos (sha256) VALUES (?1)"
    } else {
        "DELETE FROM uploaded_photos WHERE sha256 = ?1"
    };
    tx.prepare_cached(sql)?.execute([sha256])?;
    Ok(())
}

pub fn setting(tx: &Transaction, key: &str) -> Result<Option<String>> {
    Ok(tx.prepare_cached("SELECT value FROM settings WHERE key = ?1")?.query_row([key], |r| r.get(0)).optional()?)
}

pub fn set_setting(tx: &Transaction, key: &str, value: Option<&str>) -> Result<()> {
    match value {
        Some(v) => tx
            .prepare_cached("INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")?
            .execute([key, v])?,
        None => tx.prepare_cached("DELETE FROM settings WHERE key = ?1")?.execute([key])?,
    };
    Ok(())
}

/// Applies a status the server reports, for a report this device has.
pub fn apply_status(tx: &Transaction, report_id: &str, status: ReportStatus) -> Result<bool> {
    Ok(tx.prepare_cached("UPDATE reports SET status = ?2 WHERE id = ?1")?.execute([report_id, status.code()])? > 0)
}

/// When the earliest queued report or action may be retried (unix ms), if
/// any is queued.
pub fn next_attempt_at(tx: &Transaction) -> Result<Option<i64>> {
    Ok(tx.query_row(
        "SELECT min(t) FROM (SELECT min(next_attempt_at) AS t FROM outbox WHERE failed = 0
                             UNION ALL SELECT min(next_attempt_at) FROM actions WHERE sync_state = 'pending')",
        [],
        |r| r.get(0),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::schema::{LATEST_VERSION, migrate_to};

    #[test]
    fn a_page_is_a_walk_of_the_newest_first_index() {
        // The plan SQLite picks for the page queries: the index in its
        // order, no sort of the whole table (a sort would make the first
        // page cost as much as the whole list).
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_to(&mut conn, LATEST_VERSION).unwrap();
        for after_cursor in [false, true] {
            let sql = report_page_sql(after_cursor);
            let mut explain = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let unbound = vec![rusqlite::types::Null; explain.parameter_count()];
            let plan: Vec<String> = explain
                .query_map(rusqlite::params_from_iter(unbound), |r| r.get::<_, String>(3))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            let plan = plan.join(" | ");
            assert!(plan.contains("reports_newest_first"), "{sql}: {plan}");
            assert!(!plan.contains("TEMP B-TREE"), "{sql}: {plan}");
        }
    }
}
