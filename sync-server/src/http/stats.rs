//! The campaign's bulletin and ranking (`/v1/stats/daily`,
//! `/v1/stats/ranking`); `/v1/stats` itself is with the read API in
//! [`super::reports`].

use axum::extract::State;
use serde::Deserialize;

use super::extract::Query;
use super::reports::local_date;
use crate::error::Result;
use crate::model::User;
use crate::services::bulletin::{self, Bulletin};
use crate::services::ranking::{self, Period, Ranking, Unit};
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DailyQuery {
    date: String,
}

/// `GET /v1/stats/daily?date=`: the daily bulletin (每日一通报).
pub async fn daily(user: User, State(app): State<AppState>, Query(query): Query<DailyQuery>) -> Result<axum::Json<Bulletin>> {
    let date = local_date("date", &query.date)?;
    let (tz, now_ms) = (app.settings.timezone, app.now_ms());
    Ok(axum::Json(app.db(move |s| bulletin::for_user(s, &user, date, tz, now_ms)).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RankingQuery {
    period: Option<String>,
    month: Option<String>,
    unit: Option<String>,
}

/// `GET /v1/stats/ranking?period=YYYY-MM-N|month=YYYY-MM&unit=`: 10天一评比, 每月一奖惩.
pub async fn ranking(user: User, State(app): State<AppState>, Query(query): Query<RankingQuery>) -> Result<axum::Json<Ranking>> {
    let period = Period::from_query(query.period.as_deref(), query.month.as_deref())?;
    let unit = query.unit.as_deref().map(Unit::from_code).transpose()?.unwrap_or(Unit::StreetOffice);
    let (tz, now_ms, weights) = (app.settings.timezone, app.now_ms(), app.settings.ranking_weights);
    Ok(axum::Json(app.db(move |s| ranking::ranking(s, &user, period, unit, weights, tz, now_ms)).await?))
}
