//! [`Blobs`] as files under `DATA/photos`:
//! `renditions/<2 hex>/<sha256>.jpg`, `thumbnails/<2 hex>/<sha256>.jpg`,
//! `partial/<user id>-<sha256>.part` (an upload is one user's), and `tmp/`
//! for files not yet renamed into place.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::{BlobKind, Blobs};
use crate::error::{Error, Result};
use crate::model::UploadKey;

pub struct FsBlobs {
    root: PathBuf,
}

impl FsBlobs {
    pub fn open(root: &Path) -> Result<Self> {
        let blobs = FsBlobs { root: root.to_owned() };
        for dir in ["renditions", "thumbnails", "partial", "tmp"] {
            let dir = root.join(dir);
            fs::create_dir_all(&dir).map_err(Error::io(&dir))?;
        }
        Ok(blobs)
    }

    /// Removes the leftovers of writes a crash cut short (nothing points at
    /// them). Only the server, as it starts: another process (a backup)
    /// opening the same store would remove a running server's writes.
    pub fn remove_leftovers(&self) {
        if let Ok(entries) = fs::read_dir(self.root.join("tmp")) {
            for entry in entries.flatten() {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    fn path(&self, kind: BlobKind, sha256: &str) -> PathBuf {
        let dir = match kind {
            BlobKind::Photo => "renditions",
            BlobKind::Thumbnail => "thumbnails",
        };
        self.root.join(dir).join(&sha256[..2]).join(format!("{sha256}.jpg"))
    }

    fn partial_path(&self, upload: &UploadKey) -> PathBuf {
        self.root.join("partial").join(format!("{}-{}.part", upload.user_id, upload.sha256))
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    // Makes a create or rename itself durable; Windows has no such call.
    #[cfg(unix)]
    File::open(dir).and_then(|d| d.sync_all()).map_err(Error::io(dir))?;
    Ok(())
}

/// `<user id>-<sha256>.part` back into its key.
fn parse_partial_name(name: &str) -> Option<UploadKey> {
    let (user_id, sha256) = name.strip_suffix(".part")?.split_once('-')?;
    let user_id = user_id.parse().ok()?;
    suishoupai_core::rules::is_sha256_hex(sha256).then(|| UploadKey { user_id, sha256: sha256.to_owned() })
}

impl Blobs for FsBlobs {
    fn write_chunk(&self, upload: &UploadKey, offset: u64, bytes: &[u8]) -> Result<()> {
        let sha256 = &upload.sha256;
        let path = self.partial_path(upload);
        let io = Error::io(&path);
        let created = !path.exists();
        let mut file = OpenOptions::new().create(true).write(true).truncate(false).open(&path).map_err(Error::io(&path))?;
        let len = file.metadata().map_err(Error::io(&path))?.len();
        if len < offset {
            return Err(Error::Internal(format!("partial upload {sha256} holds {len} bytes, fewer than its recorded offset {offset}")));
        }
        let result = (|| {
            file.set_len(offset)?;
            file.seek(SeekFrom::Start(offset))?;
            file.write_all(bytes)?;
            file.sync_all()
        })();
        if let Err(e) = result {
            // A chunk half-written on a full disk gives back its space; the
            // offset in storage has not moved, so the client resends it.
            let _ = file.set_len(offset);
            return Err(io(e));
        }
        if created {
            sync_dir(path.parent().expect("partial files have a parent"))?;
        }
        Ok(())
    }

    fn read_partial(&self, upload: &UploadKey, length: u64) -> Result<Vec<u8>> {
        let sha256 = &upload.sha256;
        let path = self.partial_path(upload);
        let mut bytes = Vec::with_capacity(length as usize);
        File::open(&path).and_then(|f| f.take(length).read_to_end(&mut bytes)).map_err(Error::io(&path))?;
        if (bytes.len() as u64) < length {
            return Err(Error::Internal(format!("partial upload {sha256} holds {} bytes, fewer than {length}", bytes.len())));
        }
        Ok(bytes)
    }

    fn discard_partial(&self, upload: &UploadKey) -> Result<()> {
        let path = self.partial_path(upload);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(Error::io(&path)(e)),
            _ => Ok(()),
        }
    }

    fn partials(&self) -> Result<Vec<UploadKey>> {
        let dir = self.root.join("partial");
        let mut keys = Vec::new();
        for entry in fs::read_dir(&dir).map_err(Error::io(&dir))? {
            let entry = entry.map_err(Error::io(&dir))?;
            match parse_partial_name(&entry.file_name().to_string_lossy()) {
                Some(key) => keys.push(key),
                // Not a name this store writes (a partial of an older
                // version, named by hash alone): nobody can resume it.
                None => {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
        Ok(keys)
    }

    fn put(&self, kind: BlobKind, sha256: &str, bytes: &[u8]) -> Result<()> {
        let path = self.path(kind, sha256);
        if path.exists() {
            return Ok(());
        }
        Ok(suishoupai_core::support::durable::write_durably(&self.root.join("tmp"), &path, bytes)?)
    }

    fn get(&self, kind: BlobKind, sha256: &str) -> Result<Option<Vec<u8>>> {
        let path = self.path(kind, sha256);
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&path)(e)),
        }
    }

    fn remove(&self, kind: BlobKind, sha256: &str) -> Result<()> {
        let path = self.path(kind, sha256);
        match fs::remove_file(&path) {
            Ok(()) => sync_dir(path.parent().expect("blobs have a parent")),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(&path)(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    mod contract {
        use super::super::FsBlobs;
        use crate::blobs::Blobs;

        fn open_in(dir: &std::path::Path) -> impl Fn() -> Box<dyn Blobs> + use<> {
            let dir = dir.to_owned();
            move || Box::new(FsBlobs::open(&dir).unwrap())
        }

        crate::blob_contract_tests!({
            let dir = Box::leak(Box::new(tempfile::tempdir().unwrap()));
            open_in(dir.path())
        });
    }

    #[test]
    fn a_partial_of_the_old_layout_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = FsBlobs::open(dir.path()).unwrap();
        let ana = UploadKey { user_id: 1, sha256: SHA.into() };
        blobs.write_chunk(&ana, 0, b"ana's").unwrap();
        fs::write(dir.path().join("partial").join(format!("{SHA}.part")), b"old layout").unwrap();
        assert_eq!(blobs.partials().unwrap(), [ana]);
        assert_eq!(fs::read_dir(dir.path().join("partial")).unwrap().count(), 1, "the old-layout file is gone");
    }

    #[test]
    fn a_put_leaves_nothing_in_tmp() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = FsBlobs::open(dir.path()).unwrap();
        blobs.put(BlobKind::Photo, SHA, b"jpeg").unwrap();
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
    }
}
