//! Coordinate reference systems used by map apps in mainland China.
//!
//! Chinese map providers display coordinates in obfuscated datums: GCJ-02
//! (AMap/Gaode, Tencent, Google China) or BD-09 (Baidu). Raw GPS fixes are
//! WGS-84, so we store WGS-84 and convert only at the boundary, when reading
//! from or handing points to such an app. The forward transforms are the
//! well-known public formulas (wandergis/coordtransform,
//! googollee/eviltransform); the inverses have no closed form and are solved
//! numerically.

use std::f64::consts::PI;
use std::fmt;
use std::str::FromStr;

/// A coordinate reference system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Crs {
    Wgs84,
    Gcj02,
    Bd09,
}

impl Crs {
    pub fn code(self) -> &'static str {
        match self {
            Crs::Wgs84 => "wgs84",
            Crs::Gcj02 => "gcj02",
            Crs::Bd09 => "bd09",
        }
    }
}

/// Error returned when parsing an unrecognised CRS code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownCrs(pub String);

impl fmt::Display for UnknownCrs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown coordinate system `{}` (expected wgs84, gcj02 or bd09)", self.0)
    }
}

impl std::error::Error for UnknownCrs {}

impl FromStr for Crs {
    type Err = UnknownCrs;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "wgs84" => Ok(Crs::Wgs84),
            "gcj02" => Ok(Crs::Gcj02),
            "bd09" => Ok(Crs::Bd09),
            _ => Err(UnknownCrs(s.to_string())),
        }
    }
}

/// A point in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatLon {
    pub latitude: f64,
    pub longitude: f64,
}

// Krasovsky 1940 ellipsoid, as baked into the GCJ-02 algorithm.
const GCJ_A: f64 = 6378245.0;
// The constant as published (more digits than an f64 holds), so that it
// can be compared with the reference text.
#[allow(clippy::excessive_precision)]
const GCJ_EE: f64 = 0.00669342162296594323;
const X_PI: f64 = PI * 3000.0 / 180.0;

const INVERSE_TOLERANCE_DEG: f64 = 1e-12;
const INVERSE_MAX_ITERATIONS: usize = 30;

/// Convert `point` from one CRS to another.
pub fn convert(point: LatLon, from: Crs, to: Crs) -> LatLon {
    use Crs::*;
    match (from, to) {
        (Wgs84, Wgs84) | (Gcj02, Gcj02) | (Bd09, Bd09) => point,
        (Wgs84, Gcj02) => wgs84_to_gcj02(point),
        (Gcj02, Bd09) => gcj02_to_bd09(point),
        (Wgs84, Bd09) => wgs84_to_bd09(point),
        (Gcj02, Wgs84) => invert(wgs84_to_gcj02, point),
        (Bd09, Gcj02) => invert(gcj02_to_bd09, point),
        // Inverting the composition directly (rather than chaining two
        // inverses) keeps forward(inverse(p)) == p as tight as possible.
        (Bd09, Wgs84) => invert(wgs84_to_bd09, point),
    }
}

