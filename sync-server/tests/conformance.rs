//! Requests that the OpenAPI document allows and the server once refused,
//! found by schemathesis (tests/schemathesis): each must be answered as the
//! document says.

mod common;

use common::*;
use serde_json::Value;

/// JSON Schema's `integer` takes `1024.0` as 1024; so must the server.
#[test]
fn a_whole_number_written_with_a_zero_fraction_is_that_number() {
    let server = Server::start();
    let resident = server.user("ana", "resident");
    let admin = server.user("root", "admin");
    let photo = &photos()[0];
    let raw = format!(r#"{{"sha256":"{}","length":{}.0}}"#, photo.sha256, photo.rendition.len());
    let answer = server
        .request(reqwest::Method::POST, &resident, "/v1/uploads")
        .header("content-type", "application/json")
        .body(raw)
        .send()
        .unwrap();
    assert_eq!(answer.status(), 200, "{:?}", answer.text());
    let state: Value = answer.json().unwrap();
    assert_eq!(state["length"], photo.rendition.len());
    let batch = format!(r#"{{"uploads":[{{"sha256":"{}","length":{}.0}}]}}"#, photo.sha256, photo.rendition.len());
    let answer = server
        .request(reqwest::Method::POST, &resident, "/v1/uploads/batch")
        .header("content-type", "application/json")
        .body(batch)
        .send()
        .unwrap();
    assert_eq!(answer.status(), 200, "{:?}", answer.text());

    assert!(server.cli(&["department", "add", "--code", "cg", "--name", "城管"]).status.success());
    let route = server
        .request(reqwest::Method::PUT, &admin, "/v1/routes/garbage")
        .header("content-type", "application/json")
        .body(r#"{"department":"cg","deadline_hours":48.0}"#)
        .send()
        .unwrap();
    assert_eq!(route.status(), 200, "{:?}", route.text());
    // A fraction is still refused, naming the field.
    let half = format!(r#"{{"sha256":"{}","length":10.5}}"#, photo.sha256);
    let answer = server
        .request(reqwest::Method::POST, &resident, "/v1/uploads")
        .header("content-type", "application/json")
        .body(half)
        .send()
        .unwrap();
    assert_error(answer, 400, "bad_request", "length");
}

/// `cursor=` is the first page, on `/v1/reports` as on `/v1/changes`.
#[test]
fn an_empty_cursor_is_the_first_page() {
    let server = Server::start();
    let coordinator = server.user("coco", "coordinator");
    let resident = server.user("ana", "resident");
    let photo = &photos()[0];
    server.upload_photo(&resident, photo);
    assert_eq!(server.push(&resident, &[report(&[photo])])[0]["outcome"], "accepted");
    for path in ["/v1/reports?cursor=", "/v1/changes?cursor="] {
        let answer = server.get(&coordinator, path);
        assert_eq!(answer.status(), 200, "{path}");
        let page: Value = answer.json().unwrap();
        let items = page.get("reports").or(page.get("changes")).unwrap();
        assert_eq!(items.as_array().unwrap().len(), 1, "{path}: {page}");
    }
}

/// A `limit` past the largest is the largest, however many digits it has
/// (the document's `integer` has no bound); zero and words are refused.
#[test]
fn a_limit_of_any_size_is_at_most_the_largest() {
    let server = Server::start();
    let coordinator = server.user("coco", "coordinator");
    for path in ["/v1/reports?limit=226219496594850078261248", "/v1/changes?limit=55581990202010738546731646976", "/v1/reports?limit=501"] {
        assert_eq!(server.get(&coordinator, path).status(), 200, "{path}");
    }
    for path in ["/v1/reports?limit=0", "/v1/reports?limit=000", "/v1/reports?limit=ten", "/v1/changes?limit=-1"] {
        assert_error(server.get(&coordinator, path), 400, "bad_request", "limit");
    }
}
