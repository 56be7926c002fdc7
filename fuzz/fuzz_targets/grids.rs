//! The GeoJSON grid import, on arbitrary text: parsed in each coordinate
//! system; every cell that comes out is a valid WGS-84 polygon whose
//! bounding box holds it, and the index built from the cells places a
//! point of each cell's box without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use suishoupai_core::Crs;
use suishoupai_server::services::grids;

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else { return };
    for crs in [Crs::Wgs84, Crs::Gcj02, Crs::Bd09] {
        let Ok(cells) = grids::parse(text, crs) else { continue };
        for cell in &cells {
            let [min_lat, max_lat, min_lon, max_lon] = cell.bbox;
            assert!(min_lat <= max_lat && min_lon <= max_lon, "{:?}", cell.bbox);
            assert!((-90.0..=90.0).contains(&min_lat) && (-90.0..=90.0).contains(&max_lat), "{:?}", cell.bbox);
            assert!((-180.0..=180.0).contains(&min_lon) && (-180.0..=180.0).contains(&max_lon), "{:?}", cell.bbox);
            let geometry: geojson::Geometry = cell.geometry.parse().expect("the stored geometry is GeoJSON");
            assert!(matches!(geometry.value, geojson::GeometryValue::MultiPolygon { .. }), "{}", cell.geometry);
        }
        let index = grids::GridIndex::from_cells(cells.clone()).expect("parsed cells index");
        for cell in &cells {
            let [min_lat, max_lat, min_lon, max_lon] = cell.bbox;
            let _ = index.place((min_lat + max_lat) / 2.0, (min_lon + max_lon) / 2.0);
        }
    }
});
