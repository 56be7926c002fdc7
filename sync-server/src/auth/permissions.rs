//! Every permission rule: who may see which reports, and who may do what.

use suishoupai_core::ReportStatus;

use crate::error::{Error, Result};
use crate::model::{Role, Scope, User};

/// Which reports (and so which photos and changes) a user may see.
pub fn scope(user: &User) -> Scope {
    match user.role {
        Role::Resident => Scope::Owner(user.id),
        Role::GridWorker => Scope::GridOrOwner { grid_id: user.grid_id.clone().unwrap_or_default(), owner: user.id },
        Role::Department => Scope::Department(user.department.clone().unwrap_or_default()),
        Role::Coordinator | Role::Admin => Scope::All,
    }
}

/// The statuses of the cases anyone may read when the server publishes
/// them (`serve --open311-public`): those the coordinators took on (立案)
/// and after, as FixMyStreet publishes its reports. Never a report not yet
/// looked at (`submitted`), one refused (`rejected`) or one merged into
/// another (`duplicate`, which the public reads as its original).
pub const PUBLIC_STATUSES: &[ReportStatus] =
    &[ReportStatus::Accepted, ReportStatus::Dispatched, ReportStatus::InProgress, ReportStatus::Rectified, ReportStatus::Closed];

/// Which reports anyone, without a token, may see when the server publishes cases.
pub fn public_scope() -> Scope {
    Scope::Statuses(PUBLIC_STATUSES.to_vec())
}

/// Reporting through Open311 (`POST /open311/v2/requests.json`): residents
/// only, since an Open311 request is a citizen's report; staff report from
/// the app, where their role and grid travel with the report.
pub fn require_open311_reporter(user: &User) -> Result<()> {
    match user.role {
        Role::Resident => Ok(()),
        _ => Err(Error::Forbidden("only residents' keys submit Open311 requests; staff report from the app".into())),
    }
}

/// Pushing reports: the people in the field, and the coordinators who
/// sometimes report themselves. Departments do not report (they upload
/// after-photos for their actions, which every role may).
pub fn require_reporter(user: &User) -> Result<()> {
    match user.role {
        Role::Resident | Role::GridWorker | Role::Coordinator | Role::Admin => Ok(()),
        Role::Department => Err(Error::Forbidden("department users do not push reports".into())),
    }
}

/// Managing departments, routes and the grid.
pub fn require_admin(user: &User) -> Result<()> {
    match user.role {
        Role::Admin => Ok(()),
        _ => Err(Error::Forbidden("only admins manage departments, routes and the grid".into())),
    }
}

/// Reading the server's metrics (`GET /metrics`): how busy it is and how
/// many cases are late, which is the operators', the admins.
pub fn require_operator(user: &User) -> Result<()> {
    match user.role {
        Role::Admin => Ok(()),
        _ => Err(Error::Forbidden("only admins read the server's metrics".into())),
    }
}

/// Reading the campaign's statistics, bulletins and rankings: they name
/// every street office and department, so they are the coordinators'.
pub fn require_statistics_reader(user: &User) -> Result<()> {
    match user.role {
        Role::Coordinator | Role::Admin => Ok(()),
        _ => Err(Error::Forbidden("statistics are for coordinators and admins".into())),
    }
}
