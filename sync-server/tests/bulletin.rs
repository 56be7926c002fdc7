//! The daily bulletin and the ranking over a generated history: a few
//! hundred cases from mid-October to the end of November across the Xixian
//! grid's street offices and two departments, taken through the real HTTP
//! API with the server's clock moved by the test. One street office
//! (城郊街道) never gets a case fixed, so that it is last, period after
//! period, and its talk (约谈) is due. Every bulletin of 50 days and the
//! rankings of every 旬 and month of the campaign are recomputed here by a
//! deliberately plain implementation, from the cases' own histories, and
//! compared field by field; the CLI's bulletin in JSON, CSV (read back by
//! Python's `csv`) and HTML; bad dates and periods.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, SecondsFormat, TimeZone, Utc};
use common::*;
use serde_json::{Value, json};

const CASES: usize = 320;
const LAGGARD: &str = "城郊街道";
/// Not the default, so that the flag's weights are the ones used.
const WEIGHTS: (f64, f64, f64) = (40.0, 30.0, 0.5);
const CATEGORIES: [(&str, &str); 4] =
    [("garbage", "垃圾"), ("illegal_parking", "乱停乱放"), ("illegal_ads", "小广告"), ("flying_wire_charging", "飞线充电")];
const DEPARTMENTS: [(&str, &str); 3] = [("cg", "城管局"), ("sw", "水务局"), ("yl", "园林局")];

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

fn midnight(day: NaiveDate) -> DateTime<Utc> {
    shanghai().from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap()).unwrap().with_timezone(&Utc)
}

fn time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

/// A case as the test sees it: from its view, plainly.
struct Case {
    id: String,
    category: String,
    office: Option<String>,
    department: Option<String>,
    status: String,
    due: Option<DateTime<Utc>>,
    /// (action, at)
    actions: Vec<(String, DateTime<Utc>)>,
}

impl Case {
    fn any(&self, action: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
        self.actions.iter().any(|(a, t)| a == action && *t >= from && *t < to)
    }

    fn overdue(&self, now: DateTime<Utc>) -> bool {
        (self.status == "dispatched" || self.status == "in_progress") && self.due.is_some_and(|d| d < now)
    }

    fn due_in(&self, from: DateTime<Utc>, to: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        self.due.is_some_and(|d| d >= from && d < to && d < now)
    }

    fn closed_on_time(&self) -> bool {
        let last_verify = self.actions.iter().filter(|(a, _)| a == "verify").map(|(_, t)| *t).max();
        self.status == "closed" && last_verify.is_some_and(|v| Some(v) <= self.due)
    }
}

fn rate(a: u64, b: u64) -> Value {
    if b == 0 { Value::Null } else { json!(a as f64 / b as f64) }
}

/// One line of the bulletin, recomputed.
fn bulletin_row(office: Value, cases: &[&Case], day: NaiveDate, now: DateTime<Utc>) -> Value {
    let (start, end) = (midnight(day), midnight(day.succ_opt().unwrap()));
    let far = DateTime::<Utc>::MIN_UTC;
    let count = |f: &dyn Fn(&Case) -> bool| cases.iter().filter(|c| f(c)).count() as u64;
    let received = count(&|c| c.any("accept", far, end));
    let rectified = count(&|c| c.any("rectify", far, end));
    let due = count(&|c| c.due_in(far, end, now));
    let on_time = count(&|c| c.due_in(far, end, now) && c.closed_on_time());
    json!({
        "street_office": office,
        "new": count(&|c| c.any("accept", start, end)),
        "dispatched": count(&|c| c.any("dispatch", start, end)),
        "rectified": count(&|c| c.any("rectify", start, end)),
        "closed": count(&|c| c.any("verify", start, end)),
        "overdue": count(&|c| c.overdue(now)),
        "received_to_date": received,
        "rectified_to_date": rectified,
        "closed_to_date": count(&|c| c.any("verify", far, end)),
        "rectification_rate": rate(rectified, received),
        "on_time_rate": rate(on_time, due),
        "rework_rate": rate(count(&|c| c.any("reopen", far, end)), rectified),
    })
}

