//! Reports as users read them, and their status changes.

use suishoupai_core::ReportStatus;
use suishoupai_core::rules::{check_label, check_note};

use crate::auth;
use crate::clock::now_rfc3339;
use crate::error::{Error, Result};
use crate::model::{Scope, User};
use crate::storage::{self, ChangeBatch, NewEvent, ReportFilter, ReportPage, Storage, StoredReport};

pub fn report_not_found(id: &str) -> Error {
    Error::NotFound(format!("no report {id}"))
}

/// The reports `user` may see, filtered and paged.
pub fn list(storage: &dyn Storage, user: &User, filter: &ReportFilter) -> Result<ReportPage> {
    let scope = auth::scope(user);
    storage::read(storage, |tx| Ok(tx.reports(&scope, filter)?))
}

/// One report `user` may see; 404 for any other, whether it exists or not.
pub fn one(storage: &dyn Storage, user: &User, id: &str) -> Result<StoredReport> {
    let scope = auth::scope(user);
    storage::read(storage, |tx| tx.report(&scope, id)?.ok_or_else(|| report_not_found(id)))
}

/// What changed for `user` after sequence number `after`, oldest first.
pub fn changes(storage: &dyn Storage, user: &User, after: Option<i64>, limit: usize) -> Result<ChangeBatch> {
    let scope = auth::scope(user);
    storage::read(storage, |tx| Ok(tx.changes(&scope, after, limit)?))
}

/// A status change as asked for.
#[derive(Debug, Clone)]
pub struct StatusChange {
    pub status: ReportStatus,
    pub note: Option<String>,
    /// Set with `dispatched`; kept on the report afterwards.
    pub department: Option<String>,
}

/// Changes a report's status, if `user` may, as one event. The role is
/// judged before the report is looked up (a role that may never do it gets
/// 403); the report's state inside the transaction, so that the decision
/// and the change cannot be split by another writer.
pub fn set_status(storage: &dyn Storage, user: &User, id: &str, change: &StatusChange) -> Result<StoredReport> {
    auth::require_status_change(user, change.status)?;
    if let Some(note) = &change.note {
        check_note(note).map_err(|e| Error::BadRequest(format!("note: {e}")))?;
    }
    match (&change.department, change.status) {
        (None, ReportStatus::Dispatched) => return Err(Error::BadRequest("`dispatched` needs a department".into())),
        (Some(department), ReportStatus::Dispatched) => {
            check_label("department", department).map_err(|e| Error::BadRequest(e.to_string()))?
        }
        (Some(_), _) => return Err(Error::BadRequest("department goes only with status `dispatched`".into())),
        (None, _) => {}
    }
    let scope = auth::scope(user);
    let at = now_rfc3339();
    storage::write(storage, |tx| {
        let report = tx.report(&scope, id)?.ok_or_else(|| report_not_found(id))?;
        auth::check_status_change(user, &report)?;
        tx.append_event(&NewEvent {
            report_id: id,
            status: change.status,
            note: change.note.as_deref(),
            department: change.department.as_deref(),
            actor_id: user.id,
            at: &at,
        })?;
        // Read back with the widest scope: a change may take the report
        // out of the actor's own (a re-dispatch away from a department).
        tx.report(&Scope::All, id)?.ok_or_else(|| report_not_found(id))
    })
}
