//! `bench console`, the statistics: the daily bulletin and a 10-day
//! ranking at 1,000,000 cases (seeded as `console.rs` says), through the
//! services the endpoints call, against the same aggregation written as one
//! bare SQL query over the same file in the same run. Both sides must give
//! the same figures, or the bench fails.

use std::collections::BTreeMap;

use chrono::{NaiveDate, TimeZone};
use suishoupai_server::services::bulletin;
use suishoupai_server::services::ranking::{self, Period, Unit, Weights};
use suishoupai_server::storage::sqlite::{DATABASE_FILE, SqliteStorage};
use suishoupai_server::storage::{self as server_storage, Storage, StorageError};

use super::*;

const CASES: usize = STATS_CASES;
const RUNS: usize = 3;
/// The bulletin's day and the ranking's 旬 (with the one before it), near the end of the year.
const DAY: &str = "2026-12-15";
const XUN: &str = "2026-12-2";

/// The figures over `dir`, seeded with [`STATS_CASES`] cases as of `now_ms`.
pub(crate) fn run_stats(dir: &Path, now_ms: i64, figures: &mut Vec<Figure>) -> Result<()> {
    let tz = chrono_tz::Asia::Shanghai;
    let storage = SqliteStorage::open(dir)?;
    let coco = server_storage::read(&storage as &dyn Storage, |tx| {
        tx.user_by_name(COORDINATOR)?.ok_or(StorageError::Backend("no coordinator".into()))
    })?;
    let bare = Connection::open(dir.join(DATABASE_FILE))?;
    let day: NaiveDate = DAY.parse()?;
    let xun = Period::parse_xun(XUN)?;

    let (mut service_bulletin, mut sql_bulletin, mut service_ranking, mut sql_ranking) = (vec![], vec![], vec![], vec![]);
    for _ in 0..RUNS {
        let t = Instant::now();
        let made = bulletin::build(&storage, day, tz, now_ms)?;
        service_bulletin.push(t.elapsed());
        let t = Instant::now();
        let rows = bare_bulletin(&bare, day, tz, now_ms)?;
        sql_bulletin.push(t.elapsed());
        for row in made.street_offices.iter().chain([&made.total]) {
            let name = row.street_office.clone().unwrap_or_default();
            let want = [
                row.new,
                row.dispatched,
                row.rectified,
                row.closed,
                row.overdue,
                row.received_to_date,
                row.rectified_to_date,
                row.closed_to_date,
            ];
            if rows.get(&name) != Some(&want) {
                return Err(format!("bulletin of {name:?}: the service says {want:?}, the bare query {:?}", rows.get(&name)).into());
            }
        }

        let t = Instant::now();
        let ranked = ranking::ranking(&storage, &coco, xun, Unit::StreetOffice, Weights::default(), tz, now_ms)?;
        service_ranking.push(t.elapsed());
        let t = Instant::now();
        let scores = bare_ranking(&bare, xun, tz, now_ms)?;
        sql_ranking.push(t.elapsed());
        let got: Vec<(String, i64)> =
            ranked.entries.iter().map(|e| (e.unit.clone(), (e.score.unwrap_or(-1.0) * 1e4).round() as i64)).collect();
        let want: Vec<(String, i64)> = scores.iter().map(|(unit, score)| (unit.clone(), (score * 1e4).round() as i64)).collect();
        if got != want {
            return Err(format!("ranking: the service says {got:?}, the bare query {want:?}").into());
        }
    }
    let (b, bs, r, rs) = (median(&service_bulletin), median(&sql_bulletin), median(&service_ranking), median(&sql_ranking));
    println!(
        "bulletin of {DAY}: service {} vs one bare SQL query {}; ranking of {XUN}: service {} vs bare SQL {}",
        ms(b),
        ms(bs),
        ms(r),
        ms(rs)
    );
    figures.push(Figure {
        name: format!("Daily bulletin at {CASES} cases (median of {RUNS})"),
        project: ms(b),
        anchor: format!("one bare SQL query, same figures: {}", ms(bs)),
        target: format!("info (is {:.2}×)", b.as_secs_f64() / bs.as_secs_f64()),
        met: None,
    });
    figures.push(Figure {
        name: format!("10-day ranking (and the 旬 before, for talks) at {CASES} cases (median of {RUNS})"),
        project: ms(r),
        anchor: format!("one bare SQL query over both 旬: {}", ms(rs)),
        target: format!("info (is {:.2}×)", r.as_secs_f64() / rs.as_secs_f64()),
        met: None,
    });
    Ok(())
}

