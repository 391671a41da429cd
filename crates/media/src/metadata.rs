//! EXIF metadata that can tie a photo to a device, a person, a time and a place.
//!
//! Read with `kamadak-exif` from JPEG, TIFF, PNG (`eXIf`), WebP (`EXIF`) and HEIF
//! containers. Only standard EXIF 2.3+ tags are read: serial numbers kept only in a
//! maker's private *MakerNote* (older Canon and Nikon bodies) are not decoded. A
//! malformed EXIF block is reported as text next to the image's other facts; it never
//! fails the image and never panics.

use exif::{Context, Exif, Field, In, Tag, Value};
use serde::Serialize;

/// The identifying EXIF fields of one image. Text is trimmed; absent or unreadable
/// fields are `None`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ExifInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub make: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// EXIF `BodySerialNumber` (0xA431), else DNG `CameraSerialNumber` (0xC62F).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_serial: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lens_make: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lens_model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lens_serial: Option<String>,
    /// `DateTimeOriginal` (else `DateTime`) as `YYYY-MM-DDTHH:MM:SS[.fff]`, local time of
    /// the camera.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capture_time: Option<String>,
    /// The matching `OffsetTimeOriginal` (else `OffsetTime`), `±HH:MM`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capture_offset: Option<String>,
    /// Decimal degrees, north positive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gps_latitude: Option<f64>,
    /// Decimal degrees, east positive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gps_longitude: Option<f64>,
    /// Metres; negative below sea level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gps_altitude: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub software: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artist: Option<String>,
    /// EXIF `CameraOwnerName` (0xA430).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copyright: Option<String>,
    /// EXIF `ImageUniqueID` (0xA420): some phones and cameras write a per-shot id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_unique_id: Option<String>,
    /// TIFF orientation 1–8 as recorded (the hashes are taken after applying it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orientation: Option<u16>,
}

impl ExifInfo {
    /// True when no field was found.
    pub fn is_empty(&self) -> bool {
        *self == ExifInfo::default()
    }
}

/// EXIF of a file's bytes: `Ok(None)` when there is none, `Err(message)` when there is
/// a block that cannot be parsed.
pub fn read_exif(bytes: &[u8]) -> Result<Option<ExifInfo>, String> {
    let parsed = std::panic::catch_unwind(|| {
        exif::Reader::new().read_from_container(&mut std::io::Cursor::new(bytes))
    });
    match parsed {
        Ok(Ok(exif)) => Ok(Some(extract(&exif)).filter(|e| !e.is_empty())),
        Ok(Err(exif::Error::NotFound(_))) => Ok(None),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("EXIF parser panicked".to_string()),
    }
}

/// EXIF of a bare TIFF-structured block (what follows `Exif\0\0` in a JPEG APP1).
pub fn read_exif_block(tiff: &[u8]) -> Result<Option<ExifInfo>, String> {
    let data = tiff.to_vec();
    match std::panic::catch_unwind(|| exif::Reader::new().read_raw(data)) {
        Ok(Ok(exif)) => Ok(Some(extract(&exif)).filter(|e| !e.is_empty())),
        Ok(Err(exif::Error::NotFound(_))) => Ok(None),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("EXIF parser panicked".to_string()),
    }
}

fn field(exif: &Exif, tag: Tag) -> Option<&Field> {
    exif.get_field(tag, In::PRIMARY)
}

/// First ASCII string of a field, trimmed of NULs and blanks; `None` if empty.
fn text(exif: &Exif, tag: Tag) -> Option<String> {
    let f = field(exif, tag)?;
    let raw: &[u8] = match &f.value {
        Value::Ascii(parts) => parts.iter().find(|p| !p.is_empty())?,
        // Some writers store text tags as UNDEFINED bytes.
        Value::Undefined(bytes, _) | Value::Byte(bytes) => bytes,
        _ => return None,
    };
    let s = String::from_utf8_lossy(raw);
    let s = s.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!s.is_empty()).then(|| s.to_string())
}

fn rationals(exif: &Exif, tag: Tag) -> Option<Vec<f64>> {
    match &field(exif, tag)?.value {
        Value::Rational(v) => v
            .iter()
            .map(|r| (r.denom != 0).then(|| f64::from(r.num) / f64::from(r.denom)))
            .collect(),
        Value::SRational(v) => v
            .iter()
            .map(|r| (r.denom != 0).then(|| f64::from(r.num) / f64::from(r.denom)))
            .collect(),
        _ => None,
    }
}

