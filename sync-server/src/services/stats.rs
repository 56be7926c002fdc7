//! Statistics of the campaign, computed from the recorded events every
//! time (no counter that can drift), over a period of local days in the
//! deployment's time zone, for the whole area and per street office,
//! community, grid, department or category.
//!
//! How each figure counts (a case counts at most once per figure, however
//! many events it has; the period is `[from 00:00, to + 1 day 00:00)` local):
//! - `received` (交办): cases with an `accept` (立案) in the period.
//! - `dispatched` (派遣): cases with a `dispatch` in the period (a case
//!   returned and dispatched again counts once).
//! - `rectified` (已整改): cases with a `rectify` in the period (a report
//!   fixed on the spot arrives with one).
//! - `closed` (结案): cases with a `verify` in the period.
//! - `rectification_rate` = rectified / received.
//! - `due`: cases whose deadline (`due_at` now) falls in the period and is
//!   already past; `closed_on_time`: those of them closed now, by a
//!   `verify` at or before the deadline; `on_time_rate` = closed_on_time / due.
//! - `reworked` (返工): cases with a `reopen` in the period;
//!   `rework_rate` = reworked / rectified.
//! - `returned` (退回): cases dispatched in the period for a second time or
//!   more.
//! - `overdue`: cases `dispatched` or `in_progress` and past due now,
//!   whatever the period (a `rectified` case awaits verification and is
//!   not overdue); [`is_overdue`] is the one test of it.
//! - `median_hours_to_close`: over the cases closed in the period, the
//!   median of the hours from their first `accept` to their last `verify`
//!   in the period.
//!
//! A rate whose denominator is 0 is null.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate, TimeZone};
use chrono_tz::Tz;
use serde::Serialize;
use suishoupai_core::{Action, ReportStatus};

use crate::auth::require_statistics_reader;
use crate::error::{Error, Result};
use crate::model::User;
use crate::storage::{self, CaseHistory, Storage};

/// The longest period asked for at once.
pub const MAX_PERIOD_DAYS: u64 = 366;

/// What the figures are broken down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum By {
    StreetOffice,
    Community,
    Grid,
    Department,
    Category,
}

impl By {
    pub fn from_code(code: &str) -> Option<By> {
        Some(match code {
            "street_office" => By::StreetOffice,
            "community" => By::Community,
            "grid" => By::Grid,
            "department" => By::Department,
            "category" => By::Category,
            _ => return None,
        })
    }

