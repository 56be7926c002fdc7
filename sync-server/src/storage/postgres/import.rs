//! Copies a SQLite deployment's rows into an empty PostgreSQL database,
//! table by table, in one PostgreSQL transaction: the copy is whole or
//! nothing. It knows both schemas (SQLite's after its migration 0010, this
//! backend's 0001) and names every column on both sides; a table or a
//! column it does not name, on either side, is refused before anything is
//! copied rather than dropped.
//!
//! What is not copied, and why:
//! - SQLite's R*Tree `report_places`: PostgreSQL has no such table (its
//!   duplicate lookups read `reports_by_category_time`).
//! - `uploads`, uploads under way: their partial bytes are in the photo
//!   directory and are not moved, so a device starts such an upload again.
//!
//! What is made here: `reports.arrival` from SQLite's rowid (the order
//! reports arrived in), `action_ids` from the action ids of events and
//! refusals, the identities' sequences moved past the largest id copied
//! (for events, past SQLite's AUTOINCREMENT high-water mark too, so that
//! no sequence number is ever reused), and `meta`'s versions at least
//! SQLite's.
//!
//! Before committing it checks, in the same transaction, that every table
//! holds as many rows as SQLite's, and that a hash of each report's (id,
//! content_sha256, status) and of each event's (seq, report_id, action_id)
//! is the same on both sides.

use rusqlite::types::Value;
use sha2::{Digest, Sha256};
use tokio_postgres::Client;
use tokio_postgres::types::ToSql;

use crate::storage::{StorageError, StorageResult};

/// How a column is typed on PostgreSQL.
#[derive(Clone, Copy)]
enum Kind {
    Int,
    Real,
    Text,
}

use Kind::{Int, Real, Text};

struct Table {
    name: &'static str,
    /// (PostgreSQL column, SQLite expression, type).
    columns: &'static [(&'static str, &'static str, Kind)],
    /// The identity column whose values are copied, if any.
    identity: Option<&'static str>,
    /// SQLite's order, so that the copy is deterministic.
    order: &'static str,
}

