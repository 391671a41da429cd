//! `spirit_media::audio::fingerprint_bytes` with the default limits: Symphonia's WAV, FLAC,
//! MP3 and Ogg Vorbis decoders streamed into Chromaprint, as `spirit media audio` and the
//! folder ingest (`audio_record`) read a recording. The product catches a decoder's panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spirit_media::audio::{AudioLimits, fingerprint_bytes};

fuzz_target!(init: spirit_fuzz::product_catches_panics(), |data: &[u8]| {
    let _ = fingerprint_bytes("<fuzz>", data, &AudioLimits::default());
});
