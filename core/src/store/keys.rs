//! The keys of an encrypted store, all derived from the one key the app
//! keeps in the platform's keystore (HKDF-SHA256, one `info` each): the
//! database's (SQLCipher, as a raw key, so that opening costs no PBKDF2),
//! the photo files' (XChaCha20-Poly1305) and a check value.
//!
//! The check value sits in `store.encrypted` beside the database. It marks
//! the directory as an encrypted store (a plain `open` refuses it) and
//! tells a wrong key from a damaged database before SQLCipher is asked:
//! SQLCipher itself answers "file is not a database" for both.

use std::path::Path;

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};
use crate::support::durable::write_durably;

/// The file that marks an encrypted store and holds its key's check value.
pub const MARKER_FILE: &str = "store.encrypted";
const MARKER_HEADER: &str = "suishoupai encrypted store v1\n";
/// The length of the app's key, in bytes.
pub const KEY_BYTES: usize = 32;

/// The app's key. Wiped from memory when dropped.
pub struct StoreKey([u8; KEY_BYTES]);

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreKey(..)")
    }
}

impl Drop for StoreKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl StoreKey {
    /// The app's key: 32 random bytes, made once and kept in the keystore.
    pub fn new(bytes: &[u8]) -> Result<StoreKey> {
        let key: [u8; KEY_BYTES] = bytes.try_into().map_err(|_| {
            Error::InvalidInput(format!("a store key is {KEY_BYTES} bytes (random, from the platform keystore), got {}", bytes.len()))
        })?;
        Ok(StoreKey(key))
    }

    fn derive(&self, info: &str) -> Zeroizing<[u8; 32]> {
        let mut out = Zeroizing::new([0u8; 32]);
        Hkdf::<Sha256>::new(Some(b"suishoupai store"), &self.0)
            .expand(info.as_bytes(), out.as_mut())
            .expect("32 bytes is a valid HKDF-SHA256 length");
        out
    }

    /// SQLCipher's `PRAGMA key` value for a raw 256-bit key: `x'…'`.
    pub(crate) fn database_pragma(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("\"x'{}'\"", hex::encode(self.derive("database").as_ref())))
    }

    pub(crate) fn files_key(&self) -> Zeroizing<[u8; 32]> {
        self.derive("photo files")
    }

    fn check_value(&self) -> String {
        hex::encode(self.derive("key check").as_ref())
    }
}

/// Whether `dir` holds an encrypted store.
pub fn is_encrypted(dir: &Path) -> bool {
    dir.join(MARKER_FILE).exists()
}

/// Checks `key` against the marker of the encrypted store in `dir`.
pub fn check(dir: &Path, key: &StoreKey) -> Result<()> {
    let path = dir.join(MARKER_FILE);
    let text = std::fs::read_to_string(&path).map_err(Error::io(&path))?;
    let stored =
        text.strip_prefix(MARKER_HEADER).map(str::trim).ok_or_else(|| Error::StoreDamaged(format!("{MARKER_FILE} is not a marker")))?;
    // Not a secret comparison: the check value reveals nothing of the key.
    if stored != key.check_value() {
        return Err(Error::WrongKey);
    }
    Ok(())
}

/// Marks `dir` as an encrypted store of `key`, durably, before anything
/// else of it is written.
pub fn mark(dir: &Path, key: &StoreKey) -> Result<()> {
    let text = format!("{MARKER_HEADER}{}\n", key.check_value());
    write_durably(dir, &dir.join(MARKER_FILE), text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_distinct_and_a_wrong_key_is_told_apart() {
        let key = StoreKey::new(&[7; 32]).unwrap();
        assert_ne!(key.files_key().as_ref(), key.derive("database").as_ref());
        assert!(StoreKey::new(&[7; 31]).is_err());
        let dir = tempfile::tempdir().unwrap();
        mark(dir.path(), &key).unwrap();
        check(dir.path(), &key).unwrap();
        assert!(matches!(check(dir.path(), &StoreKey::new(&[8; 32]).unwrap()), Err(Error::WrongKey)));
        assert!(!format!("{key:?}").contains('7'));
    }
}
