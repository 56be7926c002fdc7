//! The rules both sides keep: the device checks a report before it stores
//! it, the server checks it again before it accepts it, and both call these
//! functions, so the two can never disagree on what is valid (a grid id
//! counted in bytes on one side and in characters on the other did once).
//!
//! Every check answers the core's [`Error`] with a message for people; the
//! server passes that message on in its `invalid` outcomes.

use uuid::Uuid;

use crate::domain::ReportId;
use crate::domain::geo::LatLon;
use crate::error::{Error, Result};

/// The most photos one report may carry; a problem needs a few views, not an album.
pub const MAX_PHOTOS_PER_REPORT: usize = 9;

/// The longest note we keep, in characters.
pub const MAX_NOTE_CHARS: usize = 2000;

/// The longest grid id, department code or user name, in characters (not
/// bytes: a Chinese grid id of 22 characters is 66 bytes of UTF-8).
pub const MAX_LABEL_CHARS: usize = 64;

/// The worst horizontal accuracy a location may claim: beyond 100 km the
/// fix does not say which town the problem is in.
pub const MAX_ACCURACY_M: f64 = 100_000.0;

/// No report predates the app: 2000-01-01T00:00:00Z, in ms since the epoch.
pub const EARLIEST_CREATED_MS: i64 = 946_684_800_000;

/// How far ahead of the server's clock a device's clock may run. A report
/// dated in the future would sit first in every coordinator's list forever.
pub const MAX_CLOCK_AHEAD_MS: i64 = 24 * 3600 * 1000;

/// A note: at most [`MAX_NOTE_CHARS`] characters, no control characters but
/// line breaks and tabs.
pub fn check_note(note: &str) -> Result<()> {
    let chars = note.chars().count();
    if chars > MAX_NOTE_CHARS {
        return Err(Error::InvalidInput(format!("note is {chars} characters long (at most {MAX_NOTE_CHARS})")));
    }
    if note.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(Error::InvalidInput("note contains control characters".into()));
    }
    Ok(())
}

/// A grid id, department code or name: 1 to [`MAX_LABEL_CHARS`] characters,
/// none of them a control character. `field` names it in the message.
pub fn check_label(field: &str, value: &str) -> Result<()> {
    let chars = value.chars().count();
    if chars == 0 || chars > MAX_LABEL_CHARS || value.chars().any(char::is_control) {
        return Err(Error::InvalidInput(format!("{field} must be 1 to {MAX_LABEL_CHARS} printable characters")));
    }
    Ok(())
}

/// A report has one to [`MAX_PHOTOS_PER_REPORT`] photos.
pub fn check_photo_count(count: usize) -> Result<()> {
    match count {
        0 => Err(Error::NoPhotos),
        got if got > MAX_PHOTOS_PER_REPORT => Err(Error::TooManyPhotos { got, max: MAX_PHOTOS_PER_REPORT }),
        _ => Ok(()),
    }
}

/// A coordinate in range. Out-of-range values are an error, never clamped:
/// a clamped coordinate sends an inspector to the wrong place.
pub fn check_coordinates(latitude: f64, longitude: f64) -> Result<()> {
    if !latitude.is_finite() || !longitude.is_finite() {
        return Err(Error::InvalidLocation("latitude and longitude must be finite numbers".into()));
    }
    if !(-90.0..=90.0).contains(&latitude) {
        return Err(Error::InvalidLocation(format!("latitude {latitude} is outside -90..90")));
    }
    if !(-180.0..=180.0).contains(&longitude) {
        return Err(Error::InvalidLocation(format!("longitude {longitude} is outside -180..180")));
    }
    Ok(())
}

/// A report's location: in range, and not 0,0, which is what a phone or
/// camera without a fix writes (open sea, not a street). `accuracy_m`, when
/// given, is between 0 and [`MAX_ACCURACY_M`].
pub fn check_location(point: LatLon, accuracy_m: Option<f64>) -> Result<()> {
    check_coordinates(point.latitude, point.longitude)?;
    if point.latitude == 0.0 && point.longitude == 0.0 {
        return Err(Error::InvalidLocation("0,0 is what a device without a fix writes, not a place; place a pin instead".into()));
    }
    if let Some(accuracy) = accuracy_m
        && !(accuracy.is_finite() && (0.0..=MAX_ACCURACY_M).contains(&accuracy))
    {
        return Err(Error::InvalidLocation(format!("accuracy {accuracy} m must be between 0 and {MAX_ACCURACY_M} m")));
    }
    Ok(())
}

/// A report id as it travels: a UUIDv7 (client-made, sorting by time) in
/// lower-case hyphenated form, so that one report cannot hide under two
/// spellings of its id.
pub fn check_report_id(text: &str) -> Result<ReportId> {
    let not_v7 = || Error::InvalidInput(format!("id `{text}` is not a UUIDv7 in lower-case hyphenated form"));
    let id = Uuid::parse_str(text).map_err(|_| not_v7())?;
    if id.get_version_num() != 7 || id.get_variant() != uuid::Variant::RFC4122 || id.hyphenated().to_string() != text {
        return Err(not_v7());
    }
    Ok(ReportId(id))
}

