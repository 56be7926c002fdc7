//! Users and their tokens, as the CLI (and later the console) manage them.

use crate::auth;
use crate::clock::now_rfc3339;
use crate::error::{Error, Result};
use crate::model::User;
use crate::storage::{self, NewUser, Storage, StorageError, UserListing};

/// Adds a user with a first token (device `default`); answers the user and
/// the token, which is shown only this once (storage keeps its hash).
pub fn add(storage: &dyn Storage, user: &NewUser) -> Result<(User, String)> {
    let token = auth::new_token()?;
    let (hash, at) = (auth::token_hash(&token), now_rfc3339());
    let added = storage::write(storage, |tx| {
        if tx.user_by_name(&user.name)?.is_some() {
            return Err(Error::DuplicateUser(user.name.clone()));
        }
        if let Some(code) = &user.department
            && tx.department(code)?.is_none()
        {
            return Err(Error::BadRequest(format!("there is no department `{code}`; add it with `department add` first")));
        }
        let added = tx.insert_user(user, &at).map_err(|e| match e {
            // Taken by a writer that committed after our look.
            StorageError::Conflict(_) => Error::DuplicateUser(user.name.clone()),
            other => other.into(),
        })?;
        tx.insert_token(added.id, &hash, "default", &at)?;
        Ok(added)
    })?;
    Ok((added, token))
}

pub fn list(storage: &dyn Storage) -> Result<Vec<UserListing>> {
    storage::read(storage, |tx| Ok(tx.users()?))
}

/// Disables or enables a user: a disabled user's tokens answer 401.
pub fn set_disabled(storage: &dyn Storage, name: &str, disabled: bool) -> Result<User> {
    let at = disabled.then(now_rfc3339);
    storage::write(storage, |tx| {
        let user = tx.user_by_name(name)?.ok_or_else(|| Error::UnknownUser(name.to_owned()))?;
        tx.set_disabled(user.id, at.as_deref())?;
        Ok(user)
    })
}

/// Revokes every token of the user (a lost phone) and answers a new one.
pub fn replace_tokens(storage: &dyn Storage, name: &str) -> Result<(User, String)> {
    let token = auth::new_token()?;
    let (hash, at) = (auth::token_hash(&token), now_rfc3339());
    let user = storage::write(storage, |tx| {
        let user = tx.user_by_name(name)?.ok_or_else(|| Error::UnknownUser(name.to_owned()))?;
        tx.revoke_tokens(user.id, &at)?;
        tx.insert_token(user.id, &hash, "default", &at)?;
        Ok::<_, Error>(user)
    })?;
    Ok((user, token))
}
