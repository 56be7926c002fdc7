//! The SQL of every storage question and change, on one connection inside
//! the transaction (or savepoint) the backend opened for it.

use std::borrow::Cow;
use std::cell::RefCell;

use rusqlite::types::Value;
use rusqlite::{CachedStatement, Connection, OptionalExtension, Row, params, params_from_iter};
use suishoupai_core::protocol::{Change, WireReport};
use suishoupai_core::{Action, ReportStatus};

use crate::model::{Role, Scope, User};
use crate::storage::codes::{decode_refusal, encode_refusal, parse_action, parse_role, parse_status};
use crate::storage::{
    CaseHistory, CaseState, ChangeBatch, Credentials, Department, DeviceToken, ExistingReport, GridCell, HistoryEntry, LedgerRecord,
    LocatedReport, Near, NearbyReport, NewEvent, NewRefusal, NewReportRow, NewSession, NewUser, OpenUploads, PhotoMeta, ReadTxn,
    RecordedAction, ReportFilter, ReportKey, ReportPage, Route, Sent, SessionRow, StorageError, StorageResult, StoredReport, TaskOwner,
    TokenOwner, UploadKey, UploadRow, UserListing, WriteTxn,
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
    InsertPlace,
}

const HOT_SQL: [&str; 6] = [
    "SELECT owner_id, content_sha256, status FROM reports WHERE id = ?1",
    "SELECT p.sha256, p.bytes, p.width, p.height, p.phash FROM photos p
     JOIN photo_holders h ON h.sha256 = p.sha256 AND h.user_id = ?2 WHERE p.sha256 = ?1",
    "INSERT INTO reports (id, owner_id, content_sha256, body, category, created_at, created_ms, grid_id, status, received_at,
                          latitude, longitude, changed_ms, received_ms)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'submitted', ?9, ?10, ?11, ?12, ?12)",
    "INSERT INTO report_photos (report_id, position, sha256) VALUES (?1, ?2, ?3)",
    "INSERT INTO events (report_id, status, note, department, actor_id, at, action, action_id, content_sha256, actor_role,
                         public_note, due_at, duplicate_of)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    "INSERT INTO report_places (report_rowid, min_lat, max_lat, min_lon, max_lon) VALUES (?1, ?2, ?2, ?3, ?3)",
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
fn scope_sql(scope: &Scope) -> (Cow<'static, str>, Vec<Value>) {
    match scope {
        Scope::Owner(owner) => ("r.owner_id = ?".into(), vec![Value::Integer(*owner)]),
        Scope::GridOrOwner { grid_id, owner } => {
            ("(r.grid_id = ? OR r.owner_id = ?)".into(), vec![Value::Text(grid_id.clone()), Value::Integer(*owner)])
        }
        // Dispatched to it now, or handled by it before (read-only: acting
        // needs the department of the case now).
        Scope::Department(department) => (
            "(r.department = ? OR EXISTS (SELECT 1 FROM events d WHERE d.report_id = r.id AND d.department = ?))".into(),
            vec![Value::Text(department.clone()), Value::Text(department.clone())],
        ),
        Scope::Statuses(statuses) => status_in(statuses),
        Scope::All => ("1".into(), Vec::new()),
    }
}

/// `r.status IN (...)` with one parameter a status; an empty list matches nothing.
fn status_in(statuses: &[ReportStatus]) -> (Cow<'static, str>, Vec<Value>) {
    if statuses.is_empty() {
        return ("0".into(), Vec::new());
    }
    let marks = vec!["?"; statuses.len()].join(", ");
    (format!("r.status IN ({marks})").into(), statuses.iter().map(|s| Value::Text(s.code().to_owned())).collect())
}

/// `AND column IN (...)` for a non-empty list of texts.
fn text_in(column: &str, texts: &[String], sql: &mut String, values: &mut Vec<Value>) {
    if texts.is_empty() {
        return;
    }
    let marks = vec!["?"; texts.len()].join(", ");
    sql.push_str(&format!(" AND {column} IN ({marks})"));
    values.extend(texts.iter().map(|t| Value::Text(t.clone())));
}

/// id, name, role, grid_id, department.
type UserRow = (i64, String, String, Option<String>, Option<String>);

/// The conditions of `filter` but its status and paging, appended to `sql`.
fn filter_sql(filter: &ReportFilter, sql: &mut String, values: &mut Vec<Value>) {
    let mut text = |condition: &str, value: &Option<String>| {
        if let Some(value) = value {
            sql.push_str(condition);
            values.push(Value::Text(value.clone()));
        }
    };
    text(" AND r.category = ?", &filter.category);
    text(" AND r.grid_id = ?", &filter.grid_id);
    text(" AND r.grid_id IN (SELECT g.grid_id FROM grids g WHERE g.street_office = ?)", &filter.street_office);
    text(" AND r.department = ?", &filter.department);
    let mut integer = |condition: &str, value: Option<i64>| {
        if let Some(value) = value {
            sql.push_str(condition);
            values.push(Value::Integer(value));
        }
    };
    integer(" AND r.created_ms >= ?", filter.since_ms);
    integer(" AND r.created_ms < ?", filter.until_ms);
    integer(" AND r.status IN ('dispatched', 'in_progress') AND r.due_ms < ?", filter.overdue_at_ms);
    text_in("r.category", &filter.categories, sql, values);
    text_in("r.id", &filter.ids, sql, values);
}

