//! The consistency contract of [`Storage`] as tests, written against the
//! trait so that every backend runs the same suite (see the bottom of each
//! backend's module). The decisions made with storage (a repeated push, an
//! upload allowance) are the services', tested beside them.

use std::sync::Arc;

use suishoupai_core::{Action, ReportStatus};

use super::{
    CaseState, Department, GridCell, LocatedReport, Near, NewEvent, NewRefusal, NewReportRow, NewUser, OpenUploads, PhotoMeta, ReadTxn,
    RecordedAction, Refusal, Route, Storage, StorageError, StorageResult, TaskOwner, UploadKey, UploadRow, WriteTxn, read, write,
};
use crate::model::{Role, Scope, User};

type Store = Arc<dyn Storage>;

const PHOTO: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const AT: &str = "2026-05-01T08:00:00.000Z";
const NOW: i64 = 1_780_000_000_000;

fn w<T>(storage: &Store, f: impl FnMut(&mut dyn WriteTxn) -> StorageResult<T>) -> T {
    write(&**storage, f).unwrap()
}

fn r<T>(storage: &Store, f: impl FnMut(&dyn ReadTxn) -> StorageResult<T>) -> T {
    read(&**storage, f).unwrap()
}

fn token(name: &str) -> String {
    format!("{name:0>64}")
}

fn user(storage: &Store, name: &str, role: Role) -> User {
    let grid_id = (role == Role::GridWorker).then(|| "g-1".to_owned());
    let department = (role == Role::Department).then(|| "d-1".to_owned());
    let new = NewUser { name: name.into(), role, grid_id, department };
    w(storage, |tx| {
        let user = tx.insert_user(&new, AT)?;
        tx.insert_token(user.id, &token(name), "default", AT)?;
        Ok(user)
    })
}

/// `holder` holds [`PHOTO`].
fn photo(storage: &Store, holder: &User) {
    let meta = PhotoMeta { sha256: PHOTO.into(), bytes: 100, width: 4, height: 3, phash: Some("00ff00ff00ff00ff".into()) };
    w(storage, |tx| {
        tx.add_photo(&meta, AT)?;
        tx.add_holder(PHOTO, holder.id, 0)
    });
}

fn id(n: u32) -> String {
    format!("01900000-0000-7000-8000-{n:012}")
}

fn body(id: &str, note: &str) -> String {
    serde_json::json!({
        "id": id, "category": "garbage", "note": note, "location": null,
        "photos": [{ "sha256": PHOTO, "width": 4, "height": 3, "bytes": 100 }],
        "reporter": { "role": "resident", "grid_id": null }, "taken_at": null, "created_at": AT,
    })
    .to_string()
}

/// Stores a report of `owner` under `id`, with its `submitted` event.
fn report(tx: &mut dyn WriteTxn, owner: &User, id: &str, note: &str) -> StorageResult<()> {
    let body = body(id, note);
    let hash = suishoupai_core::photo::sha256_hex(body.as_bytes());
    tx.insert_report(&NewReportRow {
        id,
        owner_id: owner.id,
        content_sha256: &hash,
        body: &body,
        category: "garbage",
        created_at: AT,
        created_ms: NOW,
        grid_id: owner.grid_id.as_deref(),
        received_at: AT,
        received_ms: NOW,
        photos: vec![PHOTO],
        location: Some((32.34, 114.74)),
    })?;
    tx.append_event(&NewEvent::arrival(id, ReportStatus::Submitted, owner, AT))
}

fn event<'a>(id: &'a str, actor: &User, status: ReportStatus, department: Option<&'a str>) -> NewEvent<'a> {
    NewEvent { department, ..NewEvent::arrival(id, status, actor, AT) }
}

/// Appends the event and folds it into the case, as the workflow does.
fn step(tx: &mut dyn WriteTxn, id: &str, actor: &User, status: ReportStatus, department: Option<&str>) -> StorageResult<()> {
    tx.append_event(&event(id, actor, status, department))?;
    let state = CaseState {
        status,
        department: department.map(str::to_owned),
        due_at: Some("2026-06-01T00:00:00.000Z".into()),
        due_ms: Some(NOW + 1000),
        duplicate_of: None,
        changed_ms: NOW,
    };
    tx.set_case_state(id, &state)
}

