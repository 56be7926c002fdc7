//! 单元网格: importing a grid file, and placing a report in its cell.
//!
//! A grid file is a GeoJSON FeatureCollection of Polygon or MultiPolygon
//! features with the properties `grid_id`, `name`, `community` and
//! `street_office`, in WGS-84, GCJ-02 or BD-09; cells are stored in
//! WGS-84. A file is checked whole before anything is stored: the first
//! fault is one error that names the feature's index, and nothing is
//! imported. Placement is a bounding-box prefilter and then the `geo`
//! crate's point-in-polygon, over cells kept in memory and reloaded when
//! the stored grid changes.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use geo::{BoundingRect, Contains, Coord, LineString, MultiPolygon, Point, Polygon, Validation};
use serde_json::Value;
use suishoupai_core::Crs;
use suishoupai_core::domain::geo::{LatLon, convert};
use suishoupai_core::rules::check_label;

use crate::clock::now_rfc3339;
use crate::error::{Error, Result};
use crate::storage::{self, GridCell, ReadTxn, Storage};

/// The properties every feature must have, in the order they are checked.
const PROPERTIES: [&str; 4] = ["grid_id", "name", "community", "street_office"];

/// Largest grid file taken, in bytes (a county's grid of thousands of cells is a few MB).
pub const MAX_GRID_FILE_BYTES: usize = 16 * 1024 * 1024;

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Imported {
    /// Cells in the file.
    pub cells: usize,
    /// Of them, cells that replaced one with the same `grid_id`.
    pub replaced: usize,
}

/// A grid file that cannot be imported: which feature (if the fault is in
/// one) and what is wrong.
fn bad(index: Option<usize>, what: impl std::fmt::Display) -> Error {
    match index {
        Some(i) => Error::BadRequest(format!("features[{i}]: {what}; nothing was imported")),
        None => Error::BadRequest(format!("{what}; nothing was imported")),
    }
}

/// Reads a grid file into cells in WGS-84, or the first fault.
pub fn parse(text: &str, crs: Crs) -> Result<Vec<GridCell>> {
    let root: Value = serde_json::from_str(text).map_err(|e| bad(None, format!("the file is not JSON, so not GeoJSON ({e})")))?;
    if root.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        return Err(bad(None, "the file is not a GeoJSON FeatureCollection"));
    }
    let features =
        root.get("features").and_then(Value::as_array).ok_or_else(|| bad(None, "the FeatureCollection has no `features` array"))?;
    let mut seen = HashSet::new();
    let mut cells = Vec::with_capacity(features.len());
    for (index, feature) in features.iter().enumerate() {
        let cell = parse_feature(feature, crs).map_err(|what| bad(Some(index), what))?;
        if !seen.insert(cell.grid_id.clone()) {
            return Err(bad(Some(index), format!("duplicate grid_id `{}`", cell.grid_id)));
        }
        cells.push(cell);
    }
    Ok(cells)
}

fn parse_feature(feature: &Value, crs: Crs) -> std::result::Result<GridCell, String> {
    if feature.get("type").and_then(Value::as_str) != Some("Feature") {
        return Err("not a GeoJSON Feature".into());
    }
    let properties = feature.get("properties").and_then(Value::as_object).ok_or("has no properties")?;
    let mut values = Vec::with_capacity(PROPERTIES.len());
    for name in PROPERTIES {
        let value = match properties.get(name) {
            None | Some(Value::Null) => return Err(format!("has no `{name}` property")),
            Some(Value::String(s)) => s.trim().to_owned(),
            // Numeric codes are common in GIS exports.
            Some(Value::Number(n)) => n.to_string(),
            Some(_) => return Err(format!("`{name}` is not a string")),
        };
        check_label(name, &value).map_err(|e| e.to_string())?;
        values.push(value);
    }
    let geometry = feature.get("geometry").filter(|g| !g.is_null()).ok_or("has no geometry")?;
    let polygons = match geometry.get("type").and_then(Value::as_str) {
        Some("Polygon") => vec![parse_polygon(geometry.get("coordinates"), crs)?],
        Some("MultiPolygon") => {
            let parts = geometry.get("coordinates").and_then(Value::as_array).ok_or("MultiPolygon coordinates are not an array")?;
            if parts.is_empty() {
                return Err("MultiPolygon has no polygons".into());
            }
            parts.iter().map(|p| parse_polygon(Some(p), crs)).collect::<std::result::Result<_, _>>()?
        }
        Some(other) => return Err(format!("geometry is a {other}; a cell is a Polygon or MultiPolygon")),
        None => return Err("geometry has no type; a cell is a Polygon or MultiPolygon".into()),
    };
    let shape = MultiPolygon(polygons);
    if let Err(e) = shape.check_validation() {
        let text = e.to_string();
        return Err(if text.contains("self-intersection") || text.contains("self intersection") {
            format!("the polygon is self-intersecting ({text})")
        } else {
            format!("the polygon is not valid: {text}")
        });
    }
    let rect = shape.bounding_rect().ok_or("the polygon is empty")?;
    let geometry = serde_json::to_string(&geojson::Geometry::new(geojson::GeometryValue::from(&shape))).map_err(|e| e.to_string())?;
    let [grid_id, name, community, street_office]: [String; 4] = values.try_into().map_err(|_| "properties")?;
    Ok(GridCell { grid_id, name, community, street_office, geometry, bbox: [rect.min().y, rect.max().y, rect.min().x, rect.max().x] })
}

