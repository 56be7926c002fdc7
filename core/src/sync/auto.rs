//! Automatic sync while the device is online.
//!
//! The app tells [`AutoSync`] when connectivity changes; a background thread
//! then runs [`Store::sync`] with [`Trigger::Automatic`] until nothing is due,
//! and sleeps until the next item's backoff expires. The caller never waits:
//! every method here only flips a flag and wakes the thread. Going offline
//! or dropping the `AutoSync` stops a run at its next step (photo chunk,
//! batch, page), with everything done so far kept.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{Progress, Trigger};
use crate::error::{Error, Result};
use crate::{Store, SyncSummary};

/// The shortest wait between two runs that ended with work still due; it
/// doubles with each such run in a row (a server that keeps refusing the
/// token must not be asked every second) up to [`MAX_RETRY_DELAY`].
const MIN_RETRY_DELAY: Duration = Duration::from_secs(1);
const MAX_RETRY_DELAY: Duration = Duration::from_secs(3600);

/// What one automatic run ended with, for a UI that wants to refresh.
pub type RunResult = Result<SyncSummary>;

/// Called on the background thread after each automatic run.
pub type RunListener = Box<dyn Fn(&RunResult) + Send + Sync>;

/// Syncs in the background whenever the device is online. Dropping it stops
/// the thread at the next step; it does not wait for it.
pub struct AutoSync {
    store: Arc<Store>,
    shared: Arc<Shared>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    listener: Mutex<Option<Arc<RunListener>>>,
}

#[derive(Default)]
struct State {
    online: bool,
    /// Something new may be due: run as soon as online, backoff or not.
    kicked: bool,
    stop: bool,
    /// Runs started so far; lets callers and tests see progress.
    runs: u64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl std::fmt::Debug for AutoSync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.shared.lock();
        f.debug_struct("AutoSync").field("online", &state.online).field("runs", &state.runs).finish()
    }
}

impl AutoSync {
    /// Starts offline; no thread runs until the device is first online.
    pub fn new(store: Arc<Store>) -> AutoSync {
        AutoSync {
            store,
            shared: Arc::new(Shared { state: Mutex::new(State::default()), wake: Condvar::new(), listener: Mutex::new(None) }),
            worker: Mutex::new(None),
        }
    }

    /// The app's connectivity callback. Online: sync what is due now, then
    /// whatever comes due later. Offline: stop the current run at its next
    /// step and wait.
    pub fn set_online(&self, online: bool) {
        {
            let mut state = self.shared.lock();
            state.online = online;
            if online {
                state.kicked = true;
            }
        }
        self.shared.wake.notify_all();
        if online {
            self.ensure_worker();
        }
    }

    pub fn is_online(&self) -> bool {
        self.shared.lock().online
    }

    /// Something new may be sendable (a report was made, the user logged
    /// in): run soon if online. Never blocks.
    pub fn nudge(&self) {
        let online = {
            let mut state = self.shared.lock();
            state.kicked = true;
            state.online
        };
        self.shared.wake.notify_all();
        if online {
            self.ensure_worker();
        }
    }

    /// How many automatic runs have started.
    pub fn runs(&self) -> u64 {
        self.shared.lock().runs
    }

    /// Hears the outcome of every automatic run, on the background thread.
    pub fn set_listener(&self, listener: Option<RunListener>) {
        *self.shared.listener.lock().unwrap_or_else(|p| p.into_inner()) = listener.map(Arc::new);
    }

    fn ensure_worker(&self) {
        let mut worker = self.worker.lock().unwrap_or_else(|p| p.into_inner());
        if worker.as_ref().is_some_and(|handle| !handle.is_finished()) {
            return;
        }
        let (store, shared) = (self.store.clone(), self.shared.clone());
        // If no thread can be had, there is no automatic sync until the next
        // call; the user's own sync still works.
        *worker = std::thread::Builder::new().name("suishoupai-autosync".into()).spawn(move || work(&store, &shared)).ok();
    }
}

