//! Recovering a store whose database is damaged (a bad sector, a file
//! truncated by a full disk, a backup restored halfway): the anchor is
//! Mozilla application-services' `open_database`, which on corruption
//! moves the file aside and starts again. Here the damaged file is moved
//! aside, kept, and every row that can still be read whole is copied into
//! a fresh database, with what it refers to:
//!
//! - tables in the order the migrations made them (parents first), each
//!   read row by row until the first page that cannot be read; a row that
//!   breaks a constraint of the fresh schema (its parent was lost) is left
//!   out;
//! - a report left without its photos is left out (a report has at least
//!   one), and every report not yet synced is queued again in the outbox;
//! - photo files are never touched: they are content-addressed and checked
//!   on their own (sealed ones by their AEAD tag).
//!
//! A report the server acknowledged is safe there even if its row is lost
//! here; a report made offline and lost with its row is the one thing this
//! cannot bring back, which is why the database is written with
//! `synchronous = FULL` in the first place.

use std::fs;
use std::path::{Path, PathBuf};

use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, params_from_iter};

use crate::error::{Error, Result};
use crate::store::keys::StoreKey;
use crate::store::{DATABASE_FILE, Database, open_connection};
use crate::support::durable::sync_dir;

/// What a recovery kept, and where the damaged file went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// The damaged database, moved aside (with its `-wal` and `-shm`).
    pub damaged_copy: PathBuf,
    pub reports_kept: u64,
    pub actions_kept: u64,
    /// Rows read and copied, of every table.
    pub rows_kept: u64,
    /// Whether some table could not be read to its end.
    pub rows_lost: bool,
}

/// Moves the damaged database of the store in `dir` aside and makes a
/// fresh one of what can be read of it. Another process must not have the
/// store open.
pub fn recover(dir: &Path, key: Option<&StoreKey>) -> Result<Recovery> {
    let aside = dir.join("damaged").join(chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ").to_string());
    fs::create_dir_all(&aside).map_err(Error::io(&aside))?;
    for suffix in ["", "-wal", "-shm"] {
        let from = dir.join(format!("{DATABASE_FILE}{suffix}"));
        if from.exists() {
            let to = aside.join(format!("{DATABASE_FILE}{suffix}"));
            fs::rename(&from, &to).map_err(Error::io(&from))?;
        }
    }
    sync_dir(&aside)?;
    sync_dir(dir)?;
    let damaged_copy = aside.join(DATABASE_FILE);
    // The fresh database, with the schema of this version.
    drop(Database::open(dir, key)?);
    let mut fresh = open_connection(&dir.join(DATABASE_FILE), OpenFlags::default(), key)?;
    let mut recovery = Recovery { damaged_copy: damaged_copy.clone(), reports_kept: 0, actions_kept: 0, rows_kept: 0, rows_lost: false };
    copy_rows(&|| open_connection(&damaged_copy, OpenFlags::SQLITE_OPEN_READ_WRITE, key), &mut fresh, &mut recovery)?;
    let tx = fresh.transaction()?;
    tx.execute("DELETE FROM reports WHERE id NOT IN (SELECT report_id FROM report_photos)", [])?;
    tx.execute(
        "INSERT INTO outbox (report_id, failed)
         SELECT id, sync_state = 'failed' FROM reports WHERE sync_state <> 'synced' AND id NOT IN (SELECT report_id FROM outbox)",
        [],
    )?;
    recovery.reports_kept = tx.query_row("SELECT count(*) FROM reports", [], |r| r.get::<_, i64>(0))? as u64;
    recovery.actions_kept = tx.query_row("SELECT count(*) FROM actions", [], |r| r.get::<_, i64>(0))? as u64;
    tx.commit()?;
    Ok(recovery)
}

/// Copies table by table, each read on a connection of its own: SQLCipher
/// fails every later read of a connection that met a page whose HMAC does
/// not check.
fn copy_rows(open_old: &dyn Fn() -> Result<Connection>, fresh: &mut Connection, recovery: &mut Recovery) -> Result<()> {
    let tables: Vec<String> = fresh
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let tx = fresh.transaction()?;
    for table in tables {
        let columns: Vec<String> = tx
            .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let list = columns.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ");
        // Not even its header readable: nothing of this table to copy.
        let Ok(old) = open_old() else {
            recovery.rows_lost = true;
            continue;
        };
        let Ok(mut select) = old.prepare(&format!("SELECT {list} FROM \"{table}\"")) else {
            recovery.rows_lost = true;
            continue;
        };
        let marks = vec!["?"; columns.len()].join(", ");
        let mut insert = tx.prepare(&format!("INSERT OR IGNORE INTO \"{table}\" ({list}) VALUES ({marks})"))?;
        let mut rows = match select.query([]) {
            Ok(rows) => rows,
            Err(_) => {
                recovery.rows_lost = true;
                continue;
            }
        };
        loop {
            match rows.next() {
                Ok(Some(row)) => {
                    let values: Vec<Value> = (0..columns.len()).map(|i| row.get(i)).collect::<rusqlite::Result<_>>().unwrap_or_default();
                    // A row whose parent was lost breaks a foreign key: left out.
                    if values.len() == columns.len() && insert.execute(params_from_iter(values)).is_ok_and(|n| n == 1) {
                        recovery.rows_kept += 1;
                    }
                }
                Ok(None) => break,
                Err(_) => {
                    recovery.rows_lost = true;
                    break;
                }
            }
        }
    }
    tx.commit()?;
    Ok(())
}
