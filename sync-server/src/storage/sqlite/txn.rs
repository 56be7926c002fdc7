//! The SQL of every storage question and change, on one connection inside
//! the transaction (or savepoint) the backend opened for it.

use std::cell::RefCell;

use rusqlite::types::Value;
use rusqlite::{CachedStatement, Connection, OptionalExtension, Row, params, params_from_iter};
use suishoupai_core::ReportStatus;
use suishoupai_core::protocol::{Change, WireReport};

use crate::model::{Role, Scope, User};
use crate::storage::{
    ChangeBatch, ExistingReport, HistoryEntry, NewEvent, NewReportRow, NewUser, OpenUploads, PhotoMeta, ReadTxn, ReportFilter, ReportKey,
    ReportPage, StorageError, StorageResult, StoredReport, TokenOwner, UploadKey, UploadRow, UserListing, WriteTxn,
};

/// The statements a push runs for every report, kept prepared for the
/// whole transaction: a batch of 100 reports would otherwise look each of
/// them up in the statement cache hundreds of times over.
#[derive(Clone, Copy)]
enum Hot {
    ExistingReport,
    HeldPhoto,
    InsertReport,
    InsertReportPhoto,
    InsertEvent,
    UpdateStatus,
}

const HOT_SQL: [&str; 6] = [
    "SELECT owner_id, content_sha256, status FROM reports WHERE id = ?1",
    "SELECT p.sha256, p.bytes, p.width, p.height FROM photos p
     JOIN photo_holders h ON h.sha256 = p.sha256 AND h.user_id = ?2 WHERE p.sha256 = ?1",
    "INSERT INTO reports (id, owner_id, content_sha256, body, category, created_at, created_ms, grid_id, status, received_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'submitted', ?9)",
    "INSERT INTO report_photos (report_id, position, sha256) VALUES (?1, ?2, ?3)",
    "INSERT INTO events (report_id, status, note, department, actor_id, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    "UPDATE reports SET status = ?2, department = coalesce(?3, department) WHERE id = ?1",
];

/// One transaction's view of the database.
pub(super) struct SqliteTxn<'c> {
    conn: &'c Connection,
    hot: RefCell<[Option<CachedStatement<'c>>; 6]>,
}

impl<'c> SqliteTxn<'c> {
    pub(super) fn new(conn: &'c Connection) -> SqliteTxn<'c> {
        SqliteTxn { conn, hot: RefCell::new(Default::default()) }
    }

    /// Runs `f` on a hot statement, preparing it on first use.
    fn hot<T>(&self, which: Hot, f: impl FnOnce(&mut CachedStatement<'c>) -> rusqlite::Result<T>) -> StorageResult<T> {
        let mut hot = self.hot.borrow_mut();
        let slot = &mut hot[which as usize];
        if slot.is_none() {
            *slot = Some(self.conn.prepare_cached(HOT_SQL[which as usize])?);
        }
        Ok(f(slot.as_mut().expect("just prepared"))?)
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

/// id, name, role, grid_id, department.
type UserRow = (i64, String, String, Option<String>, Option<String>);

const USER_COLUMNS: &str = "u.id, u.name, u.role, u.grid_id, u.department";

fn user_row(row: &Row) -> rusqlite::Result<UserRow> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?))
}

fn make_user((id, name, role, grid_id, department): UserRow) -> StorageResult<User> {
    let role = Role::from_code(&role).ok_or_else(|| StorageError::corrupt("role", &role))?;
    Ok(User { id, name, role, grid_id, department })
}

fn parse_status(code: &str) -> StorageResult<ReportStatus> {
    ReportStatus::from_code(code).map_err(|e| StorageError::corrupt("status", e))
}

fn photo_meta_row(r: &Row) -> rusqlite::Result<PhotoMeta> {
    Ok(PhotoMeta { sha256: r.get(0)?, bytes: r.get::<_, i64>(1)? as u64, width: r.get(2)?, height: r.get(3)? })
}

fn upload_key_row(r: &Row) -> rusqlite::Result<UploadKey> {
    Ok(UploadKey { user_id: r.get(0)?, sha256: r.get(1)? })
}

const REPORT_SELECT: &str = "SELECT r.id, r.body, r.status, u.name, r.grid_id, r.department, r.received_at, r.created_ms
                             FROM reports r JOIN users u ON u.id = r.owner_id";

type ReportRow = (String, String, String, String, Option<String>, Option<String>, String, i64);

fn report_row(row: &Row) -> rusqlite::Result<ReportRow> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?, row.get(6)?, row.get(7)?))
}

