//! The handlers in process, over storage in memory: who may see and do
//! what, every role against every endpoint, in milliseconds. The same
//! router the server serves; only the socket is missing (the end-to-end
//! tests in `tests/` have it).

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use suishoupai_core::PreparedPhoto;
use suishoupai_core::photo::sha256_hex;
use tower::ServiceExt;

use suishoupai_core::domain::workflow::{self, TRANSITIONS};
use suishoupai_core::{Action, ReportStatus};

use crate::blobs::fs::FsBlobs;
use crate::model::Role;
use crate::services::{catalog, users};
use crate::state::{AppState, Settings};
use crate::storage::sqlite::SqliteStorage;
use crate::storage::{self, CaseState, Department, NewUser};

const ROLES: [&str; 8] = ["ana", "bo", "wang", "li", "cg", "sw", "coco", "root"];

fn photos() -> &'static [PreparedPhoto] {
    static PHOTOS: OnceLock<Vec<PreparedPhoto>> = OnceLock::new();
    PHOTOS.get_or_init(|| {
        ["google_pixel_N_E.jpg", "samsung_sm-g930f_N_E.jpg"]
            .iter()
            .map(|name| {
                let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/testdata/photos").join(name);
                suishoupai_core::photo::prepare(&std::fs::read(path).unwrap()).unwrap()
            })
            .collect()
    })
}

struct World {
    router: axum::Router,
    storage: Arc<SqliteStorage>,
    tokens: Vec<String>,
    ana_report: String,
    wang_report: String,
    _blobs: tempfile::TempDir,
}

impl World {
    /// One request through the router; answers the status and the JSON body (or null).
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, String)],
    ) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let request = match body {
            Some(body) => request.header("Content-Type", "application/json").body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        };
        let answer = self.router.clone().oneshot(request.unwrap()).await.unwrap();
        let status = answer.status();
        let bytes = axum::body::to_bytes(answer.into_body(), usize::MAX).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn upload(&self, token: &str, photo: &PreparedPhoto) {
        let (status, state) = self
            .call(Method::POST, "/v1/uploads", Some(token), Some(&json!({ "sha256": photo.sha256, "length": photo.rendition.len() })), &[])
            .await;
        assert_eq!(status, 200);
        if state["complete"] == true {
            return;
        }
        let request = Request::patch(format!("/v1/uploads/{}", photo.sha256))
            .header("Authorization", format!("Bearer {token}"))
            .header("Upload-Offset", "0")
            .header("Content-Type", "application/offset+octet-stream")
            .body(Body::from(photo.rendition.clone()))
            .unwrap();
        assert_eq!(self.router.clone().oneshot(request).await.unwrap().status(), 204);
    }

    async fn push(&self, token: &str, report: &Value) {
        let (status, body) = self.call(Method::POST, "/v1/push", Some(token), Some(&json!({ "reports": [report] })), &[]).await;
        assert_eq!((status, body["results"][0]["outcome"].as_str()), (StatusCode::OK, Some("accepted")), "{body}");
    }
}

/// An action request with a fresh id and everything any action needs.
fn act(action: &str) -> Value {
    act_with(action, &[])
}

fn act_with(action: &str, photos: &[&str]) -> Value {
    let action = Action::from_code(action).unwrap();
    let needs = action.transition().needs;
    let mut body = json!({ "action_id": uuid::Uuid::now_v7().to_string(), "action": action.code(), "note": "理由" });
    if needs.due_at {
        body["due_at"] = "2099-01-01T00:00:00Z".into();
    }
    if needs.department {
        body["department"] = "城管".into();
    }
    if !photos.is_empty() {
        body["photos"] = json!(photos);
    }
    body
}

fn report(photo: &PreparedPhoto, reporter: Value) -> Value {
    json!({
        "id": uuid::Uuid::now_v7().to_string(), "category": "garbage", "note": "门口堆了很多纸箱",
        "location": { "latitude": 39.915, "longitude": 116.404, "source": "device", "accuracy_m": 8.0 },
        "photos": [{ "sha256": photo.sha256, "width": photo.width, "height": photo.height, "bytes": photo.rendition.len() }],
        "reporter": reporter, "taken_at": null, "created_at": "2026-05-01T08:00:00.000Z",
    })
}