/// The bulletin's counts per street office (and "" for the whole area),
/// in one query: [new, dispatched, rectified, closed, overdue,
/// received_to_date, rectified_to_date, closed_to_date].
fn bare_bulletin(conn: &Connection, day: NaiveDate, tz: chrono_tz::Tz, now_ms: i64) -> Result<BTreeMap<String, [u64; 8]>> {
    let midnight = |d: NaiveDate| -> Result<i64> {
        Ok(tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).ok_or("no midnight")?).single().ok_or("no midnight")?.timestamp_millis())
    };
    let (start, end) = (midnight(day)?, midnight(day.succ_opt().ok_or("no next day")?)?);
    // The whole area is the sum of the groups (SQLite has no ROLLUP).
    let mut stmt = conn.prepare_cached(
        "WITH ev AS (
             SELECT report_id AS id,
                    max(action = 'accept' AND at >= ?1 AND at < ?2) AS new,
                    max(action = 'dispatch' AND at >= ?1 AND at < ?2) AS dispatched,
                    max(action = 'rectify' AND at >= ?1 AND at < ?2) AS rectified,
                    max(action = 'verify' AND at >= ?1 AND at < ?2) AS closed,
                    max(action = 'accept' AND at < ?2) AS received_td,
                    max(action = 'rectify' AND at < ?2) AS rectified_td,
                    max(action = 'verify' AND at < ?2) AS closed_td
             FROM events WHERE action IS NOT NULL GROUP BY report_id
         ), offices AS (SELECT DISTINCT grid_id, street_office FROM grids)
         SELECT coalesce(o.street_office, '-'), sum(new), sum(dispatched), sum(ev.rectified), sum(closed),
                sum(r.status IN ('dispatched', 'in_progress') AND r.due_ms < ?3), sum(received_td), sum(rectified_td), sum(closed_td)
         FROM ev JOIN reports r ON r.id = ev.id LEFT JOIN offices o ON o.grid_id = r.grid_id
         GROUP BY o.street_office",
    )?;
    let mut out: BTreeMap<String, [u64; 8]> = BTreeMap::new();
    let mut total = [0u64; 8];
    let rows = stmt.query_map(params![at(start), at(end), now_ms], |r| {
        let mut counts = [0u64; 8];
        for (k, c) in counts.iter_mut().enumerate() {
            *c = r.get::<_, i64>(k + 1)? as u64;
        }
        Ok((r.get::<_, String>(0)?, counts))
    })?;
    for row in rows {
        let (office, counts) = row?;
        total.iter_mut().zip(counts).for_each(|(t, c)| *t += c);
        out.insert(office, counts);
    }
    out.insert(String::new(), total);
    Ok(out)
}

/// The 旬's scores per street office, in rank order, in one query that
/// also ranks the 旬 before (whose last place decides a talk).
fn bare_ranking(conn: &Connection, xun: Period, tz: chrono_tz::Tz, now_ms: i64) -> Result<Vec<(String, f64)>> {
    let midnight = |d: NaiveDate| -> Result<i64> {
        Ok(tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).ok_or("no midnight")?).single().ok_or("no midnight")?.timestamp_millis())
    };
    let (start, end) = (midnight(xun.first_day())?, midnight(xun.last_day().succ_opt().ok_or("no next day")?)?);
    let before = xun.previous();
    let (before_start, before_end) = (midnight(before.first_day())?, midnight(before.last_day().succ_opt().ok_or("no next day")?)?);
    let w = Weights::default();
    let mut stmt = conn.prepare_cached(
        "WITH ev AS (
             SELECT report_id AS id,
                    max(action = 'accept' AND at >= ?1 AND at < ?2) AS received,
                    max(action = 'verify' AND at >= ?1 AND at < ?2) AS closed,
                    max(action = 'reopen' AND at >= ?1 AND at < ?2) AS reworked,
                    max(action = 'accept' AND at >= ?3 AND at < ?4) AS received_before,
                    max(action = 'verify' AND at >= ?3 AND at < ?4) AS closed_before,
                    max(action = 'reopen' AND at >= ?3 AND at < ?4) AS reworked_before,
                    max(CASE WHEN action = 'verify' THEN at END) AS last_verify
             FROM events WHERE action IS NOT NULL GROUP BY report_id
         ), offices AS (SELECT DISTINCT grid_id, street_office FROM grids),
         figures AS (
             SELECT o.street_office AS unit,
                    sum(received) AS received, sum(closed) AS closed, sum(reworked) AS reworked,
                    sum(r.due_ms >= ?5 AND r.due_ms < ?6 AND r.due_ms < ?9) AS due,
                    sum(r.due_ms >= ?5 AND r.due_ms < ?6 AND r.due_ms < ?9 AND r.status = 'closed' AND ev.last_verify <= r.due_at) AS on_time,
                    sum(received_before) AS received_before, sum(closed_before) AS closed_before, sum(reworked_before) AS reworked_before,
                    sum(r.due_ms >= ?7 AND r.due_ms < ?8 AND r.due_ms < ?9) AS due_before,
                    sum(r.due_ms >= ?7 AND r.due_ms < ?8 AND r.due_ms < ?9 AND r.status = 'closed' AND ev.last_verify <= r.due_at) AS on_time_before
             FROM ev JOIN reports r ON r.id = ev.id JOIN offices o ON o.grid_id = r.grid_id
             GROUP BY o.street_office
         )
         SELECT unit,
                round(?10 * coalesce(1.0 * on_time / nullif(due, 0), 1.0) + ?11 * coalesce(min(1.0, 1.0 * closed / nullif(received, 0)), 1.0)
                      - ?12 * reworked, 4) AS score,
                coalesce(1.0 * on_time / nullif(due, 0), 1.0) AS on_time_rate,
                round(?10 * coalesce(1.0 * on_time_before / nullif(due_before, 0), 1.0)
                      + ?11 * coalesce(min(1.0, 1.0 * closed_before / nullif(received_before, 0)), 1.0) - ?12 * reworked_before, 4) AS score_before
         FROM figures ORDER BY score DESC, on_time_rate DESC, reworked ASC, received DESC, unit ASC",
    )?;
    let rows = stmt.query_map(
        params![
            at(start),
            at(end),
            at(before_start),
            at(before_end),
            start,
            end,
            before_start,
            before_end,
            now_ms,
            w.on_time,
            w.closure,
            w.rework
        ],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, f64>(1)?, r.get::<_, f64>(3)?)),
    )?;
    let mut out = Vec::new();
    for row in rows {
        let (unit, score, _score_before) = row?;
        out.push((unit, score));
    }
    Ok(out)
}
