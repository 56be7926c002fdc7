//! `bench workflow`: the case workflow's figures.
//!
//! - Actions applied by the server over HTTP (`accept`, one request at a
//!   time and from four clients at once), against a bare rusqlite loop
//!   writing the same event row and case update into the server's schema,
//!   one durable transaction per action as the server commits them.
//! - Duplicate lookup (the service the endpoint calls: R*Tree box, then
//!   category, time and exact distance) at 10,000 and 1,000,000 reports,
//!   against a full scan of the same table for the same answer.
//! - Placing 100,000 reports among the 60 cells of the Xixian grid (a
//!   bounding-box prefilter, then point in polygon), against testing every
//!   point against every cell's polygon.

use std::sync::Arc;

use geo::{Contains, MultiPolygon, Point};
use suishoupai_server::services::duplicates::{self, DuplicateWindow};
use suishoupai_server::services::grids::{self, GridIndex};
use suishoupai_server::storage::sqlite::{LATEST_VERSION, SqliteStorage, migrate_to};
use suishoupai_server::storage::{self as server_storage, Storage};

use super::*;

const ACTIONS: usize = 1_000;
const ACTION_CLIENTS: usize = 4;
const LOOKUP_SIZES: [usize; 2] = [10_000, 1_000_000];
const LOOKUPS: usize = 200;
const PLACEMENTS: usize = 100_000;
pub(crate) const DUPLICATE_TARGET: Duration = Duration::from_millis(5);

/// The Xixian area, where the test grid lies.
const LAT0: f64 = 32.3216;
const LON0: f64 = 114.7181;
const SPAN: f64 = 0.0367;

pub(crate) fn bench_workflow(tmp: &Path, figures: &mut Vec<Figure>) -> Result<()> {
    section("Workflow");
    bench_actions(tmp, figures)?;
    for n in LOOKUP_SIZES {
        bench_duplicates(tmp, n, figures)?;
    }
    bench_placement(tmp, figures)?;
    Ok(())
}

/// A small deterministic generator (the bench needs spread, not quality).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn wire_at(photo: &PreparedPhoto, latitude: f64, longitude: f64) -> serde_json::Value {
    serde_json::json!({
        "id": Uuid::now_v7().to_string(), "category": "garbage", "note": "门口堆了很多纸箱",
        "location": { "latitude": latitude, "longitude": longitude, "source": "device", "accuracy_m": 5.0 },
        "photos": [{ "sha256": photo.sha256, "width": photo.width, "height": photo.height, "bytes": photo.rendition.len() }],
        "reporter": { "role": "resident", "grid_id": null }, "taken_at": null, "created_at": "2026-05-01T08:00:00.000Z",
    })
}

