//! Backoff for what may go through later: a network error, a server error,
//! a photo the server still lacks.

use crate::error::{Error, Result};
use crate::store::{self, Database, OutboxItem};

/// Backoff after a retryable failure: 2^attempts seconds, at most an hour.
const MAX_BACKOFF_MS: i64 = 3_600_000;

/// Now by the device's clock (see [`crate::clock`]).
pub(crate) fn now_ms() -> i64 {
    crate::clock::now_ms()
}

/// How long to wait after the `attempts`-th failure in a row.
pub(crate) fn backoff_ms(attempts: u32) -> i64 {
    // A little jitter from the clock, so that a street's worth of phones
    // coming back online at once do not retry in lockstep.
    let base = 1000i64.saturating_mul(1 << attempts.min(22)).min(MAX_BACKOFF_MS);
    base + (now_ms() % 1000)
}

/// A retryable failure: the items still queued wait out their backoff, with
/// `e` as the reason the user sees; answers `e` to stop the run.
pub(crate) fn schedule_retry(db: &Database, items: &[&OutboxItem], e: Error) -> Result<()> {
    let reason = e.to_string();
    db.write(|tx| {
        for item in items {
            // Only items still queued: some of the batch may have gone through.
            if store::is_queued(tx, &item.report.id)? {
                store::mark_retry(tx, &item.report.id, &reason, now_ms() + backoff_ms(item.attempts))?;
            }
        }
        Ok(())
    })?;
    Err(e)
}
