//! A `style_profile` value as it arrives in a record (a column of that name in an upload or
//! a file): the normaliser's check (`spirit_matching::evidence::style_profile`, which runs
//! `Profile::parse`), then the `writing_style` comparison of the profile with itself
//! (`spirit_text::style::verify`) and its serialised form read back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spirit_text::style::{Profile, verify};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some(value) = spirit_matching::evidence::style_profile(text) else {
        return;
    };
    let profile = Profile::parse(&value).expect("the normaliser accepted it");
    let _ = verify(&profile, &profile);
    let again = profile.to_serialised();
    if let Err(e) = Profile::parse(&again) {
        panic!("a parsed profile does not read back after serialising: {e}");
    }
});
