//! What every request shares: storage, blobs, the locks of uploads under
//! way, the user cache, and the settings of this deployment.

use std::sync::Arc;

use suishoupai_core::protocol;

use crate::auth::KnownUsers;
use crate::blobs::Blobs;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::services::duplicates::DuplicateWindow;
use crate::services::grids::Grids;
use crate::services::ranking::Weights as RankingWeights;
use crate::storage::Storage;

mod upload_locks;

pub use self::upload_locks::{UploadGuard, UploadLocks};

#[derive(Clone)]
pub struct AppState {
    pub storage: Arc<dyn Storage>,
    pub blobs: Arc<dyn Blobs>,
    pub upload_locks: Arc<UploadLocks>,
    pub known_users: Arc<KnownUsers>,
    /// The grid's cells, for placing reports as they arrive.
    pub grids: Arc<Grids>,
    pub settings: Settings,
    /// The counters behind `GET /metrics`.
    pub metrics: Arc<Metrics>,
}

/// How much a user may have open in uploads not yet complete, so that one
/// client cannot fill the disk with uploads it never finishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadAllowance {
    pub max_open: usize,
    pub max_declared_bytes: u64,
}

/// How much one user may send in a local day (`serve --daily-reports`,
/// `--daily-photo-mib`): far above what a county's busiest grid worker
/// sends, far below what fills a disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyQuota {
    /// Reports received (a retried push of a stored report counts once).
    pub reports: u64,
    /// Bytes of photos the user came to hold, plus those declared by their
    /// uploads under way.
    pub photo_bytes: u64,
}

impl Default for DailyQuota {
    fn default() -> Self {
        DailyQuota { reports: 1_000, photo_bytes: 2 * 1024 * 1024 * 1024 }
    }
}

/// What a deployment may tune; [`Settings::default`] is documented in the README.
#[derive(Debug, Clone)]
pub struct Settings {
    pub upload_allowance: UploadAllowance,
    pub daily_quota: DailyQuota,
    /// How near and how recent another report must be to be suggested as a duplicate.
    pub duplicate_window: DuplicateWindow,
    /// The workflow's clock (the system's but in tests).
    pub clock: Clock,
    /// Where the campaign's days begin and end, for statistics.
    pub timezone: chrono_tz::Tz,
    /// How the ranking scores units (`serve --ranking-weights`).
    pub ranking_weights: RankingWeights,
    /// An intranet tile server for the console's map; none by default.
    pub tiles: Option<Tiles>,
    /// Whether anyone, without a key, may read the accepted cases over
    /// Open311 (`serve --open311-public`); off by default.
    pub open311_public: bool,
    /// How long a photo that no report and no action shows is kept after
    /// it was last sent (`serve --unreferenced-photo-hours`).
    pub unreferenced_photo_grace: std::time::Duration,
}

/// [`Settings::unreferenced_photo_grace`] unless set: three days, for a
/// device that uploaded its photos and lost its signal before the push to
/// come back; later, it sends them again.
pub const DEFAULT_UNREFERENCED_PHOTO_GRACE: std::time::Duration = std::time::Duration::from_secs(72 * 3600);

/// A tile server: a URL template (`{z}/{x}/{y}`) and the coordinate system
/// its tiles are drawn in (GCJ-02 for AMap and Tencent styles).
#[derive(Debug, Clone)]
pub struct Tiles {
    pub url: String,
    pub crs: suishoupai_core::Crs,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            upload_allowance: UploadAllowance {
                max_open: protocol::MAX_OPEN_UPLOADS_PER_USER,
                max_declared_bytes: protocol::MAX_OPEN_UPLOAD_BYTES_PER_USER,
            },
            daily_quota: DailyQuota::default(),
            duplicate_window: DuplicateWindow::default(),
            clock: Clock::System,
            timezone: chrono_tz::Asia::Shanghai,
            tiles: None,
            ranking_weights: RankingWeights::default(),
            open311_public: false,
            unreferenced_photo_grace: DEFAULT_UNREFERENCED_PHOTO_GRACE,
        }
    }
}

impl AppState {
    pub fn new(storage: Arc<dyn Storage>, blobs: Arc<dyn Blobs>, settings: Settings) -> Self {
        AppState {
            storage,
            blobs,
            upload_locks: Arc::default(),
            known_users: Arc::default(),
            grids: Arc::default(),
            settings,
            metrics: Arc::default(),
        }
    }

    /// Runs a storage call on the blocking pool: SQLite calls block, and an
    /// fsync must not stall the async workers.
    pub async fn db<T: Send + 'static>(&self, f: impl FnOnce(&dyn Storage) -> Result<T> + Send + 'static) -> Result<T> {
        let storage = self.storage.clone();
        tokio::task::spawn_blocking(move || f(&*storage)).await.map_err(|e| Error::Internal(format!("storage task failed: {e}")))?
    }

    pub fn now_ms(&self) -> i64 {
        self.settings.clock.now_ms()
    }

    /// Runs a step that needs both storage and blobs as one blocking task.
    pub async fn blocking<T: Send + 'static>(&self, f: impl FnOnce(&dyn Storage, &dyn Blobs) -> Result<T> + Send + 'static) -> Result<T> {
        let (storage, blobs) = (self.storage.clone(), self.blobs.clone());
        tokio::task::spawn_blocking(move || f(&*storage, &*blobs))
            .await
            .map_err(|e| Error::Internal(format!("storage task failed: {e}")))?
    }

    /// Whether the database and the photo store answer now; a failure's
    /// detail goes to the log.
    pub async fn health(&self) -> (bool, bool) {
        let database = self.db(|s| crate::storage::read(s, |tx| Ok::<_, Error>(tx.auth_version()?))).await;
        let photos = self.blob(|b| b.check()).await;
        for (what, result) in [("database", database.as_ref().err()), ("photos", photos.as_ref().err())] {
            if let Some(e) = result {
                tracing::error!(what, detail = %e, "health check failed");
            }
        }
        (database.is_ok(), photos.is_ok())
    }

    /// Runs a blob call (file I/O, fsync, photo checks) on the blocking pool.
    pub async fn blob<T: Send + 'static>(&self, f: impl FnOnce(&dyn Blobs) -> Result<T> + Send + 'static) -> Result<T> {
        let blobs = self.blobs.clone();
        tokio::task::spawn_blocking(move || f(&*blobs)).await.map_err(|e| Error::Internal(format!("blob task failed: {e}")))?
    }
}
