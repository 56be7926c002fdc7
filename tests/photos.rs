//! The photo pipeline against real camera files: EXIF as exiftool reads it,
//! upright renditions, no private metadata in what leaves the device.

use std::process::Command;

use image::GenericImageView;
use serde_json::Value;
use suishoupai_core::photo::{self, Format, RENDITION_LONG_EDGE, THUMBNAIL_LONG_EDGE, format, render};
use suishoupai_tests::{bad, output, photo, photos_dir};

/// exiftool's reading of every photo, EXIF block only (see MANIFEST.md).
fn expected() -> Vec<Value> {
    let text = std::fs::read_to_string(photos_dir().join("expected_exif_only.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-7
}

#[test]
fn exif_matches_exiftool_for_every_photo() {
    let all = expected();
    assert_eq!(all.len(), 17);
    for e in all {
        let name = e["SourceFile"].as_str().unwrap();
        let info = photo::inspect(&std::fs::read(photo(name)).unwrap()).unwrap_or_else(|err| panic!("{name}: {err}"));
        let meta = &info.metadata;

        match (e.get("Composite:GPSLatitude"), meta.geotag) {
            (Some(lat), Some(g)) => {
                assert!(close(g.latitude, lat.as_f64().unwrap()), "{name}: latitude {} vs {lat}", g.latitude);
                let lon = e["Composite:GPSLongitude"].as_f64().unwrap();
                assert!(close(g.longitude, lon), "{name}: longitude {} vs {lon}", g.longitude);
                // The raw altitude signed by its ref; a missing ref means above sea level.
                let alt = e.get("GPS:GPSAltitude").map(|a| {
                    let below = e.get("GPS:GPSAltitudeRef").and_then(Value::as_i64) == Some(1);
                    if below { -a.as_f64().unwrap() } else { a.as_f64().unwrap() }
                });
                match (alt, g.altitude) {
                    (Some(want), Some(got)) => assert!(close(want, got), "{name}: altitude {got} vs {want}"),
                    (want, got) => assert_eq!(want, got, "{name}: altitude"),
                }
            }
            (None, None) => {}
            (want, got) => panic!("{name}: geotag {got:?}, exiftool says {want:?}"),
        }

        let want_time = e.get("ExifIFD:DateTimeOriginal").map(|t| {
            let t = t.as_str().unwrap();
            let iso = format!("{}-{}-{}T{}", &t[0..4], &t[5..7], &t[8..10], &t[11..19]);
            match e.get("ExifIFD:OffsetTimeOriginal") {
                Some(o) => format!("{iso}{}", o.as_str().unwrap()),
                None => iso,
            }
        });
        assert_eq!(meta.taken_at.map(|t| t.to_rfc3339()), want_time, "{name}: taken_at");

        let want_orientation = e.get("IFD0:Orientation").map(|o| o.as_u64().unwrap() as u8);
        assert_eq!(meta.orientation, want_orientation, "{name}: orientation");
        assert_eq!(meta.make.as_deref(), e.get("IFD0:Make").and_then(Value::as_str), "{name}: make");
        assert_eq!(meta.model.as_deref(), e.get("IFD0:Model").and_then(Value::as_str), "{name}: model");

        let dims = |key: &str| ["File:", "PNG:", "RIFF:"].iter().find_map(|g| e.get(format!("{g}{key}"))).unwrap().as_u64().unwrap() as u32;
        let (w, h) = (dims("ImageWidth"), dims("ImageHeight"));
        let upright = if matches!(want_orientation, Some(5..=8)) { (h, w) } else { (w, h) };
        assert_eq!((info.width, info.height), upright, "{name}: upright size");
    }
}

/// Every photo that is not HEIC becomes an upright JPEG rendition of the
/// right size, named by its sha256, plus a thumbnail.
#[test]
fn renditions_are_upright_jpegs_of_the_right_size() {
    for e in expected() {
        let name = e["SourceFile"].as_str().unwrap();
        let bytes = std::fs::read(photo(name)).unwrap();
        let info = photo::inspect(&bytes).unwrap();
        if info.format == Format::Heic {
            assert!(matches!(photo::prepare(&bytes), Err(suishoupai_core::Error::HeicNotSupported)));
            continue;
        }
        let prepared = photo::prepare(&bytes).unwrap_or_else(|err| panic!("{name}: {err}"));
        let want = render::fit_within(info.width, info.height, RENDITION_LONG_EDGE);
        assert_eq!((prepared.width, prepared.height), want, "{name}");
        assert_eq!(prepared.sha256, photo::sha256_hex(&prepared.rendition));

        // Decode with another decoder (the image crate's) than the one we encode for.
        let rendition = image::load_from_memory_with_format(&prepared.rendition, image::ImageFormat::Jpeg).unwrap();
        assert_eq!(rendition.dimensions(), want, "{name}: decoded rendition");
        let thumbnail = image::load_from_memory_with_format(&prepared.thumbnail, image::ImageFormat::Jpeg).unwrap();
        assert_eq!(thumbnail.dimensions(), render::fit_within(want.0, want.1, THUMBNAIL_LONG_EDGE), "{name}: thumbnail");
    }
}

fn thumbnail_of(name: &str) -> image::RgbImage {
    let prepared = photo::prepare(&std::fs::read(photo(name)).unwrap()).unwrap();
    image::load_from_memory(&prepared.thumbnail).unwrap().to_rgb8()
}

fn mean_abs_diff(a: &image::RgbImage, b: &image::RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let sum: u64 = a.as_raw().iter().zip(b.as_raw()).map(|(x, y)| x.abs_diff(*y) as u64).sum();
    sum as f64 / a.as_raw().len() as f64
}

/// The three landscape files store the same scene rotated or flipped three
/// different ways; turned upright, they must look alike, and unlike a wrong turn.
#[test]
fn orientations_three_five_eight_all_come_out_the_same_way_up() {
    let three = thumbnail_of("orientation_landscape_3.jpg");
    let five = thumbnail_of("orientation_landscape_5.jpg");
    let eight = thumbnail_of("orientation_landscape_8.jpg");
    assert_eq!(three.dimensions(), (320, 213));
    assert!(mean_abs_diff(&three, &five) < 6.0, "3 vs 5: {}", mean_abs_diff(&three, &five));
    assert!(mean_abs_diff(&three, &eight) < 6.0, "3 vs 8: {}", mean_abs_diff(&three, &eight));
    let upside_down = image::imageops::rotate180(&three);
    assert!(mean_abs_diff(&three, &upside_down) > 20.0, "the scene is not symmetric enough for this test");
}

/// The decoder's DCT scaling is in use: an 8 MP photo wanted at 1600 px is
/// decoded at half size, never at full size.
#[test]
fn large_jpegs_are_decoded_at_reduced_scale() {
    let bytes = std::fs::read(photo("nokia_lumia800_N_W_fullres.jpg")).unwrap();
    let header = format::read_header(&bytes).unwrap();
    assert_eq!((header.width, header.height), (2448, 3264));
    let decoded = render::decode_at_least(&bytes, header, RENDITION_LONG_EDGE).unwrap();
    assert_eq!(decoded.dimensions(), (1224, 1632));
}

/// What exiftool finds in a rendition: only groups that describe the file
/// itself may appear (the README of testdata/bad states this check).
fn private_tags(jpeg: &[u8]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("upload.jpg");
    std::fs::write(&path, jpeg).unwrap();
    let out = output(Command::new("exiftool").args(["-a", "-G1", "-s"]).arg(&path));
    assert!(out.status.success(), "exiftool failed (is libimage-exiftool-perl installed?)");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|line| {
            let group = line.trim_start_matches('[').split(']').next().unwrap_or("");
            !["ExifTool", "System", "File", "JFIF", "Composite"].contains(&group)
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn renditions_carry_no_private_metadata() {
    let mut names: Vec<std::path::PathBuf> =
        expected().iter().map(|e| photo(e["SourceFile"].as_str().unwrap())).filter(|p| !p.to_string_lossy().ends_with(".heic")).collect();
    names.extend(
        [
            "exif_ifd_loop_next.jpg",
            "exif_gps_lat_95.jpg",
            "exif_offset_out_of_bounds.jpg",
            "png_itxt_512KiB.png",
            "png_itxt_zbomb_256MiB.png",
        ]
        .map(bad),
    );
    for path in names {
        let bytes = std::fs::read(&path).unwrap();
        let prepared = photo::prepare(&bytes).unwrap();
        for (what, jpeg) in [("rendition", &prepared.rendition), ("thumbnail", &prepared.thumbnail)] {
            let leaked = private_tags(jpeg);
            assert!(leaked.is_empty(), "{} {what} carries {leaked:?}", path.display());
            for needle in [&b"Exif\0\0"[..], b"GPS", b"http://ns.adobe.com", b"Photoshop 3.0"] {
                assert!(!jpeg.windows(needle.len()).any(|w| w == needle), "{} {what} contains {needle:?}", path.display());
            }
        }
    }
}

/// The original really did carry what we strip, so the test above can fail.
#[test]
fn originals_do_carry_private_metadata() {
    let leaked = private_tags(&std::fs::read(photo("google_pixel_N_E.jpg")).unwrap());
    assert!(leaked.iter().any(|l| l.starts_with("[GPS]")), "{leaked:?}");
    assert!(leaked.iter().any(|l| l.contains("Make")), "{leaked:?}");
}
