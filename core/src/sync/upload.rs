//! One round's photos (of reports, or of an action): one request asks where each stands, then several
//! go up at once, each resuming from the server's offset, paced by
//! [`super::pace::UploadPace`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::pace::{PhotoSent, UploadPace};
use super::transport::Transport;
use super::{RunProgress, stops_run};
use crate::SyncSummary;
use crate::domain::PhotoRef;
use crate::error::{Error, Result};
use crate::protocol::{MAX_CHUNK_BYTES, MAX_UPLOAD_BATCH, UploadCreate, UploadState};
use crate::store::blobs::{BlobKind, BlobStore};
use crate::store::{self, Database};

/// What became of the photos of one round.
#[derive(Default)]
pub(crate) struct BatchPhotos {
    /// Photos the server now has that this device did not know it had.
    pub on_server: Vec<String>,
    /// Photos refused for good (a bad photo, a rendition missing on disk).
    pub refused: HashMap<String, Error>,
    /// The error that ended the run, if one did (see [`stops_run`]).
    pub stopped_by: Option<Error>,
}

/// An upload to make: the photo and where the server's copy stands.
struct UploadJob {
    sha256: String,
    length: u64,
    offset: u64,
}

/// Uploads the photos of a round that the server does not have yet: one
/// request asks where each stands, then as many worker threads as `pace`
/// allows send the rest, each resuming from the server's offset. The
/// caller's thread gathers the results, lets `pace` (kept for the next
/// round) follow the link's speed, and polls for cancellation.
pub(crate) fn upload_photos(
    db: &Database,
    blobs: &BlobStore,
    transport: &dyn Transport,
    wanted: &[&PhotoRef],
    pace: &mut UploadPace,
    summary: &mut SyncSummary,
    run: &RunProgress,
) -> BatchPhotos {
    let mut photos = BatchPhotos::default();
    let jobs = match upload_jobs(db, transport, wanted, summary, &mut photos) {
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
                    let sent = upload_one(transport, blobs, job, stop);
                    // The network or the server is down: this worker takes
                    // no further photo (the next would fail too) before the
                    // caller's thread even hears of it.
                    if sent.result.as_ref().is_err_and(stops_run) {
                        stop.store(true, Ordering::Relaxed);
                    }
                    if results.send((job, sent)).is_err() {
                        break;
                    }
                }
            });
        };
        // `pace` is what the link has earned; `running` the workers alive.
        let most = transport.parallel_uploads().max(1);
        let mut running = pace.in_flight().min(most).min(jobs.len());
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
                if let Err(e) = run.check_cancelled() {
                    stop.store(true, Ordering::Relaxed);
                    photos.stopped_by.get_or_insert(e);
                }
                continue;
            };
            received += 1;
            summary.uploaded_bytes += sent.photo.bytes;
            let in_flight = pace.photo_done(sent.photo).min(most);
            if running > in_flight {
                retire.fetch_add(1, Ordering::Relaxed);
                running -= 1;
            } else if running < in_flight && next.load(Ordering::Relaxed) < jobs.len() {
                spawn_worker();
                running += 1;
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
    });
    photos
}

/// The photos of a round still to send, after asking the server in one
/// request where each stands. Photos it has already count as skipped bytes.
fn upload_jobs(
    db: &Database,
    transport: &dyn Transport,
    round: &[&PhotoRef],
    summary: &mut SyncSummary,
    photos: &mut BatchPhotos,
) -> Result<Vec<UploadJob>> {
    let mut wanted: Vec<UploadCreate> = Vec::new();
    db.read(|tx| {
        for photo in round {
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
        match transport.create_uploads(asked.to_vec()) {
            Ok(answered) => states.extend(answered.into_iter().map(Ok)),
            // One photo the server will not take (a 400 or 413 names it) must
            // not hold back the others: ask about each alone.
            Err(e) if !stops_run(&e) => {
                states.extend(asked.iter().map(|w| transport.create_uploads(vec![w.clone()]).map(|mut s| s.remove(0))))
            }
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
    photo: PhotoSent,
    result: Result<()>,
}

/// Sends one photo from `job.offset` in chunks, until the server has it
/// all or `stop` is set.
fn upload_one(transport: &dyn Transport, blobs: &BlobStore, job: &UploadJob, stop: &AtomicBool) -> Sent {
    let started = Instant::now();
    let mut photo = PhotoSent { bytes: 0, took: Duration::ZERO, slowest_chunk: Duration::ZERO, succeeded: false };
    let result = send_chunks(transport, blobs, job, stop, &mut photo);
    photo.took = started.elapsed();
    photo.succeeded = result.is_ok();
    Sent { photo, result }
}

fn send_chunks(transport: &dyn Transport, blobs: &BlobStore, job: &UploadJob, stop: &AtomicBool, sent: &mut PhotoSent) -> Result<()> {
    let bytes = bytes::Bytes::from(blobs.read(BlobKind::Rendition, &job.sha256)?);
    if bytes.len() as u64 != job.length {
        let detail = format!("is {} bytes, the report says {}", bytes.len(), job.length);
        return Err(Error::InvalidInput(format!("the photo {} {detail}", job.sha256)));
    }
    let (mut offset, mut conflicts) = (job.offset, 0);
    while offset < job.length {
        if stop.load(Ordering::Relaxed) {
            return Err(Error::Cancelled);
        }
        let end = (offset + MAX_CHUNK_BYTES).min(job.length);
        let chunk_started = Instant::now();
        match transport.patch_upload(&job.sha256, offset, bytes.slice(offset as usize..end as usize)) {
            Ok(new_offset) => {
                sent.bytes += end - offset;
                sent.slowest_chunk = sent.slowest_chunk.max(chunk_started.elapsed());
                offset = new_offset;
            }
            // Someone else (our killed predecessor, a second device) moved
            // the offset: ask where it stands and go on from there.
            Err(Error::ServerRefused { status: 409, .. }) if conflicts < 3 => {
                conflicts += 1;
                offset = transport.upload_offset(&job.sha256)?;
            }
            // The server gave the upload up (untouched for a day, or the
            // server was restored): start it again.
            Err(Error::ServerRefused { status: 404, .. }) if conflicts < 3 => {
                conflicts += 1;
                let state = transport.create_uploads(vec![UploadCreate { sha256: job.sha256.clone(), length: job.length }])?.remove(0);
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
