//! `spirit_sources::read_source` on a `.parquet` file: what `spirit resolve` and
//! `spirit ingest` do with a user's Parquet input. The reader turns a decoder panic into
//! an error naming the file, so such panics are not crashes here.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spirit_matching::settings::InputSettings;

fuzz_target!(init: spirit_fuzz::product_catches_panics(), |data: &[u8]| {
    let path = spirit_fuzz::scratch_file("parquet", data);
    let _ = spirit_sources::read_source(&path, &InputSettings::default(), None);
});
