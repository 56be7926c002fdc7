//! What the console's map draws, as one GeoJSON FeatureCollection handed
//! to the page inside it: grid cells and case points. Coordinates are
//! stored in WGS-84; when the deployment's tiles are in GCJ-02 (AMap's and
//! Tencent's styles) every coordinate is converted here with the core's
//! [`convert`], so that a point sits on the right street of those tiles.

use serde_json::{Value, json};
use suishoupai_core::Crs;
use suishoupai_core::domain::geo::{LatLon, convert};

use crate::storage::GridCell;

/// A case as a point on the map.
pub struct Point<'a> {
    pub id: &'a str,
    pub latitude: f64,
    pub longitude: f64,
    pub status: &'a str,
    pub label: String,
    pub overdue: bool,
}

/// `[lon, lat]` positions converted from WGS-84 to `crs`, at any depth.
fn converted(coordinates: &Value, crs: Crs) -> Value {
    match coordinates {
        Value::Array(items) if items.len() >= 2 && items.iter().all(Value::is_number) => {
            let (lon, lat) = (items[0].as_f64().unwrap_or_default(), items[1].as_f64().unwrap_or_default());
            let to = convert(LatLon { latitude: lat, longitude: lon }, Crs::Wgs84, crs);
            json!([to.longitude, to.latitude])
        }
        Value::Array(items) => Value::Array(items.iter().map(|c| converted(c, crs)).collect()),
        other => other.clone(),
    }
}

/// The map's data in the tiles' coordinate system, as JSON text safe to
/// put inside a `<script type="application/json">` element.
pub fn features(cells: &[GridCell], points: &[Point], crs: Crs) -> String {
    let mut features = Vec::with_capacity(cells.len() + points.len());
    for cell in cells {
        let Ok(mut geometry) = serde_json::from_str::<Value>(&cell.geometry) else { continue };
        if crs != Crs::Wgs84
            && let Some(coordinates) = geometry.get("coordinates")
        {
            geometry["coordinates"] = converted(coordinates, crs);
        }
        features.push(json!({
            "type": "Feature",
            "geometry": geometry,
            "properties": { "kind": "cell", "grid_id": cell.grid_id, "name": cell.name, "street_office": cell.street_office },
        }));
    }
    for p in points {
        let at = convert(LatLon { latitude: p.latitude, longitude: p.longitude }, Crs::Wgs84, crs);
        features.push(json!({
            "type": "Feature",
            "geometry": { "type": "Point", "coordinates": [at.longitude, at.latitude] },
            "properties": { "kind": "case", "id": p.id, "status": p.status, "label": p.label, "overdue": p.overdue },
        }));
    }
    script_safe(&json!({ "type": "FeatureCollection", "features": features }).to_string())
}

/// JSON that cannot end the script element it sits in, nor open a comment.
pub fn script_safe(json: &str) -> String {
    json.replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_move_to_gcj02_and_text_cannot_close_the_script() {
        let p = Point { id: "a", latitude: 34.33, longitude: 108.70, status: "dispatched", label: "</script><b>".into(), overdue: false };
        let wgs: Value = serde_json::from_str(&features(&[], std::slice::from_ref(&p), Crs::Wgs84)).unwrap();
        let gcj: Value = serde_json::from_str(&features(&[], &[p], Crs::Gcj02)).unwrap();
        let lon = |v: &Value| v["features"][0]["geometry"]["coordinates"][0].as_f64().unwrap();
        assert_eq!(lon(&wgs), 108.70);
        // GCJ-02 is offset by a few hundred metres around Xi'an.
        assert!((lon(&gcj) - 108.70).abs() > 0.001 && (lon(&gcj) - 108.70).abs() < 0.01, "{}", lon(&gcj));
        let text = features(
            &[],
            &[Point { id: "b", latitude: 1.0, longitude: 1.0, status: "x", label: "</script>".into(), overdue: true }],
            Crs::Wgs84,
        );
        assert!(!text.contains("</script>") && text.contains("\\u003c/script"));
    }
}
