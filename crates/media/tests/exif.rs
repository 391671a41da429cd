//! EXIF: fields read exactly from a block built by hand, orientation applied before
//! hashing, and malformed blocks never panicking.

mod common;

use common::{ascii, jpeg, jpeg_with_exif, picture, png_chunk, rationals, short, tiff_block};
use proptest::prelude::*;
use spirit_media::metadata::{read_exif, read_exif_block};
use spirit_media::picture::{Limits, inspect_bytes};

/// A full block: the camera, the lens, the owner, the time with offset, and a position
/// of 51°30'26.46"N 0°7'39.9"W, 35.5 m.
fn full_block(orientation: u16) -> Vec<u8> {
    tiff_block(
        vec![
            ascii(0x010F, "Canon"),
            ascii(0x0110, "Canon EOS 5D Mark IV"),
            ascii(0x0131, "Adobe Photoshop 25.0"),
            ascii(0x013B, "J. Doe"),
            ascii(0x8298, "(c) J. Doe 2024"),
            short(0x0112, orientation),
            ascii(0x0132, "2024:06:02 10:00:00"),
        ],
        vec![
            ascii(0x9003, "2024:05:01 12:34:56"),
            ascii(0x9011, "+02:00"),
            ascii(0x9291, "250"),
            ascii(0xA430, "John Doe"),
            ascii(0xA431, "032024001234"),
            ascii(0xA433, "Canon"),
            ascii(0xA434, "EF24-70mm f/2.8L II USM"),
            ascii(0xA435, "0000c15d3f"),
            ascii(0xA420, "F4A1B2C3D4E5F60718293A4B5C6D7E8F"),
        ],
        vec![
            ascii(0x0001, "N"),
            rationals(0x0002, &[(51, 1), (30, 1), (2646, 100)]),
            ascii(0x0003, "W"),
            rationals(0x0004, &[(0, 1), (7, 1), (399, 10)]),
            altitude(),
        ],
    )
}

#[allow(non_snake_case)]
fn altitude() -> common::Entry {
    rationals(0x0006, &[(355, 10)])
}

#[test]
fn fields_are_read_exactly() {
    let img = picture(4, 120, 80);
    let bytes = jpeg_with_exif(&jpeg(&img, 90), &full_block(1));
    let report = inspect_bytes("camera.jpg", &bytes, &Limits::default()).expect("inspect");
    assert_eq!(report.exif_error, None);
    let e = report.exif.expect("EXIF present");
    assert_eq!(e.make.as_deref(), Some("Canon"));
    assert_eq!(e.model.as_deref(), Some("Canon EOS 5D Mark IV"));
    assert_eq!(e.body_serial.as_deref(), Some("032024001234"));
    assert_eq!(e.lens_make.as_deref(), Some("Canon"));
    assert_eq!(e.lens_model.as_deref(), Some("EF24-70mm f/2.8L II USM"));
    assert_eq!(e.lens_serial.as_deref(), Some("0000c15d3f"));
    assert_eq!(e.owner_name.as_deref(), Some("John Doe"));
    assert_eq!(e.artist.as_deref(), Some("J. Doe"));
    assert_eq!(e.copyright.as_deref(), Some("(c) J. Doe 2024"));
    assert_eq!(e.software.as_deref(), Some("Adobe Photoshop 25.0"));
    assert_eq!(
        e.image_unique_id.as_deref(),
        Some("F4A1B2C3D4E5F60718293A4B5C6D7E8F")
    );
    assert_eq!(e.capture_time.as_deref(), Some("2024-05-01T12:34:56.250"));
    assert_eq!(e.capture_offset.as_deref(), Some("+02:00"));
    let lat = e.gps_latitude.expect("latitude");
    let lon = e.gps_longitude.expect("longitude");
    assert!(
        (lat - (51.0 + 30.0 / 60.0 + 26.46 / 3600.0)).abs() < 1e-9,
        "{lat}"
    );
    assert!((lon + (7.0 / 60.0 + 39.9 / 3600.0)).abs() < 1e-9, "{lon}");
    assert!((e.gps_altitude.expect("altitude") - 35.5).abs() < 1e-9);
    assert_eq!(e.orientation, Some(1));
    // The JSON the CLI prints carries the same values.
    let json = serde_json::to_value(&e).expect("json");
    assert_eq!(json["body_serial"], "032024001234");
    assert_eq!(json["capture_offset"], "+02:00");
}

