//! Wire types of the sync protocol, version 1, shared by the device's sync
//! client and the server. JSON over HTTP; every request carries
//! `Authorization: Bearer TOKEN`.
//!
//! # Photos: resumable upload (tus 1.0 core semantics)
//! Uploads and photos are had by sending them, not by knowing their hash:
//! an upload is the caller's own, and a photo counts as on the server for a
//! caller only once that caller has sent it whole. To anyone else every
//! answer is as if the server had never seen it.
//! - `POST /v1/uploads` with [`UploadCreate`] → [`UploadState`]. Idempotent:
//!   a photo the caller has sent answers `complete: true` (and is never sent
//!   again); the caller's upload under way answers its current offset. A
//!   user has at most [`MAX_OPEN_UPLOADS_PER_USER`] uploads open, declaring
//!   at most [`MAX_OPEN_UPLOAD_BYTES_PER_USER`]; past that the answer is 429
//!   with `Retry-After`, and nothing is opened. An upload untouched for
//!   [`UPLOAD_EXPIRY_SECS`] is removed.
//! - `POST /v1/uploads/batch` with [`UploadBatch`] → [`UploadBatchStates`]:
//!   the same for up to [`MAX_UPLOAD_BATCH`] photos in one round trip, one
//!   state per photo in order. A device asks this once per push batch, so
//!   that learning what the server already has costs one request, not one
//!   per photo.
//! - `HEAD /v1/uploads/{sha256}` → 200 with `Upload-Offset` and `Upload-Length`
//!   headers, 404 if the server knows no such upload.
//! - `PATCH /v1/uploads/{sha256}` with `Upload-Offset: N`,
//!   `Content-Type: application/offset+octet-stream` and at most
//!   [`MAX_CHUNK_BYTES`] of body → 204 with the new `Upload-Offset`. A wrong
//!   offset answers 409 and changes nothing. The chunk is on disk (fsynced)
//!   before the answer. The chunk that completes the upload makes the server
//!   check the sha256 and that the bytes are a clean JPEG (see
//!   [`crate::photo::clean`]: within the size limits, image data that
//!   decodes, no EXIF, XMP, IPTC, comments or other application segments);
//!   otherwise the upload is discarded and the answer is 422 ([`ErrorBody`]
//!   with code `checksum_mismatch`, `bad_photo` or `private_metadata`). The
//!   photo is durable before that answer. Uploads of different photos may
//!   run in parallel.
//!
//! # Push
//! `POST /v1/push` with [`PushRequest`] → [`PushResponse`], one [`PushResult`]
//! per report, in order. Idempotent by report id: the same id with the same
//! content answers `accepted` again; the same id with different content is a
//! `conflict` (never an overwrite); a report whose photos have not all
//! arrived is `missing_photos` with their hashes. A 200 means every
//! `accepted` result is durable on the server.
//!
//! # Pull
//! `GET /v1/changes?cursor=C&limit=N` → [`ChangesPage`]: what changed on the
//! server for this user since the opaque cursor, oldest first. The client
//! stores `next_cursor` only after applying the page, and pulls again while
//! `has_more`.
//!
//! # Errors
//! Every non-2xx answer but HEAD's has an [`ErrorBody`], also those to
//! requests the server cannot parse as HTTP. 400 malformed request, 401 no,
//! unknown or revoked token or disabled user (with `WWW-Authenticate:
//! Bearer`), 403 role may not do this, 404 not found (also for another
//! user's report, photo or upload), 405 wrong method, 408 body too slow,
//! 409 upload offset mismatch or a status change the workflow does not
//! allow, 413 too large, 415 wrong Content-Type, 422 bad photo, 429 over an
//! allowance (with `Retry-After`), 431 headers too large.
//!
//! # Times
//! `created_at` is RFC 3339 UTC with milliseconds. `taken_at` is what the
//! camera recorded: RFC 3339 with its offset when the photo had
//! OffsetTimeOriginal, otherwise a local date-time without offset
//! (`2018-07-25T16:34:23`), since guessing a zone would move the moment.
//!
//! # Evolving the wire format
//! The server recognises a repeated push by a hash of the report's JSON, so
//! a field added later must be optional and left out when empty
//! (`#[serde(default, skip_serializing_if = ...)]`): otherwise a re-push of an
//! old report would come back as a conflict.

use serde::{Deserialize, Serialize};

use crate::domain::{Action, Location, ReportStatus, Reporter, Role};

