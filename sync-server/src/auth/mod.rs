//! What callers may see and do: tokens, the user cache, and every
//! permission rule of the server, in one place. Services ask here what the
//! caller may do; storage only applies the [`Scope`] it is handed.

mod cache;
pub mod password;
mod permissions;

use sha2::{Digest, Sha256};

pub use self::cache::KnownUsers;
pub use self::permissions::{
    PUBLIC_STATUSES, public_scope, require_admin, require_open311_reporter, require_operator, require_reporter, require_statistics_reader,
    scope,
};
use crate::error::{Error, Result};
pub use crate::model::{Role, Scope, User};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_scheme_is_matched_in_any_case() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer abc"), Some("abc"));
        assert_eq!(bearer_token("BEARER  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer"), None);
        assert_eq!(bearer_token("Bearer a b"), None);
    }
}
