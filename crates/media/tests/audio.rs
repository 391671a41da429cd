//! Audio fingerprints on WAV files written by the test: the same recording is found
//! after a volume change, noise, resampling to stereo 44.1 kHz, and cutting out a clip;
//! another melody is not. (FLAC, MP3 and Ogg go through the same Symphonia path, but
//! the test has no encoder for them.)
#![cfg(feature = "audio")]

mod common;

use common::Rng;
use proptest::prelude::*;
use spirit_media::MediaError;
use spirit_media::audio::{
    AudioLimits, AudioThresholds, audio_match, compare_audio, fingerprint_bytes,
    fingerprint_pcm_reader,
};

/// A melody: a new note (with two harmonics) every 0.2 s, from a seeded sequence.
fn melody(seed: u64, seconds: f64, rate: u32) -> Vec<f32> {
    let mut r = Rng::new(seed);
    let n = (seconds * f64::from(rate)) as usize;
    let note_len = (0.2 * f64::from(rate)) as usize;
    let mut freq = 440.0f64;
    let mut phase = 0.0f64;
    (0..n)
        .map(|i| {
            if i % note_len == 0 {
                let semitone = (r.next_u64() % 24) as f64 - 12.0;
                freq = 440.0 * 2f64.powf(semitone / 12.0);
            }
            phase += 2.0 * std::f64::consts::PI * freq / f64::from(rate);
            (0.5 * phase.sin() + 0.25 * (2.0 * phase).sin() + 0.12 * (3.0 * phase).sin()) as f32
        })
        .collect()
}

/// Linear resampling, enough for a test signal.
fn resample(x: &[f32], from: u32, to: u32) -> Vec<f32> {
    let n = (x.len() as f64 * f64::from(to) / f64::from(from)) as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 * f64::from(from) / f64::from(to);
            let j = t as usize;
            let f = (t - j as f64) as f32;
            let a = x[j.min(x.len() - 1)];
            let b = x[(j + 1).min(x.len() - 1)];
            a + (b - a) * f
        })
        .collect()
}