/// When a report was made, in ms since the epoch: not before 2000 and not
/// more than [`MAX_CLOCK_AHEAD_MS`] after `now_ms`.
pub fn check_created_at(created_ms: i64, now_ms: i64) -> Result<()> {
    if created_ms < EARLIEST_CREATED_MS {
        return Err(Error::InvalidInput("created_at is before 2000-01-01: the device's clock is wrong".into()));
    }
    if created_ms > now_ms.saturating_add(MAX_CLOCK_AHEAD_MS) {
        return Err(Error::InvalidInput("created_at is more than a day ahead of the server's clock: the device's clock is wrong".into()));
    }
    Ok(())
}

/// A photo's name: 64 lower-case hex digits (it becomes part of a path).
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Checks an action's request before it is taken, the same way on the
/// device and on the server: the id, the text fields, the photos' names and
/// what the action needs by the table ([`crate::domain::workflow`]). A
/// dispatch's department and deadline are checked after the server has
/// filled them from the category's route; `now_ms` judges a deadline, which
/// must lie ahead.
pub fn check_action(request: &crate::protocol::ActionRequest, now_ms: i64) -> Result<()> {
    let action = request.action;
    if check_report_id(&request.action_id).is_err() {
        return Err(Error::InvalidInput(format!("action_id `{}` is not a UUIDv7 in lower-case hyphenated form", request.action_id)));
    }
    for (field, text) in [("note", &request.note), ("public_note", &request.public_note)] {
        if let Some(text) = text {
            check_note(text).map_err(|_| Error::InvalidInput(format!("{field} is longer than {MAX_NOTE_CHARS} characters")))?;
        }
    }
    if let Some(department) = &request.department {
        check_label("department", department)?;
    }
    if request.photos.len() > MAX_PHOTOS_PER_REPORT {
        return Err(Error::InvalidInput(format!("an action has at most {MAX_PHOTOS_PER_REPORT} photos")));
    }
    if let Some(bad) = request.photos.iter().find(|p| !is_sha256_hex(p)) {
        return Err(Error::InvalidInput(format!("photo `{bad}` is not a sha256 in lower-case hex")));
    }
    let needs = action.transition().needs;
    let blank = |t: &Option<String>| t.as_deref().is_none_or(|t| t.trim().is_empty());
    if needs.note && blank(&request.note) {
        return Err(Error::InvalidInput(format!("`{action}` needs a note")));
    }
    if needs.department && blank(&request.department) {
        return Err(Error::InvalidInput(format!("`{action}` needs a department")));
    }
    if needs.duplicate_of && blank(&request.duplicate_of) {
        return Err(Error::InvalidInput(format!("`{action}` needs duplicate_of")));
    }
    if let Some(of) = &request.duplicate_of {
        check_report_id(of).map_err(|_| Error::InvalidInput(format!("duplicate_of `{of}` is not a report id")))?;
    }
    if needs.photos && request.photos.is_empty() {
        return Err(Error::InvalidInput(format!("`{action}` needs at least one after-photo")));
    }
    if !needs.photos && !request.photos.is_empty() {
        return Err(Error::InvalidInput(format!("`{action}` takes no photos")));
    }
    match &request.due_at {
        None if needs.due_at => return Err(Error::InvalidInput(format!("`{action}` needs due_at"))),
        None => {}
        Some(due) => {
            let due_ms = parse_due_at(due)?;
            if due_ms <= now_ms {
                return Err(Error::InvalidInput(format!("due_at `{due}` is not in the future")));
            }
        }
    }
    Ok(())
}