/// Every table, parents before children (PostgreSQL checks foreign keys
/// at each statement).
const TABLES: &[Table] = &[
    Table {
        name: "users",
        columns: &[
            ("id", "id", Int),
            ("name", "name", Text),
            ("role", "role", Text),
            ("grid_id", "grid_id", Text),
            ("department", "department", Text),
            ("created_at", "created_at", Text),
            ("disabled_at", "disabled_at", Text),
            ("password_hash", "password_hash", Text),
        ],
        identity: Some("id"),
        order: "id",
    },
    Table {
        name: "tokens",
        columns: &[
            ("id", "id", Int),
            ("user_id", "user_id", Int),
            ("token_sha256", "token_sha256", Text),
            ("device", "device", Text),
            ("created_at", "created_at", Text),
            ("revoked_at", "revoked_at", Text),
        ],
        identity: Some("id"),
        order: "id",
    },
    Table {
        name: "photos",
        columns: &[
            ("sha256", "sha256", Text),
            ("bytes", "bytes", Int),
            ("width", "width", Int),
            ("height", "height", Int),
            ("received_at", "received_at", Text),
            ("thumbnail_error", "thumbnail_error", Text),
            ("phash", "phash", Text),
        ],
        identity: None,
        order: "sha256",
    },
    Table {
        name: "photo_holders",
        columns: &[("sha256", "sha256", Text), ("user_id", "user_id", Int), ("held_ms", "held_ms", Int)],
        identity: None,
        order: "sha256, user_id",
    },
    Table { name: "swept_photos", columns: &[("sha256", "sha256", Text)], identity: None, order: "sha256" },
    Table {
        name: "grids",
        columns: &[
            ("grid_id", "grid_id", Text),
            ("name", "name", Text),
            ("community", "community", Text),
            ("street_office", "street_office", Text),
            ("geometry", "geometry", Text),
            ("min_lat", "min_lat", Real),
            ("max_lat", "max_lat", Real),
            ("min_lon", "min_lon", Real),
            ("max_lon", "max_lon", Real),
            ("imported_at", "imported_at", Text),
        ],
        identity: None,
        order: "grid_id",
    },
    Table {
        name: "departments",
        columns: &[("code", "code", Text), ("name", "name", Text), ("name_en", "name_en", Text)],
        identity: None,
        order: "code",
    },
    Table {
        name: "routes",
        columns: &[("category", "category", Text), ("department", "department", Text), ("deadline_hours", "deadline_hours", Int)],
        identity: None,
        order: "category",
    },
    Table {
        name: "reports",
        columns: &[
            ("id", "id", Text),
            ("arrival", "rowid", Int),
            ("owner_id", "owner_id", Int),
            ("content_sha256", "content_sha256", Text),
            ("body", "body", Text),
            ("category", "category", Text),
            ("created_at", "created_at", Text),
            ("created_ms", "created_ms", Int),
            ("grid_id", "grid_id", Text),
            ("status", "status", Text),
            ("department", "department", Text),
            ("received_at", "received_at", Text),
            ("received_ms", "received_ms", Int),
            ("latitude", "latitude", Real),
            ("longitude", "longitude", Real),
            ("due_at", "due_at", Text),
            ("due_ms", "due_ms", Int),
            ("duplicate_of", "duplicate_of", Text),
            ("changed_ms", "changed_ms", Int),
        ],
        identity: Some("arrival"),
        order: "rowid",
    },
    Table {
        name: "report_photos",
        columns: &[("report_id", "report_id", Text), ("position", "position", Int), ("sha256", "sha256", Text)],
        identity: None,
        order: "report_id, position",
    },
    Table {
        name: "events",
        columns: &[
            ("seq", "seq", Int),
            ("report_id", "report_id", Text),
            ("status", "status", Text),
            ("note", "note", Text),
            ("department", "department", Text),
            ("actor_id", "actor_id", Int),
            ("at", "at", Text),
            ("action", "action", Text),
            ("action_id", "action_id", Text),
            ("content_sha256", "content_sha256", Text),
            ("actor_role", "actor_role", Text),
            ("public_note", "public_note", Text),
            ("due_at", "due_at", Text),
            ("duplicate_of", "duplicate_of", Text),
        ],
        identity: Some("seq"),
        order: "seq",
    },
    Table {
        name: "event_photos",
        columns: &[("event_seq", "event_seq", Int), ("position", "position", Int), ("sha256", "sha256", Text)],
        identity: None,
        order: "event_seq, position",
    },
    Table {
        name: "refused_actions",
        columns: &[
            ("action_id", "action_id", Text),
            ("report_id", "report_id", Text),
            ("actor_id", "actor_id", Int),
            ("content_sha256", "content_sha256", Text),
            ("error", "error", Text),
            ("message", "message", Text),
            ("case_status", "case_status", Text),
            ("allowed", "allowed", Text),
            ("refused_ms", "refused_ms", Int),
        ],
        identity: None,
        order: "action_id",
    },
    Table {
        name: "sessions",
        columns: &[
            ("session_sha256", "session_sha256", Text),
            ("user_id", "user_id", Int),
            ("csrf", "csrf", Text),
            ("created_ms", "created_ms", Int),
            ("expires_ms", "expires_ms", Int),
        ],
        identity: None,
        order: "session_sha256",
    },
    Table { name: "sign_in_failures", columns: &[("subject", "subject", Text), ("at_ms", "at_ms", Int)], identity: None, order: "rowid" },
];

/// The triggers that move `meta`'s versions: off while copying (a bump
/// per row of one row in one transaction grows its version chain with
/// every row), `meta` set once at the end instead.
const TRIGGERS: &[(&str, &str)] = &[("users", "users_changed"), ("tokens", "tokens_changed"), ("grids", "grids_changed")];

/// Rows per INSERT statement: fewer round trips, well under PostgreSQL's
/// 65,535 parameters at 19 columns.
const BATCH: usize = 500;

/// What was copied, checked before the commit.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Imported {
    /// Rows per table, equal on both sides (`action_ids` counted against
    /// SQLite's action ids of events and refusals).
    pub tables: Vec<(String, u64)>,
    /// Uploads under way in SQLite, not copied.
    pub uploads_not_copied: u64,
    /// sha256 over every report's (id, content_sha256, status), by id.
    pub reports_sha256: String,
    /// sha256 over every event's (seq, report_id, action_id), by seq.
    pub events_sha256: String,
}

