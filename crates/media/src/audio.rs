//! Audio fingerprints: the same recording (a voice note, a song, the sound of a video)
//! posted by two accounts, found even after re-encoding, a volume change or trimming.
//!
//! Decoding with Symphonia (WAV/PCM, FLAC, MP3, Ogg Vorbis; the first audio track), the
//! fingerprint with `rusty-chromaprint`, a Rust port of Chromaprint (AcoustID): one
//! 32-bit sub-fingerprint per ~0.12 s of audio resampled to 11,025 Hz. Two fingerprints
//! are compared by [`compare_audio`], which finds the common segments and their offsets
//! (Chromaprint's matcher), so a clip cut out of a longer recording is found too.
//!
//! Decoding streams packet by packet into the fingerprinter: memory does not grow with
//! the length of the file, and decoding stops after [`AudioLimits::max_seconds`].
//! Chromaprint identifies *recordings*, not speakers: the same voice saying other words
//! does not match (that needs a speaker embedding, see [`crate::compare::Embedder`]).

use std::io::Cursor;
use std::path::Path;

use rusty_chromaprint::{Configuration, Fingerprinter, match_fingerprints};
use serde::Serialize;

use crate::picture::read_limited;
use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

use crate::error::MediaError;

/// Limits for one audio file.
#[derive(Clone, Copy, Debug)]
pub struct AudioLimits {
    pub max_file_bytes: u64,
    /// Audio after this many seconds is not decoded (the fingerprint covers the start).
    pub max_seconds: f64,
}

impl Default for AudioLimits {
    /// 1 GiB, 2 hours.
    fn default() -> Self {
        AudioLimits {
            max_file_bytes: 1 << 30,
            max_seconds: 7200.0,
        }
    }
}

/// The Chromaprint configuration used for every fingerprint (fingerprints of different
/// configurations cannot be compared): Chromaprint's default, `TEST2`.
pub fn configuration() -> Configuration {
    Configuration::preset_test2()
}

/// The fingerprint of one audio file.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AudioFingerprint {
    pub sample_rate: u32,
    pub channels: u32,
    /// Seconds of audio fingerprinted.
    pub seconds: f64,
    /// True when decoding stopped at [`AudioLimits::max_seconds`].
    pub truncated: bool,
    /// Packets the decoder rejected and skipped.
    pub bad_packets: u64,
    /// Chromaprint sub-fingerprints, one per ~0.124 s.
    pub fingerprint: Vec<u32>,
}

/// A stretch of audio common to two fingerprints.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct AudioMatch {
    /// Where it starts in the first recording, seconds.
    pub start_left: f32,
    /// Where it starts in the second recording, seconds.
    pub start_right: f32,
    pub seconds: f32,
    /// Chromaprint's segment score: mean bit error of the aligned sub-fingerprints ×
    /// 32, so 0 is identical and ~16 unrelated; lower is better.
    pub bit_errors: f64,
}

/// Fingerprints audio already in memory; `name` is used in errors.
pub fn fingerprint_bytes(
    name: &str,
    bytes: &[u8],
    limits: &AudioLimits,
) -> Result<AudioFingerprint, MediaError> {
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(MediaError::FileTooLarge {
            name: name.to_string(),
            bytes: bytes.len() as u64,
            limit: limits.max_file_bytes,
        });
    }
    let run = || fingerprint_inner(name, bytes, limits);
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
        Ok(r) => r,
        Err(_) => Err(audio_err(name, "the decoder panicked")),
    }
}

/// Reads and fingerprints an audio file.
pub fn fingerprint_file(path: &Path, limits: &AudioLimits) -> Result<AudioFingerprint, MediaError> {
    let (name, bytes) = read_limited(path, limits.max_file_bytes)?;
    fingerprint_bytes(&name, &bytes, limits)
}

