//! Every permission rule: who may see which reports, and who may do what.

use suishoupai_core::ReportStatus;

use crate::error::{Error, Result};
use crate::model::{Role, Scope, User};
use crate::storage::StoredReport;

/// Which reports (and so which photos and changes) a user may see.
pub fn scope(user: &User) -> Scope {
    match user.role {
        Role::Resident => Scope::Owner(user.id),
        Role::GridWorker => Scope::GridOrOwner { grid_id: user.grid_id.clone().unwrap_or_default(), owner: user.id },
        Role::Department => Scope::Department(user.department.clone().unwrap_or_default()),
        Role::Coordinator | Role::Admin => Scope::All,
    }
}

/// Uploading photos and pushing reports: the people in the field, and the
/// coordinators who sometimes report themselves.
pub fn require_reporter(user: &User) -> Result<()> {
    match user.role {
        Role::Resident | Role::GridWorker | Role::Coordinator | Role::Admin => Ok(()),
        Role::Department => Err(Error::Forbidden("department users do not upload photos or push reports".into())),
    }
}

/// Whether the caller's role may set a report to `to` at all; asked before
/// the report is looked up, so a role that may never do it gets 403.
pub fn require_status_change(user: &User, to: ReportStatus) -> Result<()> {
    match user.role {
        Role::Coordinator | Role::Admin if to == ReportStatus::Submitted => {
            Err(Error::BadRequest("`submitted` is set by the push, not by hand".into()))
        }
        Role::Coordinator | Role::Admin => Ok(()),
        Role::Department if to == ReportStatus::Rectified => Ok(()),
        Role::Department => Err(Error::Forbidden("a department may only mark a report `rectified`".into())),
        Role::Resident | Role::GridWorker => Err(Error::Forbidden("only coordinators and departments change a report's status".into())),
    }
}

/// Checks a status change against the report as it is now. Runs inside the
/// storage transaction, so the decision and the change cannot be split by
/// another writer. `report` is already known to be within the caller's
/// [`scope`], and [`require_status_change`] has passed.
pub fn check_status_change(user: &User, report: &StoredReport) -> Result<()> {
    if user.role == Role::Department
        && (report.status != ReportStatus::Dispatched || report.department.as_deref() != user.department.as_deref())
    {
        return Err(Error::Conflict(format!(
            "the report is `{}`; only a report dispatched to your department can be marked rectified",
            report.status
        )));
    }
    Ok(())
}
