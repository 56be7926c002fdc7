//! The sync client: sends what the outbox holds, then pulls what changed.
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
//! - `pull.rs`: the changes feed, page by page.
//! - `retry.rs`: backoff for what may go through later.
//! - [`auto`]: the background sync while the device is online.

pub mod auto;
mod http;
pub mod pace;
mod pull;
mod push;
mod retry;
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
pub use self::transport::Transport;

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

/// A run over any transport: pushes the queue, then pulls, and says how it
/// went. `Err(SyncIncomplete)` says what is still queued and why, by its
/// typed [`SyncCause`]; nothing is lost either way.
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
    let pushed = push::push_all(db, blobs, transport, trigger, &mut summary, &run);
    // Pull even when pushing stopped on an item: status changes still arrive.
    let pulled = match &pushed {
        Err(Error::Cancelled) => Err(Error::Cancelled),
        Err(Error::TokenRefused(_)) => Ok(()),
        _ => pull::pull_all(db, transport, &mut summary, &run),
    };
    (summary.pending, summary.failed) = db.read(store::outbox_counts)?;
    let stopped = match (pushed, pulled) {
        (Err(Error::Cancelled), _) | (_, Err(Error::Cancelled)) => return Err(Error::Cancelled),
        // A refused token is the cause whichever step met it first.
        (Err(e @ Error::TokenRefused(_)), _) | (_, Err(e @ Error::TokenRefused(_))) => Some(e),
        (Err(e), _) | (Ok(()), Err(e)) => Some(e),
        (Ok(()), Ok(())) => None,
    };
    let cause = match stopped {
        Some(e) => Some(SyncCause::of(&e).ok_or(e)?),
        None if summary.failed > 0 => Some(SyncCause::ReportsRefused),
        None if summary.pending > 0 => {
            Some(SyncCause::WaitingForRetry(db.read(store::last_retry_error)?.unwrap_or_else(|| "waiting for a retry".into())))
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
