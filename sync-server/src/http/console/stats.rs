//! The statistics page: the campaign's rates per street office as a chart
//! and a table, over a period of local days, with the daily bulletin, the
//! ranking and the ledger downloads beside them.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Datelike, NaiveDate, TimeZone};
use serde::Deserialize;

use super::page::{ConsoleError, Layout, html};
use super::session::Staff;
use crate::error::{Error, Result};
use crate::http::extract::Query;
use crate::services::stats::{self, By, Figures};
use crate::state::AppState;

#[derive(Deserialize, Default)]
pub struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
}

/// One row of the table, and its bars in the chart.
pub struct Row {
    pub key: String,
    pub f: Figures,
    pub rectification: String,
    pub on_time: String,
    pub rework: String,
    pub median: String,
    /// Bar lengths in the chart's units (0 to 300).
    pub rectification_bar: u32,
    pub on_time_bar: u32,
    /// The bars' vertical place in the chart.
    pub y: u32,
}

#[derive(Template)]
#[template(path = "console/stats.html")]
struct StatsPage {
    l: Layout,
    from: String,
    to: String,
    total: Row,
    rows: Vec<Row>,
    chart_height: u32,
    today: String,
    xun: String,
}

fn percent(rate: Option<f64>) -> String {
    rate.map(|r| format!("{:.1}%", r * 100.0)).unwrap_or_else(|| "—".into())
}

fn row(key: String, f: Figures, index: usize) -> Row {
    let bar = |r: Option<f64>| (r.unwrap_or(0.0).clamp(0.0, 1.0) * 300.0).round() as u32;
    Row {
        key,
        rectification: percent(f.rectification_rate),
        on_time: percent(f.on_time_rate),
        rework: percent(f.rework_rate),
        median: f.median_hours_to_close.map(|h| format!("{h:.1}")).unwrap_or_else(|| "—".into()),
        rectification_bar: bar(f.rectification_rate),
        on_time_bar: bar(f.on_time_rate),
        y: 10 + 34 * index as u32,
        f,
    }
}

/// Today in the deployment's zone.
pub fn local_today(app: &AppState) -> NaiveDate {
    app.settings.timezone.timestamp_millis_opt(app.now_ms()).single().map(|t| t.date_naive()).unwrap_or_default()
}

fn date(text: Option<&str>, default: NaiveDate, name: &str) -> Result<NaiveDate> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(default),
        Some(t) => {
            NaiveDate::parse_from_str(t, "%Y-%m-%d").map_err(|_| Error::BadRequest(format!("{name} `{t}` is not a date YYYY-MM-DD")))
        }
    }
}

pub async fn page(staff: Staff, State(app): State<AppState>, Query(q): Query<PeriodQuery>) -> Result<Response, ConsoleError> {
    let today = local_today(&app);
    let month_start = today.with_day(1).unwrap_or(today);
    let from = date(q.from.as_deref(), month_start, "from").map_err(|e| staff.fail(e))?;
    let to = date(q.to.as_deref(), today, "to").map_err(|e| staff.fail(e))?;
    let (user, tz, now_ms) = (staff.user.clone(), app.settings.timezone, app.now_ms());
    let figures = app.db(move |s| stats::stats(s, &user, from, to, Some(By::StreetOffice), tz, now_ms)).await.map_err(|e| staff.fail(e))?;
    let t = super::i18n::text(staff.locale);
    let rows: Vec<Row> =
        figures.groups.into_iter().enumerate().map(|(i, g)| row(g.key.unwrap_or_else(|| t.none.to_owned()), g.figures, i)).collect();
    let page = StatsPage {
        l: Layout::for_staff(&staff, format!("/console/stats?from={from}&to={to}"), t.stats),
        from: from.to_string(),
        to: to.to_string(),
        total: row(t.whole_area.to_owned(), figures.total, 0),
        chart_height: 20 + 34 * rows.len() as u32,
        rows,
        today: today.to_string(),
        xun: super::campaign::xun_of(today).map(|p| p.code()).unwrap_or_default(),
    };
    Ok(html(StatusCode::OK, &page))
}
