//! Lossless offline sync, end to end: real `suishoupai` client processes in
//! their own data directories, a real `suishoupai-server` on a random
//! loopback port, a proxy that cuts connections, and SIGKILL for both sides.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use suishoupai_tests::proxy::{Faults, Proxy};
use suishoupai_tests::{Api, Server, start_server};
use suishoupai_tests::{cli, kill_syncs_mid_run, photo};

const PHOTOS: &[&str] = &[
    "google_pixel_N_E.jpg",
    "kodak_cx7530_S_E_tiny.jpg",
    "nikon_coolpixp6000_N_E.jpg",
    "apple_iphone4_N_E.jpg",
    "canon_eos600d_N_W.jpg",
    "orientation_portrait_6.jpg",
    "png_exif_gps_N_E.png",
    "apple_iphonex_N_W_orient6.webp",
];

/// Makes `n` reports in a device's store; returns their ids and photo hashes.
fn capture(data: &Path, n: usize, offset: usize) -> HashMap<String, Vec<String>> {
    (0..n)
        .map(|i| {
            let first = photo(PHOTOS[(i + offset) % PHOTOS.len()]);
            let second = photo(PHOTOS[(i + offset + 3) % PHOTOS.len()]);
            let note = format!("report {i} of {offset}");
            let r = cli(&[
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
            ])
            .json();
            let shas = r["photos"].as_array().unwrap().iter().map(|p| p["sha256"].as_str().unwrap().to_owned()).collect();
            (r["id"].as_str().unwrap().to_owned(), shas)
        })
        .collect()
}

