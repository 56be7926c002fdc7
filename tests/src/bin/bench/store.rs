//! Store: the core's Store against bare rusqlite on the same schema.

use super::*;

pub(crate) fn bench_store(tmp: &Path, figures: &mut Vec<Figure>) -> Result<()> {
    section("store: SQLite (WAL, synchronous=FULL) through Store vs bare rusqlite");
    let prepared = photo::prepare(&fs::read(Path::new(PHOTOS).join(STORE_PHOTO))?)?;
    // The location comes from the photo's EXIF geotag, as for most real reports.
    let draft = ReportDraft { category: "garbage".into(), note: String::new(), location: None, reporter: Reporter::default() };

    bench_create(tmp, &prepared, &draft, figures)?;

    let dir = tmp.join("big-store");
    seed_store(&dir, &prepared, &draft)?;
    let fill = fill_store(&dir, &prepared.sha256, LIST_REPORTS)?;
    println!("\nfilled a store to {LIST_REPORTS} reports with raw SQL in {} (setup, not measured)", ms(fill));
    bench_list(&dir, figures)?;

    let fill = fill_store(&dir, &prepared.sha256, OPEN_REPORTS)?;
    let db_mb = fs::metadata(dir.join(DATABASE_FILE))?.len() as f64 / 1e6;
    println!("\nfilled the store to {OPEN_REPORTS} reports ({db_mb:.1} MB) in {} (setup, not measured)", ms(fill));
    bench_open(&dir, figures)?;
    bench_page(&dir, figures)?;
    Ok(())
}

pub(crate) fn bench_create(tmp: &Path, prepared: &PreparedPhoto, draft: &ReportDraft, figures: &mut Vec<Figure>) -> Result<()> {
    println!("\nreport creation: {CREATE_REPORTS} reports of one prepared photo, one transaction each");
    let store = Store::open(tmp.join("create-store"))?;
    let mut bare = open_bare(&tmp.join("create-bare.sqlite3"))?;
    let photos = std::slice::from_ref(prepared);

    check_same_schema(&store_connection(&tmp.join("create-store"))?, &bare)?;

    // Warm-up, untimed: the first report also writes the photo's two blob
    // files (later ones find them there, content-addressed), and the first
    // transaction of each side prepares its statements.
    store.create_report_from_prepared(draft, photos)?;
    bare_create_report(&mut bare, prepared)?;

    let per_block = CREATE_REPORTS / CREATE_BLOCKS;
    let (mut project, mut anchor) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..CREATE_BLOCKS {
        let start = Instant::now();
        for _ in 0..per_block {
            store.create_report_from_prepared(draft, photos)?;
        }
        project += start.elapsed();
        let start = Instant::now();
        for _ in 0..per_block {
            bare_create_report(&mut bare, prepared)?;
        }
        anchor += start.elapsed();
    }
    let expected = (CREATE_REPORTS + 1) as u64;
    let bare_queued: i64 = bare.query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))?;
    if store.pending_count()? != expected || bare_queued as u64 != expected {
        return Err("report creation: a side did not store every report".into());
    }

    let per = |total: Duration| total / CREATE_REPORTS as u32;
    let rate = |total: Duration| CREATE_REPORTS as f64 / total.as_secs_f64();
    let ratio = project.as_secs_f64() / anchor.as_secs_f64();
    println!("  Store::create_report_from_prepared: {:>9} per report, {:>7.0} reports/s", us(per(project)), rate(project));
    println!("  bare rusqlite, same rows:           {:>9} per report, {:>7.0} reports/s", us(per(anchor)), rate(anchor));
    println!("  ratio {ratio:.2}x");
    figures.push(Figure {
        name: format!("Create a report, prepared photo ({CREATE_REPORTS} reports, mean)"),
        project: format!("{} ({:.0}/s)", us(per(project)), rate(project)),
        anchor: format!("bare rusqlite: {} ({:.0}/s)", us(per(anchor)), rate(anchor)),
        target: format!("≤ {CREATE_TARGET_RATIO:.0}× anchor (is {ratio:.2}×)"),
        met: Some(ratio <= CREATE_TARGET_RATIO),
    });
    Ok(())
}

/// A connection like the store's, on a fresh file with the store's schema.
pub(crate) fn open_bare(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.execute_batch(STORE_PRAGMAS)?;
    for sql in MIGRATIONS {
        conn.execute_batch(sql)?;
    }
    Ok(conn)
}