    fn key(self, case: &CaseHistory) -> Option<String> {
        match self {
            By::StreetOffice => case.street_office.clone(),
            By::Community => case.community.clone(),
            By::Grid => case.grid_id.clone(),
            By::Department => case.department.clone(),
            By::Category => Some(case.category.clone()),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Figures {
    pub received: u64,
    pub dispatched: u64,
    pub rectified: u64,
    pub closed: u64,
    pub rectification_rate: Option<f64>,
    pub due: u64,
    pub closed_on_time: u64,
    pub on_time_rate: Option<f64>,
    pub reworked: u64,
    pub rework_rate: Option<f64>,
    pub returned: u64,
    pub overdue: u64,
    pub median_hours_to_close: Option<f64>,
}

/// One group of a breakdown; `key` null for cases without one (no grid, not dispatched).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    pub key: Option<String>,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub timezone: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<By>,
    pub total: Figures,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<Group>,
}

/// The period `[start_ms, end_ms)` of local days `from..=to` in `tz`.
pub fn period_ms(from: NaiveDate, to: NaiveDate, tz: Tz) -> Result<(i64, i64)> {
    if to < from {
        return Err(Error::BadRequest(format!("`to` ({to}) is before `from` ({from})")));
    }
    if (to - from).num_days() as u64 >= MAX_PERIOD_DAYS {
        return Err(Error::BadRequest(format!("a period is at most {MAX_PERIOD_DAYS} days")));
    }
    let midnight = |d: NaiveDate| -> Result<i64> {
        let local = d.and_hms_opt(0, 0, 0).ok_or_else(|| Error::BadRequest(format!("{d} has no midnight")))?;
        // A midnight skipped by a clock change starts at the first instant after it.
        let at =
            tz.from_local_datetime(&local).earliest().or_else(|| tz.from_local_datetime(&(local + chrono::Duration::hours(1))).earliest());
        at.map(|t| t.timestamp_millis()).ok_or_else(|| Error::BadRequest(format!("{d} has no midnight in {tz}")))
    };
    let end = to.checked_add_days(Days::new(1)).ok_or_else(|| Error::BadRequest("`to` is out of range".into()))?;
    Ok((midnight(from)?, midnight(end)?))
}

/// The figures of `cases` over `[start_ms, end_ms)`, at `now_ms`.
pub fn figures<'a>(cases: impl IntoIterator<Item = &'a CaseHistory>, start_ms: i64, end_ms: i64, now_ms: i64) -> Figures {
    let mut f = Figures::default();
    let mut hours_to_close = Vec::new();
    let within = |at: i64| (start_ms..end_ms).contains(&at);
    for case in cases {
        let did = |action: Action| case.actions.iter().any(|(a, at)| *a == action && within(*at));
        f.received += u64::from(did(Action::Accept));
        f.dispatched += u64::from(did(Action::Dispatch));
        f.rectified += u64::from(did(Action::Rectify));
        f.reworked += u64::from(did(Action::Reopen));
        let dispatches: Vec<i64> = case.actions.iter().filter(|(a, _)| *a == Action::Dispatch).map(|(_, at)| *at).collect();
        f.returned += u64::from(dispatches.iter().skip(1).any(|at| within(*at)));
        let last_close = case.actions.iter().filter(|(a, at)| *a == Action::Verify && within(*at)).map(|(_, at)| *at).max();
        if let Some(closed_at) = last_close {
            f.closed += 1;
            if let Some(accepted_at) = case.actions.iter().find(|(a, _)| *a == Action::Accept).map(|(_, at)| *at) {
                hours_to_close.push((closed_at - accepted_at) as f64 / 3_600_000.0);
            }
        }
        if let Some(due) = case.due_ms
            && within(due)
            && due < now_ms
        {
            f.due += 1;
            let last_verify = case.actions.iter().filter(|(a, _)| *a == Action::Verify).map(|(_, at)| *at).max();
            if case.status == ReportStatus::Closed && last_verify.is_some_and(|at| at <= due) {
                f.closed_on_time += 1;
            }
        }
        f.overdue += u64::from(is_overdue(case, now_ms));
    }
    let rate = |n: u64, d: u64| (d > 0).then(|| n as f64 / d as f64);
    f.rectification_rate = rate(f.rectified, f.received);
    f.on_time_rate = rate(f.closed_on_time, f.due);
    f.rework_rate = rate(f.reworked, f.rectified);
    f.median_hours_to_close = median(&mut hours_to_close);
    f
}

/// Whether the case is open with a department and past its deadline at
/// `now_ms`: `dispatched` or `in_progress` (a `rectified` case awaits
/// verification, and is not the department's to be late with).
pub fn is_overdue(case: &CaseHistory, now_ms: i64) -> bool {
    matches!(case.status, ReportStatus::Dispatched | ReportStatus::InProgress) && case.due_ms.is_some_and(|due| due < now_ms)
}

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 { values[mid] } else { (values[mid - 1] + values[mid]) / 2.0 })
}

/// `GET /v1/stats`, for coordinators and admins.
pub fn stats(storage: &dyn Storage, user: &User, from: NaiveDate, to: NaiveDate, by: Option<By>, tz: Tz, now_ms: i64) -> Result<Stats> {
    require_statistics_reader(user)?;
    compute(storage, from, to, by, tz, now_ms)
}

