//! The daily bulletin (每日一通报): for one local day, per street office and
//! for the whole area, what happened that day, the rates to date, and the
//! cases overdue.
//!
//! Every figure is a [`stats::figures`] one, so that the bulletin and
//! `/v1/stats` can never disagree:
//! - The day's `new` (`received`: accepted that day), `dispatched`,
//!   `rectified` and `closed`, over the local day `[D 00:00, D+1 00:00)`.
//! - To date: `received_to_date`, `rectified_to_date`, `closed_to_date`
//!   and the rates `rectification_rate`, `on_time_rate`, `rework_rate`,
//!   over all history up to the end of D (the campaign starts with the
//!   first event recorded; events after D do not count).
//! - `overdue` and the overdue list are as of the moment the bulletin is
//!   made (`as_of`), as `/v1/stats` counts them: the cases `dispatched` or
//!   `in_progress` past their deadline then, whatever day is asked. A
//!   case's `days_past_due` is the whole days from its deadline to `as_of`,
//!   rounded up (3 hours late is 1 day), and the list runs from the most
//!   days past due, then by deadline, then by id.
//! - Rows: one per street office of the grid, by name; then the whole
//!   area's `total`, which also counts the cases outside every cell.

mod render;

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, TimeZone};
use chrono_tz::Tz;
use serde::Serialize;
use suishoupai_core::Category;

pub use self::render::{render_csv, render_html};
use crate::auth::require_statistics_reader;
use crate::error::{Error, Result};
use crate::model::User;
use crate::services::stats::{self, Figures};
use crate::storage::{self, CaseHistory, Storage};

const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bulletin {
    pub date: NaiveDate,
    pub timezone: String,
    /// `11月20日 人居环境整治 每日通报`
    pub title: String,
    /// When the overdue figures were counted, RFC 3339 in the time zone.
    pub as_of: String,
    pub street_offices: Vec<Row>,
    pub total: Row,
    pub overdue: Vec<OverdueCase>,
}

/// A street office's line, or the whole area's (`street_office` null).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub street_office: Option<String>,
    pub new: u64,
    pub dispatched: u64,
    pub rectified: u64,
    pub closed: u64,
    pub overdue: u64,
    pub received_to_date: u64,
    pub rectified_to_date: u64,
    pub closed_to_date: u64,
    pub rectification_rate: Option<f64>,
    pub on_time_rate: Option<f64>,
    pub rework_rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OverdueCase {
    pub id: String,
    pub category: String,
    /// The category's Chinese name (垃圾, 飞线充电…).
    pub category_name: String,
    pub street_office: Option<String>,
    pub department: Option<String>,
    pub department_name: Option<String>,
    /// RFC 3339 in the bulletin's time zone.
    pub due_at: String,
    pub days_past_due: u64,
}

/// `GET /v1/stats/daily`, for coordinators and admins.
pub fn for_user(storage: &dyn Storage, user: &User, date: NaiveDate, tz: Tz, now_ms: i64) -> Result<Bulletin> {
    require_statistics_reader(user)?;
    build(storage, date, tz, now_ms)
}

/// The bulletin of `date`, for whoever holds the data directory (the CLI)
/// or has been checked already ([`for_user`]).
pub fn build(storage: &dyn Storage, date: NaiveDate, tz: Tz, now_ms: i64) -> Result<Bulletin> {
    let (offices, departments, cases) = storage::read(storage, |tx| {
        let offices: Vec<String> = tx.grid_cells()?.into_iter().map(|c| c.street_office).collect();
        let departments: BTreeMap<String, String> = tx.departments()?.into_iter().map(|d| (d.code, d.name)).collect();
        Ok::<_, Error>((offices, departments, tx.case_histories()?))
    })?;
    let (day_start, day_end) = stats::period_ms(date, date, tz)?;
    let row = |street_office: Option<String>, cases: &[&CaseHistory]| {
        let day = stats::figures(cases.iter().copied(), day_start, day_end, now_ms);
        let to_date = stats::figures(cases.iter().copied(), i64::MIN, day_end, now_ms);
        Row::new(street_office, &day, &to_date)
    };
    let mut by_office: BTreeMap<String, Vec<&CaseHistory>> = offices.into_iter().map(|o| (o, Vec::new())).collect();
    for case in &cases {
        if let Some(cases) = case.street_office.as_ref().and_then(|o| by_office.get_mut(o)) {
            cases.push(case);
        }
    }
    let street_offices = by_office.into_iter().map(|(office, cases)| row(Some(office), &cases)).collect();
    let total = row(None, &cases.iter().collect::<Vec<_>>());
    let mut overdue: Vec<(i64, OverdueCase)> = cases
        .iter()
        .filter(|c| stats::is_overdue(c, now_ms))
        .filter_map(|c| Some((c.due_ms?, c)))
        .map(|(due_ms, c)| (due_ms, overdue_case(c, due_ms, &departments, tz, now_ms)))
        .collect();
    overdue.sort_by(|(a_due, a), (b_due, b)| b.days_past_due.cmp(&a.days_past_due).then(a_due.cmp(b_due)).then(a.id.cmp(&b.id)));
    let as_of = local_rfc3339(now_ms, tz);
    let title = format!("{}月{}日 人居环境整治 每日通报", date.month(), date.day());
    Ok(Bulletin {
        date,
        timezone: tz.name().to_owned(),
        title,
        as_of,
        street_offices,
        total,
        overdue: overdue.into_iter().map(|(_, c)| c).collect(),
    })
}

impl Row {
    fn new(street_office: Option<String>, day: &Figures, to_date: &Figures) -> Row {
        Row {
            street_office,
            new: day.received,
            dispatched: day.dispatched,
            rectified: day.rectified,
            closed: day.closed,
            overdue: day.overdue,
            received_to_date: to_date.received,
            rectified_to_date: to_date.rectified,
            closed_to_date: to_date.closed,
            rectification_rate: to_date.rectification_rate,
            on_time_rate: to_date.on_time_rate,
            rework_rate: to_date.rework_rate,
        }
    }
}

fn overdue_case(case: &CaseHistory, due_ms: i64, departments: &BTreeMap<String, String>, tz: Tz, now_ms: i64) -> OverdueCase {
    let late_ms = (now_ms - due_ms).max(1);
    OverdueCase {
        id: case.id.clone(),
        category: case.category.clone(),
        // Categories are checked when a report arrives; a code since
        // dropped from the catalogue still shows as itself.
        category_name: Category::from_code(&case.category).map_or_else(|_| case.category.clone(), |c| c.name_zh.to_owned()),
        street_office: case.street_office.clone(),
        department: case.department.clone(),
        department_name: case.department.as_ref().and_then(|d| departments.get(d).cloned()),
        due_at: local_rfc3339(due_ms, tz),
        days_past_due: ((late_ms + DAY_MS - 1) / DAY_MS) as u64,
    }
}

fn local_rfc3339(ms: i64, tz: Tz) -> String {
    tz.timestamp_millis_opt(ms).single().map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)).unwrap_or_default()
}
