//! The cases of the task feed and the outbox of this device's actions on
//! them: SQL only. What a case looks like to the user is decided in
//! [`crate::domain::task`].

use std::collections::HashSet;

use rusqlite::{OptionalExtension, Row, Transaction, params};

use super::{photo_from_row, set_setting, setting};
use crate::domain::page::TaskCursor;
use crate::domain::{OwnAction, PhotoRef, ReportStatus, SyncState};
use crate::error::{Error, Result};
use crate::protocol::{ActionRequest, CaseState, MAX_TASKS, Me, Task};

/// The setting that holds the `me` of the last task feed, as JSON.
const SETTING_ME: &str = "me";

/// A case as stored: the server's Task, and where it stood in the last feed.
#[derive(Debug, Clone)]
pub struct StoredTask {
    pub task: Task,
    /// False when the last feed no longer had it (kept for this device's actions).
    pub in_feed: bool,
}

fn damaged(what: &str) -> impl FnOnce(serde_json::Error) -> Error + '_ {
    move |e| Error::StoreDamaged(format!("a stored {what} does not parse: {e}"))
}

/// Who the server said this device's user is, at the last task feed.
pub fn me(tx: &Transaction) -> Result<Option<Me>> {
    setting(tx, SETTING_ME)?.map(|json| serde_json::from_str(&json).map_err(damaged("user"))).transpose()
}

/// Replaces the task list with a feed: its cases (the first [`MAX_TASKS`])
/// in its order, plus the cases out of it that `keep` holds on to: those
/// with an action of this device still pending, or synced or refused at or
/// after `keep_since_ms`. Answers the thumbnails no case shows any more
/// (their rows are gone; the caller removes the files after the commit).
pub fn replace_tasks(tx: &Transaction, me: &Me, tasks: &[Task], now_ms: i64, keep_since_ms: i64) -> Result<Vec<String>> {
    set_setting(tx, SETTING_ME, Some(&serde_json::to_string(me).expect("Me serialises")))?;
    tx.execute("UPDATE tasks SET feed_rank = NULL", [])?;
    let mut upsert = tx.prepare_cached(
        "INSERT INTO tasks (id, task, feed_rank, fetched_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (id) DO UPDATE SET task = excluded.task, feed_rank = excluded.feed_rank, fetched_at = excluded.fetched_at",
    )?;
    // A case's id goes into the path of its actions: only report ids are taken.
    let valid = tasks.iter().filter(|t| crate::rules::check_report_id(&t.id).is_ok());
    for (rank, task) in valid.take(MAX_TASKS).enumerate() {
        upsert.execute(params![task.id, serde_json::to_string(task).expect("Task serialises"), rank as i64, now_ms])?;
    }
    tx.execute(
        "DELETE FROM tasks WHERE feed_rank IS NULL AND NOT EXISTS (
             SELECT 1 FROM actions a WHERE a.report_id = tasks.id AND (a.sync_state = 'pending' OR a.resolved_at >= ?1))",
        [keep_since_ms],
    )?;
    // Thumbnails of photos no case shows any more.
    let shown: HashSet<String> = list_tasks(tx)?.iter().flat_map(|t| task_photos(&t.task)).collect();
    let stored: Vec<String> =
        tx.prepare_cached("SELECT sha256 FROM task_thumbnails")?.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    let mut gone = Vec::new();
    for sha in stored.into_iter().filter(|sha| !shown.contains(sha)) {
        tx.prepare_cached("DELETE FROM task_thumbnails WHERE sha256 = ?1")?.execute([&sha])?;
        // A photo of this device's own report or action keeps its file.
        if !super::photo_exists(tx, &sha)? {
            gone.push(sha);
        }
    }
    Ok(gone)
}

/// Every photo a case shows: the reporter's, and the after-photos in its history.
pub fn task_photos(task: &Task) -> impl Iterator<Item = String> + '_ {
    task.photos.iter().map(|p| p.sha256.clone()).chain(task.history.iter().flat_map(|e| e.photos.iter().cloned()))
}

