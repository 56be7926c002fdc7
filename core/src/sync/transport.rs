//! What the sync client needs of the server, one call each: the seam that
//! lets the client's decisions (retry, refuse, resume, cancel) be tested in
//! milliseconds against a fake, and run for real over [`super::HttpTransport`].
//!
//! Every error is sorted into [`crate::Error::Network`] or [`crate::Error::ServerUnavailable`]
//! (worth retrying later), [`crate::Error::TokenRefused`] (log in again) or
//! [`crate::Error::ServerRefused`] (this request will never succeed as it is).

use crate::domain::ReportStatus;
use crate::error::{Error, Result};
use crate::protocol::{ActionRequest, CaseState, ChangesPage, PushRequest, PushResponse, TaskFeed, UploadCreate, UploadState};

/// How the server answered an action, when it answered as the protocol says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActOutcome {
    /// Taken now, or earlier under the same `action_id` (a resend): the case after it.
    Taken(CaseState),
    /// Upload these after-photos, then send the action again.
    MissingPhotos(Vec<String>),
    /// Refused for good: the case moved on (`invalid_transition`), the same
    /// id came with other content (`action_conflict`), or the action is not
    /// this user's or not valid (403, 404, 400, 422). `message` is the
    /// server's, for the user; `status`, the case's now, when the server
    /// said it (an `invalid_transition` does).
    Refused { error: String, message: String, status: Option<ReportStatus> },
}

/// A non-2xx answer as one of the transport's errors, as every transport
/// sorts it.
pub fn sort_error(status: u16, message: String) -> Error {
    match status {
        401 => Error::TokenRefused(message),
        408 | 429 | 500..=599 => Error::ServerUnavailable { status, message },
        _ => Error::ServerRefused { status, message },
    }
}

/// The fields of an action's error body the device reads (see
/// [`crate::protocol::InvalidTransitionBody`] and
/// [`crate::protocol::MissingPhotosBody`]); the rest it ignores.
#[derive(serde::Deserialize)]
struct ActionErrorBody {
    #[serde(default)]
    error: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    missing: Vec<String>,
    #[serde(default)]
    status: Option<ReportStatus>,
}

/// An action's non-2xx answer (`status`, `body`) as the protocol reads it:
/// a refusal or missing after-photos, or an error worth retrying. A body
/// that does not parse still sorts by its status; `reason` is the message
/// when the body gives none.
pub fn act_refusal(status: u16, body: &[u8], reason: &str) -> Result<ActOutcome> {
    let body = serde_json::from_slice::<ActionErrorBody>(body).ok();
    let message = body.as_ref().map(|b| b.message.clone()).filter(|m| !m.is_empty()).unwrap_or_else(|| reason.to_owned());
    match sort_error(status, message) {
        Error::ServerRefused { status: 409, .. } if body.as_ref().is_some_and(|b| b.error == "missing_photos") => {
            Ok(ActOutcome::MissingPhotos(body.map(|b| b.missing).unwrap_or_default()))
        }
        Error::ServerRefused { status, message } => {
            let case_status = body.as_ref().and_then(|b| b.status);
            let error = body.map(|b| b.error).filter(|e| !e.is_empty()).unwrap_or_else(|| status.to_string());
            Ok(ActOutcome::Refused { error, message, status: case_status })
        }
        e => Err(e),
    }
}

pub trait Transport: Sync {
    /// Starts (or looks up) the uploads of many photos; one state each, in order.
    fn create_uploads(&self, uploads: Vec<UploadCreate>) -> Result<Vec<UploadState>>;
    /// The server's offset for an upload, after a 409.
    fn upload_offset(&self, sha256: &str) -> Result<u64>;
    /// Sends one chunk at `offset`; answers the server's new offset.
    fn patch_upload(&self, sha256: &str, offset: u64, chunk: bytes::Bytes) -> Result<u64>;
    fn push(&self, request: &PushRequest) -> Result<PushResponse>;
    fn changes(&self, cursor: Option<&str>, limit: u32) -> Result<ChangesPage>;
    /// `POST /v1/reports/{id}/actions`. Network, 5xx and 401 are errors as
    /// for every call; the protocol's refusals are an [`ActOutcome`].
    fn act(&self, report_id: &str, request: &ActionRequest) -> Result<ActOutcome>;
    /// `GET /v1/tasks`: who the user is, and the cases they may act on.
    fn tasks(&self) -> Result<TaskFeed>;
    /// `GET /v1/photos/{sha256}/thumbnail`: a JPEG.
    fn thumbnail(&self, sha256: &str) -> Result<Vec<u8>>;
    /// The most photo uploads this transport carries at once; the pace
    /// ([`super::pace`]) decides below it. A simulated network that must
    /// replay every run alike answers 1.
    fn parallel_uploads(&self) -> usize {
        super::pace::MAX_IN_FLIGHT
    }
}
