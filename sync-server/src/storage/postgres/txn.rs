//! The SQL of every storage question and change on PostgreSQL, on one
//! pooled connection inside the transaction the backend opened for it:
//! the same semantics as `sqlite/txn.rs`, query by query.
//!
//! Two things differ because several instances write at once:
//! - Event sequence numbers come from an identity, which hands them out
//!   in the order transactions ask, not the order they commit. So that a
//!   reader who saw event `n` never later finds a new one below it, every
//!   transaction that appends an event first takes one advisory lock
//!   ([`EVENT_LOCK`]), held until it commits: event-appending transactions
//!   commit one after the other, in the order of their numbers (a commit
//!   is visible before its locks are released).
//! - A taken report id, user name or action id is found with `ON CONFLICT
//!   DO NOTHING` and answered as [`StorageError::Conflict`], which leaves
//!   the transaction usable as SQLite's failed statement does. A key that
//!   a concurrent transaction took after this one's snapshot fails the
//!   statement with a serialisation failure instead, and the backend runs
//!   the write again, when the key is seen.
//!
//! PostgreSQL ends a transaction at its first failed statement; the first
//! failure is remembered ([`PgTxn::failure`]) so that the backend never
//! commits what was cut short, and knows when to run the write again.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;

use deadpool_postgres::Object;
use suishoupai_core::protocol::{Change, WireReport};
use suishoupai_core::{Action, ReportStatus};
use tokio::runtime::Handle;
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

use super::is_retryable;
use crate::model::{Role, Scope, User};
use crate::storage::codes::{decode_refusal, encode_refusal, parse_action, parse_role, parse_status};
use crate::storage::{
    CaseHistory, CaseState, ChangeBatch, Credentials, Department, DeviceToken, ExistingReport, GridCell, HistoryEntry, LedgerRecord,
    LocatedReport, Near, NearbyReport, NewEvent, NewRefusal, NewReportRow, NewSession, NewUser, OpenUploads, PhotoMeta, ReadTxn,
    RecordedAction, ReportFilter, ReportKey, ReportPage, Route, Sent, SessionRow, StorageError, StorageResult, StoredReport, TaskOwner,
    TokenOwner, UploadKey, UploadRow, UserListing, WriteTxn,
};

/// The advisory lock key that serialises event-appending transactions
/// ("SSP" and 2). Another application sharing the database must not use it.
pub(super) const EVENT_LOCK: i64 = 0x5353_5000_0002;

type Param<'a> = &'a (dyn ToSql + Sync);

/// The first statement of a transaction that failed: PostgreSQL kept
/// nothing of the transaction from there on.
pub(super) struct Failure {
    /// A serialisation failure or a deadlock: running the write again may succeed.
    pub retry: bool,
    pub detail: String,
}

/// One transaction's view of the database.
pub(super) struct PgTxn<'c> {
    client: &'c Object,
    handle: &'c Handle,
    failure: RefCell<Option<Failure>>,
    /// Whether [`EVENT_LOCK`] is held already.
    events_locked: Cell<bool>,
}

impl<'c> PgTxn<'c> {
    pub(super) fn new(client: &'c Object, handle: &'c Handle) -> Self {
        PgTxn { client, handle, failure: RefCell::new(None), events_locked: Cell::new(false) }
    }

    /// The first failed statement, if one failed.
    pub(super) fn failure(&self) -> Option<Failure> {
        self.failure.borrow_mut().take()
    }

    /// Runs a statement's future, remembering the first failure. A key
    /// taken that no `ON CONFLICT` foresaw is still a conflict, not a
    /// fault of the server: a uniqueness rule refused the write.
    fn run<T>(&self, future: impl Future<Output = Result<T, tokio_postgres::Error>>) -> StorageResult<T> {
        self.handle.block_on(future).map_err(|e| {
            let mut failure = self.failure.borrow_mut();
            if failure.is_none() {
                *failure = Some(Failure { retry: is_retryable(&e), detail: e.to_string() });
            }
            match e.as_db_error() {
                Some(db) if *db.code() == SqlState::UNIQUE_VIOLATION => {
                    StorageError::Conflict(format!("the key `{}` is taken already", db.constraint().unwrap_or("unknown")))
                }
                _ => StorageError::from(e),
            }
        })
    }

    fn query(&self, sql: &str, params: &[Param]) -> StorageResult<Vec<Row>> {
        self.run(async {
            let statement = self.client.prepare_cached(sql).await?;
            self.client.query(&statement, params).await
        })
    }

    fn query_opt(&self, sql: &str, params: &[Param]) -> StorageResult<Option<Row>> {
        self.run(async {
            let statement = self.client.prepare_cached(sql).await?;
            self.client.query_opt(&statement, params).await
        })
    }

    fn query_one(&self, sql: &str, params: &[Param]) -> StorageResult<Row> {
        self.run(async {
            let statement = self.client.prepare_cached(sql).await?;
            self.client.query_one(&statement, params).await
        })
    }

    fn execute(&self, sql: &str, params: &[Param]) -> StorageResult<u64> {
        self.run(async {
            let statement = self.client.prepare_cached(sql).await?;
            self.client.execute(&statement, params).await
        })
    }

    /// Takes [`EVENT_LOCK`] once per transaction (see the module's doc).
    fn lock_events(&self) -> StorageResult<()> {
        if !self.events_locked.get() {
            self.execute("SELECT pg_advisory_xact_lock($1)", &[&EVENT_LOCK])?;
            self.events_locked.set(true);
        }
        Ok(())
    }

    /// Records `action_id` as decided; [`StorageError::Conflict`] if it was.
    fn take_action_id(&self, action_id: &str) -> StorageResult<()> {
        let taken = self.execute("INSERT INTO action_ids (action_id) VALUES ($1) ON CONFLICT DO NOTHING", &[&action_id])?;
        if taken == 0 {
            return Err(StorageError::Conflict("an action with this id was recorded already".into()));
        }
        Ok(())
    }
}

/// A statement built from parts, its parameters numbered as they are added.
struct Query {
    sql: String,
    args: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl Query {
    fn new(sql: impl Into<String>) -> Self {
        Query { sql: sql.into(), args: Vec::new() }
    }

    /// Adds a parameter; answers its placeholder (`$n`).
    fn arg(&mut self, value: impl ToSql + Sync + Send + 'static) -> String {
        self.args.push(Box::new(value));
        format!("${}", self.args.len())
    }

    fn push(&mut self, sql: &str) {
        self.sql.push_str(sql);
    }

    fn params(&self) -> Vec<Param<'_>> {
        self.args.iter().map(|a| &**a as Param).collect()
    }
}

