//! The terminal client's task commands, as a process: offline judgement,
//! the queue, and a sync over real HTTP against a small stand-in for the
//! server that answers the protocol's task and action calls (the real
//! server's end-to-end tests live in the workspace's `tests/`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

fn photo(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/testdata/photos").join(name)
}

fn cli(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_suishoupai")).arg("--data").arg(data).args(args).output().expect("run suishoupai")
}

/// Runs the client and parses its JSON output; panics unless it succeeded.
fn ok_json(data: &Path, args: &[&str]) -> Value {
    let out = cli(data, args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn refused(data: &Path, args: &[&str]) -> String {
    let out = cli(data, args);
    assert!(!out.status.success(), "{args:?} should fail");
    assert!(out.stdout.is_empty(), "nothing on stdout when refused");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

type Handler = dyn Fn(&str, &str, &[u8]) -> (u16, Vec<u8>) + Send + Sync;

/// An HTTP/1.1 server on loopback, one request per connection, answering
/// by `handler`; remembers every request (method, path, body).
struct StandIn {
    url: String,
    requests: Arc<Mutex<Vec<(String, String, String)>>>,
}

impl StandIn {
    fn start(handler: Box<Handler>) -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let mut parts = line.split_whitespace();
                let (method, path) = (parts.next().unwrap_or("").to_owned(), parts.next().unwrap_or("").to_owned());
                let mut length = 0;
                loop {
                    let mut header = String::new();
                    reader.read_line(&mut header).unwrap();
                    if header.trim().is_empty() {
                        break;
                    }
                    if let Some((name, value)) = header.split_once(':')
                        && name.eq_ignore_ascii_case("content-length")
                    {
                        length = value.trim().parse().unwrap();
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                log.lock().unwrap().push((method.clone(), path.clone(), String::from_utf8_lossy(&body).into_owned()));
                let (status, answer) = handler(&method, &path, &body);
                let head = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    answer.len()
                );
                let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(&answer));
            }
        });
        StandIn { url, requests }
    }

    fn posted(&self, path_part: &str) -> Vec<Value> {
        let requests = self.requests.lock().unwrap();
        requests.iter().filter(|(m, p, _)| m == "POST" && p.contains(path_part)).map(|(_, _, b)| serde_json::from_str(b).unwrap()).collect()
    }
}

const A: &str = "01936f3e-1c2d-7a8b-9c0d-112233445566";
const B: &str = "01936f3e-1c2d-7a8b-9c0d-112233445577";
const SHA: &str = "9599aa9d8e19db288baefe51d777224f6a79b2ae7d0a2be36168d06486825ec8";

fn case(id: &str, status: &str, due_at: Option<&str>) -> Value {
    json!({
        "id": id, "category": "garbage", "note": "路口垃圾", "location": null,
        "photos": [{"sha256": SHA, "width": 1600, "height": 1200, "bytes": 200000}],
        "created_at": "2026-12-01T08:00:00.000Z", "status": status, "grid_id": "G-7", "department": "cg",
        "due_at": due_at, "overdue": false, "allowed_actions": [],
        "history": [{"action": null, "status": "submitted", "at": "2026-12-01T08:00:00.000Z", "actor": null, "actor_role": "resident"}],
    })
}

/// Whether the stand-in has taken the rectify of A.
static A_RECTIFIED: AtomicBool = AtomicBool::new(false);

