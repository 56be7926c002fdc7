//! The consistency contract of [`Storage`] as tests, written against the
//! trait so that every backend runs the same suite (see the bottom of each
//! backend's module).

use std::sync::Arc;

use serde_json::json;
use suishoupai_core::ReportStatus;
use suishoupai_core::protocol::{PushOutcome, UploadCreate};

use super::{NewUser, PhotoMeta, Scope, StatusChange, Storage, UploadAllowance, UploadKey, UploadRow};
use crate::auth::{Role, User};
use crate::error::Error;
use crate::rules;

const PHOTO: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const NOW: i64 = 1_780_000_000_000;
const ROOMY: UploadAllowance = UploadAllowance { max_open: 100, max_declared_bytes: 1 << 30 };

fn key(user: &User, sha256: &str) -> UploadKey {
    UploadKey { user_id: user.id, sha256: sha256.to_owned() }
}

fn candidate(user: &User, report: &serde_json::Value) -> super::Candidate {
    rules::candidate(user, 0, &report.to_string(), NOW).unwrap()
}

fn user(storage: &dyn Storage, name: &str, role: Role) -> User {
    let grid_id = (role == Role::GridWorker).then(|| "g-1".to_owned());
    let department = (role == Role::Department).then(|| "d-1".to_owned());
    let token = format!("{:0>64}", name.len().to_string() + name);
    storage.add_user(&NewUser { name: name.into(), role, grid_id, department }, &token[..64]).unwrap()
}

/// `holder` has uploaded [`PHOTO`] whole.
fn photo(storage: &dyn Storage, holder: &User) {
    let meta = PhotoMeta { sha256: PHOTO.into(), bytes: 100, width: 4, height: 3 };
    storage.start_uploads(holder.id, &[UploadCreate { sha256: PHOTO.into(), length: 100 }], &ROOMY, NOW).unwrap();
    storage.finish_upload(&key(holder, PHOTO), &meta).unwrap();
}

fn wire(id: &str, note: &str) -> serde_json::Value {
    json!({
        "id": id, "category": "garbage", "note": note, "location": null,
        "photos": [{ "sha256": PHOTO, "width": 4, "height": 3, "bytes": 100 }],
        "reporter": { "role": "resident", "grid_id": null }, "taken_at": null,
        "created_at": "2026-05-01T08:00:00Z",
    })
}

fn id(n: u32) -> String {
    format!("01900000-0000-7000-8000-{n:012}")
}

pub fn push_is_idempotent_and_first_content_wins(storage: &dyn Storage) {
    let ana = user(storage, "ana", Role::Resident);
    let batch = |note: &str| vec![candidate(&ana, &wire(&id(1), note))];
    let missing = storage.push_reports(&ana, &batch("a")).unwrap();
    assert_eq!(missing[0].outcome, PushOutcome::MissingPhotos);
    assert!(storage.report(&Scope::All, &id(1)).unwrap().is_none(), "nothing stored for a refused report");
    photo(storage, &ana);
    assert_eq!(storage.push_reports(&ana, &batch("a")).unwrap()[0].outcome, PushOutcome::Accepted);
    assert_eq!(storage.push_reports(&ana, &batch("a")).unwrap()[0].status, Some(ReportStatus::Submitted));
    assert_eq!(storage.push_reports(&ana, &batch("b")).unwrap()[0].outcome, PushOutcome::Conflict);
    assert_eq!(storage.report(&Scope::All, &id(1)).unwrap().unwrap().wire.note, "a");
    let changes = storage.changes(&Scope::Owner(ana.id), None, 10).unwrap();
    assert_eq!(changes.changes.len(), 1, "one submitted event, however often pushed");
}