fn codes(statuses: &[ReportStatus]) -> Vec<String> {
    statuses.iter().map(|s| s.code().to_owned()).collect()
}

/// The SQL condition for `scope` on the reports aliased `r`.
fn scope_sql(q: &mut Query, scope: &Scope) -> String {
    match scope {
        Scope::Owner(owner) => format!("r.owner_id = {}", q.arg(*owner)),
        Scope::GridOrOwner { grid_id, owner } => format!("(r.grid_id = {} OR r.owner_id = {})", q.arg(grid_id.clone()), q.arg(*owner)),
        // Dispatched to it now, or handled by it before (read-only: acting
        // needs the department of the case now).
        Scope::Department(department) => {
            let d = q.arg(department.clone());
            format!("(r.department = {d} OR EXISTS (SELECT 1 FROM events d WHERE d.report_id = r.id AND d.department = {d}))")
        }
        // An empty list matches nothing.
        Scope::Statuses(statuses) => format!("r.status = ANY({})", q.arg(codes(statuses))),
        Scope::All => "TRUE".into(),
    }
}

/// The conditions of `filter` but its status and paging, appended to `q`.
fn filter_sql(filter: &ReportFilter, q: &mut Query) {
    let text = |q: &mut Query, condition: &str, value: &Option<String>| {
        if let Some(value) = value {
            let p = q.arg(value.clone());
            q.push(&condition.replace('?', &p));
        }
    };
    text(q, " AND r.category = ?", &filter.category);
    text(q, " AND r.grid_id = ?", &filter.grid_id);
    text(q, " AND r.grid_id IN (SELECT g.grid_id FROM grids g WHERE g.street_office = ?)", &filter.street_office);
    text(q, " AND r.department = ?", &filter.department);
    let integer = |q: &mut Query, condition: &str, value: Option<i64>| {
        if let Some(value) = value {
            let p = q.arg(value);
            q.push(&condition.replace('?', &p));
        }
    };
    integer(q, " AND r.created_ms >= ?", filter.since_ms);
    integer(q, " AND r.created_ms < ?", filter.until_ms);
    integer(q, " AND r.status IN ('dispatched', 'in_progress') AND r.due_ms < ?", filter.overdue_at_ms);
    if !filter.categories.is_empty() {
        let p = q.arg(filter.categories.clone());
        q.push(&format!(" AND r.category = ANY({p})"));
    }
    if !filter.ids.is_empty() {
        let p = q.arg(filter.ids.clone());
        q.push(&format!(" AND r.id = ANY({p})"));
    }
}

const USER_COLUMNS: &str = "u.id, u.name, u.role, u.grid_id, u.department";

/// The user in a row's first five columns ([`USER_COLUMNS`]).
fn make_user(row: &Row) -> StorageResult<User> {
    let role: String = row.try_get(2)?;
    let role = Role::from_code(&role).ok_or_else(|| StorageError::corrupt("role", &role))?;
    Ok(User { id: row.try_get(0)?, name: row.try_get(1)?, role, grid_id: row.try_get(3)?, department: row.try_get(4)? })
}

/// A count or size the schema keeps as BIGINT, where Rust has it unsigned.
fn unsigned<T: TryFrom<i64>>(what: &str, value: i64) -> StorageResult<T> {
    T::try_from(value).map_err(|_| StorageError::corrupt(what, value))
}

fn photo_meta(row: &Row) -> StorageResult<PhotoMeta> {
    Ok(PhotoMeta {
        sha256: row.try_get(0)?,
        bytes: unsigned("photo bytes", row.try_get(1)?)?,
        width: unsigned("photo width", row.try_get(2)?)?,
        height: unsigned("photo height", row.try_get(3)?)?,
        phash: row.try_get(4)?,
    })
}

fn upload_key(row: &Row) -> StorageResult<UploadKey> {
    Ok(UploadKey { user_id: row.try_get(0)?, sha256: row.try_get(1)? })
}

fn strings(rows: Vec<Row>) -> StorageResult<Vec<String>> {
    rows.iter().map(|r| r.try_get(0).map_err(StorageError::from)).collect()
}

const REPORT_SELECT: &str = "SELECT r.id, r.body, r.status, u.name, r.grid_id, r.department, r.received_at, r.created_ms,
                                    r.owner_id, r.due_at, r.due_ms, r.duplicate_of
                             FROM reports r JOIN users u ON u.id = r.owner_id";

/// A report row ([`REPORT_SELECT`]) with its history.
fn stored_report(row: &Row, history: Vec<HistoryEntry>) -> StorageResult<StoredReport> {
    let id: String = row.try_get(0)?;
    let body: String = row.try_get(1)?;
    let wire: WireReport = serde_json::from_str(&body).map_err(|e| StorageError::corrupt(format!("report {id}"), e))?;
    Ok(StoredReport {
        wire,
        status: parse_status(row.try_get(2)?)?,
        owner: row.try_get(3)?,
        grid_id: row.try_get(4)?,
        department: row.try_get(5)?,
        received_at: row.try_get(6)?,
        created_ms: row.try_get(7)?,
        owner_id: row.try_get(8)?,
        due_at: row.try_get(9)?,
        due_ms: row.try_get(10)?,
        duplicate_of: row.try_get(11)?,
        history,
    })
}

