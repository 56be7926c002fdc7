//! Sync: the CLI against the real server on loopback, against nginx WebDAV.

use super::*;

pub(crate) const SYNC_REPORTS: usize = 500;
pub(crate) const WIRE_TARGET_RATIO: f64 = 1.05;
/// Files per curl process: curl keeps one connection for all its URLs.
pub(crate) const CURL_BATCH: usize = 100;
pub(crate) const PUSH_REPORTS: usize = 2000;
pub(crate) const PUSH_TARGET_FRACTION: f64 = 0.7;
/// Devices pushing at once for the push rate under load.
pub(crate) const PUSH_DEVICES: usize = 4;
pub(crate) const CLIENTS: usize = 200;
/// How many client processes run at once (all of them: the 2-core machine
/// takes 200 without failures).
pub(crate) const CLIENT_CONCURRENCY: usize = 200;

/// Kills and reaps a child (nginx) when dropped, also on error.
pub(crate) fn bench_sync(tmp: &Path, cli: &Path, figures: &mut Vec<Figure>) -> Result<()> {
    section("sync: `suishoupai sync` against suishoupai-server on loopback");
    let nginx_version = nginx_version().ok_or("nginx not found on PATH. The sync anchor needs it: apt-get install nginx")?;
    println!("anchor: {nginx_version}, WebDAV PUT, curl -T × {CURL_BATCH} per process (one connection each), no fsync");
    let draft = ReportDraft { category: "garbage".into(), note: String::new(), location: None, reporter: Reporter::default() };
    let stderr_log = tmp.join("sync-stderr.log");

    // Setup: 500 reports, each of its own photo (a real photo with a stamp of
    // its number, so that no two renditions are equal and nothing dedupes).
    let start = Instant::now();
    let base = variant_base(1200)?;
    let device = tmp.join("sync-device");
    let renditions = make_device(&device, &base, 0, SYNC_REPORTS)?;
    let reports = Store::open(&device)?.list_reports()?;
    let rendition_bytes: u64 = renditions.iter().map(|p| fs::metadata(p).map(|m| m.len())).sum::<Result<_, _>>()?;
    println!(
        "made {SYNC_REPORTS} reports with distinct renditions, {:.1} MB in all ({:.0} KB mean), in {:.1} s (setup, not measured)",
        rendition_bytes as f64 / 1e6,
        rendition_bytes as f64 / SYNC_REPORTS as f64 / 1e3,
        start.elapsed().as_secs_f64()
    );
    // A copy for the bytes-on-the-wire run through the proxy (figure 2).
    let device_copy = tmp.join("sync-device-copy");
    copy_dir(&device, &device_copy)?;

    if let Ok(keep) = std::env::var("BENCH_KEEP_DEVICE") {
        copy_dir(&device, Path::new(&keep))?;
        return Ok(());
    }
    // 1. Wall time at 100, 300 and 500 reports, and the fixed cost.
    bench_sync_sizes(tmp, cli, &base, (&device, &renditions), &stderr_log, figures)?;

    // The 500 reports of `device` onto server A, for the push figure (its
    // photos must be there); timed, but the figure is the medians above.
    // The push figure sends 2,500 more reports as this one user: past the
    // default daily quota, which is not what it measures.
    server_path();
    let server_a = Server::start_with(tmp.join("server-a").as_path(), &["--daily-reports", "1000000"]);
    let token = add_user(server_a.dir.path(), "bench", "resident", &[]);
    login(cli, &device, &server_a.base.clone(), &token, &stderr_log)?;
    let json = tmp.join("sync.json");
    let run =
        measure_process(Command::new(cli).arg("--data").arg(&device).args(["sync", "--json"]).stdout(File::create(&json)?), &stderr_log)?;
    let pushed = sync_pushed(&json)?;
    if pushed != SYNC_REPORTS as u64 {
        return Err(format!("sync pushed {pushed} reports, not {SYNC_REPORTS}").into());
    }
    println!("\none more sync of {SYNC_REPORTS} reports to server A (for the push figure): {} (CPU {})", ms(run.wall), ms(run.cpu));

    // 2. Bytes on the wire: the same 500 reports from the copy, through the
    // proxy, to another fresh server.
    let server_b = start_server(&tmp.join("server-b"));
    let token_b = add_user(server_b.dir.path(), "bench", "resident", &[]);
    let proxy = Proxy::start(server_b.addr, Faults::NONE, 1);
    login(cli, &device_copy, &proxy.url(), &token_b, &stderr_log)?;
    let json = tmp.join("sync-proxy.json");
    let proxied = measure_process(
        Command::new(cli).arg("--data").arg(&device_copy).args(["sync", "--json"]).stdout(File::create(&json)?),
        &stderr_log,
    )?;
    if sync_pushed(&json)? != SYNC_REPORTS as u64 {
        return Err("the sync through the proxy did not push every report".into());
    }
    let up = proxy.bytes_up.load(std::sync::atomic::Ordering::Relaxed);
    drop(proxy);
    drop(server_b);
    let wire_ratio = up as f64 / rendition_bytes as f64;
    println!(
        "\nthrough the proxy: {:.2} MB sent for {:.2} MB of renditions ({wire_ratio:.4}×), sync took {} (direct: {})",
        up as f64 / 1e6,
        rendition_bytes as f64 / 1e6,
        ms(proxied.wall),
        ms(run.wall)
    );
    figures.push(Figure {
        name: format!("Bytes sent client→server for those {SYNC_REPORTS} reports (all HTTP, via proxy)"),
        project: format!("{:.2} MB ({wire_ratio:.3}×)", up as f64 / 1e6),
        anchor: format!("rendition files: {:.2} MB", rendition_bytes as f64 / 1e6),
        target: format!("≤ {WIRE_TARGET_RATIO}×"),
        met: Some(wire_ratio <= WIRE_TARGET_RATIO),
    });

    // 3. A cut at 90 % of a ~1 MB photo, then a sync without faults.
    bench_resume(tmp, cli, &server_a, &draft, &stderr_log, figures)?;

    // 4. Push rate: the photos of figure 1 are on server A; new report ids.
    bench_push(tmp, &server_a, &token, &reports, figures)?;
    drop(server_a);

    // 5. Many clients at once.
    bench_clients(tmp, cli, &draft, &stderr_log, figures)?;
    Ok(())
}

