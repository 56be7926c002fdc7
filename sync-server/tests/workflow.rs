//! The case workflow over real HTTP, with real users of every role, the
//! shipped Xixian grid and the server's clock moved by the test (never the
//! system's): a whole cycle with a return and a rework, a duplicate, a
//! rejection, an extension and an overdue case; grids good and bad.

mod common;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use common::*;
use serde_json::{Value, json};

fn grids_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/grids")
}

/// A report of garbage at a point.
fn report_here(photo: &suishoupai_core::PreparedPhoto, latitude: f64, longitude: f64) -> Value {
    let mut r = report(&[photo]);
    r["location"] = json!({ "latitude": latitude, "longitude": longitude, "source": "device", "accuracy_m": 5.0 });
    r
}

/// The server's clock, as a file the server reads at every call.
struct Clock {
    file: PathBuf,
    now: std::cell::Cell<DateTime<Utc>>,
}

impl Clock {
    fn set(&self, at: DateTime<Utc>) {
        // Whole seconds: what the server reads is what the test reckons with.
        let at = DateTime::from_timestamp(at.timestamp(), 0).unwrap();
        self.now.set(at);
        std::fs::write(&self.file, at.to_rfc3339_opts(SecondsFormat::Millis, true)).unwrap();
    }

    fn advance(&self, by: Duration) {
        self.set(self.now.get() + by);
    }

    fn at(&self, from_now: Duration) -> String {
        (self.now.get() + from_now).to_rfc3339_opts(SecondsFormat::Secs, true)
    }
}