impl PgTxn<'_> {
    /// Reports from rows of [`REPORT_SELECT`], in their order, each with
    /// its history: one query for all of them, not one a report.
    fn load_reports(&self, rows: Vec<Row>) -> StorageResult<Vec<StoredReport>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids = rows.iter().map(|r| r.try_get::<_, String>(0)).collect::<Result<Vec<_>, _>>()?;
        let events = self.query(
            "SELECT e.report_id, e.action, e.status, e.note, e.public_note, e.department, e.due_at, e.duplicate_of, e.actor_id, u.name,
                    e.actor_role, e.at,
                    ARRAY(SELECT p.sha256 FROM event_photos p WHERE p.event_seq = e.seq ORDER BY p.position)
             FROM events e JOIN users u ON u.id = e.actor_id WHERE e.report_id = ANY($1) ORDER BY e.seq",
            &[&ids],
        )?;
        let mut histories: HashMap<String, Vec<HistoryEntry>> = HashMap::new();
        for r in &events {
            histories.entry(r.try_get(0)?).or_default().push(HistoryEntry {
                action: parse_action(r.try_get(1)?)?,
                status: parse_status(r.try_get(2)?)?,
                note: r.try_get(3)?,
                public_note: r.try_get(4)?,
                department: r.try_get(5)?,
                due_at: r.try_get(6)?,
                duplicate_of: r.try_get(7)?,
                actor_id: r.try_get(8)?,
                actor: r.try_get(9)?,
                actor_role: parse_role(r.try_get(10)?)?,
                at: r.try_get(11)?,
                photos: r.try_get(12)?,
            });
        }
        rows.iter().zip(ids).map(|(row, id)| stored_report(row, histories.remove(&id).unwrap_or_default())).collect()
    }

    /// Cases from rows of `id, category, grid_id, street_office, community,
    /// department, status, due_ms`, in their order, each with its actions.
    fn load_cases(&self, rows: Vec<Row>) -> StorageResult<Vec<CaseHistory>> {
        let mut cases = Vec::with_capacity(rows.len());
        let mut index = HashMap::new();
        for r in &rows {
            let case = CaseHistory {
                id: r.try_get(0)?,
                category: r.try_get(1)?,
                grid_id: r.try_get(2)?,
                street_office: r.try_get(3)?,
                community: r.try_get(4)?,
                department: r.try_get(5)?,
                status: parse_status(r.try_get(6)?)?,
                due_ms: r.try_get(7)?,
                actions: Vec::new(),
            };
            index.insert(case.id.clone(), cases.len());
            cases.push(case);
        }
        if cases.is_empty() {
            return Ok(cases);
        }
        let ids: Vec<&str> = cases.iter().map(|c| c.id.as_str()).collect();
        let actions =
            self.query("SELECT report_id, action, at FROM events WHERE report_id = ANY($1) AND action IS NOT NULL ORDER BY seq", &[&ids])?;
        for r in &actions {
            let id: &str = r.try_get(0)?;
            if let Some(&i) = index.get(id) {
                cases[i].actions.push(action_at(r.try_get(1)?, r.try_get(2)?)?);
            }
        }
        Ok(cases)
    }
}

/// A photo `p` the sweep may remove, held last before `$1`: shown by no
/// report and no event, and held by nobody since (a photo from before
/// holders had times counts from when it was received).
const SWEEPABLE: &str = "NOT EXISTS (SELECT 1 FROM report_photos rp WHERE rp.sha256 = p.sha256)
     AND NOT EXISTS (SELECT 1 FROM event_photos ep WHERE ep.sha256 = p.sha256)
     AND coalesce((SELECT max(h.held_ms) FROM photo_holders h WHERE h.sha256 = p.sha256),
                  round(extract(epoch FROM p.received_at::timestamptz) * 1000)::bigint) < $1";