pub fn push_is_idempotent_and_first_content_wins(storage: Store) {
    let ana = user(&storage, "ana", Role::Resident);
    photo(&storage, &ana);
    w(&storage, |tx| report(tx, &ana, &id(1), "a"));
    // The same id again fails whole, and the first content stays.
    let again = write(&*storage, |tx| report(tx, &ana, &id(1), "b"));
    assert!(again.is_err());
    let existing = r(&storage, |tx| tx.existing_report(&id(1))).unwrap();
    assert_eq!((existing.owner_id, existing.status), (ana.id, ReportStatus::Submitted));
    assert_eq!(existing.content_sha256, suishoupai_core::photo::sha256_hex(body(&id(1), "a").as_bytes()));
    let stored = r(&storage, |tx| tx.report(&Scope::All, &id(1))).unwrap();
    assert_eq!((stored.wire.note.as_str(), stored.owner.as_str()), ("a", "ana"));
    assert_eq!(r(&storage, |tx| tx.changes(&Scope::Owner(ana.id), None, 10)).changes.len(), 1, "one submitted event");
    assert_eq!(r(&storage, |tx| tx.existing_report(&id(2))), None);
}

pub fn upload_offsets_move_only_from_the_offset_seen(storage: Store) {
    let ana = user(&storage, "ana", Role::Resident);
    let key = UploadKey { user_id: ana.id, sha256: "2".repeat(64) };
    w(&storage, |tx| tx.put_upload(&key, 10, AT, NOW));
    w(&storage, |tx| tx.set_upload_offset(&key, 4, NOW));
    assert_eq!(r(&storage, |tx| tx.upload(&key)), Some(UploadRow { length: 10, offset: 4 }));
    // Starting again, with any length, goes back to 0.
    w(&storage, |tx| tx.put_upload(&key, 11, AT, NOW));
    assert_eq!(r(&storage, |tx| tx.upload(&key)), Some(UploadRow { length: 11, offset: 0 }));
    w(&storage, |tx| tx.delete_upload(&key));
    assert_eq!(r(&storage, |tx| tx.upload(&key)), None);
}

/// Uploads are one user's: the same photo from two users is two uploads.
pub fn uploads_start_together_in_order(storage: Store) {
    let ana = user(&storage, "ana", Role::Resident);
    let bo = user(&storage, "bo", Role::Resident);
    let (ana_key, bo_key) = (UploadKey { user_id: ana.id, sha256: PHOTO.into() }, UploadKey { user_id: bo.id, sha256: PHOTO.into() });
    w(&storage, |tx| {
        tx.put_upload(&ana_key, 100, AT, NOW)?;
        tx.put_upload(&UploadKey { user_id: ana.id, sha256: "3".repeat(64) }, 50, AT, NOW)?;
        tx.set_upload_offset(&ana_key, 60, NOW)
    });
    assert_eq!(r(&storage, |tx| tx.upload(&bo_key)), None);
    assert_eq!(r(&storage, |tx| tx.open_uploads(ana.id)), OpenUploads { count: 2, declared_bytes: 150 });
    assert_eq!(r(&storage, |tx| tx.open_uploads(bo.id)), OpenUploads::default());
}

pub fn photos_count_only_for_those_who_sent_them(storage: Store) {
    let ana = user(&storage, "ana", Role::Resident);
    let bo = user(&storage, "bo", Role::Resident);
    photo(&storage, &ana);
    assert!(r(&storage, |tx| tx.held_photo(ana.id, PHOTO)).is_some());
    assert_eq!(r(&storage, |tx| tx.held_photo(bo.id, PHOTO)), None);
    // A second record of the photo changes nothing but who holds it.
    let other = PhotoMeta { sha256: PHOTO.into(), bytes: 999, width: 1, height: 1, phash: None };
    w(&storage, |tx| {
        tx.add_photo(&other, AT)?;
        tx.add_holder(PHOTO, bo.id, 0)
    });
    assert_eq!(r(&storage, |tx| tx.held_photo(bo.id, PHOTO)).map(|p| p.bytes), Some(100));
}

