//! Setting a connection's pragmas when other processes may be opening the
//! same database at the same moment.
//!
//! Two processes that open a fresh database together both ask for WAL
//! mode: each holds a shared lock and wants the exclusive one, and SQLite
//! answers one of them `SQLITE_BUSY` at once instead of calling the busy
//! handler (waiting could only deadlock). By the time it tries again the
//! other has finished, and the mode is already WAL.

use std::time::{Duration, Instant};

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

#[cfg(test)]
mod tests {
    use super::*;

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
