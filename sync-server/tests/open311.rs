//! Open311 GeoReport v2 over real HTTP: discovery and services in both
//! languages, a resident's POST with a camera photo, every refusal in the
//! spec's error format, the listing's filters and limits, the status
//! mapping, each role seeing what it may, and the public mode on and off.

mod common;

use std::path::Path;

use common::*;
use reqwest::blocking::Response;
use reqwest::blocking::multipart::{Form, Part};
use serde_json::{Value, json};

const PRIVATE_NOTE: &str = "内部备注：请勿外传";

fn camera_photo() -> Vec<u8> {
    testdata_photo("apple_iphone4_N_E.jpg")
}

fn testdata_photo(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/testdata/photos").join(name)).unwrap()
}

fn media(bytes: Vec<u8>) -> Part {
    Part::bytes(bytes).file_name("IMG_0001.JPG").mime_str("image/jpeg").unwrap()
}

/// A complete request form: a key, garbage at a point, a description, the photo.
fn form(key: &str) -> Form {
    Form::new()
        .text("api_key", key.to_owned())
        .text("jurisdiction_id", "xixian")
        .text("service_code", "garbage")
        .text("lat", "32.3421")
        .text("long", "114.7401")
        .text("description", "路口垃圾三天没人清")
        .part("media", media(camera_photo()))
}

/// A form of these fields, each sent once.
fn fields(key: &str, service_code: &str, location: Option<(&str, &str)>, photo: bool) -> Form {
    let mut form = Form::new().text("api_key", key.to_owned()).text("service_code", service_code.to_owned());
    if let Some((lat, long)) = location {
        form = form.text("lat", lat.to_owned()).text("long", long.to_owned());
    }
    if photo {
        form = form.part("media", media(camera_photo()));
    }
    form
}

fn post(server: &Server, form: Form) -> Response {
    server.http.post(server.url("/open311/v2/requests.json")).multipart(form).send().unwrap()
}

/// Posts a complete request as `key`; answers its id.
fn create(server: &Server, key: &str) -> String {
    let answer = post(server, form(key));
    assert_eq!(answer.status(), 200);
    let body: Value = answer.json().unwrap();
    assert_eq!(body.as_array().unwrap().len(), 1, "{body}");
    assert_eq!(body[0]["service_notice"], "");
    assert_eq!(body[0]["account_id"], Value::Null);
    let id = body[0]["service_request_id"].as_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "a report id is a UUID: {id}");
    id
}

/// Asserts an Open311 error answer: the status, an array of one
/// `{code, description}` with the status as the code, and a description
/// that mentions `mentions`.
fn assert_open311_error(answer: Response, status: u16, mentions: &str) {
    assert_eq!(answer.status().as_u16(), status);
    let body: Value = answer.json().expect("Open311 errors are JSON");
    let items = body.as_array().unwrap_or_else(|| panic!("an array of errors: {body}"));
    assert_eq!(items.len(), 1, "{body}");
    assert_eq!(items[0].as_object().unwrap().len(), 2, "code and description only: {body}");
    assert_eq!(items[0]["code"], status, "{body}");
    let description = items[0]["description"].as_str().unwrap();
    assert!(description.contains(mentions), "{description:?} should mention {mentions:?}");
}

fn get(server: &Server, key: Option<&str>, path: &str) -> (u16, Value) {
    let mut request = server.http.get(server.url(path));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let answer = request.send().unwrap();
    (answer.status().as_u16(), answer.json().unwrap_or(Value::Null))
}

fn ok_list(server: &Server, key: Option<&str>, path: &str) -> Vec<Value> {
    let (status, body) = get(server, key, path);
    assert_eq!(status, 200, "{path}: {body}");
    body.as_array().unwrap().clone()
}