const USER_COLUMNS: &str = "u.id, u.name, u.role, u.grid_id, u.department";

fn user_row(row: &Row) -> rusqlite::Result<UserRow> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?))
}

fn make_user((id, name, role, grid_id, department): UserRow) -> StorageResult<User> {
    let role = Role::from_code(&role).ok_or_else(|| StorageError::corrupt("role", &role))?;
    Ok(User { id, name, role, grid_id, department })
}

fn photo_meta_row(r: &Row) -> rusqlite::Result<PhotoMeta> {
    Ok(PhotoMeta { sha256: r.get(0)?, bytes: r.get::<_, i64>(1)? as u64, width: r.get(2)?, height: r.get(3)?, phash: r.get(4)? })
}

fn upload_key_row(r: &Row) -> rusqlite::Result<UploadKey> {
    Ok(UploadKey { user_id: r.get(0)?, sha256: r.get(1)? })
}

const REPORT_SELECT: &str = "SELECT r.id, r.body, r.status, u.name, r.grid_id, r.department, r.received_at, r.created_ms,
                                    r.owner_id, r.due_at, r.due_ms, r.duplicate_of
                             FROM reports r JOIN users u ON u.id = r.owner_id";

/// A report row before its history is loaded.
struct ReportRow {
    id: String,
    body: String,
    status: String,
    owner: String,
    grid_id: Option<String>,
    department: Option<String>,
    received_at: String,
    created_ms: i64,
    owner_id: i64,
    due_at: Option<String>,
    due_ms: Option<i64>,
    duplicate_of: Option<String>,
}

fn report_row(row: &Row) -> rusqlite::Result<ReportRow> {
    Ok(ReportRow {
        id: row.get(0)?,
        body: row.get(1)?,
        status: row.get(2)?,
        owner: row.get(3)?,
        grid_id: row.get(4)?,
        department: row.get(5)?,
        received_at: row.get(6)?,
        created_ms: row.get(7)?,
        owner_id: row.get(8)?,
        due_at: row.get(9)?,
        due_ms: row.get(10)?,
        duplicate_of: row.get(11)?,
    })
}

impl SqliteTxn<'_> {
    /// Turns a report row into a [`StoredReport`] with its history.
    fn load_report(&self, row: ReportRow) -> StorageResult<StoredReport> {
        let wire: WireReport = serde_json::from_str(&row.body).map_err(|e| StorageError::corrupt(format!("report {}", row.id), e))?;
        let mut history = Vec::new();
        let mut stmt = self.conn.prepare_cached(
            "SELECT e.seq, e.action, e.status, e.note, e.public_note, e.department, e.due_at, e.duplicate_of, e.actor_id, u.name,
                    e.actor_role, e.at,
                    (SELECT json_group_array(p.sha256) FROM (SELECT sha256 FROM event_photos WHERE event_seq = e.seq ORDER BY position) p)
             FROM events e JOIN users u ON u.id = e.actor_id WHERE e.report_id = ?1 ORDER BY e.seq",
        )?;
        let mut rows = stmt.query([&row.id])?;
        while let Some(r) = rows.next()? {
            let photos: String = r.get(12)?;
            history.push(HistoryEntry {
                action: parse_action(r.get(1)?)?,
                status: parse_status(&r.get::<_, String>(2)?)?,
                note: r.get(3)?,
                public_note: r.get(4)?,
                department: r.get(5)?,
                due_at: r.get(6)?,
                duplicate_of: r.get(7)?,
                actor_id: r.get(8)?,
                actor: r.get(9)?,
                actor_role: parse_role(&r.get::<_, String>(10)?)?,
                at: r.get(11)?,
                photos: serde_json::from_str(&photos).map_err(|e| StorageError::corrupt("event photos", e))?,
            });
        }
        Ok(StoredReport {
            wire,
            status: parse_status(&row.status)?,
            owner_id: row.owner_id,
            owner: row.owner,
            grid_id: row.grid_id,
            department: row.department,
            due_at: row.due_at,
            due_ms: row.due_ms,
            duplicate_of: row.duplicate_of,
            received_at: row.received_at,
            history,
            created_ms: row.created_ms,
        })
    }
}