/// A write whose closure fails leaves nothing of what it did; the caller's
/// error comes back as it was.
pub fn a_failed_write_changes_nothing(storage: Store) {
    let ana = user(&storage, "ana", Role::Resident);
    photo(&storage, &ana);
    let failed: Result<(), StorageError> = write(&*storage, |tx| {
        report(tx, &ana, &id(1), "x")?;
        tx.put_upload(&UploadKey { user_id: ana.id, sha256: "4".repeat(64) }, 5, AT, NOW)?;
        Err(StorageError::Conflict("changed my mind".into()))
    });
    assert!(matches!(failed, Err(StorageError::Conflict(m)) if m == "changed my mind"));
    assert_eq!(r(&storage, |tx| tx.existing_report(&id(1))), None);
    assert_eq!(r(&storage, |tx| tx.open_uploads(ana.id)).count, 0);
    // And the storage goes on working.
    w(&storage, |tx| report(tx, &ana, &id(1), "x"));
    assert!(r(&storage, |tx| tx.existing_report(&id(1))).is_some());
}

pub fn untouched_uploads_expire(storage: Store) {
    let ana = user(&storage, "ana", Role::Resident);
    let (old, fresh) = (UploadKey { user_id: ana.id, sha256: "6".repeat(64) }, UploadKey { user_id: ana.id, sha256: "7".repeat(64) });
    w(&storage, |tx| {
        tx.put_upload(&old, 10, AT, NOW - 100)?;
        tx.put_upload(&fresh, 10, AT, NOW - 100)?;
        // A chunk touches the upload.
        tx.set_upload_offset(&fresh, 5, NOW)
    });
    assert_eq!(w(&storage, |tx| tx.expire_uploads(NOW - 50)), [old]);
    assert_eq!(r(&storage, |tx| tx.upload_keys()), [fresh]);
}

/// Tokens can be revoked and users disabled; every such change moves the auth version.
pub fn tokens_are_revoked_and_users_disabled(storage: Store) {
    let version = |storage: &Store| r(storage, |tx| tx.auth_version());
    let before = version(&storage);
    let ana = user(&storage, "ana", Role::Resident);
    let owner = |t: &str| r(&storage, |tx| tx.token_owner(t));
    assert_eq!(owner(&token("ana")).map(|o| o.user), Some(ana.clone()));
    let added = version(&storage);
    assert!(added > before);
    w(&storage, |tx| {
        tx.revoke_tokens(ana.id, AT)?;
        tx.insert_token(ana.id, &"9".repeat(64), "phone", AT)
    });
    assert_eq!(owner(&token("ana")), None, "the old token is dead");
    assert_eq!(owner(&"9".repeat(64)).map(|o| o.disabled), Some(false));
    let revoked = version(&storage);
    assert!(revoked > added);
    w(&storage, |tx| tx.set_disabled(ana.id, Some(AT)));
    assert_eq!(owner(&"9".repeat(64)).map(|o| o.disabled), Some(true));
    assert!(version(&storage) > revoked);
    let listed = r(&storage, |tx| tx.users());
    assert_eq!((listed[0].disabled, listed[0].active_tokens), (true, 1));
    w(&storage, |tx| tx.set_disabled(ana.id, None));
    assert_eq!(owner(&"9".repeat(64)).map(|o| o.disabled), Some(false));
    // A name is one user's.
    let taken =
        write(&*storage, |tx| tx.insert_user(&NewUser { name: "ana".into(), role: Role::Admin, grid_id: None, department: None }, AT));
    assert!(matches!(taken, Err(StorageError::Conflict(_))));
    assert_eq!(r(&storage, |tx| tx.user_by_name("ana")), Some(ana));
    assert_eq!(r(&storage, |tx| tx.user_by_name("nobody")), None);
}