fn audio_err(name: &str, message: impl std::fmt::Display) -> MediaError {
    MediaError::Audio {
        name: name.to_string(),
        message: message.to_string(),
    }
}

fn fingerprint_inner(
    name: &str,
    bytes: &[u8],
    limits: &AudioLimits,
) -> Result<AudioFingerprint, MediaError> {
    let mss = MediaSourceStream::new(Box::new(Cursor::new(bytes)), Default::default());
    let mut format = symphonia::default::get_probe()
        .probe(
            &Hint::new(),
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|e| audio_err(name, e))?;
    let track = format
        .default_track(TrackType::Audio)
        .ok_or_else(|| audio_err(name, "no audio track"))?;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or_else(|| audio_err(name, "no audio codec parameters"))?;
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(params, &AudioDecoderOptions::default())
        .map_err(|e| audio_err(name, e))?;
    let track_id = track.id;

    let config = configuration();
    let mut printer = Fingerprinter::new(&config);
    let mut started: Option<(u32, u32)> = None;
    let mut frames = 0u64;
    let mut bad_packets = 0u64;
    let mut truncated = false;
    let mut samples: Vec<i16> = Vec::new();
    loop {
        let packet = match format.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) => break,
            // A damaged stream ends the fingerprint where the damage starts.
            Err(SymError::IoError(_)) | Err(SymError::ResetRequired) => break,
            Err(_) if started.is_some() => break,
            Err(e) => return Err(audio_err(name, e)),
        };
        if packet.track_id != track_id {
            continue;
        }
        let buf = match decoder.decode(&packet) {
            Ok(b) => b,
            Err(SymError::DecodeError(_)) | Err(SymError::IoError(_)) => {
                bad_packets += 1;
                continue;
            }
            Err(e) => return Err(audio_err(name, e)),
        };
        let rate = buf.spec().rate();
        let channels = buf.spec().channels().count() as u32;
        if rate == 0 || channels == 0 {
            return Err(audio_err(name, "zero sample rate or channel count"));
        }
        match started {
            None => {
                printer
                    .start(rate, channels)
                    .map_err(|e| audio_err(name, format!("{e:?}")))?;
                started = Some((rate, channels));
            }
            Some(spec) if spec != (rate, channels) => {
                // A chained stream with another format: fingerprint the first part only.
                break;
            }
            Some(_) => {}
        }
        buf.copy_to_vec_interleaved(&mut samples);
        printer.consume(&samples);
        frames += buf.frames() as u64;
        if frames as f64 / f64::from(rate) >= limits.max_seconds {
            truncated = true;
            break;
        }
    }
    let Some((sample_rate, channels)) = started else {
        return Err(audio_err(name, "no audio decoded"));
    };
    printer.finish();
    Ok(AudioFingerprint {
        sample_rate,
        channels,
        seconds: frames as f64 / f64::from(sample_rate),
        truncated,
        bad_packets,
        fingerprint: printer.fingerprint().to_vec(),
    })
}

