//! Who is calling and what they may see and do: tokens, roles, and every
//! permission rule of the server, in one place. Handlers ask here; storage
//! only applies the [`Scope`] it is handed.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::Serialize;
use sha2::{Digest, Sha256};
use suishoupai_core::ReportStatus;

use crate::app::AppState;
use crate::error::{Error, Result};
use crate::storage::{Scope, StoredReport};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Resident,
    GridWorker,
    Department,
    Coordinator,
    Admin,
}

impl Role {
    pub const ALL: &'static [Role] = &[Role::Resident, Role::GridWorker, Role::Department, Role::Coordinator, Role::Admin];

    pub fn code(self) -> &'static str {
        match self {
            Role::Resident => "resident",
            Role::GridWorker => "grid_worker",
            Role::Department => "department",
            Role::Coordinator => "coordinator",
            Role::Admin => "admin",
        }
    }

    pub fn from_code(code: &str) -> Option<Role> {
        Role::ALL.iter().copied().find(|r| r.code() == code)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

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

/// A fresh bearer token: 32 bytes from the OS RNG, hex. Only its hash is stored.
pub fn new_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| Error::Internal(format!("the OS random number generator failed: {e}")))?;
    Ok(hex::encode(bytes))
}

/// What the database keeps of a token. A plain sha256 suffices: the token
/// has 256 bits of entropy, so there is nothing to brute-force.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The token of `Authorization: Bearer TOKEN`; the scheme is matched
/// without regard to case (RFC 9110, section 11.1).
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim_start().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' ')).then_some(token)
}

/// The caller, from `Authorization: Bearer TOKEN`; 401 when it is missing,
/// malformed, unknown or revoked, or its user is disabled.
impl FromRequestParts<AppState> for User {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| Error::Unauthorized("missing Authorization header (expected `Bearer TOKEN`)".into()))?;
        let token = header
            .to_str()
            .ok()
            .and_then(bearer_token)
            .ok_or_else(|| Error::Unauthorized("malformed Authorization header (expected `Bearer TOKEN`)".into()))?;
        let hash = token_hash(token);
        if let Some(user) = state.known_users.get(&hash) {
            return Ok(user);
        }
        // Read before the lookup: a change committed after this read bumps
        // the version past it, and the entry below is then dropped.
        let version = state.known_users.version();
        let key = hash.clone();
        let owner =
            state.db(move |s| s.user_by_token_hash(&key)).await?.ok_or_else(|| Error::Unauthorized("unknown or revoked token".into()))?;
        if owner.disabled {
            return Err(Error::Unauthorized("this account is disabled; ask the coordinators".into()));
        }
        state.known_users.insert(hash, owner.user.clone(), version);
        Ok(owner.user)
    }
}

/// Users already looked up, by token hash: every request of a device
/// carries its token, and a storage lookup per request cost more than some
/// requests themselves. Users and tokens do change (a user disabled, a lost
/// phone's token revoked, by the CLI or another server process), so the
/// cache holds only while storage's [`crate::storage::Storage::auth_version`]
/// stays what it was: the server polls it ([`KnownUsers::refresh`]) and
/// empties the cache when it moves.
#[derive(Default)]
pub struct KnownUsers {
    state: std::sync::RwLock<KnownState>,
}

#[derive(Default)]
struct KnownState {
    /// The auth version the entries were read under; None until first polled.
    version: Option<i64>,
    by_token_hash: std::collections::HashMap<String, User>,
}

/// Enough for every device of a county; past it, lookups go to storage.
const KNOWN_USERS_MAX: usize = 100_000;

impl KnownUsers {
    fn get(&self, token_hash: &str) -> Option<User> {
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        state.version?;
        state.by_token_hash.get(token_hash).cloned()
    }

    fn version(&self) -> Option<i64> {
        self.state.read().unwrap_or_else(|p| p.into_inner()).version
    }

    /// Remembers a user read while the version was `read_under`, unless it
    /// has moved since (the entry could be stale already).
    fn insert(&self, token_hash: String, user: User, read_under: Option<i64>) {
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        if read_under.is_some() && state.version == read_under && state.by_token_hash.len() < KNOWN_USERS_MAX {
            state.by_token_hash.insert(token_hash, user);
        }
    }

    /// Turns the cache off until the next [`KnownUsers::refresh`].
    pub fn forget(&self) {
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        state.version = None;
        state.by_token_hash.clear();
    }

    /// Takes the current auth version; a new one empties the cache.
    pub fn refresh(&self, version: i64) {
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        if state.version != Some(version) {
            state.version = Some(version);
            state.by_token_hash.clear();
        }
    }
}

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