/// Writers append events while a reader pages through the feed: the reader
/// ends up with every event exactly once, in order.
pub fn a_cursor_never_skips_a_committed_change(storage: Store) {
    let coco = user(&storage, "coco", Role::Coordinator);
    photo(&storage, &coco);
    w(&storage, |tx| (0..40).try_for_each(|n| report(tx, &coco, &id(n), "x")));
    let writers: Vec<_> = (0..2)
        .map(|n| {
            let (storage, coco) = (storage.clone(), coco.clone());
            std::thread::spawn(move || {
                for k in (n..40).step_by(2) {
                    let report = id(k);
                    w(&storage, |tx| tx.append_event(&event(&report, &coco, ReportStatus::Accepted, None)));
                }
            })
        })
        .collect();
    let mut seen = Vec::new();
    let mut after = None;
    let mut done = false;
    loop {
        let page = r(&storage, |tx| tx.changes(&Scope::All, after, 7));
        seen.extend(page.changes.iter().map(|c| (c.report_id.clone(), c.status)));
        after = page.last_seq.or(after);
        if done && !page.has_more {
            break;
        }
        done = writers.iter().all(|w| w.is_finished());
    }
    writers.into_iter().for_each(|w| w.join().unwrap());
    let all = r(&storage, |tx| tx.changes(&Scope::All, None, 1000));
    let all: Vec<_> = all.changes.iter().map(|c| (c.report_id.clone(), c.status)).collect();
    assert_eq!(all.len(), 80);
    assert_eq!(seen, all);
}

pub fn scopes_hide_other_peoples_reports(storage: Store) {
    let ana = user(&storage, "ana", Role::Resident);
    let bo = user(&storage, "bo", Role::Resident);
    let coco = user(&storage, "coco", Role::Coordinator);
    photo(&storage, &ana);
    w(&storage, |tx| report(tx, &ana, &id(1), "x"));
    let sees = |scope: Scope| r(&storage, |tx| tx.report(&scope, &id(1))).is_some();
    assert!(sees(Scope::Owner(ana.id)));
    assert!(!sees(Scope::Owner(bo.id)));
    assert!(!sees(Scope::Department("d-1".into())));
    assert!(!sees(Scope::GridOrOwner { grid_id: "g-1".into(), owner: bo.id }));
    assert!(r(&storage, |tx| tx.photo_visible(&Scope::Owner(ana.id), PHOTO)));
    assert!(!r(&storage, |tx| tx.photo_visible(&Scope::Owner(bo.id), PHOTO)));
    // A dispatch puts it in the department's scope and keeps the department.
    let one = id(1);
    w(&storage, |tx| step(tx, &one, &coco, ReportStatus::Dispatched, Some("d-1")));
    assert!(sees(Scope::Department("d-1".into())));
    w(&storage, |tx| step(tx, &one, &coco, ReportStatus::Rectified, Some("d-1")));
    let stored = r(&storage, |tx| tx.report(&Scope::All, &id(1))).unwrap();
    assert_eq!((stored.status, stored.department.as_deref()), (ReportStatus::Rectified, Some("d-1")));
    let history: Vec<_> = stored.history.iter().map(|h| (h.status, h.actor.as_str())).collect();
    assert_eq!(history, [(ReportStatus::Submitted, "ana"), (ReportStatus::Dispatched, "coco"), (ReportStatus::Rectified, "coco")]);
    // The changes feed follows the scopes too.
    assert_eq!(r(&storage, |tx| tx.changes(&Scope::Owner(bo.id), None, 10)).changes.len(), 0);
    assert_eq!(r(&storage, |tx| tx.changes(&Scope::Owner(ana.id), None, 10)).changes.len(), 3);
}

