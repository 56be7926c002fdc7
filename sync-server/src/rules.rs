//! The rules a pushed report must keep, judged before storage sees it, and
//! the report's canonical content hash that makes a push idempotent.

use chrono::{DateTime, NaiveDateTime};
use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use suishoupai_core::protocol::{MAX_PHOTO_BYTES, WireReport};
use suishoupai_core::rules::{self as shared, is_sha256_hex};
use suishoupai_core::{Category, LatLon, ReporterRole};

use crate::auth::{Role, User};
use crate::error::{Error, Result};
use crate::storage::{Candidate, NewReport};

/// Judges one report of a push, given as its JSON text, at `now_ms` on the
/// server's clock. Only a report without a string `id` fails the whole
/// request: every other fault is this report's `invalid` outcome, so one
/// bad report does not hold back the rest of the batch.
pub fn candidate(user: &User, index: usize, json: &str, now_ms: i64) -> Result<Candidate> {
    // Plain serde first: tracking the path costs as much as the rest of the
    // checks, and only a refused report needs it, for its message.
    let parsed = serde_json::from_str::<WireReport>(json)
        .or_else(|_| serde_path_to_error::deserialize::<_, WireReport>(&mut serde_json::Deserializer::from_str(json)));
    let wire: WireReport = match parsed {
        Ok(wire) => wire,
        Err(e) => {
            let reason = format!("{}: {}", e.path(), e.inner());
            // Only now the report is read loosely, for its id alone: the
            // other fields are skipped unread, so that a number no f64
            // holds (1e400) does not hide the id too.
            #[derive(Deserialize)]
            struct JustTheId<'a> {
                #[serde(borrow)]
                id: Option<&'a RawValue>,
            }
            let id = serde_json::from_str::<JustTheId>(json)
                .ok()
                .and_then(|just| just.id)
                .and_then(|raw| serde_json::from_str::<String>(raw.get()).ok())
                .ok_or_else(|| Error::BadRequest(format!("reports[{index}].id is missing or not a string ({reason})")))?;
            return Ok(Candidate { id, content_sha256: sha256_hex(json.as_bytes()), checked: Err(reason) });
        }
    };
    // The canonical form: the fields in declaration order, numbers as serde
    // writes them. Equal reports have equal bodies, whatever key order or
    // spacing the device sent.
    let body = serde_json::to_string(&wire).map_err(|e| Error::Internal(format!("serialising a report: {e}")))?;
    let content_sha256 = sha256_hex(body.as_bytes());
    let id = wire.id.clone();
    let checked = check(user, &wire, now_ms).map(|(grid_id, created_ms)| NewReport { wire, body, grid_id, created_ms });
    Ok(Candidate { id, content_sha256, checked })
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Parses an RFC 3339 time into milliseconds since the epoch.
pub fn rfc3339_ms(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.timestamp_millis())
}

/// The report's grid and `created_at` in ms, or why the report is invalid.
/// The limits are the core's (see [`suishoupai_core::rules`]), the same
/// the device checked before it stored the report.
fn check(user: &User, wire: &WireReport, now_ms: i64) -> Result<(Option<String>, i64), String> {
    let text = |e: suishoupai_core::Error| e.to_string();
    shared::check_report_id(&wire.id).map_err(text)?;
    Category::from_code(&wire.category).map_err(text)?;
    shared::check_note(&wire.note).map_err(text)?;
    shared::check_photo_count(wire.photos.len()).map_err(text)?;
    for (index, photo) in wire.photos.iter().enumerate() {
        if !is_sha256_hex(&photo.sha256) {
            return Err(format!("photos[{index}].sha256 is not 64 lower-case hex digits"));
        }
        if photo.bytes == 0 || photo.bytes > MAX_PHOTO_BYTES || photo.width == 0 || photo.height == 0 {
            return Err(format!("photos[{index}] has an impossible size"));
        }
    }
    if let Some(location) = &wire.location {
        shared::check_location(LatLon { latitude: location.latitude, longitude: location.longitude }, location.accuracy_m).map_err(text)?;
    }
    let created_ms = rfc3339_ms(&wire.created_at).ok_or_else(|| format!("created_at `{}` is not an RFC 3339 time", wire.created_at))?;
    shared::check_created_at(created_ms, now_ms).map_err(text)?;
    // A camera that recorded no UTC offset gives a local time without one
    // (the core keeps EXIF's DateTimeOriginal as it is): take both.
    if let Some(taken_at) = &wire.taken_at
        && rfc3339_ms(taken_at).is_none()
        && NaiveDateTime::parse_from_str(taken_at, "%Y-%m-%dT%H:%M:%S%.f").is_err()
    {
        return Err(format!("taken_at `{taken_at}` is not an RFC 3339 time or a local date and time"));
    }
    let claimed_grid = wire.reporter.grid_id.as_deref();
    if let Some(grid) = claimed_grid {
        shared::check_label("reporter.grid_id", grid).map_err(text)?;
    }
    let grid_id = match user.role {
        // A resident's claimed grid is kept in the report as sent but gives
        // it no grid: only the server assigns grids, and a device may let a
        // resident fill the field in.
        Role::Resident => {
            if wire.reporter.role != ReporterRole::Resident {
                return Err("you are registered as a resident: reporter.role must be `resident`".into());
            }
            None
        }
        // A grid worker's reports belong to their grid, whatever capacity
        // they report in and whatever grid the device claims (it may have
        // been made before a reassignment): refusing would lose the report.
        Role::GridWorker => user.grid_id.clone(),
        Role::Coordinator | Role::Admin => claimed_grid.map(str::to_owned),
        Role::Department => return Err("department users do not push reports".into()),
    };
    Ok((grid_id, created_ms))
}
