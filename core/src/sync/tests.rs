//! The client's decisions against [`FakeServer`]: each outcome of a run,
//! in milliseconds. The end-to-end tests (tests/sync.rs) do the same over
//! real HTTP with real kills.

use std::cell::Cell;

use image::RgbImage;

use super::fake::FakeServer;
use super::*;
use crate::domain::{ReportStatus, SyncState};
use crate::photo::{self, PreparedPhoto};
use crate::{ReportDraft, Store};

fn photo(seed: u8) -> PreparedPhoto {
    let mut image = RgbImage::new(40, 30);
    for (x, y, p) in image.enumerate_pixels_mut() {
        *p = image::Rgb([seed.wrapping_mul(37).wrapping_add(x as u8), (y as u8).wrapping_mul(3), seed]);
    }
    photo::prepare(&photo::render::encode_jpeg(&image, 90).unwrap()).unwrap()
}

/// A store with `n` reports of one distinct photo each.
fn store_with(n: u8) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let draft = ReportDraft { category: "garbage".into(), note: String::new(), location: None, reporter: Default::default() };
    for seed in 0..n {
        store.create_report_from_prepared(&draft, &[photo(seed)]).unwrap();
    }
    (dir, store)
}

fn sync(store: &Store, server: &FakeServer, trigger: Trigger) -> Result<SyncSummary> {
    run_with(&store.db, &store.blobs, server, trigger, &|_: u64, _: u64| {})
}

fn states(store: &Store) -> Vec<SyncState> {
    store.list_reports().unwrap().into_iter().map(|r| r.sync_state).collect()
}

#[test]
fn everything_goes_once_with_its_photos_byte_for_byte() {
    let (_dir, store) = store_with(3);
    let server = FakeServer::default();
    let summary = sync(&store, &server, Trigger::User).unwrap();
    assert_eq!((summary.pushed, summary.pending, summary.failed), (3, 0, 0));
    let state = server.state.lock().unwrap();
    assert_eq!(state.reports.len(), 3);
    for report in store.list_reports().unwrap() {
        let path = store.photo_path(&report.photos[0].sha256, crate::BlobKind::Rendition).unwrap();
        assert_eq!(state.photos[&report.photos[0].sha256], std::fs::read(path).unwrap());
    }
    drop(state);
    // Nothing left: the next run sends nothing and asks about no photo.
    let again = sync(&store, &server, Trigger::User).unwrap();
    assert_eq!((again.pushed, again.uploaded_bytes), (0, 0));
    assert_eq!(server.calls("create_uploads"), 1);
}

#[test]
fn a_refused_token_is_its_own_cause_and_nothing_is_marked_failed() {
    let (_dir, store) = store_with(2);
    let server = FakeServer::default();
    server.state.lock().unwrap().refuse_token = true;
    match sync(&store, &server, Trigger::User) {
        Err(Error::SyncIncomplete { cause: SyncCause::TokenRefused(_), summary }) => assert_eq!((summary.pending, summary.failed), (2, 0)),
        other => panic!("{other:?}"),
    }
    assert_eq!(states(&store), [SyncState::Pending, SyncState::Pending]);
    assert_eq!(server.calls("changes"), 0, "no pull with a refused token");
}

