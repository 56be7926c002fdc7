//! The sync client: sends what the outbox holds, then pulls what changed.
//!
//! Every step is safe to repeat, so the client survives being killed at any
//! instant: photos are uploaded resumably (the server says how much it has),
//! reports are pushed by their client-made id (the server answers a repeat
//! with the same result), and local state changes only after the server has
//! answered, in one transaction per answer.

pub mod auto;
mod http;

use std::time::{SystemTime, UNIX_EPOCH};

use crate::SyncSummary;
use crate::domain::ReportId;
use crate::error::{Error, Result};
use crate::protocol::{MAX_CHUNK_BYTES, PushOutcome, PushRequest, WireReport};
use crate::store::blobs::{BlobKind, BlobStore};
use crate::store::{self, Database};

pub const SETTING_SERVER: &str = "server_url";
pub const SETTING_TOKEN: &str = "token";
const SETTING_CURSOR: &str = "pull_cursor";

/// Reports per push: one server transaction each, small enough for 2G.
const PUSH_BATCH: usize = 20;
const PULL_PAGE: u32 = 200;
/// Backoff after a retryable failure: 2^attempts seconds, at most an hour.
const MAX_BACKOFF_MS: i64 = 3_600_000;

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

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn backoff_ms(attempts: u32) -> i64 {
    // A little jitter from the clock, so that a street's worth of phones
    // coming back online at once do not retry in lockstep.
    let base = 1000i64.saturating_mul(1 << attempts.min(22)).min(MAX_BACKOFF_MS);
    base + (now_ms() % 1000)
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

pub fn run(db: &Database, blobs: &BlobStore, trigger: Trigger, progress: &dyn Progress) -> Result<SyncSummary> {
    let (server, token) = db.read(|tx| Ok((store::setting(tx, SETTING_SERVER)?, store::setting(tx, SETTING_TOKEN)?)))?;
    let (Some(server), Some(token)) = (server, token) else { return Err(Error::NotLoggedIn) };
    let http = http::Http::new(&server, &token)?;
    let mut summary = SyncSummary::default();

    let total = db.read(store::outbox_counts)?.0;
    progress.on_progress(0, total);
    let steps = Steps { progress, total };
    let stopped = push_all(db, blobs, &http, trigger, &mut summary, &steps);
    // Pull even when pushing stopped on an item: status changes still arrive.
    let pulled = match &stopped {
        Err(Error::Cancelled) => Err(Error::Cancelled),
        _ => pull_all(db, &http, &mut summary, &steps),
    };

    let (pending, failed) = db.read(store::outbox_counts)?;
    match (stopped, pulled) {
        (Err(e @ (Error::ServerRefused { status: 401, .. } | Error::NotLoggedIn)), _)
        | (_, Err(e @ Error::ServerRefused { status: 401, .. })) => Err(Error::SyncIncomplete {
            pending,
            failed,
            reason: format!("the server does not accept this device's token ({e}); log in again"),
            summary,
        }),
        (Err(Error::Cancelled), _) | (_, Err(Error::Cancelled)) => Err(Error::Cancelled),
        (Err(e), _) | (Ok(()), Err(e)) => Err(Error::SyncIncomplete { pending, failed, reason: e.to_string(), summary }),
        (Ok(()), Ok(())) if pending > 0 || failed > 0 => {
            let reason = if failed > 0 {
                "the server refused some reports; see `report list` for why".to_owned()
            } else {
                db.read(store::last_retry_error)?.unwrap_or_else(|| "waiting for a retry".into())
            };
            Err(Error::SyncIncomplete { pending, failed, reason, summary })
        }
        (Ok(()), Ok(())) => Ok(summary),
    }
}

/// The run's view of the caller's progress observer.
struct Steps<'a> {
    progress: &'a dyn Progress,
    total: u64,
}

impl Steps<'_> {
    fn done(&self, done: u64) {
        self.progress.on_progress(done, self.total);
    }

    fn check(&self) -> Result<()> {
        if self.progress.cancelled() { Err(Error::Cancelled) } else { Ok(()) }
    }
}

/// Pushes queue batches until the queue is empty or a retryable error stops
/// the run (the network is down: the next items would fail too).
fn push_all(db: &Database, blobs: &BlobStore, http: &http::Http, trigger: Trigger, summary: &mut SyncSummary, steps: &Steps) -> Result<()> {
    let due_before = match trigger {
        Trigger::User => None,
        Trigger::Automatic => Some(now_ms()),
    };
    // Reports this run has already retried after `missing_photos`: a second
    // miss in one run waits for the next run instead of looping.
    let mut retried_missing = std::collections::HashSet::new();
    loop {
        steps.check()?;
        let batch = db.read(|tx| store::outbox_due(tx, due_before, PUSH_BATCH))?;
        if batch.is_empty() {
            return Ok(());
        }
        let mut sendable = Vec::new();
        for item in &batch {
            match upload_photos(db, blobs, http, &item.report, summary, steps) {
                Ok(()) => sendable.push(item),
                Err(e) if e.is_retryable() => return give_back(db, &batch, &e),
                Err(e @ (Error::ServerRefused { status: 401, .. } | Error::Cancelled)) => return Err(e),
                Err(e) => db.write(|tx| store::mark_failed(tx, &item.report.id, &e.to_string()))?,
            }
        }
        if sendable.is_empty() {
            continue;
        }
        let request = PushRequest { reports: sendable.iter().map(|i| WireReport::from(&i.report)).collect() };
        let response = match http.push(&request) {
            Ok(response) => response,
            Err(e) if e.is_retryable() => return give_back(db, &batch, &e),
            Err(e @ Error::ServerRefused { status: 401, .. }) => return Err(e),
            Err(e) => {
                // The whole batch was refused (400, 413): mark the first one
                // alone if it is alone, otherwise send them one by one next time.
                if sendable.len() == 1 {
                    db.write(|tx| store::mark_failed(tx, &sendable[0].report.id, &e.to_string()))?;
                    continue;
                }
                return push_one_by_one(db, http, &sendable, summary, steps);
            }
        };
        let mut stop_after_batch = None;
        db.write(|tx| {
            for result in &response.results {
                let Ok(id) = ReportId::parse(&result.id) else { continue };
                match result.outcome {
                    PushOutcome::Accepted => {
                        store::mark_synced(tx, &id, result.status)?;
                        summary.pushed += 1;
                    }
                    PushOutcome::MissingPhotos => {
                        for sha in &result.missing {
                            store::set_photo_uploaded(tx, sha, false)?;
                        }
                        if !retried_missing.insert(id) {
                            let reason = format!("server still misses {} photo(s)", result.missing.len());
                            store::mark_retry(tx, &id, &reason, now_ms() + backoff_ms(0))?;
                            stop_after_batch = Some(Error::Network(reason));
                        }
                    }
                    PushOutcome::Conflict | PushOutcome::Invalid => {
                        let reason = result.error.clone().unwrap_or_else(|| format!("{:?}", result.outcome).to_lowercase());
                        store::mark_failed(tx, &id, &reason)?;
                    }
                }
            }
            Ok(())
        })?;
        steps.done(summary.pushed);
        if let Some(e) = stop_after_batch {
            return Err(e);
        }
    }
}

