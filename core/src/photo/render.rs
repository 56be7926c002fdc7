//! Pixels: decode at the smallest scale that still covers the output,
//! resize, turn upright, encode a fresh JPEG. The output is built from pixels
//! alone, so no metadata of the original (GPS, serial numbers, maker notes,
//! XMP, IPTC, comments, PNG text) can survive into it.

use std::io::Cursor;

use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer, images::Image};
use image::{DynamicImage, ImageFormat, RgbImage, metadata::Orientation};

use super::format::{Format, Header, MAX_FULL_DECODE_MEGAPIXELS};
use crate::error::{Error, Result};

/// Decodes the image so that its long edge is at least `long_edge` pixels
/// (or its full size, if smaller), using the JPEG DCT's reduced-scale decode
/// (1/2, 1/4, 1/8) as libjpeg's and vips's shrink-on-load do: a 12 MP photo
/// wanted at 1600 px never exists in memory at 12 MP.
pub fn decode_at_least(bytes: &[u8], header: Header, long_edge: u32) -> Result<RgbImage> {
    match header.format {
        Format::Jpeg => decode_jpeg(bytes, header, long_edge),
        Format::Png => decode_full(bytes, ImageFormat::Png),
        Format::Webp => decode_full(bytes, ImageFormat::WebP),
        Format::Heic => Err(Error::HeicNotSupported),
    }
}

fn decode_jpeg(bytes: &[u8], header: Header, long_edge: u32) -> Result<RgbImage> {
    if !jpeg_scan_is_complete(bytes) {
        return Err(Error::CorruptPhoto("image data truncated (the JPEG has no end-of-image marker after its scan)".into()));
    }
    let corrupt = |e: jpeg_decoder::Error| Error::CorruptPhoto(format!("JPEG data: {e}"));
    let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    let (w, h) = fit_within(header.width, header.height, long_edge);
    let (w, h) = decoder.scale(w as u16, h as u16).map_err(corrupt)?;
    // The scaled output plus the decoder's own planes: refuse anything that
    // would need more than the header promised.
    decoder.set_max_decoding_buffer_size(w as usize * h as usize * 4 + (1 << 20));
    let pixels = decoder.decode().map_err(corrupt)?;
    let info = decoder.info().ok_or_else(|| Error::CorruptPhoto("JPEG header missing".into()))?;
    let (w, h) = (w as u32, h as u32);
    let rgb = match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => pixels,
        jpeg_decoder::PixelFormat::L8 => pixels.iter().flat_map(|&l| [l, l, l]).collect(),
        // 12-bit greyscale, big-endian: keep the high byte.
        jpeg_decoder::PixelFormat::L16 => pixels.chunks_exact(2).flat_map(|p| [p[0], p[0], p[0]]).collect(),
        // Adobe CMYK JPEGs store inverted ink values.
        jpeg_decoder::PixelFormat::CMYK32 => pixels
            .chunks_exact(4)
            .flat_map(|p| {
                let k = p[3] as u32;
                [p[0], p[1], p[2]].map(|c| (c as u32 * k / 255) as u8)
            })
            .collect(),
    };
    RgbImage::from_raw(w, h, rgb).ok_or_else(|| Error::CorruptPhoto("JPEG decoded to fewer pixels than its header states".into()))
}

/// A JPEG whose entropy-coded data stops before the end-of-image marker was
/// cut off in transfer; decoders would fill the missing part with grey and
/// the inspector would see half a photo. We refuse it instead.
fn jpeg_scan_is_complete(bytes: &[u8]) -> bool {
    // Walk the marker segments to the first start-of-scan: the EXIF block may
    // hold a thumbnail with its own end-of-image marker, which must not count.
    let mut pos = 2;
    loop {
        let Some(&[0xFF, marker]) = bytes.get(pos..pos + 2) else { return false };
        match marker {
            0xFF => pos += 1, // fill byte
            0xD9 => return false,
            0x01 | 0xD0..=0xD7 => pos += 2,
            _ => {
                let Some(len) = bytes.get(pos + 2..pos + 4).map(|l| u16::from_be_bytes([l[0], l[1]]) as usize) else {
                    return false;
                };
                pos += 2 + len;
                if marker == 0xDA {
                    break;
                }
            }
        }
    }
    // Inside entropy-coded data, 0xFF is always followed by 0x00 (stuffing)
    // or a restart marker, so 0xFF 0xD9 can only be the real end.
    bytes.get(pos..).is_some_and(|scan| scan.windows(2).any(|w| w == [0xFF, 0xD9]))
}

