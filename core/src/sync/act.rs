//! Sending this device's actions on cases, one at a time in the order
//! taken: each one's after-photos first (the same resumable uploads as a
//! report's), then the action. The server recognises a resend by its
//! `action_id`, so an action whose answer was lost is simply sent again.

use std::collections::HashSet;

use super::pace::UploadPace;
use super::retry::{backoff_ms, now_ms};
use super::transport::{ActOutcome, Transport};
use super::{RunProgress, Trigger, upload};
use crate::SyncSummary;
use crate::domain::PhotoRef;
use crate::error::{Error, Result};
use crate::store::blobs::BlobStore;
use crate::store::tasks::{self, QueuedAction};
use crate::store::{self, Database};

/// Sends the pending actions until none is left, the head of the queue
/// waits out its backoff (an automatic run), or an error stops the run.
/// Strictly in order: an action that cannot go now holds back those taken
/// after it, since the server judges each against the case as the earlier
/// ones left it.
pub(crate) fn send_actions(
    db: &Database,
    blobs: &BlobStore,
    transport: &dyn Transport,
    trigger: Trigger,
    summary: &mut SyncSummary,
    run: &RunProgress,
) -> Result<()> {
    // Actions this run has already resent after `missing_photos`: a second
    // miss waits for the next run instead of looping.
    let mut retried_missing = HashSet::new();
    let mut pace = UploadPace::default();
    loop {
        run.check_cancelled()?;
        let Some(item) = db.read(tasks::next_pending_action)? else { return Ok(()) };
        if trigger == Trigger::Automatic && item.next_attempt_at > now_ms() {
            return Ok(());
        }
        let action_id = item.action.action_id.clone();
        if !upload_photos(db, blobs, transport, &item, &mut pace, summary, run)? {
            continue;
        }
        match transport.act(&item.action.report_id, &item.request) {
            Ok(ActOutcome::Taken(state)) => {
                db.write(|tx| tasks::mark_action_synced(tx, &action_id, &state, now_ms()))?;
                summary.actions_sent += 1;
            }
            Ok(ActOutcome::MissingPhotos(missing)) => {
                let again = !retried_missing.insert(action_id.clone());
                db.write(|tx| {
                    for sha in &missing {
                        store::set_photo_uploaded(tx, sha, false)?;
                    }
                    if again {
                        let reason = format!("server still misses {} photo(s)", missing.len());
                        tasks::mark_action_retry(tx, &action_id, &reason, now_ms() + backoff_ms(item.attempts))?;
                    }
                    Ok(())
                })?;
                if again {
                    // Those after it wait behind it, for the next run.
                    return Ok(());
                }
            }
            Ok(ActOutcome::Refused { message, status, .. }) => {
                db.write(|tx| {
                    tasks::mark_action_failed(tx, &action_id, &message, now_ms())?;
                    // The case moved on: show where it is now, until the next feed.
                    match status {
                        Some(status) => tasks::set_task_status(tx, &item.action.report_id, status),
                        None => Ok(()),
                    }
                })?;
                summary.actions_refused += 1;
            }
            Err(e) => return schedule_retry(db, &item, e),
        }
    }
}

/// Uploads the action's after-photos the server may lack. Answers whether
/// the action may be sent: false when a photo was refused for good (the
/// action is then failed with that reason).
fn upload_photos(
    db: &Database,
    blobs: &BlobStore,
    transport: &dyn Transport,
    item: &QueuedAction,
    pace: &mut UploadPace,
    summary: &mut SyncSummary,
    run: &RunProgress,
) -> Result<bool> {
    if item.action.photos.is_empty() {
        return Ok(true);
    }
    let wanted: Vec<&PhotoRef> = item.action.photos.iter().collect();
    let photos = upload::upload_photos(db, blobs, transport, &wanted, pace, summary, run);
    db.write(|tx| photos.on_server.iter().try_for_each(|sha| store::set_photo_uploaded(tx, sha, true)))?;
    if let Some(e) = photos.stopped_by {
        return schedule_retry(db, item, e).map(|()| false);
    }
    if let Some(refused) = item.action.photos.iter().find_map(|p| photos.refused.get(&p.sha256)) {
        db.write(|tx| tasks::mark_action_failed(tx, &item.action.action_id, &refused.to_string(), now_ms()))?;
        summary.actions_refused += 1;
        return Ok(false);
    }
    Ok(true)
}

/// An error that stops the run: a retryable one makes the action wait out
/// its backoff, with `e` as the reason the user sees; answers `e`.
fn schedule_retry(db: &Database, item: &QueuedAction, e: Error) -> Result<()> {
    if e.is_retryable() {
        let reason = e.to_string();
        db.write(|tx| tasks::mark_action_retry(tx, &item.action.action_id, &reason, now_ms() + backoff_ms(item.attempts)))?;
    }
    Err(e)
}
