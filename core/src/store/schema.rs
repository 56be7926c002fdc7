//! The device store's numbered migrations, applied by the shared runner
//! ([`crate::support::migrations`]).

use rusqlite::Connection;

use crate::error::Result;
use crate::support::migrations::run_migrations;

pub const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_reports_and_photos.sql"),
    include_str!("migrations/0002_sync_outbox.sql"),
    include_str!("migrations/0003_sync_client.sql"),
    include_str!("migrations/0004_list_order_index.sql"),
    include_str!("migrations/0005_case_workflow.sql"),
];

pub const LATEST_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the device's store up to `target` (normally [`LATEST_VERSION`]).
pub fn migrate_to(conn: &mut Connection, target: i64) -> Result<()> {
    run_migrations(conn, MIGRATIONS, target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::migrations::{testing, version};

    #[test]
    fn upgraded_store_equals_fresh_store() {
        // A store as version 1 of the app left it, with a report in it.
        let old = testing::upgraded_equals_fresh(MIGRATIONS, include_str!("testdata/store_v1.sql"), 1);
        let (state, queued): (String, i64) =
            old.query_row("SELECT sync_state, (SELECT count(*) FROM outbox) FROM reports", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        assert_eq!((state.as_str(), queued), ("pending", 0), "old rows keep their data and get the defaults");
    }

    #[test]
    fn upgraded_v4_store_equals_fresh_store() {
        // A store as version 4 of the app left it: reports synced and queued,
        // an outbox with a backoff, settings, a photo known to be uploaded.
        let old = testing::upgraded_equals_fresh(MIGRATIONS, include_str!("testdata/store_v4.sql"), 4);
        let rows: Vec<(String, i64, String)> = old
            .prepare("SELECT id, fixed_on_spot, sync_state FROM reports ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(rows.len(), 2);
        assert!(rows.iter().all(|(_, fixed, _)| *fixed == 0), "old reports were not fixed on the spot");
        assert_eq!(rows[1].2, "pending");
        let kept: (i64, i64, String, i64, i64) = old
            .query_row(
                "SELECT (SELECT attempts FROM outbox), (SELECT count(*) FROM uploaded_photos), (SELECT value FROM settings WHERE key = 'pull_cursor'),
                        (SELECT count(*) FROM tasks) + (SELECT count(*) FROM actions) + (SELECT count(*) FROM report_after_photos),
                        (SELECT count(*) FROM report_photos)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .unwrap();
        assert_eq!(kept, (2, 1, "17".to_owned(), 0, 2), "the queue, the settings and the photos are kept; the new tables start empty");
    }

    #[test]
    fn every_step_is_reachable_and_idempotent() {
        testing::every_step_is_reachable_and_idempotent(MIGRATIONS);
    }

    #[test]
    fn newer_store_is_refused() {
        testing::newer_database_is_refused(MIGRATIONS);
    }

    #[test]
    fn failed_migration_changes_nothing() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_to(&mut conn, 1).unwrap();
        // Make migration 2 fail half-way: its outbox table already exists.
        conn.execute_batch("CREATE TABLE outbox (x INTEGER)").unwrap();
        assert!(migrate_to(&mut conn, 2).is_err());
        assert_eq!(version(&conn).unwrap(), 1);
        let has_sync_state: i64 =
            conn.query_row("SELECT count(*) FROM pragma_table_info('reports') WHERE name = 'sync_state'", [], |r| r.get(0)).unwrap();
        assert_eq!(has_sync_state, 0, "the ALTER TABLE before the failure was rolled back");
    }

    #[test]
    fn a_migration_that_leaves_a_dangling_reference_fails_whole() {
        let migrations =
            ["CREATE TABLE a (id INTEGER PRIMARY KEY); CREATE TABLE b (a_id INTEGER REFERENCES a (id));", "INSERT INTO b VALUES (7);"];
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "foreign_keys", true).unwrap();
        assert!(matches!(run_migrations(&mut conn, &migrations, 2), Err(crate::Error::StoreDamaged(_))));
        assert_eq!(version(&conn).unwrap(), 1);
        assert_eq!(conn.query_row("SELECT count(*) FROM b", [], |r| r.get::<_, i64>(0)).unwrap(), 0);
        let foreign_keys: bool = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
        assert!(foreign_keys, "the connection's own setting is restored");
    }
}
