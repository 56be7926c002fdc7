//! A server in memory behind [`Transport`], with faults to order: the sync
//! client's decisions tested in milliseconds. The end-to-end tests run the
//! real server; this one only has to keep the protocol's promises (offsets,
//! idempotent push, missing photos) well enough to hold the client to its own.

use std::collections::HashMap;
use std::sync::Mutex;

use super::transport::{ActOutcome, Transport};
use crate::domain::ReportStatus;
use crate::domain::workflow::{self, Refusal};
use crate::error::{Error, Result};
use crate::photo::sha256_hex;
use crate::protocol::{
    ActionRequest, CaseEvent, CaseState, Change, ChangesPage, Me, PushOutcome, PushRequest, PushResponse, PushResult, Task, TaskFeed,
    UploadCreate, UploadState, WireReport,
};

#[derive(Default)]
pub struct FakeServer {
    pub state: Mutex<FakeState>,
}

#[derive(Default)]
pub struct FakeState {
    /// Complete photos.
    pub photos: HashMap<String, Vec<u8>>,
    uploads: HashMap<String, (u64, Vec<u8>)>,
    pub reports: HashMap<String, WireReport>,
    pub changes: Vec<Change>,
    /// Every call, by name, in order.
    pub calls: Vec<&'static str>,
    pub chunks: usize,
    // Faults.
    pub refuse_token: bool,
    /// Answer this many pushes with 503 before taking any.
    pub push_failures: u32,
    /// Answer uploads with a network error.
    pub network_down: bool,
    /// Report ids answered `conflict`.
    pub conflicting: Vec<String>,
    /// Photos the push says are missing, although uploaded, this many times each.
    pub forget_photos: u32,
    /// Who the token belongs to, for the task feed and the workflow's judgement.
    pub me: Option<Me>,
    /// Every case on the server, in the order of their last change (oldest first).
    pub cases: Vec<Task>,
    /// Actions taken, by id: the request and the answer, for resends.
    pub actions: HashMap<String, (ActionRequest, CaseState)>,
    /// Action ids in the order the server applied them.
    pub applied: Vec<String>,
    /// Thumbnails the server gives, by the rendition's sha256.
    pub thumbnails: HashMap<String, Vec<u8>>,
    /// Answer this many actions with 503 before taking any.
    pub act_failures: u32,
    /// Apply this many actions, then lose the answer (a network error), as
    /// when the device was killed while the server answered.
    pub lose_act_answers: u32,
}

impl FakeServer {
    fn enter(&self, call: &'static str) -> Result<std::sync::MutexGuard<'_, FakeState>> {
        let mut state = self.state.lock().unwrap();
        state.calls.push(call);
        if state.refuse_token {
            return Err(Error::TokenRefused("unknown or revoked token".into()));
        }
        Ok(state)
    }

    pub fn calls(&self, call: &str) -> usize {
        self.state.lock().unwrap().calls.iter().filter(|c| **c == call).count()
    }

    /// A case of the task feed, as a coordinator left it.
    pub fn add_case(&self, task: Task) {
        self.state.lock().unwrap().cases.push(task);
    }

    /// Moves a case, as another user's action would.
    pub fn move_case(&self, id: &str, status: ReportStatus, by: &str) {
        let mut state = self.state.lock().unwrap();
        let case = state.cases.iter_mut().find(|c| c.id == id).expect("a known case");
        case.status = status;
        case.history.push(CaseEvent {
            action: None,
            status,
            at: "2026-12-02T14:02:00.000+08:00".into(),
            actor: Some(by.into()),
            actor_role: crate::Role::Coordinator,
            note: None,
            public_note: None,
            department: None,
            due_at: None,
            photos: Vec::new(),
        });
    }

    /// A case's status on the server now.
    pub fn status_of(&self, id: &str) -> ReportStatus {
        self.state.lock().unwrap().cases.iter().find(|c| c.id == id).expect("a known case").status
    }

    /// A status change, as a coordinator would make it.
    pub fn change_status(&self, report_id: &str, status: ReportStatus) {
        let mut state = self.state.lock().unwrap();
        state.changes.push(Change { report_id: report_id.to_owned(), status, note: None, changed_at: "2026-12-02T00:00:00.000Z".into() });
    }
}

impl Transport for FakeServer {
    fn create_uploads(&self, uploads: Vec<UploadCreate>) -> Result<Vec<UploadState>> {
        let mut state = self.enter("create_uploads")?;
        if state.network_down {
            return Err(Error::Network("connection refused".into()));
        }
        Ok(uploads
            .into_iter()
            .map(|UploadCreate { sha256, length }| {
                if let Some(photo) = state.photos.get(&sha256) {
                    let length = photo.len() as u64;
                    return UploadState { sha256, offset: length, length, complete: true };
                }
                let (known, bytes) = state.uploads.entry(sha256.clone()).or_insert((length, Vec::new()));
                if *known != length {
                    (*known, *bytes) = (length, Vec::new());
                }
                UploadState { offset: bytes.len() as u64, sha256, length, complete: false }
            })
            .collect())
    }

