//! The cycle: one action at a time, judged by the core's table (the same
//! one the device checks offline), recorded as an event with everything it
//! came with, and folded into the case's state in the same transaction.
//!
//! The order of judgement is part of the contract: the role first (403,
//! before the report is looked up, so that nothing about it is revealed),
//! whether the caller may see the report (404), a repeat of the same
//! `action_id` (its first decision again: 200 with the report as it is
//! now, the action not taken twice, or the same refusal; 409
//! `action_conflict` if the content differs), the
//! request's fields and deadline (400), the caller's capacity on this case
//! (403), the case's state (409 `invalid_transition`), the department or
//! duplicate it names (400) and its photos (409 `missing_photos`).
//! Whatever refuses, nothing changes in the case; a refusal after the
//! repeat check but `missing_photos` is recorded under the action's id, so
//! that a delayed copy of the request gets it again rather than a new
//! judgement of a case that has moved on.

use suishoupai_core::domain::workflow::{self, Capacity, Refusal};
use suishoupai_core::photo::sha256_hex;
use suishoupai_core::protocol::ActionRequest;
use suishoupai_core::rules::{self, check_report_id, parse_due_at};
use suishoupai_core::{Action, ReportStatus};

use crate::auth;
use crate::clock::ms_rfc3339;
use crate::error::{Error, Result};
use crate::model::{Role, Scope, User};
use crate::services::reports::report_not_found;
use crate::storage::{self, CaseState, HistoryEntry, NewEvent, NewRefusal, Storage, StoredReport, WriteTxn};

/// The capacities a role can ever stand in, whatever the case.
fn possible_capacities(role: Role) -> &'static [Capacity] {
    match role {
        Role::Coordinator | Role::Admin => &[Capacity::Coordinator],
        Role::Department => &[Capacity::CaseDepartment],
        Role::GridWorker => &[Capacity::GridWorker],
        Role::Resident => &[],
    }
}

/// The capacities `user` stands in to `report`.
pub fn capacities_on(user: &User, report: &StoredReport) -> Vec<Capacity> {
    workflow::capacities(
        user.role,
        user.grid_id.as_deref(),
        user.department.as_deref(),
        report.grid_id.as_deref(),
        report.department.as_deref(),
    )
}

/// The actions `user` may take on `report` now.
pub fn allowed_actions(user: &User, report: &StoredReport) -> Vec<Action> {
    workflow::allowed_actions(report.status, &capacities_on(user, report))
}

/// Whether a case is open and past its deadline at `now_ms`: derived,
/// never stored.
pub fn overdue(report: &StoredReport, now_ms: i64) -> bool {
    workflow::runs_against_deadline(report.status) && report.due_ms.is_some_and(|due| due < now_ms)
}

/// Takes the action on the report, if `user` may; answers the report as
/// it is after (read with the widest scope: an action may take the case
/// out of the caller's, a return away from a department).
pub fn act(storage: &dyn Storage, user: &User, report_id: &str, request: &ActionRequest, now_ms: i64) -> Result<StoredReport> {
    let action = request.action;
    let row = action.transition();
    if !row.who.iter().any(|w| possible_capacities(user.role).contains(w)) {
        return Err(Error::Forbidden(format!("a {} may not `{action}` a case", user.role)));
    }
    if rules::check_report_id(&request.action_id).is_err() {
        return Err(Error::BadRequest(format!("action_id `{}` is not a UUIDv7 in lower-case hyphenated form", request.action_id)));
    }
    check_report_id(report_id).map_err(|_| report_not_found(report_id))?;
    let content_sha256 = content_hash(report_id, request)?;
    let scope = auth::scope(user);
    // Two layers: the outer result rolls back, the inner is the answer of
    // a transaction that committed (a refusal recorded).
    storage::write(storage, |tx| {
        let report = tx.report(&scope, report_id)?.ok_or_else(|| report_not_found(report_id))?;
        // A repeat first: a device resending after a lost answer gets the
        // first decision, taken or refused, even if the deadline it sent has
        // passed since or the case has moved on to where it would be allowed.
        if let Some(recorded) = tx.recorded_action(&request.action_id)? {
            if recorded.report_id == report_id && recorded.actor_id == user.id && recorded.content_sha256 == content_sha256 {
                return Ok(recorded.refusal.map_or(Ok(report), |refusal| Err(refused(refusal))));
            }
            return Err(Error::ActionConflict(format!(
                "action_id {} was already taken with other content; make a new id for a new action",
                request.action_id
            )));
        }
        match decide(tx, user, &report, request, &content_sha256, now_ms) {
            Err(error) => match final_refusal(&error) {
                // Recorded, and the transaction kept: a delayed copy of
                // this request must get this answer, not a new judgement.
                Some(refusal) => {
                    tx.record_refusal(&NewRefusal {
                        action_id: &request.action_id,
                        report_id,
                        actor_id: user.id,
                        content_sha256: &content_sha256,
                        refusal: &refusal,
                        refused_ms: now_ms,
                    })?;
                    Ok(Err(error))
                }
                None => Err(error),
            },
            Ok(()) => Ok(tx.report(&Scope::All, report_id)?.ok_or_else(|| report_not_found(report_id))),
        }
    })?
}

