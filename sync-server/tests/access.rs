//! The read API and the workflow's rules over a real server process. Who
//! may call which endpoint is tested in process (src/http/tests.rs).

mod common;

use common::{Server, assert_error, photos, report, report_at};
use serde_json::{Value, json};

struct World {
    server: Server,
    tokens: Vec<String>,
    wang_report: String,
}

/// ana and bo are residents; wang (g-07) and li (g-08) grid workers; cg
/// (城管) and sw (水务) departments; coco a coordinator, root an admin.
/// ana reported with photo 0; wang reported with photo 1 on patrol, and
/// coco dispatched that to 城管.
fn world() -> World {
    let server = Server::start();
    let tokens = vec![
        server.user("ana", "resident"),
        server.user("bo", "resident"),
        server.user_with("wang", "grid_worker", &["--grid", "g-07"]),
        server.user_with("li", "grid_worker", &["--grid", "g-08"]),
        server.user_with("cg", "department", &["--department", "城管"]),
        server.user_with("sw", "department", &["--department", "水务"]),
        server.user("coco", "coordinator"),
        server.user("root", "admin"),
    ];
    let [a, b, _] = photos() else { unreachable!() };
    server.upload_photo(&tokens[0], a);
    server.upload_photo(&tokens[2], b);
    let ana = report(&[a]);
    let mut wang = report(&[b]);
    wang["reporter"] = json!({ "role": "grid_worker", "grid_id": "g-07" });
    assert_eq!(server.push(&tokens[0], std::slice::from_ref(&ana))[0]["outcome"], "accepted");
    assert_eq!(server.push(&tokens[2], std::slice::from_ref(&wang))[0]["outcome"], "accepted");
    let wang_report = wang["id"].as_str().unwrap().to_owned();
    let answer =
        server.post(&tokens[6], &format!("/v1/reports/{wang_report}/status"), &json!({ "status": "dispatched", "department": "城管" }));
    assert_eq!(answer.status(), 200);
    World { server, tokens, wang_report }
}

#[test]
fn read_api_filters_and_pages() {
    let server = Server::start();
    let ana = server.user("ana", "resident");
    let coco = server.user("coco", "coordinator");
    let [a, _, _] = photos() else { unreachable!() };
    server.upload_photo(&ana, a);
    // 12 reports a day apart, every third one about illegal parking.
    let reports: Vec<Value> = (0..12)
        .map(|day| {
            let mut r = report_at(&[a], &format!("2026-03-{:02}T09:30:00+08:00", day + 1));
            if day % 3 == 0 {
                r["category"] = json!("illegal_parking");
            }
            r
        })
        .collect();
    assert!(server.push(&ana, &reports).iter().all(|r| r["outcome"] == "accepted"));
    let id = |day: usize| reports[day]["id"].as_str().unwrap().to_owned();
    server.post(&coco, &format!("/v1/reports/{}/status", id(4)), &json!({ "status": "rejected", "note": "重复" }));
    server.post(&coco, &format!("/v1/reports/{}/status", id(5)), &json!({ "status": "dispatched", "department": "城管" }));

    // Paging: all 12, newest first, no repeats, pages of 5.
    let list = |query: &str| -> Vec<String> {
        let mut ids = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let sep = if query.is_empty() { "" } else { "&" };
            let path = match &cursor {
                Some(c) => format!("/v1/reports?limit=5&cursor={c}{sep}{query}"),
                None => format!("/v1/reports?limit=5{sep}{query}"),
            };
            let answer = server.get(&coco, &path);
            assert_eq!(answer.status(), 200, "{path}");
            let page: Value = answer.json().unwrap();
            let got = page["reports"].as_array().unwrap();
            assert!(got.len() <= 5);
            ids.extend(got.iter().map(|r| r["id"].as_str().unwrap().to_owned()));
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return ids,
            }
        }
    };
    assert_eq!(list(""), (0..12).rev().map(id).collect::<Vec<_>>());
    assert_eq!(list("category=illegal_parking"), vec![id(9), id(6), id(3), id(0)]);
    assert_eq!(list("status=rejected"), vec![id(4)]);
    assert_eq!(list("status=submitted").len(), 10);
    // 2026-03-03T09:30+08:00 is 01:30Z; since is inclusive, until exclusive.
    assert_eq!(list("since=2026-03-03T01:30:00Z&until=2026-03-06T00:00:00%2B08:00"), vec![id(4), id(3), id(2)]);

    // One report in full.
    let full: Value = server.get(&coco, &format!("/v1/reports/{}", id(5))).json().unwrap();
    for (key, value) in reports[5].as_object().unwrap() {
        assert_eq!(&full[key], value, "the report as pushed: {key}");
    }
    assert_eq!(full["status"], "dispatched");
    assert_eq!(full["owner"], "ana");
    assert_eq!(full["grid_id"], Value::Null);
    assert_eq!(full["department"], "城管");
    assert!(full["received_at"].as_str().unwrap().ends_with('Z'));
    let history = full["history"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["status"], "submitted");
    assert_eq!(history[0]["actor"], "ana");
    assert_eq!(history[1]["status"], "dispatched");
    assert_eq!(history[1]["actor"], "coco");
    assert!(history[1]["at"].is_string() && history[1].get("note").is_some());
    let undispatched: Value = server.get(&coco, &format!("/v1/reports/{}", id(1))).json().unwrap();
    assert!(undispatched.get("department").is_none());

    // Bad parameters name themselves.
    assert_error(server.get(&coco, "/v1/reports?status=lost"), 400, "bad_request", "status");
    assert_error(server.get(&coco, "/v1/reports?category=cats"), 400, "bad_request", "category");
    assert_error(server.get(&coco, "/v1/reports?since=last+week"), 400, "bad_request", "since");
    assert_error(server.get(&coco, "/v1/reports?limit=many"), 400, "bad_request", "limit");
    assert_error(server.get(&coco, "/v1/reports?cursor=nope"), 400, "bad_request", "cursor");
    assert_error(server.get(&coco, "/v1/reports?colour=red"), 400, "bad_request", "colour");
    // Limits above the maximum are capped, not refused.
    assert_eq!(server.get(&coco, "/v1/reports?limit=100000").status(), 200);
}