pub fn upload_offsets_move_only_from_the_offset_seen(storage: &dyn Storage) {
    let ana = user(storage, "ana", Role::Resident);
    let sha = "2222222222222222222222222222222222222222222222222222222222222222";
    let start = |length: u64| storage.start_uploads(ana.id, &[UploadCreate { sha256: sha.into(), length }], &ROOMY, NOW).unwrap()[0].offset;
    assert_eq!(start(10), 0);
    storage.advance_upload(&key(&ana, sha), 0, 4, NOW).unwrap();
    assert!(matches!(storage.advance_upload(&key(&ana, sha), 0, 8, NOW), Err(Error::OffsetMismatch { expected: 4, got: 0 })));
    assert_eq!(storage.upload(&key(&ana, sha)).unwrap().unwrap().offset, 4);
    assert_eq!(start(10), 4, "restarting keeps the offset");
    assert_eq!(start(11), 0, "another length starts again");
}

/// One call answers many photos, in order: complete, under way, new.
pub fn uploads_start_together_in_order(storage: &dyn Storage) {
    let ana = user(storage, "ana", Role::Resident);
    photo(storage, &ana);
    let under_way = "3333333333333333333333333333333333333333333333333333333333333333";
    let new = "4444444444444444444444444444444444444444444444444444444444444444";
    storage.start_uploads(ana.id, &[UploadCreate { sha256: under_way.into(), length: 50 }], &ROOMY, NOW).unwrap();
    storage.advance_upload(&key(&ana, under_way), 0, 20, NOW).unwrap();
    let asked = [(new, 7), (PHOTO, 100), (under_way, 50)].map(|(sha, length)| UploadCreate { sha256: sha.into(), length });
    let states = storage.start_uploads(ana.id, &asked, &ROOMY, NOW).unwrap();
    let got: Vec<_> = states.iter().map(|s| (s.sha256.as_str(), s.offset, s.length, s.complete)).collect();
    assert_eq!(got, [(new, 0, 7, false), (PHOTO, 100, 100, true), (under_way, 20, 50, false)]);
    assert_eq!(storage.upload(&key(&ana, new)).unwrap(), Some(UploadRow { length: 7, offset: 0 }));
}

/// A photo someone else sent is, for this user, a photo the server never saw.
pub fn photos_count_only_for_those_who_sent_them(storage: &dyn Storage) {
    let ana = user(storage, "ana", Role::Resident);
    let bo = user(storage, "bo", Role::Resident);
    photo(storage, &ana);
    // ana's upload under way of another photo is hers alone.
    let sha = "5555555555555555555555555555555555555555555555555555555555555555";
    storage.start_uploads(ana.id, &[UploadCreate { sha256: sha.into(), length: 30 }], &ROOMY, NOW).unwrap();
    storage.advance_upload(&key(&ana, sha), 0, 10, NOW).unwrap();
    assert_eq!(storage.upload(&key(&bo, sha)).unwrap(), None);
    let asked = [(PHOTO, 100), (sha, 30)].map(|(sha, length)| UploadCreate { sha256: sha.into(), length });
    let states = storage.start_uploads(bo.id, &asked, &ROOMY, NOW).unwrap();
    assert!(states.iter().all(|s| s.offset == 0 && !s.complete), "{states:?}");
    assert!(storage.held_photo(bo.id, PHOTO).unwrap().is_none());
    // Citing ana's photo, bo gets `missing_photos`, as if it were not there.
    let pushed = storage.push_reports(&bo, &[candidate(&bo, &wire(&id(2), "x"))]).unwrap();
    assert_eq!((pushed[0].outcome, pushed[0].missing.as_slice()), (PushOutcome::MissingPhotos, &[PHOTO.to_owned()][..]));
    // Once bo has sent it whole himself, it is his too.
    storage.finish_upload(&key(&bo, PHOTO), &PhotoMeta { sha256: PHOTO.into(), bytes: 100, width: 4, height: 3 }).unwrap();
    assert!(storage.held_photo(bo.id, PHOTO).unwrap().is_some());
    assert_eq!(storage.push_reports(&bo, &[candidate(&bo, &wire(&id(2), "x"))]).unwrap()[0].outcome, PushOutcome::Accepted);
}

