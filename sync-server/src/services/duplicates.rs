//! Duplicate suggestions: open reports of the same category near a report
//! and close to it in time, nearest first, each with how alike its photos
//! look (a perceptual hash of each photo, made once when it arrives).
//!
//! The spatial part is storage's (`reports_near`: a bounding box within a
//! category's time window, from one index in SQLite); the exact distance
//! and the order are here.

use image_hasher::{HashAlg, HasherConfig};
use serde::Serialize;
use suishoupai_core::ReportStatus;
use suishoupai_core::domain::geo::{LatLon, distance_m};
use suishoupai_core::domain::workflow::is_open;

use crate::auth;
use crate::error::{Error, Result};
use crate::model::{Role, User};
use crate::services::reports::report_not_found;
use crate::storage::{self, Near, Storage};

/// How far and how long apart two reports may be and still be suggested
/// as the same problem. 250 m is FixMyStreet's public default.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DuplicateWindow {
    pub radius_m: f64,
    pub days: u32,
}

impl Default for DuplicateWindow {
    fn default() -> Self {
        DuplicateWindow { radius_m: 250.0, days: 30 }
    }
}

/// Suggestions for a report, at most this many.
pub const MAX_CANDIDATES: usize = 50;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    pub id: String,
    pub distance_m: f64,
    /// 0 (nothing alike) to 1 (the same picture), of the most alike pair of
    /// photos; null when no hash is known for either report's photos.
    pub photo_similarity: Option<f64>,
    pub status: ReportStatus,
    pub created_at: String,
    pub latitude: f64,
    pub longitude: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidates {
    pub candidates: Vec<Candidate>,
}

/// A photo's perceptual hash (gradient hash, 64 bits) in hex, from its
/// small decode (the clean check's 1/8 scale: enough for 8×8 gradients).
pub fn phash(small: &image::RgbImage) -> String {
    let hasher = HasherConfig::new().hash_size(8, 8).hash_alg(HashAlg::Gradient).to_hasher();
    let hash = hasher.hash_image(&image::DynamicImage::ImageRgb8(small.clone()));
    hash.as_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// 1 − the share of differing bits, of two hashes of equal length.
pub fn similarity(a: &str, b: &str) -> Option<f64> {
    let bits = |h: &str| -> Option<Vec<u8>> { (0..h.len()).step_by(2).map(|i| u8::from_str_radix(h.get(i..i + 2)?, 16).ok()).collect() };
    let (a, b) = (bits(a)?, bits(b)?);
    if a.len() != b.len() || a.is_empty() {
        return None;
    }
    let differing: u32 = a.iter().zip(&b).map(|(x, y)| (x ^ y).count_ones()).sum();
    Some(1.0 - f64::from(differing) / (a.len() as f64 * 8.0))
}

/// The open reports that may repeat report `id`, for a coordinator.
pub fn candidates(storage: &dyn Storage, user: &User, id: &str, window: DuplicateWindow) -> Result<Candidates> {
    if !matches!(user.role, Role::Coordinator | Role::Admin) {
        return Err(Error::Forbidden("only coordinators look for duplicates".into()));
    }
    let scope = auth::scope(user);
    storage::read(storage, |tx| {
        let report = tx.report(&scope, id)?.ok_or_else(|| report_not_found(id))?;
        let Some(location) = &report.wire.location else {
            return Ok(Candidates { candidates: Vec::new() });
        };
        let here = LatLon { latitude: location.latitude, longitude: location.longitude };
        let dlat = window.radius_m / 111_320.0;
        let dlon = window.radius_m / (111_320.0 * here.latitude.to_radians().cos().max(0.01));
        let span = i64::from(window.days) * 86_400_000;
        let near = Near {
            category: report.wire.category.clone(),
            min_lat: here.latitude - dlat,
            max_lat: here.latitude + dlat,
            min_lon: here.longitude - dlon,
            max_lon: here.longitude + dlon,
            since_ms: report.created_ms - span,
            until_ms: report.created_ms + span,
        };
        let own: Vec<String> = report.wire.photos.iter().map(|p| p.sha256.clone()).collect();
        let own_hashes = tx.phashes(&own)?;
        let mut found: Vec<Candidate> = Vec::new();
        for other in tx.reports_near(&near, id)? {
            if !is_open(other.status) {
                continue;
            }
            let distance = distance_m(here, LatLon { latitude: other.latitude, longitude: other.longitude });
            if distance > window.radius_m {
                continue;
            }
            let hashes = tx.phashes(&other.photos)?;
            let photo_similarity = own_hashes
                .iter()
                .flat_map(|(_, a)| hashes.iter().filter_map(move |(_, b)| similarity(a, b)))
                .fold(None, |best: Option<f64>, s| Some(best.map_or(s, |b| b.max(s))));
            found.push(Candidate {
                id: other.id,
                distance_m: (distance * 10.0).round() / 10.0,
                photo_similarity,
                status: other.status,
                created_at: other.created_at,
                latitude: other.latitude,
                longitude: other.longitude,
            });
        }
        found.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m).then_with(|| a.id.cmp(&b.id)));
        found.truncate(MAX_CANDIDATES);
        Ok(Candidates { candidates: found })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_counts_equal_bits() {
        assert_eq!(similarity("ff00", "ff00"), Some(1.0));
        assert_eq!(similarity("ff00", "00ff"), Some(0.0));
        assert_eq!(similarity("ff00", "ff01"), Some(1.0 - 1.0 / 16.0));
        assert_eq!(similarity("ff", "ff00"), None);
        assert_eq!(similarity("zz", "ff"), None);
    }

    #[test]
    fn alike_pictures_hash_alike() {
        let picture = |shift: u8| image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([(x * 4) as u8 + shift, (y * 5) as u8, 128]));
        let other = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([((x * y) % 255) as u8, 255 - (x * 3) as u8, (y * 7) as u8]));
        let (a, b, c) = (phash(&picture(0)), phash(&picture(3)), phash(&other));
        assert_eq!(a.len(), 16);
        assert!(similarity(&a, &b).unwrap() > 0.9, "a brighter copy is alike");
        assert!(similarity(&a, &c).unwrap() < similarity(&a, &b).unwrap());
    }
}
