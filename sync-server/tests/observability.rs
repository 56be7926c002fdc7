//! The request log and `GET /metrics` of a real server process.
//!
//! The log test drives a console sign-in with a known password, a push
//! with a known note, coordinate and user name, and requests with the
//! token in the header and in a query (Open311's `api_key`); then it reads
//! what the server wrote to stderr: every request is there with its route
//! template, status, duration and user id, and none of those secrets is
//! anywhere in the log. The metrics test checks who may read them and
//! that the series move with a push, an upload and a late case.

mod common;

use std::collections::HashMap;
use std::path::Path;

use common::*;
use reqwest::blocking::multipart::Form;
use reqwest::redirect::Policy;
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery staple 7731";
const NOTE: &str = "楼道里的秘密纸箱 NOTE-55871";
const LATITUDE: f64 = 39.871_234_5;
const LONGITUDE: f64 = 116.387_654_3;
const RESIDENT: &str = "wang-xiaoming-resident";
const COORDINATOR: &str = "li-coordinator";

fn request_lines(log: &Path) -> Vec<Value> {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("a log line that is not JSON ({e}): {line}")))
        .filter(|event| event["target"] == "request")
        .collect()
}

#[test]
fn the_request_log_names_routes_statuses_and_users_and_no_secret() {
    let data = tempfile::tempdir().unwrap();
    let log = data.path().join("server.log");
    let server = Server::start_logging_to(tempfile::tempdir().unwrap(), &[], &log);
    let resident = server.user(RESIDENT, "resident");
    let coordinator = server.user(COORDINATOR, "coordinator");
    server.set_password(COORDINATOR, PASSWORD);

    // The console's sign-in, with the password in a form body.
    let browser = reqwest::blocking::Client::builder().redirect(Policy::none()).build().unwrap();
    let page = browser.get(server.url("/console/sign-in")).send().unwrap();
    let cookie = page.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let html = page.text().unwrap();
    let csrf = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let form = Form::new().text("csrf", csrf).text("name", COORDINATOR).text("password", PASSWORD);
    let signed_in = browser.post(server.url("/console/sign-in")).header("cookie", &cookie).multipart(form).send().unwrap();
    assert_eq!(signed_in.status(), 303);
    let session = common::session_cookie(&signed_in).split(';').next().unwrap().to_owned();
    assert_eq!(browser.get(server.url("/console/cases")).header("cookie", &session).send().unwrap().status(), 200);

    // A push with a known note and place, its photo uploaded first.
    let photo = &photos()[0];
    server.upload_photo(&resident, photo);
    let mut report = report(&[photo]);
    report["note"] = NOTE.into();
    report["location"]["latitude"] = LATITUDE.into();
    report["location"]["longitude"] = LONGITUDE.into();
    let id = report["id"].as_str().unwrap().to_owned();
    assert_eq!(server.push(&resident, &[report])[0]["outcome"], "accepted");
    assert_eq!(server.get(&coordinator, &format!("/v1/reports/{id}")).status(), 200);
    // The token in a query, and a wrong token in the header.
    let open311 = server.http.get(server.url(&format!("/open311/v2/requests.json?api_key={coordinator}"))).send().unwrap();
    assert_eq!(open311.status(), 200);
    assert_eq!(server.get("not-a-token-at-all-9913", "/v1/reports").status(), 401);
    // A path no route has, with a secret in it.
    assert_eq!(server.get(&resident, &format!("/v1/nothing/{NOTE}")).status(), 404);
    drop(server);

    let requests = request_lines(&log);
    let find =
        |method: &str, route: &str| -> Vec<&Value> { requests.iter().filter(|r| r["method"] == method && r["route"] == route).collect() };
    for r in &requests {
        assert!(r["status"].is_u64() && r["duration_ms"].is_number(), "{r}");
        assert!(r["route"].as_str().unwrap().starts_with('/') || r["route"] == "unmatched", "{r}");
    }
    let push = find("POST", "/v1/push");
    assert_eq!(push.len(), 1, "{requests:?}");
    let resident_id = push[0]["user_id"].as_i64().expect("the pusher's user id");
    assert_eq!(push[0]["status"], 200);
    let patches = find("PATCH", "/v1/uploads/{sha256}");
    assert!(!patches.is_empty() && patches.iter().all(|r| r["user_id"] == resident_id && r["status"] == 204), "{patches:?}");
    let one = find("GET", "/v1/reports/{id}");
    assert_eq!(one.len(), 1);
    let coordinator_id = one[0]["user_id"].as_i64().expect("the reader's user id");
    assert_ne!(coordinator_id, resident_id);
    let by_query = find("GET", "/open311/v2/requests.json");
    assert_eq!((by_query[0]["status"].as_u64(), by_query[0]["user_id"].as_i64()), (Some(200), Some(coordinator_id)));
    let console = find("GET", "/console/cases");
    assert_eq!((console[0]["status"].as_u64(), console[0]["user_id"].as_i64()), (Some(200), Some(coordinator_id)));
    let sign_in = find("POST", "/console/sign-in");
    assert_eq!(sign_in[0]["status"], 303);
    let refused = find("GET", "/v1/reports");
    assert_eq!(refused.len(), 1);
    assert_eq!((refused[0]["status"].as_u64(), refused[0]["error"].as_str()), (Some(401), Some("unauthorized")));
    assert!(refused[0].get("user_id").is_none(), "{}", refused[0]);
    let unmatched = find("GET", "unmatched");
    assert_eq!((unmatched[0]["status"].as_u64(), unmatched[0]["error"].as_str()), (Some(404), Some("not_found")));

    // Nothing secret or personal, anywhere in the log.
    let text = std::fs::read_to_string(&log).unwrap();
    let session_value = session.split('=').nth(1).unwrap();
    for secret in [
        resident.as_str(),
        coordinator.as_str(),
        "not-a-token-at-all-9913",
        PASSWORD,
        session_value,
        NOTE,
        "NOTE-55871",
        "39.871",
        "116.387",
        RESIDENT,
        COORDINATOR,
        "api_key",
    ] {
        assert!(!text.contains(secret), "the log holds {secret:?}:\n{text}");
    }
}

