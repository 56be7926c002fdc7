//! Who the server deals with: users, their roles, and the reports a user
//! may see. Plain data, used by every layer; the rules that decide with it
//! live in [`crate::auth`].

use serde::Serialize;

pub use suishoupai_core::domain::Role;

/// A user as the server knows them. `grid_id` is set for grid workers,
/// `department` for department users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    #[serde(skip)]
    pub id: i64,
    pub name: String,
    pub role: Role,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grid_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
}

/// The reports a caller may see, as decided by [`crate::auth::scope`];
/// storage applies it to every query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Reports this user pushed.
    Owner(i64),
    /// Reports of this grid, and those this user pushed.
    GridOrOwner {
        grid_id: String,
        owner: i64,
    },
    /// Reports dispatched to this department.
    Department(String),
    /// Reports whose status is one of these, whoever pushed them: what the
    /// server publishes to anyone (see [`crate::auth::public_scope`]).
    Statuses(Vec<suishoupai_core::ReportStatus>),
    All,
}

/// An upload under way is one user's: the same photo uploaded by two users
/// is two uploads, and neither learns of the other's.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UploadKey {
    pub user_id: i64,
    pub sha256: String,
}
