//! What the server does on its own while it runs: forgets uploads nobody
//! finishes, and notices changes to users and tokens made elsewhere (the
//! CLI beside it, another server process).

use std::time::Duration;

use suishoupai_core::protocol::UPLOAD_EXPIRY_SECS;

use crate::clock::now_ms;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::storage;

/// How often abandoned uploads are looked for.
pub const SWEEP_EVERY: Duration = Duration::from_secs(600);
/// How often the auth version is read: a revoked token stops working
/// within this (plus a request's own time).
pub const AUTH_POLL_EVERY: Duration = Duration::from_millis(250);

/// Removes uploads untouched for [`UPLOAD_EXPIRY_SECS`] with their partial
/// bytes, and partial files that no upload owns (left by a crash between
/// the two, or by an older layout). Answers how many uploads went.
pub async fn sweep_uploads(app: &AppState) -> Result<usize> {
    let cutoff = now_ms() - UPLOAD_EXPIRY_SECS as i64 * 1000;
    let expired = app.db(move |s| storage::write(s, |tx| Ok::<_, Error>(tx.expire_uploads(cutoff)?))).await?;
    for key in &expired {
        // A PATCH of this upload may be writing its chunk right now; after
        // it, it finds no upload and fails, and the partial goes here.
        let _held = app.upload_locks.hold(key).await;
        let key = key.clone();
        app.blob(move |b| b.discard_partial(&key)).await?;
    }
    let (owned, held) = tokio::try_join!(app.db(|s| storage::read(s, |tx| Ok(tx.upload_keys()?))), app.blob(|b| b.partials()))?;
    let owned: std::collections::HashSet<_> = owned.into_iter().collect();
    for key in held.into_iter().filter(|key| !owned.contains(key)) {
        let _held = app.upload_locks.hold(&key).await;
        // Looked up again under the lock: the upload may have started meanwhile.
        let lookup = key.clone();
        if app.db(move |s| storage::read(s, |tx| Ok(tx.upload(&lookup)?))).await?.is_none() {
            app.blob(move |b| b.discard_partial(&key)).await?;
        }
    }
    Ok(expired.len())
}

/// Runs [`sweep_uploads`] now and every [`SWEEP_EVERY`], for ever.
pub async fn keep_sweeping(app: AppState) {
    let mut every = tokio::time::interval(SWEEP_EVERY);
    loop {
        every.tick().await;
        if let Err(e) = sweep_uploads(&app).await {
            tracing::error!(detail = %e, "sweeping abandoned uploads");
        }
    }
}

/// Reads the auth version every [`AUTH_POLL_EVERY`] and hands it to the
/// user cache, which empties itself when it moved. Until the first read
/// succeeds the cache stays off, so a stale user is never served.
pub async fn keep_auth_fresh(app: AppState) {
    let mut every = tokio::time::interval(AUTH_POLL_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        match app.db(|s| storage::read(s, |tx| Ok(tx.auth_version()?))).await {
            Ok(version) => app.known_users.refresh(version),
            Err(e) => {
                app.known_users.forget();
                tracing::error!(detail = %e, "reading the auth version");
            }
        }
    }
}
