//! Staff signing in to the console with a name and a password, and the
//! browser sessions that follow.
//!
//! - Passwords are checked against their Argon2id hash
//!   ([`crate::auth::password`]); a name without a password, or unknown,
//!   costs the same time and gets the same answer as a wrong password, so
//!   that no one learns which names exist.
//! - Guessing is throttled: after [`MAX_FAILURES_PER_NAME`] failures for a
//!   name, or [`MAX_FAILURES_PER_ADDRESS`] from one address, within
//!   [`FAILURE_WINDOW_MS`], sign-ins for it answer 429 with `Retry-After`
//!   until the oldest failure leaves the window. Failures are rows in
//!   storage, so every instance counts the same ones.
//! - A session is a random 256-bit cookie value of which storage keeps the
//!   sha256, with its own random CSRF token that every form carries. It
//!   lasts [`SESSION_MS`] (a working day and some), ends at sign-out, and
//!   at once when its user is disabled or given a new password.

use crate::auth::{self, password};
use crate::error::{Error, Result};
use crate::model::{Role, User};
use crate::storage::{self, NewSession, SessionRow, Storage};

pub const SESSION_MS: i64 = 12 * 3_600_000;
pub const FAILURE_WINDOW_MS: i64 = 15 * 60_000;
pub const MAX_FAILURES_PER_NAME: u32 = 5;
/// An office's staff may share one address behind a NAT: more room than a name.
pub const MAX_FAILURES_PER_ADDRESS: u32 = 30;

/// A new session: the cookie's value (shown to the browser only) and its user.
#[derive(Debug)]
pub struct SignedIn {
    pub cookie: String,
    pub user: User,
    pub expires_ms: i64,
}

const WRONG: &str = "wrong name or password";

/// Signs `name` in from `address`, or says why not.
pub fn sign_in(storage: &dyn Storage, name: &str, password: &str, address: &str, now_ms: i64) -> Result<SignedIn> {
    let subjects = [format!("name:{name}"), format!("address:{address}")];
    let since = now_ms - FAILURE_WINDOW_MS;
    let (credentials, throttled) = storage::read(storage, |tx| {
        let mut throttled = None;
        for (subject, max) in subjects.iter().zip([MAX_FAILURES_PER_NAME, MAX_FAILURES_PER_ADDRESS]) {
            let (failures, oldest) = tx.sign_in_failures(subject, since)?;
            if failures >= max {
                throttled = Some(oldest.unwrap_or(now_ms));
            }
        }
        Ok::<_, Error>((tx.credentials(name)?, throttled))
    })?;
    if let Some(oldest) = throttled {
        let retry_after_secs = ((oldest + FAILURE_WINDOW_MS - now_ms) / 1000).max(1) as u64;
        return Err(Error::TooManyAttempts {
            message: format!("too many failed sign-ins; try again in {} minutes", retry_after_secs.div_ceil(60)),
            retry_after_secs,
        });
    }
    let verified = match credentials.as_ref().and_then(|c| c.password_hash.as_deref()) {
        Some(phc) => password::verify(phc, password),
        None => {
            password::verify_nothing(password);
            false
        }
    };
    let Some(credentials) = credentials.filter(|_| verified) else {
        storage::write(storage, |tx| {
            subjects.iter().try_for_each(|subject| tx.record_sign_in_failure(subject, now_ms))?;
            tx.expire_sign_ins(now_ms, since)?;
            Ok::<_, Error>(())
        })?;
        return Err(Error::Unauthorized(WRONG.into()));
    };
    if credentials.disabled {
        return Err(Error::Unauthorized("this account is disabled; ask an admin".into()));
    }
    if credentials.user.role == Role::Resident {
        return Err(Error::Forbidden("the console is for staff; residents report with the app".into()));
    }
    let cookie = auth::new_token()?;
    let session = NewSession {
        session_sha256: auth::token_hash(&cookie),
        user_id: credentials.user.id,
        csrf: auth::new_token()?,
        created_ms: now_ms,
        expires_ms: now_ms + SESSION_MS,
    };
    storage::write(storage, |tx| {
        tx.clear_sign_in_failures(&subjects[0])?;
        Ok::<_, Error>(tx.insert_session(&session)?)
    })?;
    Ok(SignedIn { cookie, user: credentials.user, expires_ms: session.expires_ms })
}

