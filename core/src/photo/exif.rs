//! What a photo's EXIF says, read defensively: a broken or hostile EXIF block
//! never fails the photo, it only loses the fields that do not check out.
//! Invalid GPS is dropped, never turned into 0,0 or clamped.

use chrono::{FixedOffset, NaiveDateTime};
use exif::{Exif, Field, In, Tag, Value};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoTag {
    /// Signed WGS-84 degrees: negative is south.
    pub latitude: f64,
    /// Signed WGS-84 degrees: negative is west.
    pub longitude: f64,
    /// Signed metres: negative is below sea level.
    pub altitude: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TakenAt {
    pub local: NaiveDateTime,
    /// The camera's UTC offset, when it recorded one (OffsetTimeOriginal).
    pub offset: Option<FixedOffset>,
}

impl TakenAt {
    /// RFC 3339 with the offset when known, e.g. `2024-03-15T09:12:33+08:00`;
    /// a local time without offset otherwise (the zone is unknown, and
    /// guessing one would move the moment).
    pub fn to_rfc3339(&self) -> String {
        let local = self.local.format("%Y-%m-%dT%H:%M:%S");
        match self.offset {
            Some(offset) => format!("{local}{offset}"),
            None => local.to_string(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PhotoMetadata {
    /// EXIF Orientation when it is one of the eight valid values.
    pub orientation: Option<u8>,
    pub geotag: Option<GeoTag>,
    pub taken_at: Option<TakenAt>,
    pub make: Option<String>,
    pub model: Option<String>,
}

/// Reads the EXIF block of a JPEG, PNG (eXIf), WebP or HEIF file. Never
/// fails: a file without readable EXIF simply has no metadata.
pub fn read(bytes: &[u8]) -> PhotoMetadata {
    let mut reader = exif::Reader::new();
    reader.continue_on_error(true);
    let parsed = match webp_exif_payload(bytes) {
        // Apple and others write WebP EXIF chunks that start with the JPEG
        // APP1 prefix "Exif\0\0"; the parser wants the bare TIFF block.
        Some(payload) => reader.read_raw(payload.strip_prefix(b"Exif\0\0").unwrap_or(payload).to_vec()),
        None => reader.read_from_container(&mut std::io::Cursor::new(bytes)),
    }
    .or_else(|e| e.distill_partial_result(|_ignored_field_errors| {}));
    match parsed {
        Ok(exif) => from_exif(&exif),
        Err(_) => PhotoMetadata::default(),
    }
}

/// The payload of a WebP file's `EXIF` chunk, if it has one.
fn webp_exif_payload(bytes: &[u8]) -> Option<&[u8]> {
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WEBP" {
        return None;
    }
    let mut pos = 12;
    while let Some(header) = bytes.get(pos..pos + 8) {
        let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
        let payload = bytes.get(pos + 8..(pos + 8).checked_add(len)?)?;
        if &header[0..4] == b"EXIF" {
            return Some(payload);
        }
        // Chunks are padded to an even length.
        pos = pos + 8 + len + (len & 1);
    }
    None
}

fn from_exif(exif: &Exif) -> PhotoMetadata {
    let field = |tag| exif.get_field(tag, In::PRIMARY);
    PhotoMetadata {
        orientation: field(Tag::Orientation).and_then(|f| f.value.get_uint(0)).filter(|o| (1..=8).contains(o)).map(|o| o as u8),
        geotag: geotag(exif),
        taken_at: field(Tag::DateTimeOriginal).and_then(ascii).and_then(|text| {
            let local = NaiveDateTime::parse_from_str(&text, "%Y:%m:%d %H:%M:%S").ok()?;
            let offset = field(Tag::OffsetTimeOriginal).and_then(ascii).and_then(|o| parse_offset(&o));
            Some(TakenAt { local, offset })
        }),
        make: field(Tag::Make).and_then(ascii),
        model: field(Tag::Model).and_then(ascii),
    }
}

fn geotag(exif: &Exif) -> Option<GeoTag> {
    let field = |tag| exif.get_field(tag, In::PRIMARY);
    let latitude = degrees(field(Tag::GPSLatitude)?)?;
    let longitude = degrees(field(Tag::GPSLongitude)?)?;
    // A missing or unknown hemisphere makes the point ambiguous: better to
    // ask the user for a pin than to place the problem on another continent.
    let lat_sign = match ascii(field(Tag::GPSLatitudeRef)?)?.as_str() {
        "N" => 1.0,
        "S" => -1.0,
        _ => return None,
    };
    let lon_sign = match ascii(field(Tag::GPSLongitudeRef)?)?.as_str() {
        "E" => 1.0,
        "W" => -1.0,
        _ => return None,
    };
    if latitude > 90.0 || longitude > 180.0 {
        return None;
    }
    // Cameras without a fix write zeros; 0,0 is open sea, not a street.
    if latitude == 0.0 && longitude == 0.0 {
        return None;
    }
    let altitude = field(Tag::GPSAltitude).and_then(|f| single_rational(&f.value)).map(|metres| {
        let below_sea_level = field(Tag::GPSAltitudeRef).and_then(|f| f.value.get_uint(0)) == Some(1);
        if below_sea_level { -metres } else { metres }
    });
    Some(GeoTag { latitude: lat_sign * latitude, longitude: lon_sign * longitude, altitude })
}

/// Degrees, minutes, seconds as three rationals. Any zero denominator or
/// missing part makes the whole value invalid.
fn degrees(field: &Field) -> Option<f64> {
    let Value::Rational(parts) = &field.value else { return None };
    if parts.is_empty() || parts.len() > 3 || parts.iter().any(|r| r.denom == 0) {
        return None;
    }
    let value: f64 = parts.iter().zip([1.0, 60.0, 3600.0]).map(|(r, scale)| r.to_f64() / scale).sum();
    value.is_finite().then_some(value)
}

fn single_rational(value: &Value) -> Option<f64> {
    match value {
        Value::Rational(v) if v.len() == 1 && v[0].denom != 0 => Some(v[0].to_f64()).filter(|x| x.is_finite()),
        _ => None,
    }
}

/// The first string of an ASCII field, trimmed of padding; none when empty.
fn ascii(field: &Field) -> Option<String> {
    let Value::Ascii(strings) = &field.value else { return None };
    let text = String::from_utf8_lossy(strings.first()?);
    let text = text.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!text.is_empty()).then(|| text.to_owned())
}

fn parse_offset(text: &str) -> Option<FixedOffset> {
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    if !(0..=14).contains(&h) || !(0..60).contains(&m) {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_parse_and_print() {
        let local = NaiveDateTime::parse_from_str("2024:03:15 09:12:33", "%Y:%m:%d %H:%M:%S").unwrap();
        let with = TakenAt { local, offset: parse_offset("+08:00") };
        assert_eq!(with.to_rfc3339(), "2024-03-15T09:12:33+08:00");
        let west = TakenAt { local, offset: parse_offset("-05:00") };
        assert_eq!(west.to_rfc3339(), "2024-03-15T09:12:33-05:00");
        let without = TakenAt { local, offset: None };
        assert_eq!(without.to_rfc3339(), "2024-03-15T09:12:33");
        assert_eq!(parse_offset("08:00"), None);
        assert_eq!(parse_offset("+25:00"), None);
    }

    #[test]
    fn garbage_is_no_metadata() {
        assert_eq!(read(b"not an image at all"), PhotoMetadata::default());
        assert_eq!(read(&[0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF, b'E']), PhotoMetadata::default());
    }
}