/// Degrees, minutes, seconds and a reference letter → signed decimal degrees.
fn coordinate(exif: &Exif, value: Tag, reference: Tag, negative: u8, max: f64) -> Option<f64> {
    let dms = rationals(exif, value)?;
    let deg = match dms.as_slice() {
        [d, m, s, ..] => d + m / 60.0 + s / 3600.0,
        [d, m] => d + m / 60.0,
        [d] => *d,
        [] => return None,
    };
    let r = text(exif, reference)?;
    let sign = match r.as_bytes().first()?.to_ascii_uppercase() {
        c if c == negative => -1.0,
        b'N' | b'E' => 1.0,
        _ => return None,
    };
    (deg.is_finite() && deg <= max).then_some(sign * deg)
}

fn capture_time(exif: &Exif, tag: Tag) -> Option<String> {
    let f = field(exif, tag)?;
    let Value::Ascii(parts) = &f.value else {
        return None;
    };
    let dt = exif::DateTime::from_ascii(parts.first()?).ok()?;
    if dt.year == 0 || dt.month == 0 || dt.day == 0 {
        // "0000:00:00 00:00:00" is what cameras write when the clock was never set.
        return None;
    }
    let mut s = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second
    );
    let sub = match tag {
        Tag::DateTimeOriginal => text(exif, Tag::SubSecTimeOriginal),
        _ => text(exif, Tag::SubSecTime),
    };
    if let Some(sub) = sub.filter(|s| s.bytes().all(|b| b.is_ascii_digit())) {
        s.push('.');
        s.push_str(&sub);
    }
    Some(s)
}

/// `±HH:MM` with hours ≤ 14 and minutes < 60.
fn offset(exif: &Exif, tag: Tag) -> Option<String> {
    let s = text(exif, tag)?;
    let b = s.as_bytes();
    let ok = b.len() == 6
        && (b[0] == b'+' || b[0] == b'-')
        && b[3] == b':'
        && [1, 2, 4, 5].iter().all(|&i| b[i].is_ascii_digit());
    if !ok {
        return None;
    }
    let hours: u32 = s[1..3].parse().ok()?;
    let minutes: u32 = s[4..6].parse().ok()?;
    (hours <= 14 && minutes < 60).then_some(s)
}

fn extract(exif: &Exif) -> ExifInfo {
    let (time, time_offset) = match capture_time(exif, Tag::DateTimeOriginal) {
        Some(t) => (Some(t), offset(exif, Tag::OffsetTimeOriginal)),
        None => (
            capture_time(exif, Tag::DateTime),
            offset(exif, Tag::OffsetTime),
        ),
    };
    let altitude = rationals(exif, Tag::GPSAltitude)
        .and_then(|v| v.first().copied())
        .filter(|a| a.is_finite())
        .map(
            |a| match field(exif, Tag::GPSAltitudeRef).and_then(|f| f.value.get_uint(0)) {
                Some(1) => -a,
                _ => a,
            },
        );
    let latitude = coordinate(exif, Tag::GPSLatitude, Tag::GPSLatitudeRef, b'S', 90.0);
    let longitude = coordinate(exif, Tag::GPSLongitude, Tag::GPSLongitudeRef, b'W', 180.0);
    // A position is one fact: keep latitude and longitude only as a pair.
    let (latitude, longitude) = match (latitude, longitude) {
        (Some(a), Some(b)) => (Some(a), Some(b)),
        _ => (None, None),
    };
    ExifInfo {
        make: text(exif, Tag::Make),
        model: text(exif, Tag::Model),
        body_serial: text(exif, Tag::BodySerialNumber)
            .or_else(|| text(exif, Tag(Context::Tiff, 0xC62F))),
        lens_make: text(exif, Tag::LensMake),
        lens_model: text(exif, Tag::LensModel),
        lens_serial: text(exif, Tag::LensSerialNumber),
        capture_time: time,
        capture_offset: time_offset,
        gps_latitude: latitude,
        gps_longitude: longitude,
        gps_altitude: altitude.filter(|_| latitude.is_some()),
        software: text(exif, Tag::Software),
        artist: text(exif, Tag::Artist),
        owner_name: text(exif, Tag::CameraOwnerName),
        copyright: text(exif, Tag::Copyright),
        image_unique_id: text(exif, Tag::ImageUniqueID),
        orientation: field(exif, Tag::Orientation)
            .and_then(|f| f.value.get_uint(0))
            .and_then(|o| u16::try_from(o).ok())
            .filter(|o| (1..=8).contains(o)),
    }
}