impl ReadTxn for PgTxn<'_> {
    fn token_owner(&self, token_sha256: &str) -> StorageResult<Option<TokenOwner>> {
        self.query_opt(
            &format!(
                "SELECT {USER_COLUMNS}, u.disabled_at IS NOT NULL
                 FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.token_sha256 = $1 AND t.revoked_at IS NULL"
            ),
            &[&token_sha256],
        )?
        .map(|r| Ok(TokenOwner { user: make_user(&r)?, disabled: r.try_get(5)? }))
        .transpose()
    }

    fn ledger_rows(&self, filter: &ReportFilter, after: Option<&ReportKey>, limit: usize) -> StorageResult<Vec<LedgerRecord>> {
        let mut q = Query::new(
            "SELECT r.id, r.category, r.grid_id, g.street_office, g.community, r.latitude, r.longitude, r.department, d.name, r.status,
                    r.created_ms, r.due_ms,
                    (SELECT min(e.at) FROM events e WHERE e.report_id = r.id AND e.action = 'accept'),
                    (SELECT max(e.at) FROM events e WHERE e.report_id = r.id AND e.action = 'rectify'),
                    CASE WHEN r.status = 'closed' THEN (SELECT max(e.at) FROM events e WHERE e.report_id = r.id AND e.action = 'verify') END,
                    (SELECT count(*) FROM events e WHERE e.report_id = r.id AND e.action = 'reopen'),
                    ARRAY(SELECT p.sha256 FROM report_photos p WHERE p.report_id = r.id ORDER BY p.position)
                      || ARRAY(SELECT ep.sha256 FROM events e JOIN event_photos ep ON ep.event_seq = e.seq
                               WHERE e.report_id = r.id ORDER BY e.seq, ep.position)
             FROM reports r LEFT JOIN grids g ON g.grid_id = r.grid_id LEFT JOIN departments d ON d.code = r.department
             WHERE TRUE",
        );
        if let Some(status) = filter.status {
            let p = q.arg(status.code().to_owned());
            q.push(&format!(" AND r.status = {p}"));
        }
        filter_sql(filter, &mut q);
        if let Some(after) = after {
            let (ms, id) = (q.arg(after.created_ms), q.arg(after.id.clone()));
            q.push(&format!(" AND (r.created_ms, r.id) > ({ms}, {id})"));
        }
        let p = q.arg(limit as i64);
        q.push(&format!(" ORDER BY r.created_ms, r.id LIMIT {p}"));
        self.query(&q.sql, &q.params())?
            .iter()
            .map(|r| {
                Ok(LedgerRecord {
                    id: r.try_get(0)?,
                    category: r.try_get(1)?,
                    grid_id: r.try_get(2)?,
                    street_office: r.try_get(3)?,
                    community: r.try_get(4)?,
                    latitude: r.try_get(5)?,
                    longitude: r.try_get(6)?,
                    department: r.try_get(7)?,
                    department_name: r.try_get(8)?,
                    status: parse_status(r.try_get(9)?)?,
                    created_ms: r.try_get(10)?,
                    due_ms: r.try_get(11)?,
                    accepted_at: r.try_get(12)?,
                    rectified_at: r.try_get(13)?,
                    closed_at: r.try_get(14)?,
                    reworks: unsigned("reworks", r.try_get(15)?)?,
                    photos: r.try_get(16)?,
                })
            })
            .collect()
    }

    fn report_counts(&self, scope: &Scope, filter: &ReportFilter) -> StorageResult<Vec<(ReportStatus, u64)>> {
        let mut q = Query::new("");
        let condition = scope_sql(&mut q, scope);
        q.push(&format!("SELECT r.status, count(*) FROM reports r WHERE {condition}"));
        filter_sql(filter, &mut q);
        q.push(" GROUP BY r.status");
        self.query(&q.sql, &q.params())?.iter().map(|r| Ok((parse_status(r.try_get(0)?)?, unsigned("count", r.try_get(1)?)?))).collect()
    }

    fn credentials(&self, name: &str) -> StorageResult<Option<Credentials>> {
        self.query_opt(
            &format!("SELECT {USER_COLUMNS}, u.password_hash, u.disabled_at IS NOT NULL FROM users u WHERE u.name = $1"),
            &[&name],
        )?
        .map(|r| Ok(Credentials { user: make_user(&r)?, password_hash: r.try_get(5)?, disabled: r.try_get(6)? }))
        .transpose()
    }

    fn session(&self, session_sha256: &str, now_ms: i64) -> StorageResult<Option<SessionRow>> {
        self.query_opt(
            &format!(
                "SELECT {USER_COLUMNS}, s.csrf, s.expires_ms FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.session_sha256 = $1 AND s.expires_ms > $2 AND u.disabled_at IS NULL"
            ),
            &[&session_sha256, &now_ms],
        )?
        .map(|r| Ok(SessionRow { user: make_user(&r)?, csrf: r.try_get(5)?, expires_ms: r.try_get(6)? }))
        .transpose()
    }

    fn sign_in_failures(&self, subject: &str, since_ms: i64) -> StorageResult<(u32, Option<i64>)> {
        let r =
            self.query_one("SELECT count(*), min(at_ms) FROM sign_in_failures WHERE subject = $1 AND at_ms >= $2", &[&subject, &since_ms])?;
        Ok((unsigned("failures", r.try_get(0)?)?, r.try_get(1)?))
    }

    fn devices(&self, user_id: i64) -> StorageResult<Vec<DeviceToken>> {
        self.query("SELECT device, created_at FROM tokens WHERE user_id = $1 AND revoked_at IS NULL ORDER BY device, id", &[&user_id])?
            .iter()
            .map(|r| Ok(DeviceToken { device: r.try_get(0)?, created_at: r.try_get(1)? }))
            .collect()
    }

    fn users(&self) -> StorageResult<Vec<UserListing>> {
        self.query(
            &format!(
                "SELECT {USER_COLUMNS}, u.disabled_at IS NOT NULL,
                        (SELECT count(*) FROM tokens t WHERE t.user_id = u.id AND t.revoked_at IS NULL)
                 FROM users u ORDER BY u.name"
            ),
            &[],
        )?
        .iter()
        .map(|r| Ok(UserListing { user: make_user(r)?, disabled: r.try_get(5)?, active_tokens: unsigned("tokens", r.try_get(6)?)? }))
        .collect()
    }

    fn user_by_name(&self, name: &str) -> StorageResult<Option<User>> {
        self.query_opt(&format!("SELECT {USER_COLUMNS} FROM users u WHERE u.name = $1"), &[&name])?.map(|r| make_user(&r)).transpose()
    }

    fn auth_version(&self) -> StorageResult<i64> {
        Ok(self.query_one("SELECT value FROM meta WHERE key = 'auth_version'", &[])?.try_get(0)?)
    }

    fn held_photo(&self, user_id: i64, sha256: &str) -> StorageResult<Option<PhotoMeta>> {
        self.query_opt(
            "SELECT p.sha256, p.bytes, p.width, p.height, p.phash FROM photos p
             JOIN photo_holders h ON h.sha256 = p.sha256 AND h.user_id = $2 WHERE p.sha256 = $1",
            &[&sha256, &user_id],
        )?
        .map(|r| photo_meta(&r))
        .transpose()
    }

    fn upload(&self, key: &UploadKey) -> StorageResult<Option<UploadRow>> {
        self.query_opt("SELECT length, \"offset\" FROM uploads WHERE user_id = $1 AND sha256 = $2", &[&key.user_id, &key.sha256])?
            .map(|r| Ok(UploadRow { length: unsigned("upload length", r.try_get(0)?)?, offset: unsigned("upload offset", r.try_get(1)?)? }))
            .transpose()
    }

    fn open_uploads(&self, user_id: i64) -> StorageResult<OpenUploads> {
        // sum(bigint) is numeric: cast back, as a user's uploads stay far below 2^63 bytes.
        let r = self.query_one("SELECT count(*), coalesce(sum(length), 0)::bigint FROM uploads WHERE user_id = $1", &[&user_id])?;
        Ok(OpenUploads { count: unsigned("uploads", r.try_get(0)?)?, declared_bytes: unsigned("upload bytes", r.try_get(1)?)? })
    }

    fn sent_since(&self, user_id: i64, since_ms: i64) -> StorageResult<Sent> {
        let reports: i64 =
            self.query_one("SELECT count(*) FROM reports WHERE owner_id = $1 AND received_ms >= $2", &[&user_id, &since_ms])?.try_get(0)?;
        let photo_bytes: i64 = self
            .query_one(
                "SELECT coalesce(sum(p.bytes), 0)::bigint FROM photo_holders h JOIN photos p ON p.sha256 = h.sha256
                 WHERE h.user_id = $1 AND h.held_ms >= $2",
                &[&user_id, &since_ms],
            )?
            .try_get(0)?;
        Ok(Sent { reports: unsigned("reports", reports)?, photo_bytes: unsigned("photo bytes", photo_bytes)? })
    }

    fn upload_keys(&self) -> StorageResult<Vec<UploadKey>> {
        self.query("SELECT user_id, sha256 FROM uploads", &[])?.iter().map(upload_key).collect()
    }

    fn unreferenced_photos(&self, held_before_ms: i64, limit: usize) -> StorageResult<Vec<String>> {
        strings(self.query(&format!("SELECT p.sha256 FROM photos p WHERE {SWEEPABLE} LIMIT $2"), &[&held_before_ms, &(limit as i64)])?)
    }

    fn photo_names(&self, after: Option<&str>, limit: usize) -> StorageResult<Vec<String>> {
        strings(
            self.query("SELECT sha256 FROM photos WHERE sha256 > $1 ORDER BY sha256 LIMIT $2", &[&after.unwrap_or(""), &(limit as i64)])?,
        )
    }

    fn swept_photos(&self, limit: usize) -> StorageResult<Vec<String>> {
        strings(self.query("SELECT sha256 FROM swept_photos LIMIT $1", &[&(limit as i64)])?)
    }

    fn photo_visible(&self, scope: &Scope, sha256: &str) -> StorageResult<bool> {
        // Photos of a report, and after-photos of its events.
        let mut q = Query::new("");
        let condition = scope_sql(&mut q, scope);
        let p = q.arg(sha256.to_owned());
        q.push(&format!(
            "SELECT EXISTS (SELECT 1 FROM reports r WHERE {condition} AND r.id IN
                (SELECT report_id FROM report_photos WHERE sha256 = {p}
                 UNION SELECT e.report_id FROM event_photos ep JOIN events e ON e.seq = ep.event_seq WHERE ep.sha256 = {p}))"
        ));
        Ok(self.query_one(&q.sql, &q.params())?.try_get(0)?)
    }

    fn thumbnail_error(&self, sha256: &str) -> StorageResult<Option<String>> {
        Ok(self.query_opt("SELECT thumbnail_error FROM photos WHERE sha256 = $1", &[&sha256])?.map(|r| r.try_get(0)).transpose()?.flatten())
    }

    fn existing_report(&self, id: &str) -> StorageResult<Option<ExistingReport>> {
        self.query_opt("SELECT owner_id, content_sha256, status FROM reports WHERE id = $1", &[&id])?
            .map(|r| Ok(ExistingReport { owner_id: r.try_get(0)?, content_sha256: r.try_get(1)?, status: parse_status(r.try_get(2)?)? }))
            .transpose()
    }

    fn report(&self, scope: &Scope, id: &str) -> StorageResult<Option<StoredReport>> {
        let mut q = Query::new("");
        let p = q.arg(id.to_owned());
        let condition = scope_sql(&mut q, scope);
        q.push(&format!("{REPORT_SELECT} WHERE r.id = {p} AND {condition}"));
        let rows = self.query(&q.sql, &q.params())?;
        Ok(self.load_reports(rows)?.pop())
    }

    fn reports(&self, scope: &Scope, filter: &ReportFilter) -> StorageResult<ReportPage> {
        let mut q = Query::new("");
        let condition = scope_sql(&mut q, scope);
        q.push(&format!("{REPORT_SELECT} WHERE {condition}"));
        if let Some(status) = filter.status {
            let p = q.arg(status.code().to_owned());
            q.push(&format!(" AND r.status = {p}"));
        }
        if !filter.statuses.is_empty() {
            let p = q.arg(codes(&filter.statuses));
            q.push(&format!(" AND r.status = ANY({p})"));
        }
        filter_sql(filter, &mut q);
        if let Some(after) = &filter.after {
            let (ms, id) = (q.arg(after.created_ms), q.arg(after.id.clone()));
            q.push(&format!(" AND (r.created_ms, r.id) < ({ms}, {id})"));
        }
        let p = q.arg(filter.limit as i64 + 1);
        q.push(&format!(" ORDER BY r.created_ms DESC, r.id DESC LIMIT {p}"));
        let mut rows = self.query(&q.sql, &q.params())?;
        let has_more = rows.len() > filter.limit;
        rows.truncate(filter.limit);
        let reports = self.load_reports(rows)?;
        let next = if has_more { reports.last().map(|r| ReportKey { created_ms: r.created_ms, id: r.wire.id.clone() }) } else { None };
        Ok(ReportPage { reports, next })
    }

    fn changes(&self, scope: &Scope, after: Option<i64>, limit: usize) -> StorageResult<ChangeBatch> {
        let mut q = Query::new("");
        let after = q.arg(after.unwrap_or(0));
        let condition = scope_sql(&mut q, scope);
        let limit_param = q.arg(limit as i64 + 1);
        q.push(&format!(
            "SELECT e.seq, e.report_id, e.status, e.public_note, e.at FROM events e JOIN reports r ON r.id = e.report_id
             WHERE e.seq > {after} AND {condition} ORDER BY e.seq LIMIT {limit_param}"
        ));
        let mut rows = self.query(&q.sql, &q.params())?;
        let has_more = rows.len() > limit;
        rows.truncate(limit);
        let last_seq = rows.last().map(|r| r.try_get(0)).transpose()?;
        let changes = rows
            .iter()
            .map(|r| {
                Ok(Change {
                    report_id: r.try_get(1)?,
                    status: parse_status(r.try_get(2)?)?,
                    note: r.try_get(3)?,
                    changed_at: r.try_get(4)?,
                })
            })
            .collect::<StorageResult<_>>()?;
        Ok(ChangeBatch { changes, last_seq, has_more })
    }

    fn tasks(&self, of: &TaskOwner, limit: usize) -> StorageResult<Vec<StoredReport>> {
        let (condition, key) = match of {
            TaskOwner::Grid(grid) => ("r.grid_id = $1 AND r.status NOT IN ('rejected', 'duplicate', 'closed')", grid),
            TaskOwner::Department(code) => ("r.department = $1 AND r.status IN ('dispatched', 'in_progress')", code),
        };
        let rows = self
            .query(&format!("{REPORT_SELECT} WHERE {condition} ORDER BY r.changed_ms DESC, r.id DESC LIMIT $2"), &[key, &(limit as i64)])?;
        self.load_reports(rows)
    }

    fn recorded_action(&self, action_id: &str) -> StorageResult<Option<RecordedAction>> {
        let taken =
            self.query_opt("SELECT report_id, actor_id, coalesce(content_sha256, '') FROM events WHERE action_id = $1", &[&action_id])?;
        if let Some(r) = taken {
            return Ok(Some(RecordedAction {
                report_id: r.try_get(0)?,
                actor_id: r.try_get(1)?,
                content_sha256: r.try_get(2)?,
                refusal: None,
            }));
        }
        let Some(r) = self.query_opt(
            "SELECT report_id, actor_id, content_sha256, error, message, case_status, allowed FROM refused_actions WHERE action_id = $1",
            &[&action_id],
        )?
        else {
            return Ok(None);
        };
        let (error, message, case_status, allowed): (String, String, Option<String>, String) =
            (r.try_get(3)?, r.try_get(4)?, r.try_get(5)?, r.try_get(6)?);
        let refusal = decode_refusal(&error, message, case_status, &allowed)?;
        Ok(Some(RecordedAction {
            report_id: r.try_get(0)?,
            actor_id: r.try_get(1)?,
            content_sha256: r.try_get(2)?,
            refusal: Some(refusal),
        }))
    }

    fn reports_near(&self, near: &Near, except: &str) -> StorageResult<Vec<NearbyReport>> {
        // The category's window first, places checked in the index
        // (reports_by_category_time), as on SQLite, and in its order.
        self.query(
            "SELECT r.id, r.status, r.created_at, r.latitude, r.longitude,
                    ARRAY(SELECT p.sha256 FROM report_photos p WHERE p.report_id = r.id ORDER BY p.position)
             FROM reports r
             WHERE r.category = $5 AND r.created_ms BETWEEN $6 AND $7
               AND r.latitude BETWEEN $1 AND $2 AND r.longitude BETWEEN $3 AND $4 AND r.id <> $8
             ORDER BY r.created_ms, r.latitude, r.longitude, r.arrival",
            &[&near.min_lat, &near.max_lat, &near.min_lon, &near.max_lon, &near.category, &near.since_ms, &near.until_ms, &except],
        )?
        .iter()
        .map(|r| {
            Ok(NearbyReport {
                id: r.try_get(0)?,
                status: parse_status(r.try_get(1)?)?,
                created_at: r.try_get(2)?,
                latitude: r.try_get(3)?,
                longitude: r.try_get(4)?,
                photos: r.try_get(5)?,
            })
        })
        .collect()
    }

    fn phashes(&self, sha256s: &[String]) -> StorageResult<Vec<(String, String)>> {
        let rows = self.query("SELECT sha256, phash FROM photos WHERE sha256 = ANY($1) AND phash IS NOT NULL", &[&sha256s])?;
        let mut known = HashMap::new();
        for r in &rows {
            known.insert(r.try_get::<_, String>(0)?, r.try_get::<_, String>(1)?);
        }
        // In the order asked, as SQLite's answer is.
        Ok(sha256s.iter().filter_map(|sha| known.get(sha).map(|phash| (sha.clone(), phash.clone()))).collect())
    }

    fn grids_version(&self) -> StorageResult<i64> {
        Ok(self.query_one("SELECT value FROM meta WHERE key = 'grids_version'", &[])?.try_get(0)?)
    }

    fn grid_cells(&self) -> StorageResult<Vec<GridCell>> {
        self.query(
            "SELECT grid_id, name, community, street_office, geometry, min_lat, max_lat, min_lon, max_lon FROM grids ORDER BY grid_id",
            &[],
        )?
        .iter()
        .map(|r| {
            Ok(GridCell {
                grid_id: r.try_get(0)?,
                name: r.try_get(1)?,
                community: r.try_get(2)?,
                street_office: r.try_get(3)?,
                geometry: r.try_get(4)?,
                bbox: [r.try_get(5)?, r.try_get(6)?, r.try_get(7)?, r.try_get(8)?],
            })
        })
        .collect()
    }

    fn departments(&self) -> StorageResult<Vec<Department>> {
        self.query("SELECT code, name, name_en FROM departments ORDER BY code", &[])?.iter().map(department).collect()
    }

    fn department(&self, code: &str) -> StorageResult<Option<Department>> {
        self.query_opt("SELECT code, name, name_en FROM departments WHERE code = $1", &[&code])?.map(|r| department(&r)).transpose()
    }

    fn routes(&self) -> StorageResult<Vec<Route>> {
        self.query("SELECT category, department, deadline_hours FROM routes ORDER BY category", &[])?.iter().map(route).collect()
    }

    fn route(&self, category: &str) -> StorageResult<Option<Route>> {
        self.query_opt("SELECT category, department, deadline_hours FROM routes WHERE category = $1", &[&category])?
            .map(|r| route(&r))
            .transpose()
    }

    fn case_histories(&self) -> StorageResult<Vec<CaseHistory>> {
        let rows = self.query(
            "SELECT r.id, r.category, r.grid_id, g.street_office, g.community, r.department, r.status, r.due_ms
             FROM reports r LEFT JOIN grids g ON g.grid_id = r.grid_id ORDER BY r.arrival",
            &[],
        )?;
        self.load_cases(rows)
    }

    fn case_histories_within(&self, start_ms: i64, end_ms: i64, now_ms: i64) -> StorageResult<Vec<CaseHistory>> {
        // Event times are RFC 3339 in UTC and compare as text (COLLATE "C")
        // to the second whatever their fraction; a day's margin each side
        // also takes in any written with an offset. Over-inclusion is allowed.
        let bound = |ms: i64| chrono::DateTime::from_timestamp_millis(ms).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        let margin = 86_400_000;
        let low = bound(start_ms.saturating_sub(margin)).unwrap_or_default();
        let high = bound(end_ms.saturating_add(margin)).unwrap_or_else(|| "~".to_owned());
        let rows = self.query(
            "WITH picked AS (
                 SELECT report_id AS id FROM events WHERE action IS NOT NULL AND at >= $1 AND at < $2
                 UNION
                 SELECT id FROM reports
                 WHERE (due_ms >= $3 AND due_ms < $4) OR (status IN ('dispatched', 'in_progress') AND due_ms < $5)
             )
             SELECT r.id, r.category, r.grid_id, g.street_office, g.community, r.department, r.status, r.due_ms
             FROM picked p JOIN reports r ON r.id = p.id LEFT JOIN grids g ON g.grid_id = r.grid_id ORDER BY r.arrival",
            &[&low, &high, &start_ms, &end_ms, &now_ms],
        )?;
        self.load_cases(rows)
    }

    fn located_reports(&self) -> StorageResult<Vec<LocatedReport>> {
        self.query("SELECT id, grid_id, latitude, longitude FROM reports WHERE latitude IS NOT NULL ORDER BY id", &[])?
            .iter()
            .map(|r| Ok(LocatedReport { id: r.try_get(0)?, grid_id: r.try_get(1)?, latitude: r.try_get(2)?, longitude: r.try_get(3)? }))
            .collect()
    }
}