#[test]
fn exif_in_a_png_is_read() {
    let png = common::encode(&picture(6, 50, 40), image::ImageFormat::Png);
    // Insert an eXIf chunk after IHDR (8-byte signature + 25-byte IHDR chunk).
    let mut out = png[..33].to_vec();
    out.extend_from_slice(&png_chunk(b"eXIf", &full_block(1)));
    out.extend_from_slice(&png[33..]);
    let e = read_exif(&out).expect("parse").expect("present");
    assert_eq!(e.body_serial.as_deref(), Some("032024001234"));
}

#[test]
fn orientation_is_applied_before_hashing() {
    // Orientation 6: the stored pixels must be turned 90° clockwise to be viewed upright.
    let upright = picture(8, 160, 100);
    let stored = upright.rotate270();
    let with_tag = jpeg_with_exif(&jpeg(&stored, 95), &full_block(6));
    let r = inspect_bytes("rotated.jpg", &with_tag, &Limits::default()).expect("inspect");
    assert_eq!((r.width, r.height), (160, 100), "dimensions as viewed");
    let plain =
        inspect_bytes("upright.jpg", &jpeg(&upright, 95), &Limits::default()).expect("inspect");
    let d = r.hashes.phash_distance(&plain.hashes);
    assert!(
        d <= 4,
        "pHash distance between stored-rotated and upright copies: {d}"
    );
}

#[test]
fn absent_invalid_and_unset_values_are_none() {
    let block = tiff_block(
        vec![ascii(0x010F, "  "), ascii(0x0110, "Pixel 7\0\0")],
        vec![
            ascii(0x9003, "0000:00:00 00:00:00"),
            ascii(0x9011, "+99:00"),
        ],
        // Latitude with a zero denominator; longitude without its reference.
        vec![
            ascii(0x0001, "N"),
            rationals(0x0002, &[(51, 0), (30, 1), (0, 1)]),
            rationals(0x0004, &[(1, 1), (0, 1), (0, 1)]),
        ],
    );
    let e = read_exif_block(&block).expect("parse").expect("present");
    assert_eq!(e.make, None, "blank text is absent");
    assert_eq!(e.model.as_deref(), Some("Pixel 7"));
    assert_eq!(e.capture_time, None, "an unset clock is no time");
    assert_eq!(e.capture_offset, None);
    assert_eq!((e.gps_latitude, e.gps_longitude), (None, None));
    // A JPEG without EXIF.
    assert_eq!(
        read_exif(&jpeg(&picture(1, 16, 16), 80)).expect("no error"),
        None
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_blocks_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = read_exif_block(&bytes);
        let mut tiff = b"II*\0\x08\0\0\0".to_vec();
        tiff.extend_from_slice(&bytes);
        let _ = read_exif_block(&tiff);
    }

    /// Truncated and corrupted versions of a valid block, alone and inside a JPEG.
    #[test]
    fn damaged_blocks_never_panic(
        cut in 0usize..700,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..12),
    ) {
        let mut block = full_block(3);
        for (i, b) in flips {
            let at = i.index(block.len());
            block[at] ^= b;
        }
        block.truncate(cut.min(block.len()));
        let _ = read_exif_block(&block);
        let bytes = jpeg_with_exif(&jpeg(&picture(2, 24, 16), 80), &block);
        match inspect_bytes("damaged.jpg", &bytes, &Limits::default()) {
            Ok(_) => {}
            Err(e) => prop_assert!(e.to_string().starts_with("damaged.jpg")),
        }
    }
}
