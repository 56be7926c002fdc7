//! The periods the campaign is judged over, as Chinese offices count them:
//! a 旬 of ten days (上旬 the 1st–10th, 中旬 the 11th–20th, 下旬 the 21st to
//! the month's last day, so 8 to 11 days), or a whole month. Written
//! `YYYY-MM-N` (N = 1, 2 or 3) and `YYYY-MM`.

use chrono::{Months, NaiveDate};

use crate::error::{Error, Result};

/// A 旬 or a month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// `part` is 1 (上旬), 2 (中旬) or 3 (下旬).
    Xun {
        year: i32,
        month: u32,
        part: u8,
    },
    Month {
        year: i32,
        month: u32,
    },
}

impl Period {
    /// The period of a query that gives exactly one of `period`
    /// (`YYYY-MM-N`) and `month` (`YYYY-MM`).
    pub fn from_query(period: Option<&str>, month: Option<&str>) -> Result<Period> {
        match (period, month) {
            (Some(period), None) => Period::parse_xun(period),
            (None, Some(month)) => Period::parse_month(month),
            _ => Err(Error::BadRequest("give exactly one of `period` (YYYY-MM-N, N = 1, 2 or 3) and `month` (YYYY-MM)".into())),
        }
    }

    /// `YYYY-MM-N`: `2026-11-2` is the 中旬 of November 2026.
    pub fn parse_xun(text: &str) -> Result<Period> {
        let bad = || Error::BadRequest(format!("period `{text}` is not YYYY-MM-N with N 1 (上旬), 2 (中旬) or 3 (下旬)"));
        let (month_text, part) = text.rsplit_once('-').ok_or_else(bad)?;
        let part = match part {
            "1" => 1,
            "2" => 2,
            "3" => 3,
            _ => return Err(bad()),
        };
        let (year, month) = parse_year_month(month_text).ok_or_else(bad)?;
        Ok(Period::Xun { year, month, part })
    }

    /// `YYYY-MM`.
    pub fn parse_month(text: &str) -> Result<Period> {
        let (year, month) = parse_year_month(text).ok_or_else(|| Error::BadRequest(format!("month `{text}` is not YYYY-MM")))?;
        Ok(Period::Month { year, month })
    }

    /// The first local day of the period.
    pub fn first_day(self) -> NaiveDate {
        let (year, month, day) = match self {
            Period::Xun { year, month, part } => (year, month, 1 + 10 * u32::from(part - 1)),
            Period::Month { year, month } => (year, month, 1),
        };
        // Parsing bounded year, month and part, so the day exists.
        NaiveDate::from_ymd_opt(year, month, day).unwrap_or(NaiveDate::MIN)
    }

    /// The last local day of the period, inclusive.
    pub fn last_day(self) -> NaiveDate {
        match self {
            Period::Xun { part: 1 | 2, .. } => self.first_day() + chrono::Days::new(9),
            Period::Xun { year, month, .. } | Period::Month { year, month } => last_of_month(year, month),
        }
    }

    /// The period just before: the previous 旬 (the 下旬 of the month
    /// before for an 上旬, across a year too) or the previous month.
    pub fn previous(self) -> Period {
        let month_before = |year: i32, month: u32| if month == 1 { (year - 1, 12) } else { (year, month - 1) };
        match self {
            Period::Xun { year, month, part: part @ (2 | 3) } => Period::Xun { year, month, part: part - 1 },
            Period::Xun { year, month, .. } => {
                let (year, month) = month_before(year, month);
                Period::Xun { year, month, part: 3 }
            }
            Period::Month { year, month } => {
                let (year, month) = month_before(year, month);
                Period::Month { year, month }
            }
        }
    }

    /// As the query wrote it: `2026-11-2` or `2026-11`.
    pub fn code(self) -> String {
        match self {
            Period::Xun { year, month, part } => format!("{year:04}-{month:02}-{part}"),
            Period::Month { year, month } => format!("{year:04}-{month:02}"),
        }
    }

    /// For people: `2026年11月中旬`, `2026年11月`.
    pub fn label(self) -> String {
        match self {
            Period::Xun { year, month, part } => format!("{year}年{month}月{}", ["上旬", "中旬", "下旬"][usize::from(part - 1)]),
            Period::Month { year, month } => format!("{year}年{month}月"),
        }
    }
}