/// ana and bo are residents; wang (g-07) and li (g-08) grid workers; cg
/// (城管) and sw (水务) departments; coco a coordinator, root an admin.
/// ana reported with photo 0; wang reported with photo 1 on patrol, and
/// coco dispatched that to 城管.
async fn world() -> World {
    let storage = Arc::new(SqliteStorage::open_in_memory().unwrap());
    for (code, name) in [("城管", "城市管理局"), ("水务", "水务局")] {
        catalog::put_department(&*storage, &Department { code: code.into(), name: name.into(), name_en: None }).unwrap();
    }
    let blobs_dir = tempfile::tempdir().unwrap();
    let blobs = Arc::new(FsBlobs::open(blobs_dir.path()).unwrap());
    let people = [
        ("ana", Role::Resident, None, None),
        ("bo", Role::Resident, None, None),
        ("wang", Role::GridWorker, Some("g-07"), None),
        ("li", Role::GridWorker, Some("g-08"), None),
        ("cg", Role::Department, None, Some("城管")),
        ("sw", Role::Department, None, Some("水务")),
        ("coco", Role::Coordinator, None, None),
        ("root", Role::Admin, None, None),
    ];
    let tokens = people
        .iter()
        .map(|(name, role, grid, department)| {
            let user = NewUser { name: (*name).into(), role: *role, grid_id: grid.map(Into::into), department: department.map(Into::into) };
            users::add(&*storage, &user).unwrap().1
        })
        .collect();
    let router = crate::http::router(AppState::new(storage.clone(), blobs, Settings::default()));
    let mut world = World { router, storage, tokens, ana_report: String::new(), wang_report: String::new(), _blobs: blobs_dir };
    let [a, b] = photos() else { unreachable!() };
    world.upload(&world.tokens[0], a).await;
    world.upload(&world.tokens[2], b).await;
    let ana = report(a, json!({ "role": "resident", "grid_id": null }));
    let wang = report(b, json!({ "role": "grid_worker", "grid_id": "g-07" }));
    world.push(&world.tokens[0], &ana).await;
    world.push(&world.tokens[2], &wang).await;
    world.ana_report = ana["id"].as_str().unwrap().to_owned();
    world.wang_report = wang["id"].as_str().unwrap().to_owned();
    for action in [json!({ "action": "accept" }), json!({ "action": "dispatch", "department": "城管", "due_at": "2099-01-01T00:00:00Z" })]
    {
        let mut action = action;
        action["action_id"] = uuid::Uuid::now_v7().to_string().into();
        let path = format!("/v1/reports/{}/actions", world.wang_report);
        let (status, body) = world.call(Method::POST, &path, Some(&world.tokens[6]), Some(&action), &[]).await;
        assert_eq!(status, 200, "{body}");
    }
    world
}

