//! Group commit for SQLite's one writer: each commit costs an fsync, and
//! when many requests write at once (200 devices pushing, uploads
//! finishing) they share one instead of queueing for one each.
//!
//! Callers that arrive while another holds the writer queue for it, and
//! each runs its closure in the same IMMEDIATE transaction, in a savepoint
//! of its own so that a failure or a panic undoes only its caller's work.
//! The last caller of the queue commits for all of them, one fsync for the
//! lot; the others wait for that commit, and all of them fail if it fails.
//! A caller releases the writer without committing only when another has
//! already asked for it, so an open group always has a caller to come that
//! ends it.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

use rusqlite::Connection;

use crate::storage::{StorageError, StorageResult};

/// Writes in one group at most. Under steady load callers keep arriving and
/// a group would never find itself alone to commit; its first caller would
/// wait for ever longer. This bounds that wait, and costs little: a group of
/// this size already spreads the fsync thin.
const MAX_GROUP: usize = 64;

/// The writer connection and the state of the group open on it.
pub(super) struct GroupCommit {
    writer: Mutex<Connection>,
    /// Who waits for the writer and which group is open on it; always
    /// locked after `writer` when both are held.
    group: Mutex<Group>,
    /// Signalled when a group ends, committed or not.
    group_ended: Condvar,
    commits: AtomicU64,
    /// Off for a database that readers share with the writer (in memory):
    /// there a group left open between callers would show uncommitted rows.
    grouping: bool,
}

/// The state of group commit, beside the writer connection.
#[derive(Default)]
struct Group {
    /// Callers that have asked for the writer and not yet got it. The caller
    /// holding the writer commits only when this is 0: otherwise one of them
    /// will get the writer after it and can commit for both.
    pending: usize,
    /// The group whose transaction is open on the writer.
    open: Option<OpenGroup>,
    last_id: u64,
    /// Every group with an id up to this one has ended.
    ended: u64,
    /// Groups that ended without a commit, kept until each of their waiting
    /// callers has taken its error.
    failed: HashMap<u64, FailedGroup>,
}

struct OpenGroup {
    id: u64,
    /// Callers that ran in it, however they fared.
    members: usize,
    /// Callers whose change is in it and who wait for its end.
    waiting: usize,
}

struct FailedGroup {
    error: StorageError,
    untold: usize,
}

/// What the caller holding the writer does with the open group after its own work.
enum Next {
    Commit,
    /// Roll the group back: its transaction is no longer what its callers put in it.
    Abandon(StorageError),
    /// Leave the group open for the callers queued on the writer.
    Leave,
}