/// The case's state is what the last fold set, next to its events; task
/// lists, recorded actions and after-photos follow it.
pub fn cases_hold_their_folded_state(storage: Store) {
    let ana = user(&storage, "ana", Role::Resident);
    let coco = user(&storage, "coco", Role::Coordinator);
    photo(&storage, &ana);
    w(&storage, |tx| (1..=3).try_for_each(|n| report(tx, &ana, &id(n), "x")));
    let (one, two) = (id(1), id(2));
    w(&storage, |tx| step(tx, &one, &coco, ReportStatus::Dispatched, Some("d-1")));
    w(&storage, |tx| step(tx, &two, &coco, ReportStatus::Closed, Some("d-1")));
    let stored = r(&storage, |tx| tx.report(&Scope::All, &one)).unwrap();
    assert_eq!((stored.status, stored.due_ms), (ReportStatus::Dispatched, Some(NOW + 1000)));
    // A department's tasks: dispatched to it now; closed ones are not.
    let tasks = r(&storage, |tx| tx.tasks(&TaskOwner::Department("d-1".into()), 10));
    assert_eq!(tasks.iter().map(|t| t.wire.id.as_str()).collect::<Vec<_>>(), [one.as_str()]);
    // An action id is recorded once, with its content hash and its photos.
    let after = "a".repeat(64);
    w(&storage, |tx| {
        tx.add_photo(&PhotoMeta { sha256: after.clone(), bytes: 10, width: 2, height: 2, phash: None }, AT)?;
        tx.append_event(&NewEvent {
            action_id: Some("01900000-0000-7000-8000-00000000aaaa"),
            content_sha256: Some("c1"),
            photos: vec![&after],
            ..NewEvent::arrival(&one, ReportStatus::Rectified, &coco, AT)
        })
    });
    let recorded = r(&storage, |tx| tx.recorded_action("01900000-0000-7000-8000-00000000aaaa")).unwrap();
    assert_eq!((recorded.report_id.as_str(), recorded.actor_id, recorded.content_sha256.as_str()), (one.as_str(), coco.id, "c1"));
    let again = write(&*storage, |tx| {
        tx.append_event(&NewEvent {
            action_id: Some("01900000-0000-7000-8000-00000000aaaa"),
            ..NewEvent::arrival(&two, ReportStatus::Closed, &coco, AT)
        })
    });
    assert!(again.is_err(), "an action id is taken once");
    // A refusal is recorded under its id as it was answered, once.
    let refusal = Refusal::InvalidTransition {
        message: "the case is `dispatched`".into(),
        status: ReportStatus::Dispatched,
        allowed: vec![Action::Acknowledge, Action::Return],
    };
    let refused =
        |action_id| NewRefusal { action_id, report_id: &two, actor_id: coco.id, content_sha256: "c2", refusal: &refusal, refused_ms: NOW };
    w(&storage, |tx| tx.record_refusal(&refused("01900000-0000-7000-8000-00000000bbbb")));
    let recorded = r(&storage, |tx| tx.recorded_action("01900000-0000-7000-8000-00000000bbbb")).unwrap();
    assert_eq!(
        recorded,
        RecordedAction { report_id: two.clone(), actor_id: coco.id, content_sha256: "c2".into(), refusal: Some(refusal.clone()) }
    );
    assert!(write(&*storage, |tx| tx.record_refusal(&refused("01900000-0000-7000-8000-00000000bbbb"))).is_err(), "refused once");
    for other in [Refusal::BadRequest("due_at: not RFC 3339".into()), Refusal::Forbidden("only a grid worker".into())] {
        let id = if matches!(other, Refusal::BadRequest(_)) {
            "01900000-0000-7000-8000-00000000cccc"
        } else {
            "01900000-0000-7000-8000-00000000dddd"
        };
        w(&storage, |tx| tx.record_refusal(&NewRefusal { refusal: &other, ..refused(id) }));
        assert_eq!(r(&storage, |tx| tx.recorded_action(id)).unwrap().refusal, Some(other));
    }
    assert_eq!(r(&storage, |tx| tx.recorded_action("01900000-0000-7000-8000-00000000eeee")), None);
    assert!(r(&storage, |tx| tx.photo_visible(&Scope::Department("d-1".into()), &after)), "after-photos are the case's");
    assert!(!r(&storage, |tx| tx.photo_visible(&Scope::Owner(coco.id), &after)));
    // Reports near a point, by category and time.
    let near = |lat: f64, category: &str| Near {
        category: category.into(),
        min_lat: lat - 0.001,
        max_lat: lat + 0.001,
        min_lon: 114.739,
        max_lon: 114.741,
        since_ms: NOW - 1,
        until_ms: NOW + 1,
    };
    let found = r(&storage, |tx| tx.reports_near(&near(32.34, "garbage"), &one));
    assert_eq!(found.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(), [id(2).as_str(), id(3).as_str()]);
    assert_eq!(found[0].photos, [PHOTO]);
    assert!(r(&storage, |tx| tx.reports_near(&near(32.35, "garbage"), &one)).is_empty());
    assert!(r(&storage, |tx| tx.reports_near(&near(32.34, "advertising"), &one)).is_empty());
    assert_eq!(r(&storage, |tx| tx.phashes(&[PHOTO.to_owned(), after.clone()])), [(PHOTO.to_owned(), "00ff00ff00ff00ff".to_owned())]);
}