/// Past the allowance nothing is opened, and one user's uploads do not
/// count against another's.
pub fn uploads_stay_within_the_allowance(storage: &dyn Storage) {
    let ana = user(storage, "ana", Role::Resident);
    let bo = user(storage, "bo", Role::Resident);
    let tight = UploadAllowance { max_open: 3, max_declared_bytes: 1000 };
    let sha = |n: u32| format!("{n:064x}");
    let ask = |ns: std::ops::Range<u32>, length: u64| ns.map(|n| UploadCreate { sha256: sha(n), length }).collect::<Vec<_>>();
    storage.start_uploads(ana.id, &ask(1..3, 100), &tight, NOW).unwrap();
    // A batch that would pass the count fails whole.
    assert!(matches!(storage.start_uploads(ana.id, &ask(3..5, 100), &tight, NOW), Err(Error::QuotaExceeded { .. })));
    assert_eq!(storage.upload(&UploadKey { user_id: ana.id, sha256: sha(3) }).unwrap(), None, "nothing of it was opened");
    // Asking again about what is open costs nothing.
    storage.start_uploads(ana.id, &ask(1..3, 100), &tight, NOW).unwrap();
    assert!(matches!(storage.start_uploads(ana.id, &ask(9..10, 801), &tight, NOW), Err(Error::QuotaExceeded { .. })), "bytes");
    storage.start_uploads(ana.id, &ask(9..10, 800), &tight, NOW).unwrap();
    storage.start_uploads(bo.id, &ask(1..4, 300), &tight, NOW).unwrap();
    // An upload that completes frees its place.
    let done = UploadKey { user_id: ana.id, sha256: sha(1) };
    storage.finish_upload(&done, &PhotoMeta { sha256: sha(1), bytes: 100, width: 1, height: 1 }).unwrap();
    storage.start_uploads(ana.id, &ask(20..21, 100), &tight, NOW).unwrap();
}

pub fn untouched_uploads_expire(storage: &dyn Storage) {
    let ana = user(storage, "ana", Role::Resident);
    let (old, fresh) = ("6".repeat(64), "7".repeat(64));
    storage.start_uploads(ana.id, &[UploadCreate { sha256: old.clone(), length: 10 }], &ROOMY, NOW - 100).unwrap();
    storage.start_uploads(ana.id, &[UploadCreate { sha256: fresh.clone(), length: 10 }], &ROOMY, NOW - 100).unwrap();
    // A chunk touches the upload.
    storage.advance_upload(&key(&ana, &fresh), 0, 5, NOW).unwrap();
    assert_eq!(storage.expire_uploads(NOW - 50).unwrap(), [key(&ana, &old)]);
    assert_eq!(storage.upload_keys().unwrap(), [key(&ana, &fresh)]);
}

/// Tokens can be revoked and users disabled; either moves the auth version.
pub fn tokens_are_revoked_and_users_disabled(storage: &dyn Storage) {
    let before = storage.auth_version().unwrap();
    let ana = user(storage, "ana", Role::Resident);
    let old_token = format!("{:0>64}", "3ana");
    assert_eq!(storage.user_by_token_hash(&old_token).unwrap().map(|o| o.user), Some(ana.clone()));
    let added = storage.auth_version().unwrap();
    assert!(added > before);
    let new_token = "9".repeat(64);
    storage.replace_tokens("ana", &new_token).unwrap();
    assert!(storage.user_by_token_hash(&old_token).unwrap().is_none(), "the old token is dead");
    assert_eq!(storage.user_by_token_hash(&new_token).unwrap().map(|o| o.disabled), Some(false));
    let revoked = storage.auth_version().unwrap();
    assert!(revoked > added);
    storage.set_disabled("ana", true).unwrap();
    assert_eq!(storage.user_by_token_hash(&new_token).unwrap().map(|o| o.disabled), Some(true));
    assert!(storage.auth_version().unwrap() > revoked);
    let listed = storage.list_users().unwrap();
    assert_eq!((listed[0].disabled, listed[0].active_tokens), (true, 1));
    storage.set_disabled("ana", false).unwrap();
    assert_eq!(storage.user_by_token_hash(&new_token).unwrap().map(|o| o.disabled), Some(false));
    assert!(matches!(storage.set_disabled("nobody", true), Err(Error::UnknownUser(_))));
    assert!(matches!(storage.replace_tokens("nobody", &"8".repeat(64)), Err(Error::UnknownUser(_))));
}