/// Fingerprints raw 16-bit little-endian PCM (channels interleaved) read from `reader`,
/// for audio decoded by another program (the sound of a video, decoded by ffmpeg in the
/// `video` module). Reading stops after [`AudioLimits::max_seconds`]; a trailing partial
/// sample is ignored. `name` is used in errors.
pub fn fingerprint_pcm_reader(
    name: &str,
    mut reader: impl std::io::Read,
    sample_rate: u32,
    channels: u32,
    limits: &AudioLimits,
) -> Result<AudioFingerprint, MediaError> {
    if sample_rate == 0 || channels == 0 {
        return Err(audio_err(name, "zero sample rate or channel count"));
    }
    let config = configuration();
    let mut printer = Fingerprinter::new(&config);
    printer
        .start(sample_rate, channels)
        .map_err(|e| audio_err(name, format!("{e:?}")))?;
    let max_frames = (limits.max_seconds * f64::from(sample_rate)) as u64;
    let frame_bytes = 2 * channels as usize;
    let mut buf = vec![0u8; 64 * 1024 - (64 * 1024) % frame_bytes];
    let mut filled = 0usize;
    let mut samples: Vec<i16> = Vec::with_capacity(buf.len() / 2);
    let mut frames = 0u64;
    let mut truncated = false;
    loop {
        let n = match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(audio_err(name, format!("reading PCM: {e}"))),
        };
        filled += n;
        let whole = filled - filled % frame_bytes;
        let mut take = whole / frame_bytes;
        if frames + take as u64 >= max_frames {
            take = (max_frames - frames) as usize;
            truncated = true;
        }
        samples.clear();
        samples.extend(
            buf[..take * frame_bytes]
                .chunks_exact(2)
                .map(|c| i16::from_le_bytes([c[0], c[1]])),
        );
        printer.consume(&samples);
        frames += take as u64;
        if truncated {
            break;
        }
        buf.copy_within(whole..filled, 0);
        filled -= whole;
    }
    if frames == 0 {
        return Err(audio_err(name, "no audio decoded"));
    }
    printer.finish();
    Ok(AudioFingerprint {
        sample_rate,
        channels,
        seconds: frames as f64 / f64::from(sample_rate),
        truncated,
        bad_packets: 0,
        fingerprint: printer.fingerprint().to_vec(),
    })
}

/// When two recordings count as the same: a common segment at least `min_seconds` long
/// whose mean bit error (of 32 bits per sub-fingerprint) is at most `max_bit_errors`.
/// Chromaprint's matcher itself keeps segments up to 10 bit errors, far too loose for
/// evidence: on the real recordings of `bench/media`, distinct clips share 2-second
/// segments at 5–10 bit errors by the thousand (similar chords, one speaker's voice).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct AudioThresholds {
    pub min_seconds: f32,
    /// Largest [`AudioMatch::bit_errors`] of that segment.
    pub max_bit_errors: f64,
}

impl Default for AudioThresholds {
    /// 2 s at ≤ 3 bit errors: on `bench/media`'s 342 real and synthesised clips, 95.6 %
    /// of the copies cut by 30 %, lowered by 6 dB and re-encoded to MP3 at 64 kbit/s are
    /// matched, and none of 583,110 pairs of distinct clips (held out: 95.3 %, 0 false
    /// matches). ≤ 4 bit errors finds 99.7 % but also 13 pairs of music clips that repeat
    /// a passage of one track. See `examples/audio_eval.rs`.
    fn default() -> Self {
        AudioThresholds {
            min_seconds: 2.0,
            max_bit_errors: 3.0,
        }
    }
}

/// The longest common segment that meets `t`, if any: the evidence that two recordings
/// are one.
pub fn audio_match(
    a: &AudioFingerprint,
    b: &AudioFingerprint,
    t: &AudioThresholds,
) -> Option<AudioMatch> {
    compare_audio(a, b)
        .into_iter()
        .filter(|m| m.seconds >= t.min_seconds && m.bit_errors <= t.max_bit_errors)
        .max_by(|x, y| x.seconds.total_cmp(&y.seconds))
}

/// The common segments of two recordings, best (lowest bit error) first. Empty when
/// nothing matches or a fingerprint is too short to compare.
pub fn compare_audio(a: &AudioFingerprint, b: &AudioFingerprint) -> Vec<AudioMatch> {
    let config = configuration();
    let Ok(segments) = match_fingerprints(&a.fingerprint, &b.fingerprint, &config) else {
        return Vec::new();
    };
    let mut out: Vec<AudioMatch> = segments
        .iter()
        .map(|s| AudioMatch {
            start_left: s.start1(&config),
            start_right: s.start2(&config),
            seconds: s.duration(&config),
            bit_errors: s.score,
        })
        .collect();
    out.sort_by(|x, y| x.bit_errors.total_cmp(&y.bit_errors));
    out
}
