//! A real S3-compatible server for tests: PyPI's `moto[server]`, which
//! enforces conditional writes (`If-None-Match: *`) as S3 does. One server
//! per test process, started on a free loopback port the first time a test
//! asks; each test gets a bucket of its own. The README's test command
//! installs moto; a machine without it fails here, loudly, rather than
//! skipping the tests.

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::blobs::s3::S3Location;

/// Access keys moto accepts (it checks none); set on the server processes
/// the tests start, as AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
pub const ACCESS_KEY: &str = "suishoupai-test";
pub const SECRET_KEY: &str = "suishoupai-test-secret";

pub struct S3Server {
    pub endpoint: String,
}

/// The server's process id, for [`stop_at_exit`].
static PID: OnceLock<u32> = OnceLock::new();

/// Statics are never dropped: the server is stopped as the process exits.
extern "C" fn stop_at_exit() {
    if let Some(pid) = PID.get() {
        // SAFETY: kill(2) on a child this process started.
        unsafe { libc::kill(*pid as libc::pid_t, libc::SIGKILL) };
    }
}

/// The process's S3 server, started on first use.
pub fn server() -> &'static S3Server {
    static SERVER: OnceLock<S3Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        // As a module: pip's console script may not be on PATH yet (pyenv's shims).
        // Never waited for: it lives as long as the test process, which
        // kills it as it exits (`stop_at_exit`).
        #[allow(clippy::zombie_processes)]
        let child = Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server runs (pip install 'moto[server]'; the README's test command does)");
        let endpoint = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(30), "moto_server did not listen on {endpoint} within 30 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = PID.set(child.id());
        // SAFETY: `stop_at_exit` is an `extern "C" fn()` that only reads a static.
        unsafe { libc::atexit(stop_at_exit) };
        S3Server { endpoint }
    })
}

/// A fresh, empty bucket on the process's S3 server.
pub fn bucket() -> S3Location {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let server = server();
    let bucket = format!("test-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
    let made = super::client().put(format!("{}/{bucket}", server.endpoint)).send().expect("the S3 server answers").status();
    assert!(made.is_success(), "creating bucket {bucket}: {made}");
    S3Location { bucket, endpoint: Some(server.endpoint.clone()), credentials: Some((ACCESS_KEY.into(), SECRET_KEY.into())) }
}
