//! Sync runs for the apps: blocking, or async with cancellation, reporting
//! to an optional observer the app implements.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use suishoupai_core::sync::{Progress, Trigger};
use suishoupai_core::{self as core};

use crate::error::{Result, SuishoupaiError};
use crate::types::SyncSummary;

/// Implemented by the app to show sync progress. Called on the thread that
/// runs the sync (not the UI thread for `sync_async`).
#[uniffi::export(foreign)]
pub trait SyncObserver: Send + Sync {
    /// `done` of `total` queued reports have been accepted so far.
    fn on_progress(&self, done: u64, total: u64);
}

/// The core's view of a run: the app's observer and a cancel flag.
struct RunProgress {
    observer: Option<Arc<dyn SyncObserver>>,
    cancel: Option<Arc<AtomicBool>>,
}

impl Progress for RunProgress {
    fn on_progress(&self, done: u64, total: u64) {
        if let Some(observer) = &self.observer {
            // An observer that throws must not end the sync (uniffi turns a
            // foreign exception in a void callback into a panic).
            let _ = catch_unwind(AssertUnwindSafe(|| observer.on_progress(done, total)));
        }
    }

    fn cancelled(&self) -> bool {
        self.cancel.as_ref().is_some_and(|flag| flag.load(Ordering::Relaxed))
    }
}

pub(crate) fn run_blocking(
    store: &core::Store,
    observer: Option<Arc<dyn SyncObserver>>,
    cancel: Option<Arc<AtomicBool>>,
) -> Result<SyncSummary> {
    store.sync(Trigger::User, &RunProgress { observer, cancel }).map(SyncSummary::from).map_err(|e| app_error(&e, store))
}

/// The app's error for a run's: refused reports are given the server's own
/// words. The core's message only points at the report list; each refused
/// report's `sync_error` holds the server's answer.
pub(crate) fn app_error(e: &core::Error, store: &core::Store) -> SuishoupaiError {
    match SuishoupaiError::from(e) {
        SuishoupaiError::ReportsRefused { count, reason, summary } => {
            let mut reasons: Vec<String> = Vec::new();
            for report in store.list_reports().unwrap_or_default() {
                if report.sync_state == core::SyncState::Failed
                    && let Some(why) = report.sync_error
                    && !reasons.contains(&why)
                {
                    reasons.push(why);
                }
            }
            let reason = if reasons.is_empty() { reason } else { format!("the server refused {count} report(s): {}", reasons.join("; ")) };
            SuishoupaiError::ReportsRefused { count, reason, summary }
        }
        other => other,
    }
}

/// Implemented by the app to hear how each background sync (the ones
/// `set_online(true)` starts) went, so that it can refresh its queue
/// screen without polling. Called on the background sync thread.
#[uniffi::export(foreign)]
pub trait SyncListener: Send + Sync {
    /// `summary` is the run's, with how many reports are still pending
    /// and refused; `error` is why it ended with work left (none when
    /// everything went): the same variants `sync` throws.
    fn on_sync_finished(&self, summary: SyncSummary, error: Option<SuishoupaiError>);
}

/// The core's listener for `listener`: each run's outcome in the app's terms.
pub(crate) fn run_listener(store: Arc<core::Store>, listener: Arc<dyn SyncListener>) -> core::sync::auto::RunListener {
    Box::new(move |result: &core::sync::auto::RunResult| {
        let (summary, error) = match result {
            Ok(summary) => ((*summary).into(), None),
            Err(e) => {
                let summary = match e {
                    core::Error::SyncIncomplete { summary, .. } => (*summary).into(),
                    _ => SyncSummary::default(),
                };
                (summary, Some(app_error(e, &store)))
            }
        };
        // A listener that throws must not end automatic sync.
        let _ = catch_unwind(AssertUnwindSafe(|| listener.on_sync_finished(summary, error)));
    })
}

/// Sets the flag when the future is dropped: the foreign side cancelled.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Runs the blocking sync on its own thread and awaits its answer, so no
/// async runtime is needed and the caller's executor is never blocked.
pub(crate) async fn run_async(store: Arc<core::Store>, observer: Option<Arc<dyn SyncObserver>>) -> Result<SyncSummary> {
    let cancel = Arc::new(AtomicBool::new(false));
    let _cancel_on_drop = CancelOnDrop(cancel.clone());
    let (tx, rx) = futures_channel::oneshot::channel();
    std::thread::Builder::new()
        .name("suishoupai-sync".into())
        .spawn(move || {
            let _ = tx.send(run_blocking(&store, observer, Some(cancel)));
        })
        .map_err(|e| SuishoupaiError::Internal { reason: format!("cannot start the sync thread: {e}") })?;
    rx.await.unwrap_or_else(|_| Err(SuishoupaiError::Internal { reason: "the sync thread stopped unexpectedly".into() }))
}
