//! What a file is, judged by its magic bytes, and how big it says it is,
//! judged by its header: both before a single pixel buffer is allocated.

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
    Webp,
    /// HEIF with HEVC inside, as iPhones save by default: readable for its
    /// metadata, not decodable here.
    Heic,
}

/// The largest file we read into memory. A 200 MP phone JPEG is about 40 MB.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// The longest side we accept: a 200 MP sensor is 16320x12240.
pub const MAX_SIDE: u32 = 30_000;
/// The most pixels a JPEG may have; it is decoded at a reduced scale, so
/// memory stays bounded whatever its size.
pub const MAX_MEGAPIXELS: u32 = 100;
/// PNG and WebP have no shrink-on-load: the whole image is decoded, so they
/// get a lower cap (16 Mpx of RGBA is 64 MB).
pub const MAX_FULL_DECODE_MEGAPIXELS: u32 = 16;

/// The size a file's header states, before any orientation is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub format: Format,
    pub width: u32,
    pub height: u32,
}

pub fn sniff(bytes: &[u8]) -> Result<Format> {
    if bytes.is_empty() {
        return Err(Error::UnsupportedFormat("the file is empty".into()));
    }
    if bytes.starts_with(&[0xFF, 0xD8]) {
        return Ok(Format::Jpeg);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(Format::Png);
    }
    if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Ok(Format::Webp);
    }
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        let brand = &bytes[8..12];
        if [b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"].iter().any(|b| brand == *b) {
            return Ok(Format::Heic);
        }
        return Err(Error::UnsupportedFormat(format!(
            "ISO media file of brand `{}` is not a photo we can read (expected JPEG, PNG or WebP)",
            String::from_utf8_lossy(brand)
        )));
    }
    Err(Error::UnsupportedFormat("not a JPEG, PNG or WebP image".into()))
}

/// Sniffs the format and reads the stated dimensions, refusing what is too
/// large or nonsensical. Only headers are parsed here.
pub fn read_header(bytes: &[u8]) -> Result<Header> {
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(Error::FileTooLarge { bytes: bytes.len() as u64, max_bytes: MAX_FILE_BYTES });
    }
    let format = sniff(bytes)?;
    let size = imagesize::blob_size(bytes).map_err(|e| match e {
        imagesize::ImageError::NotSupported => Error::CorruptPhoto("the image header is not readable".into()),
        imagesize::ImageError::CorruptedImage => Error::CorruptPhoto("the image header is corrupt".into()),
        imagesize::ImageError::IoError(_) => Error::CorruptPhoto("the file ends before the image header does".into()),
    })?;
    let (width, height) = (size.width as u64, size.height as u64);
    if width == 0 || height == 0 {
        return Err(Error::CorruptPhoto(format!("the header says the image is {width}x{height} pixels")));
    }
    let max_megapixels = match format {
        Format::Jpeg | Format::Heic => MAX_MEGAPIXELS,
        Format::Png | Format::Webp => MAX_FULL_DECODE_MEGAPIXELS,
    };
    if width > MAX_SIDE as u64 || height > MAX_SIDE as u64 || width * height > max_megapixels as u64 * 1_000_000 {
        return Err(Error::TooLarge { width, height, max_side: MAX_SIDE, max_megapixels });
    }
    Ok(Header { format, width: width as u32, height: height as u32 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_magic_not_name() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]).unwrap(), Format::Jpeg);
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n....").unwrap(), Format::Png);
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 ").unwrap(), Format::Webp);
        assert_eq!(sniff(b"\0\0\0\x18ftypheic\0\0\0\0").unwrap(), Format::Heic);
        assert!(matches!(sniff(b"\0\0\0\x18ftypavif"), Err(Error::UnsupportedFormat(_))));
        assert!(matches!(sniff(b"hello, world"), Err(Error::UnsupportedFormat(_))));
        assert!(matches!(sniff(b""), Err(Error::UnsupportedFormat(_))));
    }
}
