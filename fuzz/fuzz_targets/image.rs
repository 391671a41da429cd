//! `spirit_media::inspect_bytes` with the default limits: what `spirit media inspect` and the
//! folder ingest (`image_record`) do with a picture (format sniffing, header-checked
//! decoding of JPEG, PNG, WebP, GIF and TIFF, orientation, hashes, EXIF). The product
//! catches a codec's panic and reports it as a decode error, so such panics are not
//! crashes here.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spirit_media::{Limits, inspect_bytes};

fuzz_target!(init: spirit_fuzz::product_catches_panics(), |data: &[u8]| {
    let _ = inspect_bytes("<fuzz>", data, &Limits::default());
});
