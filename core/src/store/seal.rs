//! Photo files of an encrypted store, sealed with XChaCha20-Poly1305: a
//! random 192-bit nonce per file (no counter to keep across processes), the
//! file's kind and sha256 as associated data, so that a file moved under
//! another name or swapped for another one fails to open rather than
//! showing the wrong photo.
//!
//! A sealed file is `SSP1` ‖ nonce (24 bytes) ‖ ciphertext ‖ tag (16).

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::error::{Error, Result};
use crate::store::keys::StoreKey;

const MAGIC: &[u8; 4] = b"SSP1";
const NONCE_BYTES: usize = 24;

pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    pub fn new(key: &StoreKey) -> Sealer {
        let files_key = key.files_key();
        Sealer { cipher: XChaCha20Poly1305::new(&chacha20poly1305::Key::from(*files_key)) }
    }

    pub fn seal(&self, name: &str, plain: &[u8]) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).map_err(|e| Error::InvalidInput(format!("no randomness for a nonce: {e}")))?;
        let sealed = self
            .cipher
            .encrypt(&XNonce::from(nonce), Payload { msg: plain, aad: name.as_bytes() })
            .map_err(|_| Error::InvalidInput("a photo too large to seal".into()))?;
        let mut out = Vec::with_capacity(MAGIC.len() + NONCE_BYTES + sealed.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// The plain bytes of a sealed file, or `StoreDamaged` if it is not one
    /// this key sealed under this name.
    pub fn open(&self, name: &str, sealed: &[u8]) -> Result<Vec<u8>> {
        let damaged = || Error::StoreDamaged(format!("the photo file {name} does not open with this store's key"));
        let rest = sealed.strip_prefix(MAGIC).ok_or_else(damaged)?;
        if rest.len() < NONCE_BYTES {
            return Err(damaged());
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| damaged())?;
        self.cipher.decrypt(&XNonce::from(nonce), Payload { msg: ciphertext, aad: name.as_bytes() }).map_err(|_| damaged())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_file_opens_only_under_its_name_and_key() {
        let sealer = Sealer::new(&StoreKey::new(&[1; 32]).unwrap());
        let sealed = sealer.seal("photos/ab", b"\xFF\xD8 pixels").unwrap();
        assert!(!sealed.windows(9).any(|w| w == b"\xFF\xD8 pixels"));
        assert_eq!(sealer.open("photos/ab", &sealed).unwrap(), b"\xFF\xD8 pixels");
        assert_ne!(sealed, sealer.seal("photos/ab", b"\xFF\xD8 pixels").unwrap(), "a fresh nonce each time");
        assert!(sealer.open("photos/cd", &sealed).is_err(), "another name");
        assert!(Sealer::new(&StoreKey::new(&[2; 32]).unwrap()).open("photos/ab", &sealed).is_err(), "another key");
        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(sealer.open("photos/ab", &flipped).is_err(), "a changed byte");
        assert!(sealer.open("photos/ab", &sealed[..10]).is_err());
    }
}
