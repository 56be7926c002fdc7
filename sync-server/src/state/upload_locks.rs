//! One async lock per upload under way.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::model::UploadKey;

/// One async lock per upload under way, so that two PATCHes of the same
/// upload (or a PATCH and the expiry of the upload) cannot interleave their
/// file writes. Different uploads proceed in parallel.
#[derive(Default)]
pub struct UploadLocks {
    locks: Mutex<HashMap<UploadKey, Arc<tokio::sync::Mutex<()>>>>,
}

impl UploadLocks {
    pub async fn hold(&self, key: &UploadKey) -> UploadGuard<'_> {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
            locks.entry(key.clone()).or_default().clone()
        };
        let guard = lock.clone().lock_owned().await;
        UploadGuard { locks: self, key: key.clone(), lock, _guard: Some(guard) }
    }
}

pub struct UploadGuard<'a> {
    locks: &'a UploadLocks,
    key: UploadKey,
    lock: Arc<tokio::sync::Mutex<()>>,
    _guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Drop for UploadGuard<'_> {
    fn drop(&mut self) {
        self._guard.take();
        let mut locks = self.locks.locks.lock().unwrap_or_else(|p| p.into_inner());
        // Two references left (the map's and ours): nobody else waits; forget it.
        if Arc::strong_count(&self.lock) == 2 {
            locks.remove(&self.key);
        }
    }
}