fn the_server(_method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let answer = |status: u16, value: Value| (status, value.to_string().into_bytes());
    match path {
        "/v1/tasks" => {
            let a = if A_RECTIFIED.load(Ordering::SeqCst) { "rectified" } else { "dispatched" };
            // B was closed by another grid worker: no longer in the feed.
            let tasks = if A_RECTIFIED.load(Ordering::SeqCst) {
                vec![case(A, a, Some("2020-01-01T00:00:00Z"))]
            } else {
                vec![case(A, a, Some("2020-01-01T00:00:00Z")), case(B, "rectified", None)]
            };
            answer(200, json!({"me": {"name": "李", "role": "grid_worker", "grid_id": "G-7"}, "tasks": tasks}))
        }
        p if p.starts_with("/v1/changes") => answer(200, json!({"changes": [], "next_cursor": null, "has_more": false})),
        p if p.ends_with("/thumbnail") => (200, std::fs::read(photo("kodak_cx7530_S_E_tiny.jpg")).unwrap()),
        "/v1/uploads/batch" => {
            let asked: Value = serde_json::from_slice(body).unwrap();
            let states: Vec<Value> = asked["uploads"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| json!({"sha256": u["sha256"], "offset": u["length"], "length": u["length"], "complete": true}))
                .collect();
            answer(200, json!({"uploads": states}))
        }
        p if p == format!("/v1/reports/{A}/actions") => {
            A_RECTIFIED.store(true, Ordering::SeqCst);
            answer(
                200,
                json!({
                "id": A, "status": "rectified", "due_at": "2020-01-01T00:00:00Z", "overdue": false,
                "allowed_actions": ["verify", "reopen"], "category": "garbage", "history": [],
                }),
            )
        }
        p if p == format!("/v1/reports/{B}/actions") => answer(
            409,
            json!({
                "error": "invalid_transition", "message": "the case is `closed` (verify by 王 at 2026-12-02 14:02)",
                "status": "closed", "allowed_actions": ["reopen"],
            }),
        ),
        _ => answer(404, json!({"error": "not_found", "message": "no such route"})),
    }
}

#[test]
fn tasks_are_worked_offline_and_sent_at_the_next_sync() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("phone");
    // Before any sync: no tasks, nothing to act on.
    assert_eq!(ok_json(&data, &["task", "list", "--json"]), json!([]));
    let err = refused(&data, &["task", "act", A, "--action", "verify", "--json"]);
    assert!(err.contains("not among this device's tasks"), "{err}");

    let server = StandIn::start(Box::new(the_server));
    let login = cli(&data, &["login", "--server", &server.url, "--token", "t0k"]);
    assert!(login.status.success());
    let summary = ok_json(&data, &["sync", "--json"]);
    assert_eq!(summary, json!({"pushed": 0, "pulled": 0, "uploaded_bytes": 0, "skipped_bytes": 0}), "the output it always had");

    let tasks = ok_json(&data, &["task", "list", "--json"]);
    let tasks = tasks.as_array().unwrap();
    assert_eq!(tasks.len(), 2);
    let a = &tasks[0];
    assert_eq!((a["id"].as_str(), a["category"].as_str(), a["status"].as_str()), (Some(A), Some("garbage"), Some("dispatched")));
    assert_eq!(a["allowed_actions"], json!(["rectify"]));
    assert_eq!(a["overdue"], json!(true), "dispatched and past due, by the device's clock");
    assert_eq!(a["due_at"], json!("2020-01-01T00:00:00Z"));
    assert_eq!(a["photos"][0]["sha256"], json!(SHA));
    assert_eq!(tasks[1]["overdue"], json!(false));
    let thumb = dir.path().join("thumb.jpg");
    let export = cli(&data, &["photo", "export", SHA, "--thumbnail", "--out", thumb.to_str().unwrap()]);
    assert!(export.status.success(), "the thumbnail was fetched: {}", String::from_utf8_lossy(&export.stderr));

    // Offline from here on (the device does not ask the server).
    let before = server.requests.lock().unwrap().len();
    let err = refused(&data, &["task", "act", A, "--action", "verify", "--json"]);
    assert!(err.contains("not allowed while the case is `dispatched`") && err.contains("rectify"), "{err}");
    let err = refused(&data, &["task", "act", A, "--action", "acknowledge", "--json"]);
    assert!(err.contains("grid_worker may not"), "{err}");
    let err = refused(&data, &["task", "act", A, "--action", "rectify", "--note", "已清理", "--json"]);
    assert!(err.contains("after-photo"), "{err}");
    assert_eq!(ok_json(&data, &["task", "show", A, "--json"])["actions"], json!([]), "a refusal queues nothing");

    let rectify = ok_json(
        &data,
        &[
            "task",
            "act",
            A,
            "--action",
            "rectify",
            "--note",
            "已清理",
            "--photo",
            photo("kodak_cx7530_S_E_tiny.jpg").to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!((rectify["action"].as_str(), rectify["sync_state"].as_str()), (Some("rectify"), Some("pending")));
    assert!(rectify["sync_error"].is_null());
    let shown = ok_json(&data, &["task", "show", A, "--json"]);
    assert_eq!(shown["status"], json!("rectified"), "as the device knows it");
    assert_eq!(shown["overdue"], json!(false), "awaiting verification");
    assert_eq!(shown["history"][0]["status"], json!("submitted"));
    let actions = shown["actions"].as_array().unwrap();
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0]["action_id"], rectify["action_id"]);
    assert_eq!(actions[0]["sync_state"], json!("pending"));
    let verify = ok_json(&data, &["task", "act", B, "--action", "verify", "--json"]);
    assert_eq!(server.requests.lock().unwrap().len(), before, "acting needs no network");

    // The next sync: in order, the photo first; one taken, one refused for good.
    assert!(cli(&data, &["sync", "--json"]).status.success(), "a refused action leaves nothing to do");
    let sent = server.posted("/actions");
    assert_eq!(sent.len(), 2);
    assert_eq!((&sent[0]["action_id"], &sent[1]["action_id"]), (&rectify["action_id"], &verify["action_id"]));
    assert_eq!(sent[0]["photos"], json!([rectify["photos"][0]["sha256"]]));
    assert_eq!(server.posted("/v1/uploads/batch").len(), 1);
    let a = ok_json(&data, &["task", "show", A, "--json"]);
    assert_eq!((a["status"].as_str(), a["actions"][0]["sync_state"].as_str()), (Some("rectified"), Some("synced")));
    let b = ok_json(&data, &["task", "show", B, "--json"]);
    assert_eq!(b["actions"][0]["sync_state"], json!("failed"));
    assert_eq!(b["status"], json!("closed"), "kept out of the feed, where the server said it is");
    let why = b["actions"][0]["sync_error"].as_str().unwrap();
    assert!(why.contains("closed") && why.contains("王"), "{why}");
    assert!(cli(&data, &["sync", "--json"]).status.success());
    assert_eq!(server.posted("/actions").len(), 2, "nothing is sent twice");
}

