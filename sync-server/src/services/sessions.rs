//! Who a request comes from.

use crate::auth::token_hash;
use crate::error::{Error, Result};
use crate::model::User;
use crate::state::AppState;
use crate::storage;

/// The user a token belongs to: 401 when it is unknown or revoked, or its
/// user is disabled.
pub async fn authenticate(app: &AppState, token: &str) -> Result<User> {
    let hash = token_hash(token);
    if let Some(user) = app.known_users.get(&hash) {
        return Ok(user);
    }
    // Read before the lookup: a change committed after this read bumps
    // the version past it, and the entry below is then dropped.
    let version = app.known_users.version();
    let key = hash.clone();
    let owner = app
        .db(move |s| storage::read(s, |tx| Ok(tx.token_owner(&key)?)))
        .await?
        .ok_or_else(|| Error::Unauthorized("unknown or revoked token".into()))?;
    if owner.disabled {
        return Err(Error::Unauthorized("this account is disabled; ask the coordinators".into()));
    }
    app.known_users.insert(hash, owner.user.clone(), version);
    Ok(owner.user)
}
