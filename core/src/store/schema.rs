//! Numbered migrations. Each runs in its own transaction together with the
//! bump of `user_version`, so a crash leaves the store at one version or the
//! next, never between. Shipped migrations are never edited: the upgrade
//! test replays a frozen copy of an old store against them.

use rusqlite::{Connection, TransactionBehavior};

use crate::error::{Error, Result};

pub const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_reports_and_photos.sql"),
    include_str!("migrations/0002_sync_outbox.sql"),
    include_str!("migrations/0003_sync_client.sql"),
    include_str!("migrations/0004_list_order_index.sql"),
];

pub const LATEST_VERSION: i64 = MIGRATIONS.len() as i64;

fn version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Brings the database up to `target` (normally [`LATEST_VERSION`]). Safe
/// when several processes open the same store at once: the version is
/// re-read under the write lock.
pub fn migrate_to(conn: &mut Connection, target: i64) -> Result<()> {
    let found = version(conn)?;
    if found > LATEST_VERSION {
        return Err(Error::SchemaTooNew { found, supported: LATEST_VERSION });
    }
    if found >= target {
        return Ok(());
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().take(target as usize) {
        let number = index as i64 + 1;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if version(&tx)? >= number {
            continue;
        }
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", number)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Everything that makes up a schema, in a comparable form.
    fn schema_of(conn: &Connection) -> Vec<String> {
        let mut out: Vec<String> = conn
            .prepare("SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY name")
            .unwrap()
            .query_map([], |r| {
                Ok(format!(
                    "{}|{}|{}|{:?}",
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?
                ))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for table in tables {
            let mut stmt = conn.prepare(&format!("PRAGMA table_info({table})")).unwrap();
            let cols = stmt
                .query_map([], |r| {
                    Ok(format!(
                        "{table}.{}:{}:{}:{:?}:{}",
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, Option<String>>(4)?,
                        r.get::<_, i64>(5)?
                    ))
                })
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            out.extend(cols);
        }
        out.push(format!("user_version={}", version(conn).unwrap()));
        out
    }

    #[test]
    fn upgraded_store_equals_fresh_store() {
        let mut fresh = Connection::open_in_memory().unwrap();
        migrate_to(&mut fresh, LATEST_VERSION).unwrap();

        // A store as version 1 of the app left it, with a report in it. This
        // is a frozen copy, not migration 1 itself: editing a shipped
        // migration makes this test fail.
        let mut old = Connection::open_in_memory().unwrap();
        old.execute_batch(include_str!("testdata/store_v1.sql")).unwrap();
        assert_eq!(version(&old).unwrap(), 1);
        migrate_to(&mut old, LATEST_VERSION).unwrap();

        assert_eq!(schema_of(&old), schema_of(&fresh));
        let (state, queued): (String, i64) =
            old.query_row("SELECT sync_state, (SELECT count(*) FROM outbox) FROM reports", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        assert_eq!((state.as_str(), queued), ("pending", 0), "old rows keep their data and get the defaults");
    }

    #[test]
    fn every_step_is_reachable_and_idempotent() {
        let mut conn = Connection::open_in_memory().unwrap();
        for target in 1..=LATEST_VERSION {
            migrate_to(&mut conn, target).unwrap();
            assert_eq!(version(&conn).unwrap(), target);
            migrate_to(&mut conn, target).unwrap();
        }
    }

    #[test]
    fn newer_store_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", LATEST_VERSION + 1).unwrap();
        assert!(matches!(migrate_to(&mut conn, LATEST_VERSION), Err(Error::SchemaTooNew { .. })));
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
}