/// A copy of a group's failure for each of its callers ([`Error`] is not `Clone`).
fn group_error(e: &StorageError) -> StorageError {
    match e {
        StorageError::Sqlite(rusqlite::Error::SqliteFailure(code, message)) => {
            StorageError::Sqlite(rusqlite::Error::SqliteFailure(*code, message.clone()))
        }
        other => StorageError::Backend(format!("the transaction this write was grouped into failed: {other}")),
    }
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Writes catch their closures' panics and nothing else in here panics
    // while holding a lock, so a poisoned lock still guards sound state.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl GroupCommit {
    pub(super) fn new(writer: Connection, grouping: bool) -> GroupCommit {
        GroupCommit {
            writer: Mutex::new(writer),
            group: Mutex::default(),
            group_ended: Condvar::new(),
            commits: AtomicU64::new(0),
            grouping,
        }
    }

    /// Commits made so far: fewer than the writes when they were grouped.
    pub(super) fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// The writer connection, for what must not share a transaction with
    /// anyone (reads of an in-memory database). Only while no group is
    /// open, which holds whenever the writer is free and grouping is off.
    pub(super) fn connection(&self) -> MutexGuard<'_, Connection> {
        lock(&self.writer)
    }

    /// Runs `f` atomically and returns once its change is committed, or
    /// with an error once it is certain not to be.
    ///
    /// Group commit: callers that arrive while another holds the writer
    /// queue for it, and each runs `f` in the same IMMEDIATE transaction,
    /// in a savepoint of its own so that a failure or a panic of `f` undoes
    /// only its caller's work. The last caller of the queue commits for all
    /// of them, one fsync for the lot; the others wait for that commit, and
    /// all of them fail if it fails. A caller releases the writer without
    /// committing only when another has already asked for it, so an open
    /// group always has a caller to come that ends it.
    pub(super) fn write<T>(&self, f: impl FnOnce(&Connection) -> StorageResult<T>) -> StorageResult<T> {
        lock(&self.group).pending += 1;
        let mut conn = lock(&self.writer);
        let id = self.join_group(&mut conn)?;
        let (ran, doubt) = run_in_savepoint(&mut conn, f);
        let succeeded = matches!(ran, Ok(Ok(_)));
        let group = self.end_turn(conn, id, succeeded, doubt);
        match ran {
            // Only now, with the group settled, so that no waiter is stranded.
            Err(panic) => resume_unwind(panic),
            Ok(Err(e)) => Err(e),
            Ok(Ok(value)) => group.map(|()| value),
        }
    }

    /// Joins the group open on the writer, or opens one; answers its id.
    fn join_group(&self, conn: &mut Connection) -> StorageResult<u64> {
        let mut group = lock(&self.group);
        group.pending -= 1;
        if let Some(open) = &group.open {
            return Ok(open.id);
        }
        drop(group);
        if !conn.is_autocommit() {
            // Left over by a failed ROLLBACK after a failed COMMIT: nobody's
            // change in it will be committed, and it would block BEGIN.
            let _ = conn.execute_batch("ROLLBACK");
        }
        // Nothing of anyone else is open, so a failure concerns this caller only.
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let mut group = lock(&self.group);
        group.last_id += 1;
        let id = group.last_id;
        group.open = Some(OpenGroup { id, members: 0, waiting: 0 });
        Ok(id)
    }

    /// After a caller's own work: commits the group, or leaves it to the
    /// callers queued on the writer and (if the caller's change is in it)
    /// waits for its end. Answers whether the caller's change, if it made
    /// one, was committed.
    fn end_turn(&self, conn: MutexGuard<'_, Connection>, id: u64, succeeded: bool, doubt: Option<rusqlite::Error>) -> StorageResult<()> {
        let mut group = lock(&self.group);
        let pending = group.pending;
        let Some(open) = group.open.as_mut().filter(|open| open.id == id) else {
            // Cannot happen: only the caller holding the writer ends a group.
            return Err(StorageError::Backend(format!("write group {id} ended under its caller")));
        };
        open.members += 1;
        let next = if let Some(e) = doubt {
            Next::Abandon(StorageError::Backend(format!("a write's savepoint could not be released or rolled back: {e}")))
        } else if conn.is_autocommit() {
            // SQLite rolls the whole transaction back on some errors (a full
            // disk, an I/O error): the others' changes are gone too.
            Next::Abandon(StorageError::Backend("SQLite rolled back the transaction of this write's group".into()))
        } else if !self.grouping || pending == 0 || open.members >= MAX_GROUP {
            Next::Commit
        } else {
            Next::Leave
        };
        let result = match next {
            Next::Leave if succeeded => {
                open.waiting += 1;
                drop(conn);
                while group.ended < id {
                    group = self.group_ended.wait(group).unwrap_or_else(|poisoned| poisoned.into_inner());
                }
                return match group.failed.get_mut(&id) {
                    None => Ok(()),
                    Some(failed) => {
                        let error = group_error(&failed.error);
                        failed.untold -= 1;
                        if failed.untold == 0 {
                            group.failed.remove(&id);
                        }
                        Err(error)
                    }
                };
            }
            // Its own work was undone: it has nothing to wait for.
            Next::Leave => return Ok(()),
            Next::Abandon(e) => Err(e),
            Next::Commit => {
                // Not holding the group lock through the fsync lets new
                // callers queue meanwhile and form the next group.
                drop(group);
                let committed = conn.execute_batch("COMMIT").map_err(StorageError::from);
                group = lock(&self.group);
                committed
            }
        };
        if result.is_err() && !conn.is_autocommit() {
            // A failed COMMIT may leave the transaction open; the next group
            // must not inherit its changes.
            let _ = conn.execute_batch("ROLLBACK");
        }
        let waiting = group.open.take().map_or(0, |open| open.waiting);
        group.ended = id;
        match &result {
            Ok(()) => {
                self.commits.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) if waiting > 0 => {
                group.failed.insert(id, FailedGroup { error: group_error(e), untold: waiting });
            }
            Err(_) => {}
        }
        drop(group);
        self.group_ended.notify_all();
        result
    }
}

/// What a write's closure did: returned, or panicked with this payload.
type Ran<T> = std::thread::Result<StorageResult<T>>;

/// Runs `f` in a savepoint of the group's transaction: kept if `f`
/// succeeds, rolled back if it fails or panics. Also answers the savepoint's
/// own failure, which leaves the group's transaction in doubt.
fn run_in_savepoint<T>(conn: &mut Connection, f: impl FnOnce(&Connection) -> StorageResult<T>) -> (Ran<T>, Option<rusqlite::Error>) {
    let savepoint = match conn.savepoint() {
        Ok(savepoint) => savepoint,
        Err(e) => return (Ok(Err(e.into())), None),
    };
    // Unwind safety: a panic's half-done work is rolled back with the
    // savepoint below, and the panic itself goes back to the caller.
    let ran = catch_unwind(AssertUnwindSafe(|| f(&savepoint)));
    let settled = match ran {
        Ok(Ok(_)) => savepoint.commit(),
        _ => savepoint.finish(),
    };
    (ran, settled.err())
}

