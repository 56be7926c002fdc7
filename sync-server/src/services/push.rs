//! A push: each report judged on its own against the rules (the core's,
//! shared with the device), then the batch stored in one transaction, with
//! the protocol's decisions: a repeat answers what it answered before,
//! another content under a taken id is a conflict, photos count only for
//! the user who sent them.

use chrono::NaiveDateTime;
use serde::Deserialize;
use serde_json::value::RawValue;
use suishoupai_core::photo::sha256_hex;
use suishoupai_core::protocol::{MAX_PHOTO_BYTES, PushOutcome, PushResult, WireReport};
use suishoupai_core::rules::{self as shared, is_sha256_hex};
use suishoupai_core::{Action, Category, LatLon, ReportStatus, ReporterRole};

use crate::clock::{ms_rfc3339, rfc3339_ms};
use crate::error::{Error, Result};
use crate::metrics::PushFate;
use crate::model::{Role, User};
use crate::services::grids::{GridIndex, Grids};
use crate::services::quotas::Quota;
use crate::storage::{self, CaseState, NewEvent, NewReportRow, Storage, WriteTxn};

/// One report of a push, as [`candidate`] judged it before storage sees it.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// As sent; looked up as it is even when it is not a valid id.
    pub id: String,
    /// sha256 of the report's canonical JSON: the same id with another hash
    /// is a conflict.
    pub content_sha256: String,
    /// The report ready to store, or why it is invalid.
    pub checked: Result<NewReport, String>,
}

#[derive(Debug, Clone)]
pub struct NewReport {
    pub wire: WireReport,
    /// The canonical JSON of `wire`, kept verbatim.
    pub body: String,
    /// The grid the report belongs to when the grid has no cell for it
    /// (see [`place`]): a grid worker's own, a coordinator's claimed one.
    pub fallback_grid: Option<String>,
    /// `created_at` in milliseconds since the epoch, for filters and order.
    pub created_ms: i64,
}

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
    let checked = check(user, &wire, now_ms).map(|(fallback_grid, created_ms)| NewReport { wire, body, fallback_grid, created_ms });
    Ok(Candidate { id, content_sha256, checked })
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
    check_photos("photos", &wire.photos)?;
    if wire.fixed_on_spot {
        if user.role != Role::GridWorker {
            return Err("only grid workers report a problem fixed on the spot (fixed_on_spot)".into());
        }
        if wire.after_photos.is_empty() {
            return Err("a problem fixed on the spot needs at least one after-photo (after_photos)".into());
        }
        shared::check_photo_count(wire.after_photos.len()).map_err(|e| format!("after_photos: {e}"))?;
        check_photos("after_photos", &wire.after_photos)?;
    } else if !wire.after_photos.is_empty() {
        return Err("after_photos go only with fixed_on_spot: true".into());
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

fn check_photos(field: &str, photos: &[suishoupai_core::protocol::WirePhoto]) -> Result<(), String> {
    for (index, photo) in photos.iter().enumerate() {
        if !is_sha256_hex(&photo.sha256) {
            return Err(format!("{field}[{index}].sha256 is not 64 lower-case hex digits"));
        }
        if photo.bytes == 0 || photo.bytes > MAX_PHOTO_BYTES || photo.width == 0 || photo.height == 0 {
            return Err(format!("{field}[{index}] has an impossible size"));
        }
    }
    Ok(())
}

/// The grid a report is placed in when it arrives: the cell containing its
/// location. A deployment without any cells (no grid imported) keeps the
/// grid the report came with (a grid worker's own, a coordinator's
/// claimed one); with cells, a report without a location or outside every
/// cell has no grid.
pub fn place(index: &GridIndex, report: &NewReport) -> Option<String> {
    if index.is_empty() {
        return report.fallback_grid.clone();
    }
    let location = report.wire.location.as_ref()?;
    index.place(location.latitude, location.longitude).map(str::to_owned)
}

/// Stores the batch in one transaction and answers each report, in order.
/// All of the batch's accepted reports become visible together, with
/// their `submitted` events. A batch whose new reports would take the
/// owner past the day's `quota` fails whole with
/// [`Error::QuotaExceeded`] and stores nothing; reports stored before
/// (a retried push) never count again.
pub fn push(
    storage: &dyn Storage,
    grids: &Grids,
    owner: &User,
    batch: &[Candidate],
    received_ms: i64,
    quota: &Quota,
) -> Result<Vec<PushResult>> {
    Ok(push_counted(storage, grids, owner, batch, received_ms, quota)?.into_iter().map(|(result, _)| result).collect())
}

/// [`push`], telling also what became of each report (for the metrics:
/// a report stored now and one a retry found stored answer alike).
pub fn push_counted(
    storage: &dyn Storage,
    grids: &Grids,
    owner: &User,
    batch: &[Candidate],
    received_ms: i64,
    quota: &Quota,
) -> Result<Vec<(PushResult, PushFate)>> {
    let received_at = ms_rfc3339(received_ms);
    storage::write(storage, |tx| {
        let index = grids.current(tx)?;
        let arrival = Arrival { owner, index: &index, at: &received_at, ms: received_ms, quota };
        let mut left = quota.reports_left(tx.sent_since(owner.id, quota.day_start_ms)?.reports);
        batch
            .iter()
            .map(|candidate| {
                let before = left;
                let result = push_one(tx, &arrival, candidate, &mut left)?;
                // `left` goes down exactly when a new report is stored.
                let fate = match result.outcome {
                    PushOutcome::Accepted if left < before => PushFate::stored,
                    PushOutcome::Accepted => PushFate::already_had,
                    PushOutcome::MissingPhotos => PushFate::missing_photos,
                    PushOutcome::Conflict => PushFate::conflict,
                    PushOutcome::Invalid => PushFate::invalid,
                };
                Ok((result, fate))
            })
            .collect()
    })
}

/// Who pushed, when, and the grid the batch is placed in.
struct Arrival<'a> {
    owner: &'a User,
    index: &'a GridIndex,
    at: &'a str,
    ms: i64,
    quota: &'a Quota,
}

