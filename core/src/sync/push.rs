//! Pushing the outbox: in rounds, each round's photos uploaded first (see
//! [`super::upload`]), then its reports in batches, every answer written in
//! the transaction that records it.

use std::collections::HashSet;

use super::pace::UploadPace;
use super::retry::{backoff_ms, now_ms, schedule_retry};
use super::transport::Transport;
use super::{RunProgress, Trigger, upload};
use crate::SyncSummary;
use crate::domain::{PhotoRef, Report, ReportId};
use crate::error::{Error, Result};
use crate::protocol::{MAX_PUSH_REPORTS, MAX_ROUND_UPLOAD_BYTES, MAX_UPLOAD_BATCH, PushOutcome, PushRequest, WireReport};
use crate::store::blobs::BlobStore;
use crate::store::{self, Database, OutboxItem};

/// Reports per push: one server transaction each. 100 reports (the
/// protocol's most) are ~35 KB of JSON: seconds on 2G.
const PUSH_BATCH: usize = MAX_PUSH_REPORTS;
/// Reports whose photos are uploaded in one go before they are pushed.
const UPLOAD_ROUND: usize = 5 * PUSH_BATCH;

/// Sends the queue in rounds until it is empty or an error stops the run
/// (the network is down: the next items would fail too). A round uploads
/// the photos of up to [`UPLOAD_ROUND`] reports in one go, then pushes them
/// in batches: the upload workers then run without draining at every push.
pub(crate) fn push_all(
    db: &Database,
    blobs: &BlobStore,
    transport: &dyn Transport,
    trigger: Trigger,
    summary: &mut SyncSummary,
    run: &RunProgress,
) -> Result<()> {
    let due_before = match trigger {
        Trigger::User => None,
        Trigger::Automatic => Some(now_ms()),
    };
    // Reports this run has already retried after `missing_photos`: a second
    // miss in one run waits for the next run instead of looping.
    let mut retried_missing = HashSet::new();
    let mut pace = UploadPace::default();
    loop {
        run.check_cancelled()?;
        let round = within_allowance(db.read(|tx| store::outbox_due(tx, due_before, UPLOAD_ROUND))?);
        if round.is_empty() {
            return Ok(());
        }
        let wanted: Vec<&PhotoRef> = round.iter().flat_map(|item| all_photos(&item.report)).collect();
        let photos = upload::upload_photos(db, blobs, transport, &wanted, &mut pace, summary, run);
        if let Some(e) = photos.stopped_by {
            // What did arrive is remembered, so the next run does not ask again.
            db.write(|tx| photos.on_server.iter().try_for_each(|sha| store::set_photo_uploaded(tx, sha, true)))?;
            return match e {
                e if e.is_retryable() => schedule_retry(db, &round.iter().collect::<Vec<_>>(), e),
                e => Err(e),
            };
        }
        let (sendable, refused): (Vec<_>, Vec<_>) =
            round.iter().partition(|item| all_photos(&item.report).all(|p| !photos.refused.contains_key(&p.sha256)));
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
                let reason = all_photos(&item.report).find_map(|p| photos.refused.get(&p.sha256)).map(Error::to_string);
                store::mark_failed(tx, &item.report.id, &reason.unwrap_or_default())?;
            }
            Ok(())
        };
        for batch in sendable.chunks(PUSH_BATCH) {
            run.check_cancelled()?;
            let request = PushRequest { reports: batch.iter().map(|i| WireReport::from(&i.report)).collect() };
            let response = match transport.push(&request) {
                Ok(response) => response,
                Err(e) => {
                    db.write(note_photos)?;
                    match e {
                        e if e.is_retryable() => return schedule_retry(db, &round.iter().collect::<Vec<_>>(), e),
                        e @ Error::TokenRefused(_) => return Err(e),
                        // The whole batch was refused (400, 413): one report
                        // alone is marked, several are sent one by one.
                        e if batch.len() == 1 => db.write(|tx| store::mark_failed(tx, &batch[0].report.id, &e.to_string()))?,
                        _ => push_one_by_one(db, transport, batch, summary, run)?,
                    }
                    continue;
                }
            };
            // A report missing photos a second time in this run waits for the
            // next run: this run's push ends after the batch.
            let mut missing_again = false;
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
                                missing_again = true;
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
            run.done(summary.pushed);
            if missing_again {
                return Ok(());
            }
        }
        if !photos_noted.get() {
            db.write(note_photos)?;
        }
    }
}

/// The first reports of `items` whose photos one round may ask the server
/// about: at most [`MAX_UPLOAD_BATCH`] photos declaring at most
/// [`MAX_ROUND_UPLOAD_BYTES`], so that a round never opens more uploads
/// than the server's per-user allowance takes (it would refuse the whole
/// batch, and the round would never get going). Always at least one report.
fn within_allowance(mut items: Vec<OutboxItem>) -> Vec<OutboxItem> {
    let (mut photos, mut bytes) = (0usize, 0u64);
    let fits = items
        .iter()
        .position(|item| {
            photos += all_photos(&item.report).count();
            bytes += all_photos(&item.report).map(|p| p.bytes).sum::<u64>();
            photos > MAX_UPLOAD_BATCH || bytes > MAX_ROUND_UPLOAD_BYTES
        })
        .unwrap_or(items.len());
    items.truncate(fits.max(1));
    items
}

/// A report's photos and, fixed on the spot, its after-photos: all go up before it.
fn all_photos(report: &Report) -> impl Iterator<Item = &PhotoRef> {
    report.photos.iter().chain(&report.after_photos)
}

fn push_one_by_one(
    db: &Database,
    transport: &dyn Transport,
    items: &[&OutboxItem],
    summary: &mut SyncSummary,
    run: &RunProgress,
) -> Result<()> {
    for item in items {
        run.check_cancelled()?;
        let request = PushRequest { reports: vec![WireReport::from(&item.report)] };
        match transport.push(&request) {
            Ok(response) => {
                for result in response.results {
                    if result.outcome == PushOutcome::Accepted {
                        db.write(|tx| store::mark_synced(tx, &item.report.id, result.status))?;
                        summary.pushed += 1;
                    }
                }
            }
            Err(e) if e.is_retryable() => return schedule_retry(db, &[item], e),
            Err(e @ Error::TokenRefused(_)) => return Err(e),
            Err(e) => db.write(|tx| store::mark_failed(tx, &item.report.id, &e.to_string()))?,
        }
        run.done(summary.pushed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ReportStatus, Reporter, SyncState};

    fn item(photos: usize, bytes: u64) -> OutboxItem {
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
            fixed_on_spot: false,
            after_photos: Vec::new(),
        };
        OutboxItem { report, attempts: 0 }
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
