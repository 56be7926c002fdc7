//! `bench console`: the coordinators' side at scale. The ledger of 100,000
//! cases against Python's XlsxWriter (`console_ledger.rs`), then one data
//! directory of 1,000,000 cases, written once, for the statistics against
//! bare SQL (`console_stats.rs`) and for the console's pages served by the
//! real server (`console_page.rs`).
//!
//! The cases are written straight into a server data directory's SQLite
//! (the server's own migrations, so the same tables and indexes): a year
//! of campaign over the 60 cells of the Xixian grid and three departments,
//! each case accepted, dispatched (some returned and dispatched again),
//! rectified (some reworked), verified on time or late, or left open, with
//! the events the server would have written, arrivals included. Each case
//! has the body a device pushes (a place inside its cell, one photo), its
//! photo row, its R*Tree box, as the server's own insert writes them; one
//! in fifty lies outside the grid, with no place.

use chrono::TimeZone;
use suishoupai_core::protocol::{WirePhoto, WireReport};
use suishoupai_core::{Location, LocationSource, Reporter};
use suishoupai_server::services::grids;
use suishoupai_server::storage::sqlite::{DATABASE_FILE, SqliteStorage};

use super::*;

pub(crate) const HOUR: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR;
pub(crate) const DEPARTMENTS: [&str; 3] = ["cg", "sw", "yl"];
/// The coordinator the seed acts as, who signs in to the console.
pub(crate) const COORDINATOR: &str = "coco";
pub(crate) const STATS_CASES: usize = 1_000_000;

/// When the seeded cases happen.
#[derive(Clone, Copy)]
pub(crate) struct Timeline {
    /// The first case is created then; the others follow evenly over `span_ms`.
    pub(crate) first_ms: i64,
    pub(crate) span_ms: i64,
    /// Cases whose next step would come after this are left open.
    pub(crate) now_ms: i64,
}

pub(crate) fn bench_console(tmp: &Path, figures: &mut Vec<Figure>) -> Result<()> {
    // First, while the bench is still small: every child's peak RSS starts
    // from the bench's own (see make_big_jpeg).
    run_ledger(tmp, figures)?;

    let dir = tmp.join("console-1m");
    let tz = chrono_tz::Asia::Shanghai;
    let first_ms = tz.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().ok_or("no such time")?.timestamp_millis();
    let now_ms = tz.with_ymd_and_hms(2026, 12, 31, 12, 0, 0).single().ok_or("no such time")?.timestamp_millis();
    // To 2026-12-21, so that the ranking's 旬 are full.
    let timeline = Timeline { first_ms, span_ms: 354 * DAY_MS, now_ms };
    let start = Instant::now();
    let events = seed_cases(&dir, STATS_CASES, timeline)?;
    println!("console: {STATS_CASES} cases, {events} events written in {:.1} s (not measured)", start.elapsed().as_secs_f64());
    run_stats(&dir, now_ms, figures)?;
    run_page(&dir, figures)?;
    fs::remove_dir_all(&dir)?;
    Ok(())
}

/// A small deterministic generator (the bench needs spread, not quality).
pub(crate) struct Lcg(pub(crate) u64);

impl Lcg {
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

pub(crate) fn at(ms: i64) -> String {
    suishoupai_server::clock::ms_rfc3339(ms)
}

/// The id of the `i`th seeded case: in time order, as UUIDv7s are.
pub(crate) fn case_id(i: usize) -> String {
    format!("{:08x}-0000-7000-8000-{:012x}", i >> 16, i)
}

/// An event as seeded: at, status after, action, department, due_at.
type Event<'a> = (i64, &'a str, Option<&'a str>, &'a str, Option<String>);