pub const PROTOCOL_VERSION: u32 = 1;
/// The largest PATCH body the server takes: small enough for a weak 2G link
/// to finish a chunk before a typical proxy timeout.
pub const MAX_CHUNK_BYTES: u64 = 256 * 1024;
/// The largest photo (upload rendition) the server takes.
pub const MAX_PHOTO_BYTES: u64 = 16 * 1024 * 1024;
/// The most reports one push may carry.
pub const MAX_PUSH_REPORTS: usize = 100;
/// The most photos one `POST /v1/uploads/batch` may ask about: a full push
/// of reports with the most photos each.
pub const MAX_UPLOAD_BATCH: usize = MAX_PUSH_REPORTS * crate::rules::MAX_PHOTOS_PER_REPORT;

/// The most uploads one user may have open (started, not complete) at once:
/// two devices' rounds (see [`MAX_UPLOAD_BATCH`]) and some to spare.
pub const MAX_OPEN_UPLOADS_PER_USER: usize = 2 * MAX_UPLOAD_BATCH + 200;
/// The most bytes one user's open uploads may declare at once. A round of
/// 500 reports with one 200 KB rendition each declares 100 MB; a client keeps
/// a round under half of this ([`MAX_ROUND_UPLOAD_BYTES`]).
pub const MAX_OPEN_UPLOAD_BYTES_PER_USER: u64 = 256 * 1024 * 1024;
/// The most bytes of photos a device asks about in one round: half of the
/// allowance, so that two devices of one user never meet it.
pub const MAX_ROUND_UPLOAD_BYTES: u64 = MAX_OPEN_UPLOAD_BYTES_PER_USER / 2;
/// An upload untouched for this long is given up: its row and partial
/// bytes go, and the device starts it again from 0 if it comes back.
pub const UPLOAD_EXPIRY_SECS: u64 = 24 * 3600;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadCreate {
    pub sha256: String,
    #[serde(deserialize_with = "whole_number")]
    pub length: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadBatch {
    pub uploads: Vec<UploadCreate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadBatchStates {
    /// One per photo asked about, in the order asked.
    pub uploads: Vec<UploadState>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadState {
    pub sha256: String,
    pub offset: u64,
    pub length: u64,
    pub complete: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WirePhoto {
    pub sha256: String,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
}

/// A report as the device pushes it. The server fills in who sent it from
/// the token; `reporter` says in which capacity (resident, or grid worker on
/// patrol of `grid_id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireReport {
    pub id: String,
    pub category: String,
    pub note: String,
    pub location: Option<Location>,
    pub photos: Vec<WirePhoto>,
    pub reporter: Reporter,
    pub taken_at: Option<String>,
    pub created_at: String,
    /// 即查即改: a grid worker fixed the problem on the spot; the report
    /// arrives `rectified`, awaiting verification, with `after_photos`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fixed_on_spot: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after_photos: Vec<WirePhoto>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushRequest {
    pub reports: Vec<WireReport>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushOutcome {
    /// Stored (now or by an earlier identical push).
    Accepted,
    /// Upload these photos, then push again.
    MissingPhotos,
    /// The server holds a different report under this id. Permanent.
    Conflict,
    /// The report breaks a rule (unknown category, bad location...). Permanent.
    Invalid,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushResult {
    pub id: String,
    pub outcome: PushOutcome,
    /// For `missing_photos`: the hashes the server does not have.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
    /// For `conflict` and `invalid`: why, for the user to read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// For `accepted`: the report's workflow status on the server now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ReportStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushResponse {
    pub results: Vec<PushResult>,
}

/// One workflow event on the server: a report's status changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub report_id: String,
    pub status: ReportStatus,
    #[serde(default)]
    pub note: Option<String>,
    pub changed_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangesPage {
    pub changes: Vec<Change>,
    /// Pass back as `cursor` for what follows; null when the user has no changes at all yet.
    pub next_cursor: Option<String>,
    pub has_more: bool,
}

/// `POST /v1/reports/{id}/actions`: one step of the workflow (see
/// [`crate::domain::workflow`]). `action_id` is a UUIDv7 the caller makes:
/// the same id with the same content answers 200 again (with the report as
/// it is now) without taking the action twice, so a
/// device may resend; with other content it is refused (409 `action_conflict`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    pub action_id: String,
    pub action: Action,
    /// Internal: for the staff, never shown to the reporter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Shown to the reporter at their next sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_note: Option<String>,
    /// For `dispatch`: a department's code (else the category's route's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// RFC 3339; for `dispatch` (else now plus the route's hours), `extend`, `reopen`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<String>,
    /// For `mark_duplicate`: the report this one repeats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<String>,
    /// After-photos (sha256 of renditions the caller uploaded), for `rectify`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub photos: Vec<String>,
}

/// The 409 of an action the case's status does not allow now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvalidTransitionBody {
    /// `invalid_transition`.
    pub error: String,
    /// Says what moved the case there, e.g. "the case is `closed` (verify by 王 at 14:02)".
    pub message: String,
    pub status: ReportStatus,
    pub allowed_actions: Vec<Action>,
}

/// The 409 of an action naming photos the server lacks for the caller:
/// upload them, then send the action again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingPhotosBody {
    /// `missing_photos`.
    pub error: String,
    pub message: String,
    pub missing: Vec<String>,
}

/// `GET /v1/tasks`: the cases the caller may act on (a grid worker: their
/// grid's open cases; a department: those dispatched to it), newest change
/// first, at most [`MAX_TASKS`]; and who the caller is, so that the device
/// can check an action offline against the same table the server uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskFeed {
    pub me: Me,
    pub tasks: Vec<Task>,
}

/// The most cases a device keeps to work offline: a grid's busiest weeks.
pub const MAX_TASKS: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub name: String,
    pub role: Role,
    #[serde(default)]
    pub grid_id: Option<String>,
    #[serde(default)]
    pub department: Option<String>,
}

