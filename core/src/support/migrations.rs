//! Numbered migrations, for the device's store and the server's database
//! alike (each passes its own list). Each migration runs in its own
//! transaction together with the bump of `user_version`, so a crash leaves
//! the database at one version or the next, never between. Shipped
//! migrations are never edited: each side's upgrade test replays a frozen
//! copy of an old database against them ([`testing`]).

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use crate::error::{Error, Result};

/// The database's schema version (`PRAGMA user_version`).
pub fn version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Applies `migrations[i]` as version `i + 1`, each with its `user_version`
/// bump in one IMMEDIATE transaction, up to `target`. Safe when several
/// processes open the same file at once: the version is re-read under the
/// write lock.
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

/// The upgrade test both sides run: a database as an old version left it
/// (a frozen SQL dump, not the old migrations themselves, so that editing a
/// shipped migration makes the test fail), upgraded, must equal a fresh one.
pub mod testing {
    use rusqlite::Connection;

    use super::{describe, run_migrations, version};

    /// Upgrades the frozen dump `old` (at `old_version`) with `migrations`
    /// and asserts its schema equals a fresh database's; answers the
    /// upgraded database for the caller's checks of the rows it kept.
    pub fn upgraded_equals_fresh(migrations: &[&str], old: &str, old_version: i64) -> Connection {
        let latest = migrations.len() as i64;
        let mut fresh = Connection::open_in_memory().unwrap();
        run_migrations(&mut fresh, migrations, latest).unwrap();
        let mut upgraded = Connection::open_in_memory().unwrap();
        upgraded.execute_batch(old).unwrap();
        assert_eq!(version(&upgraded).unwrap(), old_version, "the frozen dump is at the version it says");
        run_migrations(&mut upgraded, migrations, latest).unwrap();
        assert_eq!(describe(&upgraded).unwrap(), describe(&fresh).unwrap());
        upgraded
    }

    /// Every version can be reached on its own, and reaching it again changes nothing.
    pub fn every_step_is_reachable_and_idempotent(migrations: &[&str]) {
        let mut conn = Connection::open_in_memory().unwrap();
        for target in 1..=migrations.len() as i64 {
            run_migrations(&mut conn, migrations, target).unwrap();
            assert_eq!(version(&conn).unwrap(), target);
            run_migrations(&mut conn, migrations, target).unwrap();
        }
    }

    /// A database of a newer version than `migrations` know is refused.
    pub fn newer_database_is_refused(migrations: &[&str]) {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", migrations.len() as i64 + 1).unwrap();
        assert!(matches!(run_migrations(&mut conn, migrations, migrations.len() as i64), Err(crate::Error::SchemaTooNew { .. })));
    }
}