/// Judges the action on the case as it is now, and takes it if allowed.
/// Every refusal comes before the first write.
fn decide(
    tx: &mut dyn WriteTxn,
    user: &User,
    report: &StoredReport,
    request: &ActionRequest,
    content_sha256: &str,
    now_ms: i64,
) -> Result<()> {
    let action = request.action;
    let report_id = report.wire.id.as_str();
    // The form. A dispatch's department and deadline may come from the
    // route, so they are checked once filled (see `fill`).
    let mut form = request.clone();
    if action == Action::Dispatch {
        form.department = form.department.or_else(|| Some("-".into()));
        form.due_at = form.due_at.or_else(|| Some(ms_rfc3339(now_ms + 1)));
    }
    rules::check_action(&form, now_ms).map_err(bad_request)?;
    let to = match workflow::judge(action, report.status, &capacities_on(user, report)) {
        Ok(to) => to,
        Err(Refusal::NotYours) => return Err(Error::Forbidden(not_yours(user, action))),
        Err(Refusal::NotNow { allowed }) => {
            return Err(Error::InvalidTransition { message: why_not_now(report, action), status: report.status, allowed });
        }
    };
    let filled = fill(tx, report, request, now_ms)?;
    check_photos(tx, user, &filled.photos)?;
    let state = fold(report, &filled, to, now_ms)?;
    // A return names the department that gives the case back.
    let event_department = if action == Action::Return { report.department.as_deref() } else { state.department.as_deref() };
    tx.append_event(&NewEvent {
        action: Some(action),
        action_id: Some(&request.action_id),
        content_sha256: Some(content_sha256),
        note: filled.note.as_deref(),
        public_note: filled.public_note.as_deref(),
        department: event_department,
        due_at: state.due_at.as_deref(),
        duplicate_of: state.duplicate_of.as_deref().filter(|_| action == Action::MarkDuplicate),
        photos: filled.photos.iter().map(String::as_str).collect(),
        ..NewEvent::arrival(report_id, to, user, &ms_rfc3339(now_ms))
    })?;
    tx.set_case_state(report_id, &state)?;
    Ok(())
}

/// The refusals that are an action's final answer, recorded under its id.
/// Not `missing_photos`: the device uploads them and asks again with the
/// same id. Not a failure of storage, which decides nothing.
fn final_refusal(error: &Error) -> Option<storage::Refusal> {
    match error {
        Error::BadRequest(message) => Some(storage::Refusal::BadRequest(message.clone())),
        Error::Forbidden(message) => Some(storage::Refusal::Forbidden(message.clone())),
        Error::InvalidTransition { message, status, allowed } => {
            Some(storage::Refusal::InvalidTransition { message: message.clone(), status: *status, allowed: allowed.clone() })
        }
        _ => None,
    }
}

/// A recorded refusal, answered again.
fn refused(refusal: storage::Refusal) -> Error {
    match refusal {
        storage::Refusal::BadRequest(message) => Error::BadRequest(message),
        storage::Refusal::Forbidden(message) => Error::Forbidden(message),
        storage::Refusal::InvalidTransition { message, status, allowed } => Error::InvalidTransition { message, status, allowed },
    }
}

fn bad_request(e: suishoupai_core::Error) -> Error {
    Error::BadRequest(e.to_string())
}