impl SqliteTxn<'_> {
    /// Turns a report row into a [`StoredReport`] with its history.
    fn load_report(&self, row: ReportRow) -> StorageResult<StoredReport> {
        let (id, body, status, owner, grid_id, department, received_at, created_ms) = row;
        let wire: WireReport = serde_json::from_str(&body).map_err(|e| StorageError::corrupt(format!("report {id}"), e))?;
        let history = self
            .conn
            .prepare_cached(
                "SELECT e.status, e.note, u.name, e.at FROM events e JOIN users u ON u.id = e.actor_id
                 WHERE e.report_id = ?1 ORDER BY e.seq",
            )?
            .query_map([&id], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .map(|row| {
                let (status, note, actor, at) = row?;
                Ok(HistoryEntry { status: parse_status(&status)?, note, actor, at })
            })
            .collect::<StorageResult<Vec<_>>>()?;
        Ok(StoredReport { wire, status: parse_status(&status)?, owner, grid_id, department, received_at, history, created_ms })
    }
}

impl ReadTxn for SqliteTxn<'_> {
    fn token_owner(&self, token_sha256: &str) -> StorageResult<Option<TokenOwner>> {
        self.conn
            .prepare_cached(&format!(
                "SELECT {USER_COLUMNS}, u.disabled_at IS NOT NULL
                 FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.token_sha256 = ?1 AND t.revoked_at IS NULL"
            ))?
            .query_row([token_sha256], |r| Ok((user_row(r)?, r.get::<_, bool>(5)?)))
            .optional()?
            .map(|(user, disabled)| Ok(TokenOwner { user: make_user(user)?, disabled }))
            .transpose()
    }

    fn users(&self) -> StorageResult<Vec<UserListing>> {
        self.conn
            .prepare(&format!(
                "SELECT {USER_COLUMNS}, u.disabled_at IS NOT NULL,
                        (SELECT count(*) FROM tokens t WHERE t.user_id = u.id AND t.revoked_at IS NULL)
                 FROM users u ORDER BY u.name"
            ))?
            .query_map([], |r| Ok((user_row(r)?, r.get::<_, bool>(5)?, r.get::<_, u32>(6)?)))?
            .map(|row| {
                let (user, disabled, active_tokens) = row?;
                Ok(UserListing { user: make_user(user)?, disabled, active_tokens })
            })
            .collect()
    }

    fn user_by_name(&self, name: &str) -> StorageResult<Option<User>> {
        self.conn
            .prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users u WHERE u.name = ?1"))?
            .query_row([name], user_row)
            .optional()?
            .map(make_user)
            .transpose()
    }

    fn auth_version(&self) -> StorageResult<i64> {
        Ok(self.conn.prepare_cached("SELECT value FROM meta WHERE key = 'auth_version'")?.query_row([], |r| r.get(0))?)
    }

    fn held_photo(&self, user_id: i64, sha256: &str) -> StorageResult<Option<PhotoMeta>> {
        self.hot(Hot::HeldPhoto, |s| s.query_row(params![sha256, user_id], photo_meta_row).optional())
    }

    fn upload(&self, key: &UploadKey) -> StorageResult<Option<UploadRow>> {
        Ok(self
            .conn
            .prepare_cached("SELECT length, offset FROM uploads WHERE user_id = ?1 AND sha256 = ?2")?
            .query_row(params![key.user_id, key.sha256], |r| {
                Ok(UploadRow { length: r.get::<_, i64>(0)? as u64, offset: r.get::<_, i64>(1)? as u64 })
            })
            .optional()?)
    }

    fn open_uploads(&self, user_id: i64) -> StorageResult<OpenUploads> {
        Ok(self
            .conn
            .prepare_cached("SELECT count(*), coalesce(sum(length), 0) FROM uploads WHERE user_id = ?1")?
            .query_row([user_id], |r| {
                Ok(OpenUploads { count: r.get::<_, i64>(0)? as usize, declared_bytes: r.get::<_, i64>(1)? as u64 })
            })?)
    }

    fn upload_keys(&self) -> StorageResult<Vec<UploadKey>> {
        Ok(self.conn.prepare("SELECT user_id, sha256 FROM uploads")?.query_map([], upload_key_row)?.collect::<rusqlite::Result<_>>()?)
    }

    fn photo_visible(&self, scope: &Scope, sha256: &str) -> StorageResult<bool> {
        let (condition, mut values) = scope_sql(scope);
        values.insert(0, Value::Text(sha256.to_owned()));
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT EXISTS (SELECT 1 FROM report_photos p JOIN reports r ON r.id = p.report_id WHERE p.sha256 = ? AND {condition})"
            ))?
            .query_row(params_from_iter(values), |r| r.get(0))?)
    }

    fn thumbnail_error(&self, sha256: &str) -> StorageResult<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT thumbnail_error FROM photos WHERE sha256 = ?1")?
            .query_row([sha256], |r| r.get(0))
            .optional()?
            .flatten())
    }

    fn existing_report(&self, id: &str) -> StorageResult<Option<ExistingReport>> {
        let row = self.hot(Hot::ExistingReport, |s| {
            s.query_row([id], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))).optional()
        })?;
        row.map(|(owner_id, content_sha256, status)| Ok(ExistingReport { owner_id, content_sha256, status: parse_status(&status)? }))
            .transpose()
    }

    fn report(&self, scope: &Scope, id: &str) -> StorageResult<Option<StoredReport>> {
        let (condition, mut values) = scope_sql(scope);
        values.insert(0, Value::Text(id.to_owned()));
        let row = self
            .conn
            .prepare_cached(&format!("{REPORT_SELECT} WHERE r.id = ? AND {condition}"))?
            .query_row(params_from_iter(values), report_row)
            .optional()?;
        row.map(|row| self.load_report(row)).transpose()
    }

    fn reports(&self, scope: &Scope, filter: &ReportFilter) -> StorageResult<ReportPage> {
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
        let rows = self.conn.prepare(&sql)?.query_map(params_from_iter(values), report_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        let has_more = rows.len() > filter.limit;
        let reports = rows.into_iter().take(filter.limit).map(|row| self.load_report(row)).collect::<StorageResult<Vec<_>>>()?;
        let next = if has_more { reports.last().map(|r| ReportKey { created_ms: r.created_ms, id: r.wire.id.clone() }) } else { None };
        Ok(ReportPage { reports, next })
    }

    fn changes(&self, scope: &Scope, after: Option<i64>, limit: usize) -> StorageResult<ChangeBatch> {
        let (condition, mut values) = scope_sql(scope);
        values.insert(0, Value::Integer(after.unwrap_or(0)));
        values.push(Value::Integer(limit as i64 + 1));
        let mut rows = self
            .conn
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
            .collect::<StorageResult<_>>()?;
        Ok(ChangeBatch { changes, last_seq, has_more })
    }
}

