//! The sync server of suishoupai (随手拍): takes photos and report batches
//! from devices, keeps them durably, and serves coordinators, grid workers
//! and departments through a read API and a workflow of status changes.
//!
//! Layers, each calling only those below it:
//!
//! ```text
//! http (handlers, router, connections) ─→ services (the protocol's decisions)
//!    │                                        │        │
//!    └──────→ auth (tokens, permission rules) ←┘        ↓
//!                                         storage (rows) · blobs (bytes)
//! ```
//!
//! `model` (users, roles, scopes), `metrics` (the counters of `/metrics`), `views` (what goes over the wire),
//! `state` (what requests share), `clock` and `error` are used across them;
//! none of them calls up. Storage returns its own error type and knows no
//! HTTP; services know no axum type.

pub mod auth;
pub mod backends;
pub mod blobs;
pub mod bridge;
pub mod clock;
pub mod error;
pub mod http;
pub mod metrics;
pub mod model;
pub mod services;
pub mod state;
pub mod storage;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod views;

use std::io::Write;
use std::path::Path;

pub use crate::backends::Backends;
use crate::blobs::fs::FsBlobs;
pub use crate::error::{Error, Result};
pub use crate::http::serve::ConnectionLimits;
use crate::services::housekeeping;
pub use crate::state::{AppState, Settings};
use crate::storage::sqlite::SqliteStorage;

/// Opens the data directory: `server.sqlite3` and `photos/`.
pub fn open(data: &Path, settings: Settings) -> Result<AppState> {
    open_with(data, &Backends::local(data), settings)
}

/// Opens the server's database and photo store, wherever they are.
pub fn open_with(data: &Path, backends: &Backends, settings: Settings) -> Result<AppState> {
    Ok(AppState::new(backends.storage(data)?, backends.blobs(true)?, settings))
}

/// Backs up the data directory `data` into `out` while it is served: the
/// database as of one moment, then every photo it names (see
/// [`services::backup`]). `out` becomes a data directory that `serve` can
/// open; a second backup into it copies only the photos it lacks.
pub fn backup(data: &Path, out: &Path) -> Result<services::backup::Copied> {
    if same_directory(data, out) {
        return Err(Error::BadRequest("the backup must go to another directory than the data".into()));
    }
    let storage = SqliteStorage::open(data)?;
    let blobs = FsBlobs::open(&data.join("photos"))?;
    storage::Storage::backup_into(&storage, out)?;
    let copy = SqliteStorage::open(out)?;
    services::backup::copy_photos(&copy, &blobs, &FsBlobs::open(&out.join("photos"))?, false)
}

/// Restores the backup `from` into `data`, which must hold no database:
/// the database as it was (then upgraded if the backup is older), every
/// photo checked against its name. A restore that fails leaves no database
/// behind, so that it can be run again.
pub fn restore(from: &Path, data: &Path) -> Result<services::backup::Copied> {
    let database = data.join(storage::sqlite::DATABASE_FILE);
    if database.exists() {
        return Err(Error::BadRequest(format!("{} already holds a database; restore into an empty data directory", data.display())));
    }
    storage::sqlite::copy_database(&storage::sqlite::open_for_copy(from)?, data)?;
    let restored = (|| {
        let storage = SqliteStorage::open(data)?;
        services::backup::copy_photos(&storage, &FsBlobs::open(&from.join("photos"))?, &FsBlobs::open(&data.join("photos"))?, true)
    })();
    if restored.is_err() {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(data.join(format!("{}{suffix}", storage::sqlite::DATABASE_FILE)));
        }
    }
    restored
}

fn same_directory(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// How `serve` runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: String,
    pub settings: Settings,
    pub connections: ConnectionLimits,
    pub backends: Backends,
}

/// Serves until SIGINT or SIGTERM. Prints `listening on http://IP:PORT` once
/// the socket is bound, so that a caller who asked for port 0 learns the port.
pub async fn serve(data: &Path, options: ServeOptions) -> Result<()> {
    // Opening PostgreSQL blocks on a runtime of its own (connecting and
    // migrating), which tokio forbids on an async worker thread unless
    // that thread is first handed over to blocking work.
    let state = tokio::task::block_in_place(|| open_with(data, &options.backends, options.settings))?;
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
            "{kept}\n\
         the console:     http://{addr}/  (staff sign in with a password set by\n\
         \x20                `suishoupai-server --data {data} user set-password NAME`, one line on stdin)\n\
         add a user:      suishoupai-server --data {data} user add --name NAME --role resident|grid_worker|department|coordinator|admin [--grid ID] [--department ID] --json\n\
         point a device:  suishoupai --data DEVICE_DIR login --server http://{addr} --token TOKEN\n\
         \x20                then:  suishoupai --data DEVICE_DIR sync",
            data = data.display(),
            kept = options.backends.describe(data),
        );
    }
    let sweeping = tokio::spawn(housekeeping::keep_sweeping(state.clone()));
    let auth = tokio::spawn(housekeeping::keep_auth_fresh(state.clone()));
    http::serve::serve(listener, http::router(state), options.connections, shutdown_signal()).await;
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
