//! The listening socket and its connections: what keeps one client, or
//! twenty thousand idle ones, from taking the server down.
//!
//! - **Connections are capped**, in all and per client address (per /64 for
//!   IPv6, which a single host holds whole). A connection past a cap is
//!   closed as soon as it is accepted, so the backlog never fills and a
//!   client from elsewhere is still answered.
//! - **Header-read and keep-alive timeout**: hyper's header timer starts
//!   whenever a connection is ready for a request, so it closes both a
//!   connection dribbling its headers and one left idle between requests.
//! - **Body-read timeout**: see [`super::BODY_READ_TIMEOUT`].
//! - **Write stall timeout**: a client that stops reading its answer (a
//!   photo, say) is dropped once nothing has moved for a minute.
//! - **Shutdown**: SIGTERM stops accepting, lets the requests under way
//!   finish and closes idle connections; whatever is left after
//!   [`SHUTDOWN_GRACE`] is dropped, so no client can keep the server up.
//! - **JSON even for requests hyper cannot parse**: hyper answers those
//!   (400, 414, 431) itself, with an empty body, before any handler runs;
//!   [`Guarded`] rewrites that answer into the JSON error every other
//!   answer is.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Sleep;
use tower::Service;

use suishoupai_core::protocol::ErrorBody;

/// How long a client may take to send a request's headers, counted from
/// when the connection is ready for one: also how long an idle keep-alive
/// connection is kept. Headers are a few hundred bytes; on 2G they take well
/// under a second.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(15);
/// How long an answer may wait for a client that reads nothing of it.
pub const WRITE_STALL_TIMEOUT: Duration = Duration::from_secs(60);
/// How long, after SIGTERM, requests under way have to finish.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// The largest request head (request line and headers) taken.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// The most header fields a request may have (hyper's default).
pub const MAX_HEADERS: usize = 100;

/// Caps on open connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    /// Per client address. Phones behind one carrier NAT share an address,
    /// and a syncing phone opens up to 17 connections (16 photos in flight
    /// and a push), so this is generous.
    pub max_per_address: usize,
}

impl ConnectionLimits {
    /// 4096 in all (fewer if the open-file limit is lower: some files are
    /// kept for the database and photos), 512 per address.
    pub fn default_for_this_process() -> ConnectionLimits {
        let files = raise_open_file_limit();
        ConnectionLimits { max_connections: 4096.min(files.saturating_sub(256) as usize).max(16), max_per_address: 512 }
    }
}

/// Raises the soft open-file limit to the hard one (many systems start
/// servers with 1024); answers the limit in force.
fn raise_open_file_limit() -> u64 {
    // SAFETY: getrlimit and setrlimit only read and write the struct given.
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1024;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                return raised.rlim_cur as u64;
            }
        }
        limit.rlim_cur as u64
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then drains
/// (see the module's note).
pub async fn serve(listener: TcpListener, router: Router, limits: ConnectionLimits, shutdown: impl Future<Output = ()>) {
    let admission = Arc::new(Admission { limits, open: Mutex::default() });
    let (closing, closing_seen) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            // Reap finished connections so that the set does not grow.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let (tcp, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors (or a connection reset
                        // before it was accepted): wait a moment rather
                        // than spin on the same error.
                        if !matches!(e.kind(), io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset) {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                        continue;
                    }
                };
                let Some(admitted) = admission.admit(peer.ip()) else {
                    drop(tcp);
                    continue;
                };
                let _ = tcp.set_nodelay(true);
                connections.spawn(connection(tcp, peer, router.clone(), admitted, closing_seen.clone()));
            }
        }
    }
    drop(listener);
    let _ = closing.send(true);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async { while connections.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(dropped = connections.len(), "shutting down: connections still open after the grace period are dropped");
    }
    connections.abort_all();
}

