//! The gauges of `GET /metrics`, read from storage when scraped.

use crate::error::Result;
use crate::services::stats::is_overdue;
use crate::storage::{self, Storage};

/// Uploads begun and not complete, and cases overdue at `now_ms`.
pub fn gauges(storage: &dyn Storage, now_ms: i64) -> Result<(u64, u64)> {
    storage::read(storage, |tx| {
        let open_uploads = tx.upload_keys()?.len() as u64;
        // The window [now, now) holds no action: what comes back is what
        // is open with a deadline before now, and perhaps a little more.
        let overdue = tx.case_histories_within(now_ms, now_ms, now_ms)?.iter().filter(|c| is_overdue(c, now_ms)).count() as u64;
        Ok((open_uploads, overdue))
    })
}
