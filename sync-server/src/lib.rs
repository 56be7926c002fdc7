//! The sync server of suishoupai (随手拍): takes photos and report batches
//! from devices, keeps them durably, and serves coordinators, grid workers
//! and departments through a read API and a workflow of status changes.
//!
//! Layers: `api` (HTTP handlers) asks `auth` who may do what, then calls
//! `uploads` and `rules` for the protocol's decisions and `storage` (rows)
//! and `blobs` (bytes), both behind traits. `serve` owns the socket and its
//! connections; `housekeeping` what runs beside the requests.

pub mod api;
pub mod app;
pub mod auth;
pub mod blobs;
pub mod error;
pub mod housekeeping;
pub mod rules;
pub mod serve;
pub mod storage;
pub mod uploads;

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

pub use crate::app::{AppState, Settings};
use crate::blobs::fs::FsBlobs;
pub use crate::error::{Error, Result};
pub use crate::serve::ConnectionLimits;
use crate::storage::sqlite::SqliteStorage;

/// Opens the data directory: `server.sqlite3` and `photos/`.
pub fn open(data: &Path, settings: Settings) -> Result<AppState> {
    let storage = SqliteStorage::open(data)?;
    let blobs = FsBlobs::open(&data.join("photos"))?;
    Ok(AppState::new(Arc::new(storage), Arc::new(blobs), settings))
}

/// How `serve` runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: String,
    pub settings: Settings,
    pub connections: ConnectionLimits,
}

/// Serves until SIGINT or SIGTERM. Prints `listening on http://IP:PORT` once
/// the socket is bound, so that a caller who asked for port 0 learns the port.
pub async fn serve(data: &Path, options: ServeOptions) -> Result<()> {
    let state = open(data, options.settings)?;
    // Uploads abandoned while the server was down go before it serves.
    housekeeping::sweep_uploads(&state).await?;
    let listen = &options.listen;
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
    let sweeping = tokio::spawn(housekeeping::keep_sweeping(state.clone()));
    let auth = tokio::spawn(housekeeping::keep_auth_fresh(state.clone()));
    serve::serve(listener, app::router(state), options.connections, shutdown_signal()).await;
    sweeping.abort();
    auth.abort();
    Ok(())
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
