//! The workflow in the field, end to end: real `suishoupai` clients of grid
//! workers acting on their grid's cases with no connection (the proxy in
//! front of the server pointed at a dead port), then syncing; a real server
//! on the Xixian grid. Two workers who act on one case offline: one wins,
//! the other's device shows the server's refusal, in either order. A client
//! killed with SIGKILL while it sends actions: each action applies once.

use std::net::TcpListener;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use suishoupai_tests::proxy::{Faults, Proxy};
use suishoupai_tests::testkit::{photos, report};
use suishoupai_tests::{Api, Server, cli, kill_syncs_mid_run, photo, start_server};

fn grid_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../sync-server/testdata/grids/xixian.geojson")
}

/// A point inside cell `points[0]` of the test grid, and that cell.
fn a_place() -> (f64, f64, String) {
    let points: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(grid_file().with_file_name("points.json")).unwrap()).unwrap();
    (points[0]["latitude"].as_f64().unwrap(), points[0]["longitude"].as_f64().unwrap(), points[0]["grid_id"].as_str().unwrap().to_owned())
}

fn run(data: &Path, args: &[&str]) -> suishoupai_tests::Run {
    let mut all: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"--data", &data];
    all.extend(args.iter().map(|a| a as &dyn AsRef<std::ffi::OsStr>));
    cli(&all)
}

fn ok(data: &Path, args: &[&str]) -> Value {
    let r = run(data, args);
    assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
    r.json()
}

/// A port nothing listens on: the link is down.
fn dead_port() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr
}

struct Field {
    server: Server,
    _server_dir: tempfile::TempDir,
    coco: Api,
    cg: Api,
    cell: String,
    place: (f64, f64),
}

fn field() -> Field {
    let server_dir = tempfile::tempdir().unwrap();
    let server = start_server(server_dir.path());
    let imported = server.cli(&["grid", "import", grid_file().to_str().unwrap()]);
    assert!(imported.status.success(), "{}", String::from_utf8_lossy(&imported.stderr));
    let (latitude, longitude, cell) = a_place();
    let coco = Api::new(&server.base, &server.user("coco", "coordinator"));
    let cg = Api::new(&server.base, &server.user_with("cg", "department", &["--department", "城管"]));
    Field { server, _server_dir: server_dir, coco, cg, cell, place: (latitude, longitude) }
}

impl Field {
    /// `n` cases of the cell, reported by a resident, dispatched to 城管 and
    /// rectified by it with an after-photo: awaiting verification.
    fn rectified_cases(&self, n: usize) -> Vec<String> {
        let resident = self.server.user(&format!("resident-{}", uuid::Uuid::now_v7()), "resident");
        let [a, b, _] = photos() else { unreachable!() };
        self.server.upload_photo(&resident, a);
        self.server.upload_photo(&self.cg.token, b);
        let cases: Vec<Value> = (0..n)
            .map(|_| {
                let mut r = report(&[a]);
                r["location"] = json!({ "latitude": self.place.0, "longitude": self.place.1, "source": "device" });
                r
            })
            .collect();
        assert!(self.server.push(&resident, &cases).iter().all(|r| r["outcome"] == "accepted"));
        cases
            .iter()
            .map(|case| {
                let id = case["id"].as_str().unwrap().to_owned();
                self.server.dispatch(&self.coco.token, &id, "城管");
                let done = self.server.act(&self.cg.token, &id, &json!({ "action": "rectify", "note": "已清理", "photos": [b.sha256] }));
                assert_eq!(done.status(), 200);
                id
            })
            .collect()
    }

    /// A grid worker's device of the cell, logged in through `proxy`, synced.
    fn worker_device(&self, name: &str, proxy: &Proxy) -> tempfile::TempDir {
        let token = self.server.user_with(name, "grid_worker", &["--grid", &self.cell]);
        let device = tempfile::tempdir().unwrap();
        let login = run(device.path(), &["login", "--server", &proxy.url(), "--token", &token]);
        assert_eq!(login.code, 0, "{}", login.stderr);
        ok(device.path(), &["sync", "--json"]);
        device
    }
}