/// A plain connection to a store's database file, set up as the store's are.
pub(crate) fn store_connection(dir: &Path) -> Result<Connection> {
    let conn = Connection::open(dir.join(DATABASE_FILE))?;
    conn.execute_batch(STORE_PRAGMAS)?;
    Ok(conn)
}

/// Refuses an anchor whose tables differ from the store's: it would not be
/// doing the same work.
pub(crate) fn check_same_schema(store: &Connection, bare: &Connection) -> Result<()> {
    let schema = |conn: &Connection| -> Result<Vec<(String, Option<String>)>> {
        Ok(conn
            .prepare("SELECT name, sql FROM sqlite_schema ORDER BY name")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?)
    };
    if schema(store)? != schema(bare)? {
        return Err("the bare-SQLite anchor's schema differs from the store's".into());
    }
    Ok(())
}

/// What the store writes for one report of one photo, and nothing else: one
/// IMMEDIATE transaction with the reports, photos, report_photos and outbox
/// rows, through cached statements. Per-report values (id, time, location)
/// are computed per report, as the store does.
pub(crate) fn bare_create_report(conn: &mut Connection, photo: &PreparedPhoto) -> Result<()> {
    let id = Uuid::now_v7().hyphenated().to_string();
    let geotag = photo.geotag();
    let taken_at = photo.metadata.taken_at.map(|t| t.to_rfc3339());
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.prepare_cached(
        "INSERT INTO reports (id, category, note, latitude, longitude, location_source, accuracy_m,
                              reporter_role, grid_id, taken_at, created_at, status, sync_state, sync_error)
         VALUES (?1, 'garbage', '', ?2, ?3, ?4, NULL, 'resident', NULL, ?5,
                 strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'submitted', 'pending', NULL)",
    )?
    .execute(params![id, geotag.map(|g| g.latitude), geotag.map(|g| g.longitude), geotag.map(|_| "exif"), taken_at])?;
    tx.prepare_cached("INSERT OR IGNORE INTO photos (sha256, width, height, bytes, thumbnail_bytes) VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(params![photo.sha256, photo.width, photo.height, photo.rendition.len() as i64, photo.thumbnail.len() as i64])?;
    tx.prepare_cached("INSERT INTO report_photos (report_id, position, sha256) VALUES (?1, 0, ?2)")?.execute(params![id, photo.sha256])?;
    tx.prepare_cached("INSERT INTO outbox (report_id) VALUES (?1)")?.execute([&id])?;
    tx.commit()?;
    Ok(())
}

/// A store with one report made through the real API, so that the photo row
/// and its rendition and thumbnail files are genuine.
pub(crate) fn seed_store(dir: &Path, prepared: &PreparedPhoto, draft: &ReportDraft) -> Result<()> {
    Store::open(dir)?.create_report_from_prepared(draft, std::slice::from_ref(prepared))?;
    Ok(())
}

/// Tops a store up to `total` reports with raw SQL in one transaction (setup,
/// not a measured figure). The rows are varied the way real ones are:
/// categories, notes, device fixes and EXIF geotags, grid workers, and most
/// reports already synced (so not in the outbox). All share one photo row.
pub(crate) fn fill_store(dir: &Path, sha256: &str, total: usize) -> Result<Duration> {
    let start = Instant::now();
    // foreign_keys=ON as the store has it: a row the store would refuse fails here.
    let mut conn = store_connection(dir)?;
    let existing = conn.query_row("SELECT count(*) FROM reports", [], |r| r.get::<_, i64>(0))? as usize;
    let tx = conn.transaction()?;
    {
        let mut report = tx.prepare(
            "INSERT INTO reports (id, category, note, latitude, longitude, location_source, accuracy_m,
                                  reporter_role, grid_id, taken_at, created_at, status, sync_state, sync_error)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,
                     strftime('%Y-%m-%dT%H:%M:%fZ', ?11, 'unixepoch'), 'submitted', ?12, NULL)",
        )?;
        let mut link = tx.prepare("INSERT INTO report_photos (report_id, position, sha256) VALUES (?1, 0, ?2)")?;
        let mut queue = tx.prepare("INSERT INTO outbox (report_id) VALUES (?1)")?;
        for i in existing..total {
            let id = Uuid::now_v7().hyphenated().to_string();
            let note = if i % 3 == 0 { format!("第{i}号：楼道堆放杂物，影响通行") } else { String::new() };
            let device_fix = i % 4 == 0;
            let grid_worker = i % 5 == 0;
            let pending = i % 10 == 0;
            let jitter = (i % 1000) as f64 * 1e-5;
            report.execute(params![
                id,
                CATEGORIES[i % CATEGORIES.len()].code,
                note,
                31.2304 + jitter,
                121.4737 - jitter,
                if device_fix { "device" } else { "exif" },
                device_fix.then_some(8.0),
                if grid_worker { "grid_worker" } else { "resident" },
                grid_worker.then(|| format!("grid-{:03}", i % 200)),
                "2024-05-01T08:30:00+08:00",
                // One report a minute, all older than the seed report.
                1_700_000_000.0 + i as f64 * 60.0,
                if pending { "pending" } else { "synced" },
            ])?;
            link.execute(params![id, sha256])?;
            if pending {
                queue.execute([&id])?;
            }
        }
    }
    tx.commit()?;
    // Closing the last connection checkpoints the WAL into the database, as
    // an app that was closed would leave it.
    conn.close().map_err(|(_, e)| e)?;
    Ok(start.elapsed())
}