/// Copies `sqlite`'s rows into the database of `client`, which must hold
/// no user and no report ([`StorageError::NotEmpty`] otherwise, with
/// nothing changed). `sqlite` should be inside a read transaction, so that
/// its rows are one moment's.
pub(super) async fn import(client: &Client, sqlite: &rusqlite::Connection) -> StorageResult<Imported> {
    client.batch_execute("BEGIN ISOLATION LEVEL SERIALIZABLE").await?;
    match copy(client, sqlite).await {
        Ok(imported) => {
            client.batch_execute("COMMIT").await?;
            Ok(imported)
        }
        Err(e) => {
            // The error is the copy's; a failed rollback (a lost
            // connection) rolls back anyway.
            let _ = client.batch_execute("ROLLBACK").await;
            Err(e)
        }
    }
}

async fn copy(client: &Client, sqlite: &rusqlite::Connection) -> StorageResult<Imported> {
    // No server may write meanwhile (`move` says to stop them): one that
    // does waits for the copy, then finds the data there.
    client.batch_execute("LOCK TABLE users, tokens, reports, events IN EXCLUSIVE MODE").await?;
    let held: i64 = client.query_one("SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM reports)", &[]).await?.try_get(0)?;
    if held > 0 {
        return Err(StorageError::NotEmpty(
            "the target PostgreSQL database already holds users or reports; move into an empty database (nothing was changed)".into(),
        ));
    }
    check_schemas(client, sqlite).await?;
    for (table, trigger) in TRIGGERS {
        client.batch_execute(&format!("ALTER TABLE {table} DISABLE TRIGGER {trigger}")).await?;
    }
    let mut tables = Vec::new();
    for table in TABLES {
        let copied = copy_table(client, sqlite, table).await?;
        let counted: i64 = client.query_one(&format!("SELECT count(*) FROM {}", table.name), &[]).await?.try_get(0)?;
        let source = sqlite_count(sqlite, &format!("SELECT count(*) FROM {}", table.name))?;
        if copied != source || counted as u64 != source {
            return Err(mismatch(format!("{}: {source} rows in SQLite, {copied} copied, {counted} in PostgreSQL", table.name)));
        }
        tables.push((table.name.to_owned(), source));
    }
    let action_ids = client
        .execute(
            "INSERT INTO action_ids (action_id)
                 SELECT action_id FROM events WHERE action_id IS NOT NULL
                 UNION ALL SELECT action_id FROM refused_actions",
            &[],
        )
        .await?;
    let source =
        sqlite_count(sqlite, "SELECT (SELECT count(*) FROM events WHERE action_id IS NOT NULL) + (SELECT count(*) FROM refused_actions)")?;
    if action_ids != source {
        return Err(mismatch(format!("action_ids: {source} action ids in SQLite, {action_ids} in PostgreSQL")));
    }
    tables.push(("action_ids".to_owned(), source));
    for (table, trigger) in TRIGGERS {
        client.batch_execute(&format!("ALTER TABLE {table} ENABLE TRIGGER {trigger}")).await?;
    }
    bump_sequences(client, sqlite).await?;
    for key in ["auth_version", "grids_version"] {
        let value = sqlite_count(sqlite, &format!("SELECT coalesce((SELECT value FROM meta WHERE key = '{key}'), 0)"))? as i64;
        client.execute("UPDATE meta SET value = GREATEST(value, $2) + 1 WHERE key = $1", &[&key, &value]).await?;
    }
    let (reports_sha256, events_sha256) = sqlite_digests(sqlite)?;
    if postgres_digests(client).await? != (reports_sha256.clone(), events_sha256.clone()) {
        return Err(mismatch("the hashes of reports (id, content, status) or events (seq, report, action) differ".into()));
    }
    let uploads_not_copied = sqlite_count(sqlite, "SELECT count(*) FROM uploads")?;
    Ok(Imported { tables, uploads_not_copied, reports_sha256, events_sha256 })
}

/// Tables that are not copied row for row: SQLite's own, its R*Tree and
/// uploads under way (see the module's doc), the versions made here.
const NOT_COPIED_SQLITE: &[&str] = &["meta", "uploads"];
const NOT_COPIED_POSTGRES: &[&str] = &["meta", "uploads", "action_ids", "schema_version"];

