//! Daily quotas: what one user may send in a local day of the deployment's
//! time zone, so that a stolen token or a looping app cannot fill the
//! server's disk. Counted from the stored rows (see
//! [`crate::storage::ReadTxn::sent_since`]), inside the transaction that
//! would add to them; over a quota the request fails whole, changes
//! nothing, and answers 429 with `Retry-After` set to the next local
//! midnight, when the day's count starts again. Nothing is lost: the
//! device keeps what it could not send and sends it then.

use chrono::{Days, TimeZone};
use chrono_tz::Tz;

use crate::error::{Error, Result};
use crate::state::{DailyQuota, Settings};

/// The quotas as they stand at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub limits: DailyQuota,
    /// The local midnight the day's count starts from, in ms.
    pub day_start_ms: i64,
    /// Seconds until the next local midnight (at least 1).
    pub retry_after_secs: u64,
}

impl Quota {
    pub fn at(settings: &Settings, now_ms: i64) -> Result<Quota> {
        let (day_start_ms, next_ms) = local_day(settings.timezone, now_ms)?;
        Ok(Quota { limits: settings.daily_quota, day_start_ms, retry_after_secs: ((next_ms - now_ms + 999) / 1000).max(1) as u64 })
    }

    /// How many more reports may be received today, `sent` being today's so far.
    pub fn reports_left(&self, sent: u64) -> u64 {
        self.limits.reports.saturating_sub(sent)
    }

    pub fn reports_exceeded(&self) -> Error {
        Error::QuotaExceeded {
            message: format!(
                "at most {} reports a day are received from one user; the rest waits on the device until tomorrow",
                self.limits.reports
            ),
            retry_after_secs: self.retry_after_secs,
        }
    }

    /// Refuses `more` photo bytes when today's `sent` ones and they pass the quota.
    pub fn check_photo_bytes(&self, sent: u64, more: u64) -> Result<()> {
        if sent.saturating_add(more) <= self.limits.photo_bytes {
            return Ok(());
        }
        Err(Error::QuotaExceeded {
            message: format!(
                "at most {} MiB of photos a day are received from one user; the rest waits on the device until tomorrow",
                self.limits.photo_bytes / (1024 * 1024)
            ),
            retry_after_secs: self.retry_after_secs,
        })
    }
}

/// The local day holding `now_ms`: its first and the next day's first ms.
fn local_day(tz: Tz, now_ms: i64) -> Result<(i64, i64)> {
    let bad = || Error::Internal(format!("no local day holds {now_ms} ms"));
    let today = tz.timestamp_millis_opt(now_ms).single().ok_or_else(bad)?.date_naive();
    let midnight = |day: chrono::NaiveDate| -> Result<i64> {
        // A zone whose midnight is skipped by a clock change starts its day at the first time that exists.
        let start = day.and_hms_opt(0, 0, 0).ok_or_else(bad)?;
        let local =
            tz.from_local_datetime(&start).earliest().or_else(|| tz.from_local_datetime(&(start + chrono::Duration::hours(1))).earliest());
        Ok(local.ok_or_else(bad)?.timestamp_millis())
    };
    Ok((midnight(today)?, midnight(today.checked_add_days(Days::new(1)).ok_or_else(bad)?)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_day_is_local_and_retry_waits_for_its_end() {
        let settings = Settings::default();
        // 2026-12-03 23:59:30 in Shanghai is 15:59:30 UTC.
        let now = chrono::Utc.with_ymd_and_hms(2026, 12, 3, 15, 59, 30).unwrap().timestamp_millis();
        let quota = Quota::at(&settings, now).unwrap();
        assert_eq!(quota.day_start_ms, chrono::Utc.with_ymd_and_hms(2026, 12, 2, 16, 0, 0).unwrap().timestamp_millis());
        assert_eq!(quota.retry_after_secs, 30);
        // One ms after local midnight a new day begins.
        let quota = Quota::at(&settings, now + 30_001).unwrap();
        assert_eq!(quota.day_start_ms, now + 30_000);
        assert_eq!(quota.retry_after_secs, 86_400);
    }

    #[test]
    fn photo_bytes_pass_up_to_the_quota_and_no_further() {
        let settings = Settings { daily_quota: DailyQuota { reports: 2, photo_bytes: 1000 }, ..Settings::default() };
        let quota = Quota::at(&settings, 0).unwrap();
        assert!(quota.check_photo_bytes(400, 600).is_ok());
        assert!(matches!(quota.check_photo_bytes(400, 601), Err(Error::QuotaExceeded { .. })));
        assert!(matches!(quota.check_photo_bytes(u64::MAX, 1), Err(Error::QuotaExceeded { .. })));
        assert_eq!((quota.reports_left(0), quota.reports_left(2), quota.reports_left(5)), (2, 0, 0));
    }
}
