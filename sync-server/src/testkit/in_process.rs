//! The server in this process, without a socket: the real router, handlers,
//! services, SQLite storage and photo files of a data directory, one request
//! at a time on a runtime of its own. For the deterministic simulation of
//! `tests/src/sim`, which must decide the fate of every request itself (and
//! cannot leave that to a kernel's sockets), and which crashes the server by
//! dropping it and opening the directory again.

use std::path::{Path, PathBuf};

use axum::body::Body;
pub use axum::http::Method;
use axum::http::Request;
use tower::ServiceExt;

use crate::services::housekeeping;
use crate::state::{AppState, Settings};

pub struct InProcess {
    dir: PathBuf,
    state: AppState,
    router: axum::Router,
    runtime: tokio::runtime::Runtime,
}

/// An answer as a client reads it.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

impl InProcess {
    /// Opens the data directory as `serve` does (storage, photos, then the
    /// sweep of uploads abandoned while the server was down).
    pub fn open(dir: &Path, settings: Settings) -> crate::Result<InProcess> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| crate::Error::Internal(format!("no runtime: {e}")))?;
        let state = crate::open(dir, settings)?;
        runtime.block_on(housekeeping::sweep_uploads(&state))?;
        let router = crate::http::router(state.clone());
        Ok(InProcess { dir: dir.to_owned(), state, router, runtime })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// One request through the router, as `serve` would take it off a socket.
    pub fn call(&self, method: Method, path: &str, token: Option<&str>, headers: &[(&str, String)], body: Vec<u8>) -> Answer {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let request = request.body(Body::from(body)).expect("a request the caller built");
        self.runtime.block_on(async {
            let answer = self.router.clone().oneshot(request).await.expect("the router never fails");
            let status = answer.status().as_u16();
            let headers =
                answer.headers().iter().map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect();
            let body = axum::body::to_bytes(answer.into_body(), usize::MAX).await.map(|b| b.to_vec()).unwrap_or_default();
            Answer { status, headers, body }
        })
    }

    /// A storage call, as a service runs it.
    pub fn db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn crate::storage::Storage) -> crate::Result<T> + Send + 'static,
    ) -> crate::Result<T> {
        self.runtime.block_on(self.state.db(f))
    }
}
