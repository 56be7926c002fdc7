//! A TCP proxy that misbehaves on purpose, standing between a device and the
//! server: it cuts connections after a random number of bytes and delays
//! traffic, the way a weak mobile link does. Its upstream can be changed
//! while it runs, so that the server behind it can be restarted.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct Faults {
    /// Chance (0..=1) that a connection is cut at a random byte offset.
    pub cut_probability: f64,
    /// The cut falls within this many bytes of the connection's start.
    pub cut_within_bytes: u64,
    /// Delay added before each forwarded read, in milliseconds.
    pub delay_ms: u64,
}

impl Faults {
    pub const NONE: Faults = Faults { cut_probability: 0.0, cut_within_bytes: 0, delay_ms: 0 };
}

pub struct Proxy {
    pub addr: SocketAddr,
    upstream: Arc<Mutex<SocketAddr>>,
    faults: Arc<Mutex<Faults>>,
    stop: Arc<AtomicBool>,
    /// Connections cut so far.
    pub cuts: Arc<AtomicU64>,
    /// Bytes forwarded from client to server.
    pub bytes_up: Arc<AtomicU64>,
    /// A cut at an exact byte offset for the next connection only (see
    /// `cut_next_connection_at`), taking precedence over `Faults`.
    cut_next: Arc<Mutex<Option<u64>>>,
}

impl Proxy {
    pub fn start(upstream: SocketAddr, faults: Faults, seed: u64) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let proxy = Proxy {
            addr: listener.local_addr().unwrap(),
            upstream: Arc::new(Mutex::new(upstream)),
            faults: Arc::new(Mutex::new(faults)),
            stop: Arc::new(AtomicBool::new(false)),
            cuts: Arc::default(),
            bytes_up: Arc::default(),
            cut_next: Arc::default(),
        };
        let (upstream, faults, stop, cuts, bytes_up) =
            (proxy.upstream.clone(), proxy.faults.clone(), proxy.stop.clone(), proxy.cuts.clone(), proxy.bytes_up.clone());
        let cut_next = proxy.cut_next.clone();
        std::thread::spawn(move || {
            let rng = AtomicU64::new(seed | 1);
            let next = || {
                let mut x = rng.load(Ordering::Relaxed);
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                rng.store(x, Ordering::Relaxed);
                x
            };
            while !stop.load(Ordering::Relaxed) {
                let client = match listener.accept() {
                    Ok((client, _)) => client,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(2));
                        continue;
                    }
                    Err(_) => continue,
                };
                client.set_nonblocking(false).unwrap();
                let f = *faults.lock().unwrap();
                let roll = (next() % 10_000) as f64 / 10_000.0;
                let cut_at = (roll < f.cut_probability).then(|| next() % f.cut_within_bytes.max(1));
                let cut_at = cut_next.lock().unwrap().take().or(cut_at);
                let upstream_addr = *upstream.lock().unwrap();
                let Ok(server) = TcpStream::connect(upstream_addr) else {
                    // Server down: the client sees a reset, as on a real link.
                    drop(client);
                    continue;
                };
                let (cuts, bytes_up) = (cuts.clone(), bytes_up.clone());
                std::thread::spawn(move || relay(client, server, cut_at, f.delay_ms, &cuts, &bytes_up));
            }
        });
        proxy
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_upstream(&self, upstream: SocketAddr) {
        *self.upstream.lock().unwrap() = upstream;
    }

    pub fn set_faults(&self, faults: Faults) {
        *self.faults.lock().unwrap() = faults;
    }

    /// Cuts the next connection accepted after `bytes` bytes (both
    /// directions counted, as for `Faults`); later connections follow `Faults`.
    pub fn cut_next_connection_at(&self, bytes: u64) {
        *self.cut_next.lock().unwrap() = Some(bytes);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Copies both ways; the byte budget `cut_at` counts both directions, so a
/// cut can land in a request or in its answer.
fn relay(client: TcpStream, server: TcpStream, cut_at: Option<u64>, delay_ms: u64, cuts: &AtomicU64, bytes_up: &Arc<AtomicU64>) {
    let budget = Arc::new(AtomicU64::new(cut_at.unwrap_or(u64::MAX)));
    let (c2, s2, b2) = (client.try_clone().unwrap(), server.try_clone().unwrap(), budget.clone());
    let down = std::thread::spawn(move || pipe(s2, c2, &b2, delay_ms, None));
    let cut_up = pipe(client, server, &budget, delay_ms, Some(bytes_up));
    let cut_down = down.join().unwrap_or(false);
    if cut_up || cut_down {
        cuts.fetch_add(1, Ordering::Relaxed);
    }
}

/// Forwards one direction until EOF or the cut; true if it cut.
fn pipe(mut from: TcpStream, mut to: TcpStream, budget: &AtomicU64, delay_ms: u64, counter: Option<&Arc<AtomicU64>>) -> bool {
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if delay_ms > 0 {
            std::thread::sleep(Duration::from_millis(delay_ms));
        }
        let granted =
            budget.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| Some(left.saturating_sub(n as u64))).unwrap().min(n as u64)
                as usize;
        if to.write_all(&buf[..granted]).is_err() {
            break;
        }
        if let Some(counter) = counter {
            counter.fetch_add(granted as u64, Ordering::Relaxed);
        }
        if granted < n {
            // The cut: both sides see the connection die mid-stream.
            let _ = from.shutdown(Shutdown::Both);
            let _ = to.shutdown(Shutdown::Both);
            return true;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
    false
}
