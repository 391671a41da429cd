//! `spirit_sources::read_source` on a `.csv` file: what `spirit resolve` and `spirit ingest`
//! do with a user's CSV/TSV input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spirit_matching::settings::InputSettings;

fuzz_target!(|data: &[u8]| {
    let path = spirit_fuzz::scratch_file("csv", data);
    let _ = spirit_sources::read_source(&path, &InputSettings::default(), None);
});