/// The samples of an OpenMetrics text, by series (name and labels as written).
fn samples(text: &str) -> HashMap<String, f64> {
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap();
            (series.to_owned(), value.parse().unwrap())
        })
        .collect()
}

fn scrape(server: &Server, admin: &str) -> HashMap<String, f64> {
    let answer = server.get(admin, "/metrics");
    assert_eq!(answer.status(), 200);
    assert!(answer.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
    samples(&answer.text().unwrap())
}

fn value(samples: &HashMap<String, f64>, series: &str) -> f64 {
    samples.get(series).copied().unwrap_or(0.0)
}

#[test]
fn metrics_are_the_admins_and_move_with_pushes_uploads_and_late_cases() {
    let data = tempfile::tempdir().unwrap();
    let clock = data.path().join("clock");
    let server = Server::start_with(tempfile::tempdir().unwrap(), &["--test-clock", clock.to_str().unwrap()]);
    let admin = server.user("ops", "admin");
    let resident = server.user("r", "resident");
    let coordinator = server.user("c", "coordinator");
    let grid_worker = server.user_with("g", "grid_worker", &["--grid", "g1"]);
    let department = server.user_with("d", "department", &["--department", "water"]);

    for (token, status) in [(&resident, 403), (&coordinator, 403), (&grid_worker, 403), (&department, 403)] {
        assert_error(server.get(token, "/metrics"), status, "forbidden", "admins");
    }
    assert_error(server.http.get(server.url("/metrics")).send().unwrap(), 401, "unauthorized", "Authorization");

    let before = scrape(&server, &admin);
    assert_eq!(value(&before, "suishoupai_open_uploads"), 0.0);
    assert_eq!(value(&before, "suishoupai_overdue_cases"), 0.0);
    // The refusals above were counted, by route template and status.
    assert_eq!(value(&before, r#"suishoupai_http_requests_total{method="GET",route="/metrics",status="403"}"#), 4.0);
    assert_eq!(value(&before, r#"suishoupai_http_requests_total{method="GET",route="/metrics",status="401"}"#), 1.0);

    let photo = &photos()[1];
    server.upload_photo(&resident, photo);
    let report = report(&[photo]);
    let id = report["id"].as_str().unwrap().to_owned();
    assert_eq!(server.push(&resident, std::slice::from_ref(&report))[0]["outcome"], "accepted");
    assert_eq!(server.push(&resident, &[report])[0]["outcome"], "accepted");
    let mut invalid = common::report(&[photo]);
    invalid["category"] = "no-such-category".into();
    assert_eq!(server.push(&resident, &[invalid])[0]["outcome"], "invalid");
    // An upload begun and left open.
    let other = &photos()[2];
    assert_eq!(server.post(&resident, "/v1/uploads", &json!({ "sha256": other.sha256, "length": other.rendition.len() })).status(), 200);

    let after = scrape(&server, &admin);
    let pushed = |s: &HashMap<String, f64>, outcome: &str| value(s, &format!(r#"suishoupai_push_reports_total{{outcome="{outcome}"}}"#));
    assert_eq!(pushed(&after, "stored") - pushed(&before, "stored"), 1.0);
    assert_eq!(pushed(&after, "already_had") - pushed(&before, "already_had"), 1.0);
    assert_eq!(pushed(&after, "invalid") - pushed(&before, "invalid"), 1.0);
    assert_eq!(
        value(&after, "suishoupai_upload_bytes_total") - value(&before, "suishoupai_upload_bytes_total"),
        photo.rendition.len() as f64
    );
    assert_eq!(value(&after, "suishoupai_open_uploads"), 1.0);
    assert_eq!(value(&after, r#"suishoupai_http_requests_total{method="POST",route="/v1/push",status="200"}"#), 3.0);
    assert!(value(&after, r#"suishoupai_http_request_duration_seconds_count{method="POST",route="/v1/push"}"#) >= 3.0);

    // A case due in a day is late once the clock has moved two days on.
    server.dispatch(&coordinator, &id, "water");
    assert_eq!(value(&scrape(&server, &admin), "suishoupai_overdue_cases"), 0.0);
    let later = chrono::Utc::now() + chrono::Duration::days(2);
    std::fs::write(&clock, later.to_rfc3339()).unwrap();
    assert_eq!(value(&scrape(&server, &admin), "suishoupai_overdue_cases"), 1.0);
}
