//! Bytes: photos, their thumbnails, and uploads under way. Behind a trait so
//! that an object store can follow the filesystem.
//!
//! # Contract
//! - Every write is durable when it returns (fsynced, directory included):
//!   the server acknowledges a chunk or a photo only after that.
//! - Complete blobs are content-addressed and immutable: `put` of a name
//!   that exists leaves it alone, and a blob appears under its name only
//!   whole.
//! - Storage rows are written after the blobs they point at, so a crash
//!   leaves at worst an unreferenced blob, never a row without its bytes.
//!
//! - A blob is removed only once its row is gone (the photo sweep), and a
//!   `put` after a removal writes it anew.
//!
//! Methods are blocking; the HTTP layer calls them on the blocking pool.
//! `sha256` arguments are validated (64 lower-case hex digits) by the caller.

#[cfg(test)]
pub mod contract;
pub mod fs;
pub mod s3;

use crate::error::Result;
use crate::model::UploadKey;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobKind {
    /// The upload rendition as the device sent it; its sha256 is its name.
    Photo,
    /// The server's thumbnail of that photo, filed under the photo's sha256.
    Thumbnail,
}

pub trait Blobs: Send + Sync + 'static {
    /// Writes `bytes` at `offset` of the upload's partial, first cutting off
    /// anything beyond `offset` (left by a chunk whose offset was never
    /// recorded). Creates the partial at offset 0.
    fn write_chunk(&self, upload: &UploadKey, offset: u64, bytes: &[u8]) -> Result<()>;
    /// The partial upload's first `length` bytes.
    fn read_partial(&self, upload: &UploadKey, length: u64) -> Result<Vec<u8>>;
    /// Forgets a partial upload; no error if there is none.
    fn discard_partial(&self, upload: &UploadKey) -> Result<()>;
    /// Every partial upload held, to tell those whose upload is gone.
    fn partials(&self) -> Result<Vec<UploadKey>>;
    fn put(&self, kind: BlobKind, sha256: &str, bytes: &[u8]) -> Result<()>;
    fn get(&self, kind: BlobKind, sha256: &str) -> Result<Option<Vec<u8>>>;
    /// Removes a complete blob, durably; no error if there is none. Only
    /// the photo sweep calls it, for a photo that storage no longer has.
    fn remove(&self, kind: BlobKind, sha256: &str) -> Result<()>;
    /// Whether the store answers (the health check); a disk is assumed to.
    fn check(&self) -> Result<()> {
        Ok(())
    }
}
