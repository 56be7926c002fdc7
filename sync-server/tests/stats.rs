//! Statistics over a generated history: a few hundred cases over two
//! months across the Xixian grid's street offices — accepted, dispatched,
//! returned, reworked, closed on time and late, left overdue — taken
//! through the real HTTP API with the server's clock moved by the test.
//! The figures of `GET /v1/stats` are recomputed here, from the cases' own
//! histories, by a deliberately plain implementation, and compared field
//! by field; and a case at 23:59 and one at 00:01 local time land on the
//! right days.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono::{DateTime, Duration, FixedOffset, SecondsFormat, TimeZone, Utc};
use common::*;
use serde_json::{Value, json};

const CASES: usize = 360;

fn ok(answer: reqwest::blocking::Response) -> Value {
    let status = answer.status();
    let body: Value = answer.json().unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn shanghai() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap()
}

/// The figures, recomputed plainly from report views (see the README for the rules).
fn recompute(cases: &[&Value], start: DateTime<Utc>, end: DateTime<Utc>, now: DateTime<Utc>) -> Value {
    let at = |h: &Value| DateTime::parse_from_rfc3339(h["at"].as_str().unwrap()).unwrap().with_timezone(&Utc);
    let inside = |t: DateTime<Utc>| t >= start && t < end;
    let (mut received, mut rectified, mut closed, mut reworked, mut returned, mut due, mut on_time, mut overdue) = (0, 0, 0, 0, 0, 0, 0, 0);
    let mut hours = Vec::new();
    for case in cases {
        let history: Vec<&Value> = case["history"].as_array().unwrap().iter().filter(|h| h["action"].is_string()).collect();
        let times = |action: &str| -> Vec<DateTime<Utc>> { history.iter().filter(|h| h["action"] == action).map(|h| at(h)).collect() };
        if times("accept").into_iter().any(inside) {
            received += 1;
        }
        if times("rectify").into_iter().any(inside) {
            rectified += 1;
        }
        if times("reopen").into_iter().any(inside) {
            reworked += 1;
        }
        if times("dispatch").into_iter().skip(1).any(inside) {
            returned += 1;
        }
        if let Some(last) = times("verify").into_iter().filter(|t| inside(*t)).max() {
            closed += 1;
            if let Some(first) = times("accept").first() {
                hours.push((last - *first).num_milliseconds() as f64 / 3_600_000.0);
            }
        }
        let status = case["status"].as_str().unwrap();
        if let Some(d) = case["due_at"].as_str().map(|d| DateTime::parse_from_rfc3339(d).unwrap().with_timezone(&Utc)) {
            if inside(d) && d < now {
                due += 1;
                if status == "closed" && times("verify").into_iter().max().is_some_and(|v| v <= d) {
                    on_time += 1;
                }
            }
            if (status == "dispatched" || status == "in_progress") && d < now {
                overdue += 1;
            }
        }
    }
    hours.sort_by(f64::total_cmp);
    let median = match hours.len() {
        0 => Value::Null,
        n if n % 2 == 1 => json!(hours[n / 2]),
        n => json!((hours[n / 2 - 1] + hours[n / 2]) / 2.0),
    };
    let rate = |a: u64, b: u64| if b == 0 { Value::Null } else { json!(a as f64 / b as f64) };
    json!({
        "received": received, "rectified": rectified, "closed": closed, "rectification_rate": rate(rectified, received),
        "due": due, "closed_on_time": on_time, "on_time_rate": rate(on_time, due),
        "reworked": reworked, "rework_rate": rate(reworked, rectified), "returned": returned,
        "overdue": overdue, "median_hours_to_close": median,
    })
}

fn assert_same_figures(got: &Value, want: &Value, what: &str) {
    for (key, value) in want.as_object().unwrap() {
        let g = &got[key];
        match (g.as_f64(), value.as_f64()) {
            (Some(a), Some(b)) => assert!((a - b).abs() < 1e-9, "{what}: {key} is {a}, recomputed {b}"),
            _ => assert_eq!(g, value, "{what}: {key}"),
        }
    }
}

#[test]
fn the_figures_agree_with_a_plain_recomputation() {
    figures_agree(&|data, clock| Server::start_with(data, &["--test-clock", clock]));
}

