//! The console's static files, compiled into the binary so that it runs
//! on an intranet with no internet at all: its stylesheet and script, its
//! icon, and Leaflet (vendored from npm with its licence, see
//! `sync-server/assets/vendor/leaflet/README.md`).

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

use crate::error::Error;
use crate::http::extract::Path;

macro_rules! asset {
    ($path:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/", $path))
    };
}

/// Every file under `/console/assets/`, with its type.
const ASSETS: &[(&str, &str, &[u8])] = &[
    ("console.css", "text/css; charset=utf-8", asset!("console.css")),
    ("console.js", "text/javascript; charset=utf-8", asset!("console.js")),
    ("favicon.svg", "image/svg+xml", asset!("favicon.svg")),
    ("vendor/leaflet/leaflet.js", "text/javascript; charset=utf-8", asset!("vendor/leaflet/leaflet.js")),
    ("vendor/leaflet/leaflet.css", "text/css; charset=utf-8", asset!("vendor/leaflet/leaflet.css")),
    ("vendor/leaflet/images/layers.png", "image/png", asset!("vendor/leaflet/images/layers.png")),
    ("vendor/leaflet/images/layers-2x.png", "image/png", asset!("vendor/leaflet/images/layers-2x.png")),
    ("vendor/leaflet/images/marker-icon.png", "image/png", asset!("vendor/leaflet/images/marker-icon.png")),
    ("vendor/leaflet/images/marker-icon-2x.png", "image/png", asset!("vendor/leaflet/images/marker-icon-2x.png")),
    ("vendor/leaflet/images/marker-shadow.png", "image/png", asset!("vendor/leaflet/images/marker-shadow.png")),
];

fn answer(content_type: &'static str, bytes: &'static [u8]) -> Response {
    // An hour: a new release's files are fetched again within one.
    ([(CONTENT_TYPE, content_type), (CACHE_CONTROL, "public, max-age=3600")], bytes).into_response()
}

pub async fn asset(Path(path): Path<String>) -> Result<Response, Error> {
    ASSETS
        .iter()
        .find(|(name, _, _)| *name == path)
        .map(|(_, content_type, bytes)| answer(content_type, bytes))
        .ok_or_else(|| Error::NotFound(format!("no console asset `{path}`")))
}

/// Browsers ask for `/favicon.ico` whatever a page says; the icon is an SVG.
pub async fn favicon() -> Response {
    answer("image/svg+xml", asset!("favicon.svg"))
}
