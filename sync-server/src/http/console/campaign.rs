//! The campaign's printouts in the console: the daily bulletin (the same
//! printable page as `bulletin --format html`) and the ranking with its red
//! and black flags, over the same services as `/v1/stats/daily` and
//! `/v1/stats/ranking`.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, NaiveDate};
use serde::Deserialize;

use super::page::{ConsoleError, Layout, html};
use super::session::Staff;
use super::stats::local_today;
use crate::error::{Error, Result};
use crate::http::extract::Query;
use crate::services::bulletin;
use crate::services::ledger::LedgerFormat;
use crate::services::ranking::{self, Flag, Period, Unit};
use crate::state::AppState;

#[derive(Deserialize, Default)]
pub struct DateQuery {
    date: Option<String>,
}

/// The bulletin's own page: it styles itself inline (so that it prints the
/// same saved as a file) and has no script, so its policy allows inline
/// style and nothing else.
pub async fn daily(staff: Staff, State(app): State<AppState>, Query(q): Query<DateQuery>) -> Result<Response, ConsoleError> {
    let date = match q.date.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        None => local_today(&app),
        Some(d) => {
            NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| staff.fail(Error::BadRequest(format!("date `{d}` is not YYYY-MM-DD"))))?
        }
    };
    let (user, tz, now_ms) = (staff.user.clone(), app.settings.timezone, app.now_ms());
    let page = app.db(move |s| bulletin::render_html(&bulletin::for_user(s, &user, date, tz, now_ms)?)).await.map_err(|e| staff.fail(e))?;
    Ok((
        [
            (CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
            (CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")),
        ],
        page,
    )
        .into_response())
}

/// The ledgers, downloaded with the session rather than a token.
pub async fn ledger_xlsx(
    staff: Staff,
    State(app): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ConsoleError> {
    ledger(staff, app, query, headers, LedgerFormat::Xlsx).await
}

pub async fn ledger_csv(
    staff: Staff,
    State(app): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ConsoleError> {
    ledger(staff, app, query, headers, LedgerFormat::Csv).await
}

async fn ledger(
    staff: Staff,
    app: AppState,
    query: Option<String>,
    headers: HeaderMap,
    format: LedgerFormat,
) -> Result<Response, ConsoleError> {
    let request = crate::http::ledger::ledger_request(&app, query.as_deref(), &headers).map_err(|e| staff.fail(e))?;
    crate::http::ledger::download(&app, staff.user.clone(), request, format).await.map_err(|e| staff.fail(e))
}

#[derive(Deserialize, Default)]
pub struct RankingQuery {
    period: Option<String>,
    month: Option<String>,
    unit: Option<String>,
}

pub struct EntryRow {
    pub rank: String,
    pub name: String,
    pub score: String,
    pub on_time: String,
    pub closure: String,
    pub reworked: u64,
    pub received: u64,
    pub flag: &'static str,
    pub talk: bool,
}

#[derive(Template)]
#[template(path = "console/ranking.html")]
struct RankingPage {
    l: Layout,
    label: String,
    period: String,
    previous: String,
    unit: &'static str,
    weights: String,
    rows: Vec<EntryRow>,
}

/// The 旬 a day falls in: 上旬 1–10, 中旬 11–20, 下旬 21 to the month's end.
pub fn xun_of(day: NaiveDate) -> Result<Period> {
    let part = match day.day() {
        1..=10 => 1,
        11..=20 => 2,
        _ => 3,
    };
    Period::parse_xun(&format!("{:04}-{:02}-{part}", day.year(), day.month()))
}

fn percent(rate: Option<f64>) -> String {
    rate.map(|r| format!("{:.1}%", r * 100.0)).unwrap_or_else(|| "—".into())
}

pub async fn ranking(staff: Staff, State(app): State<AppState>, Query(q): Query<RankingQuery>) -> Result<Response, ConsoleError> {
    let blank = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    let (period, month) = (blank(&q.period), blank(&q.month));
    let period = if period.is_none() && month.is_none() {
        xun_of(local_today(&app))
    } else {
        Period::from_query(period.as_deref(), month.as_deref())
    }
    .map_err(|e| staff.fail(e))?;
    let unit = blank(&q.unit).as_deref().map(Unit::from_code).transpose().map_err(|e| staff.fail(e))?.unwrap_or(Unit::StreetOffice);
    let (user, tz, now_ms, weights) = (staff.user.clone(), app.settings.timezone, app.now_ms(), app.settings.ranking_weights);
    let ranked = app.db(move |s| ranking::ranking(s, &user, period, unit, weights, tz, now_ms)).await.map_err(|e| staff.fail(e))?;
    let t = super::i18n::text(staff.locale);
    let rows = ranked
        .entries
        .iter()
        .map(|e| EntryRow {
            rank: e.rank.map(|r| r.to_string()).unwrap_or_else(|| "—".into()),
            name: e.name.clone(),
            score: e.score.map(|s| format!("{s:.2}")).unwrap_or_else(|| "—".into()),
            on_time: percent(e.figures.on_time_rate),
            closure: percent(e.closure_rate),
            reworked: e.figures.reworked,
            received: e.figures.received,
            flag: match e.flag {
                Some(Flag::Red) => "red",
                Some(Flag::Black) => "black",
                None => "",
            },
            talk: e.talk,
        })
        .collect();
    let page = RankingPage {
        l: Layout::for_staff(&staff, format!("/console/ranking?period={}", period.code()), t.ranking),
        label: ranked.label.clone(),
        period: period.code(),
        previous: ranked.previous.label.clone(),
        unit: if unit == Unit::Department { "department" } else { "street_office" },
        weights: {
            let w = ranked.weights;
            format!("{} × {} + {} × {} − {} × {}", w.on_time, t.on_time_rate, w.closure, t.closure_rate, w.rework, t.reworked)
        },
        rows,
    };
    Ok(html(StatusCode::OK, &page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_falls_in_its_xun() {
        let code = |d: &str| xun_of(d.parse().unwrap()).unwrap().code();
        assert_eq!(code("2026-11-10"), "2026-11-1");
        assert_eq!(code("2026-11-11"), "2026-11-2");
        assert_eq!(code("2026-02-28"), "2026-02-3");
        assert_eq!(code("2026-12-31"), "2026-12-3");
    }
}
