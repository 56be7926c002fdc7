//! A report: one problem, seen by one person, with one or more photos.

use serde::Serialize;
use uuid::Uuid;

use super::location::Location;
use crate::error::{Error, Result};

/// A report's id: a UUIDv7 made on the device, so that the server can
/// recognise a retried upload as the same report and the ids sort by time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ReportId(pub Uuid);

impl ReportId {
    pub fn new() -> Self {
        ReportId(Uuid::now_v7())
    }

    pub fn parse(text: &str) -> Result<Self> {
        Uuid::parse_str(text).map(ReportId).map_err(|_| Error::InvalidInput(format!("`{text}` is not a report id (expected a UUID)")))
    }
}

impl Default for ReportId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for ReportId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
        pub enum $name { $(#[serde(rename = $code)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            pub fn from_code(code: &str) -> Result<Self> {
                match code {
                    $($code => Ok($name::$variant),)+
                    other => Err(Error::InvalidInput(format!(
                        concat!("unknown ", stringify!($name), " `{}`"), other))),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}

string_enum! {
    /// Who made the report on this device.
    ReporterRole { Resident = "resident", GridWorker = "grid_worker" }
}

string_enum! {
    /// Where the report stands in getting to the server.
    SyncState { Pending = "pending", Synced = "synced", Failed = "failed" }
}

string_enum! {
    /// The workflow status, as the server last said. `submitted` until a
    /// coordinator has looked at it; see [`super::workflow`] for the rest.
    ReportStatus {
        Submitted = "submitted",
        Accepted = "accepted",
        Rejected = "rejected",
        Duplicate = "duplicate",
        Dispatched = "dispatched",
        InProgress = "in_progress",
        Rectified = "rectified",
        Closed = "closed",
    }
}

/// A photo as it is stored and sent: the upright upload rendition (a JPEG
/// without private metadata), named by the sha256 of its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhotoRef {
    pub sha256: String,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reporter {
    pub role: ReporterRole,
    /// The grid cell a grid worker was patrolling, if any.
    pub grid_id: Option<String>,
}

impl Default for Reporter {
    fn default() -> Self {
        Reporter { role: ReporterRole::Resident, grid_id: None }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub id: ReportId,
    pub category: String,
    pub note: String,
    pub location: Option<Location>,
    pub photos: Vec<PhotoRef>,
    pub reporter: Reporter,
    /// When the first photo was taken, RFC 3339 (with its offset when the
    /// camera recorded one), from EXIF.
    pub taken_at: Option<String>,
    /// When the report was made on the device, RFC 3339 UTC.
    pub created_at: String,
    pub sync_state: SyncState,
    /// Why the last sync attempt failed, for the user to read.
    pub sync_error: Option<String>,
    pub status: ReportStatus,
    /// 即查即改: a grid worker fixed it on the spot; `after_photos` show the fix.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub fixed_on_spot: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub after_photos: Vec<PhotoRef>,
}

impl ReportStatus {
    /// The status as the campaign's people call it.
    pub fn name(self, locale: super::Locale) -> &'static str {
        use super::Locale::{En, ZhCn};
        match (self, locale) {
            (ReportStatus::Submitted, ZhCn) => "待受理",
            (ReportStatus::Accepted, ZhCn) => "已立案",
            (ReportStatus::Rejected, ZhCn) => "不予立案",
            (ReportStatus::Duplicate, ZhCn) => "重复",
            (ReportStatus::Dispatched, ZhCn) => "已派遣",
            (ReportStatus::InProgress, ZhCn) => "处置中",
            (ReportStatus::Rectified, ZhCn) => "已整改待核查",
            (ReportStatus::Closed, ZhCn) => "已结案",
            (ReportStatus::Submitted, En) => "Submitted",
            (ReportStatus::Accepted, En) => "Accepted",
            (ReportStatus::Rejected, En) => "Rejected",
            (ReportStatus::Duplicate, En) => "Duplicate",
            (ReportStatus::Dispatched, En) => "Dispatched",
            (ReportStatus::InProgress, En) => "In progress",
            (ReportStatus::Rectified, En) => "Rectified, to verify",
            (ReportStatus::Closed, En) => "Closed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_v7_and_sort_by_creation() {
        let a = ReportId::new();
        let b = ReportId::new();
        assert_eq!(a.0.get_version_num(), 7);
        assert!(a < b);
        assert_eq!(ReportId::parse(&a.to_string()).unwrap(), a);
        assert!(ReportId::parse("not-a-uuid").is_err());
    }

    #[test]
    fn enum_codes_round_trip() {
        for s in ReportStatus::ALL {
            assert_eq!(ReportStatus::from_code(s.code()).unwrap(), *s);
        }
        assert!(SyncState::from_code("done").is_err());
    }
}