/// A ranking's entries, recomputed: (unit, score, flag, talk) in rank order.
fn ranking(
    units: &BTreeSet<String>,
    cases: &[Case],
    of: fn(&Case) -> Option<&String>,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> Vec<Value> {
    let (start, end) = (midnight(from), midnight(to.succ_opt().unwrap()));
    let mut rows = Vec::new();
    for unit in units {
        let mine: Vec<&Case> = cases.iter().filter(|c| of(c) == Some(unit)).collect();
        let count = |f: &dyn Fn(&Case) -> bool| mine.iter().filter(|c| f(c)).count() as u64;
        let received = count(&|c| c.any("accept", start, end));
        let closed = count(&|c| c.any("verify", start, end));
        let due = count(&|c| c.due_in(start, end, now));
        let on_time = count(&|c| c.due_in(start, end, now) && c.closed_on_time());
        let reworked = count(&|c| c.any("reopen", start, end));
        let on_time_rate = if due == 0 { 1.0 } else { on_time as f64 / due as f64 };
        let closure = if received == 0 { 1.0 } else { (closed as f64 / received as f64).min(1.0) };
        let rated = received + due + closed + reworked > 0;
        let score = ((WEIGHTS.0 * on_time_rate + WEIGHTS.1 * closure - WEIGHTS.2 * reworked as f64) * 1e4).round() / 1e4;
        rows.push((rated, score, on_time_rate, reworked, received, unit.clone(), due));
    }
    // Rated first; score down, on-time rate down, reworked up, received down, key up.
    rows.sort_by(|a, b| {
        b.0.cmp(&a.0).then(b.1.total_cmp(&a.1)).then(b.2.total_cmp(&a.2)).then(a.3.cmp(&b.3)).then(b.4.cmp(&a.4)).then(a.5.cmp(&b.5))
    });
    let rated = rows.iter().filter(|r| r.0).count();
    rows.iter()
        .enumerate()
        .map(|(i, (is_rated, score, _, reworked, received, unit, due))| {
            let flag = match (is_rated, i) {
                (false, _) => Value::Null,
                (true, 0) => json!("red"),
                (true, i) if i + 1 == rated => json!("black"),
                _ => Value::Null,
            };
            json!({
                "unit": unit, "score": if *is_rated { json!(score) } else { Value::Null },
                "rank": if *is_rated { json!(i + 1) } else { Value::Null }, "flag": flag,
                "received": received, "reworked": reworked, "due": due,
            })
        })
        .collect()
}

fn assert_same(got: &Value, want: &Value, what: &str) {
    for (key, value) in want.as_object().unwrap() {
        let g = &got[key];
        match (g.as_f64(), value.as_f64()) {
            (Some(a), Some(b)) => assert!((a - b).abs() < 1e-9, "{what}: {key} is {a}, recomputed {b}"),
            _ => assert_eq!(g, value, "{what}: {key}"),
        }
    }
}

#[test]
fn the_bulletin_and_the_ranking_agree_with_a_plain_recomputation() {
    the_bulletin_and_the_ranking_agree_with_a_plain_recomputation_over(&|data, args| Server::start_with(data, args));
}

/// The same history over PostgreSQL and S3: the same bulletin and ranking.
#[test]
fn the_bulletin_and_the_ranking_agree_with_a_plain_recomputation_on_postgresql_and_s3() {
    let (database, bucket) = (postgres::fresh_database(), s3::bucket());
    the_bulletin_and_the_ranking_agree_with_a_plain_recomputation_over(&|_, args| Server::start_scaled_out_with(&database, &bucket, args));
}

fn the_bulletin_and_the_ranking_agree_with_a_plain_recomputation_over(start: &dyn Fn(&Path, &[&str]) -> Server) {
    let data = tempfile::tempdir().unwrap();
    let clock_file = data.path().join("clock");
    let set = |t: DateTime<Utc>| std::fs::write(&clock_file, t.to_rfc3339_opts(SecondsFormat::Millis, true)).unwrap();
    set(shanghai().with_ymd_and_hms(2026, 10, 15, 8, 0, 0).unwrap().with_timezone(&Utc));
    let weights = format!("closure={},rework={},on_time={}", WEIGHTS.1, WEIGHTS.2, WEIGHTS.0);
    let clock_arg = clock_file.to_str().unwrap();
    let server = start(data.path(), &["--test-clock", clock_arg, "--ranking-weights", &weights]);
    let grid = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/grids/xixian.geojson");
    assert!(server.cli(&["grid", "import", grid.to_str().unwrap()]).status.success());
    let coco = server.user("coco", "coordinator");
    let workers: Vec<String> =
        DEPARTMENTS[..2].iter().map(|(code, _)| server.user_with(code, "department", &["--department", code])).collect();
    for (code, name) in DEPARTMENTS {
        assert!(server.cli(&["department", "add", "--code", code, "--name", name]).status.success());
    }
    let ana = server.user("ana", "resident");
    let [a, b, _] = photos() else { unreachable!() };
    server.upload_photo(&ana, a);
    for w in &workers {
        server.upload_photo(w, b);
    }
    let cells = ok(server.get(&coco, "/v1/grids"));
    let cells: Vec<&Value> = cells["cells"].as_array().unwrap().iter().collect();
    let office_of: HashMap<&str, &str> =
        cells.iter().map(|c| (c["grid_id"].as_str().unwrap(), c["street_office"].as_str().unwrap())).collect();

    let mut rng = Lcg(11);
    let mut ids = Vec::new();
    let first_day = NaiveDate::from_ymd_opt(2026, 10, 15).unwrap();
    for i in 0..CASES {
        let cell = cells[rng.below(cells.len() as u64) as usize];
        let [min_lat, max_lat, min_lon, max_lon] = [0, 1, 2, 3].map(|k| cell["bbox"][k].as_f64().unwrap());
        let mut r = report(&[a]);
        r["category"] = CATEGORIES[i % CATEGORIES.len()].0.into();
        r["location"] = json!({ "latitude": (min_lat + max_lat) / 2.0, "longitude": (min_lon + max_lon) / 2.0, "source": "device" });
        // Any minute of a day of the campaign, and many at 23:59 and 00:01 local.
        let minute = match i % 8 {
            0 => 23 * 60 + 59,
            1 => 1,
            _ => rng.below(24 * 60) as i64,
        };
        let day = first_day + chrono::Days::new(rng.below(47));
        let mut now = midnight(day) + Duration::minutes(minute);
        set(now);
        assert_eq!(server.push(&ana, std::slice::from_ref(&r))[0]["outcome"], "accepted");
        let id = r["id"].as_str().unwrap().to_owned();
        ids.push(id.clone());
        let mut step = |token: &str, mut body: Value, after_minutes: i64, due_hours: Option<i64>| {
            now += Duration::minutes(after_minutes);
            set(now);
            if let Some(hours) = due_hours {
                body["due_at"] = (now + Duration::hours(hours)).to_rfc3339().into();
            }
            ok(server.act(token, &id, &body));
        };
        if rng.below(12) == 0 {
            continue; // never accepted
        }
        step(&coco, json!({ "action": "accept" }), 0, None);
        if rng.below(12) == 0 {
            continue;
        }
        let d = rng.below(2) as usize;
        let (code, worker) = (DEPARTMENTS[d].0, &workers[d]);
        step(&coco, json!({ "action": "dispatch", "department": code }), 10, Some(1 + rng.below(96) as i64));
        if rng.below(6) == 0 {
            step(worker, json!({ "action": "return", "note": "不属本部门" }), 60, None);
            step(&coco, json!({ "action": "dispatch", "department": code }), 30, Some(2 + rng.below(96) as i64));
        }
        if rng.below(3) == 0 {
            step(worker, json!({ "action": "acknowledge" }), 20, None);
        }
        // The laggard's cases are never fixed; of the others, a few are left open.
        if office_of.get(cell["grid_id"].as_str().unwrap()) == Some(&LAGGARD) || rng.below(5) == 0 {
            continue;
        }
        step(worker, json!({ "action": "rectify", "note": "已整改", "photos": [b.sha256] }), 60 * (1 + rng.below(100) as i64), None);
        if rng.below(5) == 0 {
            step(&coco, json!({ "action": "reopen", "note": "返工" }), 60, Some(48));
            step(worker, json!({ "action": "rectify", "note": "再次整改", "photos": [b.sha256] }), 60 * (1 + rng.below(72) as i64), None);
        }
        if rng.below(4) != 0 {
            step(&coco, json!({ "action": "verify" }), 60 * rng.below(48) as i64 + 1, None);
        }
    }
    // 园林局 gets one case at the end of November, due in December: in the
    // 下旬 it has received one and has nothing due, a null on-time rate,
    // which counts as 1.
    let late_start = shanghai().with_ymd_and_hms(2026, 11, 30, 10, 0, 0).unwrap().with_timezone(&Utc);
    set(late_start);
    let r = report(&[a]);
    assert_eq!(server.push(&ana, std::slice::from_ref(&r))[0]["outcome"], "accepted");
    let id = r["id"].as_str().unwrap().to_owned();
    ok(server.act(&coco, &id, &json!({ "action": "accept" })));
    ok(server.act(&coco, &id, &json!({ "action": "dispatch", "department": "yl", "due_at": "2026-12-10T12:00:00+08:00" })));
    ids.push(id);
    let now = shanghai().with_ymd_and_hms(2026, 12, 3, 9, 30, 0).unwrap().with_timezone(&Utc);
    set(now);

    let cases: Vec<Case> = ids
        .iter()
        .map(|id| {
            let v = ok(server.get(&coco, &format!("/v1/reports/{id}")));
            Case {
                id: id.clone(),
                category: v["category"].as_str().unwrap().into(),
                office: v["grid_id"].as_str().and_then(|g| office_of.get(g)).map(|o| o.to_string()),
                department: v["department"].as_str().map(Into::into),
                status: v["status"].as_str().unwrap().into(),
                due: v["due_at"].as_str().map(time),
                actions: v["history"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|h| Some((h["action"].as_str()?.to_owned(), time(h["at"].as_str()?))))
                    .collect(),
            }
        })
        .collect();
    let offices: BTreeSet<String> = office_of.values().map(|o| o.to_string()).collect();
    assert_eq!(offices.len(), 5);
    let overdue_now = cases.iter().filter(|c| c.overdue(now)).count();
    assert!(overdue_now > 20, "a history with overdue cases: {overdue_now}");

    // Every day's bulletin: each street office, the whole area, the overdue list.
    let mut boundary_days = 0;
    for day in first_day.iter_days().take(50) {
        let got = ok(server.get(&coco, &format!("/v1/stats/daily?date={day}")));
        let what = format!("bulletin of {day}");
        assert_eq!(got["date"], day.to_string());
        assert_eq!(got["title"], format!("{}月{}日 人居环境整治 每日通报", day.format("%-m"), day.format("%-d")));
        let rows = got["street_offices"].as_array().unwrap();
        assert_eq!(rows.iter().map(|r| r["street_office"].as_str().unwrap().to_owned()).collect::<BTreeSet<_>>(), offices, "{what}");
        for row in rows {
            let office = row["street_office"].as_str().unwrap();
            let mine: Vec<&Case> = cases.iter().filter(|c| c.office.as_deref() == Some(office)).collect();
            assert_same(row, &bulletin_row(json!(office), &mine, day, now), &format!("{what}, {office}"));
        }
        assert_same(&got["total"], &bulletin_row(Value::Null, &cases.iter().collect::<Vec<_>>(), day, now), &format!("{what}, total"));
        let mut want: Vec<&Case> = cases.iter().filter(|c| c.overdue(now)).collect();
        let days_late = |c: &Case| ((now - c.due.unwrap()).num_milliseconds() + 86_399_999) / 86_400_000;
        want.sort_by(|x, y| days_late(y).cmp(&days_late(x)).then(x.due.cmp(&y.due)).then(x.id.cmp(&y.id)));
        let listed = got["overdue"].as_array().unwrap();
        assert_eq!(listed.len(), want.len(), "{what}: overdue cases");
        for (l, c) in listed.iter().zip(&want) {
            let category = CATEGORIES.iter().find(|(code, _)| *code == c.category).unwrap().1;
            let department = c.department.as_deref().unwrap();
            let name = DEPARTMENTS.iter().find(|(code, _)| *code == department).unwrap().1;
            assert_eq!(
                (
                    l["id"].as_str(),
                    l["category"].as_str(),
                    l["category_name"].as_str(),
                    l["department"].as_str(),
                    l["department_name"].as_str()
                ),
                (Some(c.id.as_str()), Some(c.category.as_str()), Some(category), Some(department), Some(name)),
                "{what}"
            );
            assert_eq!(l["street_office"].as_str(), c.office.as_deref());
            assert_eq!(time(l["due_at"].as_str().unwrap()), c.due.unwrap());
            assert!(l["due_at"].as_str().unwrap().ends_with("+08:00"));
            assert_eq!(l["days_past_due"], days_late(c), "{what}: {}", c.id);
        }
        // The day's new cases include those accepted at 23:59 and none accepted at 00:01 of the next day.
        let at = |c: &Case, hm: &str| {
            c.actions.iter().any(|(a, t)| {
                a == "accept"
                    && t.with_timezone(&shanghai()).format("%H:%M").to_string() == hm
                    && t.with_timezone(&shanghai()).date_naive() == day
            })
        };
        if cases.iter().any(|c| at(c, "23:59")) && cases.iter().any(|c| at(c, "00:01")) {
            boundary_days += 1;
        }
    }
    assert!(boundary_days >= 10, "days with cases accepted at 23:59 and 00:01: {boundary_days}");

    // The rankings of every 旬 and month, by street office and by department.
    let departments: BTreeSet<String> = DEPARTMENTS.iter().map(|(c, _)| c.to_string()).collect();
    let mut laggard_talks = 0;
    let periods: Vec<(String, NaiveDate, NaiveDate, String)> = [
        ("period=2026-10-2", "2026-10-11", "2026-10-20", "2026年10月中旬"),
        ("period=2026-10-3", "2026-10-21", "2026-10-31", "2026年10月下旬"),
        ("period=2026-11-1", "2026-11-01", "2026-11-10", "2026年11月上旬"),
        ("period=2026-11-2", "2026-11-11", "2026-11-20", "2026年11月中旬"),
        ("period=2026-11-3", "2026-11-21", "2026-11-30", "2026年11月下旬"),
        ("month=2026-10", "2026-10-01", "2026-10-31", "2026年10月"),
        ("month=2026-11", "2026-11-01", "2026-11-30", "2026年11月"),
    ]
    .iter()
    .map(|(q, f, t, l)| (q.to_string(), f.parse().unwrap(), t.parse().unwrap(), l.to_string()))
    .collect();
    for (unit, units) in [("street_office", &offices), ("department", &departments)] {
        let of: fn(&Case) -> Option<&String> = if unit == "street_office" { |c| c.office.as_ref() } else { |c| c.department.as_ref() };
        let mut previous_black: Option<String> = None;
        for (query, from, to, label) in &periods {
            let got = ok(server.get(&coco, &format!("/v1/stats/ranking?{query}&unit={unit}")));
            let what = format!("ranking {query} by {unit}");
            assert_eq!(
                (got["from"].as_str(), got["to"].as_str(), got["label"].as_str()),
                (Some(&*from.to_string()), Some(&*to.to_string()), Some(label.as_str())),
                "{what}"
            );
            assert_eq!(got["weights"], json!({ "on_time": WEIGHTS.0, "closure": WEIGHTS.1, "rework": WEIGHTS.2 }));
            let want = ranking(units, &cases, of, *from, *to, now);
            let entries = got["entries"].as_array().unwrap();
            assert_eq!(entries.len(), want.len(), "{what}");
            for (e, w) in entries.iter().zip(&want) {
                assert_same(e, &json!({ "unit": w["unit"], "score": w["score"], "rank": w["rank"], "flag": w["flag"] }), &what);
                assert_same(&e["figures"], &json!({ "received": w["received"], "reworked": w["reworked"], "due": w["due"] }), &what);
            }
            // The previous period's black flag, recomputed the same way.
            let before = if query.starts_with("month") {
                let first = from.checked_sub_months(chrono::Months::new(1)).unwrap();
                (first, from.pred_opt().unwrap())
            } else if from.format("%d").to_string() == "01" {
                (from.pred_opt().unwrap().with_day(21).unwrap(), from.pred_opt().unwrap())
            } else {
                (*from - Duration::days(10), from.pred_opt().unwrap())
            };
            let black_before = ranking(units, &cases, of, before.0, before.1, now)
                .into_iter()
                .find(|e| e["flag"] == "black")
                .map(|e| e["unit"].as_str().unwrap().to_owned());
            assert_eq!(got["previous"]["black"].as_str(), black_before.as_deref(), "{what}");
            if query.starts_with("period") && previous_black.is_some() {
                assert_eq!(black_before, previous_black, "{what}: the previous 旬 is the one ranked before");
            }
            for (e, w) in entries.iter().zip(&want) {
                let talk = w["flag"] == "black" && black_before.as_deref() == w["unit"].as_str();
                assert_eq!(e["talk"], talk, "{what}: {}", w["unit"]);
                laggard_talks += usize::from(talk && w["unit"] == LAGGARD);
            }
            if query.starts_with("period") {
                previous_black = want.iter().find(|e| e["flag"] == "black").map(|e| e["unit"].as_str().unwrap().to_owned());
            }
            if unit == "street_office" {
                assert_eq!(entries.last().unwrap()["unit"], LAGGARD, "{what}: the laggard is last");
                assert_eq!(entries[0]["flag"], "red");
            } else if *to < "2026-11-30".parse().unwrap() {
                // 园林局 has nothing to do: unrated, at the end.
                assert_eq!(
                    (entries[2]["unit"].as_str(), entries[2]["rank"].is_null(), entries[2]["flag"].is_null()),
                    (Some("yl"), true, true),
                    "{what}"
                );
                assert_eq!(entries[2]["name"], "园林局");
            } else {
                let yl = entries.iter().find(|e| e["unit"] == "yl").unwrap();
                assert_eq!((yl["figures"]["received"].as_u64(), yl["figures"]["on_time_rate"].is_null()), (Some(1), true), "{what}");
                assert_eq!((yl["closure_rate"].as_f64(), yl["score"].as_f64()), (Some(0.0), Some(WEIGHTS.0)), "{what}");
            }
        }
    }
    assert!(laggard_talks >= 4, "the laggard is called in period after period: {laggard_talks}");

    // The CLI's bulletin: the same JSON; a CSV that Python reads; the printable page.
    let cli = |format: &str| {
        let out = server.cli(&["bulletin", "--date", "2026-11-20", "--format", format, "--test-clock", clock_arg]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    };
    let http = ok(server.get(&coco, "/v1/stats/daily?date=2026-11-20"));
    assert_eq!(serde_json::from_slice::<Value>(&cli("json")).unwrap(), http);
    let csv = cli("csv");
    assert!(csv.starts_with("\u{feff}".as_bytes()), "the CSV starts with a BOM");
    let csv_file = data.path().join("bulletin.csv");
    std::fs::write(&csv_file, &csv).unwrap();
    let read = std::process::Command::new("python3")
        .args(["-c", "import csv, json, sys; print(json.dumps(list(csv.reader(open(sys.argv[1], encoding='utf-8-sig', newline='')))))"])
        .arg(&csv_file)
        .output()
        .unwrap();
    assert!(read.status.success(), "{}", String::from_utf8_lossy(&read.stderr));
    let rows: Vec<Vec<String>> = serde_json::from_slice(&read.stdout).unwrap();
    assert_eq!(rows[0][..6], ["街道", "新增", "派遣", "整改", "结案", "超期"]);
    let offices_listed = http["street_offices"].as_array().unwrap();
    for (row, office) in rows[1..].iter().zip(offices_listed) {
        assert_eq!(row[0], office["street_office"].as_str().unwrap());
        assert_eq!(row[1], office["new"].to_string());
        assert_eq!(row[5], office["overdue"].to_string());
        let rate = office["rectification_rate"].as_f64().map_or(String::new(), |r| format!("{r:.4}"));
        assert_eq!(row[9], rate);
    }
    let total_row = &rows[1 + offices_listed.len()];
    assert_eq!((total_row[0].as_str(), total_row[1].clone()), ("全区合计", http["total"]["new"].to_string()));
    assert!(rows[2 + offices_listed.len()].is_empty(), "a blank line between the sections");
    assert_eq!(rows[3 + offices_listed.len()][0], "案件编号");
    let overdue_rows = &rows[4 + offices_listed.len()..];
    assert_eq!(overdue_rows.len(), http["overdue"].as_array().unwrap().len());
    assert_eq!(overdue_rows[0][0], http["overdue"][0]["id"].as_str().unwrap());
    let html = String::from_utf8(cli("html")).unwrap();
    assert!(html.contains(r#"<html lang="zh-CN">"#) && html.contains("<title>11月20日 人居环境整治 每日通报</title>"));
    assert!(html.contains("@media print"));
    for office in &offices {
        assert!(html.contains(office.as_str()), "{office} in the page");
    }
    assert!(!html.contains("http://") && !html.contains("https://"), "the page fetches nothing");
    let bad = server.cli(&["bulletin", "--date", "2026-11-31"]);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("YYYY-MM-DD"));

    // Bad requests name what is wrong; only coordinators and admins read them.
    for (query, mentions) in [
        ("/v1/stats/daily", "date"),
        ("/v1/stats/daily?date=2026-02-30", "YYYY-MM-DD"),
        ("/v1/stats/daily?date=20261120", "YYYY-MM-DD"),
        ("/v1/stats/ranking", "exactly one"),
        ("/v1/stats/ranking?period=2026-11-2&month=2026-11", "exactly one"),
        ("/v1/stats/ranking?period=2026-11-4", "YYYY-MM-N"),
        ("/v1/stats/ranking?period=2026-11", "YYYY-MM-N"),
        ("/v1/stats/ranking?month=2026-13", "YYYY-MM"),
        ("/v1/stats/ranking?month=2026-11&unit=planet", "planet"),
    ] {
        assert_error(server.get(&coco, query), 400, "bad_request", mentions);
    }
    assert_error(server.get(&workers[0], "/v1/stats/daily?date=2026-11-20"), 403, "forbidden", "");
    assert_error(server.get(&ana, "/v1/stats/ranking?month=2026-11"), 403, "forbidden", "");
    // Weights are parsed strictly before the server starts.
    let refused = server.cli(&["serve", "--listen", "127.0.0.1:0", "--ranking-weights", "on_time=50,closure=20"]);
    assert!(!refused.status.success() && String::from_utf8_lossy(&refused.stderr).contains("ranking weights"));
}
