//! Photos as content-addressed files: `<kind>/<first two hex>/<sha256>.jpg`.
//!
//! A file appears under its final name only complete and on disk: it is
//! written to `tmp/`, fsynced, renamed, and its directory fsynced. The
//! database row that points at it is committed afterwards, so a crash at any
//! moment leaves at worst an unreferenced file, never a row pointing at a
//! missing or half-written one.
//!
//! In an encrypted store every file is sealed ([`Sealer`]) under its kind
//! and name; [`BlobStore::read`] opens it. A file's name is the sha256 of
//! the plain bytes, as in a plain store: it says which photos are the same,
//! never what they show.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::error::{Error, Result};
use crate::store::seal::Sealer;
use crate::support::durable::write_durably;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobKind {
    /// The upload rendition, whose sha256 is its name.
    Rendition,
    /// The thumbnail of that rendition, filed under the rendition's sha256.
    Thumbnail,
}

impl BlobKind {
    fn dir(self) -> &'static str {
        match self {
            BlobKind::Rendition => "photos",
            BlobKind::Thumbnail => "thumbnails",
        }
    }
}

/// A temporary file older than this was left by a process that died.
const STALE_TMP_AGE: Duration = Duration::from_secs(3600);

#[derive(Debug)]
pub struct BlobStore {
    root: PathBuf,
    sealer: Option<Sealer>,
}

impl BlobStore {
    /// The files of a store under `root`; sealed with `sealer` if given.
    pub fn open(root: &Path, sealer: Option<Sealer>) -> Result<Self> {
        let store = BlobStore { root: root.to_owned(), sealer };
        for dir in [store.tmp_dir(), root.join(BlobKind::Rendition.dir()), root.join(BlobKind::Thumbnail.dir())] {
            fs::create_dir_all(&dir).map_err(Error::io(&dir))?;
        }
        store.remove_stale_tmp_files();
        Ok(store)
    }

    fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// Where a blob lives (whether or not it exists). `sha256` must already
    /// be validated as 64 hex digits: it becomes part of a path.
    pub fn path(&self, kind: BlobKind, sha256: &str) -> PathBuf {
        debug_assert!(crate::rules::is_sha256_hex(sha256));
        self.root.join(kind.dir()).join(&sha256[..2]).join(format!("{sha256}.jpg"))
    }

    /// Stores `bytes` under `sha256` durably. Content-addressed: a file that
    /// is already there is the same bytes and is left alone.
    pub fn put(&self, kind: BlobKind, sha256: &str, bytes: &[u8]) -> Result<()> {
        let path = self.path(kind, sha256);
        if path.exists() {
            return Ok(());
        }
        match &self.sealer {
            Some(sealer) => write_durably(&self.tmp_dir(), &path, &sealer.seal(&Self::name(kind, sha256), bytes)?),
            None => write_durably(&self.tmp_dir(), &path, bytes),
        }
    }

    /// The plain bytes of a stored blob.
    pub fn read(&self, kind: BlobKind, sha256: &str) -> Result<Vec<u8>> {
        let path = self.path(kind, sha256);
        let bytes = fs::read(&path).map_err(Error::io(&path))?;
        match &self.sealer {
            Some(sealer) => sealer.open(&Self::name(kind, sha256), &bytes),
            None => Ok(bytes),
        }
    }

    /// Whether files are sealed, so that their paths are no use to a reader.
    pub fn is_sealed(&self) -> bool {
        self.sealer.is_some()
    }

    fn name(kind: BlobKind, sha256: &str) -> String {
        format!("{}/{sha256}", kind.dir())
    }

    fn remove_stale_tmp_files(&self) {
        let Ok(entries) = fs::read_dir(self.tmp_dir()) else { return };
        let now = SystemTime::now();
        for entry in entries.flatten() {
            let stale = entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|modified| now.duration_since(modified).unwrap_or_default() > STALE_TMP_AGE);
            if stale {
                // Best effort: another attempt follows at the next open.
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_is_idempotent_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobStore::open(dir.path(), None).unwrap();
        let sha = crate::photo::sha256_hex(b"pixels");
        blobs.put(BlobKind::Rendition, &sha, b"pixels").unwrap();
        blobs.put(BlobKind::Rendition, &sha, b"pixels").unwrap();
        assert_eq!(fs::read(blobs.path(BlobKind::Rendition, &sha)).unwrap(), b"pixels");
        assert!(!blobs.path(BlobKind::Thumbnail, &sha).exists());
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
    }
}