async fn connection(tcp: TcpStream, peer: SocketAddr, router: Router, _admitted: Admitted, mut closing: watch::Receiver<bool>) {
    // Handlers may ask for the client's address (`ConnectInfo`).
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let mut router = router.clone();
        async move { router.call(request.map(axum::body::Body::new)).await }
    });
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT).max_header_size(MAX_HEAD_BYTES).max_headers(MAX_HEADERS);
    let conn = builder.serve_connection(TokioIo::new(Guarded::new(tcp)), service);
    tokio::pin!(conn);
    let closed = async move {
        while !*closing.borrow_and_update() {
            if closing.changed().await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = closed => {
            // Finish the request under way, if any, then close.
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// Counts open connections, in all and per address.
struct Admission {
    limits: ConnectionLimits,
    open: Mutex<Open>,
}

#[derive(Default)]
struct Open {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

/// One admitted connection; dropping it frees its place.
struct Admitted {
    admission: Arc<Admission>,
    address: IpAddr,
}

/// The address a cap counts by: IPv4 as it is (also when mapped into
/// IPv6), IPv6 by its /64, which one host or one home holds whole.
fn counted_address(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

impl Admission {
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Admitted> {
        let address = counted_address(ip);
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if open.total >= self.limits.max_connections {
            return None;
        }
        let from_address = open.by_address.entry(address).or_default();
        if *from_address >= self.limits.max_per_address {
            return None;
        }
        *from_address += 1;
        open.total += 1;
        Some(Admitted { admission: self.clone(), address })
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = self.admission.open.lock().unwrap_or_else(|p| p.into_inner());
        open.total -= 1;
        if let Some(count) = open.by_address.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                open.by_address.remove(&self.address);
            }
        }
    }
}

/// The TCP stream as hyper sees it: writes that stall too long fail, and
/// hyper's own bare error answers are rewritten as JSON.
pub struct Guarded {
    tcp: TcpStream,
    /// Set while a write waits on a full socket buffer.
    stall: Option<Pin<Box<Sleep>>>,
    /// A rewritten answer still to be written, and how much of it is.
    rewritten: Vec<u8>,
    written: usize,
}

impl Guarded {
    pub fn new(tcp: TcpStream) -> Guarded {
        Guarded { tcp, stall: None, rewritten: Vec::new(), written: 0 }
    }

    /// Pending until the socket takes more, failing once it has taken
    /// nothing for [`WRITE_STALL_TIMEOUT`].
    fn stalled(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        let stall = self.stall.get_or_insert_with(|| Box::pin(tokio::time::sleep(WRITE_STALL_TIMEOUT)));
        ready!(stall.as_mut().poll(cx));
        Poll::Ready(io::Error::new(io::ErrorKind::TimedOut, "the client read nothing of the answer for too long"))
    }

    fn poll_tcp_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.tcp).poll_write(cx, buf) {
            Poll::Ready(result) => {
                self.stall = None;
                Poll::Ready(result)
            }
            Poll::Pending => self.stalled(cx).map(Err),
        }
    }

    /// Writes what is left of a rewritten answer.
    fn poll_rewritten(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.rewritten.len() {
            let rest = std::mem::take(&mut self.rewritten);
            let result = self.poll_tcp_write(cx, &rest[self.written..]);
            self.rewritten = rest;
            match ready!(result) {
                Ok(0) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Ok(n) => self.written += n,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for Guarded {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_rewritten(cx))?;
        if let Some(status) = bare_error_answer(buf) {
            this.rewritten = json_error_answer(status);
            this.written = 0;
            // Taken whole: the rest goes out with the next write or flush.
            return Poll::Ready(Ok(buf.len()));
        }
        this.poll_tcp_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_rewritten(cx))?;
        Pin::new(&mut this.tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_rewritten(cx))?;
        Pin::new(&mut this.tcp).poll_shutdown(cx)
    }

    // Answers come in one buffer, head and body together, so that a bare
    // error answer of hyper's is recognised whole (see `bare_error_answer`).
    fn is_write_vectored(&self) -> bool {
        false
    }
}

/// The status of an answer hyper wrote by itself for a request it could not
/// parse: `HTTP/1.1 4xx|5xx`, `connection: close`, `content-length: 0`, no
/// content type, nothing after the head. Every answer of the router that is
/// an error carries a JSON body with its content type (see
/// [`super::router`]), so it never looks like this.
fn bare_error_answer(buf: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(buf).ok()?;
    let status: u16 = text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()?;
    let lower = text.to_ascii_lowercase();
    let bare = (400..600).contains(&status)
        && lower.ends_with("\r\n\r\n")
        && lower.contains("\r\nconnection: close\r\n")
        && lower.contains("\r\ncontent-length: 0\r\n")
        && !lower.contains("\r\ncontent-type:");
    bare.then_some(status)
}

/// The JSON answer for a request hyper could not parse, closing the connection.
fn json_error_answer(status: u16) -> Vec<u8> {
    let (code, message) = match status {
        414 => ("uri_too_long", "the request's URI is longer than the server takes".to_owned()),
        431 => (
            "headers_too_large",
            format!("the request's headers are larger than the server takes (at most {MAX_HEADERS} fields and {MAX_HEAD_BYTES} bytes)"),
        ),
        _ => ("bad_request", "the request is not valid HTTP/1.1: its request line or a header is malformed".to_owned()),
    };
    let reason = axum::http::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Bad Request");
    let body = serde_json::to_string(&ErrorBody { error: code.to_owned(), message }).expect("an error body serialises");
    format!(
        "HTTP/1.1 {status} {reason}\r\nconnection: close\r\ncontent-type: application/json\r\nx-content-type-options: nosniff\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hypers_bare_answers_are_recognised_and_ours_are_not() {
        let bare = b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\ndate: Wed, 02 Dec 2026 08:20:00 GMT\r\n\r\n";
        assert_eq!(bare_error_answer(bare), Some(431));
        let ours = b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(bare_error_answer(ours), None);
        let ok = b"HTTP/1.1 204 No Content\r\nconnection: close\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(bare_error_answer(ok), None);
        let with_body = b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n{}";
        assert_eq!(bare_error_answer(with_body), None);
    }

    #[test]
    fn rewritten_answers_are_json_with_a_correct_length() {
        let answer = String::from_utf8(json_error_answer(414)).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 414 URI Too Long\r\n"));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let parsed: ErrorBody = serde_json::from_str(body).unwrap();
        assert_eq!(parsed.error, "uri_too_long");
    }

    #[test]
    fn caps_count_by_address_and_in_all() {
        let admission = Arc::new(Admission { limits: ConnectionLimits { max_connections: 3, max_per_address: 2 }, open: Mutex::default() });
        let a: IpAddr = "127.0.0.2".parse().unwrap();
        let b: IpAddr = "::ffff:127.0.0.3".parse().unwrap();
        let first = admission.admit(a).unwrap();
        let _second = admission.admit(a).unwrap();
        assert!(admission.admit(a).is_none(), "per address");
        let _third = admission.admit(b).unwrap();
        assert!(admission.admit("10.0.0.1".parse().unwrap()).is_none(), "in all");
        drop(first);
        assert!(admission.admit(a).is_some(), "a closed connection frees its place");
        // One IPv6 /64 counts as one address.
        assert_eq!(counted_address("2001:db8::1".parse().unwrap()), counted_address("2001:db8::ffff:2".parse().unwrap()));
    }
}
