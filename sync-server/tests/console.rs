//! The console in a real browser: Debian's headless chromium, driven by
//! npm's playwright-core (`tests/console/console.mjs`), against a real
//! server with real photos. A coordinator signs in, takes a case from
//! submitted through dispatch, a department rectifies it from a phone-size
//! page with an after-photo, the coordinator verifies it, merges a
//! duplicate, reads the statistics, switches language; an admin revokes a
//! lost phone's token. Refused along the way: a wrong password, a form
//! without its CSRF token, a revoked token. No request may leave the
//! server's origin and the browser's console must stay free of errors.
//! Screenshots land in `$CARGO_TARGET_TMPDIR/console-screenshots/`.
//!
//! Needs `chromium` and `npm ci` in `tests/console` (the README's test
//! command installs both).

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use suishoupai_server::testkit::{Api, Server, photos, report};

const PASSWORD: &str = "a long enough password";

fn ok(out: std::process::Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_day_of_the_campaign_in_a_real_browser() {
    let console_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/console");
    assert!(
        console_dir.join("node_modules/playwright-core").exists(),
        "run `npm ci --prefix sync-server/tests/console` first (bash tests/run-all.sh does)"
    );
    let server = Server::start();
    let grid = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/grids/xixian.geojson");
    ok(server.cli(&["grid", "import", grid.to_str().unwrap()]));
    server.user("boss", "admin");
    let zhao = server.user("zhao", "coordinator");
    // (The kit adds the user's department named by its code; named here.)
    server.user_with("cg", "department", &["--department", "chengguan"]);
    ok(server.cli(&["department", "add", "--code", "chengguan", "--name", "城管局", "--name-en", "City management"]));
    ok(server.cli(&["route", "set", "--category", "garbage", "--department", "chengguan", "--deadline-hours", "48"]));
    let resident = server.user("li", "resident");
    for name in ["boss", "zhao", "cg"] {
        server.set_password(name, PASSWORD);
    }
    // Two reports of the same rubbish, 30 m apart, in one cell of the grid.
    let [a, b] = [(32.3242728, 114.7320582, 0), (32.3245, 114.7321, 1)].map(|(lat, lon, photo)| {
        let shot = &photos()[photo];
        server.upload_photo(&resident, shot);
        let mut r = report(&[shot]);
        r["location"] = json!({ "latitude": lat, "longitude": lon, "source": "device", "accuracy_m": 5.0 });
        let id = r["id"].as_str().unwrap().to_owned();
        server.push(&resident, &[r]);
        id
    });
    // A case in another street office, accepted already: two units to rank.
    let shot = &photos()[2];
    server.upload_photo(&resident, shot);
    let mut c = report(&[shot]);
    c["location"] = json!({ "latitude": 32.3379832, "longitude": 114.7213728, "source": "device", "accuracy_m": 5.0 });
    server.push(&resident, &[c.clone()]);
    assert_eq!(server.act(&zhao, c["id"].as_str().unwrap(), &json!({ "action": "accept" })).status(), 200);
    let after_photo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/testdata/photos/canon_eos600d_N_W.jpg");
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
    std::fs::create_dir_all(&shots).unwrap();

    let run = Command::new("node")
        .arg(console_dir.join("console.mjs"))
        .env("BASE", server.url(""))
        .env("PASSWORD", PASSWORD)
        .env("CASE_A", &a)
        .env("CASE_B", &b)
        .env("AFTER_PHOTO", &after_photo)
        .env("SHOTS", &shots)
        .env("RESIDENT_TOKEN", &resident)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "the browser run failed:\n{said}\n{}", String::from_utf8_lossy(&run.stderr));

    // What the browser did is what the server holds.
    let coordinator = ok(server.cli(&["user", "add-token", "zhao", "--device", "check", "--json"]));
    let token = serde_json::from_str::<Value>(&coordinator).unwrap()["token"].as_str().unwrap().to_owned();
    let api = Api::new(&server.url(""), &token);
    let (_, case_a) = api.get(&format!("/v1/reports/{a}"));
    assert_eq!(case_a["status"], "closed", "{case_a}");
    let actions: Vec<&str> = case_a["history"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(actions, ["accept", "dispatch", "acknowledge", "rectify", "verify"], "each form applied once");
    assert_eq!(case_a["department"], "chengguan", "the route's department was filled in");
    let rectified = case_a["history"].as_array().unwrap().iter().find(|e| e["action"] == "rectify").unwrap();
    let after = rectified["photos"][0].as_str().expect("the after-photo");
    let (status, stored) = api.get_bytes(&format!("/v1/photos/{after}"));
    assert_eq!(status, 200);
    suishoupai_core::photo::clean::check(&stored).expect("the phone's after-photo is stored without its EXIF and GPS");
    let (_, case_b) = api.get(&format!("/v1/reports/{b}"));
    assert_eq!((case_b["status"].as_str(), case_b["duplicate_of"].as_str()), (Some("duplicate"), Some(a.as_str())));
    // The admin revoked li's phone in the console: its token is refused.
    assert_eq!(server.get(&resident, "/v1/changes").status(), 401, "the revoked token still works");
    for shot in [
        "cases.png",
        "case-dispatched.png",
        "queue-phone.png",
        "case-rectified-phone.png",
        "stats.png",
        "bulletin.png",
        "ranking.png",
        "admin.png",
        "cases-en.png",
    ] {
        assert!(shots.join(shot).metadata().map(|m| m.len() > 10_000).unwrap_or(false), "screenshot {shot} missing");
    }
}
