//! The records and enums the apps see. The core's enums cross as they are
//! (`uniffi::remote`); records are flat copies with app-friendly names.

use suishoupai_core::rules::check_coordinates;
use suishoupai_core::{self as core, LatLon, LocationInput};
pub use suishoupai_core::{Action, Crs, Locale, LocationSource, ReportStatus, ReporterRole, Role, SyncState};

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

/// A step of the case workflow (受理 → 派遣 → 处置 → 核查 → 结案, with 返工).
#[uniffi::remote(Enum)]
pub enum Action {
    Accept,
    Reject,
    MarkDuplicate,
    Dispatch,
    /// 报到: the department takes the case.
    Acknowledge,
    /// 退回: not the department's; back to the coordinators.
    Return,
    Extend,
    /// 处置: fixed, with an after-photo.
    Rectify,
    /// 核查结案: the fix holds; closed.
    Verify,
    /// 返工: the fix does not hold; back to the department.
    Reopen,
}

/// A user's role on the server.
#[uniffi::remote(Enum)]
pub enum Role {
    Resident,
    GridWorker,
    Department,
    Coordinator,
    Admin,
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
    /// 即查即改: a grid worker fixed the problem on the spot; the report
    /// arrives `RECTIFIED`, awaiting verification. Needs `after_photo_paths`;
    /// `role` is then `GRID_WORKER` when not given.
    #[uniffi(default)]
    pub fixed_on_spot: bool,
    /// Photos of the fix (files), with `fixed_on_spot`.
    #[uniffi(default)]
    pub after_photo_paths: Vec<String>,
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
    /// Reported fixed on the spot, with `after_photos`.
    pub fixed_on_spot: bool,
    pub after_photos: Vec<Photo>,
}

/// One page of the report list, newest first.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ReportPage {
    pub reports: Vec<Report>,
    /// Pass it back to `list_reports` for the next page; none on the last.
    pub next_cursor: Option<String>,
}

/// One page of the task list, in the order of `tasks()`.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TaskPage {
    pub tasks: Vec<Task>,
    /// Pass it back to `task_page` for the next page; none on the last.
    pub next_cursor: Option<String>,
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
    /// Actions on cases the server took in this run.
    pub actions_sent: u64,
    /// Actions the server refused for good in this run (each one's
    /// `sync_error` says why); never sent again.
    pub actions_refused: u64,
    /// Actions still waiting to be sent.
    pub actions_pending: u64,
    /// Cases in the task list after the run.
    pub tasks: u64,
}

/// Who the server says this device's user is (known after the first sync).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Me {
    pub name: String,
    pub role: Role,
    pub grid_id: Option<String>,
    pub department: Option<String>,
}

/// A case the user may act on, as this device knows it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Task {
    pub id: String,
    pub category: String,
    pub note: String,
    pub location: Option<ReportLocation>,
    /// The reporter's photos: `thumbnail_path(sha256)` has each one's
    /// thumbnail once synced (the device keeps no rendition of them).
    pub photos: Vec<Photo>,
    pub created_at: String,
    /// The server's status with this device's pending actions applied.
    pub status: ReportStatus,
    /// As the server last said.
    pub server_status: ReportStatus,
    pub grid_id: Option<String>,
    pub department: Option<String>,
    /// RFC 3339.
    pub due_at: Option<String>,
    /// Open, running against its deadline and past it, by the device's clock.
    pub overdue: bool,
    /// What the user may do now (what `act` takes).
    pub allowed_actions: Vec<Action>,
    /// This device's actions on it not yet sent.
    pub pending_actions: u32,
    /// False for a case kept only because this device acted on it.
    pub in_feed: bool,
}

/// One step of a case's history.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CaseEvent {
    /// None for the report's arrival.
    pub action: Option<Action>,
    /// The status after it.
    pub status: ReportStatus,
    pub at: String,
    pub actor: Option<String>,
    pub actor_role: Role,
    pub note: Option<String>,
    pub public_note: Option<String>,
    pub department: Option<String>,
    pub due_at: Option<String>,
    /// After-photos of a rectification (sha256).
    pub photos: Vec<String>,
}

/// An action this device took, and where it stands with the server.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct OwnAction {
    pub action_id: String,
    pub report_id: String,
    pub action: Action,
    pub note: Option<String>,
    pub public_note: Option<String>,
    pub due_at: Option<String>,
    pub photos: Vec<Photo>,
    pub taken_at: String,
    /// `PENDING` until sent; `FAILED` for good when the server refused it.
    pub sync_state: SyncState,
    /// Why it failed (the server's words), or why the last try did not go.
    pub sync_error: Option<String>,
}

/// One case with its history and this device's own actions on it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TaskDetail {
    pub task: Task,
    pub history: Vec<CaseEvent>,
    pub actions: Vec<OwnAction>,
}