fn department(r: &Row) -> StorageResult<Department> {
    Ok(Department { code: r.try_get(0)?, name: r.try_get(1)?, name_en: r.try_get(2)? })
}

fn route(r: &Row) -> StorageResult<Route> {
    Ok(Route { category: r.try_get(0)?, department: r.try_get(1)?, deadline_hours: unsigned("deadline hours", r.try_get(2)?)? })
}

impl WriteTxn for PgTxn<'_> {
    fn insert_user(&mut self, user: &NewUser, created_at: &str) -> StorageResult<User> {
        let inserted = self.query_opt(
            "INSERT INTO users (name, role, grid_id, department, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (name) DO NOTHING RETURNING id",
            &[&user.name, &user.role.code(), &user.grid_id, &user.department, &created_at],
        )?;
        let Some(row) = inserted else {
            return Err(StorageError::Conflict(format!("a user named `{}` already exists", user.name)));
        };
        Ok(User {
            id: row.try_get(0)?,
            name: user.name.clone(),
            role: user.role,
            grid_id: user.grid_id.clone(),
            department: user.department.clone(),
        })
    }

    fn insert_token(&mut self, user_id: i64, token_sha256: &str, device: &str, created_at: &str) -> StorageResult<()> {
        self.execute(
            "INSERT INTO tokens (user_id, token_sha256, device, created_at) VALUES ($1, $2, $3, $4)",
            &[&user_id, &token_sha256, &device, &created_at],
        )?;
        Ok(())
    }

    fn revoke_tokens(&mut self, user_id: i64, at: &str) -> StorageResult<()> {
        self.execute("UPDATE tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL", &[&user_id, &at])?;
        Ok(())
    }

    fn set_disabled(&mut self, user_id: i64, disabled_at: Option<&str>) -> StorageResult<()> {
        self.execute("UPDATE users SET disabled_at = $2 WHERE id = $1", &[&user_id, &disabled_at])?;
        Ok(())
    }

    fn revoke_device_tokens(&mut self, user_id: i64, device: &str, at: &str) -> StorageResult<usize> {
        let revoked = self.execute(
            "UPDATE tokens SET revoked_at = $3 WHERE user_id = $1 AND device = $2 AND revoked_at IS NULL",
            &[&user_id, &device, &at],
        )?;
        Ok(revoked as usize)
    }

    fn set_password(&mut self, user_id: i64, password_hash: &str) -> StorageResult<()> {
        self.execute("UPDATE users SET password_hash = $2 WHERE id = $1", &[&user_id, &password_hash])?;
        Ok(())
    }

    fn insert_session(&mut self, session: &NewSession) -> StorageResult<()> {
        self.execute(
            "INSERT INTO sessions (session_sha256, user_id, csrf, created_ms, expires_ms) VALUES ($1, $2, $3, $4, $5)",
            &[&session.session_sha256, &session.user_id, &session.csrf, &session.created_ms, &session.expires_ms],
        )?;
        Ok(())
    }

    fn delete_session(&mut self, session_sha256: &str) -> StorageResult<()> {
        self.execute("DELETE FROM sessions WHERE session_sha256 = $1", &[&session_sha256])?;
        Ok(())
    }

    fn delete_sessions_of(&mut self, user_id: i64) -> StorageResult<()> {
        self.execute("DELETE FROM sessions WHERE user_id = $1", &[&user_id])?;
        Ok(())
    }

    fn record_sign_in_failure(&mut self, subject: &str, at_ms: i64) -> StorageResult<()> {
        self.execute("INSERT INTO sign_in_failures (subject, at_ms) VALUES ($1, $2)", &[&subject, &at_ms])?;
        Ok(())
    }

    fn clear_sign_in_failures(&mut self, subject: &str) -> StorageResult<()> {
        self.execute("DELETE FROM sign_in_failures WHERE subject = $1", &[&subject])?;
        Ok(())
    }

    fn expire_sign_ins(&mut self, now_ms: i64, failures_before_ms: i64) -> StorageResult<()> {
        self.execute("DELETE FROM sessions WHERE expires_ms <= $1", &[&now_ms])?;
        self.execute("DELETE FROM sign_in_failures WHERE at_ms < $1", &[&failures_before_ms])?;
        Ok(())
    }

    fn put_upload(&mut self, key: &UploadKey, length: u64, started_at: &str, now_ms: i64) -> StorageResult<()> {
        self.execute(
            "INSERT INTO uploads (user_id, sha256, length, \"offset\", started_at, touched_ms) VALUES ($1, $2, $3, 0, $4, $5)
             ON CONFLICT (user_id, sha256) DO UPDATE SET length = excluded.length, \"offset\" = 0,
                 started_at = excluded.started_at, touched_ms = excluded.touched_ms",
            &[&key.user_id, &key.sha256, &(length as i64), &started_at, &now_ms],
        )?;
        Ok(())
    }

    fn set_upload_offset(&mut self, key: &UploadKey, offset: u64, now_ms: i64) -> StorageResult<()> {
        self.execute(
            "UPDATE uploads SET \"offset\" = $3, touched_ms = $4 WHERE user_id = $1 AND sha256 = $2",
            &[&key.user_id, &key.sha256, &(offset as i64), &now_ms],
        )?;
        Ok(())
    }

    fn delete_upload(&mut self, key: &UploadKey) -> StorageResult<()> {
        self.execute("DELETE FROM uploads WHERE user_id = $1 AND sha256 = $2", &[&key.user_id, &key.sha256])?;
        Ok(())
    }

    fn expire_uploads(&mut self, touched_before_ms: i64) -> StorageResult<Vec<UploadKey>> {
        self.query("DELETE FROM uploads WHERE touched_ms < $1 RETURNING user_id, sha256", &[&touched_before_ms])?
            .iter()
            .map(upload_key)
            .collect()
    }

    fn sweep_photo(&mut self, sha256: &str, held_before_ms: i64) -> StorageResult<bool> {
        let sql = format!("SELECT EXISTS (SELECT 1 FROM photos p WHERE p.sha256 = $2 AND {SWEEPABLE})");
        if !self.query_one(&sql, &[&held_before_ms, &sha256])?.try_get::<_, bool>(0)? {
            return Ok(false);
        }
        self.execute("DELETE FROM photo_holders WHERE sha256 = $1", &[&sha256])?;
        self.execute("DELETE FROM photos WHERE sha256 = $1", &[&sha256])?;
        self.execute("INSERT INTO swept_photos (sha256) VALUES ($1) ON CONFLICT DO NOTHING", &[&sha256])?;
        Ok(true)
    }

    fn forget_swept_photo(&mut self, sha256: &str) -> StorageResult<bool> {
        // A photo recorded again took itself off the list (add_photo).
        Ok(self.execute("DELETE FROM swept_photos WHERE sha256 = $1", &[&sha256])? == 1)
    }

    fn add_photo(&mut self, photo: &PhotoMeta, received_at: &str) -> StorageResult<()> {
        self.execute(
            "INSERT INTO photos (sha256, bytes, width, height, phash, received_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            &[&photo.sha256, &(photo.bytes as i64), &i64::from(photo.width), &i64::from(photo.height), &photo.phash, &received_at],
        )?;
        self.execute("DELETE FROM swept_photos WHERE sha256 = $1", &[&photo.sha256])?;
        Ok(())
    }

    fn add_holder(&mut self, sha256: &str, user_id: i64, held_ms: i64) -> StorageResult<()> {
        self.execute(
            "INSERT INTO photo_holders (sha256, user_id, held_ms) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&sha256, &user_id, &held_ms],
        )?;
        Ok(())
    }

    fn set_thumbnail_error(&mut self, sha256: &str, reason: &str) -> StorageResult<()> {
        self.execute("UPDATE photos SET thumbnail_error = $2 WHERE sha256 = $1", &[&sha256, &reason])?;
        Ok(())
    }

    fn insert_report(&mut self, report: &NewReportRow) -> StorageResult<()> {
        let (latitude, longitude) = report.location.unzip();
        let inserted = self.execute(
            "INSERT INTO reports (id, owner_id, content_sha256, body, category, created_at, created_ms, grid_id, status, received_at,
                                  latitude, longitude, changed_ms, received_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'submitted', $9, $10, $11, $12, $12)
             ON CONFLICT (id) DO NOTHING",
            &[
                &report.id,
                &report.owner_id,
                &report.content_sha256,
                &report.body,
                &report.category,
                &report.created_at,
                &report.created_ms,
                &report.grid_id,
                &report.received_at,
                &latitude,
                &longitude,
                &report.received_ms,
            ],
        )?;
        if inserted == 0 {
            return Err(StorageError::Conflict(format!("a report with id `{}` is stored already", report.id)));
        }
        for (position, sha256) in report.photos.iter().enumerate() {
            self.execute(
                "INSERT INTO report_photos (report_id, position, sha256) VALUES ($1, $2, $3)",
                &[&report.id, &(position as i64), sha256],
            )?;
        }
        Ok(())
    }

    fn append_event(&mut self, event: &NewEvent) -> StorageResult<()> {
        if let Some(action_id) = event.action_id {
            self.take_action_id(action_id)?;
        }
        self.lock_events()?;
        let seq: i64 = self
            .query_one(
                "INSERT INTO events (report_id, status, note, department, actor_id, at, action, action_id, content_sha256, actor_role,
                                     public_note, due_at, duplicate_of)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING seq",
                &[
                    &event.report_id,
                    &event.status.code(),
                    &event.note,
                    &event.department,
                    &event.actor_id,
                    &event.at,
                    &event.action.map(Action::code),
                    &event.action_id,
                    &event.content_sha256,
                    &event.actor_role.code(),
                    &event.public_note,
                    &event.due_at,
                    &event.duplicate_of,
                ],
            )?
            .try_get(0)?;
        for (position, sha256) in event.photos.iter().enumerate() {
            self.execute(
                "INSERT INTO event_photos (event_seq, position, sha256) VALUES ($1, $2, $3)",
                &[&seq, &(position as i64), sha256],
            )?;
        }
        Ok(())
    }

    fn record_refusal(&mut self, refused: &NewRefusal) -> StorageResult<()> {
        let (error, message, status, allowed) = encode_refusal(refused.refusal);
        self.take_action_id(refused.action_id)?;
        self.execute(
            "INSERT INTO refused_actions (action_id, report_id, actor_id, content_sha256, error, message, case_status, allowed, refused_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                &refused.action_id,
                &refused.report_id,
                &refused.actor_id,
                &refused.content_sha256,
                &error,
                &message,
                &status,
                &allowed,
                &refused.refused_ms,
            ],
        )?;
        Ok(())
    }

    fn set_case_state(&mut self, id: &str, state: &CaseState) -> StorageResult<()> {
        self.execute(
            "UPDATE reports SET status = $2, department = $3, due_at = $4, due_ms = $5, duplicate_of = $6, changed_ms = $7 WHERE id = $1",
            &[&id, &state.status.code(), &state.department, &state.due_at, &state.due_ms, &state.duplicate_of, &state.changed_ms],
        )?;
        Ok(())
    }

    fn set_report_grid(&mut self, id: &str, grid_id: Option<&str>) -> StorageResult<()> {
        self.execute("UPDATE reports SET grid_id = $2 WHERE id = $1", &[&id, &grid_id])?;
        Ok(())
    }

    fn put_grid_cell(&mut self, cell: &GridCell, imported_at: &str) -> StorageResult<()> {
        let [min_lat, max_lat, min_lon, max_lon] = cell.bbox;
        self.execute(
            "INSERT INTO grids (grid_id, name, community, street_office, geometry, min_lat, max_lat, min_lon, max_lon, imported_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (grid_id) DO UPDATE SET name = excluded.name, community = excluded.community,
                 street_office = excluded.street_office, geometry = excluded.geometry, min_lat = excluded.min_lat,
                 max_lat = excluded.max_lat, min_lon = excluded.min_lon, max_lon = excluded.max_lon, imported_at = excluded.imported_at",
            &[
                &cell.grid_id,
                &cell.name,
                &cell.community,
                &cell.street_office,
                &cell.geometry,
                &min_lat,
                &max_lat,
                &min_lon,
                &max_lon,
                &imported_at,
            ],
        )?;
        Ok(())
    }

    fn put_department(&mut self, department: &Department) -> StorageResult<()> {
        self.execute(
            "INSERT INTO departments (code, name, name_en) VALUES ($1, $2, $3)
             ON CONFLICT (code) DO UPDATE SET name = excluded.name, name_en = excluded.name_en",
            &[&department.code, &department.name, &department.name_en],
        )?;
        Ok(())
    }

    fn put_route(&mut self, route: &Route) -> StorageResult<()> {
        self.execute(
            "INSERT INTO routes (category, department, deadline_hours) VALUES ($1, $2, $3)
             ON CONFLICT (category) DO UPDATE SET department = excluded.department, deadline_hours = excluded.deadline_hours",
            &[&route.category, &route.department, &i64::from(route.deadline_hours)],
        )?;
        Ok(())
    }
}

fn action_at(action: String, at: String) -> StorageResult<(Action, i64)> {
    let action = Action::from_code(&action).map_err(|e| StorageError::corrupt("action", e))?;
    let at_ms = chrono::DateTime::parse_from_rfc3339(&at).map_err(|e| StorageError::corrupt("event time", e))?.timestamp_millis();
    Ok((action, at_ms))
}
