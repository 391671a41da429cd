//! `spirit_sources::read_source` on a `.jsonl` file: what `spirit resolve` and `spirit ingest`
//! do with a user's JSON Lines input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spirit_matching::settings::InputSettings;

fuzz_target!(|data: &[u8]| {
    let path = spirit_fuzz::scratch_file("jsonl", data);
    let _ = spirit_sources::read_source(&path, &InputSettings::default(), None);
});
