//! Files that are either absent or whole, and on disk before the call
//! returns: how the device's and the server's photo stores write.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// Puts `bytes` at `path` so that the file is either absent or complete, and
/// on disk before this returns: written under `tmp_dir` (same file system),
/// fsynced, renamed into place, and the directory fsynced.
pub fn write_durably(tmp_dir: &Path, path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().expect("blob paths have a parent");
    if !dir.exists() {
        fs::create_dir_all(dir).map_err(Error::io(dir))?;
        if let Some(parent) = dir.parent() {
            sync_dir(parent)?;
        }
    }
    let mut tmp = tempfile::NamedTempFile::new_in(tmp_dir).map_err(Error::io(tmp_dir))?;
    tmp.write_all(bytes).map_err(Error::io(tmp.path()))?;
    tmp.as_file().sync_all().map_err(Error::io(tmp.path()))?;
    tmp.persist(path).map_err(|e| Error::Io { path: path.to_owned(), source: e.error })?;
    sync_dir(dir)
}

/// Makes a create or rename in `dir` durable; Windows has no such call.
pub fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    File::open(dir).and_then(|d| d.sync_all()).map_err(Error::io(dir))?;
    Ok(())
}
