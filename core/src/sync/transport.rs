//! What the sync client needs of the server, one call each: the seam that
//! lets the client's decisions (retry, refuse, resume, cancel) be tested in
//! milliseconds against a fake, and run for real over [`super::HttpTransport`].
//!
//! Every error is sorted into [`crate::Error::Network`] or [`crate::Error::ServerUnavailable`]
//! (worth retrying later), [`crate::Error::TokenRefused`] (log in again) or
//! [`crate::Error::ServerRefused`] (this request will never succeed as it is).

use crate::error::Result;
use crate::protocol::{ChangesPage, PushRequest, PushResponse, UploadCreate, UploadState};

pub trait Transport: Sync {
    /// Starts (or looks up) the uploads of many photos; one state each, in order.
    fn create_uploads(&self, uploads: Vec<UploadCreate>) -> Result<Vec<UploadState>>;
    /// The server's offset for an upload, after a 409.
    fn upload_offset(&self, sha256: &str) -> Result<u64>;
    /// Sends one chunk at `offset`; answers the server's new offset.
    fn patch_upload(&self, sha256: &str, offset: u64, chunk: bytes::Bytes) -> Result<u64>;
    fn push(&self, request: &PushRequest) -> Result<PushResponse>;
    fn changes(&self, cursor: Option<&str>, limit: u32) -> Result<ChangesPage>;
}