/// Great-circle distance in metres (haversine, mean Earth radius).
pub fn distance_m(a: LatLon, b: LatLon) -> f64 {
    const R: f64 = 6371008.8;
    let phi1 = a.latitude.to_radians();
    let phi2 = b.latitude.to_radians();
    let dphi = (b.latitude - a.latitude).to_radians();
    let dlambda = (b.longitude - a.longitude).to_radians();
    let h = (dphi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (dlambda / 2.0).sin().powi(2);
    // Clamp guards against rounding pushing h a hair above 1 for antipodes.
    2.0 * R * h.sqrt().min(1.0).asin()
}

fn out_of_china(p: LatLon) -> bool {
    let (lng, lat) = (p.longitude, p.latitude);
    !(72.004..=137.8347).contains(&lng) || !(0.8293..=55.8271).contains(&lat)
}

fn transform_lat(lng: f64, lat: f64) -> f64 {
    let mut ret = -100.0 + 2.0 * lng + 3.0 * lat + 0.2 * lat * lat + 0.1 * lng * lat + 0.2 * lng.abs().sqrt();
    ret += (20.0 * (6.0 * lng * PI).sin() + 20.0 * (2.0 * lng * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (lat * PI).sin() + 40.0 * (lat / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (160.0 * (lat / 12.0 * PI).sin() + 320.0 * (lat * PI / 30.0).sin()) * 2.0 / 3.0;
    ret
}

fn transform_lng(lng: f64, lat: f64) -> f64 {
    let mut ret = 300.0 + lng + 2.0 * lat + 0.1 * lng * lng + 0.1 * lng * lat + 0.1 * lng.abs().sqrt();
    ret += (20.0 * (6.0 * lng * PI).sin() + 20.0 * (2.0 * lng * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (lng * PI).sin() + 40.0 * (lng / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (150.0 * (lng / 12.0 * PI).sin() + 300.0 * (lng / 30.0 * PI).sin()) * 2.0 / 3.0;
    ret
}

fn wgs84_to_gcj02(p: LatLon) -> LatLon {
    // GCJ-02 is only applied inside the (rough) bounding box of China.
    if out_of_china(p) {
        return p;
    }
    let (lng, lat) = (p.longitude, p.latitude);
    let mut dlat = transform_lat(lng - 105.0, lat - 35.0);
    let mut dlng = transform_lng(lng - 105.0, lat - 35.0);
    let radlat = lat / 180.0 * PI;
    let magic = 1.0 - GCJ_EE * radlat.sin() * radlat.sin();
    let sqrtmagic = magic.sqrt();
    dlat = (dlat * 180.0) / ((GCJ_A * (1.0 - GCJ_EE)) / (magic * sqrtmagic) * PI);
    dlng = (dlng * 180.0) / (GCJ_A / sqrtmagic * radlat.cos() * PI);
    LatLon { latitude: lat + dlat, longitude: lng + dlng }
}

fn gcj02_to_bd09(p: LatLon) -> LatLon {
    let (x, y) = (p.longitude, p.latitude);
    let z = (x * x + y * y).sqrt() + 0.00002 * (y * X_PI).sin();
    let theta = y.atan2(x) + 0.000003 * (x * X_PI).cos();
    LatLon { latitude: z * theta.sin() + 0.006, longitude: z * theta.cos() + 0.0065 }
}

fn wgs84_to_bd09(p: LatLon) -> LatLon {
    gcj02_to_bd09(wgs84_to_gcj02(p))
}

/// Solve `forward(x) == target` by fixed-point iteration.
///
/// Both forward maps are the identity plus a small, slowly varying offset,
/// so subtracting the residual converges quickly (a few iterations to 1e-12).
/// The published one-step inverses are only accurate to a few metres.
fn invert(forward: fn(LatLon) -> LatLon, target: LatLon) -> LatLon {
    let mut x = target;
    for _ in 0..INVERSE_MAX_ITERATIONS {
        let y = forward(x);
        let dlat = y.latitude - target.latitude;
        let dlng = y.longitude - target.longitude;
        x.latitude -= dlat;
        x.longitude -= dlng;
        if dlat.abs() < INVERSE_TOLERANCE_DEG && dlng.abs() < INVERSE_TOLERANCE_DEG {
            break;
        }
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    const EPS: f64 = 1e-9;

    fn ll(latitude: f64, longitude: f64) -> LatLon {
        LatLon { latitude, longitude }
    }

    fn assert_close(actual: LatLon, expected: LatLon, eps: f64, what: &str) {
        let dlat = (actual.latitude - expected.latitude).abs();
        let dlng = (actual.longitude - expected.longitude).abs();
        assert!(dlat < eps && dlng < eps, "{what}: got {actual:?}, expected {expected:?} (dlat {dlat:e}, dlng {dlng:e})");
    }

    /// Grid across mainland China, kept clear of the out_of_china box edges.
    fn china_grid() -> Vec<LatLon> {
        let mut pts = Vec::new();
        let mut lat = 18.0;
        while lat <= 53.5 {
            let mut lng = 74.0;
            while lng <= 134.5 {
                pts.push(ll(lat, lng));
                lng += 1.37;
            }
            lat += 0.93;
        }
        pts
    }

    #[test]
    fn readme_reference_vectors() {
        assert_close(convert(ll(39.915, 116.404), Crs::Wgs84, Crs::Gcj02), ll(39.91640428150164, 116.41024449916938), EPS, "wgs84togcj02");
        assert_close(convert(ll(39.915, 116.404), Crs::Gcj02, Crs::Bd09), ll(39.92133699351022, 116.41036949371029), EPS, "gcj02tobd09");
    }

    #[test]
    fn python_reference_values() {
        // Generated by /tmp/geo_ref.py, an independent Python transcription of
        // the public formulas. Columns: name, lat, lon, wgs84->gcj02,
        // gcj02->bd09 (input taken as GCJ-02), wgs84->bd09; pairs are (lat, lon).
        type Case = (&'static str, f64, f64, (f64, f64), (f64, f64), (f64, f64));
        #[rustfmt::skip]
        let cases: [Case; 6] = [
            ("Beijing", 39.9042, 116.4074, (39.90560334316507, 116.41364225378803), (39.91052191963313, 116.41378503407047), (39.91186533561899, 116.42004633029816)),
            ("Shanghai", 31.2304, 121.4737, (31.22845773757727, 121.47822305927693), (31.236334819793708, 121.48023740342614), (31.234310593689997, 121.484781468503)),
            ("Guangzhou", 23.1291, 113.2644, (23.126423339922844, 113.26972959210308), (23.13532860729331, 113.27083292703821), (23.13271125723948, 113.27615075157122)),
            ("Chengdu", 30.5728, 104.0668, (30.570346141080414, 104.06930547724922), (30.57884648835962, 104.07326572102076), (30.576351856151092, 104.07578295683295)),
            ("Urumqi", 43.8256, 87.6168, (43.82680539311119, 87.61964994946926), (43.83177625779309, 87.62323360789793), (43.83294979479328, 87.62609977081571)),
            ("Harbin", 45.8038, 126.535, (45.80578152514843, 126.54104035015793), (45.8094268777196, 126.54161490510698), (45.81139582294028, 126.54765921413988)),
        ];
        for (name, lat, lon, gcj, bd, wbd) in cases {
            let p = ll(lat, lon);
            assert_close(convert(p, Crs::Wgs84, Crs::Gcj02), ll(gcj.0, gcj.1), EPS, name);
            assert_close(convert(p, Crs::Gcj02, Crs::Bd09), ll(bd.0, bd.1), EPS, name);
            assert_close(convert(p, Crs::Wgs84, Crs::Bd09), ll(wbd.0, wbd.1), EPS, name);
        }
    }

    #[test]
    fn inverse_then_forward_is_identity() {
        let pairs = [(Crs::Gcj02, Crs::Wgs84), (Crs::Bd09, Crs::Gcj02), (Crs::Bd09, Crs::Wgs84)];
        let grid = china_grid();
        assert!(grid.len() > 500);
        for p in grid {
            for (from, to) in pairs {
                let back = convert(convert(p, from, to), to, from);
                assert_close(back, p, EPS, &format!("{from:?}->{to:?}->{from:?}"));
            }
        }
    }

    #[test]
    fn forward_then_inverse_round_trips_in_metres() {
        let pairs = [(Crs::Wgs84, Crs::Gcj02), (Crs::Gcj02, Crs::Bd09), (Crs::Wgs84, Crs::Bd09)];
        let mut worst: f64 = 0.0;
        for p in china_grid() {
            for (from, to) in pairs {
                let back = convert(convert(p, from, to), to, from);
                let d = distance_m(p, back);
                worst = worst.max(d);
                assert!(d < 0.01, "{from:?}->{to:?}->{from:?} at {p:?}: {d} m");
            }
        }
        assert!(worst < 1e-3, "worst round trip {worst} m");
    }

    #[test]
    fn gcj_offset_is_hundreds_of_metres_in_china() {
        // Guards against the transform silently becoming the identity.
        let p = ll(39.9042, 116.4074);
        let d = distance_m(p, convert(p, Crs::Wgs84, Crs::Gcj02));
        assert!(d > 100.0 && d < 1000.0, "{d}");
    }

    #[test]
    fn outside_china_is_unchanged_for_gcj02() {
        let outside = [
            ll(51.5074, -0.1278),   // London
            ll(40.7128, -74.0060),  // New York
            ll(35.6762, 139.6503),  // Tokyo (east of the box)
            ll(-33.8688, 151.2093), // Sydney
            ll(56.0, 100.0),        // north of the box
            ll(0.5, 110.0),         // south of the box
            ll(40.0, 70.0),         // west of the box
        ];
        for p in outside {
            assert_eq!(convert(p, Crs::Wgs84, Crs::Gcj02), p);
            assert_eq!(convert(p, Crs::Gcj02, Crs::Wgs84), p);
        }
    }

    #[test]
    fn same_crs_returns_input() {
        let p = ll(31.2304, 121.4737);
        for c in [Crs::Wgs84, Crs::Gcj02, Crs::Bd09] {
            assert_eq!(convert(p, c, c), p);
        }
    }

    #[test]
    fn crs_codes_parse_case_insensitively() {
        for c in [Crs::Wgs84, Crs::Gcj02, Crs::Bd09] {
            assert_eq!(c.code().parse::<Crs>(), Ok(c));
            assert_eq!(c.code().to_uppercase().parse::<Crs>(), Ok(c));
        }
        assert_eq!("Gcj02".parse::<Crs>(), Ok(Crs::Gcj02));
    }

    #[test]
    fn unknown_crs_is_rejected() {
        for bad in ["", "wgs-84", "bd09ll", " wgs84", "gcj"] {
            assert_eq!(bad.parse::<Crs>(), Err(UnknownCrs(bad.to_string())));
        }
        let err = "epsg:4326".parse::<Crs>().unwrap_err();
        assert_eq!(err.to_string(), "unknown coordinate system `epsg:4326` (expected wgs84, gcj02 or bd09)");
        let _: &dyn std::error::Error = &err;
    }

    #[test]
    fn haversine_distances() {
        let p = ll(39.9042, 116.4074);
        assert_eq!(distance_m(p, p), 0.0);
        // One degree of latitude on the mean sphere is R * pi / 180.
        let one_deg = distance_m(ll(10.0, 20.0), ll(11.0, 20.0));
        assert!((one_deg - 6371008.8 * PI / 180.0).abs() < 1e-6, "{one_deg}");
        // Beijing to Shanghai is roughly 1068 km.
        let bj_sh = distance_m(p, ll(31.2304, 121.4737));
        assert!((bj_sh - 1_067_000.0).abs() < 5_000.0, "{bj_sh}");
        assert!((distance_m(p, ll(31.2304, 121.4737)) - distance_m(ll(31.2304, 121.4737), p)).abs() < 1e-9);
        // Antipodes: half the circumference.
        let anti = distance_m(ll(0.0, 0.0), ll(0.0, 180.0));
        assert!((anti - 6371008.8 * PI).abs() < 1e-6, "{anti}");
    }
}
