//! The sync client: sends what the outbox holds, then pulls what changed.
//!
//! Every step is safe to repeat, so the client survives being killed at any
//! instant: photos are uploaded resumably (the server says how much it has),
//! reports are pushed by their client-made id (the server answers a repeat
//! with the same result), and local state changes only after the server has
//! answered, in one transaction per answer.

pub mod auto;
mod http;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::SyncSummary;
use crate::domain::ReportId;
use crate::error::{Error, Result};
use crate::protocol::{
    MAX_CHUNK_BYTES, MAX_ROUND_UPLOAD_BYTES, MAX_UPLOAD_BATCH, PushOutcome, PushRequest, UploadCreate, UploadState, WireReport,
};
use crate::store::blobs::{BlobKind, BlobStore};
use crate::store::{self, Database};

pub const SETTING_SERVER: &str = "server_url";
pub const SETTING_TOKEN: &str = "token";
const SETTING_CURSOR: &str = "pull_cursor";

/// Reports per push: one server transaction each. 100 reports (the
/// protocol's most) are ~35 KB of JSON: seconds on 2G.
const PUSH_BATCH: usize = crate::protocol::MAX_PUSH_REPORTS;
/// Reports whose photos are uploaded in one go before they are pushed.
const UPLOAD_ROUND: usize = 5 * PUSH_BATCH;
/// Photos in flight at most. One at a time leaves a good link idle while
/// the server makes each photo durable; several keep it busy and let the
/// server group its commits. On 2G, though, parallel uploads only split the
/// line until no chunk finishes within its timeout; so a run starts with
/// one and adds one for each photo that goes through fast (like TCP's slow
/// start), and drops one for each slow chunk.
const MAX_UPLOAD_WORKERS: usize = 16;
/// A photo that arrives at this rate or faster earns another worker.
const FAST_UPLOAD_BYTES_PER_SEC: f64 = 1_000_000.0;
/// A chunk slower than this retires a worker, down to one: a 256 KiB chunk
/// then still has four times this before the request times out.
const SLOW_CHUNK: Duration = Duration::from_secs(15);
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

