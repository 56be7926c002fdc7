//! Devices syncing to two stateless instances over one PostgreSQL database
//! and one S3 bucket, through a proxy that cuts connections and sends each
//! new connection to either instance: one instance killed with SIGKILL in
//! the middle of a sync, PostgreSQL restarted in the middle of another.
//! Every report reaches the server exactly once with its photos whole.
//! (In a test binary of its own: it restarts the process's cluster.)

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;
use suishoupai_tests::proxy::{Faults, Proxy};
use suishoupai_tests::testkit::{postgres, s3};
use suishoupai_tests::{Api, Server, cli, kill_syncs_mid_run, photo, server_path, spawn_sync};

const PHOTOS: &[&str] = &["google_pixel_N_E.jpg", "kodak_cx7530_S_E_tiny.jpg", "nikon_coolpixp6000_N_E.jpg", "canon_eos600d_N_W.jpg"];

fn capture(data: &Path, n: usize) -> HashMap<String, Vec<String>> {
    (0..n)
        .map(|i| {
            let (first, second) = (photo(PHOTOS[i % PHOTOS.len()]), photo(PHOTOS[(i + 1) % PHOTOS.len()]));
            let note = format!("飞线充电 {i}");
            let args: [&dyn AsRef<std::ffi::OsStr>; 13] = [
                &"--data",
                &data,
                &"report",
                &"new",
                &"--category",
                &"garbage",
                &"--note",
                &note,
                &"--photo",
                &first,
                &"--photo",
                &second,
                &"--json",
            ];
            let r = cli(&args).json();
            let shas = r["photos"].as_array().unwrap().iter().map(|p| p["sha256"].as_str().unwrap().to_owned()).collect();
            (r["id"].as_str().unwrap().to_owned(), shas)
        })
        .collect()
}

fn user(database: &str, name: &str, role: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out =
        suishoupai_tests::testkit::cli(dir.path(), &["--database", database, "user", "add", "--name", name, "--role", role, "--json"]);
    assert!(out.status.success(), "user add: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice::<Value>(&out.stdout).unwrap()["token"].as_str().unwrap().to_owned()
}

/// Syncs until the client says nothing is left, as an app retrying would.
fn sync_until_done(data: &Path) {
    for _ in 0..30 {
        if cli(&[&"--data", &data, &"sync", &"--json"]).code == 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("sync did not finish in 30 attempts");
}

/// Lets a sync run on for a while, then kills it (its retries back off for
/// longer than a test need wait: the next sync goes on from where it stopped).
fn wait_at_most(child: &mut std::process::Child, limit: Duration) {
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() && started.elapsed() < limit {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn devices_sync_to_either_instance_through_kills_and_a_database_restart() {
    server_path();
    let (database, bucket) = (postgres::fresh_database(), s3::bucket());
    let resident = user(&database, "ana", "resident");
    let coordinator = user(&database, "zhou", "coordinator");
    let mut a = Server::start_scaled_out(&database, &bucket);
    let b = Server::start_scaled_out(&database, &bucket);

    let device = tempfile::tempdir().unwrap();
    let expected = capture(device.path(), 12);
    let proxy = Proxy::start(a.addr, Faults { cut_probability: 0.2, cut_within_bytes: 300_000, delay_ms: 1 }, 13);
    let login = cli(&[&"--data", &device.path(), &"login", &"--server", &proxy.url(), &"--token", &resident]);
    assert_eq!(login.code, 0, "{}", login.stderr);

    // Each new connection to either instance, switching every few milliseconds.
    let (addrs, stop) = (std::sync::Mutex::new([a.addr, b.addr]), AtomicBool::new(false));
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut n = 0usize;
            while !stop.load(Ordering::Relaxed) {
                proxy.set_upstream(addrs.lock().unwrap()[n % 2]);
                n += 1;
                std::thread::sleep(Duration::from_millis(7));
            }
        });
        // Syncs killed at random moments, and instance A killed mid-sync.
        kill_syncs_mid_run(device.path(), &proxy, 2, 400_000, 5);
        let mut syncing = spawn_sync(device.path());
        std::thread::sleep(Duration::from_millis(150));
        let replacement = Server::start_scaled_out(&database, &bucket);
        addrs.lock().unwrap()[0] = replacement.addr;
        std::mem::replace(&mut a, replacement).kill();
        wait_at_most(&mut syncing, Duration::from_secs(5));
        // PostgreSQL restarted while a sync runs: its connections all cut.
        let mut syncing = spawn_sync(device.path());
        std::thread::sleep(Duration::from_millis(100));
        postgres::restart();
        wait_at_most(&mut syncing, Duration::from_secs(5));
        proxy.set_faults(Faults { cut_probability: 0.0, cut_within_bytes: 0, delay_ms: 0 });
        sync_until_done(device.path());
        stop.store(true, Ordering::Relaxed);
    });

    // Exactly once, photos whole, as either instance tells it.
    for server in [&a, &b] {
        let api = Api::new(&server.base, &coordinator);
        let reports = api.all_reports();
        let ids: Vec<&str> = reports.iter().map(|r| r["id"].as_str().unwrap()).collect();
        let unique: HashSet<&str> = ids.iter().copied().collect();
        assert_eq!(ids.len(), unique.len(), "a report reached the server twice");
        assert_eq!(unique, expected.keys().map(String::as_str).collect(), "the server's reports differ from the device's");
        for r in &reports {
            let got: Vec<&str> = r["photos"].as_array().unwrap().iter().map(|p| p["sha256"].as_str().unwrap()).collect();
            assert_eq!(got, expected[r["id"].as_str().unwrap()]);
        }
        for sha in expected.values().flatten().collect::<HashSet<_>>() {
            let (status, bytes) = api.get_bytes(&format!("/v1/photos/{sha}"));
            assert_eq!(status, 200, "photo {sha}");
            let local = std::fs::read(device.path().join("photos").join(&sha[..2]).join(format!("{sha}.jpg"))).unwrap();
            assert_eq!(bytes, local, "photo {sha} byte for byte");
        }
    }
    let local = cli(&[&"--data", &device.path(), &"report", &"list", &"--json"]).json();
    assert!(local.as_array().unwrap().iter().all(|r| r["sync_state"] == "synced"), "{local}");
}