#[cfg(test)]
mod tests {
    use std::panic::AssertUnwindSafe;
    use std::sync::{Barrier, mpsc};
    use std::thread;
    use std::time::{Duration, Instant};

    use super::*;

    type Step<'a> = Box<dyn FnOnce(&Connection) -> StorageResult<()> + Send + 'a>;

    /// A group commit over a file with a table of names, and the directory.
    fn fresh() -> (tempfile::TempDir, GroupCommit) {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("db")).unwrap();
        conn.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE users (name TEXT PRIMARY KEY NOT NULL)").unwrap();
        (dir, GroupCommit::new(conn, true))
    }

    fn add(tx: &Connection, name: &str) -> StorageResult<()> {
        tx.execute("INSERT INTO users (name) VALUES (?1)", [name])?;
        Ok(())
    }

    /// The names committed, as another connection sees them.
    fn names(dir: &tempfile::TempDir) -> Vec<String> {
        let conn = Connection::open(dir.path().join("db")).unwrap();
        let mut names: Vec<String> =
            conn.prepare("SELECT name FROM users").unwrap().query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
        names.sort();
        names
    }

    fn wait_until_someone_queues(storage: &GroupCommit) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while lock(&storage.group).pending == 0 {
            assert!(Instant::now() < deadline, "the next caller never queued for the writer");
            thread::sleep(Duration::from_millis(1));
        }
    }

    /// Runs each step in a write of its own, all in one group and in this
    /// order: each caller, holding the writer, waits for the next one to
    /// queue for it. Answers each thread's outcome.
    fn run_as_one_group<'a>(storage: &'a GroupCommit, steps: Vec<Step<'a>>) -> Vec<thread::Result<StorageResult<()>>> {
        let last = steps.len() - 1;
        thread::scope(|scope| {
            let threads: Vec<_> = steps
                .into_iter()
                .enumerate()
                .map(|(n, step)| {
                    let (started, has_started) = mpsc::channel();
                    let thread = scope.spawn(move || {
                        storage.write(|tx| {
                            started.send(()).unwrap();
                            if n < last {
                                wait_until_someone_queues(storage);
                            }
                            step(tx)
                        })
                    });
                    has_started.recv().unwrap();
                    thread
                })
                .collect();
            threads.into_iter().map(|thread| thread.join()).collect()
        })
    }

    /// Runs `write(thread, n)` for n in 0..writes on `threads` threads
    /// released together, so that their writes meet on the writer.
    fn all_at_once(threads: usize, writes: usize, write: impl Fn(usize, usize) + Sync) {
        let barrier = Barrier::new(threads);
        thread::scope(|scope| {
            for t in 0..threads {
                let (barrier, write) = (&barrier, &write);
                scope.spawn(move || {
                    barrier.wait();
                    (0..writes).for_each(|w| write(t, w));
                });
            }
        });
    }

    #[test]
    fn concurrent_writers_share_commits() {
        const THREADS: usize = 16;
        const WRITES: usize = 50;
        let (dir, storage) = fresh();
        all_at_once(THREADS, WRITES, |t, w| {
            let name = format!("u{t}-{w}");
            storage.write(|tx| add(tx, &name)).unwrap();
            // Answered only once committed: a reader sees it.
            let reader = Connection::open(dir.path().join("db")).unwrap();
            assert!(reader.prepare("SELECT 1 FROM users WHERE name = ?1").unwrap().exists([&name]).unwrap());
        });
        let mut expected: Vec<_> = (0..THREADS).flat_map(|t| (0..WRITES).map(move |w| format!("u{t}-{w}"))).collect();
        expected.sort();
        assert_eq!(names(&dir), expected);
        let (writes, commits) = ((THREADS * WRITES) as u64, storage.commits());
        eprintln!("{writes} writes in {commits} commits");
        assert!(commits < writes, "{writes} writes in {commits} commits: none were grouped");
    }

    #[test]
    fn concurrent_writers_that_fail_leave_no_trace() {
        const THREADS: usize = 16;
        const WRITES: usize = 50;
        let (dir, storage) = fresh();
        all_at_once(THREADS, WRITES, |t, w| {
            let result = storage.write(|tx| {
                add(tx, &format!("u{t}-{w}"))?;
                if w % 3 == 0 { Err(StorageError::Conflict("refused after writing".into())) } else { Ok(()) }
            });
            assert_eq!(result.is_ok(), w % 3 != 0);
        });
        let mut expected: Vec<_> =
            (0..THREADS).flat_map(|t| (0..WRITES).filter(|w| w % 3 != 0).map(move |w| format!("u{t}-{w}"))).collect();
        expected.sort();
        assert_eq!(names(&dir), expected);
        assert!(storage.commits() < (THREADS * WRITES) as u64);
    }

    #[test]
    fn a_failing_caller_undoes_only_its_own_work() {
        let (dir, storage) = fresh();
        let failing = |name: &'static str| -> Step<'_> {
            Box::new(move |tx| {
                add(tx, name)?;
                Err(StorageError::Conflict(format!("{name} refused after writing")))
            })
        };
        let steps: Vec<Step> = vec![Box::new(|tx| add(tx, "a")), failing("b"), Box::new(|tx| add(tx, "c")), failing("d")];
        let outcomes = run_as_one_group(&storage, steps);
        let outcomes: Vec<_> = outcomes.into_iter().map(|outcome| outcome.expect("no step panics")).collect();
        assert!(outcomes[0].is_ok() && outcomes[2].is_ok());
        assert!(matches!(outcomes[1], Err(StorageError::Conflict(_))));
        // The last of the group fails and still commits for the others.
        assert!(matches!(outcomes[3], Err(StorageError::Conflict(_))));
        assert_eq!(names(&dir), ["a", "c"]);
        assert_eq!(storage.commits(), 1, "one group, one commit");
    }

    #[test]
    fn a_panicking_caller_gets_its_panic_and_spares_its_group() {
        let (dir, storage) = fresh();
        let panicking = |name: &'static str| -> Step<'_> {
            Box::new(move |tx| {
                add(tx, name)?;
                panic!("{name} panics after writing");
            })
        };
        let steps: Vec<Step> = vec![Box::new(|tx| add(tx, "a")), panicking("b"), Box::new(|tx| add(tx, "c")), panicking("d")];
        let outcomes = run_as_one_group(&storage, steps);
        assert!(matches!(outcomes[0], Ok(Ok(()))));
        assert!(matches!(outcomes[2], Ok(Ok(()))));
        for n in [1, 3] {
            let panic = outcomes[n].as_ref().expect_err("the panic reaches its caller");
            assert!(panic.downcast_ref::<String>().is_some_and(|message| message.ends_with("panics after writing")));
        }
        assert_eq!(names(&dir), ["a", "c"]);
        assert_eq!(storage.commits(), 1);

        // Nothing is left open or locked.
        assert!(lock(&storage.writer).is_autocommit());
        storage.write(|tx| add(tx, "e")).unwrap();
        assert_eq!(names(&dir), ["a", "c", "e"]);
        // A panic of a caller alone, who commits for nobody.
        let alone = std::panic::catch_unwind(AssertUnwindSafe(|| {
            storage.write(|tx| -> StorageResult<()> {
                add(tx, "f")?;
                panic!("f panics")
            })
        }));
        assert!(alone.is_err());
        storage.write(|tx| add(tx, "g")).unwrap();
        assert_eq!(names(&dir), ["a", "c", "e", "g"]);
        assert!(lock(&storage.writer).is_autocommit());
    }

    #[test]
    fn a_failed_commit_fails_every_caller_of_its_group() {
        let (dir, storage) = fresh();
        // A deferred foreign key is checked at COMMIT: a dangling one makes
        // the group's COMMIT fail, with the transaction still open.
        lock(&storage.writer)
            .execute_batch(
                "PRAGMA foreign_keys = ON; CREATE TABLE dangling (name TEXT REFERENCES users (name) DEFERRABLE INITIALLY DEFERRED)",
            )
            .unwrap();
        let steps: Vec<Step> = vec![
            Box::new(|tx| add(tx, "a")),
            Box::new(|tx| {
                tx.execute("INSERT INTO dangling (name) VALUES ('nobody')", [])?;
                Ok(())
            }),
            Box::new(|tx| add(tx, "c")),
        ];
        let outcomes = run_as_one_group(&storage, steps);
        for outcome in outcomes {
            let error = outcome.expect("no step panics").expect_err("the group was not committed");
            assert!(matches!(error, StorageError::Sqlite(rusqlite::Error::SqliteFailure(..))), "{error:?}");
        }
        assert!(names(&dir).is_empty());
        assert_eq!(storage.commits(), 0);
        assert!(lock(&storage.group).failed.is_empty(), "every waiter took its error");

        // The failed transaction was rolled back: the next write starts afresh.
        storage.write(|tx| add(tx, "d")).unwrap();
        assert_eq!(names(&dir), ["d"]);
        assert_eq!(storage.commits(), 1);
    }
}