/// Sends the queue in rounds until it is empty or an error stops the run
/// (the network is down: the next items would fail too). A round uploads
/// the photos of up to [`UPLOAD_ROUND`] reports in one go, then pushes them
/// in batches: the upload workers then run without draining at every push.
fn push_all(db: &Database, blobs: &BlobStore, http: &http::Http, trigger: Trigger, summary: &mut SyncSummary, steps: &Steps) -> Result<()> {
    let due_before = match trigger {
        Trigger::User => None,
        Trigger::Automatic => Some(now_ms()),
    };
    // Reports this run has already retried after `missing_photos`: a second
    // miss in one run waits for the next run instead of looping.
    let mut retried_missing = HashSet::new();
    let mut upload_workers = 1;
    loop {
        steps.check()?;
        let round = within_allowance(db.read(|tx| store::outbox_due(tx, due_before, UPLOAD_ROUND))?);
        if round.is_empty() {
            return Ok(());
        }
        let photos = upload_photos(db, blobs, http, &round, &mut upload_workers, summary, steps);
        if let Some(e) = photos.stopped_by {
            // What did arrive is remembered, so the next run does not ask again.
            db.write(|tx| photos.on_server.iter().try_for_each(|sha| store::set_photo_uploaded(tx, sha, true)))?;
            return match e {
                e if e.is_retryable() => give_back(db, &round, &e),
                e => Err(e),
            };
        }
        let (sendable, refused): (Vec<_>, Vec<_>) =
            round.iter().partition(|item| item.report.photos.iter().all(|p| !photos.refused.contains_key(&p.sha256)));
        // Written with the first batch's answer, or alone if nothing is sent.
        let photos_noted = std::cell::Cell::new(false);
        let note_photos = |tx: &rusqlite::Transaction| -> Result<()> {
            if photos_noted.replace(true) {
                return Ok(());
            }
            for sha in &photos.on_server {
                store::set_photo_uploaded(tx, sha, true)?;
            }
            for item in &refused {
                let reason = item.report.photos.iter().find_map(|p| photos.refused.get(&p.sha256)).map(Error::to_string);
                store::mark_failed(tx, &item.report.id, &reason.unwrap_or_default())?;
            }
            Ok(())
        };
        for batch in sendable.chunks(PUSH_BATCH) {
            steps.check()?;
            let request = PushRequest { reports: batch.iter().map(|i| WireReport::from(&i.report)).collect() };
            let response = match http.push(&request) {
                Ok(response) => response,
                Err(e) => {
                    db.write(note_photos)?;
                    match e {
                        e if e.is_retryable() => return give_back(db, &round, &e),
                        e @ Error::ServerRefused { status: 401, .. } => return Err(e),
                        // The whole batch was refused (400, 413): one report
                        // alone is marked, several are sent one by one.
                        e if batch.len() == 1 => db.write(|tx| store::mark_failed(tx, &batch[0].report.id, &e.to_string()))?,
                        _ => push_one_by_one(db, http, batch, summary, steps)?,
                    }
                    continue;
                }
            };
            let mut stop_after_batch = None;
            db.write(|tx| {
                note_photos(tx)?;
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
        if !photos_noted.get() {
            db.write(note_photos)?;
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

/// The first reports of `items` whose photos one round may ask the server
/// about: at most [`MAX_UPLOAD_BATCH`] photos declaring at most
/// [`MAX_ROUND_UPLOAD_BYTES`], so that a round never opens more uploads
/// than the server's per-user allowance takes (it would refuse the whole
/// batch, and the round would never get going). Always at least one report.
fn within_allowance(mut items: Vec<store::OutboxItem>) -> Vec<store::OutboxItem> {
    let (mut photos, mut bytes) = (0usize, 0u64);
    let fits = items
        .iter()
        .position(|item| {
            photos += item.report.photos.len();
            bytes += item.report.photos.iter().map(|p| p.bytes).sum::<u64>();
            photos > MAX_UPLOAD_BATCH || bytes > MAX_ROUND_UPLOAD_BYTES
        })
        .unwrap_or(items.len());
    items.truncate(fits.max(1));
    items
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

/// Whether an error ends the whole run rather than one photo or report:
/// the network is down (the next request would fail too), the token is
/// refused, or the user cancelled.
fn stops_run(e: &Error) -> bool {
    e.is_retryable() || matches!(e, Error::ServerRefused { status: 401, .. } | Error::Cancelled)
}

/// What became of the photos of one push batch.
#[derive(Default)]
struct BatchPhotos {
    /// Photos the server now has that this device did not know it had.
    on_server: Vec<String>,
    /// Photos refused for good (a bad photo, a rendition missing on disk).
    refused: HashMap<String, Error>,
    /// The error that ended the run, if one did (see [`stops_run`]).
    stopped_by: Option<Error>,
}

/// An upload to make: the photo and where the server's copy stands.
struct UploadJob {
    sha256: String,
    length: u64,
    offset: u64,
}

/// Uploads the photos of a batch that the server does not have yet: one
/// request asks where each stands, then up to `workers` threads send the
/// rest, each resuming from the server's offset. The caller's thread
/// gathers the results, sets the number of workers for the link's speed
/// (kept in `workers` for the next batch) and polls for cancellation.
fn upload_photos(
    db: &Database,
    blobs: &BlobStore,
    http: &http::Http,
    batch: &[store::OutboxItem],
    workers: &mut usize,
    summary: &mut SyncSummary,
    steps: &Steps,
) -> BatchPhotos {
    let mut photos = BatchPhotos::default();
    let jobs = match upload_jobs(db, http, batch, summary, &mut photos) {
        Ok(jobs) => jobs,
        Err(e) => {
            photos.stopped_by = Some(e);
            return photos;
        }
    };
    let next = AtomicUsize::new(0);
    let retire = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (results, finished) = mpsc::channel();
    std::thread::scope(|scope| {
        let spawn_worker = || {
            let results = results.clone();
            let (next, retire, stop, jobs) = (&next, &retire, &stop, &jobs);
            scope.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if retire.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_ok() {
                        break;
                    }
                    let Some(job) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) else { break };
                    if results.send((job, upload_one(http, blobs, job, stop))).is_err() {
                        break;
                    }
                }
            });
        };
        // `pace` is what the link has earned; `running` the workers alive.
        let mut pace = (*workers).clamp(1, MAX_UPLOAD_WORKERS);
        let mut running = pace.min(jobs.len());
        for _ in 0..running {
            spawn_worker();
        }
        let mut received = 0;
        while received < jobs.len() {
            // After a stop, only the photos already taken still report.
            if stop.load(Ordering::Relaxed) && received >= next.load(Ordering::Relaxed).min(jobs.len()) {
                break;
            }
            let Ok((job, sent)) = finished.recv_timeout(Duration::from_millis(50)) else {
                if let Err(e) = steps.check() {
                    stop.store(true, Ordering::Relaxed);
                    photos.stopped_by.get_or_insert(e);
                }
                continue;
            };
            received += 1;
            summary.uploaded_bytes += sent.bytes;
            if sent.slowest_chunk > SLOW_CHUNK {
                pace = pace.saturating_sub(1).max(1);
                if running > pace {
                    retire.fetch_add(1, Ordering::Relaxed);
                    running -= 1;
                }
            } else if sent.result.is_ok() && sent.bytes as f64 >= FAST_UPLOAD_BYTES_PER_SEC * sent.took.as_secs_f64() {
                pace = (pace + 1).min(MAX_UPLOAD_WORKERS);
                if running < pace && next.load(Ordering::Relaxed) < jobs.len() {
                    spawn_worker();
                    running += 1;
                }
            }
            match sent.result {
                Ok(()) => photos.on_server.push(job.sha256.clone()),
                Err(e) if stops_run(&e) => {
                    stop.store(true, Ordering::Relaxed);
                    // The first cause, not a worker's "cancelled" that it caused.
                    photos.stopped_by.get_or_insert(e);
                }
                Err(e) => {
                    photos.refused.insert(job.sha256.clone(), e);
                }
            }
        }
        stop.store(true, Ordering::Relaxed);
        *workers = pace;
    });
    photos
}

/// The photos of a batch still to send, after asking the server in one
/// request where each stands. Photos it has already count as skipped bytes.
fn upload_jobs(
    db: &Database,
    http: &http::Http,
    batch: &[store::OutboxItem],
    summary: &mut SyncSummary,
    photos: &mut BatchPhotos,
) -> Result<Vec<UploadJob>> {
    let mut wanted: Vec<UploadCreate> = Vec::new();
    db.read(|tx| {
        for photo in batch.iter().flat_map(|item| &item.report.photos) {
            if !wanted.iter().any(|w| w.sha256 == photo.sha256) && !store::photo_uploaded(tx, &photo.sha256)? {
                wanted.push(UploadCreate { sha256: photo.sha256.clone(), length: photo.bytes });
            }
        }
        Ok(())
    })?;
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let mut states: Vec<Result<UploadState>> = Vec::with_capacity(wanted.len());
    for asked in wanted.chunks(MAX_UPLOAD_BATCH) {
        match http.create_uploads(asked.to_vec()) {
            Ok(answered) => states.extend(answered.into_iter().map(Ok)),
            // One photo the server will not take (a 400 or 413 names it) must
            // not hold back the others: ask about each alone.
            Err(e) if !stops_run(&e) => states.extend(asked.iter().map(|w| http.create_uploads(vec![w.clone()]).map(|mut s| s.remove(0)))),
            Err(e) => return Err(e),
        }
    }
    let mut jobs = Vec::new();
    for (asked, state) in wanted.into_iter().zip(states) {
        match state {
            Ok(state) if state.complete => {
                summary.skipped_bytes += asked.length;
                photos.on_server.push(asked.sha256);
            }
            Ok(state) => {
                let offset = state.offset.min(asked.length);
                summary.skipped_bytes += offset;
                jobs.push(UploadJob { sha256: asked.sha256, length: asked.length, offset });
            }
            Err(e) if stops_run(&e) => return Err(e),
            Err(e) => {
                photos.refused.insert(asked.sha256, e);
            }
        }
    }
    Ok(jobs)
}

/// How one photo's upload went.
struct Sent {
    /// Bytes the server took.
    bytes: u64,
    took: Duration,
    slowest_chunk: Duration,
    result: Result<()>,
}

/// Sends one photo from `job.offset` in chunks, until the server has it
/// all or `stop` is set.
fn upload_one(http: &http::Http, blobs: &BlobStore, job: &UploadJob, stop: &AtomicBool) -> Sent {
    let started = Instant::now();
    let mut sent = Sent { bytes: 0, took: Duration::ZERO, slowest_chunk: Duration::ZERO, result: Ok(()) };
    sent.result = send_chunks(http, blobs, job, stop, &mut sent);
    sent.took = started.elapsed();
    sent
}

fn send_chunks(http: &http::Http, blobs: &BlobStore, job: &UploadJob, stop: &AtomicBool, sent: &mut Sent) -> Result<()> {
    let path = blobs.path(BlobKind::Rendition, &job.sha256);
    let bytes = bytes::Bytes::from(std::fs::read(&path).map_err(Error::io(&path))?);
    if bytes.len() as u64 != job.length {
        let detail = format!("is {} bytes, the report says {}", bytes.len(), job.length);
        return Err(Error::InvalidInput(format!("the photo file {} {detail}", path.display())));
    }
    let (mut offset, mut conflicts) = (job.offset, 0);
    while offset < job.length {
        if stop.load(Ordering::Relaxed) {
            return Err(Error::Cancelled);
        }
        let end = (offset + MAX_CHUNK_BYTES).min(job.length);
        let chunk_started = Instant::now();
        match http.patch_upload(&job.sha256, offset, bytes.slice(offset as usize..end as usize)) {
            Ok(new_offset) => {
                sent.bytes += end - offset;
                sent.slowest_chunk = sent.slowest_chunk.max(chunk_started.elapsed());
                offset = new_offset;
            }
            // Someone else (our killed predecessor, a second device) moved
            // the offset: ask where it stands and go on from there.
            Err(Error::ServerRefused { status: 409, .. }) if conflicts < 3 => {
                conflicts += 1;
                offset = http.upload_offset(&job.sha256)?;
            }
            // The server gave the upload up (untouched for a day, or the
            // server was restored): start it again.
            Err(Error::ServerRefused { status: 404, .. }) if conflicts < 3 => {
                conflicts += 1;
                let state = http.create_uploads(vec![UploadCreate { sha256: job.sha256.clone(), length: job.length }])?.remove(0);
                if state.complete {
                    return Ok(());
                }
                offset = state.offset;
            }
            Err(e) => return Err(e),
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{PhotoRef, Report, ReportStatus, Reporter, SyncState};

    fn item(photos: usize, bytes: u64) -> store::OutboxItem {
        let photos = (0..photos).map(|n| PhotoRef { sha256: format!("{n:064x}"), width: 1, height: 1, bytes }).collect();
        let report = Report {
            id: ReportId::new(),
            category: "garbage".into(),
            note: String::new(),
            location: None,
            photos,
            reporter: Reporter::default(),
            taken_at: None,
            created_at: String::new(),
            sync_state: SyncState::Pending,
            sync_error: None,
            status: ReportStatus::Submitted,
        };
        store::OutboxItem { report, attempts: 0 }
    }

    #[test]
    fn a_round_never_asks_for_more_than_the_servers_allowance() {
        // 500 reports of one 200 KB photo: one round, as before.
        assert_eq!(within_allowance((0..500).map(|_| item(1, 200_000)).collect()).len(), 500);
        // 500 reports of nine photos: only 100 fit the 900 photos of one batch.
        assert_eq!(within_allowance((0..500).map(|_| item(9, 10_000)).collect()).len(), 100);
        // Large photos: bounded by bytes.
        let big = MAX_ROUND_UPLOAD_BYTES / 10;
        assert_eq!(within_allowance((0..50).map(|_| item(1, big)).collect()).len(), 10);
        // One report over the bound still goes alone, or it would never go.
        assert_eq!(within_allowance(vec![item(1, MAX_ROUND_UPLOAD_BYTES + 1), item(1, 1)]).len(), 1);
        assert!(within_allowance(Vec::new()).is_empty());
    }
}
