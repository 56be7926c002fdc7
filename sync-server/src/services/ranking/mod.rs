//! The ranking of street offices or departments over a 旬 (10天一评比) or a
//! month (每月一奖惩), with the red flag for the first (流动红旗), the black
//! flag for the last (流动黑旗), and a talk (约谈) for a unit last twice in a
//! row.
//!
//! - **Periods** ([`period`]): 上旬 the 1st–10th, 中旬 the 11th–20th, 下旬
//!   the 21st to the month's end; or a month. Local days in the deployment's
//!   time zone, as for `/v1/stats`.
//! - **Units**: the street offices of the grid (a case belongs to the
//!   street office of its cell) or the departments of the catalogue (a
//!   case belongs to the department it is dispatched to now). Cases of no
//!   unit that exists (outside every cell, not dispatched, a department
//!   since removed) are not ranked.
//! - **Figures**: each unit's [`Figures`] over the period, as
//!   `/v1/stats?by=…` counts them, and `closure_rate` = closed / received,
//!   capped at 1 (a unit that closes more than it received, clearing older
//!   cases, scores as one that closed all of them); null when it received
//!   nothing.
//! - **Score** ([`Weights`], `serve --ranking-weights`, default
//!   `on_time=50,closure=20,rework=0.2`):
//!   `on_time × on_time_rate + closure × closure_rate − rework × reworked`,
//!   rounded to 4 decimals. A null rate (nothing fell due, nothing was
//!   received) counts as 1: the unit failed nothing it was given.
//! - **Rated units**: a unit that received, had due, closed or reworked no
//!   case in the period is listed unrated, at the end by key: score, rank
//!   and flag null, so that an office with nothing to do neither takes the
//!   red flag nor the black one.
//! - **Order and ties**: higher score first; on equal scores the higher
//!   on-time rate (null as 1), then fewer reworked, then more received,
//!   then the unit's key ascending — a total order, so ranks are 1, 2, 3…
//!   with no two units sharing one.
//! - **Flags**: the first rated unit gets `red`, the last `black` (with a
//!   single rated unit, red only); others null.
//! - **Talk**: `talk` is true for the unit with the black flag when it also
//!   had the black flag in the period before (the previous 旬 for a 旬 —
//!   the 下旬 of the month before for an 上旬, across years too —, the
//!   previous month for a month), ranked by the same weights and clock.

pub mod period;
pub mod weights;

use std::cmp::Ordering;
use std::collections::BTreeMap;

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::Serialize;

pub use self::period::Period;
pub use self::weights::Weights;
use crate::auth::require_statistics_reader;
use crate::error::{Error, Result};
use crate::model::User;
use crate::services::stats::{self, Figures};
use crate::storage::{self, CaseHistory, Storage};

/// What is ranked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    StreetOffice,
    Department,
}

impl Unit {
    pub fn from_code(code: &str) -> Result<Unit> {
        match code {
            "street_office" => Ok(Unit::StreetOffice),
            "department" => Ok(Unit::Department),
            _ => Err(Error::BadRequest(format!("unit `{code}` is not one of street_office, department"))),
        }
    }