/// `YYYY-MM` with a month 1–12 and a four-digit year.
fn parse_year_month(text: &str) -> Option<(i32, u32)> {
    let (year, month) = text.split_once('-')?;
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(year, 4) || !digits(month, 2) {
        return None;
    }
    let (year, month) = (year.parse().ok()?, month.parse().ok()?);
    (1..=12).contains(&month).then_some((year, month))
}

fn last_of_month(year: i32, month: u32) -> NaiveDate {
    let first = NaiveDate::from_ymd_opt(year, month, 1).unwrap_or(NaiveDate::MIN);
    first.checked_add_months(Months::new(1)).and_then(|next| next.pred_opt()).unwrap_or(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn span(period: &str) -> (NaiveDate, NaiveDate) {
        let p = Period::parse_xun(period).unwrap();
        (p.first_day(), p.last_day())
    }

    #[test]
    fn the_three_xun_of_a_month() {
        assert_eq!(span("2026-11-1"), (day("2026-11-01"), day("2026-11-10")));
        assert_eq!(span("2026-11-2"), (day("2026-11-11"), day("2026-11-20")));
        assert_eq!(span("2026-11-3"), (day("2026-11-21"), day("2026-11-30")));
        // A 下旬 runs to the month's end: a 31st, February, a leap February.
        assert_eq!(span("2026-12-3"), (day("2026-12-21"), day("2026-12-31")));
        assert_eq!(span("2026-02-3"), (day("2026-02-21"), day("2026-02-28")));
        assert_eq!(span("2028-02-3"), (day("2028-02-21"), day("2028-02-29")));
        assert_eq!(span("2100-02-3").1, day("2100-02-28"));
        assert_eq!(Period::parse_xun("2026-11-2").unwrap().label(), "2026年11月中旬");
    }

    #[test]
    fn months() {
        let feb = Period::parse_month("2028-02").unwrap();
        assert_eq!((feb.first_day(), feb.last_day()), (day("2028-02-01"), day("2028-02-29")));
        assert_eq!(Period::parse_month("2026-12").unwrap().last_day(), day("2026-12-31"));
        assert_eq!(feb.label(), "2028年2月");
        assert_eq!(feb.code(), "2028-02");
    }

    #[test]
    fn the_previous_period_crosses_months_and_years() {
        let previous = |p: &str| Period::parse_xun(p).unwrap().previous().code();
        assert_eq!(previous("2026-01-1"), "2025-12-3");
        assert_eq!(previous("2026-03-1"), "2026-02-3");
        assert_eq!(previous("2026-11-3"), "2026-11-2");
        assert_eq!(previous("2026-11-2"), "2026-11-1");
        assert_eq!(Period::parse_month("2026-01").unwrap().previous().code(), "2025-12");
        assert_eq!(Period::parse_month("2026-11").unwrap().previous().code(), "2026-10");
        // Each 旬 ends the day before the next one begins.
        let mut p = Period::parse_xun("2027-01-1").unwrap();
        for _ in 0..40 {
            let before = p.previous();
            assert_eq!(before.last_day().succ_opt(), Some(p.first_day()), "{} → {}", before.code(), p.code());
            p = before;
        }
    }

    #[test]
    fn malformed_periods_are_refused() {
        for bad in ["2026-11", "2026-11-4", "2026-11-0", "2026-13-1", "26-11-1", "2026-1-1", "2026-11-02", "x", "", "2026-11-1-1"] {
            assert!(matches!(Period::parse_xun(bad), Err(Error::BadRequest(_))), "{bad}");
        }
        for bad in ["2026-11-2", "2026-00", "2026/11", "202611", "2026-1"] {
            assert!(matches!(Period::parse_month(bad), Err(Error::BadRequest(_))), "{bad}");
        }
        assert!(matches!(Period::from_query(Some("2026-11-2"), Some("2026-11")), Err(Error::BadRequest(m)) if m.contains("exactly one")));
        assert!(matches!(Period::from_query(None, None), Err(Error::BadRequest(_))));
        assert_eq!(Period::from_query(None, Some("2026-11")).unwrap(), Period::Month { year: 2026, month: 11 });
    }
}
