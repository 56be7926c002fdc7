//! The rules a pushed report must keep, judged before storage sees it, and
//! the report's canonical content hash that makes a push idempotent.

use chrono::{DateTime, NaiveDateTime};
use sha2::{Digest, Sha256};
use suishoupai_core::domain::location::check_coordinates;
use suishoupai_core::domain::report::{MAX_PHOTOS_PER_REPORT, check_note};
use suishoupai_core::protocol::{MAX_PHOTO_BYTES, WireReport};
use suishoupai_core::store::blobs::is_sha256_hex;
use suishoupai_core::{Category, ReportId, ReporterRole};

use crate::auth::{Role, User};
use crate::error::{Error, Result};
use crate::storage::{Candidate, NewReport};

/// Judges one report of a push, given as its JSON text. Only a report
/// without a string `id` fails the whole request: every other fault is this
/// report's `invalid` outcome, so one bad report does not hold back the
/// rest of the batch.
pub fn candidate(user: &User, index: usize, json: &str) -> Result<Candidate> {
    // Plain serde first: tracking the path costs as much as the rest of the
    // checks, and only a refused report needs it, for its message.
    let parsed = serde_json::from_str::<WireReport>(json)
        .or_else(|_| serde_path_to_error::deserialize::<_, WireReport>(&mut serde_json::Deserializer::from_str(json)));
    let wire: WireReport = match parsed {
        Ok(wire) => wire,
        Err(e) => {
            // Only now the report is read loosely, to find its id.
            let value: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
            let id = value
                .get("id")
                .and_then(|id| id.as_str())
                .ok_or_else(|| Error::BadRequest(format!("reports[{index}].id is missing or not a string")))?
                .to_owned();
            let content_sha256 = sha256_hex(value.to_string().as_bytes());
            return Ok(Candidate { id, content_sha256, checked: Err(format!("{}: {}", e.path(), e.inner())) });
        }
    };
    // The canonical form: the fields in declaration order, numbers as serde
    // writes them. Equal reports have equal bodies, whatever key order or
    // spacing the device sent.
    let body = serde_json::to_string(&wire).map_err(|e| Error::Internal(format!("serialising a report: {e}")))?;
    let content_sha256 = sha256_hex(body.as_bytes());
    let id = wire.id.clone();
    let checked = check(user, &wire).map(|(grid_id, created_ms)| NewReport { wire, body, grid_id, created_ms });
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
fn check(user: &User, wire: &WireReport) -> Result<(Option<String>, i64), String> {
    match ReportId::parse(&wire.id) {
        // One spelling per id, so that the same report cannot hide under two.
        Ok(id) if id.to_string() == wire.id => {}
        _ => return Err(format!("id `{}` is not a UUID in lower-case hyphenated form", wire.id)),
    }
    Category::from_code(&wire.category).map_err(|e| e.to_string())?;
    check_note(&wire.note).map_err(|e| e.to_string())?;
    match wire.photos.len() {
        0 => return Err("a report needs at least one photo".into()),
        n if n > MAX_PHOTOS_PER_REPORT => {
            return Err(format!("a report takes at most {MAX_PHOTOS_PER_REPORT} photos, got {n}"));
        }
        _ => {}
    }
    for (index, photo) in wire.photos.iter().enumerate() {
        if !is_sha256_hex(&photo.sha256) {
            return Err(format!("photos[{index}].sha256 is not 64 lower-case hex digits"));
        }
        if photo.bytes == 0 || photo.bytes > MAX_PHOTO_BYTES || photo.width == 0 || photo.height == 0 {
            return Err(format!("photos[{index}] has an impossible size"));
        }
    }
    if let Some(location) = &wire.location {
        check_coordinates(location.latitude, location.longitude).map_err(|e| e.to_string())?;
        if let Some(accuracy) = location.accuracy_m
            && (!accuracy.is_finite() || accuracy < 0.0)
        {
            return Err(format!("invalid location: accuracy {accuracy} m must be a non-negative number"));
        }
    }
    let created_ms = rfc3339_ms(&wire.created_at).ok_or_else(|| format!("created_at `{}` is not an RFC 3339 time", wire.created_at))?;
    // A camera that recorded no UTC offset gives a local time without one
    // (the core keeps EXIF's DateTimeOriginal as it is): take both.
    if let Some(taken_at) = &wire.taken_at
        && rfc3339_ms(taken_at).is_none()
        && NaiveDateTime::parse_from_str(taken_at, "%Y-%m-%dT%H:%M:%S%.f").is_err()
    {
        return Err(format!("taken_at `{taken_at}` is not an RFC 3339 time or a local date and time"));
    }
    let claimed_grid = wire.reporter.grid_id.as_deref();
    if let Some(grid) = claimed_grid
        && (grid.is_empty() || grid.chars().count() > 64 || grid.chars().any(char::is_control))
    {
        return Err("reporter.grid_id must be 1 to 64 printable characters".into());
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