/// Writes `cases` cases into a new data directory `dir`, with the grid, the
/// departments and two users (`ana`, a resident who reported them all, and
/// the coordinator who acted); answers how many events.
pub(crate) fn seed_cases(dir: &Path, cases: usize, timeline: Timeline) -> Result<usize> {
    let storage = SqliteStorage::open(dir)?;
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sync-server/testdata/grids/xixian.geojson");
    let cells = grids::parse(&fs::read_to_string(file)?, suishoupai_core::Crs::Wgs84)?;
    grids::import(&storage, &cells)?;
    drop(storage);
    let mut conn = Connection::open(dir.join(DATABASE_FILE))?;
    // Seeding only: nothing here is timed, and a crash just fails the bench.
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;")?;
    conn.execute("INSERT INTO users (id, name, role, created_at) VALUES (1, 'ana', 'resident', '2026-01-01T00:00:00.000Z')", [])?;
    conn.execute(
        "INSERT INTO users (id, name, role, created_at) VALUES (2, ?1, 'coordinator', '2026-01-01T00:00:00.000Z')",
        [COORDINATOR],
    )?;
    for code in DEPARTMENTS {
        conn.execute("INSERT INTO departments (code, name) VALUES (?1, ?1)", [code])?;
    }
    let categories: Vec<&str> = CATEGORIES.iter().map(|c| c.code).collect();
    let Timeline { first_ms: t0, span_ms: span, now_ms } = timeline;
    let mut rng = Lcg(2026);
    // Places from a generator of their own, so that the cases' stories (and
    // the statistics' figures) are those of the seed without places.
    let mut places = Lcg(11);
    let mut events = 0;
    let tx = conn.transaction()?;
    {
        let mut report = tx.prepare(
            "INSERT INTO reports (id, owner_id, content_sha256, body, category, created_at, created_ms, grid_id, status, department,
                                  received_at, due_at, due_ms, changed_ms, latitude, longitude)
             VALUES (?1, 1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?5, ?10, ?11, ?12, ?13, ?14)",
        )?;
        let mut photo = tx.prepare("INSERT INTO photos (sha256, bytes, width, height, received_at) VALUES (?1, 350000, 1200, 1600, ?2)")?;
        let mut report_photo = tx.prepare("INSERT INTO report_photos (report_id, position, sha256) VALUES (?1, 0, ?2)")?;
        let mut holder = tx.prepare("INSERT INTO photo_holders (sha256, user_id) VALUES (?1, 1)")?;
        let mut place =
            tx.prepare("INSERT INTO report_places (report_rowid, min_lat, max_lat, min_lon, max_lon) VALUES (?1, ?2, ?2, ?3, ?3)")?;
        let mut event = tx.prepare(
            "INSERT INTO events (report_id, status, department, actor_id, at, action, actor_role, due_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        let hash = "0".repeat(64);
        for i in 0..cases {
            let id = case_id(i);
            let created = t0 + (i as i64 * span / cases as i64);
            let cell = (rng.below(50) != 0).then(|| &cells[rng.below(cells.len() as u64) as usize]);
            let category = categories[rng.below(categories.len() as u64) as usize];
            let department = DEPARTMENTS[rng.below(3) as usize];
            let mut t = created;
            let mut log: Vec<Event> = vec![(t, "submitted", None, "", None)];
            let mut status = "submitted";
            let mut due: Option<i64> = None;
            let mut push = |t: i64, s: &'static str, action: &'static str, due_at: Option<i64>| {
                log.push((t, s, Some(action), if action == "dispatch" { department } else { "" }, due_at.map(at)));
                s
            };
            'case: {
                if rng.below(20) == 0 {
                    break 'case;
                }
                t += 10 * 60_000;
                status = push(t, "accepted", "accept", None);
                if rng.below(20) == 0 {
                    break 'case;
                }
                t += 20 * 60_000;
                due = Some(t + (24 + rng.below(96) as i64) * HOUR);
                status = push(t, "dispatched", "dispatch", due);
                if rng.below(10) == 0 {
                    t += HOUR;
                    push(t, "accepted", "return", None);
                    t += HOUR;
                    due = Some(t + (24 + rng.below(96) as i64) * HOUR);
                    status = push(t, "dispatched", "dispatch", due);
                }
                if rng.below(7) == 0 || t > now_ms {
                    break 'case; // left open
                }
                t += (1 + rng.below(110) as i64) * HOUR;
                status = push(t, "rectified", "rectify", None);
                if rng.below(10) == 0 {
                    t += HOUR;
                    due = Some(t + 48 * HOUR);
                    push(t, "in_progress", "reopen", due);
                    t += (1 + rng.below(60) as i64) * HOUR;
                    status = push(t, "rectified", "rectify", None);
                }
                if rng.below(5) != 0 {
                    t += (1 + rng.below(48) as i64) * HOUR;
                    status = push(t, "closed", "verify", None);
                }
            }
            // Somewhere in the middle half of the cell's box, to a centimetre.
            let location = cell.map(|c| {
                let [min_lat, max_lat, min_lon, max_lon] = c.bbox;
                let mut within = |min: f64, max: f64| {
                    let v = min + (max - min) * (0.25 + places.below(1_000_000) as f64 / 2e6);
                    (v * 1e7).round() / 1e7
                };
                let (latitude, longitude) = (within(min_lat, max_lat), within(min_lon, max_lon));
                Location { latitude, longitude, source: LocationSource::Exif, accuracy_m: Some(8.0) }
            });
            let sha256 = format!("{i:064x}");
            let wire = WireReport {
                id: id.clone(),
                category: category.to_owned(),
                note: String::new(),
                location,
                photos: vec![WirePhoto { sha256: sha256.clone(), width: 1200, height: 1600, bytes: 350_000 }],
                reporter: Reporter::default(),
                taken_at: Some(at(created - 60_000)),
                created_at: at(created),
                fixed_on_spot: false,
                after_photos: Vec::new(),
            };
            let changed = log.last().map_or(created, |e| e.0);
            let department = log.iter().any(|e| e.2 == Some("dispatch")).then_some(department);
            let (latitude, longitude) = location.map(|l| (l.latitude, l.longitude)).unzip();
            photo.execute(params![sha256, at(created)])?;
            report.execute(params![
                id,
                hash,
                serde_json::to_string(&wire)?,
                category,
                at(created),
                created,
                cell.map(|c| c.grid_id.as_str()),
                status,
                department,
                due.map(at),
                due,
                changed,
                latitude,
                longitude
            ])?;
            let rowid = tx.last_insert_rowid();
            report_photo.execute(params![id, sha256])?;
            holder.execute([&sha256])?;
            if let Some(l) = location {
                place.execute(params![rowid, l.latitude, l.longitude])?;
            }
            for (t, s, action, dept, due_at) in &log {
                let (actor, role) = if action.is_some() { (2, "coordinator") } else { (1, "resident") };
                let dept = (!dept.is_empty()).then_some(*dept);
                event.execute(params![id, s, dept, actor, at(*t), action, role, due_at])?;
            }
            events += log.len();
        }
    }
    tx.commit()?;
    conn.execute_batch("ANALYZE;")?;
    Ok(events)
}