#[tokio::test]
async fn every_role_against_every_endpoint() {
    let w = world().await;
    let [a, b] = photos() else { unreachable!() };
    let (r_ana, r_wang) = (w.ana_report.as_str(), w.wang_report.as_str());
    let fresh_sha = sha256_hex(b"a photo nobody has uploaded");
    let ghost = "01900000-0000-7000-8000-000000000000";
    type Call<'a> = (&'a str, Method, String, Option<Value>);
    // Expected status per role, in the order of ROLES.
    let table: Vec<(Call, [u16; 8])> = vec![
        (("create upload", Method::POST, "/v1/uploads".into(), Some(json!({ "sha256": fresh_sha, "length": 10 }))), [200; 8]),
        (
            (
                "upload states",
                Method::POST,
                "/v1/uploads/batch".into(),
                Some(json!({ "uploads": [{ "sha256": fresh_sha, "length": 10 }] })),
            ),
            [200; 8],
        ),
        // ana's photo is hers: to everyone else the server has never seen it.
        (("upload offset", Method::HEAD, format!("/v1/uploads/{}", a.sha256), None), [200, 404, 404, 404, 404, 404, 404, 404]),
        (("upload chunk", Method::PATCH, format!("/v1/uploads/{}", a.sha256), None), [204, 404, 404, 404, 404, 404, 404, 404]),
        (("push", Method::POST, "/v1/push".into(), Some(json!({ "reports": [] }))), [200, 200, 200, 200, 403, 403, 200, 200]),
        (("changes", Method::GET, "/v1/changes".into(), None), [200; 8]),
        (("list reports", Method::GET, "/v1/reports".into(), None), [200; 8]),
        (("ana's report", Method::GET, format!("/v1/reports/{r_ana}"), None), [200, 404, 404, 404, 404, 404, 200, 200]),
        (("wang's report", Method::GET, format!("/v1/reports/{r_wang}"), None), [404, 404, 200, 404, 200, 404, 200, 200]),
        (("no such report", Method::GET, format!("/v1/reports/{ghost}"), None), [404; 8]),
        (("ana's photo", Method::GET, format!("/v1/photos/{}", a.sha256), None), [200, 404, 404, 404, 404, 404, 200, 200]),
        (("wang's thumbnail", Method::GET, format!("/v1/photos/{}/thumbnail", b.sha256), None), [404, 404, 200, 404, 200, 404, 200, 200]),
        (("photo in no report", Method::GET, format!("/v1/photos/{fresh_sha}"), None), [404; 8]),
        (
            ("accept ana's", Method::POST, format!("/v1/reports/{r_ana}/actions"), Some(act("accept"))),
            [403, 403, 403, 403, 403, 403, 200, 409],
        ),
        (
            ("rectify wang's", Method::POST, format!("/v1/reports/{r_wang}/actions"), Some(act_with("rectify", &[b.sha256.as_str()]))),
            // wang first (his grid's case, his photo), then it is rectified.
            [403, 403, 200, 404, 409, 404, 403, 403],
        ),
        (
            ("verify ghost", Method::POST, format!("/v1/reports/{ghost}/actions"), Some(act("verify"))),
            [403, 403, 404, 404, 403, 403, 404, 404],
        ),
        (("duplicates of ana's", Method::GET, format!("/v1/reports/{r_ana}/duplicates"), None), [403, 403, 403, 403, 403, 403, 200, 200]),
        (("duplicates of ghost", Method::GET, format!("/v1/reports/{ghost}/duplicates"), None), [403, 403, 403, 403, 403, 403, 404, 404]),
        (("tasks", Method::GET, "/v1/tasks".into(), None), [200; 8]),
        (("stats", Method::GET, "/v1/stats?from=2026-01-01&to=2026-01-31&by=grid".into(), None), [403, 403, 403, 403, 403, 403, 200, 200]),
        (("departments", Method::GET, "/v1/departments".into(), None), [403, 403, 200, 200, 200, 200, 200, 200]),
        (
            ("add department", Method::POST, "/v1/departments".into(), Some(json!({ "code": "园林", "name": "园林绿化局" }))),
            [403, 403, 403, 403, 403, 403, 403, 200],
        ),
        (("routes", Method::GET, "/v1/routes".into(), None), [403, 403, 200, 200, 200, 200, 200, 200]),
        (
            ("set route", Method::PUT, "/v1/routes/garbage".into(), Some(json!({ "department": "城管", "deadline_hours": 48 }))),
            [403, 403, 403, 403, 403, 403, 403, 200],
        ),
        (("grids", Method::GET, "/v1/grids".into(), None), [403, 403, 200, 200, 200, 200, 200, 200]),
        (
            ("import grid", Method::POST, "/v1/grids".into(), Some(json!({ "type": "FeatureCollection", "features": [] }))),
            [403, 403, 403, 403, 403, 403, 403, 200],
        ),
    ];
    // A repeated final PATCH of a complete photo: harmless, idempotent.
    let patch_headers = [("Upload-Offset", a.rendition.len().to_string()), ("Content-Type", "application/offset+octet-stream".to_owned())];
    let mut failures = Vec::new();
    for ((what, method, path, body), expected) in &table {
        for (role, (token, want)) in ROLES.iter().zip(w.tokens.iter().zip(expected)) {
            let headers: &[(&str, String)] = if *method == Method::PATCH { &patch_headers } else { &[] };
            // Each call a new action, so that no answer is a repeat's.
            let body = body.clone().map(|mut b| {
                if b.get("action_id").is_some() {
                    b["action_id"] = uuid::Uuid::now_v7().to_string().into();
                }
                b
            });
            let (status, answer) = w.call(method.clone(), path, Some(token), body.as_ref(), headers).await;
            if status.as_u16() != *want {
                failures.push(format!("{what} as {role}: {status}, expected {want}: {answer}"));
            }
            if status.as_u16() >= 400 && *method != Method::HEAD {
                assert!(answer["error"].is_string() && answer["message"].is_string(), "{what} as {role}: {answer}");
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");

    // What each role's listing holds.
    let mut both = vec![r_ana.to_owned(), r_wang.to_owned()];
    both.sort();
    for (role, token) in ROLES.iter().zip(&w.tokens) {
        let (_, page) = w.call(Method::GET, "/v1/reports", Some(token), None, &[]).await;
        let mut got: Vec<String> = page["reports"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect();
        got.sort();
        let expected: Vec<String> = match *role {
            "ana" => vec![r_ana.into()],
            "wang" | "cg" => vec![r_wang.into()],
            "coco" | "root" => both.clone(),
            _ => vec![],
        };
        assert_eq!(got, expected, "{role}'s listing");
    }
}

#[tokio::test]
async fn no_or_bad_token_is_401_on_every_protected_route() {
    let w = world().await;
    let sha = sha256_hex(b"x");
    for (method, path) in crate::http::routes() {
        // Open311 has its own keys, errors and public routes (tests/open311.rs).
        if ["/healthz", "/v1/openapi.json"].contains(&path) || path.starts_with("/open311/") {
            continue;
        }
        let path = path.replace("{sha256}", &sha).replace("{id}", "01900000-0000-7000-8000-000000000000").replace("{category}", "garbage");
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        for auth in [None, Some("Bearer nonsense"), Some("Basic YWxhZGRpbjpvcGVuc2VzYW1l"), Some("Bearer "), Some("bearer")] {
            let headers: Vec<(&str, String)> = auth.map(|a| ("Authorization", a.to_owned())).into_iter().collect();
            let (status, body) = w.call(method.clone(), &path, None, None, &headers).await;
            assert_eq!(status, 401, "{method} {path} with {auth:?}");
            if method != Method::HEAD {
                assert_eq!(body["error"], "unauthorized");
            }
        }
    }
}

/// Every cell of the workflow's table, generated from the table itself: for
/// each action, each status a case can be in and each role, a fresh case in
/// that status (in wang's grid, dispatched to 城管 where it has been
/// dispatched) and the action tried. The expectation follows the order of
/// judgement: the role (403), whether the case can be seen (404), the
/// capacity on this case (403), the status (409); else 200. A new row or
/// status in the table is tested without a line here.
#[tokio::test]
async fn every_role_action_and_status_of_the_table() {
    let w = world().await;
    let [a, b] = photos() else { unreachable!() };
    // Everyone holds photo b, for after-photos.
    for token in &w.tokens {
        w.upload(token, b).await;
    }
    let statuses = [
        ReportStatus::Submitted,
        ReportStatus::Accepted,
        ReportStatus::Rejected,
        ReportStatus::Duplicate,
        ReportStatus::Dispatched,
        ReportStatus::InProgress,
        ReportStatus::Rectified,
        ReportStatus::Closed,
    ];
    let people: Vec<crate::model::User> = ROLES
        .iter()
        .map(|name| storage::read(&*w.storage, |tx| Ok::<_, crate::error::Error>(tx.user_by_name(name)?.unwrap())).unwrap())
        .collect();
    let mut failures = Vec::new();
    let mut tried = 0;
    for row in TRANSITIONS {
        for status in statuses {
            for (user, token) in people.iter().zip(&w.tokens) {
                let case = report(a, json!({ "role": "resident", "grid_id": null }));
                w.push(&w.tokens[0], &case).await;
                let id = case["id"].as_str().unwrap().to_owned();
                let dispatched =
                    matches!(status, ReportStatus::Dispatched | ReportStatus::InProgress | ReportStatus::Rectified | ReportStatus::Closed);
                let department = dispatched.then(|| "城管".to_owned());
                let state = CaseState {
                    status,
                    department: department.clone(),
                    due_at: Some("2099-01-01T00:00:00.000Z".into()),
                    due_ms: Some(4_070_908_800_000),
                    duplicate_of: None,
                    changed_ms: 0,
                };
                storage::write(&*w.storage, |tx| {
                    tx.set_report_grid(&id, Some("g-07"))?;
                    Ok::<_, crate::error::Error>(tx.set_case_state(&id, &state)?)
                })
                .unwrap();
                let after_photo = [b.sha256.as_str()];
                let mut body = act_with(row.action.code(), if row.needs.photos { &after_photo } else { &[] });
                if row.needs.duplicate_of {
                    body["duplicate_of"] = w.ana_report.clone().into();
                }
                let (got, answer) = w.call(Method::POST, &format!("/v1/reports/{id}/actions"), Some(token), Some(&body), &[]).await;
                let visible = match user.role {
                    Role::Resident => user.name == "ana",
                    Role::GridWorker => user.grid_id.as_deref() == Some("g-07"),
                    Role::Department => department.is_some() && user.department == department,
                    Role::Coordinator | Role::Admin => true,
                };
                let capacities = workflow::capacities(
                    user.role,
                    user.grid_id.as_deref(),
                    user.department.as_deref(),
                    Some("g-07"),
                    department.as_deref(),
                );
                let possible = match user.role {
                    Role::Resident => false,
                    Role::GridWorker => row.who.contains(&workflow::Capacity::GridWorker),
                    Role::Department => row.who.contains(&workflow::Capacity::CaseDepartment),
                    Role::Coordinator | Role::Admin => row.who.contains(&workflow::Capacity::Coordinator),
                };
                let want = if !possible {
                    403
                } else if !visible {
                    404
                } else if !row.who.iter().any(|c| capacities.contains(c)) {
                    403
                } else if !row.from.contains(&status) {
                    409
                } else {
                    200
                };
                tried += 1;
                if got.as_u16() != want {
                    failures.push(format!("{} from {status} as {}: {got}, expected {want}: {answer}", row.action, user.name));
                    continue;
                }
                match want {
                    200 => {
                        let after = row.to.unwrap_or(status);
                        if answer["status"] != after.code() {
                            failures.push(format!(
                                "{} from {status} as {}: status {}, expected {after}",
                                row.action, user.name, answer["status"]
                            ));
                        }
                    }
                    409 => {
                        let allowed: Vec<Action> = serde_json::from_value(answer["allowed_actions"].clone()).unwrap_or_default();
                        if answer["error"] != "invalid_transition" || allowed != workflow::allowed_actions(status, &capacities) {
                            failures.push(format!("{} from {status} as {}: {answer}", row.action, user.name));
                        }
                    }
                    _ => {}
                }
                // Refused: nothing changed.
                if want != 200 {
                    let kept =
                        storage::read(&*w.storage, |tx| Ok::<_, crate::error::Error>(tx.report(&crate::model::Scope::All, &id)?.unwrap()))
                            .unwrap();
                    if kept.status != status || kept.history.len() != 1 {
                        failures.push(format!("{} from {status} as {}: refused but changed", row.action, user.name));
                    }
                }
            }
        }
    }
    assert_eq!(tried, TRANSITIONS.len() * statuses.len() * ROLES.len());
    assert!(failures.is_empty(), "{} of {tried} cells wrong: {failures:#?}", failures.len());
}
