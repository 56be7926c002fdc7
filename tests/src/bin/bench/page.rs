//! Paged listing: the first page of the device's report list at 100,000
//! reports, against a bare indexed SELECT of the same page.

use super::*;

/// The page an app's queue screen asks for first.
pub(crate) const PAGE_SIZE: u32 = 50;
pub(crate) const PAGE_TARGET: Duration = Duration::from_millis(5);

/// `Store::report_page` (first page, then a page half-way down the list)
/// against the same rows read by bare rusqlite: one indexed SELECT of the
/// page (newest first, one more row to learn whether a page follows) and the
/// photos of those reports by the primary key of `report_photos`.
pub(crate) fn bench_page(dir: &Path, figures: &mut Vec<Figure>) -> Result<()> {
    println!("\nfirst page of {PAGE_SIZE} of {OPEN_REPORTS} reports: warm, median of {QUERY_RUNS}");
    let store = Store::open(dir)?;
    let mut bare = page_connection(dir)?;
    // A cursor half-way down: the keyset walk must cost the same there.
    let mut middle = None;
    for _ in 0..(OPEN_REPORTS as u32 / 2 / 1000) {
        middle = store.report_page(Some(1000), middle.as_deref())?.next_cursor;
    }
    let middle = middle.ok_or("the list ended before its middle")?;
    let middle_key: (String, String) = {
        let page = store.report_page(Some(1), Some(&middle))?;
        let first = page.reports.first().ok_or("no report after the middle cursor")?;
        // The bare side starts at the same place: the report just before it.
        bare.query_row(
            "SELECT created_at, id FROM reports WHERE (created_at, id) > (SELECT created_at, id FROM reports WHERE id = ?1)
             ORDER BY created_at, id LIMIT 1",
            [first.id.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?
    };

    let mut figure = |label: &str, cursor: Option<&str>, key: Option<&(String, String)>| -> Result<()> {
        let (project, anchor) = time_interleaved(
            || {
                let start = Instant::now();
                let page = black_box(store.report_page(Some(PAGE_SIZE), cursor)?);
                let took = start.elapsed();
                if page.reports.len() != PAGE_SIZE as usize
                    || page.next_cursor.is_none()
                    || page.reports.iter().any(|r| r.photos.len() != 1)
                {
                    return Err("report_page returned the wrong page".into());
                }
                Ok(took)
            },
            || {
                let start = Instant::now();
                let (reports, photos) = black_box(bare_page(&mut bare, key)?);
                let took = start.elapsed();
                if reports.len() != PAGE_SIZE as usize + 1 || photos.len() != PAGE_SIZE as usize {
                    return Err("the bare page returned the wrong rows".into());
                }
                Ok(took)
            },
        )?;
        let (p, a) = (median(&project), median(&anchor));
        println!(
            "  {label}: Store::report_page {:>9} (min {}); bare SELECT {:>9} (min {})",
            us(p),
            us(min(&project)),
            us(a),
            us(min(&anchor))
        );
        figures.push(Figure {
            name: format!("{label} of {PAGE_SIZE}, {OPEN_REPORTS} reports (median of {QUERY_RUNS})"),
            project: us(p),
            anchor: format!("bare indexed SELECT of the page + its photos: {}", us(a)),
            target: format!("< {} ms (is {:.2}× anchor)", PAGE_TARGET.as_millis(), p.as_secs_f64() / a.as_secs_f64()),
            met: Some(p < PAGE_TARGET),
        });
        Ok(())
    };
    figure("First page", None, None)?;
    figure("A page half-way down", Some(&middle), Some(&middle_key))?;
    drop(store);

    // The app's first screen: a store just opened, statements not prepared.
    let (project, anchor) = time_interleaved(
        || {
            let store = Store::open(dir)?;
            let start = Instant::now();
            let page = black_box(store.report_page(Some(PAGE_SIZE), None)?);
            let took = start.elapsed();
            if page.reports.len() != PAGE_SIZE as usize {
                return Err("report_page returned the wrong page".into());
            }
            Ok(took)
        },
        || {
            let mut conn = page_connection(dir)?;
            let start = Instant::now();
            let rows = black_box(bare_page(&mut conn, None)?);
            let took = start.elapsed();
            if rows.0.len() != PAGE_SIZE as usize + 1 {
                return Err("the bare page returned the wrong rows".into());
            }
            Ok(took)
        },
    )?;
    let (p, a) = (median(&project), median(&anchor));
    println!("  first page on a store just opened: {:>9}; bare SELECT on a new connection: {}", us(p), us(a));
    figures.push(Figure {
        name: format!("First page of {PAGE_SIZE} on a store just opened, {OPEN_REPORTS} reports (median of {QUERY_RUNS})"),
        project: us(p),
        anchor: format!("the same SELECTs on a new connection: {}", us(a)),
        target: format!("< {} ms (is {:.2}× anchor)", PAGE_TARGET.as_millis(), p.as_secs_f64() / a.as_secs_f64()),
        met: Some(p < PAGE_TARGET),
    });
    Ok(())
}

/// The anchor's connection: as the store's, planning each statement once
/// (as the store does, see `support::pragmas::plan_once`): without it,
/// SQLite recompiles the `LIMIT ?` statement each time it is bound, and the
/// anchor would be slower than the floor it stands for.
fn page_connection(dir: &Path) -> Result<Connection> {
    let conn = store_connection(dir)?;
    suishoupai_core::support::pragmas::plan_once(&conn)?;
    Ok(conn)
}

/// One page read bare: the page's rows by the `reports_newest_first` index
/// (strictly after `after`, when given), then each report's photos.
pub(crate) fn bare_page(conn: &mut Connection, after: Option<&(String, String)>) -> Result<(Vec<BareReport>, Vec<BarePhoto>)> {
    let tx = conn.transaction()?;
    let columns = "id, category, note, latitude, longitude, location_source, accuracy_m, reporter_role, grid_id,
                   taken_at, created_at, status, sync_state, sync_error";
    let row = |r: &rusqlite::Row| {
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
    };
    let limit = PAGE_SIZE as i64 + 1;
    let reports = match after {
        None => tx
            .prepare_cached(&format!("SELECT {columns} FROM reports ORDER BY created_at DESC, id DESC LIMIT ?1"))?
            .query_map([limit], row)?
            .collect::<rusqlite::Result<Vec<_>>>()?,
        Some((created_at, id)) => tx
            .prepare_cached(&format!(
                "SELECT {columns} FROM reports WHERE (created_at, id) < (?1, ?2) ORDER BY created_at DESC, id DESC LIMIT ?3"
            ))?
            .query_map(params![created_at, id, limit], row)?
            .collect::<rusqlite::Result<Vec<_>>>()?,
    };
    let mut photos = Vec::with_capacity(PAGE_SIZE as usize);
    let mut stmt = tx.prepare_cached(
        "SELECT p.sha256, p.width, p.height, p.bytes, rp.report_id FROM report_photos rp JOIN photos p USING (sha256)
         WHERE rp.report_id = ?1 ORDER BY rp.position",
    )?;
    for report in &reports[..reports.len().min(PAGE_SIZE as usize)] {
        for photo in stmt.query_map([&report.id], |r| {
            Ok(BarePhoto { sha256: r.get(0)?, width: r.get(1)?, height: r.get(2)?, bytes: r.get(3)?, report_id: r.get(4)? })
        })? {
            photos.push(photo?);
        }
    }
    drop(stmt);
    Ok((reports, photos))
}

fn min(runs: &[Duration]) -> Duration {
    runs.iter().copied().min().unwrap_or_default()
}
