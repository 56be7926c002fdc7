//! The sync server of suishoupai (随手拍): takes photos and report batches
//! from devices, keeps them durably, and serves coordinators, grid workers
//! and departments through a read API and a workflow of status changes.
//!
//! Layers, each calling only the next: `api` (HTTP) → `auth` (who may do
//! what) → `storage` (rows) and `blobs` (bytes), both behind traits.

pub mod api;
pub mod app;
pub mod auth;
pub mod blobs;
pub mod error;
pub mod rules;
pub mod storage;
pub mod uploads;

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use crate::app::AppState;
use crate::blobs::fs::FsBlobs;
pub use crate::error::{Error, Result};
use crate::storage::sqlite::SqliteStorage;

/// Opens the data directory: `server.sqlite3` and `photos/`.
pub fn open(data: &Path) -> Result<AppState> {
    let storage = SqliteStorage::open(data)?;
    let blobs = FsBlobs::open(&data.join("photos"))?;
    Ok(AppState::new(Arc::new(storage), Arc::new(blobs)))
}

/// Serves until SIGINT or SIGTERM. Prints `listening on http://IP:PORT` once
/// the socket is bound, so that a caller who asked for port 0 learns the port.
pub async fn serve(data: &Path, listen: &str) -> Result<()> {
    let state = open(data)?;
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| Error::Internal(format!("cannot listen on {listen}: {e}")))?;
    let addr = listener.local_addr().map_err(|e| Error::Internal(format!("no local address: {e}")))?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on http://{addr}").and_then(|_| stdout.flush()).ok();
    drop(stdout);
    // For the person who just started it: what to do next (stderr, so that
    // stdout's first line stays the one machine-readable line).
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        eprintln!(
            "data in {data} (SQLite and photo files)\n\
         add a user:      suishoupai-server --data {data} user add --name NAME --role resident|grid_worker|department|coordinator|admin [--grid ID] [--department ID] --json\n\
         point a device:  suishoupai --data DEVICE_DIR login --server http://{addr} --token TOKEN\n\
         \x20                then:  suishoupai --data DEVICE_DIR sync",
            data = data.display()
        );
    }
    // Answers go out whole at once: without TCP_NODELAY a response written
    // in two parts waits for the client's delayed ACK.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app::router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| Error::Internal(format!("server failed: {e}")))
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    interrupt.await.ok();
}
