//! Paging of the device's lists: how big a page may be, and the cursor that
//! says where the next page starts. A cursor is opaque to the app (hex of
//! the sort key of the last item shown), so a list is paged by keyset, not
//! by offset: a report made while the user scrolls neither repeats nor
//! hides one of the next page.

use serde::Serialize;

use super::{Report, ReportId, TaskView};
use crate::error::{Error, Result};

/// The page size when the caller names none: one phone screen and a half.
pub const DEFAULT_PAGE_LIMIT: u32 = 50;
/// The largest page: a page is for a screen, not for exporting the store.
pub const MAX_PAGE_LIMIT: u32 = 1000;

/// One page of the report list, newest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportPage {
    pub reports: Vec<Report>,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// One page of the task list, in the task list's order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskPage {
    pub tasks: Vec<TaskView>,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// A page size, checked: 1 to [`MAX_PAGE_LIMIT`], [`DEFAULT_PAGE_LIMIT`] when unnamed.
pub fn limit(requested: Option<u32>) -> Result<u32> {
    match requested.unwrap_or(DEFAULT_PAGE_LIMIT) {
        n @ 1..=MAX_PAGE_LIMIT => Ok(n),
        n => Err(Error::InvalidInput(format!("a page holds 1 to {MAX_PAGE_LIMIT} items, not {n}"))),
    }
}

/// Where a page of reports starts: after the report with this creation time
/// and id (the list is ordered by both, newest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportCursor {
    pub created_at: String,
    pub id: ReportId,
}

/// Where a page of tasks starts: after this task, by its place in the list
/// (the feed's cases by rank, then the kept ones by the last action taken on
/// them, newest first), the case id breaking ties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskCursor {
    InFeed { rank: i64, id: String },
    Kept { last_seq: i64, id: String },
}

const REPORT_TAG: &str = "r";
const FEED_TAG: &str = "f";
const KEPT_TAG: &str = "k";

impl ReportCursor {
    pub fn of(report: &Report) -> Self {
        Self { created_at: report.created_at.clone(), id: report.id }
    }

    pub fn encode(&self) -> String {
        encode(&[REPORT_TAG, &self.created_at, &self.id.to_string()])
    }

    pub fn decode(cursor: &str) -> Result<Self> {
        let text = decoded(cursor)?;
        match text.split('\u{1f}').collect::<Vec<_>>().as_slice() {
            [REPORT_TAG, created_at, id] if !created_at.is_empty() => {
                Ok(Self { created_at: (*created_at).to_owned(), id: ReportId::parse(id).map_err(|_| bad(cursor))? })
            }
            _ => Err(bad(cursor)),
        }
    }
}

impl TaskCursor {
    pub fn encode(&self) -> String {
        match self {
            Self::InFeed { rank, id } => encode(&[FEED_TAG, &rank.to_string(), id]),
            Self::Kept { last_seq, id } => encode(&[KEPT_TAG, &last_seq.to_string(), id]),
        }
    }

    pub fn decode(cursor: &str) -> Result<Self> {
        let number = |s: &str| s.parse::<i64>().map_err(|_| bad(cursor));
        let text = decoded(cursor)?;
        match text.split('\u{1f}').collect::<Vec<_>>().as_slice() {
            [FEED_TAG, rank, id] if !id.is_empty() => Ok(Self::InFeed { rank: number(rank)?, id: (*id).to_owned() }),
            [KEPT_TAG, seq, id] if !id.is_empty() => Ok(Self::Kept { last_seq: number(seq)?, id: (*id).to_owned() }),
            _ => Err(bad(cursor)),
        }
    }
}

/// Fields joined by a byte no field holds (report times, ids and numbers
/// are printable), as hex: opaque and safe in a URL or a shell.
fn encode(fields: &[&str]) -> String {
    hex::encode(fields.join("\u{1f}"))
}

fn decoded(cursor: &str) -> Result<String> {
    // Longer than any cursor this module makes: a hostile string is refused
    // before it is decoded.
    if cursor.len() > 1024 {
        return Err(bad(cursor));
    }
    let bytes = hex::decode(cursor).map_err(|_| bad(cursor))?;
    String::from_utf8(bytes).map_err(|_| bad(cursor))
}

fn bad(cursor: &str) -> Error {
    let shown: String = cursor.chars().take(40).collect();
    Error::InvalidInput(format!("`{shown}` is not a cursor of this list (pass back a next_cursor as given)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_holds_one_to_a_thousand() {
        assert_eq!(limit(None).unwrap(), DEFAULT_PAGE_LIMIT);
        assert_eq!(limit(Some(1)).unwrap(), 1);
        assert_eq!(limit(Some(MAX_PAGE_LIMIT)).unwrap(), MAX_PAGE_LIMIT);
        for bad in [0, MAX_PAGE_LIMIT + 1, u32::MAX] {
            assert!(matches!(limit(Some(bad)), Err(Error::InvalidInput(_))), "{bad}");
        }
    }

    #[test]
    fn cursors_round_trip_and_strangers_are_refused() {
        let report = ReportCursor { created_at: "2026-12-05T13:29:25.123Z".into(), id: ReportId::new() };
        assert_eq!(ReportCursor::decode(&report.encode()).unwrap(), report);
        let feed = TaskCursor::InFeed { rank: 7, id: "x".into() };
        let kept = TaskCursor::Kept { last_seq: -1, id: "y".into() };
        assert_eq!(TaskCursor::decode(&feed.encode()).unwrap(), feed);
        assert_eq!(TaskCursor::decode(&kept.encode()).unwrap(), kept);
        // One list's cursor is not another's, and made-up ones are refused.
        let strangers = [
            feed.encode(),
            String::new(),
            "zz".into(),
            "abc".into(),
            hex::encode("r\u{1f}\u{1f}not-an-id"),
            hex::encode("r\u{1f}2026\u{1f}"),
            hex::encode([0xff, 0xfe]),
            "0".repeat(4096),
        ];
        for cursor in &strangers {
            assert!(matches!(ReportCursor::decode(cursor), Err(Error::InvalidInput(_))), "{cursor:.40}");
        }
        for cursor in [report.encode(), hex::encode("f\u{1f}seven\u{1f}x"), hex::encode("k\u{1f}1\u{1f}")] {
            assert!(matches!(TaskCursor::decode(&cursor), Err(Error::InvalidInput(_))), "{cursor}");
        }
    }
}