/// Cells, departments and routes round-trip; a cell's id is replaced, and
/// every change to cells moves the grid's version.
pub fn grids_departments_and_routes_round_trip(storage: Store) {
    let cell = |name: &str| GridCell {
        grid_id: "g-1".into(),
        name: name.into(),
        community: "幸福社区".into(),
        street_office: "谯楼街道".into(),
        geometry: "{}".into(),
        bbox: [32.0, 32.1, 114.0, 114.1],
    };
    let v0 = r(&storage, |tx| tx.grids_version());
    w(&storage, |tx| tx.put_grid_cell(&cell("一"), AT));
    w(&storage, |tx| tx.put_grid_cell(&cell("二"), AT));
    assert_eq!(r(&storage, |tx| tx.grid_cells()), [cell("二")]);
    assert!(r(&storage, |tx| tx.grids_version()) >= v0 + 2);
    let department = Department { code: "cg".into(), name: "城管局".into(), name_en: None };
    w(&storage, |tx| tx.put_department(&department));
    assert_eq!(r(&storage, |tx| tx.department("cg")), Some(department.clone()));
    assert_eq!(r(&storage, |tx| tx.department("sw")), None);
    let route = Route { category: "garbage".into(), department: "cg".into(), deadline_hours: 48 };
    w(&storage, |tx| tx.put_route(&route));
    assert_eq!(r(&storage, |tx| tx.route("garbage")), Some(route.clone()));
    assert_eq!(r(&storage, |tx| tx.routes()), [route]);
    let ana = user(&storage, "ana", Role::Resident);
    photo(&storage, &ana);
    w(&storage, |tx| report(tx, &ana, &id(1), "x"));
    w(&storage, |tx| tx.set_report_grid(&id(1), Some("g-1")));
    let histories = r(&storage, |tx| tx.case_histories());
    assert_eq!(histories.len(), 1);
    let h = &histories[0];
    assert_eq!(
        (h.grid_id.as_deref(), h.street_office.as_deref(), h.community.as_deref()),
        (Some("g-1"), Some("谯楼街道"), Some("幸福社区"))
    );
    assert!(h.actions.is_empty(), "an arrival is no action");
    let located = LocatedReport { id: id(1), grid_id: Some("g-1".into()), latitude: 32.34, longitude: 114.74 };
    assert_eq!(r(&storage, |tx| tx.located_reports()), [located]);
}