pub(crate) fn bench_list(dir: &Path, figures: &mut Vec<Figure>) -> Result<()> {
    println!("list {LIST_REPORTS} reports with their photos: warm, median of {QUERY_RUNS}");
    let store = Store::open(dir)?;
    let mut bare = store_connection(dir)?;
    let (project, anchor) = time_interleaved(
        || {
            let start = Instant::now();
            let reports = black_box(store.list_reports()?);
            let took = start.elapsed();
            if reports.len() != LIST_REPORTS || reports.iter().any(|r| r.photos.len() != 1) {
                return Err("list_reports returned the wrong reports".into());
            }
            Ok(took)
        },
        || {
            let start = Instant::now();
            let (reports, photos) = black_box(bare_list(&mut bare)?);
            let took = start.elapsed();
            if reports.len() != LIST_REPORTS || photos.len() != LIST_REPORTS {
                return Err("bare list returned the wrong rows".into());
            }
            Ok(took)
        },
    )?;
    let (p, a) = (median(&project), median(&anchor));
    println!("  Store::list_reports:           {:>9} (min {})", ms(p), ms(*project.iter().min().expect("runs")));
    println!("  bare SELECT into Vecs:         {:>9} (min {})", ms(a), ms(*anchor.iter().min().expect("runs")));
    figures.push(Figure {
        name: format!("List {LIST_REPORTS} reports with photos (median of {QUERY_RUNS})"),
        project: ms(p),
        anchor: format!("bare SELECT: {}", ms(a)),
        target: format!("none set (is {:.2}×)", p.as_secs_f64() / a.as_secs_f64()),
        met: None,
    });
    Ok(())
}

pub(crate) fn bench_open(dir: &Path, figures: &mut Vec<Figure>) -> Result<()> {
    println!("open a store of {OPEN_REPORTS} reports: new Store each time (OS cache warm), median of {QUERY_RUNS}");
    let path = dir.join(DATABASE_FILE);
    // Each run times the open alone; the drop after it (which closes the
    // connections and checkpoints the WAL) is outside the timed part.
    let (project, anchor) = time_interleaved(
        || {
            let start = Instant::now();
            let store = Store::open(dir)?;
            let took = start.elapsed();
            drop(store);
            Ok(took)
        },
        || {
            let start = Instant::now();
            let conn = Connection::open(&path)?;
            conn.execute_batch("PRAGMA journal_mode = WAL;")?;
            let took = start.elapsed();
            drop(conn);
            Ok(took)
        },
    )?;
    let (p, a) = (median(&project), median(&anchor));
    println!("  Store::open:                   {:>9} (min {})", ms(p), ms(*project.iter().min().expect("runs")));
    println!("  Connection::open + WAL pragma: {:>9} (min {})", ms(a), ms(*anchor.iter().min().expect("runs")));
    figures.push(Figure {
        name: format!("Open a store of {OPEN_REPORTS} reports (median of {QUERY_RUNS})"),
        project: ms(p),
        anchor: format!("Connection::open + WAL: {}", ms(a)),
        target: format!("< {} ms", OPEN_TARGET.as_millis()),
        met: Some(p < OPEN_TARGET),
    });

    // What the app's first screen would cost right after opening: one list
    // on a freshly opened store, statements not yet prepared.
    let store = Store::open(dir)?;
    let start = Instant::now();
    let count = black_box(store.list_reports()?).len();
    let first_list = start.elapsed();
    drop(store);
    let mut bare = store_connection(dir)?;
    let start = Instant::now();
    let bare_count = black_box(bare_list(&mut bare)?).0.len();
    let first_bare = start.elapsed();
    if count != OPEN_REPORTS || bare_count != OPEN_REPORTS {
        return Err("listing the 100k store returned the wrong number of reports".into());
    }
    println!("  first list_reports after open: {:>9}; bare SELECT: {}", ms(first_list), ms(first_bare));
    figures.push(Figure {
        name: format!("First `list_reports` after opening {OPEN_REPORTS} reports"),
        project: ms(first_list),
        anchor: format!("bare SELECT: {}", ms(first_bare)),
        target: "info".into(),
        met: None,
    });
    Ok(())
}

