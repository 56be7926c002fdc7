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
