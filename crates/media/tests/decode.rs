//! Decoding untrusted files: every supported format, limits before decoding, and
//! corrupt input giving a per-file error instead of a panic.

mod common;

use common::{encode, picture, png_chunk};
use image::ImageFormat;
use proptest::prelude::*;
use spirit_media::picture::{Limits, decode, inspect_bytes, inspect_file};
use spirit_media::{MediaError, hash_image};

const FORMATS: [(ImageFormat, &str); 5] = [
    (ImageFormat::Jpeg, "jpeg"),
    (ImageFormat::Png, "png"),
    (ImageFormat::WebP, "webp"),
    (ImageFormat::Gif, "gif"),
    (ImageFormat::Tiff, "tiff"),
];

#[test]
fn every_format_decodes_and_hashes_alike() {
    let img = picture(11, 320, 240);
    let reference = hash_image(&img);
    for (format, name) in FORMATS {
        let bytes = encode(&img, format);
        let report = inspect_bytes(&format!("x.{name}"), &bytes, &Limits::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(report.format, name);
        assert_eq!((report.width, report.height), (320, 240), "{name}");
        assert_eq!(report.bytes, bytes.len() as u64);
        assert_eq!(report.sha256.len(), 64);
        // GIF is palettised and JPEG lossy: near, not equal.
        let d = reference.phash_distance(&report.hashes);
        assert!(d <= 6, "{name}: pHash distance {d} from the source pixels");
    }
}

#[test]
fn header_dimensions_over_the_limit_are_refused_before_decoding() {
    // A real PNG whose IHDR is rewritten to claim 100 000 × 100 000 pixels (10 Gpx);
    // the file stays tiny.
    let png = encode(&picture(1, 8, 8), ImageFormat::Png);
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&png[24..29]); // depth, colour, compression, filter, interlace
    let mut bomb = png[..8].to_vec();
    bomb.extend_from_slice(&png_chunk(b"IHDR", &ihdr));
    bomb.extend_from_slice(&png[33..]);
    match inspect_bytes("bomb.png", &bomb, &Limits::default()) {
        Err(MediaError::TooManyPixels {
            name,
            width,
            height,
            ..
        }) => {
            assert_eq!(
                (name.as_str(), width, height),
                ("bomb.png", 100_000, 100_000)
            );
        }
        other => panic!("expected TooManyPixels, got {other:?}"),
    }
    // And a lower limit applies to ordinary images.
    let small = Limits {
        max_pixels: 1000,
        ..Limits::default()
    };
    let err = inspect_bytes(
        "a.jpg",
        &encode(&picture(2, 40, 30), ImageFormat::Jpeg),
        &small,
    )
    .expect_err("1200 pixels > 1000");
    assert!(matches!(err, MediaError::TooManyPixels { .. }), "{err}");
    let tiny = Limits {
        max_file_bytes: 10,
        ..Limits::default()
    };
    let err = inspect_bytes("a.png", &bomb, &tiny).expect_err("over the file limit");
    assert!(matches!(err, MediaError::FileTooLarge { .. }), "{err}");
}

#[test]
fn unknown_and_truncated_files_name_the_file() {
    let err = inspect_bytes("notes.txt", b"hello, world", &Limits::default()).expect_err("text");
    assert!(matches!(err, MediaError::UnknownFormat { .. }));
    assert!(err.to_string().starts_with("notes.txt:"), "{err}");
    let err = inspect_bytes("empty.jpg", b"", &Limits::default()).expect_err("empty");
    assert!(err.to_string().starts_with("empty.jpg:"), "{err}");
    for (format, name) in FORMATS {
        let bytes = encode(&picture(5, 64, 48), format);
        let cut = &bytes[..bytes.len() / 3];
        let file = format!("cut.{name}");
        // Some decoders pad a truncated stream with grey: an error or an image, never a panic.
        if let Err(e) = inspect_bytes(&file, cut, &Limits::default()) {
            assert!(e.to_string().starts_with(&file), "{e}");
        }
    }
    let missing = std::path::Path::new("/nonexistent/spirit-media/x.jpg");
    let err = inspect_file(missing, &Limits::default()).expect_err("missing file");
    assert!(
        err.to_string().contains("/nonexistent/spirit-media/x.jpg"),
        "{err}"
    );
}

#[test]
fn inspect_file_reads_from_disk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("p.webp");
    std::fs::write(&path, encode(&picture(9, 100, 80), ImageFormat::WebP)).expect("write");
    let r = inspect_file(&path, &Limits::default()).expect("inspect");
    assert_eq!((r.format, r.width, r.height), ("webp", 100, 80));
    assert_eq!(r.file, path.display().to_string());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Truncations and byte corruptions of every format: a result or an error naming
    /// the file, never a panic (decoder panics are caught and reported).
    #[test]
    fn corrupt_files_never_panic(
        which in 0usize..5,
        cut in 0.0f64..1.0,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..16),
    ) {
        let (format, name) = FORMATS[which];
        let mut bytes = encode(&picture(which as u64, 48, 40), format);
        for (i, b) in flips {
            let at = i.index(bytes.len());
            bytes[at] ^= b;
        }
        bytes.truncate(((bytes.len() as f64) * cut) as usize + 1);
        let file = format!("fuzz.{name}");
        match decode(&file, &bytes, &Limits::default()) {
            Ok(d) => { let _ = hash_image(&d.image); }
            Err(e) => prop_assert!(e.to_string().starts_with(&file)),
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        if let Err(e) = inspect_bytes("random.bin", &bytes, &Limits::default()) {
            prop_assert!(e.to_string().starts_with("random.bin"));
        }
    }
}
