//! What goes over the wire to a caller: built from storage's rows, never a
//! row as it is, so that what a role sees is decided here and a new column
//! reaches no one by accident.

use serde::Serialize;
use suishoupai_core::ReportStatus;
use suishoupai_core::protocol::WireReport;

use crate::storage::{HistoryEntry, StoredReport};

/// A report as the read API shows it: what the device pushed, and what the
/// server knows about it since.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportView {
    #[serde(flatten)]
    pub wire: WireReport,
    pub status: ReportStatus,
    /// The name of the user who pushed it.
    pub owner: String,
    pub grid_id: Option<String>,
    /// The department it was last dispatched to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    pub received_at: String,
    pub history: Vec<HistoryView>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryView {
    pub status: ReportStatus,
    pub note: Option<String>,
    /// The name of the user who made the change.
    pub actor: String,
    pub at: String,
}

impl From<StoredReport> for ReportView {
    fn from(r: StoredReport) -> Self {
        ReportView {
            wire: r.wire,
            status: r.status,
            owner: r.owner,
            grid_id: r.grid_id,
            department: r.department,
            received_at: r.received_at,
            history: r.history.into_iter().map(HistoryView::from).collect(),
        }
    }
}

impl From<HistoryEntry> for HistoryView {
    fn from(h: HistoryEntry) -> Self {
        HistoryView { status: h.status, note: h.note, actor: h.actor, at: h.at }
    }
}

/// `GET /v1/reports`.
#[derive(Debug, Serialize)]
pub struct ReportList {
    pub reports: Vec<ReportView>,
    /// Pass back as `cursor` for the next page; null on the last one.
    pub next_cursor: Option<String>,
}
