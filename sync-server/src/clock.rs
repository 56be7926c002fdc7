//! Time as the server reads and writes it: RFC 3339 UTC with milliseconds
//! in rows and answers, milliseconds since the epoch for order and filters.
//!
//! [`Clock`] is the time the workflow runs on (events, deadlines, overdue):
//! the system's, or for tests one read from a file, so that a test can
//! move a running server past a deadline without waiting for it.

use std::path::PathBuf;

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

pub fn now_rfc3339() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses an RFC 3339 time into milliseconds since the epoch.
pub fn rfc3339_ms(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.timestamp_millis())
}

/// Milliseconds since the epoch as the server writes times.
pub fn ms_rfc3339(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The workflow's clock.
#[derive(Debug, Clone, Default)]
pub enum Clock {
    #[default]
    System,
    /// The time written in this file (RFC 3339), read at every call; the
    /// system's while the file is missing or unreadable. For tests only
    /// (`serve --test-clock FILE`).
    File(PathBuf),
}

impl Clock {
    pub fn now_ms(&self) -> i64 {
        match self {
            Clock::System => now_ms(),
            Clock::File(path) => std::fs::read_to_string(path).ok().and_then(|t| rfc3339_ms(t.trim())).unwrap_or_else(now_ms),
        }
    }

    pub fn now_rfc3339(&self) -> String {
        ms_rfc3339(self.now_ms())
    }
}