pub(crate) fn bench_resume(
    tmp: &Path,
    cli: &Path,
    server: &Server,
    draft: &ReportDraft,
    stderr_log: &Path,
    figures: &mut Vec<Figure>,
) -> Result<()> {
    let device = tmp.join("resume-device");
    let store = Store::open(&device)?;
    // The noise grows until the rendition is about 1 MB (4 chunks).
    let mut prepared = None;
    for amplitude in [40, 80, 120, 180, 255] {
        let candidate = photo::prepare(&noise_jpeg(1200, 1600, amplitude, 1)?)?;
        let big_enough = candidate.rendition.len() >= 900_000;
        prepared = Some(candidate);
        if big_enough {
            break;
        }
    }
    let prepared = prepared.expect("at least one amplitude");
    let report = store.create_report_from_prepared(draft, std::slice::from_ref(&prepared))?;
    drop(store);
    let photo_bytes = report.photos[0].bytes;
    let cut_at = photo_bytes * 9 / 10;
    let token = add_user(server.dir.path(), "resume", "resident", &[]);
    let proxy = Proxy::start(server.addr, Faults::NONE, 2);
    login(cli, &device, &proxy.url(), &token, stderr_log)?;
    proxy.cut_next_connection_at(cut_at);
    let first = Command::new(cli).arg("--data").arg(&device).args(["sync", "--json"]).stderr(Stdio::null()).output()?;
    let after_cut = proxy.bytes_up.load(std::sync::atomic::Ordering::Relaxed);
    let cuts = proxy.cuts.load(std::sync::atomic::Ordering::Relaxed);
    if first.status.success() || cuts != 1 {
        return Err(format!("the cut sync should have failed once (exit {:?}, {cuts} cuts)", first.status.code()).into());
    }
    let json = tmp.join("resume.json");
    measure_process(Command::new(cli).arg("--data").arg(&device).args(["sync", "--json"]).stdout(File::create(&json)?), stderr_log)?;
    if sync_pushed(&json)? != 1 {
        return Err("the sync after the cut did not push the report".into());
    }
    let total = proxy.bytes_up.load(std::sync::atomic::Ordering::Relaxed);
    let extra = total.saturating_sub(photo_bytes);
    println!(
        "\nresume: {:.0} KB photo, cut at {:.0} KB (both directions counted); sent {:.0} KB before the cut, {:.0} KB after; {:.0} KB more than the photo",
        photo_bytes as f64 / 1e3,
        cut_at as f64 / 1e3,
        after_cut as f64 / 1e3,
        (total - after_cut) as f64 / 1e3,
        extra as f64 / 1e3
    );
    figures.push(Figure {
        name: format!("Bytes sent beyond the photo, {:.0} KB photo cut at 90 % then synced again", photo_bytes as f64 / 1e3),
        project: format!("{:.0} KB ({:.2} chunks)", extra as f64 / 1e3, extra as f64 / MAX_CHUNK_BYTES as f64),
        anchor: format!("MAX_CHUNK_BYTES: {:.0} KB", MAX_CHUNK_BYTES as f64 / 1e3),
        target: "≤ 1 chunk resent".into(),
        met: Some(extra <= MAX_CHUNK_BYTES),
    });
    Ok(())
}