/// A deadline as it travels (RFC 3339), in ms since the epoch.
pub fn parse_due_at(text: &str) -> Result<i64> {
    let at = chrono::DateTime::parse_from_rfc3339(text)
        .map_err(|_| Error::InvalidInput(format!("due_at `{text}` is not an RFC 3339 time, e.g. 2026-12-02T18:00:00+08:00")))?;
    let ms = at.timestamp_millis();
    if !(EARLIEST_CREATED_MS..=EARLIEST_CREATED_MS * 10).contains(&ms) {
        return Err(Error::InvalidInput(format!("due_at `{text}` is out of range")));
    }
    Ok(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(action: crate::Action) -> crate::protocol::ActionRequest {
        crate::protocol::ActionRequest {
            action_id: "01936f3e-1c2d-7a8b-9c0d-112233445566".into(),
            action,
            note: None,
            public_note: None,
            department: None,
            due_at: None,
            duplicate_of: None,
            photos: Vec::new(),
        }
    }

    #[test]
    fn actions_bring_what_they_need() {
        use crate::Action;
        let now = 1_764_000_000_000;
        assert!(check_action(&action(Action::Verify), now).is_ok());
        let err = check_action(&action(Action::Reject), now).unwrap_err().to_string();
        assert!(err.contains("needs a note"), "{err}");
        let mut rectify = action(Action::Rectify);
        rectify.note = Some("已清理".into());
        assert!(check_action(&rectify, now).unwrap_err().to_string().contains("after-photo"));
        rectify.photos = vec!["a".repeat(64)];
        assert!(check_action(&rectify, now).is_ok());
        rectify.photos = vec!["A".repeat(64)];
        assert!(check_action(&rectify, now).is_err(), "photo names are lower-case hex");
        let mut reopen = action(Action::Reopen);
        reopen.note = Some("又堆上了".into());
        reopen.due_at = Some("2020-01-01T00:00:00Z".into());
        assert!(check_action(&reopen, now).unwrap_err().to_string().contains("not in the future"));
        reopen.due_at = Some("2099-01-01T00:00:00+08:00".into());
        assert!(check_action(&reopen, now).is_ok());
        reopen.due_at = Some("tomorrow".into());
        assert!(check_action(&reopen, now).unwrap_err().to_string().contains("RFC 3339"));
        let mut bad_id = action(Action::Verify);
        bad_id.action_id = "1".into();
        assert!(check_action(&bad_id, now).unwrap_err().to_string().contains("action_id"));
        let mut photos_on_verify = action(Action::Verify);
        photos_on_verify.photos = vec!["a".repeat(64)];
        assert!(check_action(&photos_on_verify, now).is_err());
    }

    #[test]
    fn notes_are_bounded() {
        assert!(check_note("门口堆了很多纸箱\n第二行").is_ok());
        assert!(check_note(&"字".repeat(MAX_NOTE_CHARS)).is_ok());
        assert!(check_note(&"字".repeat(MAX_NOTE_CHARS + 1)).is_err());
        assert!(check_note("bell\u{7}").is_err());
    }

    #[test]
    fn labels_count_characters_not_bytes() {
        let chinese = "城关镇东大街社区第三网格北段一号楼至五号楼区"; // 22 characters, 66 bytes
        assert_eq!(chinese.chars().count(), 22);
        assert!(check_label("grid id", chinese).is_ok());
        assert!(check_label("grid id", &"网".repeat(MAX_LABEL_CHARS)).is_ok());
        assert!(check_label("grid id", &"网".repeat(MAX_LABEL_CHARS + 1)).is_err());
        assert!(check_label("grid id", "").is_err());
        assert!(check_label("grid id", "g\n1").is_err());
    }

    #[test]
    fn photo_counts() {
        assert!(matches!(check_photo_count(0), Err(Error::NoPhotos)));
        assert!(check_photo_count(1).is_ok() && check_photo_count(MAX_PHOTOS_PER_REPORT).is_ok());
        assert!(matches!(check_photo_count(MAX_PHOTOS_PER_REPORT + 1), Err(Error::TooManyPhotos { .. })));
    }

    #[test]
    fn locations_refuse_null_island_and_absurd_accuracy() {
        let at = |latitude, longitude| LatLon { latitude, longitude };
        assert!(check_location(at(32.34, 114.74), Some(8.0)).is_ok());
        assert!(check_location(at(0.0, 0.0), None).is_err());
        assert!(check_location(at(0.0, 114.74), None).is_ok(), "the equator is a real place");
        assert!(check_location(at(32.34, 114.74), Some(1e308)).is_err());
        assert!(check_location(at(32.34, 114.74), Some(MAX_ACCURACY_M)).is_ok());
        assert!(check_location(at(32.34, 114.74), Some(-1.0)).is_err());
        assert!(check_location(at(32.34, 114.74), Some(f64::NAN)).is_err());
        assert!(check_location(at(95.0, 10.0), None).is_err());
    }

    #[test]
    fn ids_must_be_canonical_v7() {
        let id = ReportId::new().to_string();
        assert!(check_report_id(&id).is_ok());
        assert!(check_report_id(&id.to_uppercase()).is_err());
        assert!(check_report_id(&id.replace('-', "")).is_err());
        assert!(check_report_id("f47ac10b-58cc-4372-a567-0e02b2c3d479").is_err(), "v4 is not v7");
        assert!(check_report_id("00000000-0000-0000-0000-000000000000").is_err());
        assert!(check_report_id("not-a-uuid").is_err());
    }

    #[test]
    fn created_at_between_2000_and_tomorrow() {
        let now = 1_780_000_000_000;
        assert!(check_created_at(now, now).is_ok());
        assert!(check_created_at(EARLIEST_CREATED_MS, now).is_ok());
        assert!(check_created_at(EARLIEST_CREATED_MS - 1, now).is_err());
        assert!(check_created_at(now + MAX_CLOCK_AHEAD_MS, now).is_ok());
        assert!(check_created_at(now + MAX_CLOCK_AHEAD_MS + 1, now).is_err());
    }

    #[test]
    fn sha_validation() {
        assert!(is_sha256_hex(&"a".repeat(64)));
        assert!(!is_sha256_hex(&"A".repeat(64)));
        assert!(!is_sha256_hex("../../etc/passwd"));
    }
}