/// Refuses a schema on either side with a table or a column that the
/// copy does not name: it would be dropped silently otherwise.
async fn check_schemas(client: &Client, sqlite: &rusqlite::Connection) -> StorageResult<()> {
    use std::collections::BTreeSet;
    let unknown = |what: String| {
        StorageError::Backend(format!("the move does not know {what} (a schema newer than this tool's?); nothing was changed"))
    };
    let known: BTreeSet<&str> = TABLES.iter().map(|t| t.name).collect();
    let sqlite_tables: Vec<String> = sqlite
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'report_places%'")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if let Some(table) = sqlite_tables.iter().find(|t| !known.contains(t.as_str()) && !NOT_COPIED_SQLITE.contains(&t.as_str())) {
        return Err(unknown(format!("SQLite's table {table}")));
    }
    let postgres_tables: Vec<String> = client
        .query(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
            &[],
        )
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    if let Some(table) = postgres_tables.iter().find(|t| !known.contains(t.as_str()) && !NOT_COPIED_POSTGRES.contains(&t.as_str())) {
        return Err(unknown(format!("PostgreSQL's table {table}")));
    }
    for table in TABLES {
        let named: BTreeSet<&str> = table.columns.iter().map(|(_, from, _)| *from).filter(|c| *c != "rowid").collect();
        let in_sqlite: BTreeSet<String> = sqlite
            .prepare("SELECT name FROM pragma_table_info(?1)")?
            .query_map([table.name], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        if in_sqlite.iter().map(String::as_str).collect::<BTreeSet<_>>() != named {
            return Err(unknown(format!("SQLite's columns of {} ({in_sqlite:?})", table.name)));
        }
        let named: BTreeSet<&str> = table.columns.iter().map(|(to, _, _)| *to).collect();
        let in_postgres: BTreeSet<String> = client
            .query(
                "SELECT column_name::text FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1",
                &[&table.name],
            )
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
        if in_postgres.iter().map(String::as_str).collect::<BTreeSet<_>>() != named {
            return Err(unknown(format!("PostgreSQL's columns of {} ({in_postgres:?})", table.name)));
        }
    }
    Ok(())
}

fn mismatch(detail: String) -> StorageError {
    StorageError::Backend(format!("the copy does not match its source, so nothing was kept: {detail}"))
}

fn sqlite_count(sqlite: &rusqlite::Connection, sql: &str) -> StorageResult<u64> {
    let n: i64 = sqlite.query_row(sql, [], |r| r.get(0))?;
    u64::try_from(n).map_err(|_| StorageError::corrupt("a count", n))
}

/// Copies one table in batches; answers the rows copied.
async fn copy_table(client: &Client, sqlite: &rusqlite::Connection, table: &Table) -> StorageResult<u64> {
    let select = format!(
        "SELECT {} FROM {} ORDER BY {}",
        table.columns.iter().map(|(_, from, _)| *from).collect::<Vec<_>>().join(", "),
        table.name,
        table.order
    );
    let mut statement = sqlite.prepare(&select)?;
    let width = table.columns.len();
    let mut rows = statement.query([])?;
    let mut batch: Vec<Box<dyn ToSql + Sync>> = Vec::with_capacity(BATCH * width);
    let mut copied = 0u64;
    loop {
        let row = rows.next()?;
        if let Some(row) = row {
            for (at, (column, _, kind)) in table.columns.iter().enumerate() {
                batch.push(param(table.name, column, *kind, row.get::<_, Value>(at)?)?);
            }
        }
        let rows_in_batch = batch.len() / width;
        if rows_in_batch == BATCH || (row.is_none() && rows_in_batch > 0) {
            let params: Vec<&(dyn ToSql + Sync)> = batch.iter().map(|p| &**p as &(dyn ToSql + Sync)).collect();
            copied += client.execute(&insert(table, rows_in_batch), &params).await?;
            batch.clear();
        }
        if row.is_none() {
            return Ok(copied);
        }
    }
}

/// `INSERT INTO t (…) [OVERRIDING SYSTEM VALUE] VALUES ($1, …), …` for `rows` rows.
fn insert(table: &Table, rows: usize) -> String {
    let width = table.columns.len();
    let values: Vec<String> =
        (0..rows).map(|row| format!("({})", (1..=width).map(|c| format!("${}", row * width + c)).collect::<Vec<_>>().join(", "))).collect();
    format!(
        "INSERT INTO {} ({}){} VALUES {}",
        table.name,
        table.columns.iter().map(|(to, _, _)| format!("\"{to}\"")).collect::<Vec<_>>().join(", "),
        if table.identity.is_some() { " OVERRIDING SYSTEM VALUE" } else { "" },
        values.join(", ")
    )
}