pub(crate) fn bench_push(
    tmp: &Path,
    server: &Server,
    token: &str,
    reports: &[suishoupai_core::Report],
    figures: &mut Vec<Figure>,
) -> Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    // New ids on the reports of figure 1: their photos are on the server.
    // The bodies are serialised before timing: the figure is the server's.
    let batches = PUSH_REPORTS / MAX_PUSH_REPORTS + 1; // the first is a warm-up
    let mut bodies = Vec::new();
    let mut rows = Vec::new();
    for b in 0..batches {
        let wires: Vec<WireReport> = (0..MAX_PUSH_REPORTS)
            .map(|i| {
                let mut w = WireReport::from(&reports[(b * MAX_PUSH_REPORTS + i) % reports.len()]);
                w.id = Uuid::now_v7().hyphenated().to_string();
                w
            })
            .collect();
        let batch_rows: Vec<(String, String, String)> =
            wires.iter().map(|w| Ok((w.id.clone(), serde_json::to_string(w)?, w.created_at.clone()))).collect::<Result<_>>()?;
        rows.push(batch_rows);
        bodies.push(serde_json::to_vec(&serde_json::json!({ "reports": wires }))?);
    }
    let client = reqwest::blocking::Client::new();
    let url = format!("{}/v1/push", server.base.clone());
    let push = |body: &Vec<u8>| -> Result<Duration> {
        let start = Instant::now();
        let response = client.post(&url).bearer_auth(token).header("content-type", "application/json").body(body.clone()).send()?;
        let status = response.status();
        let answer: serde_json::Value = response.json()?;
        let took = start.elapsed();
        let accepted = answer["results"].as_array().map_or(0, |r| r.iter().filter(|r| r["outcome"] == "accepted").count());
        if !status.is_success() || accepted != MAX_PUSH_REPORTS {
            return Err(format!("push answered {status}, {accepted} accepted: {answer:.300}").into());
        }
        Ok(took)
    };

    // Anchor: the same rows (report, its photo link, its `submitted` event)
    // into the server's own schema (its migrations, so indexes included),
    // one IMMEDIATE transaction per batch, cached statements. What the
    // figure leaves is what the server adds: HTTP, JSON, checks, the
    // idempotency lookups and the group commit.
    let mut same = Connection::open(tmp.join("push-same-schema.sqlite3"))?;
    same.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
    suishoupai_server::storage::sqlite::migrate_to(&mut same, suishoupai_server::storage::sqlite::LATEST_VERSION)?;
    same.execute("INSERT INTO users (id, name, role, created_at) VALUES (1, 'bench', 'resident', '2026-01-01T00:00:00.000Z')", [])?;
    for r in reports {
        let p = &r.photos[0];
        same.execute(
            "INSERT OR IGNORE INTO photos (sha256, bytes, width, height, received_at) VALUES (?1, ?2, ?3, ?4, '2026-01-01T00:00:00.000Z')",
            params![p.sha256, p.bytes as i64, p.width, p.height],
        )?;
        same.execute("INSERT OR IGNORE INTO photo_holders (sha256, user_id) VALUES (?1, 1)", [&p.sha256])?;
    }
    let same_rows: Vec<Vec<SameSchemaRow>> = rows
        .iter()
        .map(|batch| {
            batch
                .iter()
                .map(|(id, json, created_at)| {
                    let wire: WireReport = serde_json::from_str(json)?;
                    let created_ms = suishoupai_server::clock::rfc3339_ms(created_at).ok_or("created_at")?;
                    let sha256 = suishoupai_core::photo::sha256_hex(json.as_bytes());
                    Ok(SameSchemaRow {
                        id: id.clone(),
                        sha256,
                        json: json.clone(),
                        category: wire.category,
                        created_at: created_at.clone(),
                        created_ms,
                        photo: wire.photos[0].sha256.clone(),
                        latitude: wire.location.as_ref().map(|l| l.latitude),
                        longitude: wire.location.as_ref().map(|l| l.longitude),
                    })
                })
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<_>>()?;
    let mut insert_same = |batch: &[SameSchemaRow]| -> Result<Duration> {
        let start = Instant::now();
        let tx = same.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now = "2026-01-01T00:00:00.000Z";
        for r in batch {
            tx.prepare_cached(
                "INSERT INTO reports (id, owner_id, content_sha256, body, category, created_at, created_ms, grid_id, status, received_at,
                                      latitude, longitude, changed_ms)
                 VALUES (?1, 1, ?2, ?3, ?4, ?5, ?6, NULL, 'submitted', ?7, ?8, ?9, ?6)",
            )?
            .execute(params![r.id, r.sha256, r.json, r.category, r.created_at, r.created_ms, now, r.latitude, r.longitude])?;
            let rowid = tx.last_insert_rowid();
            tx.prepare_cached("INSERT INTO report_photos (report_id, position, sha256) VALUES (?1, 0, ?2)")?
                .execute(params![r.id, r.photo])?;
            if let (Some(latitude), Some(longitude)) = (r.latitude, r.longitude) {
                tx.prepare_cached(
                    "INSERT INTO report_places (report_rowid, min_lat, max_lat, min_lon, max_lon) VALUES (?1, ?2, ?2, ?3, ?3)",
                )?
                .execute(params![rowid, latitude, longitude])?;
            }
            tx.prepare_cached(
                "INSERT INTO events (report_id, status, actor_id, at, actor_role) VALUES (?1, 'submitted', 1, ?2, 'resident')",
            )?
            .execute(params![r.id, now])?;
        }
        tx.commit()?;
        Ok(start.elapsed())
    };

    // For comparison only: the leanest loop, two small tables.
    let mut bare = Connection::open(tmp.join("push-bare.sqlite3"))?;
    bare.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         CREATE TABLE reports (id TEXT PRIMARY KEY, owner TEXT NOT NULL, json TEXT NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL);
         CREATE TABLE events (id INTEGER PRIMARY KEY, report_id TEXT NOT NULL REFERENCES reports(id), status TEXT NOT NULL, at TEXT NOT NULL);",
    )?;
    let mut insert = |batch: &[(String, String, String)]| -> Result<Duration> {
        let start = Instant::now();
        let tx = bare.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for (id, json, created_at) in batch {
            tx.prepare_cached("INSERT INTO reports (id, owner, json, status, created_at) VALUES (?1, 'bench', ?2, 'submitted', ?3)")?
                .execute(params![id, json, created_at])?;
            tx.prepare_cached(
                "INSERT INTO events (report_id, status, at) VALUES (?1, 'submitted', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
            )?
            .execute([id])?;
        }
        tx.commit()?;
        Ok(start.elapsed())
    };
    push(&bodies[0])?;
    insert_same(&same_rows[0])?;
    insert(&rows[0])?;
    let (mut project, mut anchor, mut lean) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    // Alternating batch by batch, so that fsync drift hits all sides.
    for b in 1..batches {
        project += push(&bodies[b])?;
        anchor += insert_same(&same_rows[b])?;
        lean += insert(&rows[b])?;
    }
    let n = ((batches - 1) * MAX_PUSH_REPORTS) as f64;
    let (p_rate, a_rate, l_rate) = (n / project.as_secs_f64(), n / anchor.as_secs_f64(), n / lean.as_secs_f64());
    let fraction = p_rate / a_rate;
    println!(
        "\npush: {} reports in batches of {MAX_PUSH_REPORTS}, one request at a time: {p_rate:.0} reports/s ({}); \
         bare rusqlite, same schema and rows: {a_rate:.0}/s ({}); {fraction:.2} of it; \
         bare rusqlite, two lean tables: {l_rate:.0}/s ({}), {:.2} of it",
        n,
        ms(project),
        ms(anchor),
        ms(lean),
        p_rate / l_rate
    );
    figures.push(Figure {
        name: format!("Server `POST /v1/push` rate, {} reports in batches of {MAX_PUSH_REPORTS}, photos present", n),
        project: format!("{p_rate:.0} reports/s"),
        anchor: format!("bare rusqlite, server's schema, same 3 rows per report, 100 per tx: {a_rate:.0}/s"),
        target: format!("≥ {PUSH_TARGET_FRACTION}× anchor (is {fraction:.2}×)"),
        met: Some(fraction >= PUSH_TARGET_FRACTION),
    });
    figures.push(Figure {
        name: "The same push rate against the leanest loop".into(),
        project: format!("{p_rate:.0} reports/s"),
        anchor: format!("bare rusqlite, reports(id, owner, json, status, created_at) + events, 100 per tx: {l_rate:.0}/s"),
        target: format!("info (is {:.2}×)", p_rate / l_rate),
        met: None,
    });

    // The server's rate under load: several devices pushing at once, each
    // one request at a time (new ids again), all released together.
    let per_device = batches - 1;
    let device_bodies: Vec<Vec<Vec<u8>>> = (0..PUSH_DEVICES)
        .map(|d| {
            (0..per_device)
                .map(|b| {
                    let wires: Vec<WireReport> = (0..MAX_PUSH_REPORTS)
                        .map(|i| {
                            let mut w = WireReport::from(&reports[(d * 7 + b * MAX_PUSH_REPORTS + i) % reports.len()]);
                            w.id = Uuid::now_v7().hyphenated().to_string();
                            w
                        })
                        .collect();
                    Ok(serde_json::to_vec(&serde_json::json!({ "reports": wires }))?)
                })
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<_>>()?;
    let barrier = std::sync::Barrier::new(PUSH_DEVICES + 1);
    let concurrent = std::thread::scope(|scope| -> Result<Duration> {
        let handles: Vec<_> = device_bodies
            .iter()
            .map(|bodies| {
                let (barrier, push) = (&barrier, &push);
                scope.spawn(move || -> Result<(), String> {
                    barrier.wait();
                    bodies.iter().try_for_each(|body| push(body).map(|_| ()).map_err(|e| e.to_string()))
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        for h in handles {
            h.join().map_err(|_| "a push thread panicked")??;
        }
        Ok(start.elapsed())
    })?;
    let c_rate = (PUSH_DEVICES * per_device * MAX_PUSH_REPORTS) as f64 / concurrent.as_secs_f64();
    println!(
        "push, {PUSH_DEVICES} devices at once, {} reports each: {c_rate:.0} reports/s ({}); {:.2} of the same-schema loop",
        per_device * MAX_PUSH_REPORTS,
        ms(concurrent),
        c_rate / a_rate
    );
    figures.push(Figure {
        name: format!("Server push rate with {PUSH_DEVICES} devices pushing at once (batches of {MAX_PUSH_REPORTS})"),
        project: format!("{c_rate:.0} reports/s"),
        anchor: format!("the same-schema loop above: {a_rate:.0}/s"),
        target: format!("≥ {PUSH_TARGET_FRACTION}× anchor (is {:.2}×)", c_rate / a_rate),
        met: Some(c_rate / a_rate >= PUSH_TARGET_FRACTION),
    });
    Ok(())
}

/// One report as the same-schema anchor inserts it, prepared before timing.
pub(crate) struct SameSchemaRow {
    pub(crate) id: String,
    pub(crate) sha256: String,
    pub(crate) json: String,
    pub(crate) category: String,
    pub(crate) created_at: String,
    pub(crate) created_ms: i64,
    pub(crate) photo: String,
    pub(crate) latitude: Option<f64>,
    pub(crate) longitude: Option<f64>,
}

pub(crate) fn bench_clients(tmp: &Path, cli: &Path, draft: &ReportDraft, stderr_log: &Path, figures: &mut Vec<Figure>) -> Result<()> {
    let start = Instant::now();
    let server = start_server(&tmp.join("server-c"));
    let base = variant_base(400)?;
    let devices: Vec<PathBuf> = (0..CLIENTS).map(|i| tmp.join(format!("client-{i}"))).collect();
    let tokens: Vec<String> = (0..CLIENTS).map(|i| add_user(server.dir.path(), &format!("client{i}"), "resident", &[])).collect();
    // Two threads make the stores (setup): half the time on two cores.
    std::thread::scope(|scope| -> Result<()> {
        let handles: Vec<_> = [0, 1]
            .map(|half| {
                let (devices, base) = (&devices, &base);
                scope.spawn(move || -> Result<(), String> {
                    for (i, dir) in devices.iter().enumerate().filter(|(i, _)| i % 2 == half) {
                        let store = Store::open(dir).map_err(|e| e.to_string())?;
                        let jpeg = stamped_jpeg(base, 10_000 + i).map_err(|e| e.to_string())?;
                        store.create_report(draft, &[PhotoSource::Bytes(jpeg)]).map_err(|e| e.to_string())?;
                    }
                    Ok(())
                })
            })
            .into();
        for h in handles {
            h.join().map_err(|_| "a setup thread panicked")??;
        }
        Ok(())
    })?;
    for (dir, token) in devices.iter().zip(&tokens) {
        login(cli, dir, &server.base.clone(), token, stderr_log)?;
    }
    println!("\n{CLIENTS} clients: users, stores and logins made in {:.1} s (setup, not measured)", start.elapsed().as_secs_f64());

    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::new());
    let barrier = std::sync::Barrier::new(CLIENT_CONCURRENCY + 1);
    std::thread::scope(|scope| {
        for _ in 0..CLIENT_CONCURRENCY {
            scope.spawn(|| {
                barrier.wait();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= CLIENTS {
                        break;
                    }
                    let begun = Instant::now();
                    let out = Command::new(cli).arg("--data").arg(&devices[i]).args(["sync", "--json"]).stdin(Stdio::null()).output();
                    let wall = begun.elapsed();
                    let ok = out.as_ref().is_ok_and(|o| o.status.success());
                    let error = match (&out, ok) {
                        (_, true) => None,
                        (Ok(o), false) => Some(String::from_utf8_lossy(&o.stderr).trim().to_owned()),
                        (Err(e), _) => Some(e.to_string()),
                    };
                    results.lock().unwrap().push((wall, error, begun));
                }
            });
        }
        barrier.wait();
    });
    let results = results.into_inner().map_err(|_| "a client thread panicked")?;
    // From the first process started to the last one done. (Not from the
    // main thread's barrier return: with 200 processes starting on 2 cores
    // it may get the CPU back only when most of them are over.)
    let first = results.iter().map(|r| r.2).min().ok_or("no clients ran")?;
    let total = results.iter().map(|r| r.2 + r.0).max().ok_or("no clients ran")? - first;
    let mut walls: Vec<Duration> = results.iter().map(|r| r.0).collect();
    walls.sort_unstable();
    let errors: Vec<&String> = results.iter().filter_map(|r| r.1.as_ref()).collect();
    let p = |q: f64| walls[((walls.len() as f64 * q).ceil() as usize).clamp(1, walls.len()) - 1];
    println!(
        "{CLIENTS} `suishoupai sync` processes, {CLIENT_CONCURRENCY} at once: all done in {}, per process p50 {} p99 {} max {}; {} failed",
        ms(total),
        ms(p(0.5)),
        ms(p(0.99)),
        ms(*walls.last().expect("clients")),
        errors.len()
    );
    if let Some(e) = errors.first() {
        println!("  first failure: {e}");
    }
    let synced = server_report_count(&server)?;
    println!("  server holds {synced} reports");
    figures.push(Figure {
        name: format!("{CLIENTS} clients syncing one report each, {CLIENT_CONCURRENCY} processes at once"),
        project: format!("all in {}; per process p50 {}, p99 {}; {} errors", ms(total), ms(p(0.5)), ms(p(0.99)), errors.len()),
        anchor: "—".into(),
        target: "no errors".into(),
        met: Some(errors.is_empty() && synced == CLIENTS),
    });
    Ok(())
}

/// Reports on a server, counted in its database file (server.sqlite3).
pub(crate) fn server_report_count(server: &Server) -> Result<usize> {
    let conn = Connection::open_with_flags(server.dir.path().join("server.sqlite3"), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    Ok(conn.query_row("SELECT count(*) FROM reports", [], |r| r.get::<_, i64>(0))? as usize)
}

pub(crate) fn login(cli: &Path, data: &Path, server: &str, token: &str, stderr_log: &Path) -> Result<()> {
    measure_process(
        Command::new(cli).arg("--data").arg(data).args(["login", "--server", server, "--token", token]).stdout(Stdio::null()),
        stderr_log,
    )?;
    Ok(())
}

/// `pushed` of a `sync --json` output.
pub(crate) fn sync_pushed(json: &Path) -> Result<u64> {
    let v: serde_json::Value = serde_json::from_reader(File::open(json)?)?;
    v["pushed"].as_u64().ok_or_else(|| format!("no `pushed` in the sync output: {v}").into())
}
