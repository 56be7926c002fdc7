//! The check that a JPEG is a clean upload rendition: the server runs it on
//! every uploaded photo, whoever sent it, so that a modified or buggy app
//! cannot make the server store (and serve) a camera original with its GPS
//! position and serial numbers.
//!
//! Clean means: a JPEG within the header limits, whose segments are only
//! those that describe pixels (frame, scan, tables, restart interval), a
//! JFIF header and an ICC colour profile; no EXIF, XMP, IPTC, comments,
//! maker notes or any other application segment; nothing after the end of
//! the image but zero padding; and image data that decodes. Our own
//! renditions (see [`super::render::encode_jpeg`]) are clean by
//! construction and pass unchanged.

use super::format::{self, Format, Header};
use super::render;
use crate::error::{Error, Result};

/// A JPEG that passed [`check`]: its header, and the image decoded at the
/// smallest scale (for a perceptual hash, which needs no more).
#[derive(Debug, Clone)]
pub struct Checked {
    pub header: Header,
    pub small: image::RgbImage,
}

/// Checks that `bytes` are a clean JPEG (see the module's note).
/// [`Error::PrivateMetadata`] names the first segment that is not allowed;
/// [`Error::CorruptPhoto`] a structure or image data that is broken.
pub fn check(bytes: &[u8]) -> Result<Checked> {
    let header = format::read_header(bytes)?;
    if header.format != Format::Jpeg {
        return Err(Error::UnsupportedFormat(format!("the photo is {:?}; upload renditions are JPEG", header.format)));
    }
    check_segments(bytes)?;
    // The smallest scale the DCT offers (1/8) still entropy-decodes every
    // block, so broken image data is found at a fraction of a full decode.
    let small = render::decode_at_least(bytes, header, 1)?;
    Ok(Checked { header, small })
}

/// Walks every marker of the file, scans included (a progressive JPEG has
/// tables and application segments between its scans), and refuses what a
/// clean rendition does not carry.
fn check_segments(bytes: &[u8]) -> Result<()> {
    let truncated = || Error::CorruptPhoto("the JPEG ends inside a segment".into());
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return Err(Error::UnsupportedFormat("not a JPEG".into()));
    }
    let mut pos = 2;
    loop {
        // Between segments: a marker, possibly after fill bytes.
        if bytes.get(pos) != Some(&0xFF) {
            return Err(Error::CorruptPhoto(format!("expected a JPEG marker at byte {pos}")));
        }
        while bytes.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        let marker = *bytes.get(pos + 1).ok_or_else(truncated)?;
        pos += 2;
        match marker {
            0xD9 => return check_trailer(&bytes[pos..]),
            0xD8 | 0xD0..=0xD7 | 0x01 => {
                return Err(Error::CorruptPhoto(format!("marker 0x{marker:02X} out of place at byte {}", pos - 2)));
            }
            _ => {}
        }
        let len = bytes.get(pos..pos + 2).map(|l| u16::from_be_bytes([l[0], l[1]]) as usize).ok_or_else(truncated)?;
        let payload = bytes.get(pos + 2..pos + len).filter(|_| len >= 2).ok_or_else(truncated)?;
        check_segment(marker, payload)?;
        pos += len;
        if marker == 0xDA {
            pos = end_of_scan(bytes, pos).ok_or_else(|| Error::CorruptPhoto("image data truncated: no marker after the scan".into()))?;
        }
    }
}

/// Whether a segment may stay in a stored photo.
fn check_segment(marker: u8, payload: &[u8]) -> Result<()> {
    let refuse = |what: &str| Err(Error::PrivateMetadata(what.to_owned()));
    match marker {
        // Frames (SOF0..SOF15 but DHT, JPG and DAC), Huffman and arithmetic
        // tables, quantisation tables, restart interval, scans, line count.
        0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF | 0xC4 | 0xCC | 0xDB | 0xDD | 0xDA | 0xDC => Ok(()),
        0xE0 if payload.starts_with(b"JFIF\0") || payload.starts_with(b"JFXX\0") => Ok(()),
        0xE2 if payload.starts_with(b"ICC_PROFILE\0") => Ok(()),
        0xE1 if payload.starts_with(b"Exif\0") => refuse("an EXIF block (APP1)"),
        0xE1 if payload.starts_with(b"http://ns.adobe.com/") => refuse("XMP (APP1)"),
        0xED => refuse("an IPTC/Photoshop block (APP13)"),
        0xFE => refuse("a comment (COM)"),
        0xE0..=0xEF => refuse(&format!("an application segment (APP{})", marker - 0xE0)),
        other => Err(Error::CorruptPhoto(format!("unexpected JPEG marker 0x{other:02X}"))),
    }
}

