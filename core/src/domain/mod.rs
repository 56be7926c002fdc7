//! Domain types and rules in plain Rust: no SQL, no HTTP, no FFI.

pub mod category;
pub mod geo;
pub mod location;
pub mod page;
pub mod report;
pub mod task;
pub mod workflow;

pub use category::{CATEGORIES, Category, Locale};
pub use geo::{Crs, LatLon};
pub use location::{Location, LocationInput, LocationSource};
pub use page::{ReportPage, TaskPage};
pub use report::{PhotoRef, Report, ReportId, ReportStatus, Reporter, ReporterRole, SyncState};
pub use task::{OwnAction, TaskDetail, TaskView};
pub use workflow::{Action, Capacity, Role};
