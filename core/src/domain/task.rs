//! The cases a grid worker or a department user works on the device, as
//! the device knows them: the server's last word (a [`Task`] of the task
//! feed) with this device's own actions that have not reached the server
//! yet folded in, judged by the one workflow table ([`super::workflow`]).
//! Pure: no SQL, no clock of its own (the caller passes `now_ms`).

use serde::Serialize;

use super::location::Location;
use super::report::{PhotoRef, ReportStatus, SyncState};
use super::workflow::{self, Action, Capacity};
use crate::protocol::{CaseEvent, Me, Task, WirePhoto};

/// How long a case this device acted on stays in its task list after it
/// has left the server's feed (closed, returned, dispatched elsewhere),
/// counted from when the action was synced or refused: long enough for the
/// user to see how it went at a later glance, short enough that the list
/// stays the server's. A case with an action still pending stays until it
/// is sent, however long that takes.
pub const KEEP_ACTED_ON_MS: i64 = 7 * 24 * 3600 * 1000;

/// One action this device took on a case, and where it stands in getting
/// to the server.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OwnAction {
    /// A UUIDv7 made on the device: the server recognises a resend by it.
    pub action_id: String,
    pub report_id: String,
    pub action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_at: Option<String>,
    /// After-photos (for `rectify`), stored like a report's photos.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub photos: Vec<PhotoRef>,
    /// When it was taken on the device, RFC 3339 UTC.
    pub taken_at: String,
    /// `pending` until the server has it; `failed` for good when the server
    /// refused it (`sync_error` says why, in the server's words).
    pub sync_state: SyncState,
    pub sync_error: Option<String>,
}

/// A case in the device's task list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskView {
    pub id: String,
    pub category: String,
    pub note: String,
    pub location: Option<Location>,
    /// The reporter's photos; their thumbnails are on the device once synced.
    pub photos: Vec<PhotoRef>,
    pub created_at: String,
    /// As this device knows it: the server's status with this device's
    /// pending actions applied.
    pub status: ReportStatus,
    /// As the server last said.
    pub server_status: ReportStatus,
    pub grid_id: Option<String>,
    pub department: Option<String>,
    /// The deadline, with a pending reopen's new one applied.
    pub due_at: Option<String>,
    /// Open, running against its deadline and past it, by the device's clock.
    pub overdue: bool,
    /// What this user may do now, by the workflow table, from `status`.
    pub allowed_actions: Vec<Action>,
    /// This device's actions on the case not yet sent.
    pub pending_actions: u32,
    /// Whether the server's last feed still had the case; false for a case
    /// kept only because this device acted on it (see [`KEEP_ACTED_ON_MS`]).
    pub in_feed: bool,
}

/// One case with its history and this device's own actions on it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskDetail {
    #[serde(flatten)]
    pub task: TaskView,
    /// The server's history of the case, oldest first (no reporter's names).
    pub history: Vec<CaseEvent>,
    /// This device's actions on the case, in the order taken.
    pub actions: Vec<OwnAction>,
}

/// The capacities `me` stands in to `task` (none when the device does not
/// know its user yet).
pub fn capacities_for(me: Option<&Me>, task: &Task) -> Vec<Capacity> {
    me.map(|me| {
        workflow::capacities(me.role, me.grid_id.as_deref(), me.department.as_deref(), task.grid_id.as_deref(), task.department.as_deref())
    })
    .unwrap_or_default()
}

/// The status and deadline after this device's `pending` actions, taken in
/// order from the server's last word. An action the table does not allow
/// from where the case stands is skipped: the server will refuse it too (or
/// has applied it already, when its answer was lost), and it moves nothing.
pub fn fold<'a>(task: &Task, capacities: &[Capacity], pending: impl IntoIterator<Item = &'a OwnAction>) -> (ReportStatus, Option<String>) {
    let (mut status, mut due_at) = (task.status, task.due_at.clone());
    for action in pending {
        if let Ok(to) = workflow::judge(action.action, status, capacities) {
            status = to;
            if action.due_at.is_some() {
                due_at = action.due_at.clone();
            }
        }
    }
    (status, due_at)
}

/// Whether a case in `status` with deadline `due_at` is late at `now_ms`.
pub fn is_overdue(status: ReportStatus, due_at: Option<&str>, now_ms: i64) -> bool {
    workflow::is_open(status)
        && workflow::runs_against_deadline(status)
        && due_at.and_then(|d| crate::rules::parse_due_at(d).ok()).is_some_and(|due| due < now_ms)
}