#[test]
fn a_report_fixed_on_the_spot_takes_after_photos() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("phone");
    let before = photo("google_pixel_N_E.jpg");
    let after = photo("kodak_cx7530_S_E_tiny.jpg");
    let (before, after) = (before.to_str().unwrap(), after.to_str().unwrap());
    let report =
        ok_json(&data, &["report", "new", "--category", "garbage", "--photo", before, "--fixed-on-spot", "--after-photo", after, "--json"]);
    assert_eq!(report["fixed_on_spot"], json!(true));
    assert_eq!(report["reporter"]["role"], json!("grid_worker"), "fixed on the spot: a grid worker's");
    assert_eq!(report["after_photos"].as_array().unwrap().len(), 1);
    let shown = ok_json(&data, &["report", "show", report["id"].as_str().unwrap(), "--json"]);
    assert_eq!(shown["after_photos"], report["after_photos"]);
    // A plain report prints as it always has: no new fields.
    let plain = ok_json(&data, &["report", "new", "--category", "garbage", "--photo", before, "--json"]);
    assert!(plain.get("fixed_on_spot").is_none() && plain.get("after_photos").is_none());
    assert_eq!(plain["reporter"]["role"], json!("resident"));
    refused(&data, &["report", "new", "--category", "garbage", "--photo", before, "--fixed-on-spot", "--json"]);
    refused(&data, &["report", "new", "--category", "garbage", "--photo", before, "--after-photo", after, "--json"]);
    let err = refused(
        &data,
        &[
            "report",
            "new",
            "--category",
            "garbage",
            "--photo",
            before,
            "--reporter",
            "resident",
            "--fixed-on-spot",
            "--after-photo",
            after,
            "--json",
        ],
    );
    assert!(err.contains("grid worker"), "{err}");
    assert_eq!(ok_json(&data, &["report", "list", "--json"]).as_array().unwrap().len(), 2);
}