impl WriteTxn for SqliteTxn<'_> {
    fn insert_user(&mut self, user: &NewUser, created_at: &str) -> StorageResult<User> {
        let inserted = self.conn.execute(
            "INSERT INTO users (name, role, grid_id, department, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![user.name, user.role.code(), user.grid_id, user.department, created_at],
        );
        match inserted {
            Err(rusqlite::Error::SqliteFailure(e, _)) if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE => {
                return Err(StorageError::Conflict(format!("a user named `{}` already exists", user.name)));
            }
            other => other?,
        };
        Ok(User {
            id: self.conn.last_insert_rowid(),
            name: user.name.clone(),
            role: user.role,
            grid_id: user.grid_id.clone(),
            department: user.department.clone(),
        })
    }

    fn insert_token(&mut self, user_id: i64, token_sha256: &str, device: &str, created_at: &str) -> StorageResult<()> {
        self.conn.execute(
            "INSERT INTO tokens (user_id, token_sha256, device, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![user_id, token_sha256, device, created_at],
        )?;
        Ok(())
    }

    fn revoke_tokens(&mut self, user_id: i64, at: &str) -> StorageResult<()> {
        self.conn.execute("UPDATE tokens SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL", params![user_id, at])?;
        Ok(())
    }

    fn set_disabled(&mut self, user_id: i64, disabled_at: Option<&str>) -> StorageResult<()> {
        self.conn.execute("UPDATE users SET disabled_at = ?2 WHERE id = ?1", params![user_id, disabled_at])?;
        Ok(())
    }

    fn put_upload(&mut self, key: &UploadKey, length: u64, started_at: &str, now_ms: i64) -> StorageResult<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO uploads (user_id, sha256, length, offset, started_at, touched_ms) VALUES (?1, ?2, ?3, 0, ?4, ?5)
                 ON CONFLICT (user_id, sha256) DO UPDATE SET length = excluded.length, offset = 0,
                     started_at = excluded.started_at, touched_ms = excluded.touched_ms",
            )?
            .execute(params![key.user_id, key.sha256, length as i64, started_at, now_ms])?;
        Ok(())
    }

    fn set_upload_offset(&mut self, key: &UploadKey, offset: u64, now_ms: i64) -> StorageResult<()> {
        self.conn
            .prepare_cached("UPDATE uploads SET offset = ?3, touched_ms = ?4 WHERE user_id = ?1 AND sha256 = ?2")?
            .execute(params![key.user_id, key.sha256, offset as i64, now_ms])?;
        Ok(())
    }

    fn delete_upload(&mut self, key: &UploadKey) -> StorageResult<()> {
        self.conn.prepare_cached("DELETE FROM uploads WHERE user_id = ?1 AND sha256 = ?2")?.execute(params![key.user_id, key.sha256])?;
        Ok(())
    }

    fn expire_uploads(&mut self, touched_before_ms: i64) -> StorageResult<Vec<UploadKey>> {
        Ok(self
            .conn
            .prepare("DELETE FROM uploads WHERE touched_ms < ?1 RETURNING user_id, sha256")?
            .query_map([touched_before_ms], upload_key_row)?
            .collect::<rusqlite::Result<_>>()?)
    }

    fn add_photo(&mut self, photo: &PhotoMeta, received_at: &str) -> StorageResult<()> {
        self.conn
            .prepare_cached("INSERT OR IGNORE INTO photos (sha256, bytes, width, height, received_at) VALUES (?1, ?2, ?3, ?4, ?5)")?
            .execute(params![photo.sha256, photo.bytes as i64, photo.width, photo.height, received_at])?;
        Ok(())
    }

    fn add_holder(&mut self, sha256: &str, user_id: i64) -> StorageResult<()> {
        self.conn
            .prepare_cached("INSERT OR IGNORE INTO photo_holders (sha256, user_id) VALUES (?1, ?2)")?
            .execute(params![sha256, user_id])?;
        Ok(())
    }

    fn set_thumbnail_error(&mut self, sha256: &str, reason: &str) -> StorageResult<()> {
        self.conn.execute("UPDATE photos SET thumbnail_error = ?2 WHERE sha256 = ?1", params![sha256, reason])?;
        Ok(())
    }

    fn insert_report(&mut self, report: &NewReportRow) -> StorageResult<()> {
        self.hot(Hot::InsertReport, |s| {
            s.execute(params![
                report.id,
                report.owner_id,
                report.content_sha256,
                report.body,
                report.category,
                report.created_at,
                report.created_ms,
                report.grid_id,
                report.received_at
            ])
        })?;
        for (position, sha256) in report.photos.iter().enumerate() {
            self.hot(Hot::InsertReportPhoto, |s| s.execute(params![report.id, position as i64, sha256]))?;
        }
        Ok(())
    }

    fn append_event(&mut self, event: &NewEvent) -> StorageResult<()> {
        let status = event.status.code();
        self.hot(Hot::InsertEvent, |s| {
            s.execute(params![event.report_id, status, event.note, event.department, event.actor_id, event.at])
        })?;
        // A new report is inserted `submitted`: its first event changes nothing.
        if event.status != ReportStatus::Submitted {
            self.hot(Hot::UpdateStatus, |s| s.execute(params![event.report_id, status, event.department]))?;
        }
        Ok(())
    }
}
