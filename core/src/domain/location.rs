//! Where a problem is. Stored and sent as WGS-84; the caller may give
//! GCJ-02 or BD-09 because that is what AMap, Tencent and Baidu maps hand out.

use serde::{Deserialize, Serialize};

use super::geo::{self, Crs, LatLon};
use crate::error::{Error, Result};
use crate::rules;

/// Who vouches for a location, in order of trust when several are known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LocationSource {
    /// The geotag in the photo's EXIF.
    Exif,
    /// The device's own fix at capture time.
    Device,
    /// A pin the user placed on a map.
    Manual,
}

impl LocationSource {
    pub fn code(self) -> &'static str {
        match self {
            LocationSource::Exif => "exif",
            LocationSource::Device => "device",
            LocationSource::Manual => "manual",
        }
    }

    pub fn from_code(code: &str) -> Result<Self> {
        match code {
            "exif" => Ok(LocationSource::Exif),
            "device" => Ok(LocationSource::Device),
            "manual" => Ok(LocationSource::Manual),
            other => Err(Error::InvalidInput(format!("unknown location source `{other}`"))),
        }
    }
}

/// A stored location: always WGS-84, always valid. Unknown fields are
/// refused when it is read from JSON: a `crs` sent along would otherwise be
/// dropped and a GCJ-02 point taken as WGS-84, hundreds of metres off.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
    pub source: LocationSource,
    /// Horizontal accuracy in metres, when the device reported one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy_m: Option<f64>,
}

/// A location as the caller hands it over: possibly in a Chinese map datum,
/// not yet validated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LocationInput {
    pub latitude: f64,
    pub longitude: f64,
    pub crs: Crs,
    pub accuracy_m: Option<f64>,
    /// `Device` for the phone's fix, `Manual` for a pin on a map.
    pub source: LocationSource,
}

impl LocationInput {
    /// Validates and converts to a stored WGS-84 location.
    pub fn to_location(&self) -> Result<Location> {
        rules::check_location(LatLon { latitude: self.latitude, longitude: self.longitude }, self.accuracy_m)?;
        if self.source == LocationSource::Exif {
            return Err(Error::InvalidLocation("a given location is a device fix or a manual pin, not EXIF".into()));
        }
        let wgs = geo::convert(LatLon { latitude: self.latitude, longitude: self.longitude }, self.crs, Crs::Wgs84);
        Ok(Location { latitude: wgs.latitude, longitude: wgs.longitude, source: self.source, accuracy_m: self.accuracy_m })
    }
}

/// Picks a report's location: the caller's (device fix or manual pin) wins,
/// then the first photo with a valid EXIF geotag; otherwise none, and the
/// app asks for a pin. Never invents 0,0.
pub fn resolve(given: Option<&LocationInput>, photo_geotags: impl IntoIterator<Item = Option<LatLon>>) -> Result<Option<Location>> {
    if let Some(input) = given {
        return input.to_location().map(Some);
    }
    Ok(photo_geotags.into_iter().flatten().next().map(|p| Location {
        latitude: p.latitude,
        longitude: p.longitude,
        source: LocationSource::Exif,
        accuracy_m: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(lat: f64, lon: f64, crs: Crs, source: LocationSource) -> LocationInput {
        LocationInput { latitude: lat, longitude: lon, crs, accuracy_m: Some(5.0), source }
    }

    #[test]
    fn given_location_wins_over_exif() {
        let exif = Some(LatLon { latitude: 50.0, longitude: 14.0 });
        let given = input(39.9, 116.4, Crs::Wgs84, LocationSource::Manual);
        let loc = resolve(Some(&given), [exif]).unwrap().unwrap();
        assert_eq!((loc.latitude, loc.longitude, loc.source), (39.9, 116.4, LocationSource::Manual));
    }

    #[test]
    fn first_photo_with_geotag_is_used() {
        let second = Some(LatLon { latitude: -0.37, longitude: 36.05 });
        let loc = resolve(None, [None, second, Some(LatLon { latitude: 1.0, longitude: 1.0 })]).unwrap().unwrap();
        assert_eq!((loc.latitude, loc.longitude, loc.source), (-0.37, 36.05, LocationSource::Exif));
    }

    #[test]
    fn nothing_known_means_no_location_not_null_island() {
        assert_eq!(resolve(None, [None, None]).unwrap(), None);
    }

    #[test]
    fn gcj02_input_is_stored_as_wgs84() {
        let wgs = LatLon { latitude: 39.915, longitude: 116.404 };
        let gcj = geo::convert(wgs, Crs::Wgs84, Crs::Gcj02);
        let loc = input(gcj.latitude, gcj.longitude, Crs::Gcj02, LocationSource::Device).to_location().unwrap();
        assert!(geo::distance_m(wgs, LatLon { latitude: loc.latitude, longitude: loc.longitude }) < 0.5);
    }

    #[test]
    fn out_of_range_is_refused_not_clamped() {
        for (lat, lon) in [(95.0, 10.0), (10.0, 200.0), (f64::NAN, 1.0), (1.0, f64::INFINITY)] {
            let err = input(lat, lon, Crs::Wgs84, LocationSource::Device).to_location().unwrap_err();
            assert!(matches!(err, Error::InvalidLocation(_)), "{lat},{lon}: {err}");
        }
        let mut bad_accuracy = input(1.0, 1.0, Crs::Wgs84, LocationSource::Device);
        bad_accuracy.accuracy_m = Some(-3.0);
        assert!(bad_accuracy.to_location().is_err());
    }
}