fn history_actions(api: &Api, id: &str) -> Vec<String> {
    let (status, case) = api.get(&format!("/v1/reports/{id}"));
    assert_eq!(status, 200);
    case["history"].as_array().unwrap().iter().filter_map(|h| h["action"].as_str().map(str::to_owned)).collect()
}

/// wang verifies the case offline, zhao takes `zhao_does` on it offline;
/// `first` syncs first and wins, the other's device shows the refusal.
fn two_workers_act_on_one_case_offline(zhao_does: &str, first: &str) {
    let f = field();
    let id = f.rectified_cases(1).remove(0);
    let proxy = Proxy::start(f.server.addr, Faults::NONE, 5);
    let (wang, zhao) = (f.worker_device("wang", &proxy), f.worker_device("zhao", &proxy));
    // Both devices hold the case, with what they may do, and its pictures.
    for device in [&wang, &zhao] {
        let tasks = ok(device.path(), &["task", "list", "--json"]);
        let task = tasks.as_array().unwrap().iter().find(|t| t["id"] == id.as_str()).unwrap_or_else(|| panic!("{tasks}"));
        assert_eq!(task["status"], "rectified");
        assert_eq!(task["allowed_actions"], json!(["verify", "reopen"]));
        assert!(!task["photos"].as_array().unwrap().is_empty());
    }

    // No signal: both act, each believing the case theirs.
    proxy.set_upstream(dead_port());
    let due = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    let by_wang = ok(wang.path(), &["task", "act", &id, "--action", "verify", "--json"]);
    let by_zhao = match zhao_does {
        "verify" => ok(zhao.path(), &["task", "act", &id, "--action", "verify", "--json"]),
        _ => ok(zhao.path(), &["task", "act", &id, "--action", "reopen", "--note", "门口又堆上了", "--due-at", &due, "--json"]),
    };
    for action in [&by_wang, &by_zhao] {
        assert_eq!(action["sync_state"], "pending", "{action}");
    }
    // Checked on the device by the same table: wang's own verify is folded in.
    let again = run(wang.path(), &["task", "act", &id, "--action", "verify", "--json"]);
    assert_ne!(again.code, 0, "a case this device closed cannot be verified again: {}", again.stdout);
    let offline = run(wang.path(), &["sync", "--json"]);
    assert_ne!(offline.code, 0, "no connection: the sync cannot finish");
    assert_eq!(ok(wang.path(), &["task", "show", &id, "--json"])["actions"][0]["sync_state"], "pending");

    // Signal again: whoever syncs first wins; the other is refused with the server's reason.
    proxy.set_upstream(f.server.addr);
    let (winner, loser, won, lost) =
        if first == "wang" { (&wang, &zhao, "verify", zhao_does) } else { (&zhao, &wang, zhao_does, "verify") };
    ok(winner.path(), &["sync", "--json"]);
    let refused = run(loser.path(), &["sync", "--json"]);
    assert!(refused.code == 0 || refused.stderr.contains("refused"), "{}", refused.stderr);
    let shown_w = ok(winner.path(), &["task", "show", &id, "--json"]);
    assert_eq!(shown_w["actions"][0]["sync_state"], "synced", "{shown_w}");
    let shown_l = ok(loser.path(), &["task", "show", &id, "--json"]);
    let action = &shown_l["actions"][0];
    assert_eq!(action["sync_state"], "failed", "{shown_l}");
    let reason = action["sync_error"].as_str().unwrap();
    assert!(reason.contains(&format!("{won} by {first}")), "the server's reason: {reason}");
    // The server applied the winner's action once and the loser's never.
    let trail = history_actions(&f.coco, &id);
    let count = |a: &str| trail.iter().filter(|t| *t == a).count();
    if won == lost {
        assert_eq!(count(won), 1, "{trail:?}");
    } else {
        assert_eq!((count(won), count(lost)), (1, 0), "{trail:?}");
    }
    // A failed action is never resent: another sync changes nothing.
    ok(loser.path(), &["sync", "--json"]);
    assert_eq!(history_actions(&f.coco, &id), trail);
    assert_eq!(ok(loser.path(), &["task", "show", &id, "--json"])["actions"][0]["sync_state"], "failed");
}