fn bench_actions(tmp: &Path, figures: &mut Vec<Figure>) -> Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tmp.join("workflow-server");
    let server = start_server(&dir);
    let coco = add_user(&dir, "coco", "coordinator", &[]);
    let photo = photo::prepare(&fs::read(Path::new(PHOTOS).join(STORE_PHOTO))?)?;
    server.upload_photo(&coco, &photo);
    let total = 2 * ACTIONS + 10;
    let mut ids = Vec::with_capacity(total);
    let mut rng = Lcg(7);
    for chunk in (0..total).collect::<Vec<_>>().chunks(MAX_PUSH_REPORTS) {
        let batch: Vec<_> = chunk.iter().map(|_| wire_at(&photo, LAT0 + rng.next() * SPAN, LON0 + rng.next() * SPAN)).collect();
        ids.extend(batch.iter().map(|r| r["id"].as_str().unwrap_or_default().to_owned()));
        let results = server.push(&coco, &batch);
        if results.iter().any(|r| r["outcome"] != "accepted") {
            return Err("push of the action bench's reports failed".into());
        }
    }
    let client = reqwest::blocking::Client::new();
    let accept = |id: &str| -> Result<()> {
        let body = serde_json::json!({ "action_id": Uuid::now_v7().to_string(), "action": "accept", "note": "受理" });
        let answer = client.post(format!("{}/v1/reports/{id}/actions", server.base)).bearer_auth(&coco).json(&body).send()?;
        if answer.status() != 200 {
            return Err(format!("accept answered {}", answer.status()).into());
        }
        Ok(())
    };
    // Anchor: the same rows into the same schema, one durable transaction
    // per action: the event with every column the server writes, and the
    // case's folded state.
    let mut bare = Connection::open(tmp.join("workflow-bare.sqlite3"))?;
    bare.execute_batch(STORE_PRAGMAS)?;
    migrate_to(&mut bare, LATEST_VERSION)?;
    bare.execute("INSERT INTO users (id, name, role, created_at) VALUES (1, 'coco', 'coordinator', '2026-01-01T00:00:00.000Z')", [])?;
    {
        let tx = bare.transaction()?;
        for id in &ids {
            tx.execute(
                "INSERT INTO reports (id, owner_id, content_sha256, body, category, created_at, created_ms, status, received_at, changed_ms)
                 VALUES (?1, 1, ?2, '{}', 'garbage', '2026-05-01T08:00:00.000Z', 0, 'submitted', '2026-05-01T08:00:00.000Z', 0)",
                params![id, "0".repeat(64)],
            )?;
        }
        tx.commit()?;
    }
    let mut apply = |id: &str| -> Result<()> {
        let tx = bare.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let action_id = Uuid::now_v7().to_string();
        tx.prepare_cached("SELECT status FROM reports WHERE id = ?1")?.query_row([id], |r| r.get::<_, String>(0))?;
        tx.prepare_cached(
            "INSERT INTO events (report_id, status, note, department, actor_id, at, action, action_id, content_sha256, actor_role,
                                 public_note, due_at, duplicate_of)
             VALUES (?1, 'accepted', '受理', NULL, 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'accept', ?2, ?3, 'coordinator', NULL, NULL, NULL)",
        )?
        .execute(params![id, action_id, "1".repeat(64)])?;
        tx.prepare_cached("UPDATE reports SET status = 'accepted', changed_ms = ?2 WHERE id = ?1")?.execute(params![id, 1])?;
        tx.commit()?;
        Ok(())
    };
    for id in &ids[..10] {
        accept(id)?; // warm-up
        apply(id)?;
    }
    // Alternating in blocks, so that a slow patch of the disk (fsync
    // latency drifts with other work on the machine) hits both sides.
    let (mut one_client, mut bare_time) = (Duration::ZERO, Duration::ZERO);
    for block in ids[10..10 + ACTIONS].chunks(ACTIONS / 10) {
        let start = Instant::now();
        for id in block {
            accept(id)?;
        }
        one_client += start.elapsed();
        let start = Instant::now();
        for id in block {
            apply(id)?;
        }
        bare_time += start.elapsed();
    }
    let rest: Arc<Vec<String>> = Arc::new(ids[10 + ACTIONS..].to_vec());
    let start = Instant::now();
    std::thread::scope(|scope| -> Result<()> {
        let handles: Vec<_> = (0..ACTION_CLIENTS)
            .map(|k| {
                let (rest, accept) = (rest.clone(), &accept);
                scope.spawn(move || -> Result<(), String> {
                    rest.iter().skip(k).step_by(ACTION_CLIENTS).try_for_each(|id| accept(id).map_err(|e| e.to_string()))
                })
            })
            .collect();
        for h in handles {
            h.join().map_err(|_| "a client panicked")??;
        }
        Ok(())
    })?;
    let four_clients = start.elapsed();
    drop(server);
    let rate = |d: Duration, n: usize| n as f64 / d.as_secs_f64();
    let (one, four, anchor) = (rate(one_client, ACTIONS), rate(four_clients, rest.len()), rate(bare_time, ACTIONS));
    println!(
        "actions: one client {one:.0}/s, {ACTION_CLIENTS} clients {four:.0}/s; bare rusqlite, one durable tx per action: {anchor:.0}/s"
    );
    figures.push(Figure {
        name: format!("Actions applied by the server over HTTP, {ACTIONS} `accept`s one at a time"),
        project: format!("{one:.0} actions/s"),
        anchor: format!("bare rusqlite, same event row + case update, one durable tx each: {anchor:.0}/s"),
        target: format!("info (is {:.2}×)", one / anchor),
        met: None,
    });
    figures.push(Figure {
        name: format!("The same from {ACTION_CLIENTS} clients at once ({} actions)", rest.len()),
        project: format!("{four:.0} actions/s"),
        anchor: format!("the bare loop above: {anchor:.0}/s"),
        target: format!("info (is {:.2}×)", four / anchor),
        met: None,
    });
    Ok(())
}

