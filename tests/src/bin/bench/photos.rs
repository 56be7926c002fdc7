//! The bench's photos: a 12 MP JPEG with real EXIF, and distinct variants for the sync.

use super::*;

pub(crate) fn make_big_jpeg(tmp: &Path) -> Result<PathBuf> {
    let start = Instant::now();
    let path = tmp.join("big.jpg");
    let status = Command::new(std::env::current_exe()?).arg(MAKE_PHOTO_MODE).arg(&path).status()?;
    if !status.success() {
        return Err("making the 12 MP test photo failed".into());
    }
    println!("made {} in {:.1} s (setup, not measured)", path.display(), start.elapsed().as_secs_f64());
    Ok(path)
}

/// A realistic 12 MP camera file: the 8 MP Nokia photo scaled to 3000x4000,
/// encoded at a phone camera's quality, carrying the original's EXIF (GPS,
/// time, make) so the project reads real metadata.
pub(crate) fn write_big_jpeg(path: &Path) -> Result<()> {
    let seed = fs::read(Path::new(PHOTOS).join(SEED_PHOTO))?;
    let pixels = image::load_from_memory_with_format(&seed, image::ImageFormat::Jpeg)?.to_rgb8();
    // Catmull-Rom: smooth upscale without Lanczos' cost; the point is a
    // plausible photo, not a perfect one.
    let scaled = imageops::resize(&pixels, 3000, 4000, FilterType::CatmullRom);
    let mut encoded = Vec::new();
    JpegEncoder::new_with_quality(&mut encoded, 92).encode_image(&scaled)?;

    let exif = exif_segment(&seed).ok_or("the seed photo has no APP1/EXIF segment")?;
    // SOI, then the EXIF segment, then the encoder's own segments (JFIF, ...).
    let mut file = Vec::with_capacity(encoded.len() + exif.len());
    file.extend_from_slice(&encoded[..2]);
    file.extend_from_slice(exif);
    file.extend_from_slice(&encoded[2..]);
    fs::write(path, &file)?;
    Ok(())
}

/// The whole APP1 "Exif" segment (marker, length, payload) of a JPEG file.
pub(crate) fn exif_segment(jpeg: &[u8]) -> Option<&[u8]> {
    if !jpeg.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut at = 2;
    // Walk the header segments up to the start of scan; each is FF xx LEN.
    while at + 4 <= jpeg.len() && jpeg[at] == 0xFF {
        let marker = jpeg[at + 1];
        if marker == 0xDA || marker == 0xD9 {
            break;
        }
        let len = u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]) as usize;
        let segment = jpeg.get(at..at + 2 + len)?;
        if marker == 0xE1 && segment.get(4..10) == Some(b"Exif\0\0") {
            return Some(segment);
        }
        at += 2 + len;
    }
    None
}

/// The first report must be a real one: geotag from EXIF, 1200x1600 rendition.
/// A real photo (the Pixel one) scaled to `width` px wide.
pub(crate) fn variant_base(width: u32) -> Result<image::RgbImage> {
    let seed = fs::read(Path::new(PHOTOS).join(STORE_PHOTO))?;
    let pixels = image::load_from_memory_with_format(&seed, image::ImageFormat::Jpeg)?.to_rgb8();
    let height = (pixels.height() as u64 * width as u64 / pixels.width() as u64) as u32;
    Ok(imageops::resize(&pixels, width, height, FilterType::Triangle))
}

/// `base` with the bits of `n` stamped in its corner as 16 px squares,
/// encoded at quality 90: a different photo (and rendition) for every `n`.
pub(crate) fn stamped_jpeg(base: &image::RgbImage, n: usize) -> Result<Vec<u8>> {
    let mut img = base.clone();
    for bit in 0..16 {
        let value = if n >> bit & 1 == 1 { 255 } else { 0 };
        for y in 0..16 {
            for x in 0..16 {
                img.put_pixel(bit * 16 + x, y, image::Rgb([value, 255 - value, value]));
            }
        }
    }
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 90).encode_image(&img)?;
    Ok(out)
}

/// A grey gradient with pseudo-random noise of `amplitude`: its size as a
/// JPEG grows with the amplitude (40 at 1200x1600 gives a 433 KB rendition).
pub(crate) fn noise_jpeg(width: u32, height: u32, amplitude: u32, seed: u64) -> Result<Vec<u8>> {
    let mut x = seed | 1;
    let img = image::RgbImage::from_fn(width, height, |px, py| {
        let mut channel = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let base = (px + py) * 160 / (width + height) + 40;
            (base + (x % (amplitude as u64 + 1)) as u32).min(255) as u8
        };
        image::Rgb([channel(), channel(), channel()])
    });
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 92).encode_image(&img)?;
    Ok(out)
}
