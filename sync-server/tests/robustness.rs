//! Bad input, crashes, the CLI and the API description.

mod common;

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::{Arc, Mutex};

use common::{Server, assert_error, bin, photos, report};
use serde_json::{Value, json};
use suishoupai_core::photo::sha256_hex;
use suishoupai_server::http::MAX_JSON_BYTES;

#[test]
fn bad_requests_are_json_errors_that_name_the_problem() {
    let server = Server::start();
    let token = server.user("ana", "resident");
    let post_raw = |path: &str, content_type: Option<&str>, body: Vec<u8>| {
        let mut request = server.http.post(server.url(path)).bearer_auth(&token).body(body);
        if let Some(ct) = content_type {
            request = request.header("Content-Type", ct);
        }
        request.send().unwrap()
    };
    let json_ct = Some("application/json");
    assert_error(post_raw("/v1/push", json_ct, b"{\"reports\": [".to_vec()), 400, "bad_request", "invalid JSON body");
    assert_error(post_raw("/v1/push", json_ct, b"not json".to_vec()), 400, "bad_request", "invalid JSON body");
    assert_error(post_raw("/v1/uploads", json_ct, br#"{"sha256": 5, "length": 1}"#.to_vec()), 400, "bad_request", "sha256");
    assert_error(post_raw("/v1/uploads", json_ct, br#"{"sha256": "ab"}"#.to_vec()), 400, "bad_request", "length");
    assert_error(post_raw("/v1/uploads", json_ct, br#"{"sha256": "ab", "length": -1}"#.to_vec()), 400, "bad_request", "length");
    assert_error(post_raw("/v1/push", None, b"{}".to_vec()), 415, "unsupported_media_type", "Content-Type");
    assert_error(post_raw("/v1/push", Some("text/plain"), b"{}".to_vec()), 415, "unsupported_media_type", "application/json");
    // A JSON body over 2 MiB is refused before it is parsed.
    let huge = format!("{{\"reports\": [], \"pad\": \"{}\"}}", "x".repeat(MAX_JSON_BYTES));
    assert_error(post_raw("/v1/push", json_ct, huge.into_bytes()), 413, "too_large", "larger than");
    // Routes and methods that do not exist are JSON too.
    assert_error(server.get(&token, "/v2/everything"), 404, "not_found", "route");
    assert_error(server.get(&token, "/nothing-here"), 404, "not_found", "route");
    let wrong_method = server.request(reqwest::Method::DELETE, &token, "/v1/push").send().unwrap();
    assert!(wrong_method.headers().get("allow").is_some());
    assert_error(wrong_method, 405, "method_not_allowed", "method");
    assert_error(server.get(&token, "/v1/photos/..%2F..%2Fetc%2Fpasswd"), 400, "bad_request", "sha256");
    assert_error(server.get(&token, "/v1/photos/NOTAHASH/thumbnail"), 400, "bad_request", "sha256");

    // None of it changed anything or stopped the server.
    let page: Value = server.get(&token, "/v1/reports").json().unwrap();
    assert_eq!(page, json!({ "reports": [], "next_cursor": null }));
    assert_eq!(server.http.get(server.url("/healthz")).send().unwrap().status(), 200);
}

#[test]
fn acknowledged_data_survives_kill_9() {
    let server = Server::start();
    let ana = server.user("ana", "resident");
    let coco = server.user("coco", "coordinator");
    let [a, b, _] = photos() else { unreachable!() };
    server.upload_photo(&ana, a);
    let first = report(&[a]);
    server.push(&ana, std::slice::from_ref(&first));
    let first_id = first["id"].as_str().unwrap().to_owned();
    assert_eq!(server.act(&coco, &first_id, &json!({ "action": "accept" })).status(), 200);
    // Half of photo b.
    server.post(&ana, "/v1/uploads", &json!({ "sha256": b.sha256, "length": b.rendition.len() }));
    let half = b.rendition.len() / 2;
    assert_eq!(server.patch(&ana, &b.sha256, 0, &b.rendition[..half]).status(), 204);

    // A device pushes batch after batch while the server is killed under it.
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let pusher = {
        let (base, token, acknowledged) = (server.base.clone(), ana.clone(), acknowledged.clone());
        std::thread::spawn(move || {
            let http = common::client();
            loop {
                let batch: Vec<Value> = (0..10).map(|_| report(&[a])).collect();
                let Ok(answer) = http.post(format!("{base}/v1/push")).bearer_auth(&token).json(&json!({ "reports": batch })).send() else {
                    return;
                };
                let Ok(body) = answer.json::<Value>() else { return };
                let results = body["results"].as_array().unwrap();
                let mut acked = acknowledged.lock().unwrap();
                acked.extend(results.iter().filter(|r| r["outcome"] == "accepted").map(|r| r["id"].as_str().unwrap().to_owned()));
            }
        })
    };
    while acknowledged.lock().unwrap().len() < 50 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let dir = server.kill();
    pusher.join().unwrap();

    let server = Server::start_in(dir);
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= 50);
    let mut stored = BTreeSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/reports?limit=500&cursor={c}"),
            None => "/v1/reports?limit=500".to_owned(),
        };
        let page: Value = server.get(&coco, &path).json().unwrap();
        stored.extend(page["reports"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    for id in &acknowledged {
        assert!(stored.contains(id), "acknowledged report {id} lost in the crash");
    }
    let kept: Value = server.get(&ana, &format!("/v1/reports/{first_id}")).json().unwrap();
    assert_eq!(kept["status"], "accepted");
    // The upload resumes where it was, and completes.
    let head = server.request(reqwest::Method::HEAD, &ana, &format!("/v1/uploads/{}", b.sha256)).send().unwrap();
    assert_eq!(head.headers()["upload-offset"].to_str().unwrap(), half.to_string());
    assert_eq!(server.patch(&ana, &b.sha256, half as u64, &b.rendition[half..]).status(), 204);
    assert_eq!(server.push(&ana, &[report(&[b])])[0]["outcome"], "accepted");
    assert_eq!(server.get(&ana, &format!("/v1/photos/{}", a.sha256)).bytes().unwrap(), a.rendition);
}

#[test]
fn openapi_describes_exactly_the_routes() {
    let server = Server::start();
    let answer = server.http.get(server.url("/v1/openapi.json")).send().unwrap();
    assert_eq!(answer.status(), 200);
    let doc: Value = answer.json().unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    let mut described = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            described.insert((method.to_uppercase(), path.clone()));
        }
    }
    // The router's own table: a route added without its description fails here.
    let routes = suishoupai_server::http::routes();
    let routed: BTreeSet<(String, String)> = routes.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    assert_eq!(described, routed);

    // Every $ref points at something that exists.
    fn refs(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    out.push(r.clone());
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    for r in all {
        let pointer = r.strip_prefix('#').unwrap();
        assert!(doc.pointer(pointer).is_some(), "dangling $ref {r}");
    }

    // And the router really has each route: none of them is 404 or 405.
    let sha = sha256_hex(b"x");
    for (method, path) in routes {
        let path = path.replace("{sha256}", &sha).replace("{id}", "x");
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let status = server.http.request(method.clone(), server.url(&path)).send().unwrap().status().as_u16();
        assert!(![404, 405].contains(&status), "{method} {path} is not routed ({status})");
    }
}

fn cli(data: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(bin()).arg("--data").arg(data).args(args).output().unwrap()
}

#[test]
fn user_add_prints_a_token_and_keeps_only_its_hash() {
    let server = Server::start();
    let data = server.dir.path();
    let out = cli(data, &["user", "add", "--name", "王五", "--role", "grid_worker", "--grid", "g-07", "--json"]);
    assert!(out.status.success());
    let added: Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys: Vec<&String> = added.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["name", "role", "token"]);
    assert_eq!((added["name"].as_str(), added["role"].as_str()), (Some("王五"), Some("grid_worker")));
    let token = added["token"].as_str().unwrap();
    assert_eq!(token.len(), 64);
    // Usable at once by the running server.
    assert_eq!(server.get(token, "/v1/changes").status(), 200);
    // Never stored in the clear.
    for file in std::fs::read_dir(data).unwrap() {
        let bytes = std::fs::read(file.unwrap().path()).unwrap_or_default();
        assert!(!bytes.windows(token.len()).any(|w| w == token.as_bytes()), "token stored in the clear");
    }

    let again = cli(data, &["user", "add", "--name", "王五", "--role", "resident", "--json"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let no_grid = cli(data, &["user", "add", "--name", "li", "--role", "grid_worker"]);
    assert!(!no_grid.status.success());
    assert!(String::from_utf8_lossy(&no_grid.stderr).contains("--grid"));
    let no_department = cli(data, &["user", "add", "--name", "cg", "--role", "department"]);
    assert!(!no_department.status.success());
    assert!(String::from_utf8_lossy(&no_department.stderr).contains("--department"));
    let bad_role = cli(data, &["user", "add", "--name", "x", "--role", "mayor"]);
    assert!(!bad_role.status.success());

    let list = cli(data, &["user", "list", "--json"]);
    let users: Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(users, json!([{ "name": "王五", "role": "grid_worker", "grid_id": "g-07", "disabled": false, "active_tokens": 1 }]));
}