impl Drop for AutoSync {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.wake.notify_all();
    }
}

/// The run's view of the switch: offline or stopped cancels at the next step.
struct Switch<'a>(&'a Shared);

impl Progress for Switch<'_> {
    fn on_progress(&self, _done: u64, _total: u64) {}

    fn cancelled(&self) -> bool {
        let state = self.0.lock();
        state.stop || !state.online
    }
}

fn work(store: &Store, shared: &Shared) {
    let mut retry_delay = MIN_RETRY_DELAY;
    // When the next item's backoff expires; None: wait for a kick.
    let mut wake_at: Option<Instant> = None;
    loop {
        {
            let mut state = shared.lock();
            loop {
                if state.stop {
                    return;
                }
                if state.online && (state.kicked || wake_at.is_some_and(|t| Instant::now() >= t)) {
                    state.kicked = false;
                    state.runs += 1;
                    break;
                }
                state = match wake_at {
                    Some(t) if state.online => {
                        let left = t.saturating_duration_since(Instant::now());
                        shared.wake.wait_timeout(state, left).unwrap_or_else(|p| p.into_inner()).0
                    }
                    _ => shared.wake.wait(state).unwrap_or_else(|p| p.into_inner()),
                };
            }
        }
        wake_at = None;
        let result = store.sync(Trigger::Automatic, &Switch(shared));
        match &result {
            Ok(_) => retry_delay = MIN_RETRY_DELAY,
            // Offline or dropped: the wait above sorts out which.
            Err(Error::Cancelled) => {}
            // Queued reports or actions wait out their backoff; sleep until the first expires.
            Err(Error::SyncIncomplete { summary, .. }) if summary.pending > 0 || summary.actions_pending > 0 => {
                let until_due = next_due_in(store).unwrap_or(Duration::ZERO);
                wake_at = Some(Instant::now() + until_due.max(retry_delay));
                retry_delay = (retry_delay * 2).min(MAX_RETRY_DELAY);
            }
            // Only refused reports left: they wait for the user, not for us.
            Err(Error::SyncIncomplete { .. }) | Err(Error::NotLoggedIn) => {}
            Err(_) => {
                wake_at = Some(Instant::now() + retry_delay);
                retry_delay = (retry_delay * 2).min(MAX_RETRY_DELAY);
            }
        }
        let listener = shared.listener.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(listener) = listener {
            // A listener that panics must not end automatic sync.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| listener(&result)));
        }
    }
}

/// How long until the first queued report's backoff expires.
fn next_due_in(store: &Store) -> Option<Duration> {
    let next: Option<i64> = store.db.read(crate::store::next_attempt_at).ok()?;
    Some(Duration::from_millis(next?.saturating_sub(super::retry::now_ms()).max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offline_store_never_runs_and_drop_does_not_block() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let auto = AutoSync::new(store);
        auto.nudge();
        assert_eq!(auto.runs(), 0);
        assert!(auto.worker.lock().unwrap().is_none(), "no thread while offline");
        drop(auto);
    }

    #[test]
    fn online_without_login_runs_once_and_idles() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let auto = AutoSync::new(store);
        let (tx, rx) = std::sync::mpsc::channel();
        let tx = Mutex::new(tx);
        auto.set_listener(Some(Box::new(move |r: &RunResult| {
            let _ = tx.lock().unwrap().send(matches!(r, Err(Error::NotLoggedIn)));
        })));
        let started = Instant::now();
        auto.set_online(true);
        assert!(started.elapsed() < Duration::from_millis(100), "set_online must not block");
        assert!(rx.recv_timeout(Duration::from_secs(10)).unwrap());
        // Not logged in: it waits for a kick instead of spinning.
        assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
        assert_eq!(auto.runs(), 1);
        auto.set_online(false);
        drop(auto);
    }
}