/// A SQLite value as the PostgreSQL column's type; NULL stays NULL.
fn param(table: &str, column: &str, kind: Kind, value: Value) -> StorageResult<Box<dyn ToSql + Sync>> {
    let wrong = |value: &Value| {
        StorageError::corrupt(format!("{table}.{column}"), format!("a {:?} where the column holds another type", value.data_type()))
    };
    Ok(match (kind, value) {
        (Int, Value::Null) => Box::new(None::<i64>),
        (Real, Value::Null) => Box::new(None::<f64>),
        (Text, Value::Null) => Box::new(None::<String>),
        (Int, Value::Integer(n)) => Box::new(Some(n)),
        (Real, Value::Real(x)) => Box::new(Some(x)),
        (Real, Value::Integer(n)) => Box::new(Some(n as f64)),
        (Text, Value::Text(s)) => Box::new(Some(s)),
        (_, other) => return Err(wrong(&other)),
    })
}

/// Moves every identity's sequence past the largest value copied, so that
/// the next row PostgreSQL numbers is not one SQLite already used.
async fn bump_sequences(client: &Client, sqlite: &rusqlite::Connection) -> StorageResult<()> {
    // Events: also past SQLite's AUTOINCREMENT mark, which outlives a
    // deleted newest event.
    let events_mark = sqlite_count(sqlite, "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0)")?;
    for table in TABLES {
        let Some(column) = table.identity else { continue };
        let source = table.columns.iter().find(|(to, _, _)| *to == column).map_or(column, |(_, from, _)| *from);
        let mut high = sqlite_count(sqlite, &format!("SELECT coalesce(max({source}), 0) FROM {}", table.name))?;
        if table.name == "events" {
            high = high.max(events_mark);
        }
        if high > 0 {
            let high = high as i64;
            client.execute("SELECT setval(pg_get_serial_sequence($1, $2), $3, true)", &[&table.name, &column, &high]).await?;
        }
    }
    Ok(())
}

const REPORTS_DIGEST: &str = "SELECT id, content_sha256, status FROM reports ORDER BY id";
const EVENTS_DIGEST: &str = "SELECT seq, report_id, action_id FROM events ORDER BY seq";

/// One line per row, fields split by a unit separator, NULL as `\u{0}`.
fn digest_line(hash: &mut Sha256, fields: &[Option<String>]) {
    for field in fields {
        hash.update(field.as_deref().unwrap_or("\u{0}").as_bytes());
        hash.update(b"\x1f");
    }
    hash.update(b"\n");
}

fn sqlite_digests(sqlite: &rusqlite::Connection) -> StorageResult<(String, String)> {
    let mut reports = Sha256::new();
    let mut statement = sqlite.prepare(REPORTS_DIGEST)?;
    let mut rows = statement.query([])?;
    while let Some(r) = rows.next()? {
        digest_line(&mut reports, &[Some(r.get(0)?), Some(r.get(1)?), Some(r.get(2)?)]);
    }
    let mut events = Sha256::new();
    let mut statement = sqlite.prepare(EVENTS_DIGEST)?;
    let mut rows = statement.query([])?;
    while let Some(r) = rows.next()? {
        digest_line(&mut events, &[Some(r.get::<_, i64>(0)?.to_string()), Some(r.get(1)?), r.get(2)?]);
    }
    Ok((hex::encode(reports.finalize()), hex::encode(events.finalize())))
}

async fn postgres_digests(client: &Client) -> StorageResult<(String, String)> {
    let mut reports = Sha256::new();
    for r in client.query(REPORTS_DIGEST, &[]).await? {
        digest_line(&mut reports, &[Some(r.try_get(0)?), Some(r.try_get(1)?), Some(r.try_get(2)?)]);
    }
    let mut events = Sha256::new();
    for r in client.query(EVENTS_DIGEST, &[]).await? {
        digest_line(&mut events, &[Some(r.try_get::<_, i64>(0)?.to_string()), Some(r.try_get(1)?), r.try_get(2)?]);
    }
    Ok((hex::encode(reports.finalize()), hex::encode(events.finalize())))
}
