//! Pulling the changes feed, page by page.

use super::transport::Transport;
use super::{RunProgress, SETTING_CURSOR};
use crate::SyncSummary;
use crate::error::Result;
use crate::store::{self, Database};

const PULL_PAGE: u32 = 200;

/// Pulls pages of changes until the server has no more. The cursor is saved
/// in the same transaction as the page it follows.
pub(crate) fn pull_all(db: &Database, transport: &dyn Transport, summary: &mut SyncSummary, run: &RunProgress) -> Result<()> {
    loop {
        run.check_cancelled()?;
        let cursor = db.read(|tx| store::setting(tx, SETTING_CURSOR))?;
        let page = transport.changes(cursor.as_deref(), PULL_PAGE)?;
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