/// A window's cases: every one with an action in it, a deadline in it, or
/// open with a department and past due now, each with all its actions.
pub fn a_window_reads_every_case_it_can_count(storage: Store) {
    let ana = user(&storage, "ana", Role::Resident);
    let coco = user(&storage, "coco", Role::Coordinator);
    photo(&storage, &ana);
    let ms = |t: &str| chrono::DateTime::parse_from_rfc3339(t).unwrap().timestamp_millis();
    // (case, accepted at, status now, due)
    let cases = [
        (1, "2026-05-10T10:00:00.000Z", ReportStatus::Closed, "2026-05-12T00:00:00.000Z"),
        (2, "2026-03-01T10:00:00.000Z", ReportStatus::Dispatched, "2026-05-10T20:00:00.000Z"),
        (3, "2026-03-01T10:00:00.000Z", ReportStatus::InProgress, "2026-03-05T00:00:00.000Z"),
        (4, "2026-03-01T10:00:00.000Z", ReportStatus::Closed, "2026-03-05T00:00:00.000Z"),
        (5, "2026-03-01T10:00:00.000Z", ReportStatus::Rectified, "2026-03-05T00:00:00.000Z"),
        (6, "2026-06-20T10:00:00.000Z", ReportStatus::Dispatched, "2026-07-01T00:00:00.000Z"),
    ];
    w(&storage, |tx| {
        for (n, accepted, status, due) in cases {
            let case_id = id(n);
            report(tx, &ana, &case_id, "x")?;
            let accept = NewEvent { action: Some(Action::Accept), ..NewEvent::arrival(&case_id, ReportStatus::Accepted, &coco, accepted) };
            tx.append_event(&accept)?;
            let later =
                NewEvent { action: Some(Action::Dispatch), ..NewEvent::arrival(&case_id, status, &coco, "2026-06-25T00:00:00.000Z") };
            tx.append_event(&later)?;
            let state = CaseState {
                status,
                department: Some("cg".into()),
                due_at: Some(due.into()),
                due_ms: Some(ms(due)),
                duplicate_of: None,
                changed_ms: NOW,
            };
            tx.set_case_state(&case_id, &state)?;
        }
        Ok(())
    });
    let all = r(&storage, |tx| tx.case_histories());
    let (start, end, now) = (ms("2026-05-10T00:00:00.000Z"), ms("2026-05-11T00:00:00.000Z"), ms("2026-05-28T00:00:00.000Z"));
    let within = r(&storage, |tx| tx.case_histories_within(start, end, now));
    for n in [1, 2, 3] {
        let case = within.iter().find(|c| c.id == id(n)).unwrap_or_else(|| panic!("case {n} is in the window"));
        assert_eq!(Some(case), all.iter().find(|c| c.id == id(n)), "case {n} with all its actions");
        assert_eq!(case.actions.len(), 2);
    }
    for case in &within {
        assert_eq!(Some(case), all.iter().find(|c| c.id == case.id));
    }
}

/// What a user sent since a moment: their reports received from then on,
/// and each photo they came to hold from then on, once, by its bytes.
pub fn sent_since_counts_what_arrived_from_then_on(storage: Store) {
    let ana = user(&storage, "ana", Role::Resident);
    let bo = user(&storage, "bo", Role::Resident);
    photo(&storage, &ana); // held at 0: before any day counted below
    w(&storage, |tx| report(tx, &ana, &id(1), "at NOW"));
    let second = PhotoMeta { sha256: "2".repeat(64), bytes: 250, width: 4, height: 3, phash: None };
    w(&storage, |tx| {
        tx.add_photo(&second, AT)?;
        tx.add_holder(&second.sha256, ana.id, NOW)?;
        // Held again later: still once, at its first time.
        tx.add_holder(&second.sha256, ana.id, NOW + 5)?;
        tx.add_holder(&second.sha256, bo.id, NOW + 10)
    });
    let sent = |user: &User, since: i64| r(&storage, |tx| tx.sent_since(user.id, since));
    assert_eq!(sent(&ana, NOW), super::Sent { reports: 1, photo_bytes: 250 });
    assert_eq!(sent(&ana, NOW + 1), super::Sent { reports: 0, photo_bytes: 0 });
    assert_eq!(sent(&ana, 0), super::Sent { reports: 1, photo_bytes: 350 });
    assert_eq!(sent(&bo, NOW), super::Sent { reports: 0, photo_bytes: 250 });
}