/// A polygon's rings as written (so that an unclosed ring is seen before
/// `geo` closes it), converted to WGS-84.
fn parse_polygon(coordinates: Option<&Value>, crs: Crs) -> std::result::Result<Polygon, String> {
    let rings = coordinates.and_then(Value::as_array).ok_or("polygon coordinates are not an array of rings")?;
    if rings.is_empty() {
        return Err("the polygon has no rings".into());
    }
    let mut converted = Vec::with_capacity(rings.len());
    for (r, ring) in rings.iter().enumerate() {
        let positions = ring.as_array().ok_or("a ring is not an array of positions")?;
        let mut coords = Vec::with_capacity(positions.len());
        for position in positions {
            let pair = position.as_array().filter(|p| p.len() >= 2).ok_or("a position is not [longitude, latitude]")?;
            let (Some(lon), Some(lat)) = (pair[0].as_f64(), pair[1].as_f64()) else {
                return Err("a position is not [longitude, latitude] numbers".into());
            };
            if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
                return Err(format!("coordinate [{lon}, {lat}] is out of range (longitude -180..180, latitude -90..90)"));
            }
            let wgs = convert(LatLon { latitude: lat, longitude: lon }, crs, Crs::Wgs84);
            coords.push(Coord { x: wgs.longitude, y: wgs.latitude });
        }
        let role = if r == 0 { "exterior" } else { "interior" };
        if coords.len() < 4 {
            return Err(format!("the {role} ring has {} positions; a closed ring needs at least 4", coords.len()));
        }
        if positions.first() != positions.last() {
            return Err(format!("the {role} ring is not closed (its last position differs from its first)"));
        }
        converted.push(LineString(coords));
    }
    let exterior = converted.remove(0);
    Ok(Polygon::new(exterior, converted))
}

/// Stores the cells, replacing those with the same ids, in one transaction.
pub fn import(storage: &dyn Storage, cells: &[GridCell]) -> Result<Imported> {
    let at = now_rfc3339();
    storage::write(storage, |tx| {
        let existing: HashSet<String> = tx.grid_cells()?.into_iter().map(|c| c.grid_id).collect();
        let mut replaced = 0;
        for cell in cells {
            replaced += usize::from(existing.contains(&cell.grid_id));
            tx.put_grid_cell(cell, &at)?;
        }
        Ok(Imported { cells: cells.len(), replaced })
    })
}

/// One cell, ready for placement.
struct IndexedCell {
    grid_id: String,
    bbox: [f64; 4],
    shape: MultiPolygon,
}

/// A stored cell's shape (always written as a MultiPolygon).
fn stored_shape(cell: &GridCell) -> std::result::Result<MultiPolygon, String> {
    let geometry: geojson::Geometry = cell.geometry.parse().map_err(|e: geojson::Error| e.to_string())?;
    MultiPolygon::try_from(&geometry.value).map_err(|e| e.to_string())
}

/// The cells in memory, for placing reports.
#[derive(Default)]
pub struct GridIndex {
    cells: Vec<IndexedCell>,
}

impl GridIndex {
    pub fn load(tx: &dyn ReadTxn) -> Result<GridIndex> {
        GridIndex::from_cells(tx.grid_cells()?)
    }

    /// The index of cells as storage holds them (their geometry read back
    /// from its stored GeoJSON); also what the grid fuzz target builds.
    pub fn from_cells(stored: impl IntoIterator<Item = GridCell>) -> Result<GridIndex> {
        let mut cells = Vec::new();
        for cell in stored {
            let shape = stored_shape(&cell).map_err(|e| Error::Internal(format!("stored grid cell {}: {e}", cell.grid_id)))?;
            cells.push(IndexedCell { grid_id: cell.grid_id, bbox: cell.bbox, shape });
        }
        Ok(GridIndex { cells })
    }

    /// The cell containing the point, if one does; where cells overlap
    /// (a badly drawn file), the first by id.
    pub fn place(&self, latitude: f64, longitude: f64) -> Option<&str> {
        let point = Point::new(longitude, latitude);
        self.cells
            .iter()
            .find(|c| {
                let [min_lat, max_lat, min_lon, max_lon] = c.bbox;
                (min_lat..=max_lat).contains(&latitude) && (min_lon..=max_lon).contains(&longitude) && c.shape.contains(&point)
            })
            .map(|c| c.grid_id.as_str())
    }

    pub fn len(&self) -> usize {
        self.cells.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }
}