/// The session of a cookie's value, if it is one and still good.
pub fn session(storage: &dyn Storage, cookie: &str, now_ms: i64) -> Result<Option<SessionRow>> {
    let hash = auth::token_hash(cookie);
    storage::read(storage, |tx| Ok(tx.session(&hash, now_ms)?))
}

pub fn sign_out(storage: &dyn Storage, cookie: &str) -> Result<()> {
    let hash = auth::token_hash(cookie);
    storage::write(storage, |tx| Ok(tx.delete_session(&hash)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::users;
    use crate::storage::NewUser;
    use crate::storage::sqlite::SqliteStorage;

    const NOW: i64 = 1_790_000_000_000;

    fn staff(storage: &dyn Storage, name: &str, role: Role) {
        users::add(storage, &NewUser { name: name.into(), role, grid_id: None, department: None }).unwrap();
        users::set_password(storage, name, "a long enough password").unwrap();
    }

    #[test]
    fn the_right_password_opens_a_session_that_ends() {
        let storage = SqliteStorage::open_in_memory().unwrap();
        staff(&storage, "zhao", Role::Coordinator);
        let signed = sign_in(&storage, "zhao", "a long enough password", "10.0.0.1", NOW).unwrap();
        let found = session(&storage, &signed.cookie, NOW + 1).unwrap().unwrap();
        assert_eq!(found.user.name, "zhao");
        assert_eq!(found.csrf.len(), 64);
        assert!(session(&storage, &signed.cookie, NOW + SESSION_MS).unwrap().is_none(), "expired");
        assert!(session(&storage, "another cookie", NOW).unwrap().is_none());
        users::set_disabled(&storage, "zhao", true).unwrap();
        assert!(session(&storage, &signed.cookie, NOW + 1).unwrap().is_none(), "a disabled user's sessions end at once");
        users::set_disabled(&storage, "zhao", false).unwrap();
        sign_out(&storage, &signed.cookie).unwrap();
        assert!(session(&storage, &signed.cookie, NOW + 1).unwrap().is_none());
    }

    #[test]
    fn unknown_names_and_wrong_passwords_get_one_answer_and_are_throttled() {
        let storage = SqliteStorage::open_in_memory().unwrap();
        staff(&storage, "zhao", Role::Coordinator);
        let wrong = sign_in(&storage, "zhao", "not the password", "10.0.0.1", NOW).unwrap_err();
        let unknown = sign_in(&storage, "nobody", "not the password", "10.0.0.1", NOW).unwrap_err();
        assert_eq!(wrong.to_string(), unknown.to_string());
        for _ in 1..MAX_FAILURES_PER_NAME {
            assert!(matches!(sign_in(&storage, "zhao", "guess", "10.0.0.2", NOW), Err(Error::Unauthorized(_))));
        }
        // Even the right password waits now; another name does not.
        let throttled = sign_in(&storage, "zhao", "a long enough password", "10.0.0.3", NOW + 1000);
        assert!(matches!(throttled, Err(Error::TooManyAttempts { retry_after_secs, .. }) if retry_after_secs > 800), "{throttled:?}");
        staff(&storage, "qian", Role::Admin);
        sign_in(&storage, "qian", "a long enough password", "10.0.0.3", NOW + 1000).unwrap();
        // Once the window passed, the right password works again.
        sign_in(&storage, "zhao", "a long enough password", "10.0.0.3", NOW + FAILURE_WINDOW_MS + 1).unwrap();
    }

    #[test]
    fn residents_and_users_without_a_password_do_not_get_in() {
        let storage = SqliteStorage::open_in_memory().unwrap();
        staff(&storage, "li", Role::Resident);
        assert!(matches!(sign_in(&storage, "li", "a long enough password", "a", NOW), Err(Error::Forbidden(_))));
        users::add(&storage, &NewUser { name: "sun".into(), role: Role::Coordinator, grid_id: None, department: None }).unwrap();
        assert!(matches!(sign_in(&storage, "sun", "", "a", NOW), Err(Error::Unauthorized(_))));
    }
}