/// A case as the people who work it see it (never who reported it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub id: String,
    pub category: String,
    pub note: String,
    pub location: Option<Location>,
    /// The reporter's photos.
    pub photos: Vec<WirePhoto>,
    pub created_at: String,
    pub status: ReportStatus,
    pub grid_id: Option<String>,
    pub department: Option<String>,
    pub due_at: Option<String>,
    /// Open and past its deadline, by the server's clock when sent.
    pub overdue: bool,
    /// What the caller may do now.
    pub allowed_actions: Vec<Action>,
    pub history: Vec<CaseEvent>,
}

/// One step of a case's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseEvent {
    /// None for the report's arrival.
    pub action: Option<Action>,
    /// The status after it.
    pub status: ReportStatus,
    pub at: String,
    /// Who took it; none where the viewer may not know (a reporter, to a department).
    pub actor: Option<String>,
    pub actor_role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<String>,
    /// After-photos of a rectification.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub photos: Vec<String>,
}

/// What the device reads of the report view a taken action answers with
/// (`POST /v1/reports/{id}/actions` → 200): the case's state after it. The
/// view carries more; a reader ignores what it does not know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseState {
    pub id: String,
    pub status: ReportStatus,
    #[serde(default)]
    pub due_at: Option<String>,
    #[serde(default)]
    pub overdue: bool,
    #[serde(default)]
    pub allowed_actions: Vec<Action>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable, machine-readable: `bad_request`, `unauthorized`, `forbidden`,
    /// `not_found`, `offset_mismatch`, `too_large`, `checksum_mismatch`, `bad_photo`...
    pub error: String,
    /// For people: what was wrong, naming the field or header.
    pub message: String,
}

impl From<&crate::domain::Report> for WireReport {
    fn from(r: &crate::domain::Report) -> Self {
        WireReport {
            id: r.id.to_string(),
            category: r.category.clone(),
            note: r.note.clone(),
            location: r.location,
            photos: r
                .photos
                .iter()
                .map(|p| WirePhoto { sha256: p.sha256.clone(), width: p.width, height: p.height, bytes: p.bytes })
                .collect(),
            reporter: r.reporter.clone(),
            taken_at: r.taken_at.clone(),
            created_at: r.created_at.clone(),
            fixed_on_spot: r.fixed_on_spot,
            after_photos: r
                .after_photos
                .iter()
                .map(|p| WirePhoto { sha256: p.sha256.clone(), width: p.width, height: p.height, bytes: p.bytes })
                .collect(),
        }
    }
}

/// A whole number as JSON may write it: `1024`, or `1024.0`, which JSON
/// Schema's `integer` (and so the OpenAPI document) takes as the same
/// number. A fraction, a negative number or one past `T` is refused.
pub fn whole_number<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<u64>,
{
    use serde::de::{Error, Unexpected, Visitor};

    struct Whole;
    impl Visitor<'_> for Whole {
        type Value = u64;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a non-negative whole number")
        }

        fn visit_u64<E: Error>(self, v: u64) -> Result<u64, E> {
            Ok(v)
        }

        fn visit_i64<E: Error>(self, v: i64) -> Result<u64, E> {
            u64::try_from(v).map_err(|_| E::invalid_value(Unexpected::Signed(v), &self))
        }

        fn visit_f64<E: Error>(self, v: f64) -> Result<u64, E> {
            // 2^53: past it a float no longer holds every whole number.
            if v.fract() == 0.0 && (0.0..=9_007_199_254_740_992.0).contains(&v) {
                Ok(v as u64)
            } else {
                Err(E::invalid_value(Unexpected::Float(v), &self))
            }
        }
    }
    let n = deserializer.deserialize_any(Whole)?;
    T::try_from(n).map_err(|_| D::Error::invalid_value(Unexpected::Unsigned(n), &"a smaller whole number"))
}
