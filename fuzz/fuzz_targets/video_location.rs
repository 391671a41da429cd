//! `spirit_media::video::parse_iso6709`: the location tag of a video container (written by
//! whoever made the file; ffprobe only passes it on). The rest of video reading runs the
//! ffprobe and ffmpeg programs as child processes and is not fuzzed in-process.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some((lat, lon, alt)) = spirit_media::video::parse_iso6709(text) {
        assert!(
            (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon),
            "{text:?} gave ({lat}, {lon})"
        );
        assert!(
            alt.is_none_or(f64::is_finite),
            "{text:?} gave altitude {alt:?}"
        );
    }
});