    fn upload_offset(&self, sha256: &str) -> Result<u64> {
        let state = self.enter("upload_offset")?;
        state
            .uploads
            .get(sha256)
            .map(|(_, bytes)| bytes.len() as u64)
            .ok_or_else(|| Error::ServerRefused { status: 404, message: "no upload".into() })
    }

    fn patch_upload(&self, sha256: &str, offset: u64, chunk: bytes::Bytes) -> Result<u64> {
        let mut state = self.enter("patch_upload")?;
        state.chunks += 1;
        let Some((length, bytes)) = state.uploads.get_mut(sha256) else {
            return Err(Error::ServerRefused { status: 404, message: "no upload".into() });
        };
        if offset != bytes.len() as u64 {
            return Err(Error::ServerRefused { status: 409, message: format!("offset is {}", bytes.len()) });
        }
        bytes.extend_from_slice(&chunk);
        let (length, now) = (*length, bytes.len() as u64);
        if now == length {
            let (_, whole) = state.uploads.remove(sha256).expect("just seen");
            if sha256_hex(&whole) != sha256 {
                return Err(Error::ServerRefused { status: 422, message: "checksum_mismatch".into() });
            }
            state.photos.insert(sha256.to_owned(), whole);
        }
        Ok(now)
    }

    fn push(&self, request: &PushRequest) -> Result<PushResponse> {
        let mut state = self.enter("push")?;
        if state.push_failures > 0 {
            state.push_failures -= 1;
            return Err(Error::ServerUnavailable { status: 503, message: "database busy".into() });
        }
        let mut results = Vec::new();
        for report in &request.reports {
            let result = |outcome, missing, error| PushResult { id: report.id.clone(), outcome, missing, error, status: None };
            if state.conflicting.contains(&report.id) {
                results.push(result(PushOutcome::Conflict, Vec::new(), Some("the server holds another report with this id".into())));
                continue;
            }
            if state.reports.get(&report.id) == Some(report) {
                results.push(PushResult { status: Some(ReportStatus::Submitted), ..result(PushOutcome::Accepted, Vec::new(), None) });
                continue;
            }
            let mut missing: Vec<String> =
                report.photos.iter().filter(|p| !state.photos.contains_key(&p.sha256)).map(|p| p.sha256.clone()).collect();
            if missing.is_empty() && state.forget_photos > 0 {
                state.forget_photos -= 1;
                missing = report.photos.iter().map(|p| p.sha256.clone()).collect();
                for sha in &missing {
                    state.photos.remove(sha);
                }
            }
            if !missing.is_empty() {
                results.push(result(PushOutcome::MissingPhotos, missing, None));
                continue;
            }
            state.reports.insert(report.id.clone(), report.clone());
            results.push(PushResult { status: Some(ReportStatus::Submitted), ..result(PushOutcome::Accepted, Vec::new(), None) });
        }
        Ok(PushResponse { results })
    }

    fn changes(&self, cursor: Option<&str>, limit: u32) -> Result<ChangesPage> {
        let state = self.enter("changes")?;
        let after: usize = cursor.map_or(0, |c| c.parse().expect("a cursor this fake gave"));
        let page: Vec<Change> = state.changes.iter().skip(after).take(limit as usize).cloned().collect();
        let next = after + page.len();
        Ok(ChangesPage { has_more: next < state.changes.len(), next_cursor: (next > 0).then(|| next.to_string()), changes: page })
    }

