//! The storage contract on PostgreSQL, and what only PostgreSQL can get
//! wrong: two instances (two storages over one database, as two servers
//! are) committing at once, the schema's migrations, and calls from each
//! kind of thread the server and its tools make them from.

use std::sync::{Arc, Barrier};
use std::time::Duration;

use suishoupai_core::ReportStatus;

use super::*;
use crate::model::{Role, Scope, User};
use crate::storage::{NewEvent, NewReportRow, NewUser, read, write};
use crate::testkit::postgres::fresh_database;

fn connect(url: &str) -> PostgresStorage {
    PostgresStorage::connect(url, &PostgresOptions::default()).expect("connect to the test cluster")
}

/// Every test of the contract, each on a fresh database.
mod contract_suite {
    crate::storage::contract::storage_contract_tests!(((), super::connect(&super::fresh_database())));
}

const AT: &str = "2026-05-01T08:00:00.000Z";

fn coordinator(storage: &PostgresStorage) -> User {
    let new = NewUser { name: "coco".into(), role: Role::Coordinator, grid_id: None, department: None };
    write(storage, |tx| tx.insert_user(&new, AT)).unwrap()
}

fn id(n: u32) -> String {
    format!("01900000-0000-7000-8000-{n:012}")
}

/// A report's body as a device sends it, with no photo.
fn body(id: &str) -> String {
    serde_json::json!({
        "id": id, "category": "garbage", "note": "", "location": null, "photos": [],
        "reporter": { "role": "resident", "grid_id": null }, "taken_at": null, "created_at": AT,
    })
    .to_string()
}

fn new_report<'a>(id: &'a str, owner: &User, body: &'a str) -> NewReportRow<'a> {
    NewReportRow {
        id,
        owner_id: owner.id,
        content_sha256: "0000000000000000000000000000000000000000000000000000000000000000",
        body,
        category: "garbage",
        created_at: AT,
        created_ms: 1_780_000_000_000,
        grid_id: None,
        received_at: AT,
        received_ms: 1_780_000_000_000,
        photos: Vec::new(),
        location: None,
    }
}

/// The test that cannot fail on SQLite's single writer. Two instances
/// append events at once; one of them keeps each transaction open a while
/// after taking its sequence number, so that without the event lock the
/// other's later numbers commit first. A reader polling the feed with a
/// cursor must still see every event, once, in order.
#[test]
fn two_instances_appending_at_once_never_make_a_cursor_skip() {
    const EACH: usize = 120;
    let url = fresh_database();
    let (slow, fast, reader) = (Arc::new(connect(&url)), Arc::new(connect(&url)), connect(&url));
    let coco = coordinator(&slow);
    let (one, two) = (id(1), id(2));
    write(&*slow, |tx| {
        tx.insert_report(&new_report(&one, &coco, "{}"))?;
        tx.insert_report(&new_report(&two, &coco, "{}"))
    })
    .unwrap();
    let writers: Vec<_> = [(slow, one, Duration::from_millis(3)), (fast, two, Duration::ZERO)]
        .into_iter()
        .enumerate()
        .map(|(w, (storage, report, hold))| {
            let coco = coco.clone();
            std::thread::spawn(move || {
                for k in 0..EACH {
                    let note = format!("{w}-{k}");
                    write(&*storage, |tx| {
                        tx.append_event(&NewEvent {
                            public_note: Some(&note),
                            ..NewEvent::arrival(&report, ReportStatus::Accepted, &coco, AT)
                        })?;
                        std::thread::sleep(hold);
                        Ok::<_, StorageError>(())
                    })
                    .unwrap();
                }
            })
        })
        .collect();
    let mut seen = Vec::new();
    let mut after = None;
    let mut done = false;
    loop {
        let page = read(&reader, |tx| tx.changes(&Scope::All, after, 5)).unwrap();
        seen.extend(page.changes.into_iter().filter_map(|c| c.note));
        after = page.last_seq.or(after);
        if done && !page.has_more {
            break;
        }
        done = writers.iter().all(|w| w.is_finished());
    }
    writers.into_iter().for_each(|w| w.join().unwrap());
    let all = read(&reader, |tx| tx.changes(&Scope::All, None, 10_000)).unwrap();
    let all: Vec<String> = all.changes.into_iter().filter_map(|c| c.note).collect();
    assert_eq!(all.len(), 2 * EACH);
    assert_eq!(seen.len(), all.len(), "the cursor skipped {} events", all.len() - seen.len());
    assert_eq!(seen, all);
}

