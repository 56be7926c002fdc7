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
    match store.sync(Trigger::User, &RunProgress { observer, cancel }) {
        Ok(summary) => Ok(summary.into()),
        Err(e) => Err(with_refusal_reasons(e, store).into()),
    }
}

/// Gives a refusal the server's own words. When reports were refused for
/// good, the core's reason only points at the report list; each refused
/// report's `sync_error` holds the server's answer.
fn with_refusal_reasons(e: core::Error, store: &core::Store) -> core::Error {
    match e {
        core::Error::SyncIncomplete { pending: 0, failed, summary, reason } if failed > 0 => {
            let mut reasons: Vec<String> = Vec::new();
            for report in store.list_reports().unwrap_or_default() {
                if report.sync_state == core::SyncState::Failed
                    && let Some(why) = report.sync_error
                    && !reasons.contains(&why)
                {
                    reasons.push(why);
                }
            }
            let reason = if reasons.is_empty() { reason } else { reasons.join("; ") };
            core::Error::SyncIncomplete { pending: 0, failed, summary, reason }
        }
        e => e,
    }
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
        .map_err(|e| SuishoupaiError::Internal(format!("cannot start the sync thread: {e}")))?;
    rx.await.unwrap_or_else(|_| Err(SuishoupaiError::Internal("the sync thread stopped unexpectedly".into())))
}