fn stored_task(row: &Row) -> rusqlite::Result<(String, bool)> {
    Ok((row.get(0)?, row.get::<_, Option<i64>>(1)?.is_some()))
}

fn parse_task((json, in_feed): (String, bool)) -> Result<StoredTask> {
    Ok(StoredTask { task: serde_json::from_str(&json).map_err(damaged("task"))?, in_feed })
}

/// The task list: the last feed's cases in its order (newest change first),
/// then the cases kept for this device's actions, most recently acted on first.
pub fn list_tasks(tx: &Transaction) -> Result<Vec<StoredTask>> {
    Ok(task_page(tx, None, None)?.into_iter().map(|(stored, _)| stored).collect())
}

const AFTER_IN_FEED: &str = "feed_rank IS NULL OR feed_rank > ?1 OR (feed_rank = ?1 AND id > ?2)";
const AFTER_KEPT: &str = "feed_rank IS NULL AND (last_seq < ?1 OR (last_seq = ?1 AND id > ?2))";

/// Up to `count` cases of the task list (all with `None`), in its order,
/// starting after `after`; each with the cursor that starts after it.
pub fn task_page(tx: &Transaction, after: Option<&TaskCursor>, count: Option<u32>) -> Result<Vec<(StoredTask, TaskCursor)>> {
    // The list's order, and for each cursor the rows that come after it in
    // that order; no cursor is one before the first rank.
    let (after_sql, key, id) = match after {
        None => (AFTER_IN_FEED, i64::MIN, ""),
        Some(TaskCursor::InFeed { rank, id }) => (AFTER_IN_FEED, *rank, id.as_str()),
        Some(TaskCursor::Kept { last_seq, id }) => (AFTER_KEPT, *last_seq, id.as_str()),
    };
    let sql = format!(
        "SELECT task, feed_rank, id, last_seq FROM (
             SELECT task, feed_rank, id, coalesce((SELECT max(seq) FROM actions a WHERE a.report_id = tasks.id), -1) AS last_seq
             FROM tasks)
         WHERE {after_sql}
         ORDER BY feed_rank IS NULL, feed_rank, last_seq DESC, id LIMIT ?3"
    );
    let limit = count.map_or(-1, i64::from);
    let rows = tx
        .prepare_cached(&sql)?
        .query_map(params![key, id, limit], |row| {
            let rank: Option<i64> = row.get(1)?;
            let id: String = row.get(2)?;
            let cursor = match rank {
                Some(rank) => TaskCursor::InFeed { rank, id },
                None => TaskCursor::Kept { last_seq: row.get(3)?, id },
            };
            Ok((row.get::<_, String>(0)?, rank.is_some(), cursor))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter().map(|(json, in_feed, cursor)| Ok((parse_task((json, in_feed))?, cursor))).collect()
}

pub fn get_task(tx: &Transaction, id: &str) -> Result<Option<StoredTask>> {
    tx.prepare_cached("SELECT task, feed_rank FROM tasks WHERE id = ?1")?
        .query_row([id], stored_task)
        .optional()?
        .map(parse_task)
        .transpose()
}

/// The case's state after an action the server took, until the next feed.
pub fn apply_case_state(tx: &Transaction, state: &CaseState) -> Result<()> {
    let Some(mut stored) = get_task(tx, &state.id)? else { return Ok(()) };
    stored.task.status = state.status;
    stored.task.due_at = state.due_at.clone();
    stored.task.overdue = state.overdue;
    stored.task.allowed_actions = state.allowed_actions.clone();
    tx.prepare_cached("UPDATE tasks SET task = ?2 WHERE id = ?1")?
        .execute(params![state.id, serde_json::to_string(&stored.task).expect("Task serialises")])?;
    Ok(())
}

/// The case's status, as the server said in refusing an action.
pub fn set_task_status(tx: &Transaction, id: &str, status: ReportStatus) -> Result<()> {
    let Some(mut stored) = get_task(tx, id)? else { return Ok(()) };
    stored.task.status = status;
    tx.prepare_cached("UPDATE tasks SET task = ?2 WHERE id = ?1")?
        .execute(params![id, serde_json::to_string(&stored.task).expect("Task serialises")])?;
    Ok(())
}

/// The photos of tasks that have no thumbnail on the device yet.
pub fn thumbnails_wanted(tx: &Transaction) -> Result<Vec<String>> {
    let mut wanted = Vec::new();
    let mut seen = HashSet::new();
    for stored in list_tasks(tx)? {
        for sha in task_photos(&stored.task) {
            if crate::rules::is_sha256_hex(&sha) && seen.insert(sha.clone()) && !has_thumbnail(tx, &sha)? {
                wanted.push(sha);
            }
        }
    }
    Ok(wanted)
}

/// Whether the device holds a thumbnail of `sha256`: of its own photo, or fetched for a task.
pub fn has_thumbnail(tx: &Transaction, sha256: &str) -> Result<bool> {
    Ok(super::photo_exists(tx, sha256)? || tx.prepare_cached("SELECT 1 FROM task_thumbnails WHERE sha256 = ?1")?.exists([sha256])?)
}

/// A fetched thumbnail, whose file is already on disk.
pub fn insert_task_thumbnail(tx: &Transaction, sha256: &str, bytes: u64) -> Result<()> {
    tx.prepare_cached("INSERT OR IGNORE INTO task_thumbnails (sha256, bytes) VALUES (?1, ?2)")?.execute(params![sha256, bytes as i64])?;
    Ok(())
}

/// An action as it is queued: the request as it will be sent, and its
/// after-photos, already stored (see [`super::insert_photo`]).
pub fn insert_action(tx: &Transaction, request: &ActionRequest, report_id: &str, photos: &[(PhotoRef, u64)], taken_at: &str) -> Result<()> {
    tx.prepare_cached("INSERT INTO actions (action_id, report_id, action, request, taken_at) VALUES (?1, ?2, ?3, ?4, ?5)")?.execute(
        params![
            request.action_id,
            report_id,
            request.action.code(),
            serde_json::to_string(request).expect("ActionRequest serialises"),
            taken_at
        ],
    )?;
    for (position, (photo, thumbnail_bytes)) in photos.iter().enumerate() {
        super::insert_photo(tx, photo, *thumbnail_bytes)?;
        tx.prepare_cached("INSERT INTO action_photos (action_id, position, sha256) VALUES (?1, ?2, ?3)")?.execute(params![
            request.action_id,
            position as i64,
            photo.sha256
        ])?;
    }
    Ok(())
}

/// A queued action, as the sync client sends it.
#[derive(Debug, Clone)]
pub struct QueuedAction {
    pub action: OwnAction,
    pub request: ActionRequest,
    pub attempts: u32,
    pub next_attempt_at: i64,
}

const ACTION_COLUMNS: &str = "action_id, report_id, request, taken_at, sync_state, sync_error, attempts, next_attempt_at";

/// An `actions` row as read ([`ACTION_COLUMNS`]), before its JSON is parsed
/// and its photos are read.
struct ActionRow {
    action_id: String,
    report_id: String,
    request: String,
    taken_at: String,
    sync_state: String,
    sync_error: Option<String>,
    attempts: u32,
    next_attempt_at: i64,
}

fn queued_from_row(row: &Row) -> rusqlite::Result<ActionRow> {
    Ok(ActionRow {
        action_id: row.get(0)?,
        report_id: row.get(1)?,
        request: row.get(2)?,
        taken_at: row.get(3)?,
        sync_state: row.get(4)?,
        sync_error: row.get(5)?,
        attempts: row.get(6)?,
        next_attempt_at: row.get(7)?,
    })
}

fn queued(tx: &Transaction, row: ActionRow) -> Result<QueuedAction> {
    let ActionRow { action_id, report_id, request, taken_at, sync_state, sync_error, attempts, next_attempt_at } = row;
    let request: ActionRequest = serde_json::from_str(&request).map_err(damaged("action"))?;
    let photos = tx
        .prepare_cached(
            "SELECT p.sha256, p.width, p.height, p.bytes FROM action_photos ap JOIN photos p USING (sha256)
             WHERE ap.action_id = ?1 ORDER BY ap.position",
        )?
        .query_map([&action_id], photo_from_row)?
        .collect::<rusqlite::Result<_>>()?;
    let action = OwnAction {
        action_id,
        report_id,
        action: request.action,
        note: request.note.clone(),
        public_note: request.public_note.clone(),
        due_at: request.due_at.clone(),
        photos,
        taken_at,
        sync_state: SyncState::from_code(&sync_state)?,
        sync_error,
    };
    Ok(QueuedAction { action, request, attempts, next_attempt_at })
}

/// This device's actions on one case, in the order taken.
pub fn actions_of(tx: &Transaction, report_id: &str) -> Result<Vec<OwnAction>> {
    let rows = tx
        .prepare_cached(&format!("SELECT {ACTION_COLUMNS} FROM actions WHERE report_id = ?1 ORDER BY seq"))?
        .query_map([report_id], queued_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter().map(|row| Ok(queued(tx, row)?.action)).collect()
}

/// The oldest pending action: the head of the queue, which the others wait behind.
pub fn next_pending_action(tx: &Transaction) -> Result<Option<QueuedAction>> {
    let row = tx
        .prepare_cached(&format!("SELECT {ACTION_COLUMNS} FROM actions WHERE sync_state = 'pending' ORDER BY seq LIMIT 1"))?
        .query_row([], queued_from_row)
        .optional()?;
    row.map(|row| queued(tx, row)).transpose()
}

pub fn get_action(tx: &Transaction, action_id: &str) -> Result<Option<OwnAction>> {
    let row = tx
        .prepare_cached(&format!("SELECT {ACTION_COLUMNS} FROM actions WHERE action_id = ?1"))?
        .query_row([action_id], queued_from_row)
        .optional()?;
    row.map(|row| Ok(queued(tx, row)?.action)).transpose()
}

/// The server took the action: it leaves the queue, and the case takes the
/// state the server answered.
pub fn mark_action_synced(tx: &Transaction, action_id: &str, state: &CaseState, now_ms: i64) -> Result<()> {
    tx.prepare_cached(
        "UPDATE actions SET sync_state = 'synced', sync_error = NULL, resolved_at = ?2, result_status = ?3 WHERE action_id = ?1",
    )?
    .execute(params![action_id, now_ms, state.status.code()])?;
    apply_case_state(tx, state)
}

/// The server refused the action for good: it is never sent again.
pub fn mark_action_failed(tx: &Transaction, action_id: &str, reason: &str, now_ms: i64) -> Result<()> {
    tx.prepare_cached("UPDATE actions SET sync_state = 'failed', sync_error = ?2, resolved_at = ?3 WHERE action_id = ?1")?
        .execute(params![action_id, reason, now_ms])?;
    Ok(())
}

/// A retryable failure: try again after `next_attempt_at` (unix ms).
pub fn mark_action_retry(tx: &Transaction, action_id: &str, reason: &str, next_attempt_at: i64) -> Result<()> {
    tx.prepare_cached(
        "UPDATE actions SET attempts = attempts + 1, next_attempt_at = ?2, sync_error = ?3 WHERE action_id = ?1 AND sync_state = 'pending'",
    )?
    .execute(params![action_id, next_attempt_at, reason])?;
    Ok(())
}

/// How many actions wait to be sent.
pub fn pending_action_count(tx: &Transaction) -> Result<u64> {
    Ok(tx.query_row("SELECT count(*) FROM actions WHERE sync_state = 'pending'", [], |r| r.get::<_, i64>(0))? as u64)
}

/// The last error of a pending action that waits to be retried.
pub fn last_action_retry_error(tx: &Transaction) -> Result<Option<String>> {
    Ok(tx
        .query_row("SELECT sync_error FROM actions WHERE sync_state = 'pending' AND sync_error IS NOT NULL ORDER BY seq LIMIT 1", [], |r| {
            r.get(0)
        })
        .optional()?)
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::*;
    use crate::domain::Role;
    use crate::store::schema::{LATEST_VERSION, migrate_to};

    fn task(n: u32) -> Task {
        Task {
            id: format!("01936f3e-1c2d-7a8b-9c0d-{n:012}"),
            category: "garbage".into(),
            note: String::new(),
            location: None,
            photos: Vec::new(),
            created_at: "2026-12-01T08:00:00.000Z".into(),
            status: ReportStatus::Dispatched,
            grid_id: Some("G-7".into()),
            department: None,
            due_at: None,
            overdue: false,
            allowed_actions: Vec::new(),
            history: Vec::new(),
        }
    }

    fn ids(page: &[(StoredTask, TaskCursor)]) -> Vec<String> {
        page.iter().map(|(stored, _)| stored.task.id.clone()).collect()
    }

    /// Walks the list page by page, each page starting after the last
    /// item's cursor.
    fn walk(tx: &Transaction, size: u32) -> Vec<String> {
        let (mut seen, mut after) = (Vec::new(), None);
        loop {
            let page = task_page(tx, after.as_ref(), Some(size)).unwrap();
            assert!(page.len() <= size as usize);
            seen.extend(ids(&page));
            match page.last() {
                Some((_, cursor)) if page.len() == size as usize => after = Some(cursor.clone()),
                _ => return seen,
            }
        }
    }

    #[test]
    fn pages_of_the_task_list_join_into_the_whole_list() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_to(&mut conn, LATEST_VERSION).unwrap();
        let tx = conn.transaction().unwrap();
        let me = Me { name: "王".into(), role: Role::GridWorker, grid_id: Some("G-7".into()), department: None };
        // Cases 0..4 acted on by this device, then out of the feed: kept,
        // the most recently acted on first (4, then 1 and 3 with one action
        // each in the order 1 then 3, then 0 acted on first).
        let first: Vec<Task> = (0..5).map(task).collect();
        replace_tasks(&tx, &me, &first, 0, 0).unwrap();
        for n in [0, 1, 3, 4] {
            tx.execute(
                "INSERT INTO actions (action_id, report_id, action, request, taken_at) VALUES (?1, ?2, 'verify', '{}', 'now')",
                params![format!("a{n}"), task(n).id],
            )
            .unwrap();
        }
        // The feed now: cases 10..17, in the order 17, 16, ... 10.
        let feed: Vec<Task> = (10..18).rev().map(task).collect();
        replace_tasks(&tx, &me, &feed, 0, 0).unwrap();

        let whole = ids(&task_page(&tx, None, None).unwrap());
        let expected: Vec<String> = (10..18).rev().chain([4, 3, 1, 0]).map(|n| task(n).id).collect();
        assert_eq!(whole, expected, "the feed in its order, then the kept cases, last acted on first");
        assert_eq!(list_tasks(&tx).unwrap().iter().map(|t| t.task.id.clone()).collect::<Vec<_>>(), expected);
        for size in [1, 3, 5, 8, 12, 50] {
            assert_eq!(walk(&tx, size), expected, "pages of {size}");
        }
        // A cursor survives its text form.
        let page = task_page(&tx, None, Some(9)).unwrap();
        let (_, cursor) = page.last().unwrap();
        assert_eq!(TaskCursor::decode(&cursor.encode()).unwrap(), *cursor);
        assert_eq!(ids(&task_page(&tx, Some(cursor), Some(10)).unwrap()), expected[9..]);
    }
}
