//! `spirit_media::metadata::read_exif`: the EXIF block of a JPEG, TIFF, PNG, WebP or HEIF
//! container (kamadak-exif, then SPIRIT's own reading of serials, times and GPS), as
//! `inspect_bytes` runs it on every picture. The product catches the parser's panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(init: spirit_fuzz::product_catches_panics(), |data: &[u8]| {
    let _ = spirit_media::metadata::read_exif(data);
});
