//! What goes over the wire to a caller: built from storage's rows, never a
//! row as it is, so that what a role sees is decided here and a new column
//! reaches no one by accident.
//!
//! - Coordinators and admins see everything.
//! - Departments and grid workers see the case (content, place, photos,
//!   history) but never who reported it: no owner, no reporter, and no
//!   actor's name on an event the reporter made.
//! - Residents see their own reports, the public notes and no internal
//!   note, and no staff member's name.
//!
//! The owner of a report always sees their own name on it.

use serde::Serialize;
use suishoupai_core::protocol::{CaseEvent, Task, WirePhoto};
use suishoupai_core::{Action, Location, ReportStatus, Reporter};

use crate::model::{Role, User};
use crate::services::workflow;
use crate::storage::{HistoryEntry, StoredReport};

/// A report as the read API and the actions show it to one caller.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportView {
    pub id: String,
    pub category: String,
    pub note: String,
    pub location: Option<Location>,
    pub photos: Vec<WirePhoto>,
    /// As the device sent it; shown to coordinators and the reporter only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reporter: Option<Reporter>,
    pub taken_at: Option<String>,
    pub created_at: String,
    pub fixed_on_spot: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub after_photos: Vec<WirePhoto>,
    pub status: ReportStatus,
    /// The name of the user who pushed it; coordinators and that user only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The cell the report was placed in when it arrived; null for none.
    pub grid_id: Option<String>,
    /// The department it is dispatched to now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    pub due_at: Option<String>,
    /// Open, running against its deadline, and past it now.
    pub overdue: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<String>,
    /// What the caller may do with it now.
    pub allowed_actions: Vec<Action>,
    pub received_at: String,
    pub history: Vec<CaseEvent>,
}

/// Who is looking, and when.
#[derive(Debug, Clone, Copy)]
pub struct Viewer<'a> {
    pub user: &'a User,
    pub now_ms: i64,
}

impl Viewer<'_> {
    fn is_staff_over_all(&self) -> bool {
        matches!(self.user.role, Role::Coordinator | Role::Admin)
    }

    /// What the caller sees of one event of a case.
    fn event(&self, report: &StoredReport, e: &HistoryEntry) -> CaseEvent {
        let own = e.actor_id == self.user.id;
        let actor = if own || self.is_staff_over_all() {
            Some(e.actor.clone())
        } else if self.user.role == Role::Resident || e.actor_id == report.owner_id {
            // Residents see no staff names; nobody but coordinators sees the reporter's.
            None
        } else {
            Some(e.actor.clone())
        };
        CaseEvent {
            action: e.action,
            status: e.status,
            at: e.at.clone(),
            actor,
            actor_role: e.actor_role,
            note: if self.user.role == Role::Resident { None } else { e.note.clone() },
            public_note: e.public_note.clone(),
            department: e.department.clone(),
            due_at: e.due_at.clone(),
            photos: e.photos.clone(),
        }
    }

    pub fn report(&self, r: StoredReport) -> ReportView {
        let sees_reporter = self.is_staff_over_all() || r.owner_id == self.user.id;
        let history = r.history.iter().map(|e| self.event(&r, e)).collect();
        let overdue = workflow::overdue(&r, self.now_ms);
        let allowed_actions = workflow::allowed_actions(self.user, &r);
        let w = r.wire;
        ReportView {
            id: w.id,
            category: w.category,
            note: w.note,
            location: w.location,
            photos: w.photos,
            reporter: sees_reporter.then_some(w.reporter),
            taken_at: w.taken_at,
            created_at: w.created_at,
            fixed_on_spot: w.fixed_on_spot,
            after_photos: w.after_photos,
            status: r.status,
            owner: sees_reporter.then_some(r.owner),
            grid_id: r.grid_id,
            department: r.department,
            due_at: r.due_at,
            overdue,
            duplicate_of: r.duplicate_of,
            allowed_actions,
            received_at: r.received_at,
            history,
        }
    }

    /// A case as a device's task list holds it.
    pub fn task(&self, r: StoredReport) -> Task {
        let history = r.history.iter().map(|e| self.event(&r, e)).collect();
        let overdue = workflow::overdue(&r, self.now_ms);
        let allowed_actions = workflow::allowed_actions(self.user, &r);
        let w = r.wire;
        Task {
            id: w.id,
            category: w.category,
            note: w.note,
            location: w.location,
            photos: w.photos,
            created_at: w.created_at,
            status: r.status,
            grid_id: r.grid_id,
            department: r.department,
            due_at: r.due_at,
            overdue,
            allowed_actions,
            history,
        }
    }
}

/// `GET /v1/reports`.
#[derive(Debug, Serialize)]
pub struct ReportList {
    pub reports: Vec<ReportView>,
    /// Pass back as `cursor` for the next page; null on the last one.
    pub next_cursor: Option<String>,
}