#[test]
fn status_workflow_rules() {
    let w = world();
    let (coco, cg, sw) = (&w.tokens[6], &w.tokens[4], &w.tokens[5]);
    let status = |token: &str, id: &str, body: Value| w.server.post(token, &format!("/v1/reports/{id}/status"), &body);
    let r = w.wang_report.as_str();

    assert_error(status(coco, r, json!({ "status": "dispatched" })), 400, "bad_request", "department");
    assert_error(status(coco, r, json!({ "status": "accepted", "department": "城管" })), 400, "bad_request", "department");
    assert_error(status(coco, r, json!({ "status": "submitted" })), 400, "bad_request", "submitted");
    assert_error(status(coco, r, json!({ "status": "lost" })), 400, "bad_request", "status");
    assert_error(status(coco, r, json!({ "status": "closed", "colour": 1 })), 400, "bad_request", "colour");
    assert_error(status(coco, r, json!({ "status": "closed", "note": "x".repeat(2001) })), 400, "bad_request", "note");
    assert_error(status(cg, r, json!({ "status": "closed" })), 403, "forbidden", "rectified");

    // The department rectifies once; again is a conflict (no longer dispatched).
    let done: Value = status(cg, r, json!({ "status": "rectified", "note": "已清理" })).json().unwrap();
    assert_eq!(done["status"], "rectified");
    assert_eq!(done["history"].as_array().unwrap().last().unwrap()["actor"], "cg");
    assert_error(status(cg, r, json!({ "status": "rectified" })), 409, "conflict", "rectified");

    // Re-dispatched elsewhere: the first department no longer sees it.
    assert_eq!(status(coco, r, json!({ "status": "dispatched", "department": "水务" })).status(), 200);
    assert_eq!(w.server.get(cg, &format!("/v1/reports/{r}")).status(), 404);
    assert_eq!(w.server.get(sw, &format!("/v1/reports/{r}")).status(), 200);
    assert_eq!(status(sw, r, json!({ "status": "rectified" })).status(), 200);
    let closed: Value = status(coco, r, json!({ "status": "closed", "note": "复查通过" })).json().unwrap();
    let trail: Vec<&str> = closed["history"].as_array().unwrap().iter().map(|h| h["status"].as_str().unwrap()).collect();
    assert_eq!(trail, ["submitted", "dispatched", "rectified", "dispatched", "rectified", "closed"]);

    // Each change reached the reporter's feed.
    let feed: Value = w.server.get(&w.tokens[2], "/v1/changes").json().unwrap();
    let statuses: Vec<&str> = feed["changes"].as_array().unwrap().iter().map(|c| c["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, trail);
}