/// The grid index a server keeps, reloaded when the stored grid's version
/// moves (an import by the CLI while the server runs).
#[derive(Default)]
pub struct Grids {
    cached: RwLock<Option<(i64, Arc<GridIndex>)>>,
}

impl Grids {
    /// The index as of this transaction's snapshot.
    pub fn current(&self, tx: &dyn ReadTxn) -> Result<Arc<GridIndex>> {
        let version = tx.grids_version()?;
        if let Some((v, index)) = &*self.cached.read().unwrap_or_else(|e| e.into_inner())
            && *v == version
        {
            return Ok(index.clone());
        }
        let index = Arc::new(GridIndex::load(tx)?);
        *self.cached.write().unwrap_or_else(|e| e.into_inner()) = Some((version, index.clone()));
        Ok(index)
    }
}

/// What `grid reassign` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Reassigned {
    pub reports: usize,
    pub moved: usize,
}

/// Places every located report again by the grid as it is now, on an
/// admin's word (a report's placement is otherwise kept as it arrived).
/// Reports without a location keep what they have.
pub fn reassign(storage: &dyn Storage) -> Result<Reassigned> {
    storage::write(storage, |tx| {
        let index = GridIndex::load(tx)?;
        let located = tx.located_reports()?;
        let mut moved = 0;
        for report in &located {
            let placed = index.place(report.latitude, report.longitude);
            if placed != report.grid_id.as_deref() {
                tx.set_report_grid(&report.id, placed)?;
                moved += 1;
            }
        }
        Ok(Reassigned { reports: located.len(), moved })
    })
}

#[cfg(test)]
mod tests {
    use suishoupai_core::domain::geo::distance_m;

    use super::*;

    fn square(id: &str, lon: f64, lat: f64) -> Value {
        let d = 0.01;
        serde_json::json!({
            "type": "Feature",
            "properties": { "grid_id": id, "name": format!("网格{id}"), "community": "幸福社区", "street_office": "谯楼街道" },
            "geometry": { "type": "Polygon", "coordinates": [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]] }
        })
    }

    fn collection(features: Vec<Value>) -> String {
        serde_json::json!({ "type": "FeatureCollection", "features": features }).to_string()
    }

    #[test]
    fn cells_place_points_inside_them_only() {
        let cells = parse(&collection(vec![square("a", 114.70, 32.30), square("b", 114.71, 32.30)]), Crs::Wgs84).unwrap();
        let index = GridIndex {
            cells: cells
                .iter()
                .map(|c| IndexedCell { grid_id: c.grid_id.clone(), bbox: c.bbox, shape: stored_shape(c).unwrap() })
                .collect(),
        };
        assert_eq!(index.place(32.305, 114.705), Some("a"));
        assert_eq!(index.place(32.305, 114.715), Some("b"));
        assert_eq!(index.place(32.5, 114.705), None);
    }

    #[test]
    fn a_gcj02_file_is_stored_in_wgs84() {
        let cells = parse(&collection(vec![square("a", 114.70, 32.30)]), Crs::Gcj02).unwrap();
        let [min_lat, _, min_lon, _] = cells[0].bbox;
        // GCJ-02 is offset by a few hundred metres here.
        let moved = distance_m(LatLon { latitude: 32.30, longitude: 114.70 }, LatLon { latitude: min_lat, longitude: min_lon });
        assert!((300.0..900.0).contains(&moved), "{moved} m: {:?}", cells[0].bbox);
    }

    #[test]
    fn each_fault_names_the_feature() {
        let err = |features: Vec<Value>| parse(&collection(features), Crs::Wgs84).unwrap_err().to_string();
        let mut no_id = square("b", 114.71, 32.30);
        no_id["properties"].as_object_mut().unwrap().remove("grid_id");
        assert!(err(vec![square("a", 114.70, 32.30), no_id]).starts_with("features[1]: has no `grid_id`"));
        assert!(err(vec![square("a", 114.70, 32.30), square("a", 114.71, 32.30)]).contains("features[1]: duplicate grid_id"));
        let mut open = square("b", 114.71, 32.30);
        open["geometry"]["coordinates"][0].as_array_mut().unwrap().pop();
        open["geometry"]["coordinates"][0].as_array_mut().unwrap().push(serde_json::json!([114.705, 32.305]));
        assert!(err(vec![open]).contains("features[0]: the exterior ring is not closed"));
        let mut bowtie = square("b", 114.71, 32.30);
        bowtie["geometry"]["coordinates"] = serde_json::json!([[[0.0, 0.0], [1.0, 1.0], [1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]]);
        assert!(err(vec![bowtie]).contains("self-intersecting"));
        let mut far = square("b", 114.71, 32.30);
        far["geometry"]["coordinates"][0][1] = serde_json::json!([114.7, 95.0]);
        assert!(err(vec![far]).contains("out of range"));
        assert!(parse("not json", Crs::Wgs84).unwrap_err().to_string().contains("not JSON"));
    }
}
