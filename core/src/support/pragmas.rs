//! Setting a connection's pragmas when other processes may be opening the
//! same database at the same moment.
//!
//! Two processes that open a fresh database together both ask for WAL
//! mode: each holds a shared lock and wants the exclusive one, and SQLite
//! answers one of them `SQLITE_BUSY` at once instead of calling the busy
//! handler (waiting could only deadlock). By the time it tries again the
//! other has finished, and the mode is already WAL.

use std::time::{Duration, Instant};

use rusqlite::config::DbConfig;
use rusqlite::{Connection, ErrorCode};

/// How long [`apply`] keeps trying while another connection holds the lock.
pub const BUSY_WAIT: Duration = Duration::from_secs(10);

/// Runs `pragmas` on `conn`, again after a short pause whenever the
/// database is busy, for up to [`BUSY_WAIT`].
pub fn apply(conn: &Connection, pragmas: &str) -> rusqlite::Result<()> {
    let started = Instant::now();
    loop {
        match conn.execute_batch(pragmas) {
            Err(e) if e.sqlite_error_code() == Some(ErrorCode::DatabaseBusy) && started.elapsed() < BUSY_WAIT => {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// Plans each statement once, whatever is bound to it: SQLite's query
/// planner stability guarantee. Without it SQLite marks a statement whose
/// plan looked at a bound value (a `LIMIT ?1`, a comparison a partial
/// index might prove) for recompiling whenever a parameter is bound anew,
/// and rusqlite's statement cache clears every binding when a statement
/// goes back to it: each such cached statement was parsed and planned again
/// on every use, a quarter of the simulation's time (tests/BENCH.md). The
/// plans of both sides' queries use literals for their partial indexes,
/// so none gets worse.
pub fn plan_once(conn: &Connection) -> rusqlite::Result<()> {
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cached_statement_is_not_recompiled_when_rebound() {
        // A `LIMIT ?1` is the kind of statement SQLite would recompile on
        // every binding; counted by SQLite itself (SQLITE_STMTSTATUS_REPREPARE).
        let reprepared = |plan: bool| {
            let conn = Connection::open_in_memory().unwrap();
            if plan {
                plan_once(&conn).unwrap();
            }
            conn.execute_batch("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1), (2), (3);").unwrap();
            for limit in 1..=5 {
                let mut stmt = conn.prepare_cached("SELECT x FROM t ORDER BY x LIMIT ?1").unwrap();
                let rows: Vec<i64> = stmt.query_map([limit], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap();
                assert_eq!(rows.len(), limit.min(3) as usize);
            }
            let stmt = conn.prepare_cached("SELECT x FROM t ORDER BY x LIMIT ?1").unwrap();
            stmt.get_status(rusqlite::StatementStatus::RePrepare)
        };
        assert!(reprepared(false) > 0, "SQLite no longer recompiles on binding: plan_once may be unneeded");
        assert_eq!(reprepared(true), 0);
    }

    #[test]
    fn many_connections_turn_a_fresh_database_to_wal_together() {
        // Several fresh files: the race needs the connections to meet, which
        // plain execute_batch lost within a few rounds here.
        for round in 0..10 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(format!("fresh-{round}.sqlite3"));
            let threads: Vec<_> = (0..8)
                .map(|_| {
                    let path = path.clone();
                    std::thread::spawn(move || {
                        let conn = Connection::open(&path).unwrap();
                        conn.busy_timeout(BUSY_WAIT).unwrap();
                        apply(&conn, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;").unwrap();
                        conn.query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0)).unwrap()
                    })
                })
                .collect();
            for t in threads {
                assert_eq!(t.join().unwrap(), "wal");
            }
        }
    }
}
