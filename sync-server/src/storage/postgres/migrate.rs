//! The schema's numbered migrations on PostgreSQL: each runs in one
//! transaction with the bump of `schema_version`, so that a migration that
//! fails leaves the database as it was (PostgreSQL's DDL is transactional),
//! and a database written by a newer server is refused, not guessed at.
//! Two instances starting at once over an old database take turns: each
//! step holds an advisory lock, and reads the version again under it.

use tokio_postgres::Client;

use crate::storage::{StorageError, StorageResult};

/// Shipped migrations are never edited; a change is a new file.
pub const MIGRATIONS: &[&str] = &[include_str!("migrations/0001_schema.sql")];

pub const LATEST_VERSION: i64 = MIGRATIONS.len() as i64;

/// The advisory lock key of migrating ("SSP" and 1): held for one step.
const MIGRATION_LOCK: i64 = 0x5353_5000_0001;

/// One row: the number of migrations applied.
const VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_version (
         one      BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
         version  BIGINT NOT NULL
     );
     INSERT INTO schema_version (version) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM schema_version);";

/// Brings the database up to `migrations.len()`, one transaction a step.
pub(super) async fn run(client: &Client, migrations: &[&str]) -> StorageResult<()> {
    loop {
        client.batch_execute("BEGIN").await?;
        let step = step(client, migrations).await;
        let done = match step {
            Ok(done) => {
                client.batch_execute("COMMIT").await?;
                done
            }
            Err(e) => {
                client.batch_execute("ROLLBACK").await?;
                return Err(e);
            }
        };
        if done {
            return Ok(());
        }
    }
}

/// Applies the next migration, if any; answers whether none was left.
async fn step(client: &Client, migrations: &[&str]) -> StorageResult<bool> {
    let supported = migrations.len() as i64;
    client.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
    client.batch_execute(VERSION_TABLE).await?;
    let found: i64 = client.query_one("SELECT version FROM schema_version", &[]).await?.try_get(0)?;
    if found > supported {
        return Err(StorageError::SchemaTooNew { found, supported });
    }
    let Some(migration) = usize::try_from(found).ok().and_then(|at| migrations.get(at)) else {
        return Ok(true);
    };
    client.batch_execute(migration).await?;
    client.execute("UPDATE schema_version SET version = $1", &[&(found + 1)]).await?;
    Ok(false)
}

/// The version the database is at (0 before any migration).
#[cfg(test)]
pub(super) async fn version(client: &Client) -> StorageResult<i64> {
    let exists: bool = client.query_one("SELECT to_regclass('schema_version') IS NOT NULL", &[]).await?.try_get(0)?;
    if !exists {
        return Ok(0);
    }
    Ok(client.query_one("SELECT version FROM schema_version", &[]).await?.try_get(0)?)
}
