//! Numbered migrations. Each runs in its own transaction together with the
//! bump of `user_version`, so a crash leaves the store at one version or the
//! next, never between. Shipped migrations are never edited: the upgrade
//! test replays a frozen copy of an old store against them.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

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

/// Brings the device's store up to `target` (normally [`LATEST_VERSION`]).
pub fn migrate_to(conn: &mut Connection, target: i64) -> Result<()> {
    run_migrations(conn, MIGRATIONS, target)
}

/// Applies `migrations[i]` as version `i + 1`, each with its `user_version`
/// bump in one IMMEDIATE transaction, up to `target`. Safe when several
/// processes open the same file at once: the version is re-read under the
/// write lock. Shared with the server, whose list is its own.
///
/// Foreign keys are off while a migration runs, as SQLite's own procedure
/// for schema changes asks (a table can then be rebuilt, which is how
/// SQLite drops a UNIQUE column), and checked with `foreign_key_check`
/// before the commit: a migration that leaves a dangling reference fails
/// and changes nothing.
pub fn run_migrations(conn: &mut Connection, migrations: &[&str], target: i64) -> Result<()> {
    let latest = migrations.len() as i64;
    let found = version(conn)?;
    if found > latest {
        return Err(Error::SchemaTooNew { found, supported: latest });
    }
    if found >= target {
        return Ok(());
    }
    let foreign_keys: bool = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
    conn.pragma_update(None, "foreign_keys", false)?;
    let applied = apply(conn, migrations, found, target);
    conn.pragma_update(None, "foreign_keys", foreign_keys)?;
    applied
}

fn apply(conn: &mut Connection, migrations: &[&str], found: i64, target: i64) -> Result<()> {
    for (index, sql) in migrations.iter().enumerate().take(target as usize).skip(found as usize) {
        let number = index as i64 + 1;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if version(&tx)? >= number {
            continue;
        }
        tx.execute_batch(sql)?;
        let dangling: Option<String> = tx.query_row("PRAGMA foreign_key_check", [], |r| r.get(0)).optional()?;
        if let Some(table) = dangling {
            return Err(Error::StoreDamaged(format!("migration {number} would leave a dangling reference in table {table}")));
        }
        tx.pragma_update(None, "user_version", number)?;
        tx.commit()?;
    }
    Ok(())
}

/// Everything that makes up a database's schema, in a comparable form: the
/// upgrade tests compare an upgraded database with a fresh one through it.
pub fn describe(conn: &Connection) -> Result<Vec<String>> {
    let mut out: Vec<String> = conn
        .prepare("SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY name")?
        .query_map([], |r| {
            Ok(format!(
                "{}|{}|{}|{:?}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?
            ))
        })?
        .collect::<Result<_, _>>()?;
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for table in tables {
        let mut stmt = conn.prepare("SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?1)")?;
        let columns = stmt.query_map([&table], |r| {
            Ok(format!(
                "{table}.{}:{}:{}:{:?}:{}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, i64>(4)?
            ))
        })?;
        for column in columns {
            out.push(column?);
        }
    }
    out.push(format!("user_version={}", version(conn)?));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

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

        assert_eq!(describe(&old).unwrap(), describe(&fresh).unwrap());
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