    fn act(&self, report_id: &str, request: &ActionRequest) -> Result<ActOutcome> {
        let mut state = self.enter("act")?;
        if state.act_failures > 0 {
            state.act_failures -= 1;
            return Err(Error::ServerUnavailable { status: 503, message: "database busy".into() });
        }
        if let Some((first, answer)) = state.actions.get(&request.action_id) {
            if first == request {
                return Ok(ActOutcome::Taken(answer.clone()));
            }
            let message = "this action_id was used for another action".into();
            return Ok(ActOutcome::Refused { error: "action_conflict".into(), message, status: None });
        }
        let missing: Vec<String> = request.photos.iter().filter(|p| !state.photos.contains_key(*p)).cloned().collect();
        if !missing.is_empty() {
            return Ok(ActOutcome::MissingPhotos(missing));
        }
        let me = state.me.clone().expect("a fake user");
        let Some(case) = state.cases.iter_mut().find(|c| c.id == report_id) else {
            return Ok(ActOutcome::Refused { error: "not_found".into(), message: format!("report {report_id} not found"), status: None });
        };
        let capacities = crate::domain::task::capacities_for(Some(&me), case);
        let to = match workflow::judge(request.action, case.status, &capacities) {
            Ok(to) => to,
            Err(Refusal::NotYours) => {
                let message = format!("a {} may not {}", me.role, request.action);
                return Ok(ActOutcome::Refused { error: "forbidden".into(), message, status: None });
            }
            Err(Refusal::NotNow { .. }) => {
                let last = case.history.last();
                let by = last.and_then(|e| e.actor.clone()).unwrap_or_default();
                let at = last.map(|e| e.at.clone()).unwrap_or_default();
                let message =
                    format!("the case is `{}` ({} by {by} at {at})", case.status, last.and_then(|e| e.action).map_or("set", |a| a.code()));
                return Ok(ActOutcome::Refused { error: "invalid_transition".into(), message, status: Some(case.status) });
            }
        };
        case.status = to;
        if request.due_at.is_some() {
            case.due_at = request.due_at.clone();
        }
        case.history.push(CaseEvent {
            action: Some(request.action),
            status: to,
            at: "2026-12-02T15:00:00.000+08:00".into(),
            actor: Some(me.name.clone()),
            actor_role: me.role,
            note: request.note.clone(),
            public_note: request.public_note.clone(),
            department: None,
            due_at: request.due_at.clone(),
            photos: request.photos.clone(),
        });
        let answer = CaseState {
            id: case.id.clone(),
            status: to,
            due_at: case.due_at.clone(),
            overdue: false,
            allowed_actions: workflow::allowed_actions(to, &capacities),
        };
        // Last changed: newest in the feed.
        let index = state.cases.iter().position(|c| c.id == report_id).expect("just seen");
        let case = state.cases.remove(index);
        state.cases.push(case);
        state.actions.insert(request.action_id.clone(), (request.clone(), answer.clone()));
        state.applied.push(request.action_id.clone());
        if state.lose_act_answers > 0 {
            state.lose_act_answers -= 1;
            return Err(Error::Network("connection reset".into()));
        }
        Ok(ActOutcome::Taken(answer))
    }

    fn tasks(&self) -> Result<TaskFeed> {
        let state = self.enter("tasks")?;
        // Without a user set, a resident: no tasks.
        let me = state.me.clone().unwrap_or(Me { name: "张".into(), role: crate::Role::Resident, grid_id: None, department: None });
        // A grid worker's open cases, newest change first, as the server does.
        let tasks = state
            .cases
            .iter()
            .rev()
            .filter(|c| workflow::is_open(c.status))
            .map(|c| {
                let capacities = crate::domain::task::capacities_for(Some(&me), c);
                Task { allowed_actions: workflow::allowed_actions(c.status, &capacities), ..c.clone() }
            })
            .collect();
        Ok(TaskFeed { me, tasks })
    }

    fn thumbnail(&self, sha256: &str) -> Result<Vec<u8>> {
        let state = self.enter("thumbnail")?;
        state.thumbnails.get(sha256).cloned().ok_or_else(|| Error::ServerRefused { status: 404, message: "no such photo".into() })
    }
}