/// The case as the task list shows it. `own` are this device's actions on
/// it, in order (only the pending ones move it).
pub fn view(task: &Task, me: Option<&Me>, own: &[OwnAction], in_feed: bool, now_ms: i64) -> TaskView {
    let capacities = capacities_for(me, task);
    let pending: Vec<&OwnAction> = own.iter().filter(|a| a.sync_state == SyncState::Pending).collect();
    let (status, due_at) = fold(task, &capacities, pending.iter().copied());
    TaskView {
        id: task.id.clone(),
        category: task.category.clone(),
        note: task.note.clone(),
        location: task.location,
        photos: task.photos.iter().map(photo_ref).collect(),
        created_at: task.created_at.clone(),
        status,
        server_status: task.status,
        grid_id: task.grid_id.clone(),
        department: task.department.clone(),
        overdue: is_overdue(status, due_at.as_deref(), now_ms),
        due_at,
        allowed_actions: workflow::allowed_actions(status, &capacities),
        pending_actions: pending.len() as u32,
        in_feed,
    }
}

pub fn photo_ref(p: &WirePhoto) -> PhotoRef {
    PhotoRef { sha256: p.sha256.clone(), width: p.width, height: p.height, bytes: p.bytes }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Role;

    fn task(status: ReportStatus) -> Task {
        Task {
            id: "01936f3e-1c2d-7a8b-9c0d-112233445566".into(),
            category: "garbage".into(),
            note: String::new(),
            location: None,
            photos: Vec::new(),
            created_at: "2026-12-01T08:00:00.000Z".into(),
            status,
            grid_id: Some("G-7".into()),
            department: Some("cg".into()),
            due_at: Some("2026-12-03T18:00:00+08:00".into()),
            overdue: false,
            allowed_actions: Vec::new(),
            history: Vec::new(),
        }
    }

    fn own(action: Action, due_at: Option<&str>, sync_state: SyncState) -> OwnAction {
        OwnAction {
            action_id: String::new(),
            report_id: String::new(),
            action,
            note: None,
            public_note: None,
            due_at: due_at.map(Into::into),
            photos: Vec::new(),
            taken_at: String::new(),
            sync_state,
            sync_error: None,
        }
    }

    fn grid_worker() -> Me {
        Me { name: "王".into(), role: Role::GridWorker, grid_id: Some("G-7".into()), department: None }
    }

    #[test]
    fn pending_actions_move_the_case_and_failed_ones_do_not() {
        let me = grid_worker();
        let t = task(ReportStatus::Dispatched);
        let actions = [
            own(Action::Rectify, None, SyncState::Pending),
            own(Action::Reopen, Some("2099-01-01T00:00:00Z"), SyncState::Pending),
            own(Action::Verify, None, SyncState::Failed),
        ];
        let v = view(&t, Some(&me), &actions, true, 0);
        assert_eq!((v.status, v.server_status, v.pending_actions), (ReportStatus::Dispatched, ReportStatus::Dispatched, 2));
        assert_eq!(v.due_at.as_deref(), Some("2099-01-01T00:00:00Z"), "the reopen's deadline");
        assert_eq!(v.allowed_actions, [Action::Rectify]);
        let v = view(&t, Some(&me), &actions[..1], true, 0);
        assert_eq!((v.status, v.allowed_actions.as_slice()), (ReportStatus::Rectified, &[Action::Verify, Action::Reopen][..]));
    }

    #[test]
    fn an_action_the_case_has_moved_past_moves_nothing() {
        // The server applied the rectify already; its answer was lost.
        let me = grid_worker();
        let v = view(&task(ReportStatus::Rectified), Some(&me), &[own(Action::Rectify, None, SyncState::Pending)], true, 0);
        assert_eq!(v.status, ReportStatus::Rectified);
    }

    #[test]
    fn overdue_by_the_device_clock() {
        let due = crate::rules::parse_due_at("2026-12-03T18:00:00+08:00").unwrap();
        assert!(!is_overdue(ReportStatus::Dispatched, Some("2026-12-03T18:00:00+08:00"), due));
        assert!(is_overdue(ReportStatus::InProgress, Some("2026-12-03T18:00:00+08:00"), due + 1));
        assert!(!is_overdue(ReportStatus::Rectified, Some("2026-12-03T18:00:00+08:00"), due + 1), "awaiting verification");
        assert!(!is_overdue(ReportStatus::Dispatched, None, due + 1));
        let v = view(&task(ReportStatus::Dispatched), None, &[], true, due + 1);
        assert!(v.overdue && v.allowed_actions.is_empty(), "no user known: nothing allowed");
    }
}
