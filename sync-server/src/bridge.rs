//! Blocking calls into async clients (the PostgreSQL pool, the S3 store).
//!
//! The storage and blob traits are blocking: the HTTP layer calls them on
//! tokio's blocking pool, and the command line from a plain thread. An
//! async client keeps its connections on the runtime that made them, so
//! each such backend owns a small runtime of its own and every call is
//! spawned there and waited for: that works from a blocking-pool thread, a
//! plain thread and a test alike, where `Handle::block_on` on the caller's
//! runtime would tie connections to whichever runtime asked first.

use std::future::Future;

use crate::error::{Error, Result};

pub struct Bridge {
    /// Always Some but while dropping.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Bridge {
    /// A runtime of two threads named after the backend.
    pub fn new(name: &str) -> Result<Bridge> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name(format!("suishoupai-{name}"))
            .enable_all()
            .build()
            .map_err(|e| Error::Internal(format!("cannot start the {name} runtime: {e}")))?;
        Ok(Bridge { runtime: Some(runtime) })
    }

    /// Runs `future` to its end on this runtime, blocking the caller, who
    /// must not be an async task (the blocking pool is fine).
    pub fn run<T: Send + 'static>(&self, future: impl Future<Output = T> + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.runtime.as_ref().expect("the runtime lives as long as the bridge").spawn(async move {
            let _ = tx.send(future.await);
        });
        rx.recv().expect("a task on the bridge's runtime runs to its end or panics the caller")
    }
}

impl Drop for Bridge {
    /// Without waiting: the bridge may be dropped inside an async task (the
    /// server's state, at shutdown), where a blocking shutdown panics.
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