fn push_one_by_one(db: &Database, http: &http::Http, items: &[&store::OutboxItem], summary: &mut SyncSummary, steps: &Steps) -> Result<()> {
    for item in items {
        steps.check()?;
        let request = PushRequest { reports: vec![WireReport::from(&item.report)] };
        match http.push(&request) {
            Ok(response) => {
                for result in response.results {
                    if result.outcome == PushOutcome::Accepted {
                        db.write(|tx| store::mark_synced(tx, &item.report.id, result.status))?;
                        summary.pushed += 1;
                    }
                }
            }
            Err(e) if e.is_retryable() => return give_back(db, &[(*item).clone()], &e),
            Err(e @ Error::ServerRefused { status: 401, .. }) => return Err(e),
            Err(e) => db.write(|tx| store::mark_failed(tx, &item.report.id, &e.to_string()))?,
        }
        steps.done(summary.pushed);
    }
    Ok(())
}

/// A retryable failure: the batch waits out its backoff, and the run stops.
fn give_back(db: &Database, batch: &[store::OutboxItem], e: &Error) -> Result<()> {
    // The user sees `reason`; the run's error wraps the bare detail, so that
    // the message does not say "network: network: ...".
    let reason = e.to_string();
    let detail = match e {
        Error::Network(detail) => detail.clone(),
        other => other.to_string(),
    };
    db.write(|tx| {
        for item in batch {
            // Only items still queued: some of the batch may have gone through.
            if store::is_queued(tx, &item.report.id)? {
                store::mark_retry(tx, &item.report.id, &reason, now_ms() + backoff_ms(item.attempts))?;
            }
        }
        Ok(())
    })?;
    Err(Error::Network(detail))
}

/// Uploads the photos of a report that the server does not have yet,
/// resuming where the server's offset says.
fn upload_photos(
    db: &Database,
    blobs: &BlobStore,
    http: &http::Http,
    report: &crate::domain::Report,
    summary: &mut SyncSummary,
    steps: &Steps,
) -> Result<()> {
    for photo in &report.photos {
        if db.read(|tx| store::photo_uploaded(tx, &photo.sha256))? {
            continue;
        }
        let path = blobs.path(BlobKind::Rendition, &photo.sha256);
        let bytes = std::fs::read(&path).map_err(Error::io(&path))?;
        let state = http.create_upload(&photo.sha256, bytes.len() as u64)?;
        let mut offset = state.offset.min(bytes.len() as u64);
        summary.skipped_bytes += offset;
        let mut conflicts = 0;
        while offset < bytes.len() as u64 {
            steps.check()?;
            let end = (offset + MAX_CHUNK_BYTES).min(bytes.len() as u64);
            match http.patch_upload(&photo.sha256, offset, bytes[offset as usize..end as usize].to_vec()) {
                Ok(new_offset) => {
                    summary.uploaded_bytes += end - offset;
                    offset = new_offset;
                }
                // Someone else (our killed predecessor, a second device) moved
                // the offset: ask where it stands and go on from there.
                Err(Error::ServerRefused { status: 409, .. }) if conflicts < 3 => {
                    conflicts += 1;
                    offset = http.upload_offset(&photo.sha256)?;
                }
                Err(e) => return Err(e),
            }
        }
        db.write(|tx| store::set_photo_uploaded(tx, &photo.sha256, true))?;
    }
    Ok(())
}

/// Pulls pages of changes until the server has no more. The cursor is saved
/// in the same transaction as the page it follows.
fn pull_all(db: &Database, http: &http::Http, summary: &mut SyncSummary, steps: &Steps) -> Result<()> {
    loop {
        steps.check()?;
        let cursor = db.read(|tx| store::setting(tx, SETTING_CURSOR))?;
        let page = http.changes(cursor.as_deref(), PULL_PAGE)?;
        db.write(|tx| {
            for change in &page.changes {
                store::apply_status(tx, &change.report_id, change.status)?;
            }
            if let Some(next) = &page.next_cursor {
                store::set_setting(tx, SETTING_CURSOR, Some(next))?;
            }
            Ok(())
        })?;
        summary.pulled += page.changes.len() as u64;
        if !page.has_more || page.changes.is_empty() {
            return Ok(());
        }
    }
}