fn decode_full(bytes: &[u8], format: ImageFormat) -> Result<RgbImage> {
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_FULL_DECODE_MEGAPIXELS as u64 * 1_000_000 * 4 + (8 << 20));
    reader.limits(limits);
    let image = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(l) => Error::CorruptPhoto(format!("image needs more memory than allowed: {l}")),
        other => Error::CorruptPhoto(other.to_string()),
    })?;
    Ok(flatten_on_white(image))
}

/// Transparent pixels become white, not black, as a viewer would show them.
fn flatten_on_white(image: DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.into_rgb8();
    }
    let rgba = image.into_rgba8();
    let (w, h) = rgba.dimensions();
    let data = rgba
        .pixels()
        .flat_map(|p| {
            let a = p[3] as u32;
            [0, 1, 2].map(|i| ((p[i] as u32 * a + 255 * (255 - a) + 127) / 255) as u8)
        })
        .collect();
    RgbImage::from_raw(w, h, data).expect("same dimensions")
}

/// The size that fits `width`x`height` within `long_edge`, keeping the aspect
/// ratio; never upscales, never reaches zero.
pub fn fit_within(width: u32, height: u32, long_edge: u32) -> (u32, u32) {
    let long = width.max(height);
    if long <= long_edge {
        return (width, height);
    }
    let scale = |side: u32| ((side as u64 * long_edge as u64 + long as u64 / 2) / long as u64).max(1) as u32;
    (scale(width), scale(height))
}

/// Downscales to fit `long_edge` (Lanczos-3, as vips does).
pub fn shrink_to_fit(image: RgbImage, long_edge: u32) -> RgbImage {
    let (w, h) = image.dimensions();
    let (tw, th) = fit_within(w, h, long_edge);
    if (tw, th) == (w, h) {
        return image;
    }
    let src = Image::from_vec_u8(w, h, image.into_raw(), PixelType::U8x3).expect("buffer matches its dimensions");
    let mut dst = Image::new(tw, th, PixelType::U8x3);
    Resizer::new()
        .resize(&src, &mut dst, &ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3)))
        .expect("same pixel type on both sides");
    RgbImage::from_raw(tw, th, dst.into_vec()).expect("buffer matches its dimensions")
}

/// Applies EXIF orientation 1-8 so that the pixels are upright; anything else
/// (missing, 0, 9) is left as it is.
pub fn make_upright(image: RgbImage, orientation: Option<u8>) -> RgbImage {
    match orientation.and_then(Orientation::from_exif) {
        None | Some(Orientation::NoTransforms) => image,
        Some(o) => {
            let mut dynamic = DynamicImage::ImageRgb8(image);
            dynamic.apply_orientation(o);
            dynamic.into_rgb8()
        }
    }
}

/// A baseline JPEG with a JFIF header and nothing else.
pub fn encode_jpeg(image: &RgbImage, quality: u8) -> Result<Vec<u8>> {
    let (w, h) = image.dimensions();
    let mut out = Vec::with_capacity((w * h / 4) as usize);
    jpeg_encoder::Encoder::new(&mut out, quality)
        .encode(image.as_raw(), w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| Error::CorruptPhoto(format!("could not encode the rendition: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_long_edge_without_upscaling() {
        assert_eq!(fit_within(4000, 3000, 1600), (1600, 1200));
        assert_eq!(fit_within(3000, 4000, 1600), (1200, 1600));
        assert_eq!(fit_within(100, 78, 1600), (100, 78));
        assert_eq!(fit_within(30000, 2, 320), (320, 1));
    }

    #[test]
    fn orientation_six_turns_landscape_into_portrait() {
        let mut image = RgbImage::new(4, 2);
        image.put_pixel(0, 0, image::Rgb([255, 0, 0]));
        let upright = make_upright(image.clone(), Some(6));
        assert_eq!(upright.dimensions(), (2, 4));
        // Rotating 90° clockwise moves the top-left pixel to the top-right.
        assert_eq!(upright.get_pixel(1, 0), &image::Rgb([255, 0, 0]));
        assert_eq!(make_upright(image.clone(), Some(9)), image);
    }

    #[test]
    fn truncated_scan_is_detected() {
        let mut image = RgbImage::new(16, 16);
        image.put_pixel(3, 3, image::Rgb([10, 200, 30]));
        let jpeg = encode_jpeg(&image, 90).unwrap();
        assert!(jpeg_scan_is_complete(&jpeg));
        assert!(!jpeg_scan_is_complete(&jpeg[..jpeg.len() - 2]));
    }
}