/// `n` reports over a square of about 20 km (a county's built-up area
/// and villages), 11 categories, two years; one in 5,000 a probe whose
/// duplicates are looked up.
fn bench_duplicates(tmp: &Path, n: usize, figures: &mut Vec<Figure>) -> Result<()> {
    let dir = tmp.join(format!("duplicates-{n}"));
    let storage = SqliteStorage::open(&dir)?;
    drop(storage);
    let mut conn = Connection::open(dir.join(suishoupai_server::storage::sqlite::DATABASE_FILE))?;
    conn.execute_batch(STORE_PRAGMAS)?;
    conn.execute("INSERT INTO users (id, name, role, created_at) VALUES (1, 'ana', 'resident', '2026-01-01T00:00:00.000Z')", [])?;
    conn.execute("INSERT INTO users (id, name, role, created_at) VALUES (2, 'coco', 'coordinator', '2026-01-01T00:00:00.000Z')", [])?;
    let sha = "a".repeat(64);
    conn.execute(
        "INSERT INTO photos (sha256, bytes, width, height, received_at, phash) VALUES (?1, 100, 4, 3, '2026-01-01T00:00:00.000Z', 'ff00ff00ff00ff00')",
        [&sha],
    )?;
    let categories: Vec<&str> = CATEGORIES.iter().map(|c| c.code).collect();
    let span_deg = 0.18; // about 20 km
    let two_years_ms = 2 * 365 * 86_400_000i64;
    let t0 = 1_735_689_600_000i64; // 2025-01-01
    let mut rng = Lcg(11);
    let mut probes = Vec::new();
    let start = Instant::now();
    {
        let tx = conn.transaction()?;
        let mut report = tx.prepare(
            "INSERT INTO reports (id, owner_id, content_sha256, body, category, created_at, created_ms, status, received_at, latitude, longitude, changed_ms)
             VALUES (?1, 1, ?2, ?3, ?4, '2026-05-01T08:00:00.000Z', ?5, ?6, '2026-05-01T08:00:00.000Z', ?7, ?8, ?5)",
        )?;
        let mut place =
            tx.prepare("INSERT INTO report_places (report_rowid, min_lat, max_lat, min_lon, max_lon) VALUES (?1, ?2, ?2, ?3, ?3)")?;
        let mut photo = tx.prepare("INSERT INTO report_photos (report_id, position, sha256) VALUES (?1, 0, ?2)")?;
        for i in 0..n {
            let id = Uuid::now_v7().to_string();
            let (lat, lon) = (32.25 + rng.next() * span_deg, 114.65 + rng.next() * span_deg);
            let category = categories[(rng.next() * categories.len() as f64) as usize % categories.len()];
            let created_ms = t0 + (rng.next() * two_years_ms as f64) as i64;
            let status = if rng.next() < 0.3 { "submitted" } else { "closed" };
            let probe = i % 5_000 == 0;
            let body = if probe {
                serde_json::json!({
                    "id": id, "category": category, "note": "x",
                    "location": { "latitude": lat, "longitude": lon, "source": "device" },
                    "photos": [{ "sha256": sha, "width": 4, "height": 3, "bytes": 100 }],
                    "reporter": { "role": "resident", "grid_id": null }, "taken_at": null, "created_at": "2026-05-01T08:00:00.000Z",
                })
                .to_string()
            } else {
                "{}".to_owned()
            };
            report.execute(params![id, "0".repeat(64), body, category, created_ms, status, lat, lon])?;
            place.execute(params![tx.last_insert_rowid(), lat, lon])?;
            photo.execute(params![id, sha])?;
            if probe {
                probes.push((id, category.to_owned(), created_ms, lat, lon));
            }
        }
        drop((report, place, photo));
        tx.commit()?;
    }
    println!("duplicates: {n} reports written in {:.1} s (not measured)", start.elapsed().as_secs_f64());
    drop(conn);
    let storage = SqliteStorage::open(&dir)?;
    let coco = server_storage::read(&storage as &dyn Storage, |tx| {
        tx.user_by_name("coco")?.ok_or(suishoupai_server::storage::StorageError::Backend("no coco".into()))
    })?;
    let window = DuplicateWindow::default();
    let mut lookups = Vec::new();
    let mut found_total = 0;
    for k in 0..LOOKUPS {
        let (id, ..) = &probes[k % probes.len()];
        let start = Instant::now();
        let found = duplicates::candidates(&storage, &coco, id, window)?;
        lookups.push(start.elapsed());
        found_total += found.candidates.len();
    }
    // Anchor: the same answer from a full scan of the table.
    let scan = Connection::open(dir.join(suishoupai_server::storage::sqlite::DATABASE_FILE))?;
    let mut scans = Vec::new();
    let mut scanned_total = 0;
    for k in 0..LOOKUPS.min(40) {
        let (id, category, created_ms, lat, lon) = &probes[k % probes.len()];
        let (dlat, dlon) = (window.radius_m / 111_320.0, window.radius_m / (111_320.0 * lat.to_radians().cos()));
        let span = i64::from(window.days) * 86_400_000;
        let start = Instant::now();
        let mut stmt = scan.prepare_cached(
            "SELECT id, latitude, longitude FROM reports NOT INDEXED
             WHERE category = ?1 AND created_ms BETWEEN ?2 AND ?3 AND latitude BETWEEN ?4 AND ?5 AND longitude BETWEEN ?6 AND ?7
               AND id <> ?8 AND status NOT IN ('rejected', 'duplicate', 'closed')",
        )?;
        let rows = stmt
            .query_map(params![category, created_ms - span, created_ms + span, lat - dlat, lat + dlat, lon - dlon, lon + dlon, id], |r| {
                Ok((r.get::<_, f64>(1)?, r.get::<_, f64>(2)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let near = rows
            .iter()
            .filter(|(la, lo)| {
                suishoupai_core::domain::geo::distance_m(
                    suishoupai_core::LatLon { latitude: *lat, longitude: *lon },
                    suishoupai_core::LatLon { latitude: *la, longitude: *lo },
                ) <= window.radius_m
            })
            .count();
        scans.push(start.elapsed());
        scanned_total += near;
    }
    let (project, anchor) = (median(&lookups), median(&scans));
    println!(
        "duplicates at {n}: median {} per lookup ({found_total} candidates over {LOOKUPS}); full scan {} ({scanned_total} over {})",
        us(project),
        ms(anchor),
        scans.len()
    );
    figures.push(Figure {
        name: format!("Duplicate lookup at {n} reports (median of {LOOKUPS})"),
        project: us(project),
        anchor: format!("full scan of the same table: {}", ms(anchor)),
        target: if n >= 1_000_000 { format!("< {} ms", DUPLICATE_TARGET.as_millis()) } else { "info".into() },
        met: (n >= 1_000_000).then_some(project < DUPLICATE_TARGET),
    });
    drop(storage);
    fs::remove_dir_all(&dir)?;
    Ok(())
}

fn bench_placement(tmp: &Path, figures: &mut Vec<Figure>) -> Result<()> {
    let dir = tmp.join("placement");
    let storage = SqliteStorage::open(&dir)?;
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sync-server/testdata/grids/xixian.geojson");
    let cells = grids::parse(&fs::read_to_string(file)?, suishoupai_core::Crs::Wgs84)?;
    grids::import(&storage, &cells)?;
    let index = server_storage::read(&storage as &dyn Storage, |tx| GridIndex::load(tx))?;
    let mut rng = Lcg(3);
    // A little wider than the grid, so that some fall outside every cell.
    let points: Vec<(f64, f64)> =
        (0..PLACEMENTS).map(|_| (LAT0 - 0.002 + rng.next() * (SPAN + 0.004), LON0 - 0.002 + rng.next() * (SPAN + 0.004))).collect();
    let start = Instant::now();
    let placed = points.iter().filter(|(lat, lon)| black_box(index.place(*lat, *lon)).is_some()).count();
    let project = start.elapsed();
    let shapes: Vec<(String, MultiPolygon)> = cells
        .iter()
        .map(|c| {
            let g: geojson::Geometry = c.geometry.parse().map_err(|e: geojson::Error| e.to_string())?;
            Ok((c.grid_id.clone(), MultiPolygon::try_from(&g.value).map_err(|e| e.to_string())?))
        })
        .collect::<Result<_, String>>()?;
    let start = Instant::now();
    let brute =
        points.iter().filter(|(lat, lon)| black_box(shapes.iter().find(|(_, s)| s.contains(&Point::new(*lon, *lat)))).is_some()).count();
    let anchor = start.elapsed();
    if placed != brute {
        return Err(format!("placement disagrees with the brute force: {placed} vs {brute}").into());
    }
    println!("placement: {PLACEMENTS} points, {placed} in a cell, {} vs brute force {}", ms(project), ms(anchor));
    figures.push(Figure {
        name: format!("Grid placement of {PLACEMENTS} reports among {} cells", cells.len()),
        project: ms(project),
        anchor: format!("every point against every cell's polygon: {}", ms(anchor)),
        target: "info".into(),
        met: None,
    });
    drop(storage);
    fs::remove_dir_all(&dir)?;
    Ok(())
}