/// The position of the first marker after entropy-coded data starting at
/// `pos`: inside the data, 0xFF is followed by 0x00 (stuffing) or a restart
/// marker; anything else ends the scan.
fn end_of_scan(bytes: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        pos += bytes.get(pos..)?.iter().position(|&b| b == 0xFF)?;
        match *bytes.get(pos + 1)? {
            0x00 | 0xD0..=0xD7 => pos += 2,
            // Fill bytes before a marker.
            0xFF => pos += 1,
            _ => return Some(pos),
        }
    }
}

/// After the end-of-image marker only zero padding may follow: anything
/// else could be data smuggled past every other check.
fn check_trailer(rest: &[u8]) -> Result<()> {
    if rest.iter().all(|&b| b == 0) {
        Ok(())
    } else {
        Err(Error::PrivateMetadata(format!("{} bytes after the end of the image", rest.len())))
    }
}

#[cfg(test)]
mod tests {
    use image::RgbImage;

    use super::*;

    fn rendition() -> Vec<u8> {
        let mut image = RgbImage::new(64, 48);
        for (x, y, p) in image.enumerate_pixels_mut() {
            *p = image::Rgb([(x * 4) as u8, (y * 5) as u8, 90]);
        }
        render::encode_jpeg(&image, 82).unwrap()
    }

    /// `jpeg` with a segment inserted right after SOI.
    fn with_segment(jpeg: &[u8], marker: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = jpeg[..2].to_vec();
        out.extend_from_slice(&[0xFF, marker]);
        out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(payload);
        out.extend_from_slice(&jpeg[2..]);
        out
    }

    #[test]
    fn our_renditions_are_clean() {
        let jpeg = rendition();
        assert_eq!(check(&jpeg).unwrap().header, Header { format: Format::Jpeg, width: 64, height: 48 });
        let mut padded = jpeg.clone();
        padded.extend_from_slice(&[0, 0, 0]);
        assert!(check(&padded).is_ok(), "zero padding after EOI is tolerated");
        assert!(check(&with_segment(&jpeg, 0xE2, b"ICC_PROFILE\0\x01\x01....")).is_ok());
    }

    #[test]
    fn metadata_segments_are_refused() {
        let jpeg = rendition();
        for (marker, payload) in [
            (0xE1, &b"Exif\0\0MM\0*"[..]),
            (0xE1, &b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>"[..]),
            (0xED, &b"Photoshop 3.0\08BIM"[..]),
            (0xFE, &b"shot at 32.34N 114.74E"[..]),
            (0xEF, &b"maker notes"[..]),
            (0xE0, &b"AVI1\0"[..]),
            (0xE2, &b"MPF\0"[..]),
        ] {
            let dirty = with_segment(&jpeg, marker, payload);
            assert!(matches!(check(&dirty), Err(Error::PrivateMetadata(_))), "marker {marker:02X}");
        }
        let mut trailer = jpeg.clone();
        trailer.extend_from_slice(b"GPS 32.34,114.74");
        assert!(matches!(check(&trailer), Err(Error::PrivateMetadata(_))));
    }

    #[test]
    fn a_comment_between_scans_is_found() {
        // Insert a COM segment just before EOI, after the scan's data.
        let jpeg = rendition();
        let mut dirty = jpeg[..jpeg.len() - 2].to_vec();
        dirty.extend_from_slice(&[0xFF, 0xFE, 0x00, 0x05, b'h', b'i', b'!']);
        dirty.extend_from_slice(&[0xFF, 0xD9]);
        assert!(matches!(check(&dirty), Err(Error::PrivateMetadata(_))));
    }

    #[test]
    fn broken_structure_or_data_is_corrupt() {
        let jpeg = rendition();
        assert!(check(&jpeg[..jpeg.len() - 2]).is_err(), "no EOI");
        assert!(check(&jpeg[..40]).is_err(), "cut inside the headers");
        // Without its Huffman tables the structure is whole but the data cannot be decoded.
        let dht = jpeg.windows(2).position(|w| w == [0xFF, 0xC4]).unwrap();
        let len = u16::from_be_bytes([jpeg[dht + 2], jpeg[dht + 3]]) as usize;
        let mut without_tables = jpeg[..dht].to_vec();
        without_tables.extend_from_slice(&jpeg[dht + 2 + len..]);
        assert!(matches!(check(&without_tables), Err(Error::CorruptPhoto(_))));
    }
}