/// What identifies an action's content: the report and the request as
/// serialised canonically (fields in declaration order).
fn content_hash(report_id: &str, request: &ActionRequest) -> Result<String> {
    let body = serde_json::to_string(request).map_err(|e| Error::Internal(format!("serialising an action: {e}")))?;
    Ok(sha256_hex(format!("{report_id}\n{body}").as_bytes()))
}

fn not_yours(user: &User, action: Action) -> String {
    match user.role {
        Role::Department => format!("only the department the case is dispatched to now may `{action}` it"),
        Role::GridWorker => format!("only a grid worker of the case's grid may `{action}` it"),
        _ => format!("you may not `{action}` this case"),
    }
}

/// Why the case's state refuses: what moved it there, by whom and when
/// (e.g. "the case is `closed` (verify by 王 at 2026-12-02T14:02:11.000Z)").
/// The reporter is never named.
fn why_not_now(report: &StoredReport, action: Action) -> String {
    let last: Option<&HistoryEntry> = report.history.last();
    let how = match last {
        Some(event) if event.actor_id != report.owner_id => {
            let what = event.action.map_or("submit", Action::code);
            format!(" ({what} by {} at {})", event.actor, event.at)
        }
        Some(event) => format!(" (reported at {})", event.at),
        None => String::new(),
    };
    format!("the case is `{}`{how}: `{action}` is not allowed from there", report.status)
}

/// The request with what the route fills in for a dispatch, checked
/// against what exists.
fn fill(tx: &dyn WriteTxn, report: &StoredReport, request: &ActionRequest, now_ms: i64) -> Result<ActionRequest> {
    let mut filled = request.clone();
    if request.action == Action::Dispatch {
        let route = tx.route(&report.wire.category)?;
        if filled.department.is_none() {
            filled.department = route.as_ref().map(|r| r.department.clone());
        }
        if filled.due_at.is_none() {
            filled.due_at = route.as_ref().map(|r| ms_rfc3339(now_ms + i64::from(r.deadline_hours) * 3_600_000));
        }
        if filled.department.is_none() || filled.due_at.is_none() {
            return Err(Error::BadRequest(format!(
                "category `{}` has no route: a dispatch needs department and due_at (or set a route)",
                report.wire.category
            )));
        }
        rules::check_action(&filled, now_ms).map_err(bad_request)?;
    }
    if let Some(code) = &filled.department
        && tx.department(code)?.is_none()
    {
        return Err(Error::BadRequest(format!("there is no department `{code}` (see GET /v1/departments)")));
    }
    if let Some(of) = &filled.duplicate_of {
        if of == &report.wire.id {
            return Err(Error::BadRequest("a report cannot duplicate itself".into()));
        }
        if tx.existing_report(of)?.is_none() {
            return Err(Error::BadRequest(format!("duplicate_of: there is no report {of}")));
        }
    }
    Ok(filled)
}

/// After-photos count only if this user uploaded them (as for a push).
fn check_photos(tx: &dyn WriteTxn, user: &User, photos: &[String]) -> Result<()> {
    let mut missing = Vec::new();
    for sha256 in photos {
        if tx.held_photo(user.id, sha256)?.is_none() && !missing.contains(sha256) {
            missing.push(sha256.clone());
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::MissingPhotos {
        message: format!("{} photo(s) not uploaded yet: upload them, then send the action again", missing.len()),
        missing,
    })
}

/// The case's state after the action.
fn fold(report: &StoredReport, request: &ActionRequest, to: ReportStatus, now_ms: i64) -> Result<CaseState> {
    let mut state = CaseState {
        status: to,
        department: report.department.clone(),
        due_at: report.due_at.clone(),
        due_ms: report.due_ms,
        duplicate_of: report.duplicate_of.clone(),
        changed_ms: now_ms,
    };
    match request.action {
        Action::Dispatch => state.department = request.department.clone(),
        // Back to the coordinator, to be dispatched again: no department
        // holds it and no deadline runs.
        Action::Return => {
            state.department = None;
            state.due_at = None;
            state.due_ms = None;
        }
        Action::MarkDuplicate => state.duplicate_of = request.duplicate_of.clone(),
        _ => {}
    }
    if let Some(due) = &request.due_at
        && matches!(request.action, Action::Dispatch | Action::Extend | Action::Reopen)
    {
        state.due_ms = Some(parse_due_at(due).map_err(bad_request)?);
        state.due_at = Some(ms_rfc3339(state.due_ms.unwrap_or_default()));
    }
    Ok(state)
}
