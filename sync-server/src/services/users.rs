//! Users and their tokens, as the CLI (and later the console) manage them.

use crate::auth::{self, password};
use crate::clock::now_rfc3339;
use crate::error::{Error, Result};
use crate::model::{Role, User};
use crate::storage::{self, DeviceToken, NewUser, Storage, StorageError, UserListing};
use suishoupai_core::rules::check_label;

/// A new user as asked for, checked: a grid worker has a grid, a
/// department user a department, and no one else has either.
pub fn new_user(name: String, role: Role, grid_id: Option<String>, department: Option<String>) -> Result<NewUser> {
    let bad = |m: &str| Err(Error::BadRequest(m.to_owned()));
    match (role, &grid_id, &department) {
        (Role::GridWorker, None, _) => return bad("a grid_worker needs --grid"),
        (Role::Department, _, None) => return bad("a department user needs --department"),
        (r, Some(_), _) if r != Role::GridWorker => return bad("--grid goes only with --role grid_worker"),
        (r, _, Some(_)) if r != Role::Department => return bad("--department goes only with --role department"),
        _ => {}
    }
    let label = |field: &str, value: &str| check_label(field, value).map_err(|e| Error::BadRequest(e.to_string()));
    label("--name", &name)?;
    grid_id.iter().try_for_each(|g| label("--grid", g))?;
    department.iter().try_for_each(|d| label("--department", d))?;
    Ok(NewUser { name, role, grid_id, department })
}

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

/// Sets a staff member's password (checked against [`password::check_new`])
/// and ends their sessions, so that a password given away stops working.
pub fn set_password(storage: &dyn Storage, name: &str, new_password: &str) -> Result<User> {
    password::check_new(new_password)?;
    let hash = password::hash(new_password)?;
    storage::write(storage, |tx| {
        let user = tx.user_by_name(name)?.ok_or_else(|| Error::UnknownUser(name.to_owned()))?;
        tx.set_password(user.id, &hash)?;
        tx.delete_sessions_of(user.id)?;
        Ok(user)
    })
}

/// Gives the user a token for another device; answers it (shown only now).
/// A device that has a token already gets a new one, the old revoked.
pub fn add_token(storage: &dyn Storage, name: &str, device: &str) -> Result<(User, String)> {
    suishoupai_core::rules::check_label("--device", device).map_err(|e| Error::BadRequest(e.to_string()))?;
    let token = auth::new_token()?;
    let (hash, at) = (auth::token_hash(&token), now_rfc3339());
    let user = storage::write(storage, |tx| {
        let user = tx.user_by_name(name)?.ok_or_else(|| Error::UnknownUser(name.to_owned()))?;
        tx.revoke_device_tokens(user.id, device, &at)?;
        tx.insert_token(user.id, &hash, device, &at)?;
        Ok::<_, Error>(user)
    })?;
    Ok((user, token))
}

/// Revokes the user's token of one device (a lost phone) and leaves the
/// others; 404 when that device has none.
pub fn revoke_device(storage: &dyn Storage, name: &str, device: &str) -> Result<User> {
    let at = now_rfc3339();
    storage::write(storage, |tx| {
        let user = tx.user_by_name(name)?.ok_or_else(|| Error::UnknownUser(name.to_owned()))?;
        if tx.revoke_device_tokens(user.id, device, &at)? == 0 {
            return Err(Error::NotFound(format!("`{name}` has no token for a device `{device}`")));
        }
        Ok(user)
    })
}

/// The devices the user holds a token for.
pub fn devices(storage: &dyn Storage, name: &str) -> Result<Vec<DeviceToken>> {
    storage::read(storage, |tx| {
        let user = tx.user_by_name(name)?.ok_or_else(|| Error::UnknownUser(name.to_owned()))?;
        Ok(tx.devices(user.id)?)
    })
}
