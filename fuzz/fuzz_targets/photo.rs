//! Photo sniffing, header limits, EXIF and the server's clean-JPEG check,
//! then the device's whole pipeline (decode, shrink, upright, encode), on
//! arbitrary bytes. Nothing may panic or allocate past the documented caps,
//! and what comes out must keep the pipeline's promises.
#![no_main]

use libfuzzer_sys::fuzz_target;
use suishoupai_core::photo::{self, RENDITION_LONG_EDGE, THUMBNAIL_LONG_EDGE, clean, exif, format};

fuzz_target!(|bytes: &[u8]| {
    let sniffed = format::sniff(bytes);
    let header = format::read_header(bytes);
    if let Ok(header) = &header {
        assert_eq!(sniffed.as_ref().ok(), Some(&header.format), "a header read means the format was sniffed");
        assert!(header.width > 0 && header.height > 0);
        assert!(header.width <= format::MAX_SIDE && header.height <= format::MAX_SIDE);
    }
    let metadata = exif::read(bytes);
    if let Some(geotag) = metadata.geotag {
        assert!(geotag.latitude.abs() <= 90.0 && geotag.longitude.abs() <= 180.0, "{geotag:?}");
        assert!(geotag.latitude != 0.0 || geotag.longitude != 0.0);
    }
    if let Some(orientation) = metadata.orientation {
        assert!((1..=8).contains(&orientation));
    }
    if let Ok(info) = photo::inspect(bytes) {
        assert!(header.is_ok());
        assert_eq!(info.metadata, metadata);
    }
    if let Ok(checked) = clean::check(bytes) {
        assert_eq!(checked.header.format, format::Format::Jpeg);
        assert!(metadata.geotag.is_none(), "a clean JPEG carries no GPS");
    }
    if let Ok(prepared) = photo::prepare(bytes) {
        assert!(prepared.width.max(prepared.height) <= RENDITION_LONG_EDGE);
        assert!(prepared.width > 0 && prepared.height > 0);
        assert_eq!(prepared.sha256, photo::sha256_hex(&prepared.rendition));
        // The server refuses a rendition that is not clean: ours must pass.
        let checked = clean::check(&prepared.rendition).expect("our rendition is a clean JPEG");
        assert_eq!((checked.header.width, checked.header.height), (prepared.width, prepared.height));
        let thumbnail = format::read_header(&prepared.thumbnail).expect("our thumbnail has a header");
        assert!(thumbnail.width.max(thumbnail.height) <= THUMBNAIL_LONG_EDGE);
        assert_eq!(exif::read(&prepared.rendition), exif::PhotoMetadata::default(), "no metadata survives");
    }
});
