//! The sync client: sends what the outbox holds (reports, then this
//! device's actions on cases), then pulls what changed and the task feed.
//!
//! Every step is safe to repeat, so the client survives being killed at any
//! instant: photos are uploaded resumably (the server says how much it has),
//! reports are pushed by their client-made id (the server answers a repeat
//! with the same result), and local state changes only after the server has
//! answered, in one transaction per answer.
//!
//! - [`transport`]: what the client needs of the server; `http.rs` does it over HTTP.
//! - `push.rs`: the outbox in rounds, each round's photos first, then its reports.
//! - `upload.rs`: one round's photos, several in flight, paced by [`pace`].
//! - `act.rs`: the actions taken on cases, one at a time in the order taken.
//! - `pull.rs`: the changes feed, page by page.
//! - `tasks.rs`: the task feed and its thumbnails.
//! - `retry.rs`: backoff for what may go through later.
//! - [`auto`]: the background sync while the device is online.

mod act;
pub mod auto;
mod http;
pub mod pace;
mod pull;
mod push;
mod retry;
mod tasks;
pub mod transport;
mod upload;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;

use crate::SyncSummary;
use crate::error::{Error, Result, SyncCause};
use crate::store::blobs::BlobStore;
use crate::store::{self, Database};

pub use self::http::HttpTransport;
pub use self::transport::{ActOutcome, Transport};

pub const SETTING_SERVER: &str = "server_url";
pub const SETTING_TOKEN: &str = "token";
pub(crate) const SETTING_CURSOR: &str = "pull_cursor";

/// How a run treats items that are waiting out a backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The user asked: try everything now.
    User,
    /// Automatic (connectivity came back): respect each item's backoff.
    Automatic,
}

/// Progress for a UI: reports done out of the reports queued at the start.
pub trait Progress {
    fn on_progress(&self, done: u64, total: u64);

    /// Polled between steps (photo chunks, batches, pages): true stops the
    /// run at the next step boundary, with everything done so far kept.
    fn cancelled(&self) -> bool {
        false
    }
}

impl<F: Fn(u64, u64)> Progress for F {
    fn on_progress(&self, done: u64, total: u64) {
        self(done, total)
    }
}

pub fn login(db: &Database, server_url: &str, token: &str) -> Result<()> {
    let url = server_url.trim();
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(Error::InvalidInput(format!("server URL `{url}` must start with http:// or https://")));
    }
    if token.trim().is_empty() || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::InvalidInput("the token is empty or has spaces in it".into()));
    }
    db.write(|tx| {
        // Another server means another history: start pulling from the beginning.
        if store::setting(tx, SETTING_SERVER)?.as_deref() != Some(url) {
            store::set_setting(tx, SETTING_CURSOR, None)?;
            tx.execute("DELETE FROM uploaded_photos", [])?;
        }
        store::set_setting(tx, SETTING_SERVER, Some(url))?;
        store::set_setting(tx, SETTING_TOKEN, Some(token))
    })
}

/// A run against the server the device is logged in to, over HTTP.
pub fn run(db: &Database, blobs: &BlobStore, trigger: Trigger, progress: &dyn Progress) -> Result<SyncSummary> {
    let (server, token) = db.read(|tx| Ok((store::setting(tx, SETTING_SERVER)?, store::setting(tx, SETTING_TOKEN)?)))?;
    let (Some(server), Some(token)) = (server, token) else { return Err(Error::NotLoggedIn) };
    run_with(db, blobs, &HttpTransport::new(&server, &token)?, trigger, progress)
}

/// A run over any transport: pushes the queued reports, sends the queued
/// actions, pulls the changes and the task feed, and says how it went.
/// `Err(SyncIncomplete)` says what is still queued and why, by its typed
/// [`SyncCause`]; nothing is lost either way.
pub fn run_with(
    db: &Database,
    blobs: &BlobStore,
    transport: &dyn Transport,
    trigger: Trigger,
    progress: &dyn Progress,
) -> Result<SyncSummary> {
    let mut summary = SyncSummary::default();
    let total = db.read(store::outbox_counts)?.0;
    progress.on_progress(0, total);
    let run = RunProgress { progress, total };
    type Step<'a> = Box<dyn Fn(&mut SyncSummary) -> Result<()> + 'a>;
    let steps: [Step; 4] = [
        Box::new(|summary| push::push_all(db, blobs, transport, trigger, summary, &run)),
        Box::new(|summary| act::send_actions(db, blobs, transport, trigger, summary, &run)),
        Box::new(|summary| pull::pull_all(db, transport, summary, &run)),
        Box::new(|summary| tasks::pull_tasks(db, blobs, transport, summary, &run)),
    ];
    // Every step runs even when an earlier one stopped on an item (status
    // changes still arrive when a push fails), but for a cancel or a
    // refused token. The first error is the run's cause, but for a refused
    // token, which is the cause whichever step met it.
    let mut stopped: Option<Error> = None;
    for step in steps {
        if let Err(e) = step(&mut summary) {
            let ends = matches!(e, Error::Cancelled | Error::TokenRefused(_));
            if ends || stopped.is_none() {
                stopped = Some(e);
            }
            if ends {
                break;
            }
        }
    }
    (summary.pending, summary.failed) = db.read(store::outbox_counts)?;
    summary.actions_pending = db.read(store::tasks::pending_action_count)?;
    let cause = match stopped {
        Some(Error::Cancelled) => return Err(Error::Cancelled),
        Some(e) => Some(SyncCause::of(&e).ok_or(e)?),
        None if summary.failed > 0 => Some(SyncCause::ReportsRefused),
        None if summary.pending > 0 || summary.actions_pending > 0 => {
            let reason = db.read(|tx| Ok(store::last_retry_error(tx)?.or(store::tasks::last_action_retry_error(tx)?)))?;
            Some(SyncCause::WaitingForRetry(reason.unwrap_or_else(|| "waiting for a retry".into())))
        }
        None => None,
    };
    match cause {
        Some(cause) => Err(Error::SyncIncomplete { cause, summary }),
        None => Ok(summary),
    }
}

/// The run's view of the caller's progress observer: what "done" counts
/// against, and the cancel check between steps.
pub(crate) struct RunProgress<'a> {
    progress: &'a dyn Progress,
    total: u64,
}

impl RunProgress<'_> {
    fn done(&self, done: u64) {
        self.progress.on_progress(done, self.total);
    }

    /// `Err(Cancelled)` once the caller asked to stop.
    fn check_cancelled(&self) -> Result<()> {
        if self.progress.cancelled() { Err(Error::Cancelled) } else { Ok(()) }
    }
}

/// Whether an error ends the whole run rather than one photo or report:
/// the network or the server is down (the next request would fail too),
/// the token is refused, or the user cancelled.
fn stops_run(e: &Error) -> bool {
    e.is_retryable() || matches!(e, Error::TokenRefused(_) | Error::Cancelled)
}