/// The same history on PostgreSQL and S3: figures that agree with the same
/// plain recomputation agree with SQLite's.
#[test]
fn the_figures_agree_on_postgresql_and_s3() {
    let (database, bucket) = (postgres::fresh_database(), s3::bucket());
    figures_agree(&|_, clock| Server::start_scaled_out_with(&database, &bucket, &["--test-clock", clock]));
}

fn figures_agree(start: &dyn Fn(&Path, &str) -> Server) {
    let data = tempfile::tempdir().unwrap();
    let clock_file = data.path().join("clock");
    let set = |t: DateTime<Utc>| std::fs::write(&clock_file, t.to_rfc3339_opts(SecondsFormat::Millis, true)).unwrap();
    let t0 = shanghai().with_ymd_and_hms(2026, 10, 1, 8, 0, 0).unwrap().with_timezone(&Utc);
    set(t0);
    let server = start(data.path(), clock_file.to_str().unwrap());
    let grid = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/grids/xixian.geojson");
    assert!(server.cli(&["grid", "import", grid.to_str().unwrap()]).status.success());
    let coco = server.user("coco", "coordinator");
    let cg = server.user_with("cg", "department", &["--department", "cg"]);
    let ana = server.user("ana", "resident");
    let [a, b, _] = photos() else { unreachable!() };
    server.upload_photo(&ana, a);
    server.upload_photo(&cg, b);
    let cells = ok(server.get(&coco, "/v1/grids"));
    let cells: Vec<&Value> = cells["cells"].as_array().unwrap().iter().collect();

    let mut rng = Lcg(2026);
    let mut reports = Vec::new();
    for i in 0..CASES {
        let cell = cells[rng.below(cells.len() as u64) as usize];
        let [min_lat, max_lat, min_lon, max_lon] = [0, 1, 2, 3].map(|k| cell["bbox"][k].as_f64().unwrap());
        let mut r = report(&[a]);
        // The middle of the cell's box: inside it for these near-rectangular cells, or in a neighbour's.
        r["location"] = json!({ "latitude": (min_lat + max_lat) / 2.0, "longitude": (min_lon + max_lon) / 2.0, "source": "device" });
        // Local day 0..60 of the campaign, any minute, including 23:59 and 00:01.
        let minute = match i % 10 {
            0 => 23 * 60 + 59,
            1 => 1,
            _ => rng.below(24 * 60) as i64,
        };
        let day = shanghai().with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap() + Duration::days(rng.below(61) as i64);
        let mut now = (day + Duration::minutes(minute)).with_timezone(&Utc);
        set(now);
        assert_eq!(server.push(&ana, std::slice::from_ref(&r))[0]["outcome"], "accepted");
        let id = r["id"].as_str().unwrap().to_owned();
        reports.push(id.clone());
        // An action `after_minutes` on, with a deadline `due_hours` after it.
        let mut step = |token: &str, mut body: Value, after_minutes: i64, due_hours: Option<i64>| {
            now += Duration::minutes(after_minutes);
            set(now);
            if let Some(hours) = due_hours {
                body["due_at"] = (now + Duration::hours(hours)).to_rfc3339().into();
            }
            ok(server.act(token, &id, &body));
        };
        if rng.below(10) == 0 {
            continue; // never accepted
        }
        step(&coco, json!({ "action": "accept" }), 0, None);
        if rng.below(10) == 0 {
            continue;
        }
        step(&coco, json!({ "action": "dispatch", "department": "cg" }), 10, Some(1 + rng.below(96) as i64));
        if rng.below(6) == 0 {
            step(&cg, json!({ "action": "return", "note": "不属本部门" }), 60, None);
            step(&coco, json!({ "action": "dispatch", "department": "cg" }), 30, Some(2 + rng.below(96) as i64));
        }
        if rng.below(3) == 0 {
            step(&cg, json!({ "action": "acknowledge" }), 20, None);
        }
        if rng.below(5) == 0 {
            continue; // left open: overdue now, or not yet due
        }
        step(&cg, json!({ "action": "rectify", "note": "已整改", "photos": [b.sha256] }), 60 * (1 + rng.below(120) as i64), None);
        if rng.below(5) == 0 {
            step(&coco, json!({ "action": "reopen", "note": "返工" }), 60, Some(48));
            step(&cg, json!({ "action": "rectify", "note": "再次整改", "photos": [b.sha256] }), 60 * (1 + rng.below(72) as i64), None);
        }
        if rng.below(4) != 0 {
            step(&coco, json!({ "action": "verify" }), 60 * rng.below(48) as i64 + 1, None);
        }
    }
    let end_of_campaign = shanghai().with_ymd_and_hms(2026, 12, 20, 12, 0, 0).unwrap().with_timezone(&Utc);
    set(end_of_campaign);

    let views: Vec<Value> = reports.iter().map(|id| ok(server.get(&coco, &format!("/v1/reports/{id}")))).collect();
    let office_of: HashMap<&str, &str> =
        cells.iter().map(|c| (c["grid_id"].as_str().unwrap(), c["street_office"].as_str().unwrap())).collect();
    let local_midnight = |y, m, d| shanghai().with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap().with_timezone(&Utc);

    // The whole campaign, and by street office.
    let (start, end) = (local_midnight(2026, 10, 1), local_midnight(2026, 12, 1));
    let stats = ok(server.get(&coco, "/v1/stats?from=2026-10-01&to=2026-11-30&by=street_office"));
    assert_eq!(stats["timezone"], "Asia/Shanghai");
    let all: Vec<&Value> = views.iter().collect();
    let total = recompute(&all, start, end, end_of_campaign);
    assert_same_figures(&stats["total"], &total, "total");
    assert!(total["received"].as_u64().unwrap() > 250 && total["returned"].as_u64().unwrap() > 10, "a varied history: {total}");
    assert!(total["overdue"].as_u64().unwrap() > 5 && total["reworked"].as_u64().unwrap() > 10, "{total}");
    let mut by_office: BTreeMap<Option<&str>, Vec<&Value>> = BTreeMap::new();
    for v in &views {
        by_office.entry(v["grid_id"].as_str().and_then(|g| office_of.get(g).copied())).or_default().push(v);
    }
    let groups = stats["groups"].as_array().unwrap();
    assert_eq!(groups.len(), by_office.len());
    for group in groups {
        let key = group["key"].as_str();
        let want = recompute(&by_office[&key], start, end, end_of_campaign);
        assert_same_figures(group, &want, &format!("street office {key:?}"));
    }

    // Single local days: every case accepted at 23:59 counts on its own day,
    // every one at 00:01 on the next, whatever UTC says.
    for day in 1..=31 {
        let (start, end) = (local_midnight(2026, 10, day), local_midnight(2026, 10, day) + Duration::days(1));
        let query = format!("/v1/stats?from=2026-10-{day:02}&to=2026-10-{day:02}");
        let stats = ok(server.get(&coco, &query));
        assert_same_figures(&stats["total"], &recompute(&all, start, end, end_of_campaign), &query);
    }
    let boundary: Vec<&Value> = views
        .iter()
        .filter(|v| {
            let accept = v["history"].as_array().unwrap().iter().find(|h| h["action"] == "accept");
            accept.is_some_and(|h| {
                let local = DateTime::parse_from_rfc3339(h["at"].as_str().unwrap()).unwrap().with_timezone(&shanghai());
                ["23:59", "00:01"].contains(&local.format("%H:%M").to_string().as_str())
            })
        })
        .collect();
    assert!(boundary.len() >= 40, "cases were accepted at 23:59 and 00:01 local: {}", boundary.len());

    // Bad parameters name themselves; only coordinators and admins read statistics.
    assert_error(server.get(&coco, "/v1/stats?from=2026-10-01"), 400, "bad_request", "to");
    assert_error(server.get(&coco, "/v1/stats?from=2026-10-31&to=2026-10-01"), 400, "bad_request", "before");
    assert_error(server.get(&coco, "/v1/stats?from=01/10/2026&to=2026-10-31"), 400, "bad_request", "YYYY-MM-DD");
    assert_error(server.get(&coco, "/v1/stats?from=2026-10-01&to=2026-10-31&by=planet"), 400, "bad_request", "planet");
    assert_error(server.get(&cg, "/v1/stats?from=2026-10-01&to=2026-10-31"), 403, "forbidden", "");
}
