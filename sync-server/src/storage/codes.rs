//! How both backends store the values that are codes in the database (a
//! status, a role, an action, a refusal), and read them back: one
//! definition, so that SQLite and PostgreSQL rows say the same thing.

use suishoupai_core::{Action, ReportStatus};

use super::{Refusal, StorageError, StorageResult};
use crate::model::Role;

pub(super) fn parse_status(code: &str) -> StorageResult<ReportStatus> {
    ReportStatus::from_code(code).map_err(|e| StorageError::corrupt("status", e))
}

pub(super) fn parse_role(code: &str) -> StorageResult<Role> {
    Role::from_code(code).ok_or_else(|| StorageError::corrupt("role", code))
}

pub(super) fn parse_action(code: Option<String>) -> StorageResult<Option<Action>> {
    code.map(|c| Action::from_code(&c).map_err(|e| StorageError::corrupt("action", e))).transpose()
}

/// A refusal as the `refused_actions` columns hold it: the error code, the
/// message, the case's status and the allowed actions (comma-separated).
pub(super) fn encode_refusal(refusal: &Refusal) -> (&'static str, &str, Option<&'static str>, String) {
    match refusal {
        Refusal::BadRequest(message) => ("bad_request", message, None, String::new()),
        Refusal::Forbidden(message) => ("forbidden", message, None, String::new()),
        Refusal::InvalidTransition { message, status, allowed } => {
            ("invalid_transition", message, Some(status.code()), allowed.iter().map(|a| a.code()).collect::<Vec<_>>().join(","))
        }
    }
}

/// The columns [`encode_refusal`] wrote, back into the refusal.
pub(super) fn decode_refusal(error: &str, message: String, case_status: Option<String>, allowed: &str) -> StorageResult<Refusal> {
    Ok(match (error, case_status) {
        ("bad_request", _) => Refusal::BadRequest(message),
        ("forbidden", _) => Refusal::Forbidden(message),
        ("invalid_transition", Some(status)) => Refusal::InvalidTransition {
            message,
            status: parse_status(&status)?,
            allowed: allowed
                .split(',')
                .filter(|code| !code.is_empty())
                .map(|code| Action::from_code(code).map_err(|e| StorageError::corrupt("action", e)))
                .collect::<StorageResult<_>>()?,
        },
        (other, _) => return Err(StorageError::corrupt("error", format!("unknown refusal `{other}`"))),
    })
}
