//! The consistency contract of [`Storage`] as tests, written against the
//! trait so that every backend runs the same suite (see the bottom of each
//! backend's module).

use std::sync::Arc;

use serde_json::json;
use suishoupai_core::ReportStatus;
use suishoupai_core::protocol::{PushOutcome, UploadCreate};

use super::{NewUser, PhotoMeta, Scope, StatusChange, Storage, UploadRow};
use crate::auth::{Role, User};
use crate::error::Error;
use crate::rules;

const PHOTO: &str = "1111111111111111111111111111111111111111111111111111111111111111";

fn user(storage: &dyn Storage, name: &str, role: Role) -> User {
    let grid_id = (role == Role::GridWorker).then(|| "g-1".to_owned());
    let department = (role == Role::Department).then(|| "d-1".to_owned());
    let token = format!("{:0>64}", name.len().to_string() + name);
    storage.add_user(&NewUser { name: name.into(), role, grid_id, department }, &token[..64]).unwrap()
}

fn photo(storage: &dyn Storage) {
    let meta = PhotoMeta { sha256: PHOTO.into(), bytes: 100, width: 4, height: 3 };
    storage.finish_upload(&meta).unwrap();
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
    let batch = |note: &str| vec![rules::candidate(&ana, 0, &wire(&id(1), note).to_string()).unwrap()];
    let missing = storage.push_reports(&ana, &batch("a")).unwrap();
    assert_eq!(missing[0].outcome, PushOutcome::MissingPhotos);
    assert!(storage.report(&Scope::All, &id(1)).unwrap().is_none(), "nothing stored for a refused report");
    photo(storage);
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
    let start = |length: u64| storage.start_uploads(&[UploadCreate { sha256: sha.into(), length }], ana.id).unwrap()[0].offset;
    assert_eq!(start(10), 0);
    storage.advance_upload(sha, 0, 4).unwrap();
    assert!(matches!(storage.advance_upload(sha, 0, 8), Err(Error::OffsetMismatch { expected: 4, got: 0 })));
    assert_eq!(storage.upload(sha).unwrap().unwrap().offset, 4);
    assert_eq!(start(10), 4, "restarting keeps the offset");
    assert_eq!(start(11), 0, "another length starts again");
}

/// One call answers many photos, in order: complete, under way, new.
pub fn uploads_start_together_in_order(storage: &dyn Storage) {
    let ana = user(storage, "ana", Role::Resident);
    photo(storage);
    let under_way = "3333333333333333333333333333333333333333333333333333333333333333";
    let new = "4444444444444444444444444444444444444444444444444444444444444444";
    storage.start_uploads(&[UploadCreate { sha256: under_way.into(), length: 50 }], ana.id).unwrap();
    storage.advance_upload(under_way, 0, 20).unwrap();
    let asked = [(new, 7), (PHOTO, 100), (under_way, 50)].map(|(sha, length)| UploadCreate { sha256: sha.into(), length });
    let states = storage.start_uploads(&asked, ana.id).unwrap();
    let got: Vec<_> = states.iter().map(|s| (s.sha256.as_str(), s.offset, s.length, s.complete)).collect();
    assert_eq!(got, [(new, 0, 7, false), (PHOTO, 100, 100, true), (under_way, 20, 50, false)]);
    assert_eq!(storage.upload(new).unwrap(), Some(UploadRow { length: 7, offset: 0 }));
}

/// Writers append events while a reader pages through the feed: the reader
/// ends up with every event exactly once, in order.
pub fn a_cursor_never_skips_a_committed_change(storage: Arc<dyn Storage>) {
    let coco = user(&*storage, "coco", Role::Coordinator);
    photo(&*storage);
    let candidates: Vec<_> = (0..40).map(|n| rules::candidate(&coco, 0, &wire(&id(n), "x").to_string()).unwrap()).collect();
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
    photo(storage);
    storage.push_reports(&ana, &[rules::candidate(&ana, 0, &wire(&id(1), "x").to_string()).unwrap()]).unwrap();
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