#[test]
fn two_workers_verify_offline_and_wang_syncs_first() {
    two_workers_act_on_one_case_offline("verify", "wang");
}

#[test]
fn two_workers_verify_offline_and_zhao_syncs_first() {
    two_workers_act_on_one_case_offline("verify", "zhao");
}

#[test]
fn a_reopen_synced_first_refuses_the_other_workers_verify() {
    two_workers_act_on_one_case_offline("reopen", "zhao");
}

/// A worker verifies 12 cases and rectifies 4 with after-photos offline;
/// the sync that sends them is killed with SIGKILL again and again; at the
/// end each action applied exactly once.
#[test]
fn a_client_killed_while_sending_actions_applies_each_once() {
    let f = field();
    let verify = f.rectified_cases(12);
    // Cases dispatched but not yet rectified, for the worker to rectify on the spot.
    let rectify: Vec<String> = {
        let resident = f.server.user("ana", "resident");
        let [a, _, _] = photos() else { unreachable!() };
        f.server.upload_photo(&resident, a);
        let cases: Vec<Value> = (0..4)
            .map(|_| {
                let mut r = report(&[a]);
                r["location"] = json!({ "latitude": f.place.0, "longitude": f.place.1, "source": "device" });
                r
            })
            .collect();
        f.server.push(&resident, &cases);
        cases
            .iter()
            .map(|c| {
                let id = c["id"].as_str().unwrap().to_owned();
                f.server.dispatch(&f.coco.token, &id, "城管");
                id
            })
            .collect()
    };
    let proxy = Proxy::start(f.server.addr, Faults { cut_probability: 0.0, cut_within_bytes: 0, delay_ms: 8 }, 9);
    let device = f.worker_device("wang", &proxy);
    proxy.set_upstream(dead_port());
    for id in &verify {
        ok(device.path(), &["task", "act", id, "--action", "verify", "--json"]);
    }
    let after = [photo("canon_eos600d_N_W.jpg"), photo("nikon_coolpixp6000_N_E.jpg")];
    for (i, id) in rectify.iter().enumerate() {
        let after = after[i % 2].to_str().unwrap().to_owned();
        ok(device.path(), &["task", "act", id, "--action", "rectify", "--note", "当场清理", "--photo", &after, "--json"]);
    }
    proxy.set_upstream(f.server.addr);
    let mid_run = kill_syncs_mid_run(device.path(), &proxy, 8, 200_000, 0x2545_F491);
    assert!(mid_run >= 4, "only {mid_run} of 8 kills landed while a sync was running");
    proxy.set_faults(Faults::NONE);
    let mut done = false;
    for _ in 0..5 {
        if run(device.path(), &["sync", "--json"]).code == 0 {
            done = true;
            break;
        }
    }
    assert!(done, "the sync finished");
    for id in &verify {
        let trail = history_actions(&f.coco, id);
        assert_eq!(trail.iter().filter(|a| *a == "verify").count(), 1, "{id}: {trail:?}");
    }
    for id in &rectify {
        let trail = history_actions(&f.coco, id);
        assert_eq!(trail.iter().filter(|a| *a == "rectify").count(), 1, "{id}: {trail:?}");
        let (_, case) = f.coco.get(&format!("/v1/reports/{id}"));
        let sha = case["history"].as_array().unwrap().last().unwrap()["photos"][0].as_str().unwrap().to_owned();
        let (status, bytes) = f.coco.get_bytes(&format!("/v1/photos/{sha}"));
        assert_eq!((status, suishoupai_core::photo::sha256_hex(&bytes)), (200, sha), "the after-photo arrived whole");
    }
    for id in verify.iter().chain(&rectify) {
        let shown = ok(device.path(), &["task", "show", id, "--json"]);
        assert!(shown["actions"].as_array().unwrap().iter().all(|a| a["sync_state"] == "synced"), "{shown}");
    }
}
