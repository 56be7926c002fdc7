//! Issue 13: `move`, a SQLite deployment moved to PostgreSQL and a bucket.
//! A deployment is filled through the real API (a grid, departments, a
//! route, users of every role, reports with photos, a case taken through
//! its cycle, a refused action), moved, and served from PostgreSQL and S3
//! by a server with an empty data directory: the same reports, histories,
//! changes feeds and photo bytes, the old tokens, and new writes that do
//! not collide with the ids moved.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;
use serde_json::{Value, json};
use suishoupai_server::blobs::s3::S3Location;
use suishoupai_server::testkit::{postgres, s3};

const AWS: [(&str, &str); 2] = [("AWS_ACCESS_KEY_ID", s3::ACCESS_KEY), ("AWS_SECRET_ACCESS_KEY", s3::SECRET_KEY)];

fn endpoint(bucket: &S3Location) -> &str {
    bucket.endpoint.as_deref().unwrap()
}

/// `suishoupai-server --data DATA move --to-database URL --to-photos s3://… --json`.
fn run_move(data: &Path, url: &str, bucket: &S3Location) -> Output {
    let photos = format!("s3://{}", bucket.bucket);
    Command::new(bin())
        .arg("--data")
        .arg(data)
        .args(["move", "--to-database", url, "--to-photos", &photos, "--to-s3-endpoint", endpoint(bucket), "--json"])
        .envs(AWS)
        .output()
        .unwrap()
}

/// The server's CLI against PostgreSQL.
fn cli_on(url: &str, args: &[&str]) -> Output {
    let data = tempfile::tempdir().unwrap();
    Command::new(bin()).arg("--data").arg(data.path()).args(["--database", url]).args(args).output().unwrap()
}

fn ok(answer: reqwest::blocking::Response) -> Value {
    let status = answer.status();
    let body: Value = answer.json().unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

fn cli_ok(server: &Server, args: &[&str]) {
    let out = server.cli(args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn report_at_point(photos: &[&suishoupai_core::PreparedPhoto], latitude: f64, longitude: f64) -> Value {
    let mut r = report(photos);
    r["location"] = json!({ "latitude": latitude, "longitude": longitude, "source": "device", "accuracy_m": 5.0 });
    r
}

#[test]
fn a_moved_deployment_serves_the_same_reports_photos_and_tokens_from_postgres_and_s3() {
    // A deployment on SQLite, filled through the API.
    let server = Server::start();
    let grids = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/grids");
    cli_ok(&server, &["grid", "import", grids.join("xixian.geojson").to_str().unwrap()]);
    cli_ok(&server, &["department", "add", "--code", "cg", "--name", "城市管理局"]);
    cli_ok(&server, &["route", "set", "--category", "garbage", "--department", "cg", "--deadline-hours", "48"]);
    let points: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(grids.join("points.json")).unwrap()).unwrap();
    let (lat, lon, cell) =
        (points[0]["latitude"].as_f64().unwrap(), points[0]["longitude"].as_f64().unwrap(), points[0]["grid_id"].as_str().unwrap());
    let ana = server.user("ana", "resident");
    let wang = server.user_with("wang", "grid_worker", &["--grid", cell]);
    let coco = server.user("coco", "coordinator");
    let cg = server.user_with("cg-1", "department", &["--department", "cg"]);
    let [a, b, c] = photos() else { unreachable!() };
    server.upload_photo(&ana, a);
    server.upload_photo(&ana, c);
    server.upload_photo(&cg, b);
    let case = report_at_point(&[a], lat, lon);
    let other = report_at_point(&[a, c], 39.9, 116.4);
    let third = report(&[c]);
    assert!(server.push(&ana, &[case.clone(), other.clone(), third.clone()]).iter().all(|r| r["outcome"] == "accepted"));
    let id = case["id"].as_str().unwrap();
    ok(server.act(&coco, id, &json!({ "action": "accept", "public_note": "已受理" })));
    ok(server.act(&coco, id, &json!({ "action": "dispatch" })));
    ok(server.act(&cg, id, &json!({ "action": "acknowledge" })));
    ok(server.act(&cg, id, &json!({ "action": "rectify", "note": "已清理", "photos": [b.sha256] })));
    ok(server.act(&coco, other["id"].as_str().unwrap(), &json!({ "action": "accept" })));
    // A refusal, recorded under its action id.
    assert_eq!(server.act(&coco, other["id"].as_str().unwrap(), &json!({ "action": "accept" })).status(), 409);
    // A thumbnail the server made.
    let thumbnail = server.get(&coco, &format!("/v1/photos/{}/thumbnail", a.sha256));
    assert_eq!(thumbnail.status(), 200);
    let thumbnail = thumbnail.bytes().unwrap().to_vec();

    let ids: Vec<&str> = [&case, &other, &third].iter().map(|r| r["id"].as_str().unwrap()).collect();
    let seen = |server: &Server| {
        let reports: Vec<Value> = ids.iter().map(|id| ok(server.get(&coco, &format!("/v1/reports/{id}")))).collect();
        let feeds: Vec<Value> = [&ana, &coco, &cg, &wang].iter().map(|t| ok(server.get(t, "/v1/changes?limit=500"))).collect();
        let tasks = ok(server.get(&cg, "/v1/tasks"));
        (reports, feeds, tasks)
    };
    let before = seen(&server);
    assert_eq!(before.0[0]["status"], "rectified");
    let data = server.dir().to_owned();
    let kept = server.kill();

    // The move.
    let url = postgres::fresh_database();
    let bucket = s3::bucket();
    let out = run_move(&data, &url, &bucket);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("must be stopped"));
    let moved: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(moved["verified"], true, "{moved}");
    assert_eq!((moved["tables"]["users"].as_u64(), moved["tables"]["reports"].as_u64()), (Some(4), Some(3)), "{moved}");
    assert_eq!(moved["tables"]["grids"], 60);
    assert_eq!(moved["tables"]["refused_actions"], 1);
    assert_eq!(moved["tables"]["events"].as_u64(), Some(3 + 5), "a submission each, 4 actions of the case, 1 of the other: {moved}");
    assert_eq!((moved["photos"]["named"].as_u64(), moved["photos"]["copied"].as_u64()), (Some(3), Some(3)), "{moved}");
    assert_eq!(moved["photos"]["thumbnails"], 1);

    // Served from PostgreSQL and S3, with an empty data directory.
    let photos_arg = format!("s3://{}", bucket.bucket);
    let args = ["--database", &url, "--photos", &photos_arg, "--s3-endpoint", endpoint(&bucket)];
    let moved_server = Server::start_with_env(tempfile::tempdir().unwrap(), &args, &AWS);
    let after = seen(&moved_server);
    assert_eq!(after.0, before.0, "the same reports, statuses and histories");
    assert_eq!(after.1, before.1, "the same changes feeds, cursors included");
    assert_eq!(after.2, before.2, "the same tasks");
    for p in [a, b, c] {
        let bytes = moved_server.get(&coco, &format!("/v1/photos/{}", p.sha256)).bytes().unwrap();
        assert_eq!(bytes, p.rendition, "photo {} byte for byte", p.sha256);
    }
    let served = moved_server.get(&coco, &format!("/v1/photos/{}/thumbnail", a.sha256)).bytes().unwrap();
    assert_eq!(served.to_vec(), thumbnail, "the thumbnail moved");

    // New rows take ids past the moved ones: a user, a report, an event
    // that the changes feed hands out after the old cursor.
    let cursor = before.1[1]["next_cursor"].as_str().unwrap().to_owned();
    let added = cli_on(&url, &["user", "add", "--name", "dora", "--role", "resident", "--json"]);
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let dora: Value = serde_json::from_slice(&added.stdout).unwrap();
    let dora = dora["token"].as_str().unwrap();
    moved_server.upload_photo(dora, c);
    let fresh = report(&[c]);
    assert_eq!(moved_server.push(dora, std::slice::from_ref(&fresh))[0]["outcome"], "accepted");
    ok(moved_server.act(&coco, ids[2], &json!({ "action": "accept" })));
    let next = ok(moved_server.get(&coco, &format!("/v1/changes?cursor={cursor}")));
    let changed: Vec<&str> = next["changes"].as_array().unwrap().iter().map(|c| c["report_id"].as_str().unwrap()).collect();
    assert!(changed.contains(&ids[2]) && changed.contains(&fresh["id"].as_str().unwrap()), "{next}");
    assert!(next["next_cursor"].as_str().unwrap().parse::<i64>().unwrap() > cursor.parse::<i64>().unwrap());
    drop(moved_server);

    // A second move into the same database is refused and changes nothing.
    let again = run_move(kept.path(), &url, &bucket);
    assert!(!again.status.success());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("already holds") && stderr.contains("nothing was changed"), "{stderr}");
    let users: Value = serde_json::from_slice(&cli_on(&url, &["user", "list", "--json"]).stdout).unwrap();
    assert_eq!(users.as_array().unwrap().len(), 5, "the four moved and dora");
}

