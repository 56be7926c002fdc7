//! Staff passwords, kept only as Argon2id hashes (the `argon2` crate with
//! its defaults, which are OWASP's recommended minimum: 19 MiB, 2 passes,
//! one lane), in the PHC string format that carries its own parameters,
//! so that stronger ones later still verify the old hashes.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::error::{Error, Result};

/// Fewer characters than this are refused: a console password guards
/// every resident's report.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// More bytes than this are refused before hashing, so that no one makes
/// the server hash a megabyte.
pub const MAX_PASSWORD_BYTES: usize = 256;

/// Checks the rules a new password must meet.
pub fn check_new(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::BadRequest(format!("a password has at least {MIN_PASSWORD_CHARS} characters")));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(Error::BadRequest(format!("a password has at most {MAX_PASSWORD_BYTES} bytes")));
    }
    if password.chars().any(char::is_control) {
        return Err(Error::BadRequest("a password has no control characters".into()));
    }
    Ok(())
}

/// The Argon2id hash of a password that passed [`check_new`], as a PHC string.
pub fn hash(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| Error::Internal(format!("the OS random number generator failed: {e}")))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| Error::Internal(format!("salt: {e}")))?;
    Ok(Argon2::default().hash_password(password.as_bytes(), &salt).map_err(|e| Error::Internal(format!("argon2: {e}")))?.to_string())
}

/// Whether `password` is the one `phc` was made from. A stored hash that
/// does not parse verifies nothing.
pub fn verify(phc: &str, password: &str) -> bool {
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    PasswordHash::new(phc).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// Spends the time of a verification for a name that has no password, so
/// that a sign-in's duration does not tell which names exist.
pub fn verify_nothing(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash("not a password of anyone's").unwrap_or_default());
    let _ = verify(dummy, password);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let phc = hash("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(verify(&phc, "correct horse battery"));
        assert!(!verify(&phc, "correct horse batterY"));
        assert!(!verify("not a phc string", "correct horse battery"));
        assert_ne!(hash("correct horse battery").unwrap(), phc, "salted");
    }

    #[test]
    fn weak_or_huge_passwords_are_refused() {
        assert!(check_new("short").is_err());
        assert!(check_new(&"x".repeat(MAX_PASSWORD_BYTES + 1)).is_err());
        assert!(check_new("ten chars!\n").is_err());
        assert!(check_new("长城长城长城长城长城").is_ok(), "characters, not bytes");
    }
}
