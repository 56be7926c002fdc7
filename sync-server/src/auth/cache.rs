//! Users looked up by token, kept while the auth version holds.

use crate::model::User;

/// Users already looked up, by token hash: every request of a device
/// carries its token, and a storage lookup per request cost more than some
/// requests themselves. Users and tokens do change (a user disabled, a lost
/// phone's token revoked, by the CLI or another server process), so the
/// cache holds only while storage's [`crate::storage::ReadTxn::auth_version`]
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
    pub fn get(&self, token_hash: &str) -> Option<User> {
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        state.version?;
        state.by_token_hash.get(token_hash).cloned()
    }

    pub fn version(&self) -> Option<i64> {
        self.state.read().unwrap_or_else(|p| p.into_inner()).version
    }

    /// Remembers a user read while the version was `read_under`, unless it
    /// has moved since (the entry could be stale already).
    pub fn insert(&self, token_hash: String, user: User, read_under: Option<i64>) {
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
