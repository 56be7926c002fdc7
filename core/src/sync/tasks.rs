//! The task feed: who the user is and the cases they may act on, replacing
//! the device's task list (but for the cases it keeps for its own actions),
//! and the thumbnails of their photos, fetched once each.

use super::retry::now_ms;
use super::transport::Transport;
use super::{RunProgress, stops_run};
use crate::SyncSummary;
use crate::domain::task::KEEP_ACTED_ON_MS;
use crate::error::{Error, Result};
use crate::photo::format::{self, Format};
use crate::store::blobs::{BlobKind, BlobStore};
use crate::store::{Database, tasks};

/// Fetches the feed, replaces the task list in one transaction, then
/// fetches the thumbnails the device does not hold yet.
pub(crate) fn pull_tasks(
    db: &Database,
    blobs: &BlobStore,
    transport: &dyn Transport,
    summary: &mut SyncSummary,
    run: &RunProgress,
) -> Result<()> {
    run.check_cancelled()?;
    let feed = transport.tasks()?;
    let now = now_ms();
    let gone = db.write(|tx| tasks::replace_tasks(tx, &feed.me, &feed.tasks, now, now - KEEP_ACTED_ON_MS))?;
    for sha in gone {
        // Best effort: a file left behind is only wasted space.
        let _ = std::fs::remove_file(blobs.path(BlobKind::Thumbnail, &sha));
    }
    summary.tasks = db.read(|tx| Ok(tasks::list_tasks(tx)?.len() as u64))?;
    for sha in db.read(tasks::thumbnails_wanted)? {
        run.check_cancelled()?;
        let bytes = match transport.thumbnail(&sha).and_then(|bytes| check_thumbnail(&sha, bytes)) {
            Ok(bytes) => bytes,
            Err(e) if stops_run(&e) => return Err(e),
            // One photo the server will not give (gone, not this user's,
            // not a JPEG) must not hold back the others: the next sync asks again.
            Err(_) => continue,
        };
        blobs.put(BlobKind::Thumbnail, &sha, &bytes)?;
        db.write(|tx| tasks::insert_task_thumbnail(tx, &sha, bytes.len() as u64))?;
    }
    Ok(())
}

/// A thumbnail is a JPEG of sane size; anything else is not stored.
fn check_thumbnail(sha256: &str, bytes: Vec<u8>) -> Result<Vec<u8>> {
    let header = format::read_header(&bytes)?;
    if header.format != Format::Jpeg {
        return Err(Error::UnsupportedFormat(format!("the thumbnail of {sha256} is not a JPEG")));
    }
    Ok(bytes)
}