#[test]
fn a_server_error_backs_off_and_a_user_sync_tries_again_now() {
    let (_dir, store) = store_with(2);
    let server = FakeServer::default();
    server.state.lock().unwrap().push_failures = 1;
    match sync(&store, &server, Trigger::User) {
        Err(Error::SyncIncomplete { cause: SyncCause::ServerUnavailable { status: 503, .. }, summary }) => assert_eq!(summary.pending, 2),
        other => panic!("{other:?}"),
    }
    assert!(store.db.read(crate::store::next_attempt_at).unwrap().unwrap() > retry::now_ms(), "the reports wait out a backoff");
    // An automatic run respects the backoff: nothing is pushed.
    let pushes = server.calls("push");
    match sync(&store, &server, Trigger::Automatic) {
        Err(Error::SyncIncomplete { cause: SyncCause::WaitingForRetry(reason), .. }) => assert!(reason.contains("503"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(server.calls("push"), pushes);
    // The user's own sync does not wait.
    assert_eq!(sync(&store, &server, Trigger::User).unwrap().pushed, 2);
}

#[test]
fn no_network_is_a_network_cause() {
    let (_dir, store) = store_with(1);
    let server = FakeServer::default();
    server.state.lock().unwrap().network_down = true;
    match sync(&store, &server, Trigger::User) {
        Err(Error::SyncIncomplete { cause: SyncCause::Network(_), summary }) => assert_eq!(summary.pending, 1),
        other => panic!("{other:?}"),
    }
    assert_eq!(server.calls("push"), 0, "no push before its photos are up");
}

#[test]
fn photos_the_server_says_it_lacks_are_sent_again_once_per_run() {
    let (_dir, store) = store_with(1);
    let server = FakeServer::default();
    server.state.lock().unwrap().forget_photos = 1;
    let summary = sync(&store, &server, Trigger::User).unwrap();
    assert_eq!(summary.pushed, 1);
    assert_eq!(server.calls("push"), 2, "pushed, told missing, uploaded again, pushed");
    // Lost twice in one run: the report waits for the next run.
    let (_dir, store) = store_with(1);
    let server = FakeServer::default();
    server.state.lock().unwrap().forget_photos = 2;
    match sync(&store, &server, Trigger::User) {
        Err(Error::SyncIncomplete { cause: SyncCause::WaitingForRetry(reason), summary }) => {
            assert!(reason.contains("misses"), "{reason}");
            assert_eq!(summary.pending, 1);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sync(&store, &server, Trigger::User).unwrap().pushed, 1);
}

#[test]
fn a_conflict_fails_that_report_alone_with_the_servers_reason() {
    let (_dir, store) = store_with(3);
    let victim = store.list_reports().unwrap()[1].id.to_string();
    let server = FakeServer::default();
    server.state.lock().unwrap().conflicting.push(victim.clone());
    match sync(&store, &server, Trigger::User) {
        Err(Error::SyncIncomplete { cause: SyncCause::ReportsRefused, summary }) => {
            assert_eq!((summary.pushed, summary.pending, summary.failed), (2, 0, 1));
        }
        other => panic!("{other:?}"),
    }
    let failed = store.get_report(&crate::ReportId::parse(&victim).unwrap()).unwrap();
    assert_eq!(failed.sync_state, SyncState::Failed);
    assert!(failed.sync_error.unwrap().contains("another report"));
}

/// Cancels once the server has taken `after` chunks.
struct CancelAfter<'a> {
    server: &'a FakeServer,
    after: usize,
    polled: Cell<usize>,
}

impl Progress for CancelAfter<'_> {
    fn on_progress(&self, _done: u64, _total: u64) {}

    fn cancelled(&self) -> bool {
        self.polled.set(self.polled.get() + 1);
        self.server.state.lock().unwrap().chunks >= self.after
    }
}

#[test]
fn a_cancelled_run_keeps_what_it_did_and_the_next_one_finishes_it_once() {
    let (_dir, store) = store_with(4);
    let server = FakeServer::default();
    let cancel = CancelAfter { server: &server, after: 1, polled: Cell::new(0) };
    assert!(matches!(run_with(&store.db, &store.blobs, &server, Trigger::User, &cancel), Err(Error::Cancelled)));
    assert!(cancel.polled.get() > 0);
    assert!(server.state.lock().unwrap().reports.len() < 4, "cancelled before everything went");
    assert_eq!(sync(&store, &server, Trigger::User).unwrap().pending, 0);
    assert_eq!(server.state.lock().unwrap().reports.len(), 4);
    assert!(states(&store).iter().all(|s| *s == SyncState::Synced));
}

#[test]
fn pulled_changes_reach_the_reports() {
    let (_dir, store) = store_with(1);
    let server = FakeServer::default();
    sync(&store, &server, Trigger::User).unwrap();
    let id = store.list_reports().unwrap()[0].id;
    server.change_status(&id.to_string(), ReportStatus::Accepted);
    assert_eq!(sync(&store, &server, Trigger::User).unwrap().pulled, 1);
    assert_eq!(store.get_report(&id).unwrap().status, ReportStatus::Accepted);
    assert_eq!(sync(&store, &server, Trigger::User).unwrap().pulled, 0, "the cursor was kept");
}

// --- Cases and actions (issue 10) -------------------------------------------

mod cases {
    use super::*;
    use crate::domain::task::KEEP_ACTED_ON_MS;
    use crate::protocol::{Me, Task, WirePhoto};
    use crate::{Action, PhotoSource, Role, TaskAction};

    fn jpeg(seed: u8) -> Vec<u8> {
        let mut image = RgbImage::new(40, 30);
        for (x, y, p) in image.enumerate_pixels_mut() {
            *p = image::Rgb([seed, x as u8, (y as u8).wrapping_mul(seed)]);
        }
        photo::render::encode_jpeg(&image, 90).unwrap()
    }

    fn grid_worker() -> Me {
        Me { name: "李".into(), role: Role::GridWorker, grid_id: Some("G-7".into()), department: None }
    }

    /// A server with a grid worker of G-7 and one case of that grid per status,
    /// each with a photo whose thumbnail the server gives.
    fn server_with(statuses: &[ReportStatus]) -> (FakeServer, Vec<String>) {
        let server = FakeServer::default();
        server.state.lock().unwrap().me = Some(grid_worker());
        let ids = statuses
            .iter()
            .enumerate()
            .map(|(n, status)| {
                let id = crate::ReportId::new().to_string();
                let thumb = jpeg(100 + n as u8);
                let sha = photo::sha256_hex(&[thumb.as_slice(), b"rendition"].concat());
                server.state.lock().unwrap().thumbnails.insert(sha.clone(), thumb);
                server.add_case(Task {
                    id: id.clone(),
                    category: "garbage".into(),
                    note: format!("case {n}"),
                    location: None,
                    photos: vec![WirePhoto { sha256: sha, width: 1600, height: 1200, bytes: 200_000 }],
                    created_at: "2026-12-01T08:00:00.000Z".into(),
                    status: *status,
                    grid_id: Some("G-7".into()),
                    department: Some("cg".into()),
                    due_at: Some("2099-12-03T18:00:00+08:00".into()),
                    overdue: false,
                    allowed_actions: Vec::new(),
                    history: Vec::new(),
                });
                id
            })
            .collect();
        (server, ids)
    }

    fn rectify(seed: u8) -> TaskAction {
        TaskAction {
            action: Action::Rectify,
            note: Some("已清理".into()),
            public_note: None,
            due_at: None,
            photos: vec![PhotoSource::Bytes(jpeg(seed))],
        }
    }

    fn plain(action: Action) -> TaskAction {
        TaskAction { action, note: None, public_note: None, due_at: None, photos: Vec::new() }
    }

    fn sync_states(store: &Store, id: &str) -> Vec<SyncState> {
        store.task(id).unwrap().actions.iter().map(|a| a.sync_state).collect()
    }

    #[test]
    fn before_a_sync_there_are_no_tasks_and_nothing_to_act_on() {
        let (_dir, store) = store_with(0);
        assert!(store.tasks().unwrap().is_empty());
        assert!(store.me().unwrap().is_none());
        let id = crate::ReportId::new().to_string();
        assert!(matches!(store.act(&id, &plain(Action::Verify)), Err(Error::TaskNotFound(_))));
    }

    #[test]
    fn actions_are_checked_offline_and_go_in_order_once_with_their_photos() {
        let (_dir, store) = store_with(0);
        let (server, ids) = server_with(&[ReportStatus::Dispatched, ReportStatus::Rectified]);
        let summary = sync(&store, &server, Trigger::User).unwrap();
        assert_eq!(summary.tasks, 2);
        let listed = store.tasks().unwrap();
        // Newest change first.
        assert_eq!(listed.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(), [ids[1].as_str(), ids[0].as_str()]);
        assert_eq!(listed[1].allowed_actions, [Action::Rectify]);

        // Offline: the device's own judgement, from the case as it knows it.
        let rectified = store.act(&ids[0], &rectify(1)).unwrap();
        assert_eq!(rectified.sync_state, SyncState::Pending);
        let case = store.task(&ids[0]).unwrap();
        assert_eq!((case.task.status, case.task.server_status), (ReportStatus::Rectified, ReportStatus::Dispatched));
        assert_eq!(case.task.allowed_actions, [Action::Verify, Action::Reopen]);
        match store.act(&ids[0], &rectify(2)) {
            Err(Error::ActionNotAllowed { status: ReportStatus::Rectified, allowed, .. }) => {
                assert_eq!(allowed, [Action::Verify, Action::Reopen])
            }
            other => panic!("{other:?}"),
        }
        match store.act(&ids[0], &plain(Action::Acknowledge)) {
            Err(Error::NotYourAction { role: Role::GridWorker, .. }) => {}
            other => panic!("{other:?}"),
        }
        let verified = store.act(&ids[1], &plain(Action::Verify)).unwrap();
        assert_eq!(store.pending_action_count().unwrap(), 2, "the refusals queued nothing");

        let summary = sync(&store, &server, Trigger::User).unwrap();
        assert_eq!((summary.actions_sent, summary.actions_pending, summary.actions_refused), (2, 0, 0));
        let state = server.state.lock().unwrap();
        assert_eq!(state.applied, [rectified.action_id.clone(), verified.action_id.clone()], "in the order taken");
        let after = &rectified.photos[0];
        let local = std::fs::read(store.photo_path(&after.sha256, crate::BlobKind::Rendition).unwrap()).unwrap();
        assert_eq!(state.photos[&after.sha256], local, "the after-photo went up byte for byte first");
        drop(state);
        assert_eq!(sync_states(&store, &ids[0]), [SyncState::Synced]);
        assert_eq!(store.task(&ids[0]).unwrap().task.status, ReportStatus::Rectified);
        // Nothing is sent twice.
        let acts = server.calls("act");
        sync(&store, &server, Trigger::User).unwrap();
        assert_eq!(server.calls("act"), acts);
    }

    #[test]
    fn photos_the_server_lacks_are_uploaded_and_the_action_sent_again() {
        let (_dir, store) = store_with(0);
        let (server, ids) = server_with(&[ReportStatus::InProgress]);
        sync(&store, &server, Trigger::User).unwrap();
        let action = store.act(&ids[0], &rectify(3)).unwrap();
        // The device believes the photo is up (a server restored from a backup lost it).
        store.db.write(|tx| crate::store::set_photo_uploaded(tx, &action.photos[0].sha256, true)).unwrap();
        let summary = sync(&store, &server, Trigger::User).unwrap();
        assert_eq!(summary.actions_sent, 1);
        assert_eq!(server.calls("act"), 2, "sent, told missing, uploaded, sent again");
        assert!(server.state.lock().unwrap().photos.contains_key(&action.photos[0].sha256));
        assert_eq!(sync_states(&store, &ids[0]), [SyncState::Synced]);
    }

    #[test]
    fn an_action_the_case_moved_past_fails_with_the_servers_reason_and_is_never_resent() {
        let (_dir, store) = store_with(0);
        let (server, ids) = server_with(&[ReportStatus::Rectified]);
        sync(&store, &server, Trigger::User).unwrap();
        store.act(&ids[0], &plain(Action::Verify)).unwrap();
        // Meanwhile another grid worker verified it.
        server.move_case(&ids[0], ReportStatus::Closed, "王");
        let summary = sync(&store, &server, Trigger::User).expect("a refused action leaves nothing to do");
        assert_eq!((summary.actions_sent, summary.actions_refused, summary.actions_pending), (0, 1, 0));
        let case = store.task(&ids[0]).unwrap();
        let error = case.actions[0].sync_error.clone().unwrap();
        assert_eq!(case.actions[0].sync_state, SyncState::Failed);
        assert!(error.contains("closed") && error.contains("王"), "{error}");
        assert!(!case.task.in_feed, "kept, out of the feed, so the user sees the refusal");
        assert_eq!(case.task.status, ReportStatus::Closed, "where the server said the case is");
        let acts = server.calls("act");
        sync(&store, &server, Trigger::User).unwrap();
        assert_eq!(server.calls("act"), acts, "never resent");
    }

    #[test]
    fn a_server_error_keeps_actions_pending_in_order_until_a_retry_sends_them() {
        let (_dir, store) = store_with(0);
        let (server, ids) = server_with(&[ReportStatus::Dispatched, ReportStatus::Rectified]);
        sync(&store, &server, Trigger::User).unwrap();
        let first = store.act(&ids[1], &plain(Action::Verify)).unwrap();
        let second = store.act(&ids[0], &rectify(4)).unwrap();
        server.state.lock().unwrap().act_failures = 1;
        match sync(&store, &server, Trigger::User) {
            Err(Error::SyncIncomplete { cause: SyncCause::ServerUnavailable { status: 503, .. }, summary }) => {
                assert_eq!((summary.actions_pending, summary.pending), (2, 0))
            }
            other => panic!("{other:?}"),
        }
        assert!(server.state.lock().unwrap().applied.is_empty());
        assert_eq!(sync_states(&store, &ids[1]), [SyncState::Pending]);
        // An automatic run waits out the backoff; the pending cases stay in the list.
        let acts = server.calls("act");
        match sync(&store, &server, Trigger::Automatic) {
            Err(Error::SyncIncomplete { cause: SyncCause::WaitingForRetry(reason), summary }) => {
                assert!(reason.contains("503"), "{reason}");
                assert_eq!(summary.actions_pending, 2);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(server.calls("act"), acts);
        assert_eq!(store.tasks().unwrap().len(), 2);
        assert_eq!(sync(&store, &server, Trigger::User).unwrap().actions_sent, 2);
        assert_eq!(server.state.lock().unwrap().applied, [first.action_id, second.action_id]);
    }

    #[test]
    fn an_answer_lost_after_the_server_applied_the_action_is_resent_and_applies_once() {
        let (_dir, store) = store_with(0);
        let (server, ids) = server_with(&[ReportStatus::Dispatched]);
        sync(&store, &server, Trigger::User).unwrap();
        let action = store.act(&ids[0], &rectify(5)).unwrap();
        server.state.lock().unwrap().lose_act_answers = 1;
        assert!(matches!(sync(&store, &server, Trigger::User), Err(Error::SyncIncomplete { cause: SyncCause::Network(_), .. })));
        assert_eq!(server.state.lock().unwrap().applied.len(), 1, "the server has it");
        assert_eq!(sync_states(&store, &ids[0]), [SyncState::Pending], "the device does not know");
        let summary = sync(&store, &server, Trigger::User).unwrap();
        assert_eq!(summary.actions_sent, 1);
        assert_eq!(server.state.lock().unwrap().applied, [action.action_id], "applied once");
        assert_eq!(server.calls("act"), 2);
        assert_eq!(sync_states(&store, &ids[0]), [SyncState::Synced]);
        assert_eq!(server.status_of(&ids[0]), ReportStatus::Rectified);
    }

    #[test]
    fn the_task_list_is_replaced_but_keeps_the_cases_this_device_acted_on_for_a_while() {
        let (_dir, store) = store_with(0);
        let (server, ids) = server_with(&[ReportStatus::Dispatched, ReportStatus::Rectified, ReportStatus::Dispatched]);
        sync(&store, &server, Trigger::User).unwrap();
        assert_eq!(server.calls("thumbnail"), 3);
        let thumb = |id: &str| store.task(id).unwrap().task.photos[0].sha256.clone();
        let (kept_thumb, gone_thumb) = (thumb(&ids[1]), thumb(&ids[2]));
        let gone_path = store.photo_path(&gone_thumb, crate::BlobKind::Thumbnail).unwrap();
        assert_eq!(std::fs::read(&gone_path).unwrap(), server.state.lock().unwrap().thumbnails[&gone_thumb]);
        assert!(store.photo_path(&gone_thumb, crate::BlobKind::Rendition).is_err(), "a task's photo: thumbnail only");

        // This device closes one case; a coordinator closes another.
        store.act(&ids[1], &plain(Action::Verify)).unwrap();
        server.move_case(&ids[2], ReportStatus::Closed, "陈");
        let summary = sync(&store, &server, Trigger::User).unwrap();
        assert_eq!(summary.tasks, 2);
        let listed = store.tasks().unwrap();
        assert_eq!(
            listed.iter().map(|t| (t.id.as_str(), t.in_feed)).collect::<Vec<_>>(),
            [(ids[0].as_str(), true), (ids[1].as_str(), false)]
        );
        assert_eq!(listed[1].status, ReportStatus::Closed, "as the server answered the action");
        assert!(matches!(store.task(&ids[2]), Err(Error::TaskNotFound(_))));
        assert!(!gone_path.exists(), "the thumbnail of a case gone is removed");
        assert!(store.photo_path(&gone_thumb, crate::BlobKind::Thumbnail).is_err());
        assert!(store.photo_path(&kept_thumb, crate::BlobKind::Thumbnail).unwrap().exists());
        assert_eq!(server.calls("thumbnail"), 3, "thumbnails are fetched once");

        // A week after the action was synced, the case goes at the next sync.
        let long_ago = retry::now_ms() - KEEP_ACTED_ON_MS - 1;
        store.db.write(|tx| Ok(tx.execute("UPDATE actions SET resolved_at = ?1", [long_ago])?)).unwrap();
        sync(&store, &server, Trigger::User).unwrap();
        assert_eq!(store.tasks().unwrap().iter().map(|t| t.id.as_str()).collect::<Vec<_>>(), [ids[0].as_str()]);
        assert!(store.photo_path(&kept_thumb, crate::BlobKind::Thumbnail).is_err());
        // Its action stays on record.
        assert_eq!(store.db.read(|tx| Ok(tx.query_row("SELECT count(*) FROM actions", [], |r| r.get::<_, i64>(0))?)).unwrap(), 1);
    }

    #[test]
    fn a_report_fixed_on_spot_goes_with_its_after_photos() {
        let (_dir, store) = store_with(0);
        let server = FakeServer::default();
        server.state.lock().unwrap().me = Some(grid_worker());
        let draft = ReportDraft {
            category: "garbage".into(),
            note: "已清理".into(),
            location: None,
            reporter: crate::Reporter { role: crate::ReporterRole::GridWorker, grid_id: Some("G-7".into()) },
        };
        let report = store.create_fixed_on_spot_report(&draft, &[PhotoSource::Bytes(jpeg(7))], &[PhotoSource::Bytes(jpeg(8))]).unwrap();
        assert!(report.fixed_on_spot);
        assert_eq!(store.get_report(&report.id).unwrap(), report, "stored with its after-photos");
        assert_eq!(sync(&store, &server, Trigger::User).unwrap().pushed, 1);
        let state = server.state.lock().unwrap();
        let pushed = &state.reports[&report.id.to_string()];
        assert!(pushed.fixed_on_spot);
        assert_eq!(pushed.after_photos[0].sha256, report.after_photos[0].sha256);
        assert!(state.photos.contains_key(&report.after_photos[0].sha256), "the after-photo went up first");
        drop(state);
        // Without after-photos, or by a resident: refused here.
        assert!(store.create_fixed_on_spot_report(&draft, &[PhotoSource::Bytes(jpeg(7))], &[]).is_err());
        let resident = ReportDraft { reporter: Default::default(), ..draft.clone() };
        assert!(store.create_fixed_on_spot_report(&resident, &[PhotoSource::Bytes(jpeg(7))], &[PhotoSource::Bytes(jpeg(8))]).is_err());
        // Once the device knows its user is a department's, refused too.
        server.state.lock().unwrap().me =
            Some(Me { name: "周".into(), role: Role::Department, grid_id: None, department: Some("cg".into()) });
        sync(&store, &server, Trigger::User).unwrap();
        let refused = store.create_fixed_on_spot_report(&draft, &[PhotoSource::Bytes(jpeg(7))], &[PhotoSource::Bytes(jpeg(8))]);
        assert!(matches!(refused, Err(Error::InvalidInput(m)) if m.contains("department")));
        assert_eq!(store.report_count().unwrap(), 1);
    }
}