/// A photo `p` the sweep may remove, held last before `?1`: shown by no
/// report and no event, and held by nobody since (a photo from before
/// holders had times counts from when it was received).
const SWEEPABLE: &str = "NOT EXISTS (SELECT 1 FROM report_photos rp WHERE rp.sha256 = p.sha256)
     AND NOT EXISTS (SELECT 1 FROM event_photos ep WHERE ep.sha256 = p.sha256)
     AND coalesce((SELECT max(h.held_ms) FROM photo_holders h WHERE h.sha256 = p.sha256),
                  CAST(round((julianday(p.received_at) - 2440587.5) * 86400000) AS INTEGER)) < ?1";

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

    fn ledger_rows(&self, filter: &ReportFilter, after: Option<&ReportKey>, limit: usize) -> StorageResult<Vec<LedgerRecord>> {
        let mut values = Vec::new();
        let mut sql = String::from(
            "SELECT r.id, r.category, r.grid_id, g.street_office, g.community, r.latitude, r.longitude, r.department, d.name, r.status,
                    r.created_ms, r.due_ms,
                    (SELECT min(e.at) FROM events e WHERE e.report_id = r.id AND e.action = 'accept'),
                    (SELECT max(e.at) FROM events e WHERE e.report_id = r.id AND e.action = 'rectify'),
                    CASE WHEN r.status = 'closed' THEN (SELECT max(e.at) FROM events e WHERE e.report_id = r.id AND e.action = 'verify') END,
                    (SELECT count(*) FROM events e WHERE e.report_id = r.id AND e.action = 'reopen'),
                    (SELECT group_concat(sha256, ' ') FROM (
                        SELECT p.sha256 FROM report_photos p WHERE p.report_id = r.id
                        UNION ALL
                        SELECT ep.sha256 FROM events e JOIN event_photos ep ON ep.event_seq = e.seq WHERE e.report_id = r.id))
             FROM reports r LEFT JOIN grids g ON g.grid_id = r.grid_id LEFT JOIN departments d ON d.code = r.department
             WHERE 1",
        );
        if let Some(status) = filter.status {
            sql.push_str(" AND r.status = ?");
            values.push(Value::Text(status.code().to_owned()));
        }
        filter_sql(filter, &mut sql, &mut values);
        if let Some(after) = after {
            sql.push_str(" AND (r.created_ms, r.id) > (?, ?)");
            values.push(Value::Integer(after.created_ms));
            values.push(Value::Text(after.id.clone()));
        }
        sql.push_str(" ORDER BY r.created_ms, r.id LIMIT ?");
        values.push(Value::Integer(limit as i64));
        let mut statement = self.conn.prepare_cached(&sql)?;
        let rows = statement.query_map(params_from_iter(values), |r| {
            Ok((
                LedgerRecord {
                    id: r.get(0)?,
                    category: r.get(1)?,
                    grid_id: r.get(2)?,
                    street_office: r.get(3)?,
                    community: r.get(4)?,
                    latitude: r.get(5)?,
                    longitude: r.get(6)?,
                    department: r.get(7)?,
                    department_name: r.get(8)?,
                    status: ReportStatus::Submitted,
                    created_ms: r.get(10)?,
                    due_ms: r.get(11)?,
                    accepted_at: r.get(12)?,
                    rectified_at: r.get(13)?,
                    closed_at: r.get(14)?,
                    reworks: r.get(15)?,
                    photos: r.get::<_, Option<String>>(16)?.map(|p| p.split(' ').map(str::to_owned).collect()).unwrap_or_default(),
                },
                r.get::<_, String>(9)?,
            ))
        })?;
        rows.map(|row| {
            let (mut record, status) = row?;
            record.status = parse_status(&status)?;
            Ok(record)
        })
        .collect()
    }

    fn report_counts(&self, scope: &Scope, filter: &ReportFilter) -> StorageResult<Vec<(ReportStatus, u64)>> {
        let (condition, mut values) = scope_sql(scope);
        let mut sql = format!("SELECT r.status, count(*) FROM reports r WHERE {condition}");
        filter_sql(filter, &mut sql, &mut values);
        sql.push_str(" GROUP BY r.status");
        self.conn
            .prepare_cached(&sql)?
            .query_map(params_from_iter(values), |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
            .map(|row| {
                let (status, count) = row?;
                Ok((parse_status(&status)?, count as u64))
            })
            .collect()
    }

    fn credentials(&self, name: &str) -> StorageResult<Option<Credentials>> {
        self.conn
            .prepare_cached(&format!("SELECT {USER_COLUMNS}, u.password_hash, u.disabled_at IS NOT NULL FROM users u WHERE u.name = ?1"))?
            .query_row([name], |r| Ok((user_row(r)?, r.get::<_, Option<String>>(5)?, r.get::<_, bool>(6)?)))
            .optional()?
            .map(|(user, password_hash, disabled)| Ok(Credentials { user: make_user(user)?, password_hash, disabled }))
            .transpose()
    }

    fn session(&self, session_sha256: &str, now_ms: i64) -> StorageResult<Option<SessionRow>> {
        self.conn
            .prepare_cached(&format!(
                "SELECT {USER_COLUMNS}, s.csrf, s.expires_ms FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.session_sha256 = ?1 AND s.expires_ms > ?2 AND u.disabled_at IS NULL"
            ))?
            .query_row(params![session_sha256, now_ms], |r| Ok((user_row(r)?, r.get::<_, String>(5)?, r.get::<_, i64>(6)?)))
            .optional()?
            .map(|(user, csrf, expires_ms)| Ok(SessionRow { user: make_user(user)?, csrf, expires_ms }))
            .transpose()
    }

    fn sign_in_failures(&self, subject: &str, since_ms: i64) -> StorageResult<(u32, Option<i64>)> {
        Ok(self
            .conn
            .prepare_cached("SELECT count(*), min(at_ms) FROM sign_in_failures WHERE subject = ?1 AND at_ms >= ?2")?
            .query_row(params![subject, since_ms], |r| Ok((r.get(0)?, r.get(1)?)))?)
    }

    fn devices(&self, user_id: i64) -> StorageResult<Vec<DeviceToken>> {
        self.conn
            .prepare_cached("SELECT device, created_at FROM tokens WHERE user_id = ?1 AND revoked_at IS NULL ORDER BY device, id")?
            .query_map([user_id], |r| Ok(DeviceToken { device: r.get(0)?, created_at: r.get(1)? }))?
            .collect::<rusqlite::Result<_>>()
            .map_err(Into::into)
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

    fn sent_since(&self, user_id: i64, since_ms: i64) -> StorageResult<Sent> {
        let reports: i64 = self
            .conn
            .prepare_cached("SELECT count(*) FROM reports WHERE owner_id = ?1 AND received_ms >= ?2")?
            .query_row(params![user_id, since_ms], |r| r.get(0))?;
        let photo_bytes: i64 = self
            .conn
            .prepare_cached(
                "SELECT coalesce(sum(p.bytes), 0) FROM photo_holders h JOIN photos p ON p.sha256 = h.sha256
                 WHERE h.user_id = ?1 AND h.held_ms >= ?2",
            )?
            .query_row(params![user_id, since_ms], |r| r.get(0))?;
        Ok(Sent { reports: reports as u64, photo_bytes: photo_bytes as u64 })
    }

    fn upload_keys(&self) -> StorageResult<Vec<UploadKey>> {
        Ok(self.conn.prepare("SELECT user_id, sha256 FROM uploads")?.query_map([], upload_key_row)?.collect::<rusqlite::Result<_>>()?)
    }

    fn unreferenced_photos(&self, held_before_ms: i64, limit: usize) -> StorageResult<Vec<String>> {
        let sql = format!("SELECT p.sha256 FROM photos p WHERE {SWEEPABLE} LIMIT ?2");
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_map(params![held_before_ms, limit as i64], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?)
    }

    fn photo_names(&self, after: Option<&str>, limit: usize) -> StorageResult<Vec<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT sha256 FROM photos WHERE sha256 > ?1 ORDER BY sha256 LIMIT ?2")?
            .query_map(params![after.unwrap_or(""), limit as i64], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?)
    }

    fn swept_photos(&self, limit: usize) -> StorageResult<Vec<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT sha256 FROM swept_photos LIMIT ?1")?
            .query_map([limit as i64], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?)
    }

    fn photo_visible(&self, scope: &Scope, sha256: &str) -> StorageResult<bool> {
        // Photos of a report, and after-photos of its events.
        let (condition, mut values) = scope_sql(scope);
        values.extend([Value::Text(sha256.to_owned()), Value::Text(sha256.to_owned())]);
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT EXISTS (SELECT 1 FROM reports r WHERE {condition} AND r.id IN
                    (SELECT report_id FROM report_photos WHERE sha256 = ?
                     UNION SELECT e.report_id FROM event_photos p JOIN events e ON e.seq = p.event_seq WHERE p.sha256 = ?))"
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
        if !filter.statuses.is_empty() {
            let (condition, statuses) = status_in(&filter.statuses);
            sql.push_str(&format!(" AND {condition}"));
            values.extend(statuses);
        }
        filter_sql(filter, &mut sql, &mut values);
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
                "SELECT e.seq, e.report_id, e.status, e.public_note, e.at FROM events e JOIN reports r ON r.id = e.report_id
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

    fn tasks(&self, of: &TaskOwner, limit: usize) -> StorageResult<Vec<StoredReport>> {
        let (condition, key) = match of {
            TaskOwner::Grid(grid) => ("r.grid_id = ?1 AND r.status NOT IN ('rejected', 'duplicate', 'closed')", grid),
            TaskOwner::Department(code) => ("r.department = ?1 AND r.status IN ('dispatched', 'in_progress')", code),
        };
        let rows = self
            .conn
            .prepare_cached(&format!("{REPORT_SELECT} WHERE {condition} ORDER BY r.changed_ms DESC, r.id DESC LIMIT ?2"))?
            .query_map(params![key, limit as i64], report_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(|row| self.load_report(row)).collect()
    }

    fn recorded_action(&self, action_id: &str) -> StorageResult<Option<RecordedAction>> {
        let taken = self
            .conn
            .prepare_cached("SELECT report_id, actor_id, coalesce(content_sha256, '') FROM events WHERE action_id = ?1")?
            .query_row([action_id], |r| {
                Ok(RecordedAction { report_id: r.get(0)?, actor_id: r.get(1)?, content_sha256: r.get(2)?, refusal: None })
            })
            .optional()?;
        if taken.is_some() {
            return Ok(taken);
        }
        let refused = self
            .conn
            .prepare_cached(
                "SELECT report_id, actor_id, content_sha256, error, message, case_status, allowed FROM refused_actions WHERE action_id = ?1",
            )?
            .query_row([action_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, String>(6)?,
                ))
            })
            .optional()?;
        let Some((report_id, actor_id, content_sha256, error, message, case_status, allowed)) = refused else {
            return Ok(None);
        };
        let refusal = decode_refusal(&error, message, case_status, &allowed)?;
        Ok(Some(RecordedAction { report_id, actor_id, content_sha256, refusal: Some(refusal) }))
    }

    fn reports_near(&self, near: &Near, except: &str) -> StorageResult<Vec<NearbyReport>> {
        // The category's window first, places checked in the index
        // (reports_by_category_time), rows read only for the reports in the
        // box. Through the R*Tree box instead, a lookup read every report
        // ever made in the same spot: at a year of 1,000,000 cases over the
        // 60 cells of one town, 16,000 rows for 200 in the window (45 ms
        // against 1 ms), and more every year.
        let mut stmt = self.conn.prepare_cached(
            "SELECT r.id, r.status, r.created_at, r.latitude, r.longitude,
                    (SELECT json_group_array(p.sha256) FROM (SELECT sha256 FROM report_photos WHERE report_id = r.id ORDER BY position) p)
             FROM reports r
             WHERE r.category = ?5 AND r.created_ms BETWEEN ?6 AND ?7
               AND r.latitude BETWEEN ?1 AND ?2 AND r.longitude BETWEEN ?3 AND ?4 AND r.id <> ?8",
        )?;
        let rows = stmt.query_map(
            params![near.min_lat, near.max_lat, near.min_lon, near.max_lon, near.category, near.since_ms, near.until_ms, except],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get::<_, String>(5)?)),
        )?;
        rows.map(|row| {
            let (id, status, created_at, latitude, longitude, photos) = row?;
            Ok(NearbyReport {
                id,
                status: parse_status(&status)?,
                created_at,
                latitude,
                longitude,
                photos: serde_json::from_str(&photos).map_err(|e| StorageError::corrupt("report photos", e))?,
            })
        })
        .collect()
    }

    fn phashes(&self, sha256s: &[String]) -> StorageResult<Vec<(String, String)>> {
        let mut stmt = self.conn.prepare_cached("SELECT phash FROM photos WHERE sha256 = ?1 AND phash IS NOT NULL")?;
        let mut out = Vec::new();
        for sha in sha256s {
            if let Some(phash) = stmt.query_row([sha], |r| r.get::<_, String>(0)).optional()? {
                out.push((sha.clone(), phash));
            }
        }
        Ok(out)
    }

    fn grids_version(&self) -> StorageResult<i64> {
        Ok(self.conn.prepare_cached("SELECT value FROM meta WHERE key = 'grids_version'")?.query_row([], |r| r.get(0))?)
    }

    fn grid_cells(&self) -> StorageResult<Vec<GridCell>> {
        Ok(self
            .conn
            .prepare(
                "SELECT grid_id, name, community, street_office, geometry, min_lat, max_lat, min_lon, max_lon FROM grids ORDER BY grid_id",
            )?
            .query_map([], |r| {
                Ok(GridCell {
                    grid_id: r.get(0)?,
                    name: r.get(1)?,
                    community: r.get(2)?,
                    street_office: r.get(3)?,
                    geometry: r.get(4)?,
                    bbox: [r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?],
                })
            })?
            .collect::<rusqlite::Result<_>>()?)
    }

    fn departments(&self) -> StorageResult<Vec<Department>> {
        Ok(self
            .conn
            .prepare("SELECT code, name, name_en FROM departments ORDER BY code")?
            .query_map([], |r| Ok(Department { code: r.get(0)?, name: r.get(1)?, name_en: r.get(2)? }))?
            .collect::<rusqlite::Result<_>>()?)
    }

    fn department(&self, code: &str) -> StorageResult<Option<Department>> {
        Ok(self
            .conn
            .prepare_cached("SELECT code, name, name_en FROM departments WHERE code = ?1")?
            .query_row([code], |r| Ok(Department { code: r.get(0)?, name: r.get(1)?, name_en: r.get(2)? }))
            .optional()?)
    }

    fn routes(&self) -> StorageResult<Vec<Route>> {
        Ok(self
            .conn
            .prepare("SELECT category, department, deadline_hours FROM routes ORDER BY category")?
            .query_map([], |r| Ok(Route { category: r.get(0)?, department: r.get(1)?, deadline_hours: r.get(2)? }))?
            .collect::<rusqlite::Result<_>>()?)
    }

    fn route(&self, category: &str) -> StorageResult<Option<Route>> {
        Ok(self
            .conn
            .prepare_cached("SELECT category, department, deadline_hours FROM routes WHERE category = ?1")?
            .query_row([category], |r| Ok(Route { category: r.get(0)?, department: r.get(1)?, deadline_hours: r.get(2)? }))
            .optional()?)
    }

    fn case_histories(&self) -> StorageResult<Vec<CaseHistory>> {
        let mut cases = Vec::new();
        let mut index = std::collections::HashMap::new();
        let mut stmt = self.conn.prepare(
            "SELECT r.id, r.category, r.grid_id, g.street_office, g.community, r.department, r.status, r.due_ms
             FROM reports r LEFT JOIN grids g ON g.grid_id = r.grid_id ORDER BY r.rowid",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let case = case_history(r)?;
            index.insert(case.id.clone(), cases.len());
            cases.push(case);
        }
        let mut stmt = self.conn.prepare("SELECT report_id, action, at FROM events WHERE action IS NOT NULL ORDER BY seq")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            if let Some(&i) = index.get(&id) {
                cases[i].actions.push(action_at(r.get(1)?, r.get(2)?)?);
            }
        }
        Ok(cases)
    }

    fn case_histories_within(&self, start_ms: i64, end_ms: i64, now_ms: i64) -> StorageResult<Vec<CaseHistory>> {
        // Event times are RFC 3339 in UTC and compare as text to the second
        // whatever their fraction; a day's margin each side also takes in
        // any written with an offset. Over-inclusion is allowed.
        let bound = |ms: i64| chrono::DateTime::from_timestamp_millis(ms).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        let margin = 86_400_000;
        let low = bound(start_ms.saturating_sub(margin)).unwrap_or_default();
        let high = bound(end_ms.saturating_add(margin)).unwrap_or_else(|| "~".to_owned());
        let mut stmt = self.conn.prepare(
            "WITH picked AS (
                 SELECT report_id AS id FROM events WHERE action IS NOT NULL AND at >= ?1 AND at < ?2
                 UNION
                 SELECT id FROM reports
                 WHERE (due_ms >= ?3 AND due_ms < ?4) OR (status IN ('dispatched', 'in_progress') AND due_ms < ?5)
             )
             SELECT r.id, r.category, r.grid_id, g.street_office, g.community, r.department, r.status, r.due_ms
             FROM picked p JOIN reports r ON r.id = p.id LEFT JOIN grids g ON g.grid_id = r.grid_id ORDER BY r.rowid",
        )?;
        let mut rows = stmt.query(params![low, high, start_ms, end_ms, now_ms])?;
        let mut cases = Vec::new();
        let mut actions =
            self.conn.prepare_cached("SELECT action, at FROM events WHERE report_id = ?1 AND action IS NOT NULL ORDER BY seq")?;
        while let Some(r) = rows.next()? {
            let mut case = case_history(r)?;
            let mut events = actions.query([&case.id])?;
            while let Some(e) = events.next()? {
                case.actions.push(action_at(e.get(0)?, e.get(1)?)?);
            }
            cases.push(case);
        }
        Ok(cases)
    }

    fn located_reports(&self) -> StorageResult<Vec<LocatedReport>> {
        Ok(self
            .conn
            .prepare("SELECT id, grid_id, latitude, longitude FROM reports WHERE latitude IS NOT NULL ORDER BY id")?
            .query_map([], |r| Ok(LocatedReport { id: r.get(0)?, grid_id: r.get(1)?, latitude: r.get(2)?, longitude: r.get(3)? }))?
            .collect::<rusqlite::Result<_>>()?)
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

    fn revoke_device_tokens(&mut self, user_id: i64, device: &str, at: &str) -> StorageResult<usize> {
        Ok(self.conn.execute(
            "UPDATE tokens SET revoked_at = ?3 WHERE user_id = ?1 AND device = ?2 AND revoked_at IS NULL",
            params![user_id, device, at],
        )?)
    }

    fn set_password(&mut self, user_id: i64, password_hash: &str) -> StorageResult<()> {
        self.conn.execute("UPDATE users SET password_hash = ?2 WHERE id = ?1", params![user_id, password_hash])?;
        Ok(())
    }

    fn insert_session(&mut self, session: &NewSession) -> StorageResult<()> {
        self.conn.execute(
            "INSERT INTO sessions (session_sha256, user_id, csrf, created_ms, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![session.session_sha256, session.user_id, session.csrf, session.created_ms, session.expires_ms],
        )?;
        Ok(())
    }

    fn delete_session(&mut self, session_sha256: &str) -> StorageResult<()> {
        self.conn.execute("DELETE FROM sessions WHERE session_sha256 = ?1", [session_sha256])?;
        Ok(())
    }

    fn delete_sessions_of(&mut self, user_id: i64) -> StorageResult<()> {
        self.conn.execute("DELETE FROM sessions WHERE user_id = ?1", [user_id])?;
        Ok(())
    }

    fn record_sign_in_failure(&mut self, subject: &str, at_ms: i64) -> StorageResult<()> {
        self.conn.execute("INSERT INTO sign_in_failures (subject, at_ms) VALUES (?1, ?2)", params![subject, at_ms])?;
        Ok(())
    }

    fn clear_sign_in_failures(&mut self, subject: &str) -> StorageResult<()> {
        self.conn.execute("DELETE FROM sign_in_failures WHERE subject = ?1", [subject])?;
        Ok(())
    }

    fn expire_sign_ins(&mut self, now_ms: i64, failures_before_ms: i64) -> StorageResult<()> {
        self.conn.execute("DELETE FROM sessions WHERE expires_ms <= ?1", [now_ms])?;
        self.conn.execute("DELETE FROM sign_in_failures WHERE at_ms < ?1", [failures_before_ms])?;
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

    fn sweep_photo(&mut self, sha256: &str, held_before_ms: i64) -> StorageResult<bool> {
        let sql = format!("SELECT EXISTS (SELECT 1 FROM photos p WHERE p.sha256 = ?2 AND {SWEEPABLE})");
        if !self.conn.prepare_cached(&sql)?.query_row(params![held_before_ms, sha256], |r| r.get::<_, bool>(0))? {
            return Ok(false);
        }
        self.conn.prepare_cached("DELETE FROM photo_holders WHERE sha256 = ?1")?.execute([sha256])?;
        self.conn.prepare_cached("DELETE FROM photos WHERE sha256 = ?1")?.execute([sha256])?;
        self.conn.prepare_cached("INSERT OR IGNORE INTO swept_photos (sha256) VALUES (?1)")?.execute([sha256])?;
        Ok(true)
    }

    fn forget_swept_photo(&mut self, sha256: &str) -> StorageResult<bool> {
        // A photo recorded again took itself off the list (add_photo).
        Ok(self.conn.prepare_cached("DELETE FROM swept_photos WHERE sha256 = ?1")?.execute([sha256])? == 1)
    }

    fn add_photo(&mut self, photo: &PhotoMeta, received_at: &str) -> StorageResult<()> {
        self.conn
            .prepare_cached(
                "INSERT OR IGNORE INTO photos (sha256, bytes, width, height, phash, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![photo.sha256, photo.bytes as i64, photo.width, photo.height, photo.phash, received_at])?;
        self.conn.prepare_cached("DELETE FROM swept_photos WHERE sha256 = ?1")?.execute([&photo.sha256])?;
        Ok(())
    }

    fn add_holder(&mut self, sha256: &str, user_id: i64, held_ms: i64) -> StorageResult<()> {
        self.conn
            .prepare_cached("INSERT OR IGNORE INTO photo_holders (sha256, user_id, held_ms) VALUES (?1, ?2, ?3)")?
            .execute(params![sha256, user_id, held_ms])?;
        Ok(())
    }

    fn set_thumbnail_error(&mut self, sha256: &str, reason: &str) -> StorageResult<()> {
        self.conn.execute("UPDATE photos SET thumbnail_error = ?2 WHERE sha256 = ?1", params![sha256, reason])?;
        Ok(())
    }

    fn insert_report(&mut self, report: &NewReportRow) -> StorageResult<()> {
        let (latitude, longitude) = report.location.unzip();
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
                report.received_at,
                latitude,
                longitude,
                report.received_ms
            ])
        })?;
        let rowid = self.conn.last_insert_rowid();
        for (position, sha256) in report.photos.iter().enumerate() {
            self.hot(Hot::InsertReportPhoto, |s| s.execute(params![report.id, position as i64, sha256]))?;
        }
        if let Some((latitude, longitude)) = report.location {
            self.hot(Hot::InsertPlace, |s| s.execute(params![rowid, latitude, longitude]))?;
        }
        Ok(())
    }

    fn append_event(&mut self, event: &NewEvent) -> StorageResult<()> {
        self.hot(Hot::InsertEvent, |s| {
            s.execute(params![
                event.report_id,
                event.status.code(),
                event.note,
                event.department,
                event.actor_id,
                event.at,
                event.action.map(Action::code),
                event.action_id,
                event.content_sha256,
                event.actor_role.code(),
                event.public_note,
                event.due_at,
                event.duplicate_of
            ])
        })?;
        if !event.photos.is_empty() {
            let seq = self.conn.last_insert_rowid();
            let mut insert = self.conn.prepare_cached("INSERT INTO event_photos (event_seq, position, sha256) VALUES (?1, ?2, ?3)")?;
            for (position, sha256) in event.photos.iter().enumerate() {
                insert.execute(params![seq, position as i64, sha256])?;
            }
        }
        Ok(())
    }

    fn record_refusal(&mut self, refused: &NewRefusal) -> StorageResult<()> {
        let (error, message, status, allowed) = encode_refusal(refused.refusal);
        self.conn
            .prepare_cached(
                "INSERT INTO refused_actions (action_id, report_id, actor_id, content_sha256, error, message, case_status, allowed, refused_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                refused.action_id,
                refused.report_id,
                refused.actor_id,
                refused.content_sha256,
                error,
                message,
                status,
                allowed,
                refused.refused_ms
            ])?;
        Ok(())
    }

    fn set_case_state(&mut self, id: &str, state: &CaseState) -> StorageResult<()> {
        self.conn
            .prepare_cached(
                "UPDATE reports SET status = ?2, department = ?3, due_at = ?4, due_ms = ?5, duplicate_of = ?6, changed_ms = ?7 WHERE id = ?1",
            )?
            .execute(params![id, state.status.code(), state.department, state.due_at, state.due_ms, state.duplicate_of, state.changed_ms])?;
        Ok(())
    }

    fn set_report_grid(&mut self, id: &str, grid_id: Option<&str>) -> StorageResult<()> {
        self.conn.prepare_cached("UPDATE reports SET grid_id = ?2 WHERE id = ?1")?.execute(params![id, grid_id])?;
        Ok(())
    }

    fn put_grid_cell(&mut self, cell: &GridCell, imported_at: &str) -> StorageResult<()> {
        let [min_lat, max_lat, min_lon, max_lon] = cell.bbox;
        self.conn
            .prepare_cached(
                "INSERT INTO grids (grid_id, name, community, street_office, geometry, min_lat, max_lat, min_lon, max_lon, imported_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (grid_id) DO UPDATE SET name = excluded.name, community = excluded.community,
                     street_office = excluded.street_office, geometry = excluded.geometry, min_lat = excluded.min_lat,
                     max_lat = excluded.max_lat, min_lon = excluded.min_lon, max_lon = excluded.max_lon, imported_at = excluded.imported_at",
            )?
            .execute(params![cell.grid_id, cell.name, cell.community, cell.street_office, cell.geometry, min_lat, max_lat, min_lon, max_lon, imported_at])?;
        Ok(())
    }

    fn put_department(&mut self, department: &Department) -> StorageResult<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO departments (code, name, name_en) VALUES (?1, ?2, ?3)
                 ON CONFLICT (code) DO UPDATE SET name = excluded.name, name_en = excluded.name_en",
            )?
            .execute(params![department.code, department.name, department.name_en])?;
        Ok(())
    }

    fn put_route(&mut self, route: &Route) -> StorageResult<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO routes (category, department, deadline_hours) VALUES (?1, ?2, ?3)
                 ON CONFLICT (category) DO UPDATE SET department = excluded.department, deadline_hours = excluded.deadline_hours",
            )?
            .execute(params![route.category, route.department, route.deadline_hours])?;
        Ok(())
    }
}

/// A case from `id, category, grid_id, street_office, community, department, status, due_ms`, its actions still to add.
fn case_history(r: &rusqlite::Row) -> StorageResult<CaseHistory> {
    Ok(CaseHistory {
        id: r.get(0)?,
        category: r.get(1)?,
        grid_id: r.get(2)?,
        street_office: r.get(3)?,
        community: r.get(4)?,
        department: r.get(5)?,
        status: parse_status(&r.get::<_, String>(6)?)?,
        due_ms: r.get(7)?,
        actions: Vec::new(),
    })
}

fn action_at(action: String, at: String) -> StorageResult<(Action, i64)> {
    let action = Action::from_code(&action).map_err(|e| StorageError::corrupt("action", e))?;
    let at_ms = chrono::DateTime::parse_from_rfc3339(&at).map_err(|e| StorageError::corrupt("event time", e))?.timestamp_millis();
    Ok((action, at_ms))
}