/// Writers append events while a reader pages through the feed: the reader
/// ends up with every event exactly once, in order.
pub fn a_cursor_never_skips_a_committed_change(storage: Arc<dyn Storage>) {
    let coco = user(&*storage, "coco", Role::Coordinator);
    photo(&*storage, &coco);
    let candidates: Vec<_> = (0..40).map(|n| candidate(&coco, &wire(&id(n), "x"))).collect();
    storage.push_reports(&coco, &candidates).unwrap();
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let (storage, coco) = (storage.clone(), coco.clone());
            std::thread::spawn(move || {
                for n in (w..40).step_by(2) {
                    let change = StatusChange { status: ReportStatus::Accepted, note: None, department: None };
                    storage.set_status(&Scope::All, &id(n), &coco, &change, &|_| Ok(())).unwrap();
                }
            })
        })
        .collect();
    let mut seen = Vec::new();
    let mut after = None;
    let mut done = false;
    loop {
        let page = storage.changes(&Scope::All, after, 7).unwrap();
        seen.extend(page.changes.iter().map(|c| (c.report_id.clone(), c.status)));
        after = page.last_seq.or(after);
        if done && !page.has_more {
            break;
        }
        done = writers.iter().all(|w| w.is_finished());
    }
    writers.into_iter().for_each(|w| w.join().unwrap());
    let all = storage.changes(&Scope::All, None, 1000).unwrap();
    let all: Vec<_> = all.changes.iter().map(|c| (c.report_id.clone(), c.status)).collect();
    assert_eq!(all.len(), 80);
    assert_eq!(seen, all);
}

pub fn scopes_hide_other_peoples_reports(storage: &dyn Storage) {
    let ana = user(storage, "ana", Role::Resident);
    let bo = user(storage, "bo", Role::Resident);
    photo(storage, &ana);
    storage.push_reports(&ana, &[candidate(&ana, &wire(&id(1), "x"))]).unwrap();
    assert!(storage.report(&Scope::Owner(ana.id), &id(1)).unwrap().is_some());
    assert!(storage.report(&Scope::Owner(bo.id), &id(1)).unwrap().is_none());
    assert!(storage.report(&Scope::Department("d-1".into()), &id(1)).unwrap().is_none());
    assert!(storage.photo_visible(&Scope::Owner(ana.id), PHOTO).unwrap());
    assert!(!storage.photo_visible(&Scope::Owner(bo.id), PHOTO).unwrap());
    let change = StatusChange { status: ReportStatus::Dispatched, note: None, department: Some("d-1".into()) };
    let refused = storage.set_status(&Scope::Owner(bo.id), &id(1), &bo, &change, &|_| Ok(()));
    assert!(matches!(refused, Err(Error::NotFound(_))));
    storage.set_status(&Scope::All, &id(1), &ana, &change, &|_| Ok(())).unwrap();
    assert!(storage.report(&Scope::Department("d-1".into()), &id(1)).unwrap().is_some());
    // A check that refuses leaves the report as it was.
    let closing = StatusChange { status: ReportStatus::Closed, note: None, department: None };
    let refused = storage.set_status(&Scope::All, &id(1), &ana, &closing, &|_| Err(Error::Conflict("no".into())));
    assert!(matches!(refused, Err(Error::Conflict(_))));
    assert_eq!(storage.report(&Scope::All, &id(1)).unwrap().unwrap().status, ReportStatus::Dispatched);
}