/// Two instances storing the same report id at the same moment: the
/// database decides. A bare insert: one wins, the other is told of a
/// conflict (never a raw database error, which would be a 500). A push's
/// look-then-insert: the loser runs again and finds the winner's report.
#[test]
fn two_instances_storing_one_report_id_store_it_once() {
    let url = fresh_database();
    let (a, b) = (Arc::new(connect(&url)), Arc::new(connect(&url)));
    let coco = coordinator(&a);
    let race = |n: u32, look_first: bool| -> Vec<Result<bool, StorageError>> {
        let barrier = Arc::new(Barrier::new(2));
        let threads: Vec<_> = [a.clone(), b.clone()]
            .into_iter()
            .map(|storage| {
                let (barrier, coco, report) = (barrier.clone(), coco.clone(), id(n));
                std::thread::spawn(move || {
                    let mut first_run = true;
                    write(&*storage, |tx| {
                        if look_first && tx.existing_report(&report)?.is_some() {
                            return Ok(false);
                        }
                        // Both have looked (and taken their snapshots) before either inserts.
                        if std::mem::take(&mut first_run) {
                            barrier.wait();
                        }
                        tx.insert_report(&new_report(&report, &coco, &body(&report)))?;
                        Ok(true)
                    })
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    };
    for n in 0..8 {
        let outcomes = race(n, false);
        let won = outcomes.iter().filter(|o| matches!(o, Ok(true))).count();
        let refused = outcomes.iter().filter(|o| matches!(o, Err(StorageError::Conflict(_)))).count();
        assert_eq!((won, refused), (1, 1), "one stores it, the other is told it is taken: {outcomes:?}");
    }
    for n in 10..18 {
        let outcomes = race(n, true);
        let mut outcomes: Vec<bool> = outcomes.into_iter().map(|o| o.expect("no error: the loser finds the report")).collect();
        outcomes.sort();
        assert_eq!(outcomes, [false, true], "stored once, found once");
    }
    let stored = read(&*a, |tx| tx.reports(&Scope::All, &crate::storage::ReportFilter { limit: 100, ..Default::default() })).unwrap();
    assert_eq!(stored.reports.len(), 16);
}

/// Two instances deciding one action id at once, one as an event and one
/// as a refusal: the id is recorded once.
#[test]
fn two_instances_deciding_one_action_id_record_it_once() {
    let url = fresh_database();
    let (a, b) = (Arc::new(connect(&url)), Arc::new(connect(&url)));
    let coco = coordinator(&a);
    let report = id(1);
    write(&*a, |tx| tx.insert_report(&new_report(&report, &coco, "{}"))).unwrap();
    for n in 0..8 {
        let action_id = format!("01900000-0000-7000-8000-0000000a{n:04}");
        let barrier = Arc::new(Barrier::new(2));
        let threads: Vec<_> = [(a.clone(), true), (b.clone(), false)]
            .into_iter()
            .map(|(storage, take)| {
                let (barrier, coco, report, action_id) = (barrier.clone(), coco.clone(), report.clone(), action_id.clone());
                std::thread::spawn(move || {
                    let mut first_run = true;
                    write(&*storage, |tx| {
                        // As the workflow service does: look in both places first.
                        if tx.recorded_action(&action_id)?.is_some() {
                            return Ok(false);
                        }
                        if std::mem::take(&mut first_run) {
                            barrier.wait();
                        }
                        if take {
                            tx.append_event(&NewEvent {
                                action_id: Some(&action_id),
                                content_sha256: Some("c"),
                                ..NewEvent::arrival(&report, ReportStatus::Accepted, &coco, AT)
                            })?;
                        } else {
                            let refusal = crate::storage::Refusal::Forbidden("no".into());
                            tx.record_refusal(&crate::storage::NewRefusal {
                                action_id: &action_id,
                                report_id: &report,
                                actor_id: coco.id,
                                content_sha256: "c",
                                refusal: &refusal,
                                refused_ms: 0,
                            })?;
                        }
                        Ok::<_, StorageError>(true)
                    })
                })
            })
            .collect();
        let recorded: Vec<bool> = threads.into_iter().map(|t| t.join().unwrap().expect("no error: the loser finds the decision")).collect();
        assert_eq!(recorded.iter().filter(|r| **r).count(), 1, "recorded once: {recorded:?}");
    }
}

/// Every user and token change moves auth_version in its own transaction,
/// so two instances changing users at once contend on it: the loser runs
/// again, and the version counts every change.
#[test]
fn two_instances_adding_users_at_once_move_the_auth_version_for_each() {
    const EACH: usize = 25;
    let url = fresh_database();
    let (a, b) = (Arc::new(connect(&url)), Arc::new(connect(&url)));
    let before = read(&*a, |tx| tx.auth_version()).unwrap();
    let threads: Vec<_> = [a.clone(), b]
        .into_iter()
        .enumerate()
        .map(|(w, storage)| {
            std::thread::spawn(move || {
                for k in 0..EACH {
                    let new = NewUser { name: format!("u{w}-{k}"), role: Role::Resident, grid_id: None, department: None };
                    write(&*storage, |tx| {
                        let user = tx.insert_user(&new, AT)?;
                        tx.insert_token(user.id, &format!("{w}{k:0>63}"), "phone", AT)
                    })
                    .unwrap();
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    assert_eq!(read(&*a, |tx| tx.users()).unwrap().len(), 2 * EACH);
    assert_eq!(read(&*a, |tx| tx.auth_version()).unwrap(), before + 4 * EACH as i64, "a user and a token each");
}

/// The server calls storage on tokio's blocking pool, and may drop it in
/// an async task: both work, with the storage's own runtime and with the
/// server's runtime given to it.
#[test]
fn calls_from_the_blocking_pool_work_on_either_runtime() {
    let server = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let given = server.handle().clone();
    for runtime in [None, Some(given)] {
        let url = fresh_database();
        server.block_on(async move {
            let options = PostgresOptions { runtime, ..PostgresOptions::default() };
            let storage = tokio::task::spawn_blocking(move || PostgresStorage::connect(&url, &options)).await.unwrap().unwrap();
            let storage = Arc::new(storage);
            let writes: Vec<_> = (0..4)
                .map(|n| {
                    let storage = storage.clone();
                    tokio::task::spawn_blocking(move || {
                        let new = NewUser { name: format!("u{n}"), role: Role::Resident, grid_id: None, department: None };
                        write(&*storage, |tx| tx.insert_user(&new, AT))
                    })
                })
                .collect();
            for w in writes {
                w.await.unwrap().unwrap();
            }
            let s = storage.clone();
            let users = tokio::task::spawn_blocking(move || read(&*s, |tx| tx.users())).await.unwrap().unwrap();
            assert_eq!(users.len(), 4);
            // The last handle dropped on an async worker thread.
            drop(storage);
        });
    }
}

/// A `#[tokio::test]` runtime (one thread) calling through spawn_blocking.
#[tokio::test]
async fn calls_from_a_single_threaded_runtime_work() {
    let url = fresh_database();
    let storage = Arc::new(tokio::task::spawn_blocking(move || connect(&url)).await.unwrap());
    let s = storage.clone();
    let version = tokio::task::spawn_blocking(move || read(&*s, |tx| tx.auth_version())).await.unwrap().unwrap();
    assert_eq!(version, 0);
}

#[test]
fn connecting_again_migrates_nothing_and_a_newer_database_is_refused() {
    let url = fresh_database();
    let storage = connect(&url);
    coordinator(&storage);
    let again = connect(&url);
    assert_eq!(read(&again, |tx| tx.users()).unwrap().len(), 1, "rows survive");
    let client = again.block_on(again.pool.get()).unwrap();
    assert_eq!(again.block_on(migrate::version(&client)).unwrap(), LATEST_VERSION);
    again.block_on(client.batch_execute(&format!("UPDATE schema_version SET version = {}", LATEST_VERSION + 1))).unwrap();
    match PostgresStorage::connect(&url, &PostgresOptions::default()) {
        Err(StorageError::SchemaTooNew { found, supported }) => assert_eq!((found, supported), (LATEST_VERSION + 1, LATEST_VERSION)),
        Err(other) => panic!("refused for another reason: {other}"),
        Ok(_) => panic!("a newer database was opened"),
    }
}

/// Two instances starting at once over a fresh database take turns to
/// migrate it: both open it, and it is migrated once.
#[test]
fn two_instances_starting_at_once_migrate_once() {
    let url = fresh_database();
    let starts: Vec<_> = (0..2)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || PostgresStorage::connect(&url, &PostgresOptions::default()))
        })
        .collect();
    let storages: Vec<_> = starts.into_iter().map(|s| s.join().unwrap().expect("both start")).collect();
    let client = storages[0].block_on(storages[0].pool.get()).unwrap();
    assert_eq!(storages[0].block_on(migrate::version(&client)).unwrap(), LATEST_VERSION);
}

/// A closure that panics leaves its transaction open on the connection:
/// that connection is closed (rolling it back), never handed to the next
/// write, which would otherwise commit the half-done work with its own.
#[test]
fn a_panicking_closure_leaves_no_open_transaction_behind() {
    let options = PostgresOptions { max_connections: 1, ..PostgresOptions::default() };
    let storage = PostgresStorage::connect(&fresh_database(), &options).unwrap();
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = write(&storage, |tx| {
            let new = NewUser { name: "half".into(), role: Role::Resident, grid_id: None, department: None };
            tx.insert_user(&new, AT)?;
            panic!("the closure fails half-way");
            #[allow(unreachable_code)]
            Ok::<_, StorageError>(())
        });
    }));
    assert!(panicked.is_err());
    coordinator(&storage);
    let names: Vec<String> = read(&storage, |tx| tx.users()).unwrap().into_iter().map(|u| u.user.name).collect();
    assert_eq!(names, ["coco"]);
}

#[test]
fn a_failed_migration_changes_nothing() {
    let url = fresh_database();
    let storage = connect(&url);
    let client = storage.block_on(storage.pool.get()).unwrap();
    // A second migration that fails half-way, after a CREATE TABLE.
    let broken = [MIGRATIONS[0], "CREATE TABLE half_done (x BIGINT); SELECT no_such_column FROM users;"];
    assert!(storage.block_on(migrate::run(&client, &broken)).is_err());
    assert_eq!(storage.block_on(migrate::version(&client)).unwrap(), 1);
    let created: bool = storage.block_on(client.query_one("SELECT to_regclass('half_done') IS NOT NULL", &[])).unwrap().get(0);
    assert!(!created, "the CREATE TABLE before the failure was rolled back");
}

#[test]
fn an_unreachable_database_is_told_apart_and_backups_are_pg_dumps() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let options = PostgresOptions::default();
    match PostgresStorage::connect(&format!("postgres://postgres@127.0.0.1:{port}/none?connect_timeout=2"), &options) {
        Err(e) => assert!(e.is_unavailable(), "a refused connection is the database being unavailable: {e:?}"),
        Ok(_) => panic!("connected to nothing"),
    }
    let storage = connect(&fresh_database());
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(storage.backup_into(dir.path()), Err(StorageError::Unsupported(_))));
}

/// A key taken that no `ON CONFLICT` foresees (a token's hash) is a
/// conflict too, not a raw database error.
#[test]
fn any_key_taken_is_a_conflict() {
    let storage = connect(&fresh_database());
    let coco = coordinator(&storage);
    let token = "7".repeat(64);
    write(&storage, |tx| tx.insert_token(coco.id, &token, "phone", AT)).unwrap();
    let again = write(&storage, |tx| tx.insert_token(coco.id, &token, "tablet", AT));
    assert!(matches!(&again, Err(StorageError::Conflict(m)) if m.contains("tokens_token_sha256_key")), "{again:?}");
}

/// A closure that swallows a failed statement and returns `Ok` is not
/// committed: PostgreSQL ended the transaction at the failure.
#[test]
fn a_swallowed_statement_failure_commits_nothing() {
    let storage = connect(&fresh_database());
    let coco = coordinator(&storage);
    let outcome = write(&storage, |tx| {
        let new = NewUser { name: "ana".into(), role: Role::Resident, grid_id: None, department: None };
        tx.insert_user(&new, AT)?;
        // A token of a user who does not exist: a foreign key refuses it.
        let _ = tx.insert_token(coco.id + 1000, &"9".repeat(64), "phone", AT);
        Ok::<_, StorageError>(())
    });
    assert!(matches!(outcome, Err(StorageError::Backend(_))), "{outcome:?}");
    assert_eq!(read(&storage, |tx| tx.user_by_name("ana")).unwrap(), None);
}

/// `import_from_sqlite` (what `move` runs): refuses a target that holds
/// users, and a SQLite schema with a column it does not name, changing
/// nothing; moves the events' sequence past SQLite's AUTOINCREMENT mark.
#[test]
fn an_import_refuses_a_used_target_and_an_unknown_column_and_never_reuses_an_event_number() {
    let dir = tempfile::tempdir().unwrap();
    {
        let sqlite = crate::storage::sqlite::SqliteStorage::open(dir.path()).unwrap();
        coordinator_in(&sqlite);
    }
    let file = dir.path().join(crate::storage::sqlite::DATABASE_FILE);
    let source = rusqlite::Connection::open(&file).unwrap();
    // As if the newest events had been deleted: numbers up to 41 were used.
    source.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('events', 41)", []).unwrap();

    let used = connect(&fresh_database());
    coordinator(&used);
    assert!(matches!(used.import_from_sqlite(&source), Err(StorageError::NotEmpty(_))));
    assert_eq!(read(&used, |tx| tx.users()).unwrap().len(), 1, "nothing was added");

    let storage = connect(&fresh_database());
    let imported = storage.import_from_sqlite(&source).unwrap();
    assert!(imported.tables.contains(&("users".to_owned(), 1)), "{imported:?}");
    let client = storage.block_on(storage.pool.get()).unwrap();
    let next: i64 = storage.block_on(client.query_one("SELECT nextval(pg_get_serial_sequence('events', 'seq'))", &[])).unwrap().get(0);
    assert_eq!(next, 42);
    let next: i64 = storage.block_on(client.query_one("SELECT nextval(pg_get_serial_sequence('users', 'id'))", &[])).unwrap().get(0);
    assert_eq!(next, 2, "past the user copied");

    source.execute_batch("ALTER TABLE users ADD COLUMN nickname TEXT").unwrap();
    let fresh = connect(&fresh_database());
    let refused = fresh.import_from_sqlite(&source).unwrap_err().to_string();
    assert!(refused.contains("does not know") && refused.contains("users"), "{refused}");
    assert!(read(&fresh, |tx| tx.users()).unwrap().is_empty());
}

fn coordinator_in(storage: &dyn Storage) -> User {
    let new = NewUser { name: "coco".into(), role: Role::Coordinator, grid_id: None, department: None };
    write(storage, |tx| tx.insert_user(&new, AT)).unwrap()
}