fn login(data: &Path, url: &str, token: &str) {
    let run = cli(&[&"--data", &data, &"login", &"--server", &url, &"--token", &token]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

fn sync(data: &Path) -> suishoupai_tests::Run {
    cli(&[&"--data", &data, &"sync", &"--json"])
}

/// Syncs until the client says nothing is left, as an app retrying would.
fn sync_until_done(data: &Path, max_attempts: usize) -> Vec<Value> {
    let mut summaries = Vec::new();
    for _ in 0..max_attempts {
        let run = sync(data);
        if let Ok(v) = serde_json::from_str::<Value>(&run.stdout) {
            summaries.push(v);
        }
        if run.code == 0 {
            return summaries;
        }
        assert!(run.stderr.contains("still queued") || run.stderr.contains("network"), "unexpected failure: {}", run.stderr);
    }
    panic!("sync did not finish in {max_attempts} attempts");
}

/// The server holds exactly these reports, each once, with every photo
/// byte-for-byte as the device made it.
fn assert_server_holds_exactly(api: &Api, device: &Path, expected: &HashMap<String, Vec<String>>) {
    let reports = api.all_reports();
    let ids: Vec<&str> = reports.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let unique: HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(ids.len(), unique.len(), "a report reached the server twice");
    assert_eq!(unique, expected.keys().map(String::as_str).collect(), "the server's reports differ from the device's");
    for r in &reports {
        let want = &expected[r["id"].as_str().unwrap()];
        let got: Vec<&str> = r["photos"].as_array().unwrap().iter().map(|p| p["sha256"].as_str().unwrap()).collect();
        assert_eq!(&got, want);
    }
    let mut checked = HashSet::new();
    for sha in expected.values().flatten() {
        if !checked.insert(sha) {
            continue;
        }
        let (status, bytes) = api.get_bytes(&format!("/v1/photos/{sha}"));
        assert_eq!(status, 200, "photo {sha}");
        assert_eq!(suishoupai_core::photo::sha256_hex(&bytes), *sha, "photo {sha} arrived damaged");
        let local = std::fs::read(device.join("photos").join(&sha[..2]).join(format!("{sha}.jpg"))).unwrap();
        assert_eq!(bytes, local);
    }
    // And the device agrees that everything is synced.
    let local = cli(&[&"--data", &device, &"report", &"list", &"--json"]).json();
    for r in local.as_array().unwrap() {
        if expected.contains_key(r["id"].as_str().unwrap()) {
            assert_eq!(r["sync_state"], "synced", "{r}");
        }
    }
}

struct World {
    _dirs: Vec<tempfile::TempDir>,
    server: Server,
    coordinator: Api,
}

fn world() -> (World, tempfile::TempDir) {
    let server_dir = tempfile::tempdir().unwrap();
    let server = start_server(server_dir.path());
    let coordinator = Api::new(&server.base, &server.user("coordinator", "coordinator"));
    (World { _dirs: vec![], server, coordinator }, server_dir)
}

#[test]
fn reports_reach_the_server_exactly_once_through_a_link_that_cuts() {
    let (w, _server_dir) = world();
    let token = w.server.user("zhang", "resident");
    let device = tempfile::tempdir().unwrap();
    let expected = capture(device.path(), 24, 0);
    // Cut nine connections in ten somewhere in their first 200 KB, and delay
    // every read a little. The client keeps its connections alive (several,
    // for photos in parallel), so a cut lands in whichever upload, push or
    // pull is crossing at that byte, and each sync run gets only part of the way.
    let proxy = Proxy::start(w.server.addr, Faults { cut_probability: 0.9, cut_within_bytes: 200_000, delay_ms: 1 }, 7);
    login(device.path(), &proxy.url(), &token);
    let runs = sync_until_done(device.path(), 400).len();
    let cuts = proxy.cuts.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!("{runs} sync runs, {cuts} connections cut");
    assert!(cuts >= 10, "the proxy barely cut anything: {cuts} cuts in {runs} runs");
    assert_server_holds_exactly(&w.coordinator, device.path(), &expected);
    // Nothing left: a further sync sends nothing.
    let again = sync(device.path()).json();
    assert_eq!((again["pushed"].as_u64(), again["uploaded_bytes"].as_u64()), (Some(0), Some(0)));
}

#[test]
fn a_client_killed_at_random_moments_finishes_later_without_duplicates() {
    let (w, _server_dir) = world();
    let token = w.server.user_with("li", "grid_worker", &["--grid", "G-3"]);
    let device = tempfile::tempdir().unwrap();
    // Distinct photos of noise, which JPEG cannot shrink: ~6 MB in all, so
    // that every run has real work and the kills land inside it.
    let expected = capture_noise(device.path(), 16);
    // Slow the link (16 KB per 12 ms, about 1.3 MB/s).
    let proxy = Proxy::start(w.server.addr, Faults { cut_probability: 0.0, cut_within_bytes: 0, delay_ms: 12 }, 11);
    login(device.path(), &proxy.url(), &token);
    let mid_run = kill_syncs_mid_run(device.path(), &proxy, 10, 600_000, 0x9E37_79B9);
    assert!(mid_run >= 5, "only {mid_run} of 10 kills landed while a sync was running");
    proxy.set_faults(Faults::NONE);
    sync_until_done(device.path(), 5);
    assert_server_holds_exactly(&w.coordinator, device.path(), &expected);
}

/// `n` reports of one distinct photo of noise each (1000x750, ~400 KB as a rendition).
fn capture_noise(data: &Path, n: usize) -> HashMap<String, Vec<String>> {
    let files = tempfile::tempdir().unwrap();
    (0..n)
        .map(|i| {
            let mut state = 0x2545_F491_4F6C_DD1Du64 ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let noise = image::RgbImage::from_fn(1000, 750, |_, _| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                image::Rgb([state as u8, (state >> 8) as u8, (state >> 16) as u8])
            });
            let path = files.path().join(format!("noise{i}.jpg"));
            noise.save(&path).unwrap();
            let r = cli(&[
                &"--data",
                &data,
                &"report",
                &"new",
                &"--category",
                &"garbage",
                &"--photo",
                &path,
                &"--lat=32.34",
                &"--lon=114.74",
                &"--json",
            ])
            .json();
            let shas = r["photos"].as_array().unwrap().iter().map(|p| p["sha256"].as_str().unwrap().to_owned()).collect();
            (r["id"].as_str().unwrap().to_owned(), shas)
        })
        .collect()
}

#[test]
fn a_server_killed_during_push_loses_nothing_it_acknowledged() {
    let server_dir = tempfile::tempdir().unwrap();
    let server = start_server(server_dir.path());
    let token = server.user("wang", "resident");
    let coordinator_token = server.user("coordinator", "coordinator");
    let device = tempfile::tempdir().unwrap();
    let expected = capture(device.path(), 30, 1);
    let proxy = Proxy::start(server.addr, Faults { cut_probability: 0.0, cut_within_bytes: 0, delay_ms: 3 }, 3);
    login(device.path(), &proxy.url(), &token);

    let mut syncing = suishoupai_tests::spawn_sync(device.path());
    // Kill the server once the device has had some reports acknowledged.
    let start = Instant::now();
    let acknowledged = loop {
        let local = cli(&[&"--data", &device.path(), &"report", &"list", &"--json"]).json();
        let synced: Vec<String> = local
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["sync_state"] == "synced")
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect();
        if synced.len() >= 3 || start.elapsed() > Duration::from_secs(120) {
            break synced;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    server.kill();
    let _ = syncing.wait();
    assert!(!acknowledged.is_empty(), "nothing was acknowledged before the kill");

    let restarted = start_server(server_dir.path());
    let coordinator = Api::new(&restarted.base, &coordinator_token);
    let held: HashSet<String> = coordinator.all_reports().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect();
    for id in &acknowledged {
        assert!(held.contains(id), "report {id} was acknowledged, then lost in the crash");
    }
    let _ = syncing.kill();
    proxy.set_upstream(restarted.addr);
    sync_until_done(device.path(), 10);
    assert_server_holds_exactly(&coordinator, device.path(), &expected);
}

#[test]
fn status_set_by_a_coordinator_reaches_the_reporters_devices() {
    let (w, _server_dir) = world();
    let token = w.server.user("zhao", "resident");
    let phone = tempfile::tempdir().unwrap();
    let tablet = tempfile::tempdir().unwrap();
    let on_phone = capture(phone.path(), 2, 0);
    let on_tablet = capture(tablet.path(), 1, 5);
    for device in [phone.path(), tablet.path()] {
        login(device, &w.server.base, &token);
        sync_until_done(device, 3);
    }
    let id = on_phone.keys().next().unwrap();
    assert!(w.server.cli(&["department", "add", "--code", "chengguan", "--name", "城管"]).status.success());
    let path = format!("/v1/reports/{id}/actions");
    let (status, body) = w.coordinator.post(&path, &json!({"action_id": uuid::Uuid::now_v7().to_string(), "action": "accept"}));
    assert_eq!(status, 200, "{body}");
    let dispatch = json!({
        "action_id": uuid::Uuid::now_v7().to_string(), "action": "dispatch", "public_note": "城管",
        "department": "chengguan", "due_at": "2099-01-01T00:00:00Z",
    });
    let (status, body) = w.coordinator.post(&path, &dispatch);
    assert_eq!(status, 200, "{body}");

    let pulled = sync(phone.path()).json();
    assert!(pulled["pulled"].as_u64().unwrap() >= 1, "{pulled}");
    let shown = cli(&[&"--data", &phone.path(), &"report", &"show", &id, &"--json"]).json();
    assert_eq!(shown["status"], "dispatched");
    assert_eq!(shown["sync_state"], "synced");

    // The second device of the same user learns of the change too, and both
    // devices' reports are on the server once each.
    let tablet_run = sync(tablet.path()).json();
    assert!(tablet_run["pulled"].as_u64().unwrap() >= 1);
    let all: HashMap<String, Vec<String>> = on_phone.into_iter().chain(on_tablet).collect();
    let held: Vec<String> = w.coordinator.all_reports().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(held.len(), 3);
    assert_eq!(held.iter().collect::<HashSet<_>>(), all.keys().collect::<HashSet<_>>());
}

#[test]
fn offline_and_refused_syncs_say_what_is_queued_and_why() {
    let (w, _server_dir) = world();
    let device = tempfile::tempdir().unwrap();
    let expected = capture(device.path(), 2, 0);

    // Not logged in.
    let run = sync(device.path());
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("not logged in"), "{}", run.stderr);

    // Server unreachable: retryable, everything stays pending.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    login(device.path(), &format!("http://{closed}"), "whatever");
    let run = sync(device.path());
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("2 report(s) still queued"), "{}", run.stderr);
    let local = cli(&[&"--data", &device.path(), &"report", &"list", &"--json"]).json();
    for r in local.as_array().unwrap() {
        assert_eq!(r["sync_state"], "pending");
        assert!(r["sync_error"].as_str().unwrap().contains("network"), "{r}");
    }

    // A wrong token: refused, nothing marked failed, the user is told to log in.
    login(device.path(), &w.server.base, "not-a-token");
    let run = sync(device.path());
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("log in again"), "{}", run.stderr);

    // A conflict: another device pushed a different report under the same
    // ids first (a cloned store with edited notes stands in for it).
    let clone = tempfile::tempdir().unwrap();
    copy_dir(device.path(), clone.path());
    let conn = rusqlite::Connection::open(clone.path().join("store.sqlite3")).unwrap();
    conn.execute("UPDATE reports SET note = 'tampered'", []).unwrap();
    drop(conn);
    login(clone.path(), &w.server.base, &w.server.user("qian", "resident"));
    sync_until_done(clone.path(), 3);

    login(device.path(), &w.server.base, &w.server.user("sun", "resident"));
    let run = sync(device.path());
    assert_ne!(run.code, 0, "a conflict must not pass as success");
    assert!(run.stderr.contains("refused"), "{}", run.stderr);
    let local = cli(&[&"--data", &device.path(), &"report", &"list", &"--json"]).json();
    for r in local.as_array().unwrap() {
        assert_eq!(r["sync_state"], "failed", "{r}");
        assert!(r["sync_error"].as_str().unwrap().contains("conflict") || r["sync_error"].as_str().unwrap().contains("different"), "{r}");
        assert!(expected.contains_key(r["id"].as_str().unwrap()));
    }
    // The server kept the first version: never a silent overwrite.
    for r in w.coordinator.all_reports() {
        assert_eq!(r["note"], "tampered");
    }
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn fifty_clients_sync_at_once() {
    let (w, _server_dir) = world();
    let clients: Vec<(tempfile::TempDir, HashMap<String, Vec<String>>)> = (0..50)
        .map(|i| {
            let dir = tempfile::tempdir().unwrap();
            let token = w.server.user(&format!("resident{i}"), "resident");
            let reports = capture_one(dir.path(), i);
            login(dir.path(), &w.server.base, &token);
            (dir, reports)
        })
        .collect();
    let children: Vec<_> = clients
        .iter()
        .map(|(dir, _)| {
            Command::new(suishoupai_tests::cli_path())
                .arg("--data")
                .arg(dir.path())
                .args(["sync", "--json"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let all: HashMap<String, Vec<String>> = clients.iter().flat_map(|(_, r)| r.clone()).collect();
    let held = w.coordinator.all_reports();
    assert_eq!(held.len(), 50);
    assert_eq!(held.iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect::<HashSet<_>>(), all.keys().cloned().collect());
}

/// One report with one photo: cheaper than `capture` for many devices.
fn capture_one(data: &Path, i: usize) -> HashMap<String, Vec<String>> {
    let p = photo(PHOTOS[i % PHOTOS.len()]);
    let r = cli(&[&"--data", &data, &"report", &"new", &"--category", &"illegal_ads", &"--photo", &p, &"--json"]).json();
    HashMap::from([(r["id"].as_str().unwrap().to_owned(), vec![r["photos"][0]["sha256"].as_str().unwrap().to_owned()])])
}
