//! The records and enums the apps see. The core's enums cross as they are
//! (`uniffi::remote`); records are flat copies with app-friendly names.

use suishoupai_core::rules::check_coordinates;
use suishoupai_core::{self as core, LatLon, LocationInput};
pub use suishoupai_core::{Crs, Locale, LocationSource, ReportStatus, ReporterRole, SyncState};

use crate::error::Result;

/// A coordinate system. Store and send WGS84; show GCJ02 on AMap/Gaode or
/// Tencent maps and BD09 on Baidu maps.
#[uniffi::remote(Enum)]
pub enum Crs {
    Wgs84,
    Gcj02,
    Bd09,
}

/// Who vouches for a report's location.
#[uniffi::remote(Enum)]
pub enum LocationSource {
    /// The geotag in the photo.
    Exif,
    /// The device's own fix at capture time.
    Device,
    /// A pin the user placed on a map.
    Manual,
}

/// Where a report stands in getting to the server.
#[uniffi::remote(Enum)]
pub enum SyncState {
    Pending,
    Synced,
    Failed,
}

/// The workflow status, as the server last said.
#[uniffi::remote(Enum)]
pub enum ReportStatus {
    Submitted,
    Accepted,
    Rejected,
    Duplicate,
    Dispatched,
    InProgress,
    Rectified,
    Closed,
}

/// Who made the report on this device.
#[uniffi::remote(Enum)]
pub enum ReporterRole {
    Resident,
    GridWorker,
}

/// The language of category names.
#[uniffi::remote(Enum)]
pub enum Locale {
    ZhCn,
    En,
}

/// The phone's own fix (Android `Location`, iOS `CLLocation`, or the AMap /
/// Baidu location SDK, which hand out GCJ02 / BD09).
#[derive(Debug, Clone, Copy, uniffi::Record)]
pub struct DeviceLocation {
    pub latitude: f64,
    pub longitude: f64,
    /// Horizontal accuracy in metres, if known.
    pub accuracy_m: Option<f64>,
    pub crs: Crs,
}

/// A location the user placed on a map, in that map's coordinate system.
#[derive(Debug, Clone, Copy, uniffi::Record)]
pub struct ManualPin {
    pub latitude: f64,
    pub longitude: f64,
    pub crs: Crs,
}

/// What the user filled in. Photos come from `photo_paths` (files the camera
/// wrote) and, for `create_report_from_bytes`, from buffers after them.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ReportDraft {
    /// A category code from `Store.categories()`.
    pub category: String,
    #[uniffi(default)]
    pub photo_paths: Vec<String>,
    #[uniffi(default)]
    pub note: String,
    #[uniffi(default)]
    pub device_location: Option<DeviceLocation>,
    /// Wins over the device fix and the photo's geotag: the user said so.
    #[uniffi(default)]
    pub pin: Option<ManualPin>,
    /// Resident when not given.
    #[uniffi(default)]
    pub role: Option<ReporterRole>,
    /// The grid cell a grid worker was patrolling.
    #[uniffi(default)]
    pub grid_id: Option<String>,
    /// Store the report even if nothing says where it is (no pin, no device
    /// fix, no geotag). Otherwise that is a `NoLocation` error.
    #[uniffi(default)]
    pub allow_without_location: bool,
}

/// A report's location, always WGS84.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct ReportLocation {
    pub latitude: f64,
    pub longitude: f64,
    pub source: LocationSource,
    pub accuracy_m: Option<f64>,
}

/// A stored photo: its upright upload rendition, named by its sha256.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Photo {
    pub sha256: String,
    pub width: u32,
    pub height: u32,
    /// Size of the rendition file.
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Report {
    /// A UUID made on the device.
    pub id: String,
    pub category: String,
    pub note: String,
    pub location: Option<ReportLocation>,
    pub photos: Vec<Photo>,
    pub role: ReporterRole,
    pub grid_id: Option<String>,
    /// When the first photo was taken (RFC 3339, from EXIF), if known.
    pub taken_at: Option<String>,
    /// When the report was made on the device (RFC 3339 UTC).
    pub created_at: String,
    pub sync_state: SyncState,
    /// Why the last sync attempt failed, for the user to read.
    pub sync_error: Option<String>,
    pub status: ReportStatus,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Category {
    /// Stable code, for `ReportDraft.category`.
    pub code: String,
    /// Display name in the requested locale.
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, uniffi::Record)]
pub struct SyncSummary {
    /// Reports the server accepted in this run.
    pub pushed: u64,
    /// Status changes applied from the server in this run.
    pub pulled: u64,
    /// Photo bytes sent in this run.
    pub uploaded_bytes: u64,
    /// Photo bytes not sent because the server already had them.
    pub skipped_bytes: u64,
    /// Reports still waiting to be sent when the run ended.
    pub pending: u64,
    /// Reports the server refused for good (see `retry_failed`).
    pub failed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct Coordinates {
    pub latitude: f64,
    pub longitude: f64,
}

/// Converts a point between WGS84, GCJ02 (AMap, Tencent) and BD09 (Baidu).
/// Outside China GCJ02 equals WGS84.
#[uniffi::export]
pub fn convert_coordinates(latitude: f64, longitude: f64, from: Crs, to: Crs) -> Result<Coordinates> {
    check_coordinates(latitude, longitude)?;
    let p = core::domain::geo::convert(LatLon { latitude, longitude }, from, to);
    Ok(Coordinates { latitude: p.latitude, longitude: p.longitude })
}

impl ReportDraft {
    /// The core's draft: the pin wins over the device fix.
    pub(crate) fn to_core(&self) -> core::ReportDraft {
        let location = match (self.pin, self.device_location) {
            (Some(pin), _) => Some(LocationInput {
                latitude: pin.latitude,
                longitude: pin.longitude,
                crs: pin.crs,
                accuracy_m: None,
                source: core::LocationSource::Manual,
            }),
            (None, Some(fix)) => Some(LocationInput {
                latitude: fix.latitude,
                longitude: fix.longitude,
                crs: fix.crs,
                accuracy_m: fix.accuracy_m,
                source: core::LocationSource::Device,
            }),
            (None, None) => None,
        };
        core::ReportDraft {
            category: self.category.clone(),
            note: self.note.clone(),
            location,
            reporter: core::Reporter { role: self.role.unwrap_or(ReporterRole::Resident), grid_id: self.grid_id.clone() },
        }
    }
}

impl From<core::Report> for Report {
    fn from(r: core::Report) -> Self {
        Report {
            id: r.id.to_string(),
            category: r.category,
            note: r.note,
            location: r.location.map(|l| ReportLocation {
                latitude: l.latitude,
                longitude: l.longitude,
                source: l.source,
                accuracy_m: l.accuracy_m,
            }),
            photos: r.photos.into_iter().map(|p| Photo { sha256: p.sha256, width: p.width, height: p.height, bytes: p.bytes }).collect(),
            role: r.reporter.role,
            grid_id: r.reporter.grid_id,
            taken_at: r.taken_at,
            created_at: r.created_at,
            sync_state: r.sync_state,
            sync_error: r.sync_error,
            status: r.status,
        }
    }
}

impl From<core::SyncSummary> for SyncSummary {
    fn from(s: core::SyncSummary) -> Self {
        SyncSummary {
            pushed: s.pushed,
            pulled: s.pulled,
            uploaded_bytes: s.uploaded_bytes,
            skipped_bytes: s.skipped_bytes,
            pending: s.pending,
            failed: s.failed,
        }
    }
}