/// 16-bit PCM WAV, channels interleaved (each channel the same signal).
fn wav(x: &[f32], rate: u32, channels: u16) -> Vec<u8> {
    let data_len = (x.len() * 2 * channels as usize) as u32;
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 2 * u32::from(channels)).to_le_bytes());
    out.extend_from_slice(&(2 * channels).to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for &s in x {
        let v = (s.clamp(-1.0, 1.0) * 32000.0) as i16;
        for _ in 0..channels {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out
}

#[test]
fn the_same_recording_is_found_after_edits_and_another_is_not() {
    let limits = AudioLimits::default();
    let rate = 22_050;
    let x = melody(1, 40.0, rate);
    let original = fingerprint_bytes("a.wav", &wav(&x, rate, 1), &limits).expect("fingerprint");
    assert_eq!((original.sample_rate, original.channels), (rate, 1));
    assert!(
        (original.seconds - 40.0).abs() < 0.01,
        "{}",
        original.seconds
    );
    assert!(
        original.fingerprint.len() > 250,
        "{} items",
        original.fingerprint.len()
    );

    // Identical file: one segment over (nearly) everything, no bit errors.
    let again = fingerprint_bytes("a2.wav", &wav(&x, rate, 1), &limits).expect("fingerprint");
    assert_eq!(original, again);
    let best = compare_audio(&original, &again);
    let best = best.first().expect("a match");
    assert!(best.bit_errors < 1.0 && best.seconds > 35.0, "{best:?}");

    // Quieter, noisy, stereo at 44.1 kHz.
    let mut r = Rng::new(9);
    let noisy: Vec<f32> = resample(&x, rate, 44_100)
        .iter()
        .map(|s| 0.4 * s + (r.unit() - 0.5) * 0.02)
        .collect();
    let edited = fingerprint_bytes("b.wav", &wav(&noisy, 44_100, 2), &limits).expect("fingerprint");
    let m = compare_audio(&original, &edited);
    let m = m.first().expect("the edited copy matches");
    assert!(m.seconds > 30.0, "{m:?}");

    // A clip: seconds 10 to 25.
    let clip = &x[10 * rate as usize..25 * rate as usize];
    let clip = fingerprint_bytes("clip.wav", &wav(clip, rate, 1), &limits).expect("fingerprint");
    let m = compare_audio(&original, &clip);
    let m = m.first().expect("the clip matches");
    assert!((m.start_left - 10.0).abs() < 1.0, "{m:?}");
    assert!(m.start_right < 1.0 && m.seconds > 10.0, "{m:?}");

    // Another melody.
    let other = fingerprint_bytes("c.wav", &wav(&melody(2, 40.0, rate), rate, 1), &limits)
        .expect("fingerprint");
    let worst_same = m.bit_errors;
    let other_matches = compare_audio(&original, &other);
    assert!(
        other_matches
            .iter()
            .all(|s| s.bit_errors > worst_same && s.seconds < 20.0),
        "another melody must not match as well as the clip ({worst_same}): {other_matches:?}"
    );
}

#[test]
fn bad_input_is_an_error_naming_the_file() {
    let limits = AudioLimits::default();
    let err = fingerprint_bytes("notes.txt", b"not audio at all", &limits).expect_err("text");
    assert!(matches!(err, MediaError::Audio { .. }), "{err}");
    assert!(err.to_string().starts_with("notes.txt:"), "{err}");
    let short = AudioLimits {
        max_seconds: 2.0,
        ..AudioLimits::default()
    };
    let fp = fingerprint_bytes("long.wav", &wav(&melody(3, 10.0, 8000), 8000, 1), &short)
        .expect("decode");
    assert!(fp.truncated && fp.seconds < 3.0, "{} s", fp.seconds);
}

/// Raw PCM (as ffmpeg hands over the sound of a video) gives the fingerprint of the same
/// samples in a WAV, read in pieces of any size; the thresholds separate it from another melody.
#[test]
fn raw_pcm_fingerprints_like_the_wav() {
    let rate = 11_025;
    let x = melody(5, 20.0, rate);
    let bytes = wav(&x, rate, 1);
    let from_wav = fingerprint_bytes("a.wav", &bytes, &AudioLimits::default()).unwrap();
    let pcm = &bytes[44..];
    /// Hands out at most 1,001 bytes per read: samples split across reads.
    struct Dribble<'a>(&'a [u8]);
    impl std::io::Read for Dribble<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(1001).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    let from_pcm =
        fingerprint_pcm_reader("a.pcm", Dribble(pcm), rate, 1, &AudioLimits::default()).unwrap();
    assert_eq!(from_pcm.fingerprint, from_wav.fingerprint);
    assert!((from_pcm.seconds - 20.0).abs() < 0.01 && !from_pcm.truncated);
    let t = AudioThresholds::default();
    let m = audio_match(&from_wav, &from_pcm, &t).expect("the same samples match");
    assert!(m.seconds > 15.0 && m.bit_errors < 1.0, "{m:?}");
    let other = fingerprint_bytes(
        "b.wav",
        &wav(&melody(6, 20.0, rate), rate, 1),
        &AudioLimits::default(),
    )
    .unwrap();
    assert_eq!(audio_match(&from_wav, &other, &t), None);

    let short = AudioLimits {
        max_seconds: 5.0,
        ..AudioLimits::default()
    };
    let cut = fingerprint_pcm_reader("a.pcm", pcm, rate, 1, &short).unwrap();
    assert!(
        cut.truncated && (cut.seconds - 5.0).abs() < 0.01,
        "{}",
        cut.seconds
    );
    let err = fingerprint_pcm_reader("empty.pcm", &[][..], rate, 1, &short).unwrap_err();
    assert!(err.to_string().starts_with("empty.pcm:"), "{err}");
    assert!(fingerprint_pcm_reader("z.pcm", pcm, 0, 1, &short).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn damaged_wav_never_panics(
        cut in 0usize..20_000,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
    ) {
        let mut bytes = wav(&melody(4, 1.0, 8000), 8000, 1);
        for (i, b) in flips {
            let at = i.index(bytes.len());
            bytes[at] ^= b;
        }
        bytes.truncate(cut.min(bytes.len()));
        if let Err(e) = fingerprint_bytes("fuzz.wav", &bytes, &AudioLimits::default()) {
            prop_assert!(e.to_string().starts_with("fuzz.wav"));
        }
    }
}