/// An action the user takes on a case.
#[derive(Debug, Clone, uniffi::Record)]
pub struct TaskAction {
    pub action: Action,
    /// Internal note; `RETURN`, `RECTIFY` and `REOPEN` need one.
    #[uniffi(default)]
    pub note: Option<String>,
    /// Shown to the reporter.
    #[uniffi(default)]
    pub public_note: Option<String>,
    /// New deadline, RFC 3339 in the future; `REOPEN` needs one.
    #[uniffi(default)]
    pub due_at: Option<String>,
    /// After-photo files; `RECTIFY` needs at least one (here or in `photos`).
    #[uniffi(default)]
    pub photo_paths: Vec<String>,
    /// After-photos as camera buffers (JPEG, PNG or WebP), after `photo_paths`.
    #[uniffi(default)]
    pub photos: Vec<Vec<u8>>,
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
            reporter: core::Reporter {
                role: self.role.unwrap_or(if self.fixed_on_spot { ReporterRole::GridWorker } else { ReporterRole::Resident }),
                grid_id: self.grid_id.clone(),
            },
        }
    }
}

impl From<core::ReportPage> for ReportPage {
    fn from(page: core::ReportPage) -> Self {
        ReportPage { reports: page.reports.into_iter().map(Report::from).collect(), next_cursor: page.next_cursor }
    }
}

impl From<core::TaskPage> for TaskPage {
    fn from(page: core::TaskPage) -> Self {
        TaskPage { tasks: page.tasks.into_iter().map(Task::from).collect(), next_cursor: page.next_cursor }
    }
}

impl From<core::Report> for Report {
    fn from(r: core::Report) -> Self {
        Report {
            id: r.id.to_string(),
            category: r.category,
            note: r.note,
            location: r.location.map(location),
            photos: r.photos.into_iter().map(Photo::from).collect(),
            role: r.reporter.role,
            grid_id: r.reporter.grid_id,
            taken_at: r.taken_at,
            created_at: r.created_at,
            sync_state: r.sync_state,
            sync_error: r.sync_error,
            status: r.status,
            fixed_on_spot: r.fixed_on_spot,
            after_photos: r.after_photos.into_iter().map(Photo::from).collect(),
        }
    }
}

impl From<core::PhotoRef> for Photo {
    fn from(p: core::PhotoRef) -> Self {
        Photo { sha256: p.sha256, width: p.width, height: p.height, bytes: p.bytes }
    }
}

fn location(l: core::Location) -> ReportLocation {
    ReportLocation { latitude: l.latitude, longitude: l.longitude, source: l.source, accuracy_m: l.accuracy_m }
}

impl From<core::protocol::Me> for Me {
    fn from(m: core::protocol::Me) -> Self {
        Me { name: m.name, role: m.role, grid_id: m.grid_id, department: m.department }
    }
}

impl From<core::TaskView> for Task {
    fn from(t: core::TaskView) -> Self {
        Task {
            id: t.id,
            category: t.category,
            note: t.note,
            location: t.location.map(location),
            photos: t.photos.into_iter().map(Photo::from).collect(),
            created_at: t.created_at,
            status: t.status,
            server_status: t.server_status,
            grid_id: t.grid_id,
            department: t.department,
            due_at: t.due_at,
            overdue: t.overdue,
            allowed_actions: t.allowed_actions,
            pending_actions: t.pending_actions,
            in_feed: t.in_feed,
        }
    }
}

impl From<core::protocol::CaseEvent> for CaseEvent {
    fn from(e: core::protocol::CaseEvent) -> Self {
        CaseEvent {
            action: e.action,
            status: e.status,
            at: e.at,
            actor: e.actor,
            actor_role: e.actor_role,
            note: e.note,
            public_note: e.public_note,
            department: e.department,
            due_at: e.due_at,
            photos: e.photos,
        }
    }
}

impl From<core::OwnAction> for OwnAction {
    fn from(a: core::OwnAction) -> Self {
        OwnAction {
            action_id: a.action_id,
            report_id: a.report_id,
            action: a.action,
            note: a.note,
            public_note: a.public_note,
            due_at: a.due_at,
            photos: a.photos.into_iter().map(Photo::from).collect(),
            taken_at: a.taken_at,
            sync_state: a.sync_state,
            sync_error: a.sync_error,
        }
    }
}

impl From<core::TaskDetail> for TaskDetail {
    fn from(d: core::TaskDetail) -> Self {
        TaskDetail {
            task: d.task.into(),
            history: d.history.into_iter().map(CaseEvent::from).collect(),
            actions: d.actions.into_iter().map(OwnAction::from).collect(),
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
            actions_sent: s.actions_sent,
            actions_refused: s.actions_refused,
            actions_pending: s.actions_pending,
            tasks: s.tasks,
        }
    }
}