#[test]
fn a_photo_changed_before_the_move_fails_it_by_name_and_leaves_the_database_empty() {
    let server = Server::start();
    let ana = server.user("ana", "resident");
    let [a, b, _] = photos() else { unreachable!() };
    server.upload_photo(&ana, a);
    server.upload_photo(&ana, b);
    assert!(server.push(&ana, &[report(&[a]), report(&[b])]).iter().all(|r| r["outcome"] == "accepted"));
    let data = server.dir().to_owned();
    let kept = server.kill();
    // The second photo in name order, so that one is copied before the failure.
    let damaged_sha = std::cmp::max(&a.sha256, &b.sha256);
    let path = data.join("photos/renditions").join(&damaged_sha[..2]).join(format!("{damaged_sha}.jpg"));
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();

    let (url, bucket) = (postgres::fresh_database(), s3::bucket());
    let out = run_move(kept.path(), &url, &bucket);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(damaged_sha.as_str()) && stderr.contains("changed or damaged"), "{stderr}");
    let users: Value = serde_json::from_slice(&cli_on(&url, &["user", "list", "--json"]).stdout).unwrap();
    assert_eq!(users, json!([]), "no row was moved");
    let ledger = tempfile::tempdir().unwrap();
    let ledger = ledger.path().join("ledger.csv");
    let reports = cli_on(&url, &["ledger", "export", "--format", "csv", "--out", ledger.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&reports.stdout).contains("wrote 0 reports"), "{}", String::from_utf8_lossy(&reports.stdout));

    // Put right, the move runs again and finds the first photo copied already.
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[middle] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();
    let out = run_move(kept.path(), &url, &bucket);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let moved: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((moved["photos"]["copied"].as_u64(), moved["photos"]["already_there"].as_u64()), (Some(1), Some(1)), "{moved}");
}