/// A report row decoded into owned values, as the store decodes it (without
/// the enum and UUID parsing, which is the store's own work).
#[allow(dead_code)] // Fields are filled to pay for decoding; nobody reads them.
pub(crate) struct BareReport {
    pub(crate) id: String,
    pub(crate) category: String,
    pub(crate) note: String,
    pub(crate) latitude: Option<f64>,
    pub(crate) longitude: Option<f64>,
    pub(crate) location_source: Option<String>,
    pub(crate) accuracy_m: Option<f64>,
    pub(crate) reporter_role: String,
    pub(crate) grid_id: Option<String>,
    pub(crate) taken_at: Option<String>,
    pub(crate) created_at: String,
    pub(crate) status: String,
    pub(crate) sync_state: String,
    pub(crate) sync_error: Option<String>,
}

#[allow(dead_code)] // As BareReport.
pub(crate) struct BarePhoto {
    pub(crate) sha256: String,
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) bytes: i64,
    pub(crate) report_id: String,
}

/// The store's two listing queries, verbatim, collected into Vecs in one
/// read transaction: the floor for `list_reports`.
pub(crate) fn bare_list(conn: &mut Connection) -> Result<(Vec<BareReport>, Vec<BarePhoto>)> {
    let tx = conn.transaction()?;
    let photos = tx
        .prepare_cached(
            "SELECT p.sha256, p.width, p.height, p.bytes, rp.report_id FROM report_photos rp JOIN photos p USING (sha256)
             ORDER BY rp.report_id, rp.position",
        )?
        .query_map([], |r| {
            Ok(BarePhoto { sha256: r.get(0)?, width: r.get(1)?, height: r.get(2)?, bytes: r.get(3)?, report_id: r.get(4)? })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let reports = tx
        .prepare_cached(
            "SELECT id, category, note, latitude, longitude, location_source, accuracy_m, reporter_role, grid_id,
                    taken_at, created_at, status, sync_state, sync_error
             FROM reports ORDER BY created_at DESC, id DESC",
        )?
        .query_map([], |r| {
            Ok(BareReport {
                id: r.get(0)?,
                category: r.get(1)?,
                note: r.get(2)?,
                latitude: r.get(3)?,
                longitude: r.get(4)?,
                location_source: r.get(5)?,
                accuracy_m: r.get(6)?,
                reporter_role: r.get(7)?,
                grid_id: r.get(8)?,
                taken_at: r.get(9)?,
                created_at: r.get(10)?,
                status: r.get(11)?,
                sync_state: r.get(12)?,
                sync_error: r.get(13)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((reports, photos))
}

/// One untimed warm-up of each side, then QUERY_RUNS timed runs, the sides
/// alternating. Each closure returns the time of its own measured part.
pub(crate) fn time_interleaved(
    mut project: impl FnMut() -> Result<Duration>,
    mut anchor: impl FnMut() -> Result<Duration>,
) -> Result<(Vec<Duration>, Vec<Duration>)> {
    project()?;
    anchor()?;
    let (mut p, mut a) = (Vec::new(), Vec::new());
    for _ in 0..QUERY_RUNS {
        p.push(project()?);
        a.push(anchor()?);
    }
    Ok((p, a))
}
