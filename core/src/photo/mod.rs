//! The photo pipeline: sniff, check the header, read EXIF, decode at a
//! reduced scale, make an upright upload rendition and thumbnail.

pub mod clean;
pub mod exif;
pub mod format;
pub mod render;

use sha2::{Digest, Sha256};

pub use self::exif::{GeoTag, PhotoMetadata, TakenAt};
pub use self::format::{Format, Header};
use crate::domain::LatLon;
use crate::error::Result;

/// Long edge of the upload rendition: enough to judge a problem and read a
/// shop sign, small enough for a weak mobile link.
pub const RENDITION_LONG_EDGE: u32 = 1600;
pub const THUMBNAIL_LONG_EDGE: u32 = 320;
const RENDITION_QUALITY: u8 = 82;
const THUMBNAIL_QUALITY: u8 = 75;

/// What `photo inspect` shows: the photo as a person would see it.
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoInfo {
    pub format: Format,
    /// Upright display size: the stored size with orientation 5-8 swapping sides.
    pub width: u32,
    pub height: u32,
    pub metadata: PhotoMetadata,
}

/// Reads a photo's header and EXIF without decoding pixels. Works for HEIC too.
pub fn inspect(bytes: &[u8]) -> Result<PhotoInfo> {
    let header = format::read_header(bytes)?;
    let metadata = exif::read(bytes);
    let (width, height) = upright_size(header.width, header.height, metadata.orientation);
    Ok(PhotoInfo { format: header.format, width, height, metadata })
}

fn upright_size(width: u32, height: u32, orientation: Option<u8>) -> (u32, u32) {
    match orientation {
        Some(5..=8) => (height, width),
        _ => (width, height),
    }
}

/// A photo ready to be stored: everything computed, nothing written.
#[derive(Clone, PartialEq)]
pub struct PreparedPhoto {
    /// The upload rendition: upright JPEG, long edge at most 1600 px, no metadata.
    pub rendition: Vec<u8>,
    pub thumbnail: Vec<u8>,
    /// Lower-case hex sha256 of `rendition`: the photo's name everywhere.
    pub sha256: String,
    pub width: u32,
    pub height: u32,
    /// What the original's EXIF said; kept on the device, never in the rendition.
    pub metadata: PhotoMetadata,
}

impl std::fmt::Debug for PreparedPhoto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedPhoto")
            .field("sha256", &self.sha256)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("rendition_bytes", &self.rendition.len())
            .field("thumbnail_bytes", &self.thumbnail.len())
            .finish()
    }
}

impl PreparedPhoto {
    pub fn geotag(&self) -> Option<LatLon> {
        self.metadata.geotag.map(|g| LatLon { latitude: g.latitude, longitude: g.longitude })
    }
}

/// Turns a camera file into its upload rendition and thumbnail. Pure: no I/O,
/// so a photo that fails here leaves nothing behind.
pub fn prepare(bytes: &[u8]) -> Result<PreparedPhoto> {
    let header = format::read_header(bytes)?;
    let metadata = exif::read(bytes);
    let decoded = render::decode_at_least(bytes, header, RENDITION_LONG_EDGE)?;
    let rendition_pixels = render::make_upright(render::shrink_to_fit(decoded, RENDITION_LONG_EDGE), metadata.orientation);
    let thumbnail_pixels = render::shrink_to_fit(rendition_pixels.clone(), THUMBNAIL_LONG_EDGE);
    let rendition = render::encode_jpeg(&rendition_pixels, RENDITION_QUALITY)?;
    let thumbnail = render::encode_jpeg(&thumbnail_pixels, THUMBNAIL_QUALITY)?;
    let (width, height) = rendition_pixels.dimensions();
    Ok(PreparedPhoto { sha256: sha256_hex(&rendition), rendition, thumbnail, width, height, metadata })
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