/// The sweep's rows: a photo shown by no report and no event, held by
/// nobody since the cut, goes with its holders onto the swept list; a
/// photo shown by a report, an event, or held since, stays. A photo
/// recorded again leaves the list, so its bytes are not removed.
pub fn unreferenced_photos_are_swept_and_a_new_record_keeps_their_bytes(storage: Store) {
    let ana = user(&storage, "ana", Role::Resident);
    let coco = user(&storage, "coco", Role::Coordinator);
    photo(&storage, &ana); // shown by a report below, held at 0
    let meta = |n: char| PhotoMeta { sha256: n.to_string().repeat(64), bytes: 10, width: 2, height: 2, phash: None };
    let (lone, recent, after, again) = (meta('2'), meta('3'), meta('4'), meta('5'));
    w(&storage, |tx| {
        report(tx, &ana, &id(1), "x")?;
        for (photo, held) in [(&lone, 0), (&recent, NOW), (&after, 0), (&again, 0)] {
            tx.add_photo(photo, AT)?;
            tx.add_holder(&photo.sha256, ana.id, held)?;
        }
        // Held by a second user lately: not unreferenced for long.
        tx.add_holder(&again.sha256, coco.id, NOW)?;
        tx.append_event(&NewEvent { photos: vec![&after.sha256], ..NewEvent::arrival(&id(1), ReportStatus::Rectified, &coco, AT) })
    });
    let found = r(&storage, |tx| tx.unreferenced_photos(NOW, 10));
    assert_eq!(found, vec![lone.sha256.clone()]);
    assert_eq!(r(&storage, |tx| tx.unreferenced_photos(NOW + 1, 10)).len(), 3, "past the recent holds: lone, recent, again");
    // Nothing shown is swept, whatever the cut.
    assert!(!w(&storage, |tx| tx.sweep_photo(PHOTO, i64::MAX)));
    assert!(!w(&storage, |tx| tx.sweep_photo(&after.sha256, i64::MAX)));
    assert!(!w(&storage, |tx| tx.sweep_photo(&recent.sha256, NOW)), "held at the cut");
    assert!(w(&storage, |tx| tx.sweep_photo(&lone.sha256, NOW)));
    assert!(!w(&storage, |tx| tx.sweep_photo(&lone.sha256, NOW)), "gone already");
    assert_eq!(r(&storage, |tx| tx.held_photo(ana.id, &lone.sha256)), None);
    assert_eq!(r(&storage, |tx| tx.swept_photos(10)), vec![lone.sha256.clone()]);
    assert!(r(&storage, |tx| tx.unreferenced_photos(NOW, 10)).is_empty());
    // Sent again before its bytes went: off the list, the bytes stay.
    w(&storage, |tx| {
        tx.add_photo(&lone, AT)?;
        tx.add_holder(&lone.sha256, ana.id, NOW)
    });
    assert!(r(&storage, |tx| tx.swept_photos(10)).is_empty());
    assert!(!w(&storage, |tx| tx.forget_swept_photo(&lone.sha256)));
    // Swept again and not sent again: its bytes may go, once.
    assert!(w(&storage, |tx| tx.sweep_photo(&lone.sha256, NOW + 1)));
    assert!(w(&storage, |tx| tx.forget_swept_photo(&lone.sha256)));
    assert!(!w(&storage, |tx| tx.forget_swept_photo(&lone.sha256)));
    assert_eq!(r(&storage, |tx| tx.held_photo(ana.id, PHOTO)).map(|p| p.sha256), Some(PHOTO.to_owned()));
}

/// Every test of the contract, once each, on what `$open` makes: a pair of
/// something to keep alive for the test (a temporary directory, or `()`)
/// and the storage. The one list of the suite, for every backend.
macro_rules! storage_contract_tests {
    ($open:expr) => {
        $crate::storage::contract::storage_contract_tests!(@each $open;
            push_is_idempotent_and_first_content_wins,
    upload_offsets_move_only_from_the_offset_seen,
    uploads_start_together_in_order,
    photos_count_only_for_those_who_sent_them,
    untouched_uploads_expire,
    tokens_are_revoked_and_users_disabled,
    a_cursor_never_skips_a_committed_change,
    scopes_hide_other_peoples_reports,
    a_failed_write_changes_nothing,
    cases_hold_their_folded_state,
    grids_departments_and_routes_round_trip,
    a_window_reads_every_case_it_can_count,
    sent_since_counts_what_arrived_from_then_on,
    unreferenced_photos_are_swept_and_a_new_record_keeps_their_bytes);
    };
    (@each $open:expr; $($name:ident),+) => {
        $(#[test] fn $name() {
            let (_keep, storage) = $open;
            $crate::storage::contract::$name(std::sync::Arc::new(storage));
        })+
    };
}
pub(crate) use storage_contract_tests;