    fn key(self, case: &CaseHistory) -> Option<&str> {
        match self {
            Unit::StreetOffice => case.street_office.as_deref(),
            Unit::Department => case.department.as_deref(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// 流动红旗
    Red,
    /// 流动黑旗
    Black,
}

/// One unit's place.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// The street office's name, or the department's code.
    pub unit: String,
    /// The department's name; the street office's name again for a street office.
    pub name: String,
    pub figures: Figures,
    pub closure_rate: Option<f64>,
    /// Null for an unrated unit (no case of it counted in the period).
    pub score: Option<f64>,
    pub rank: Option<u32>,
    pub flag: Option<Flag>,
    pub talk: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ranking {
    /// As asked: `2026-11-2` or `2026-11`.
    pub period: String,
    /// `2026年11月中旬`, `2026年11月`.
    pub label: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub timezone: String,
    pub unit: Unit,
    pub weights: Weights,
    /// The period before, and which unit had the black flag in it.
    pub previous: Previous,
    /// In rank order, the unrated after the rated.
    pub entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Previous {
    pub period: String,
    pub label: String,
    pub black: Option<String>,
}

/// The units that exist, with their names: the grid's street offices or
/// the catalogue's departments.
pub type Units = BTreeMap<String, String>;

/// `GET /v1/stats/ranking`, for coordinators and admins.
pub fn ranking(storage: &dyn Storage, user: &User, period: Period, unit: Unit, weights: Weights, tz: Tz, now_ms: i64) -> Result<Ranking> {
    require_statistics_reader(user)?;
    let before = period.previous();
    // One read for both periods: the cases either can count, not the whole history.
    let (start, _) = stats::period_ms(before.first_day(), before.last_day(), tz)?;
    let (_, end) = stats::period_ms(period.first_day(), period.last_day(), tz)?;
    let (units, cases) = storage::read(storage, |tx| {
        let units: Units = match unit {
            Unit::StreetOffice => tx.grid_cells()?.into_iter().map(|c| (c.street_office.clone(), c.street_office)).collect(),
            Unit::Department => tx.departments()?.into_iter().map(|d| (d.code, d.name)).collect(),
        };
        Ok::<_, Error>((units, tx.case_histories_within(start, end, now_ms)?))
    })?;
    let this = rank(&units, &cases, unit, weights, period, tz, now_ms)?;
    let previous_black = black_of(&rank(&units, &cases, unit, weights, before, tz, now_ms)?);
    Ok(Ranking {
        period: period.code(),
        label: period.label(),
        from: period.first_day(),
        to: period.last_day(),
        timezone: tz.name().to_owned(),
        unit,
        weights,
        previous: Previous { period: before.code(), label: before.label(), black: previous_black.clone() },
        entries: with_talks(this, previous_black.as_deref()),
    })
}

/// The entries of `units` over `period`, in rank order, with flags but no
/// talks; `cases` must hold every case the period's figures count (all of
/// them, or [`crate::storage::ReadTxn::case_histories_within`] a window
/// around it).
pub fn rank(units: &Units, cases: &[CaseHistory], unit: Unit, weights: Weights, period: Period, tz: Tz, now_ms: i64) -> Result<Vec<Entry>> {
    let (start, end) = stats::period_ms(period.first_day(), period.last_day(), tz)?;
    let mut by_unit: BTreeMap<&str, Vec<&CaseHistory>> = units.keys().map(|k| (k.as_str(), Vec::new())).collect();
    for case in cases {
        if let Some(cases) = unit.key(case).and_then(|k| by_unit.get_mut(k)) {
            cases.push(case);
        }
    }
    let entries = by_unit
        .into_iter()
        .map(|(key, cases)| {
            let figures = stats::figures(cases, start, end, now_ms);
            let name = units.get(key).cloned().unwrap_or_default();
            entry(key.to_owned(), name, figures, weights)
        })
        .collect();
    Ok(ordered(entries))
}

/// An entry with its score, before it is ranked.
pub fn entry(unit: String, name: String, figures: Figures, weights: Weights) -> Entry {
    let closure_rate = (figures.received > 0).then(|| (figures.closed as f64 / figures.received as f64).min(1.0));
    let rated = figures.received + figures.due + figures.closed + figures.reworked > 0;
    let score = rated.then(|| {
        let raw = weights.on_time * figures.on_time_rate.unwrap_or(1.0) + weights.closure * closure_rate.unwrap_or(1.0)
            - weights.rework * figures.reworked as f64;
        (raw * 1e4).round() / 1e4
    });
    Entry { unit, name, figures, closure_rate, score, rank: None, flag: None, talk: false }
}

/// Sorts by the written order (see the module's doc), then numbers the
/// rated and flags the first and the last.
pub fn ordered(mut entries: Vec<Entry>) -> Vec<Entry> {
    entries.sort_by(compare);
    let rated = entries.iter().filter(|e| e.score.is_some()).count();
    for (i, e) in entries.iter_mut().take(rated).enumerate() {
        e.rank = Some(i as u32 + 1);
        e.flag = if i == 0 {
            Some(Flag::Red)
        } else if i + 1 == rated {
            Some(Flag::Black)
        } else {
            None
        };
    }
    entries
}

fn compare(a: &Entry, b: &Entry) -> Ordering {
    let on_time = |e: &Entry| e.figures.on_time_rate.unwrap_or(1.0);
    match (a.score, b.score) {
        (Some(x), Some(y)) => y
            .total_cmp(&x)
            .then_with(|| on_time(b).total_cmp(&on_time(a)))
            .then_with(|| a.figures.reworked.cmp(&b.figures.reworked))
            .then_with(|| b.figures.received.cmp(&a.figures.received))
            .then_with(|| a.unit.cmp(&b.unit)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.unit.cmp(&b.unit),
    }
}

/// The unit with the black flag, if any.
pub fn black_of(entries: &[Entry]) -> Option<String> {
    entries.iter().find(|e| e.flag == Some(Flag::Black)).map(|e| e.unit.clone())
}

/// Marks the black flag for a talk when it had the black flag before too.
pub fn with_talks(mut entries: Vec<Entry>, previous_black: Option<&str>) -> Vec<Entry> {
    for e in &mut entries {
        e.talk = e.flag == Some(Flag::Black) && previous_black == Some(e.unit.as_str());
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(received: u64, closed: u64, due: u64, closed_on_time: u64, reworked: u64) -> Figures {
        let rate = |n: u64, d: u64| (d > 0).then(|| n as f64 / d as f64);
        Figures { received, closed, due, closed_on_time, reworked, on_time_rate: rate(closed_on_time, due), ..Figures::default() }
    }

    fn ranked(units: &[(&str, Figures)]) -> Vec<Entry> {
        ordered(units.iter().map(|(k, f)| entry((*k).into(), (*k).into(), f.clone(), Weights::default())).collect())
    }

    fn order(entries: &[Entry]) -> Vec<&str> {
        entries.iter().map(|e| e.unit.as_str()).collect()
    }

    #[test]
    fn the_default_score() {
        // 50 × 8/10 + 20 × min(1, 9/10) − 0.2 × 3 = 40 + 18 − 0.6
        let e = entry("a".into(), "a".into(), figures(10, 9, 10, 8, 3), Weights::default());
        assert_eq!(e.score, Some(57.4));
        assert_eq!(e.closure_rate, Some(0.9));
        // Closing more than received is capped; nothing due counts as on time.
        let e = entry("b".into(), "b".into(), figures(2, 5, 0, 0, 0), Weights::default());
        assert_eq!((e.closure_rate, e.score), (Some(1.0), Some(70.0)));
        // Nothing at all: unrated.
        assert_eq!(entry("c".into(), "c".into(), figures(0, 0, 0, 0, 0), Weights::default()).score, None);
    }

    #[test]
    fn ties_follow_the_written_rule() {
        // Four units scoring 50 × on-time + 20 × closure − 0.2 × reworked = 60:
        let same = [
            ("d", figures(2, 1, 1, 1, 0)),    // 50 × 1.0 + 20 × 0.5
            ("c", figures(5, 5, 5, 4, 0)),    // 50 × 0.8 + 20 × 1.0
            ("b", figures(10, 10, 10, 8, 0)), // the same, more received
            ("a", figures(10, 10, 10, 8, 0)), // the same as b
        ];
        let entries = ranked(&same);
        assert!(entries.iter().all(|e| e.score == Some(60.0)), "{entries:#?}");
        // d has the higher on-time rate; among c, b, a (same rate, no
        // rework) more received first, then the key ascending.
        assert_eq!(order(&entries), ["d", "a", "b", "c"]);
        assert_eq!(entries.iter().map(|e| e.rank).collect::<Vec<_>>(), [Some(1), Some(2), Some(3), Some(4)]);
        assert_eq!(entries.iter().map(|e| e.flag).collect::<Vec<_>>(), [Some(Flag::Red), None, None, Some(Flag::Black)]);
        // Fewer reworked comes before more received: 25 + 20 × 0.99 − 0 =
        // 25 + 20 × 1 − 0.2 × 1 = 44.8, and y received more.
        let entries = ranked(&[("y", figures(200, 200, 2, 1, 1)), ("x", figures(100, 99, 2, 1, 0))]);
        assert_eq!(entries.iter().map(|e| e.score).collect::<Vec<_>>(), [Some(44.8), Some(44.8)]);
        assert_eq!(order(&entries), ["x", "y"]);
    }

    #[test]
    fn unrated_units_go_last_without_a_flag() {
        let entries = ranked(&[("quiet", figures(0, 0, 0, 0, 0)), ("busy", figures(3, 1, 2, 1, 1)), ("calm", figures(1, 1, 1, 1, 0))]);
        assert_eq!(order(&entries), ["calm", "busy", "quiet"]);
        assert_eq!(entries[2].rank, None);
        assert_eq!(entries.iter().map(|e| e.flag).collect::<Vec<_>>(), [Some(Flag::Red), Some(Flag::Black), None]);
        // One rated unit: red, and no black.
        let single = ranked(&[("quiet", figures(0, 0, 0, 0, 0)), ("busy", figures(3, 1, 2, 1, 1))]);
        assert_eq!(single.iter().map(|e| e.flag).collect::<Vec<_>>(), [Some(Flag::Red), None]);
    }

    #[test]
    fn a_talk_for_the_black_flag_twice_in_a_row() {
        let now = ranked(&[("a", figures(4, 4, 4, 4, 0)), ("b", figures(4, 1, 4, 1, 2)), ("c", figures(4, 3, 4, 3, 0))]);
        assert_eq!(black_of(&now).as_deref(), Some("b"));
        let talks = |previous: Option<&str>| with_talks(now.clone(), previous).iter().map(|e| e.talk).collect::<Vec<_>>();
        assert_eq!(talks(Some("b")), [false, false, true]);
        // Last before but not now, or last now but not before: no talk.
        assert_eq!(talks(Some("a")), [false, false, false]);
        assert_eq!(talks(None), [false, false, false]);
    }
}
