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
    server.dispatch(&tokens[6], &wang_report, "城管");
    World { server, tokens, wang_report }
}

/// Found by the simulation at seed 20225: a grid worker's `verify` was
/// refused while the case was still with the department; a delayed copy
/// of that request, arriving once the case was rectified, was judged again
/// and closed the case the device had been told stays open.
#[test]
fn a_refused_action_stays_refused_when_the_case_moves_on() {
    let w = world();
    let (wang, cg, coco) = (&w.tokens[2], &w.tokens[4], &w.tokens[6]);
    let r = w.wang_report.as_str();
    let verify = json!({ "action_id": uuid::Uuid::now_v7().to_string(), "action": "verify", "note": "复查合格" });
    let first = w.server.act(wang, r, &verify);
    assert_eq!(first.status(), 409);
    let first: Value = first.json().unwrap();
    assert_eq!((first["error"].as_str(), first["status"].as_str()), (Some("invalid_transition"), Some("dispatched")));

    // The department rectifies: a verify is allowed now.
    let [_, _, c] = photos() else { unreachable!() };
    w.server.upload_photo(cg, c);
    assert_eq!(w.server.act(cg, r, &json!({ "action": "acknowledge" })).status(), 200);
    assert_eq!(w.server.act(cg, r, &json!({ "action": "rectify", "note": "已清理", "photos": [c.sha256] })).status(), 200);

    // The delayed copy gets the first answer, and the case stays as it was.
    let again = w.server.act(wang, r, &verify);
    assert_eq!(again.status(), 409);
    assert_eq!(again.json::<Value>().unwrap(), first);
    let case: Value = w.server.get(coco, &format!("/v1/reports/{r}")).json().unwrap();
    assert_eq!((case["status"].as_str(), case["history"].as_array().unwrap().len()), (Some("rectified"), 5));
    // Other content under the refused id is a conflict, as for a taken one;
    // a new id is judged now.
    let mut other = verify.clone();
    other["note"] = json!("别的");
    assert_error(w.server.act(wang, r, &other), 409, "action_conflict", verify["action_id"].as_str().unwrap());
    let closed: Value = w.server.act(wang, r, &json!({ "action": "verify", "note": "复查合格" })).json().unwrap();
    assert_eq!(closed["status"], "closed");
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
    server.user_with("cg", "department", &["--department", "城管"]);
    assert_eq!(server.act(&coco, &id(4), &json!({ "action": "reject", "note": "重复" })).status(), 200);
    server.dispatch(&coco, &id(5), "城管");

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
    assert_eq!(history.len(), 3);
    assert_eq!((history[0]["status"].as_str(), history[0]["action"].clone()), (Some("submitted"), Value::Null));
    assert_eq!(history[0]["actor"], "ana");
    assert_eq!((history[1]["action"].as_str(), history[2]["action"].as_str()), (Some("accept"), Some("dispatch")));
    assert_eq!((history[2]["status"].as_str(), history[2]["actor"].as_str()), (Some("dispatched"), Some("coco")));
    assert_eq!((history[2]["actor_role"].as_str(), history[2]["department"].as_str()), (Some("coordinator"), Some("城管")));
    assert!(history[2]["at"].is_string() && history[2]["due_at"].is_string());
    assert_eq!((full["overdue"].as_bool(), full["allowed_actions"].clone()), (Some(false), json!(["extend"])));
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
fn actions_refuse_bad_input_and_change_nothing() {
    let w = world();
    let (coco, cg, sw) = (&w.tokens[6], &w.tokens[4], &w.tokens[5]);
    let act = |token: &str, body: Value| w.server.act(token, &w.wang_report, &body);
    let r = w.wang_report.as_str();
    let due = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();

    assert_error(act(coco, json!({ "action": "lost" })), 400, "bad_request", "action");
    assert_error(act(coco, json!({ "action": "extend", "colour": 1 })), 400, "bad_request", "colour");
    assert_error(act(coco, json!({ "action": "extend", "due_at": due, "note": "x".repeat(2001) })), 400, "bad_request", "note");
    assert_error(act(coco, json!({ "action": "extend", "note": "等材料" })), 400, "bad_request", "due_at");
    assert_error(
        act(coco, json!({ "action": "extend", "note": "等材料", "due_at": "2020-01-01T00:00:00Z" })),
        400,
        "bad_request",
        "future",
    );
    assert_error(act(coco, json!({ "action": "extend", "note": "等材料", "due_at": "明天" })), 400, "bad_request", "RFC 3339");
    assert_error(w.server.act(coco, r, &json!({ "action_id": "not-a-uuid", "action": "verify" })), 400, "bad_request", "action_id");
    // The role before the state: a department never verifies; a resident never acts.
    assert_error(act(cg, json!({ "action": "verify" })), 403, "forbidden", "verify");
    assert_error(act(&w.tokens[0], json!({ "action": "accept" })), 403, "forbidden", "accept");
    // The other department may rectify in general, but cannot see this case.
    assert_error(act(sw, json!({ "action": "acknowledge" })), 404, "not_found", r);
    // From the wrong state: 409 with the status and what is allowed.
    let refused = act(coco, json!({ "action": "accept" }));
    assert_eq!(refused.status(), 409);
    let body: Value = refused.json().unwrap();
    assert_eq!((body["error"].as_str(), body["status"].as_str()), (Some("invalid_transition"), Some("dispatched")));
    assert_eq!(body["allowed_actions"], json!(["extend"]));
    assert!(body["message"].as_str().unwrap().contains("dispatch by coco"), "{body}");
    // Rectify needs an after-photo, and one the caller uploaded.
    assert_error(act(cg, json!({ "action": "rectify", "note": "已清理" })), 400, "bad_request", "after-photo");
    let [a, b, c] = photos() else { unreachable!() };
    let missing = act(cg, json!({ "action": "rectify", "note": "已清理", "photos": [a.sha256] }));
    assert_eq!(missing.status(), 409);
    let body: Value = missing.json().unwrap();
    assert_eq!((body["error"].as_str(), body["missing"].clone()), (Some("missing_photos"), json!([a.sha256])));
    // A photo that is not a whole JPEG never becomes one to cite.
    let half = &c.rendition[..c.rendition.len() / 2];
    let created = w.server.post(cg, "/v1/uploads", &json!({ "sha256": c.sha256, "length": c.rendition.len() }));
    assert_eq!(created.status(), 200);
    assert_eq!(w.server.patch(cg, &c.sha256, 0, half).status(), 204);
    assert_eq!(act(cg, json!({ "action": "rectify", "note": "已清理", "photos": [c.sha256] })).status(), 409, "half a photo is missing");
    // Nothing of all that changed the case.
    let case: Value = w.server.get(coco, &format!("/v1/reports/{r}")).json().unwrap();
    assert_eq!((case["status"].as_str(), case["history"].as_array().unwrap().len()), (Some("dispatched"), 3));

    // Uploaded (departments may upload now), the rectification goes through once.
    w.server.upload_photo(cg, b);
    let id = uuid::Uuid::now_v7().to_string();
    let rectify = json!({ "action_id": id, "action": "rectify", "note": "已清理", "photos": [b.sha256] });
    let done: Value = act(cg, rectify.clone()).json().unwrap();
    assert_eq!(done["status"], "rectified");
    assert_eq!(done["history"].as_array().unwrap().last().unwrap()["photos"], json!([b.sha256]));
    // The same action again: the first answer; other content under its id: 409.
    let again = act(cg, rectify.clone());
    assert_eq!(again.status(), 200);
    let mut other = rectify.clone();
    other["note"] = json!("别的");
    assert_error(act(cg, other), 409, "action_conflict", &id);
    let case: Value = w.server.get(coco, &format!("/v1/reports/{r}")).json().unwrap();
    assert_eq!(case["history"].as_array().unwrap().len(), 4, "applied once");
    // Departments never learn who reported; residents never read internal notes.
    let seen: Value = w.server.get(cg, &format!("/v1/reports/{r}")).json().unwrap();
    assert!(seen.get("owner").is_none() && seen.get("reporter").is_none(), "{seen}");
    assert_eq!(seen["history"][0]["actor"], Value::Null, "the reporter is not named");
    assert_eq!(seen["history"][1]["actor"], "coco");
    let wang: Value = w.server.get(&w.tokens[2], &format!("/v1/reports/{r}")).json().unwrap();
    assert_eq!(wang["owner"], "wang", "the reporter sees their own name");
    // The after-photo is the case's: the case's viewers may read it.
    assert_eq!(w.server.get(coco, &format!("/v1/photos/{}/thumbnail", b.sha256)).status(), 200);
}