fn ids(requests: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = requests.iter().map(|r| r["service_request_id"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    ids
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

/// Every field of a GeoReport v2 request, with its type.
fn assert_request_shape(r: &Value) {
    let fields = [
        ("service_request_id", "string"),
        ("status", "string"),
        ("status_notes", "string|null"),
        ("service_name", "string"),
        ("service_code", "string"),
        ("description", "string"),
        ("agency_responsible", "string|null"),
        ("service_notice", "string|null"),
        ("requested_datetime", "string"),
        ("updated_datetime", "string"),
        ("expected_datetime", "string|null"),
        ("address", "string|null"),
        ("address_id", "string|null"),
        ("zipcode", "string|null"),
        ("lat", "number"),
        ("long", "number"),
        ("media_url", "string"),
    ];
    let object = r.as_object().unwrap();
    assert_eq!(object.len(), fields.len(), "exactly the spec's fields: {r}");
    for (name, kind) in fields {
        let value = object.get(name).unwrap_or_else(|| panic!("{name} missing from {r}"));
        let fits = kind.split('|').any(|k| match k {
            "string" => value.is_string(),
            "number" => value.is_number(),
            "null" => value.is_null(),
            _ => unreachable!(),
        });
        assert!(fits, "{name} should be {kind}: {r}");
    }
    assert!(["open", "closed"].contains(&r["status"].as_str().unwrap()), "{r}");
    for name in ["requested_datetime", "updated_datetime", "expected_datetime"] {
        if let Some(t) = r[name].as_str() {
            assert!(t.ends_with("+08:00") && chrono::DateTime::parse_from_rfc3339(t).is_ok(), "{name} {t} in the server's zone");
        }
    }
}

#[test]
fn discovery_and_a_service_per_category_in_both_languages() {
    let server = Server::start();
    let (status, discovery) = get(&server, None, "/open311/v2/discovery.json");
    assert_eq!(status, 200);
    for field in ["changeset", "contact", "key_service"] {
        assert!(discovery[field].is_string(), "{field}: {discovery}");
    }
    let endpoint = &discovery["endpoints"][0];
    assert_eq!(endpoint["specification"], "http://wiki.open311.org/GeoReport_v2");
    assert_eq!(endpoint["url"], format!("{}/open311/v2", server.base));
    assert_eq!(endpoint["formats"], json!(["application/json"]));
    assert!(endpoint["type"].is_string() && endpoint["changeset"].is_string());

    let zh = ok_list(&server, None, "/open311/v2/services.json?jurisdiction_id=xixian");
    let en = ok_list(&server, None, "/open311/v2/services.json?locale=en");
    assert_eq!(zh.len(), suishoupai_core::CATEGORIES.len());
    for (services, locale) in [(&zh, suishoupai_core::Locale::ZhCn), (&en, suishoupai_core::Locale::En)] {
        for (service, category) in services.iter().zip(suishoupai_core::CATEGORIES) {
            assert_eq!(service.as_object().unwrap().len(), 7, "{service}");
            assert_eq!(service["service_code"], category.code);
            assert_eq!(service["service_name"], category.name(locale));
            assert_eq!(service["metadata"], false);
            assert_eq!(service["type"], "realtime");
            for field in ["description", "keywords", "group"] {
                assert!(service[field].is_string(), "{field}: {service}");
            }
        }
    }
    let garbage = |list: &[Value]| list.iter().find(|s| s["service_code"] == "garbage").unwrap()["service_name"].clone();
    assert_eq!((garbage(&zh), garbage(&en)), (json!("垃圾"), json!("Rubbish")));
    assert_ne!(zh[0]["group"], en[0]["group"], "the group is named in the locale too");
    assert_open311_error(server.http.get(server.url("/open311/v2/services.json?locale=fr")).send().unwrap(), 400, "locale");
}

#[test]
fn a_post_makes_one_report_with_a_clean_photo_and_every_refusal_is_in_the_specs_format() {
    let server = Server::start();
    let ana = server.user("ana", "resident");
    let coco = server.user("coco", "coordinator");
    let coordinator = Api::new(&server.base, &coco);

    let id = create(&server, &ana);
    let reports = coordinator.all_reports();
    assert_eq!(reports.len(), 1, "exactly one report");
    let report = &reports[0];
    assert_eq!(report["id"], id.as_str());
    assert_eq!((report["category"].as_str(), report["note"].as_str()), (Some("garbage"), Some("路口垃圾三天没人清")));
    assert_eq!((report["location"]["latitude"].as_f64(), report["location"]["longitude"].as_f64()), (Some(32.3421), Some(114.7401)));
    assert_eq!((report["owner"].as_str(), report["status"].as_str()), (Some("ana"), Some("submitted")));
    // The camera's file carried GPS; what is stored does not.
    assert!(suishoupai_core::photo::clean::check(&camera_photo()).is_err(), "the test photo carries private metadata");
    let (status, stored) = coordinator.get_bytes(&format!("/v1/photos/{}", report["photos"][0]["sha256"].as_str().unwrap()));
    assert_eq!(status, 200);
    suishoupai_core::photo::clean::check(&stored).expect("the stored rendition carries no private metadata");
    // The key as a bearer token works as well. Open311 has no idempotency
    // key: the same POST again is another report.
    let by_bearer = server.http.post(server.url("/open311/v2/requests.json")).bearer_auth(&ana).multipart(form("")).send().unwrap();
    assert_eq!(by_bearer.status(), 200);
    assert_eq!(coordinator.all_reports().len(), 2);

    // Refusals, none of which stores anything.
    assert_open311_error(post(&server, form("not-a-token")), 403, "api_key");
    assert_open311_error(post(&server, form("")), 403, "api_key");
    assert_open311_error(post(&server, fields(&ana, "potholes", Some(("32.34", "114.74")), true)), 400, "service_code");
    assert_open311_error(post(&server, fields(&ana, "garbage", None, true)), 400, "lat and long are required");
    assert_open311_error(post(&server, fields(&ana, "garbage", Some(("north", "114.74")), true)), 400, "lat");
    assert_open311_error(post(&server, fields(&ana, "garbage", Some(("0", "0")), true)), 400, "lat/long");
    assert_open311_error(post(&server, fields(&ana, "garbage", Some(("32.34", "114.74")), false)), 400, "a photo is needed");
    let urlencoded = server
        .http
        .post(server.url("/open311/v2/requests.json"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("api_key={ana}&service_code=garbage&lat=32.34&long=114.74"))
        .send()
        .unwrap();
    assert_open311_error(urlencoded, 400, "a photo is needed");
    let not_a_photo = Form::new()
        .text("api_key", ana.clone())
        .text("service_code", "garbage")
        .text("lat", "32.34")
        .text("long", "114.74")
        .part("media", media(b"GIF89a not a photo".to_vec()));
    assert_open311_error(post(&server, not_a_photo), 422, "photo");
    assert_open311_error(post(&server, form(&coco)), 403, "residents");
    assert_eq!(coordinator.all_reports().len(), 2, "no refusal stored a report");
}

#[test]
fn requests_filtered_mapped_and_seen_by_each_role_as_it_may() {
    let server = Server::start();
    let ana = server.user("ana", "resident");
    let bo = server.user("bo", "resident");
    let coco = server.user("coco", "coordinator");
    let cg = server.user_with("cg-1", "department", &["--department", "cg"]);
    let sw = server.user_with("sw-1", "department", &["--department", "sw"]);
    // Named after its user was added (adding it names it by its code).
    let named = server.cli(&["department", "add", "--code", "cg", "--name", "城市管理局", "--name-en", "Urban Management"]);
    assert!(named.status.success());

    let [submitted, rejected, duplicate, dispatched, closed] = std::array::from_fn(|_| create(&server, &ana));
    let bos = create(&server, &bo);
    let act = |id: &str, body: Value| {
        let answer = server.act(&coco, id, &body);
        assert_eq!(answer.status(), 200, "{:?}", answer.text());
    };
    act(&rejected, json!({ "action": "reject", "note": PRIVATE_NOTE, "public_note": "不属于整治范围" }));
    act(&duplicate, json!({ "action": "mark_duplicate", "duplicate_of": submitted }));
    server.dispatch(&coco, &dispatched, "cg");
    act(
        &dispatched,
        json!({ "action": "extend", "due_at": (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339(), "note": PRIVATE_NOTE, "public_note": "已派城管" }),
    );
    server.dispatch(&coco, &closed, "cg");
    let [_, after, _] = photos() else { unreachable!() };
    server.upload_photo(&cg, after);
    let rectified = server.act(&cg, &closed, &json!({ "action": "rectify", "photos": [after.sha256], "note": PRIVATE_NOTE }));
    assert_eq!(rectified.status(), 200, "{:?}", rectified.text());
    act(&closed, json!({ "action": "verify", "public_note": "已清理完毕" }));

    // The coordinator sees all six, each with every field of the spec.
    let all = ok_list(&server, Some(&coco), "/open311/v2/requests.json");
    assert_eq!(
        ids(&all),
        sorted(vec![submitted.clone(), rejected.clone(), duplicate.clone(), dispatched.clone(), closed.clone(), bos.clone()])
    );
    all.iter().for_each(assert_request_shape);
    let by_id = |id: &str| all.iter().find(|r| r["service_request_id"] == id).unwrap().clone();
    for (id, status) in [(&submitted, "open"), (&rejected, "closed"), (&duplicate, "closed"), (&dispatched, "open"), (&closed, "closed")] {
        assert_eq!(by_id(id)["status"], status, "{id}");
    }
    let d = by_id(&dispatched);
    assert_eq!((d["agency_responsible"].as_str(), d["status_notes"].as_str()), (Some("城市管理局"), Some("已派城管")));
    assert!(d["expected_datetime"].is_string(), "an open case's deadline");
    assert_eq!((d["service_code"].as_str(), d["service_name"].as_str()), (Some("garbage"), Some("垃圾")));
    assert_eq!((d["lat"].as_f64(), d["long"].as_f64()), (Some(32.3421), Some(114.7401)));
    assert_eq!(by_id(&closed)["status_notes"], "已清理完毕", "the last public note");
    assert_eq!(by_id(&rejected)["status_notes"], "不属于整治范围");
    assert_eq!(by_id(&submitted)["status_notes"], Value::Null);
    let (_, raw) = get(&server, Some(&coco), "/open311/v2/requests.json");
    assert!(!raw.to_string().contains(PRIVATE_NOTE), "internal notes never go out over Open311");
    assert!(!raw.to_string().contains("\"ana\""), "nor the reporter");
    let en = ok_list(&server, Some(&coco), &format!("/open311/v2/requests.json?locale=en&service_request_id={dispatched}"));
    assert_eq!((en[0]["agency_responsible"].as_str(), en[0]["service_name"].as_str()), (Some("Urban Management"), Some("Rubbish")));

    // The filters.
    let list = |key: &str, query: &str| ids(&ok_list(&server, Some(key), &format!("/open311/v2/requests.json?{query}")));
    assert_eq!(list(&coco, "status=closed"), sorted(vec![rejected.clone(), duplicate.clone(), closed.clone()]));
    assert_eq!(list(&coco, "status=open"), sorted(vec![submitted.clone(), dispatched.clone(), bos.clone()]));
    assert_eq!(list(&coco, "status=open,closed").len(), 6);
    assert_eq!(list(&coco, &format!("service_request_id={submitted},{bos}")), sorted(vec![submitted.clone(), bos.clone()]));
    assert_eq!(list(&coco, "service_code=garbage,illegal_ads").len(), 6);
    assert_eq!(list(&coco, "service_code=illegal_ads"), Vec::<String>::new());
    let now = chrono::Utc::now();
    let window = |from: chrono::Duration, to: chrono::Duration| {
        let fmt = |d: chrono::DateTime<chrono::Utc>| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true).replace('+', "%2B");
        format!("start_date={}&end_date={}", fmt(now + from), fmt(now + to))
    };
    assert_eq!(list(&coco, &window(chrono::Duration::hours(-1), chrono::Duration::hours(1))).len(), 6);
    assert_eq!(list(&coco, &window(chrono::Duration::days(1), chrono::Duration::days(2))).len(), 0);
    assert_eq!(list(&coco, &window(chrono::Duration::days(-30), chrono::Duration::days(-29))).len(), 0);
    let too_long = server
        .http
        .get(server.url(&format!("/open311/v2/requests.json?{}", window(chrono::Duration::days(-91), chrono::Duration::hours(1)))));
    assert_open311_error(too_long.bearer_auth(&coco).send().unwrap(), 400, "90 days");
    assert_open311_error(server.get(&coco, "/open311/v2/requests.json?status=pending"), 400, "status");
    assert_open311_error(server.get(&coco, "/open311/v2/requests.json?service_code=potholes"), 400, "service_code");
    assert_open311_error(server.get(&coco, "/open311/v2/requests.json?start_date=yesterday"), 400, "start_date");

    // Each role sees what it may; anything else is 404 like a missing one.
    assert_eq!(list(&bo, ""), vec![bos.clone()]);
    assert_eq!(list(&ana, "").len(), 5);
    assert_eq!(list(&cg, ""), sorted(vec![dispatched.clone(), closed.clone()]));
    assert_eq!(list(&sw, ""), Vec::<String>::new());
    let one = |key: &str, id: &str| get(&server, Some(key), &format!("/open311/v2/requests/{id}.json"));
    let (status, mine) = one(&bo, &bos);
    assert_eq!((status, mine.as_array().map(Vec::len)), (200, Some(1)));
    assert_request_shape(&mine[0]);
    assert_eq!(mine[0]["service_request_id"], bos.as_str());
    assert_open311_error(server.get(&ana, &format!("/open311/v2/requests/{bos}.json")), 404, "no report");
    assert_open311_error(server.get(&ana, "/open311/v2/requests/01900000-0000-7000-8000-000000000000.json"), 404, "no report");
    assert_open311_error(server.get(&sw, &format!("/open311/v2/requests/{dispatched}.json")), 404, "no report");
    assert_eq!(one(&cg, &dispatched).0, 200);

    // media_url is the rendition, for whoever may read the request.
    let url = mine[0]["media_url"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&format!("{}/open311/v2/media/", server.base)), "{url}");
    let photo = server.http.get(&url).bearer_auth(&bo).send().unwrap();
    assert_eq!((photo.status().as_u16(), photo.headers()["content-type"].to_str().unwrap()), (200, "image/jpeg"));
    suishoupai_core::photo::clean::check(&photo.bytes().unwrap()).expect("a clean rendition");
    assert_eq!(server.http.get(format!("{url}?api_key={bo}")).send().unwrap().status(), 200, "the key as api_key");
    assert_open311_error(server.http.get(&url).bearer_auth(&sw).send().unwrap(), 404, "no photo");

    // Not public: no key is 401, a bad one 403.
    assert_open311_error(server.http.get(server.url("/open311/v2/requests.json")).send().unwrap(), 401, "api_key");
    assert_open311_error(server.http.get(server.url(&format!("/open311/v2/requests/{dispatched}.json"))).send().unwrap(), 401, "api_key");
    assert_open311_error(server.http.get(&url).send().unwrap(), 401, "api_key");
    assert_open311_error(server.http.get(server.url("/open311/v2/requests.json?api_key=nonsense")).send().unwrap(), 403, "api_key");
}

#[test]
fn at_most_a_thousand_requests_and_ninety_days_by_default() {
    // More reports than one user may send in a day by default.
    let server = Server::start_with(tempfile::tempdir().unwrap(), &["--daily-reports", "5000"]);
    let ana = server.user("ana", "resident");
    let coco = server.user("coco", "coordinator");
    let [a, ..] = photos() else { unreachable!() };
    server.upload_photo(&ana, a);
    let now = chrono::Utc::now();
    let at = |ago: chrono::Duration| (now - ago).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let old = report_at(&[a], &at(chrono::Duration::days(100)));
    assert_eq!(server.push(&ana, std::slice::from_ref(&old))[0]["outcome"], "accepted");
    for batch in 0..11 {
        let reports: Vec<Value> = (0..91).map(|i| report_at(&[a], &at(chrono::Duration::minutes(batch * 91 + i + 1)))).collect();
        assert!(server.push(&ana, &reports).iter().all(|r| r["outcome"] == "accepted"));
    }
    let listed = ok_list(&server, Some(&coco), "/open311/v2/requests.json");
    assert_eq!(listed.len(), 1000, "1001 recent requests, 1000 answered");
    let newest = listed.iter().map(|r| r["requested_datetime"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert!(newest.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let old_id = old["id"].as_str().unwrap();
    assert!(listed.iter().all(|r| r["service_request_id"] != old_id));
    // The old one is there for a window that holds it.
    let start = (now - chrono::Duration::days(101)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let end = (now - chrono::Duration::days(99)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let window = ok_list(&server, Some(&coco), &format!("/open311/v2/requests.json?start_date={start}&end_date={end}"));
    assert_eq!(ids(&window), vec![old_id.to_owned()]);
}

#[test]
fn the_public_mode_publishes_accepted_cases_only_without_the_reporter_or_internal_notes() {
    let server = Server::start_with(tempfile::tempdir().unwrap(), &["--open311-public"]);
    let ana = server.user("ana", "resident");
    let coco = server.user("coco", "coordinator");
    server.user_with("cg-1", "department", &["--department", "cg"]);
    let [rejected, accepted, dispatched] = std::array::from_fn(|_| create(&server, &ana));
    // Photos are content-addressed: the one not published is another photo.
    let other = fields(&ana, "garbage", Some(("32.34", "114.74")), false).part("media", media(testdata_photo("canon_eos600d_N_W.jpg")));
    let answer: Value = post(&server, other).json().unwrap();
    let submitted = answer[0]["service_request_id"].as_str().unwrap().to_owned();
    let act = |id: &str, body: Value| assert_eq!(server.act(&coco, id, &body).status(), 200);
    act(&rejected, json!({ "action": "reject", "note": PRIVATE_NOTE, "public_note": "不予立案" }));
    act(&accepted, json!({ "action": "accept", "note": PRIVATE_NOTE, "public_note": "已受理" }));
    server.dispatch(&coco, &dispatched, "cg");

    let answer = server.http.get(server.url("/open311/v2/requests.json")).send().unwrap();
    assert_eq!(answer.status(), 200);
    let text = answer.text().unwrap();
    let public: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(ids(&public), sorted(vec![accepted.clone(), dispatched.clone()]), "never submitted or rejected ones");
    public.iter().for_each(assert_request_shape);
    for hidden in ["reporter", "owner", "\"ana\"", PRIVATE_NOTE] {
        assert!(!text.contains(hidden), "{hidden} in the public listing: {text}");
    }
    let a = public.iter().find(|r| r["service_request_id"] == accepted.as_str()).unwrap();
    assert_eq!(a["status_notes"], "已受理", "public notes are public");
    for id in [&submitted, &rejected] {
        assert_open311_error(server.http.get(server.url(&format!("/open311/v2/requests/{id}.json"))).send().unwrap(), 404, "no report");
    }
    let (status, one) = get(&server, None, &format!("/open311/v2/requests/{accepted}.json"));
    assert_eq!((status, one[0]["service_request_id"].as_str()), (200, Some(accepted.as_str())));
    // The photo of a published case is public; that of a submitted one is not.
    assert_eq!(server.http.get(a["media_url"].as_str().unwrap()).send().unwrap().status(), 200);
    let (_, own) = get(&server, Some(&ana), &format!("/open311/v2/requests/{submitted}.json"));
    let hidden_photo = own[0]["media_url"].as_str().unwrap().to_owned();
    assert_open311_error(server.http.get(&hidden_photo).send().unwrap(), 404, "no photo");
    // A key still reads what its role may; a bad key is refused, not made public.
    assert_eq!(ids(&ok_list(&server, Some(&ana), "/open311/v2/requests.json")).len(), 4);
    assert_open311_error(server.http.get(server.url("/open311/v2/requests.json")).bearer_auth("nonsense").send().unwrap(), 403, "api_key");
    // Publishing reads lets no one write without a key.
    let anonymous =
        Form::new().text("service_code", "garbage").text("lat", "32.34").text("long", "114.74").part("media", media(camera_photo()));
    assert_open311_error(post(&server, anonymous), 403, "api_key");
}