/// The figures, for whoever the caller already allowed (the CLI, the ledger).
pub fn compute(storage: &dyn Storage, from: NaiveDate, to: NaiveDate, by: Option<By>, tz: Tz, now_ms: i64) -> Result<Stats> {
    let (start, end) = period_ms(from, to, tz)?;
    // Every figure counts a case by an action or a deadline in the period,
    // or by being overdue now: the cases the period can count are enough
    // (the whole history held in memory was 60 MB at 100,000 cases, in
    // every ledger export).
    let cases = storage::read(storage, |tx| Ok::<_, Error>(tx.case_histories_within(start, end, now_ms)?))?;
    let total = figures(&cases, start, end, now_ms);
    let groups = match by {
        None => Vec::new(),
        Some(by) => {
            let mut grouped: BTreeMap<Option<String>, Vec<&CaseHistory>> = BTreeMap::new();
            for case in &cases {
                grouped.entry(by.key(case)).or_default().push(case);
            }
            grouped.into_iter().map(|(key, cases)| Group { key, figures: figures(cases, start, end, now_ms) }).collect()
        }
    };
    Ok(Stats { from, to, timezone: tz.name().to_owned(), by, total, groups })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    fn case(status: ReportStatus, due_ms: Option<i64>, actions: &[(Action, i64)]) -> CaseHistory {
        CaseHistory {
            id: "x".into(),
            category: "garbage".into(),
            grid_id: None,
            street_office: None,
            community: None,
            department: None,
            status,
            due_ms,
            actions: actions.to_vec(),
        }
    }

    #[test]
    fn local_days_bound_the_period() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let (start, end) = period_ms(d("2026-11-01"), d("2026-11-30"), chrono_tz::Asia::Shanghai).unwrap();
        // 2026-11-01 00:00 in Shanghai is 2026-10-31 16:00 UTC.
        assert_eq!(start, chrono::Utc.with_ymd_and_hms(2026, 10, 31, 16, 0, 0).unwrap().timestamp_millis());
        assert_eq!(end - start, 30 * 24 * HOUR);
        assert!(period_ms(d("2026-11-02"), d("2026-11-01"), chrono_tz::Asia::Shanghai).is_err());
    }

    #[test]
    fn a_case_counts_once_per_figure() {
        use Action::*;
        let t = 1000 * HOUR;
        // Accepted, dispatched, rectified, reopened, rectified again, closed on time.
        let busy = case(
            ReportStatus::Closed,
            Some(t + 50 * HOUR),
            &[
                (Accept, t),
                (Dispatch, t + HOUR),
                (Rectify, t + 2 * HOUR),
                (Reopen, t + 3 * HOUR),
                (Rectify, t + 4 * HOUR),
                (Verify, t + 10 * HOUR),
            ],
        );
        // Returned and dispatched again, late now.
        let late = case(
            ReportStatus::Dispatched,
            Some(t + 5 * HOUR),
            &[(Accept, t), (Dispatch, t + HOUR), (Return, t + 2 * HOUR), (Dispatch, t + 3 * HOUR)],
        );
        let f = figures([&busy, &late], t, t + 100 * HOUR, t + 60 * HOUR);
        assert_eq!((f.received, f.dispatched, f.rectified, f.closed, f.reworked, f.returned), (2, 2, 1, 1, 1, 1));
        assert_eq!((f.due, f.closed_on_time, f.overdue), (2, 1, 1));
        assert_eq!((f.rectification_rate, f.on_time_rate, f.rework_rate), (Some(0.5), Some(0.5), Some(1.0)));
        assert_eq!(f.median_hours_to_close, Some(10.0));
        // Outside the period, nothing counts but what is overdue now.
        let f = figures([&busy, &late], t + 200 * HOUR, t + 300 * HOUR, t + 60 * HOUR);
        assert_eq!((f.received, f.closed, f.due, f.overdue, f.rectification_rate), (0, 0, 0, 1, None));
    }
}