fn accepted(id: &str, status: ReportStatus) -> PushResult {
    PushResult { id: id.to_owned(), outcome: PushOutcome::Accepted, missing: Vec::new(), error: None, status: Some(status) }
}

fn refused(id: &str, outcome: PushOutcome, error: String) -> PushResult {
    PushResult { id: id.to_owned(), outcome, missing: Vec::new(), error: Some(error), status: None }
}

/// One report of a push, inside the batch's transaction.
/// `left` is how many more reports the owner's quota takes today.
fn push_one(tx: &mut dyn WriteTxn, arrival: &Arrival, candidate: &Candidate, left: &mut u64) -> Result<PushResult> {
    let owner = arrival.owner;
    let id = candidate.id.as_str();
    // An id already taken decides first: a retried push must get the answer
    // it got the first time, even if the rules changed since.
    if let Some(existing) = tx.existing_report(id)? {
        if existing.owner_id == owner.id && existing.content_sha256 == candidate.content_sha256 {
            return Ok(accepted(id, existing.status));
        }
        return Ok(refused(
            id,
            PushOutcome::Conflict,
            "the server already holds a different report with this id; it was not changed".into(),
        ));
    }
    let report = match &candidate.checked {
        Ok(report) => report,
        Err(reason) => return Ok(refused(id, PushOutcome::Invalid, reason.clone())),
    };
    let mut missing: Vec<String> = Vec::new();
    let photos = report.wire.photos.iter().map(|p| ("photos", p));
    let after_photos = report.wire.after_photos.iter().map(|p| ("after_photos", p));
    for (index, (field, photo)) in photos.chain(after_photos).enumerate() {
        let index = if field == "photos" { index } else { index - report.wire.photos.len() };
        // Only a photo this user sent counts: for anyone else it is missing,
        // and nothing of it (size, dimensions) is told.
        match tx.held_photo(owner.id, &photo.sha256)? {
            None => {
                if !missing.contains(&photo.sha256) {
                    missing.push(photo.sha256.clone());
                }
            }
            Some(held) if (held.bytes, held.width, held.height) != (photo.bytes, photo.width, photo.height) => {
                return Ok(refused(
                    id,
                    PushOutcome::Invalid,
                    format!(
                        "{field}[{index}] says {}x{} px and {} bytes, but the uploaded photo is {}x{} px and {} bytes",
                        photo.width, photo.height, photo.bytes, held.width, held.height, held.bytes
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    if !missing.is_empty() {
        return Ok(PushResult { id: id.to_owned(), outcome: PushOutcome::MissingPhotos, missing, error: None, status: None });
    }
    if *left == 0 {
        return Err(arrival.quota.reports_exceeded());
    }
    *left -= 1;
    let wire = &report.wire;
    let grid_id = place(arrival.index, report);
    tx.insert_report(&NewReportRow {
        id,
        owner_id: owner.id,
        content_sha256: &candidate.content_sha256,
        body: &report.body,
        category: &wire.category,
        created_at: &wire.created_at,
        created_ms: report.created_ms,
        grid_id: grid_id.as_deref(),
        received_at: arrival.at,
        received_ms: arrival.ms,
        photos: wire.photos.iter().map(|p| p.sha256.as_str()).collect(),
        location: wire.location.as_ref().map(|l| (l.latitude, l.longitude)),
    })?;
    let arrived = NewEvent::arrival(id, ReportStatus::Submitted, owner, arrival.at);
    tx.append_event(&arrived)?;
    if !wire.fixed_on_spot {
        return Ok(accepted(id, ReportStatus::Submitted));
    }
    // 即查即改: found and fixed on the spot, it arrives rectified and
    // awaits verification like any rectification.
    tx.append_event(&NewEvent {
        action: Some(Action::Rectify),
        photos: wire.after_photos.iter().map(|p| p.sha256.as_str()).collect(),
        ..NewEvent::arrival(id, ReportStatus::Rectified, owner, arrival.at)
    })?;
    tx.set_case_state(
        id,
        &CaseState {
            status: ReportStatus::Rectified,
            department: None,
            due_at: None,
            due_ms: None,
            duplicate_of: None,
            changed_ms: arrival.ms,
        },
    )?;
    Ok(accepted(id, ReportStatus::Rectified))
}

#[cfg(test)]
mod tests {
    use suishoupai_core::photo::sha256_hex;

    use super::*;
    use crate::storage::sqlite::SqliteStorage;
    use crate::storage::{NewUser, PhotoMeta};

    const NOW: i64 = 1_780_000_000_000;
    const AT: &str = "2026-05-28T08:00:00.000Z";

    fn user(storage: &dyn Storage, name: &str, role: Role) -> User {
        let grid_id = (role == Role::GridWorker).then(|| "g-7".to_owned());
        let new = NewUser { name: name.into(), role, grid_id, department: None };
        storage::write(storage, |tx| Ok::<_, Error>(tx.insert_user(&new, AT)?)).unwrap()
    }

    fn hold(storage: &dyn Storage, user: &User, sha256: &str) {
        let meta = PhotoMeta { sha256: sha256.into(), bytes: 100, width: 4, height: 3, phash: None };
        storage::write(storage, |tx| {
            tx.add_photo(&meta, AT)?;
            Ok::<_, Error>(tx.add_holder(sha256, user.id, NOW)?)
        })
        .unwrap();
    }

    fn wire(id: &str, photo: &str, note: &str) -> String {
        serde_json::json!({
            "id": id, "category": "garbage", "note": note,
            "location": { "latitude": 32.34, "longitude": 114.74, "source": "device" },
            "photos": [{ "sha256": photo, "width": 4, "height": 3, "bytes": 100 }],
            "reporter": { "role": "resident", "grid_id": null }, "taken_at": null, "created_at": AT,
        })
        .to_string()
    }

    fn push_one_report(storage: &dyn Storage, user: &User, json: &str) -> PushResult {
        push(storage, &Grids::default(), user, &[candidate(user, 0, json, NOW).unwrap()], NOW, &quota()).unwrap().remove(0)
    }

    #[test]
    fn a_repeat_is_accepted_again_and_other_content_is_a_conflict() {
        let storage = SqliteStorage::open_in_memory().unwrap();
        let ana = user(&storage, "ana", Role::Resident);
        let photo = sha256_hex(b"photo");
        hold(&storage, &ana, &photo);
        let id = "01900000-0000-7000-8000-000000000001";
        assert_eq!(push_one_report(&storage, &ana, &wire(id, &photo, "a")).outcome, PushOutcome::Accepted);
        // The same content in another key order and spacing: the same report.
        let reordered = serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(&wire(id, &photo, "a")).unwrap()).unwrap();
        let again = push_one_report(&storage, &ana, &reordered);
        assert_eq!((again.outcome, again.status), (PushOutcome::Accepted, Some(ReportStatus::Submitted)));
        assert_eq!(push_one_report(&storage, &ana, &wire(id, &photo, "b")).outcome, PushOutcome::Conflict);
        // Another user's repeat of ana's very report is a conflict too.
        let bo = user(&storage, "bo", Role::Resident);
        hold(&storage, &bo, &photo);
        assert_eq!(push_one_report(&storage, &bo, &wire(id, &photo, "a")).outcome, PushOutcome::Conflict);
    }

    #[test]
    fn a_photo_counts_only_for_whoever_sent_it() {
        let storage = SqliteStorage::open_in_memory().unwrap();
        let ana = user(&storage, "ana", Role::Resident);
        let bo = user(&storage, "bo", Role::Resident);
        let photo = sha256_hex(b"ana's doorstep");
        hold(&storage, &ana, &photo);
        let result = push_one_report(&storage, &bo, &wire("01900000-0000-7000-8000-000000000002", &photo, "x"));
        assert_eq!((result.outcome, result.missing), (PushOutcome::MissingPhotos, vec![photo.clone()]));
        assert_eq!(result.error, None, "nothing is told about the photo");
    }

    fn quota() -> Quota {
        Quota::at(&crate::state::Settings::default(), NOW).unwrap()
    }

    #[test]
    fn a_batch_past_the_daily_quota_stores_nothing_and_a_retry_never_counts_twice() {
        let storage = SqliteStorage::open_in_memory().unwrap();
        let ana = user(&storage, "ana", Role::Resident);
        let photo = sha256_hex(b"photo");
        hold(&storage, &ana, &photo);
        let settings = crate::state::Settings {
            daily_quota: crate::state::DailyQuota { reports: 2, photo_bytes: u64::MAX },
            ..crate::state::Settings::default()
        };
        let two = Quota::at(&settings, NOW).unwrap();
        let report = |n: u32| candidate(&ana, 0, &wire(&format!("01900000-0000-7000-8000-00000000010{n}"), &photo, "x"), NOW).unwrap();
        let first = push(&storage, &Grids::default(), &ana, &[report(1)], NOW, &two).unwrap();
        assert_eq!(first[0].outcome, PushOutcome::Accepted);
        // Two new ones with one left: the whole batch is refused, neither stored.
        let refused = push(&storage, &Grids::default(), &ana, &[report(2), report(3)], NOW, &two);
        assert!(
            matches!(refused, Err(Error::QuotaExceeded { retry_after_secs, .. }) if retry_after_secs > 0 && retry_after_secs <= 86_400)
        );
        let stored = |n: u32| {
            storage::read(&storage, |tx| Ok::<_, Error>(tx.existing_report(&format!("01900000-0000-7000-8000-00000000010{n}"))?)).unwrap()
        };
        assert!(stored(2).is_none() && stored(3).is_none());
        // The stored one pushed again, and one new: a retry is not a new report.
        let retried = push(&storage, &Grids::default(), &ana, &[report(1), report(2)], NOW, &two).unwrap();
        assert_eq!((retried[0].outcome, retried[1].outcome), (PushOutcome::Accepted, PushOutcome::Accepted));
        assert!(matches!(push(&storage, &Grids::default(), &ana, &[report(3)], NOW, &two), Err(Error::QuotaExceeded { .. })));
        // The next local day counts from nothing.
        let tomorrow = Quota::at(&settings, NOW + 86_400_000).unwrap();
        let later = candidate(&ana, 0, &wire("01900000-0000-7000-8000-000000000103", &photo, "x"), NOW + 86_400_000).unwrap();
        assert_eq!(
            push(&storage, &Grids::default(), &ana, &[later], NOW + 86_400_000, &tomorrow).unwrap()[0].outcome,
            PushOutcome::Accepted
        );
    }

    #[test]
    fn an_invalid_report_does_not_hold_back_the_batch_and_changes_nothing() {
        let storage = SqliteStorage::open_in_memory().unwrap();
        let ana = user(&storage, "ana", Role::Resident);
        let photo = sha256_hex(b"photo");
        hold(&storage, &ana, &photo);
        let bad = wire("01900000-0000-7000-8000-000000000003", &photo, "x").replace("garbage", "Garbage");
        let good = wire("01900000-0000-7000-8000-000000000004", &photo, "x");
        let batch = [candidate(&ana, 0, &bad, NOW).unwrap(), candidate(&ana, 1, &good, NOW).unwrap()];
        let results = push(&storage, &Grids::default(), &ana, &batch, NOW, &quota()).unwrap();
        assert_eq!((results[0].outcome, results[1].outcome), (PushOutcome::Invalid, PushOutcome::Accepted));
        assert!(results[0].error.as_deref().unwrap().contains("category"));
        let stored = storage::read(&storage, |tx| Ok::<_, Error>(tx.existing_report("01900000-0000-7000-8000-000000000003")?)).unwrap();
        assert_eq!(stored, None);
    }

    #[test]
    fn a_grid_workers_report_belongs_to_their_grid_and_a_residents_to_none() {
        let storage = SqliteStorage::open_in_memory().unwrap();
        let wang = user(&storage, "wang", Role::GridWorker);
        let ana = user(&storage, "ana", Role::Resident);
        let photo = sha256_hex(b"photo");
        let claiming = wire("01900000-0000-7000-8000-000000000005", &photo, "x").replace("\"grid_id\":null", "\"grid_id\":\"g-99\"");
        assert!(claiming.contains("g-99"));
        let judged = candidate(&wang, 0, &claiming, NOW).unwrap();
        assert_eq!(judged.checked.unwrap().fallback_grid.as_deref(), Some("g-7"), "the worker's own grid, whatever the device claims");
        let judged = candidate(&ana, 0, &claiming, NOW).unwrap();
        assert_eq!(judged.checked.unwrap().fallback_grid, None, "only the server assigns grids");
        // A 22-character Chinese grid id (66 bytes) is taken here as on the device.
        let coco = user(&storage, "coco", Role::Coordinator);
        let chinese = "城关镇东大街社区第三网格北段一号楼至五号楼区";
        let long =
            wire("01900000-0000-7000-8000-000000000006", &photo, "x").replace("\"grid_id\":null", &format!("\"grid_id\":\"{chinese}\""));
        assert_eq!(candidate(&coco, 0, &long, NOW).unwrap().checked.unwrap().fallback_grid.as_deref(), Some(chinese));
    }

    /// Two server instances over one PostgreSQL database take the same
    /// batch at the same moment (a device's retry reaching the other
    /// instance): each answers every report accepted, as a repeat is, and
    /// each report is stored once, with one `submitted` event.
    #[test]
    fn one_batch_pushed_to_two_instances_at_once_is_stored_once() {
        use crate::storage::postgres::{PostgresOptions, PostgresStorage};
        let url = crate::testkit::postgres::fresh_database();
        let connect = || std::sync::Arc::new(PostgresStorage::connect(&url, &PostgresOptions::default()).unwrap());
        let (a, b) = (connect(), connect());
        let ana = user(&*a, "ana", Role::Resident);
        let photo = sha256_hex(b"photo");
        hold(&*a, &ana, &photo);
        for round in 0..5 {
            let batch: Vec<Candidate> = (0..10)
                .map(|n| candidate(&ana, n, &wire(&format!("01900000-0000-7000-8000-0000000{round}00{n:02}"), &photo, "x"), NOW).unwrap())
                .collect();
            let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
            let instances: Vec<_> = [a.clone(), b.clone()]
                .into_iter()
                .map(|storage| {
                    let (ana, batch, barrier) = (ana.clone(), batch.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        push(&*storage, &Grids::default(), &ana, &batch, NOW, &quota())
                    })
                })
                .collect();
            for instance in instances {
                let results = instance.join().unwrap().expect("both instances answer the push");
                assert!(results.iter().all(|r| r.outcome == PushOutcome::Accepted), "{results:?}");
            }
        }
        let changes = storage::read(&*a, |tx| Ok::<_, Error>(tx.changes(&crate::model::Scope::All, None, 1000)?)).unwrap();
        assert_eq!(changes.changes.len(), 50, "one submitted event a report");
    }
}