fn ok(answer: reqwest::blocking::Response) -> Value {
    let status = answer.status();
    let body: Value = answer.json().unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

fn cli_ok(server: &Server, args: &[&str]) -> String {
    let out = server.cli(args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_case_through_the_whole_cycle() {
    a_case_through_the_whole_cycle_over(&|data, args| Server::start_with(data, args));
}

/// The same cycle over PostgreSQL and S3.
#[test]
fn a_case_through_the_whole_cycle_on_postgresql_and_s3() {
    let (database, bucket) = (postgres::fresh_database(), s3::bucket());
    a_case_through_the_whole_cycle_over(&|_, args| Server::start_scaled_out_with(&database, &bucket, args));
}

fn a_case_through_the_whole_cycle_over(start: &dyn Fn(&Path, &[&str]) -> Server) {
    let data = tempfile::tempdir().unwrap();
    let clock = Clock { file: data.path().join("clock"), now: std::cell::Cell::new(Utc::now()) };
    clock.set(Utc::now());
    let clock_arg = clock.file.to_str().unwrap().to_owned();
    let server = start(data.path(), &["--test-clock", &clock_arg]);

    // The admin sets up the grid, the departments and a route.
    let grid = grids_dir().join("xixian.geojson");
    let imported: Value = serde_json::from_str(&cli_ok(&server, &["grid", "import", grid.to_str().unwrap(), "--json"])).unwrap();
    assert_eq!(imported, json!({ "cells": 60, "replaced": 0 }));
    cli_ok(&server, &["department", "add", "--code", "cg", "--name", "城市管理局", "--name-en", "Urban Management"]);
    cli_ok(&server, &["department", "add", "--code", "sw", "--name", "水务局"]);
    cli_ok(&server, &["route", "set", "--category", "garbage", "--department", "cg", "--deadline-hours", "48"]);
    let unknown = server.cli(&["route", "set", "--category", "garbage", "--department", "nowhere", "--deadline-hours", "48"]);
    assert!(!unknown.status.success() && String::from_utf8_lossy(&unknown.stderr).contains("no department"));
    let no_such = server.cli(&["user", "add", "--name", "x", "--role", "department", "--department", "nowhere"]);
    assert!(!no_such.status.success(), "a department user needs a department that exists");

    let points: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(grids_dir().join("points.json")).unwrap()).unwrap();
    let (lat, lon, cell) =
        (points[0]["latitude"].as_f64().unwrap(), points[0]["longitude"].as_f64().unwrap(), points[0]["grid_id"].as_str().unwrap());
    let ana = server.user("ana", "resident");
    let wang = server.user_with("wang", "grid_worker", &["--grid", cell]);
    let li = server.user_with("li", "grid_worker", &["--grid", points[1]["grid_id"].as_str().unwrap()]);
    let coco = server.user("coco", "coordinator");
    let cg = server.user_with("cg-1", "department", &["--department", "cg"]);
    let sw = server.user_with("sw-1", "department", &["--department", "sw"]);
    let [a, b, c] = photos() else { unreachable!() };
    server.upload_photo(&ana, a);
    server.upload_photo(&cg, b);
    server.upload_photo(&wang, c);

    // Placed in its cell when it arrives; a report outside every cell has none.
    let case = report_here(a, lat, lon);
    let outside = report_here(a, 39.9, 116.4);
    assert!(server.push(&ana, &[case.clone(), outside.clone()]).iter().all(|r| r["outcome"] == "accepted"));
    let id = case["id"].as_str().unwrap().to_owned();
    let get = |token: &str, id: &str| ok(server.get(token, &format!("/v1/reports/{id}")));
    assert_eq!(get(&coco, &id)["grid_id"], cell);
    assert_eq!(get(&coco, outside["id"].as_str().unwrap())["grid_id"], Value::Null);
    assert_eq!(get(&wang, &id)["allowed_actions"], json!([]), "the grid worker sees it, with nothing to do yet");
    assert_eq!(server.get(&li, &format!("/v1/reports/{id}")).status(), 404, "another grid's worker does not");
    assert_eq!(get(&coco, &id)["allowed_actions"], json!(["accept", "reject", "mark_duplicate"]));

    // 受理 → 派遣 with the route's department and deadline prefilled.
    let act = |token: &str, body: Value| server.act(token, &id, &body);
    ok(act(&coco, json!({ "action": "accept", "public_note": "已受理" })));
    let dispatched = ok(act(&coco, json!({ "action": "dispatch", "note": "请两天内清理" })));
    assert_eq!((dispatched["status"].as_str(), dispatched["department"].as_str()), (Some("dispatched"), Some("cg")));
    let due = DateTime::parse_from_rfc3339(dispatched["due_at"].as_str().unwrap()).unwrap();
    assert_eq!((due.with_timezone(&Utc) - clock.now.get()).num_hours(), 48, "now plus the route's hours");
    assert_eq!(dispatched["overdue"], false);
    // 部门报到, then 退回: not theirs.
    assert_error(act(&sw, json!({ "action": "acknowledge" })), 404, "not_found", "");
    ok(act(&cg, json!({ "action": "acknowledge" })));
    let tasks = ok(server.get(&cg, "/v1/tasks"));
    assert_eq!(tasks["me"]["department"], "cg");
    assert_eq!(tasks["tasks"][0]["id"], id.as_str());
    assert_eq!(tasks["tasks"][0]["allowed_actions"], json!(["return", "rectify"]));
    let returned = ok(act(&cg, json!({ "action": "return", "note": "属水务" })));
    assert_eq!((returned["status"].as_str(), returned.get("department")), (Some("accepted"), None));
    // Dispatched again, overriding the route; the first department keeps a read-only view.
    ok(act(&coco, json!({ "action": "dispatch", "department": "sw", "due_at": clock.at(Duration::hours(24)) })));
    let cg_view = get(&cg, &id);
    assert_eq!(cg_view["allowed_actions"], json!([]), "handled before: read-only");
    assert!(cg_view.get("owner").is_none() && cg_view.get("reporter").is_none());
    ok(act(&sw, json!({ "action": "return", "note": "还是城管的" })));
    ok(act(&coco, json!({ "action": "dispatch", "department": "cg", "due_at": clock.at(Duration::hours(24)) })));
    // 处置 with an after-photo, 返工 by the grid worker, 处置 again, 核查结案.
    let rectified = ok(act(&cg, json!({ "action": "rectify", "note": "已清理", "public_note": "已清理完毕", "photos": [b.sha256] })));
    assert_eq!(rectified["status"], "rectified");
    assert_eq!(rectified["overdue"], false, "a rectified case awaits verification, it is not late");
    assert_error(act(&cg, json!({ "action": "verify" })), 403, "forbidden", "verify");
    ok(act(&wang, json!({ "action": "reopen", "note": "又堆上了", "due_at": clock.at(Duration::hours(12)) })));
    ok(act(&cg, json!({ "action": "rectify", "note": "再次清理", "photos": [b.sha256] })));
    let closed = ok(act(&wang, json!({ "action": "verify", "public_note": "核查通过" })));
    assert_eq!(closed["status"], "closed");
    let trail: Vec<&str> = closed["history"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap_or("submit")).collect();
    assert_eq!(
        trail,
        [
            "submit",
            "accept",
            "dispatch",
            "acknowledge",
            "return",
            "dispatch",
            "return",
            "dispatch",
            "rectify",
            "reopen",
            "rectify",
            "verify"
        ]
    );
    let refused = act(&li, json!({ "action": "reopen", "note": "x", "due_at": clock.at(Duration::hours(1)) }));
    assert_eq!(refused.status(), 404, "li's grid is another");
    let refused: Value = act(&coco, json!({ "action": "verify" })).json().unwrap();
    assert_eq!(refused["error"], "invalid_transition");
    assert!(refused["message"].as_str().unwrap().contains("verify by wang"), "{refused}");
    assert_eq!(refused["allowed_actions"], json!(["reopen"]));

    // The reporter sees the states and the public notes, never the internal ones or staff names.
    let mine = get(&ana, &id);
    let history = mine["history"].as_array().unwrap();
    assert!(history.iter().all(|h| h.get("note").is_none()), "{mine}");
    assert!(history.iter().skip(1).all(|h| h["actor"].is_null()));
    let feed = ok(server.get(&ana, "/v1/changes?limit=1000"));
    let notes: Vec<&str> = feed["changes"].as_array().unwrap().iter().filter_map(|c| c["note"].as_str()).collect();
    assert_eq!(notes, ["已受理", "已清理完毕", "核查通过"]);

    // 重复: suggested nearby with its photo's likeness, then marked.
    let near = report_here(a, lat + 0.0003, lon);
    let twin = report_here(a, lat + 0.0004, lon);
    let far = report_here(a, lat + 0.01, lon);
    server.push(&ana, &[near.clone(), twin.clone(), far.clone()]);
    let twin_id = twin["id"].as_str().unwrap();
    let found = ok(server.get(&coco, &format!("/v1/reports/{twin_id}/duplicates")));
    let candidates = found["candidates"].as_array().unwrap();
    assert_eq!(candidates.len(), 1, "the closed case and the far one are not suggested: {found}");
    assert_eq!(candidates[0]["id"], near["id"]);
    let distance = candidates[0]["distance_m"].as_f64().unwrap();
    assert!((5.0..20.0).contains(&distance), "{distance}");
    assert_eq!(candidates[0]["photo_similarity"], 1.0, "the same photo");
    assert_error(server.get(&cg, &format!("/v1/reports/{twin_id}/duplicates")), 403, "forbidden", "");
    let ghost = "01900000-0000-7000-8000-0000000000ff";
    assert_error(server.act(&coco, twin_id, &json!({ "action": "mark_duplicate", "duplicate_of": ghost })), 400, "bad_request", ghost);
    let marked = ok(server.act(&coco, twin_id, &json!({ "action": "mark_duplicate", "duplicate_of": near["id"] })));
    assert_eq!((marked["status"].as_str(), marked["duplicate_of"].clone()), (Some("duplicate"), near["id"].clone()));

    // 不予立案 needs a reason.
    let far_id = far["id"].as_str().unwrap();
    assert_error(server.act(&coco, far_id, &json!({ "action": "reject" })), 400, "bad_request", "note");
    assert_eq!(ok(server.act(&coco, far_id, &json!({ "action": "reject", "note": "不属实" })))["status"], "rejected");

    // 延期 and 超期, by the server's clock moved past the deadline.
    let near_id = near["id"].as_str().unwrap();
    ok(server.act(&coco, near_id, &json!({ "action": "accept" })));
    ok(server.act(&coco, near_id, &json!({ "action": "dispatch", "due_at": clock.at(Duration::hours(1)) })));
    assert_error(
        server.act(&coco, near_id, &json!({ "action": "extend", "note": "x", "due_at": clock.at(Duration::hours(-1)) })),
        400,
        "bad_request",
        "future",
    );
    clock.advance(Duration::hours(2));
    assert_eq!(get(&coco, near_id)["overdue"], true);
    assert_eq!(
        ok(server.get(&wang, "/v1/tasks"))["tasks"].as_array().unwrap().iter().find(|t| t["id"] == near["id"]).unwrap()["overdue"],
        true
    );
    let extended =
        ok(server.act(&coco, near_id, &json!({ "action": "extend", "note": "等材料", "due_at": clock.at(Duration::hours(24)) })));
    assert_eq!((extended["status"].as_str(), extended["overdue"].as_bool()), (Some("dispatched"), Some(false)));

    // 即查即改: a grid worker's report fixed on the spot arrives rectified.
    let mut fixed = report_here(c, lat, lon);
    fixed["reporter"] = json!({ "role": "grid_worker", "grid_id": cell });
    fixed["fixed_on_spot"] = json!(true);
    fixed["after_photos"] = fixed["photos"].clone();
    assert_eq!(server.push(&wang, &[fixed.clone()])[0]["status"], "rectified");
    let stored = get(&coco, fixed["id"].as_str().unwrap());
    assert_eq!(stored["history"].as_array().unwrap().len(), 2);
    assert_eq!(stored["allowed_actions"], json!(["verify", "reopen"]));
    let mut by_resident = report_here(a, lat, lon);
    by_resident["fixed_on_spot"] = json!(true);
    by_resident["after_photos"] = by_resident["photos"].clone();
    let refused = server.push(&ana, &[by_resident]);
    assert_eq!(refused[0]["outcome"], "invalid");
    assert!(refused[0]["error"].as_str().unwrap().contains("grid workers"));

    // The grid worker's task list: the grid's open cases, not the closed one.
    let tasks = ok(server.get(&wang, "/v1/tasks"));
    let ids: Vec<&str> = tasks["tasks"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&fixed["id"].as_str().unwrap()) && !ids.contains(&id.as_str()), "{ids:?}");
    assert_eq!(ok(server.get(&ana, "/v1/tasks"))["tasks"], json!([]));

    // A re-import that redraws the case's cell moves no old case, until an admin says so.
    let mut file: Value = serde_json::from_str(&std::fs::read_to_string(&grid).unwrap()).unwrap();
    let feature = file["features"].as_array_mut().unwrap().iter_mut().find(|f| f["properties"]["grid_id"] == cell).unwrap();
    feature["geometry"] =
        json!({ "type": "Polygon", "coordinates": [[[114.0, 32.0], [114.01, 32.0], [114.01, 32.01], [114.0, 32.01], [114.0, 32.0]]] });
    let redrawn = data.path().join("redrawn.geojson");
    std::fs::write(&redrawn, file.to_string()).unwrap();
    let again: Value = serde_json::from_str(&cli_ok(&server, &["grid", "import", redrawn.to_str().unwrap(), "--json"])).unwrap();
    assert_eq!(again, json!({ "cells": 60, "replaced": 60 }));
    assert_eq!(get(&coco, &id)["grid_id"], cell, "placement is kept");
    let reassigned: Value = serde_json::from_str(&cli_ok(&server, &["grid", "reassign", "--json"])).unwrap();
    assert_eq!(reassigned["moved"], 4, "the case, the two near it and the one fixed on the spot: {reassigned}");
    assert_eq!(get(&coco, &id)["grid_id"], Value::Null, "its point is in no cell now");
}

#[test]
fn bad_grid_files_import_nothing() {
    let data = tempfile::tempdir().unwrap();
    let bad = grids_dir().join("bad");
    let expected: serde_json::Map<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(bad.join("expected.json")).unwrap()).unwrap();
    assert!(expected.len() >= 9);
    for (file, want) in &expected {
        let out = cli(data.path(), &["grid", "import", bad.join(file).to_str().unwrap()]);
        let message = String::from_utf8_lossy(&out.stderr).to_lowercase();
        assert!(!out.status.success(), "{file} was imported");
        assert!(message.contains(want["contains"].as_str().unwrap()), "{file}: {message}");
        match want["index"].as_u64() {
            Some(i) => assert!(message.contains(&format!("features[{i}]")), "{file}: {message}"),
            None => assert!(!message.contains("features["), "{file}: {message}"),
        }
        assert!(message.contains("nothing was imported"), "{file}: {message}");
        let listed = cli(data.path(), &["grid", "list", "--json"]);
        assert_eq!(String::from_utf8_lossy(&listed.stdout).trim(), "[]", "{file} left cells behind");
    }
    // The GCJ-02 file, converted, gives back the WGS-84 cells within a metre.
    let gcj = grids_dir().join("xixian-gcj02.geojson");
    let out = cli(data.path(), &["grid", "import", gcj.to_str().unwrap(), "--crs", "gcj02"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let server = Server::start_in(data.path());
    let root = server.user("root", "admin");
    let from_gcj = ok(server.get(&root, "/v1/grids"));
    let wgs = std::fs::read_to_string(grids_dir().join("xixian.geojson")).unwrap();
    let answer = server.request(reqwest::Method::POST, &root, "/v1/grids").body(wgs).send().unwrap();
    assert_eq!(ok(answer)["replaced"], 60);
    let from_wgs = ok(server.get(&root, "/v1/grids"));
    for (x, y) in from_gcj["cells"].as_array().unwrap().iter().zip(from_wgs["cells"].as_array().unwrap()) {
        for k in 0..4 {
            let (p, q) = (x["bbox"][k].as_f64().unwrap(), y["bbox"][k].as_f64().unwrap());
            assert!((p - q).abs() < 1e-5, "{x} vs {y}");
        }
    }
    let bad_crs = server.request(reqwest::Method::POST, &root, "/v1/grids?crs=mars").body("{}").send().unwrap();
    assert_error(bad_crs, 400, "bad_request", "mars");
}
