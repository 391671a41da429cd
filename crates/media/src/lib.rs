//! `spirit-media`: perceptual fingerprints and metadata of images, as evidence that two
//! accounts are one person (the same photo posted twice, the same camera serial, the same
//! place and time).
//!
//! | module | question it answers |
//! |---|---|
//! | [`picture`] | how is an untrusted image decoded safely (size limits before decoding, no panic), and what does `spirit media inspect` report? |
//! | [`hash`] | what 64-bit fingerprints survive resizing, re-compression, crops, brightness and mirroring? (DCT pHash, difference hash, and both for the mirror image) |
//! | [`metadata`] | which EXIF fields tie a photo to a device, a person, a time or a place? |
//! | [`index`] | which of millions of stored hashes are within Hamming distance r of this one? (multi-index hashing, not a scan) |
//! | [`audio`] | is this the same recording, re-encoded, trimmed or louder? (Symphonia decoding, Chromaprint fingerprints and segment matching; feature `audio`, on by default) |
//! | [`video`] | is this the same video, re-encoded, resized, trimmed or mirrored? Which device, time and place does its container name? (keyframes sampled by ffmpeg and hashed like images, the audio track's Chromaprint, ffprobe metadata; feature `video`, on by default, needs the `ffmpeg` program at run time) |
//! | [`compare`] | how do two fingerprints become a distance, a score and a match level? The seam for learned embeddings. |
//! | [`error`] | the error enum; every error names the file. |
//!
//! Images: JPEG, PNG, WebP, GIF (first frame) and TIFF. Audio: WAV, FLAC, MP3, Ogg Vorbis.
//! Video: whatever the installed ffmpeg reads (MP4/MOV, Matroska/WebM, AVI, …).
//!
//! **Measured** (`bench/media`, real photographs, ten edits per picture, 11.5 M negative
//! pairs): recall 0.968 at a false-positive rate ≤ 10⁻³ with 2·pHash + dHash; weakest on
//! 10 % crops (0.85) and 3° rotations (0.86). Audio (`bench/media`, 342 clips of real
//! music and speech and espeak-ng speech): 95.6 % of copies trimmed by 30 %, −6 dB and
//! MP3 at 64 kbit/s matched by [`audio::audio_match`], no false match among 583,110 pairs.
//! See ARCHITECTURE.md and docs/benchmarks.md for the figures.
//!
//! **Embeddings.** Face or speaker embeddings from an ONNX model on a local path are not
//! implemented; [`compare::Embedder`] and [`compare::Fingerprint::Embedding`] are the
//! interface such a model plugs into, and [`compare::compare`] already compares two
//! embeddings of one model by cosine similarity.
//!
//! Like the other library crates this one does no network I/O and is deterministic; it
//! reads a file only in [`picture::inspect_file`], [`picture::hash_file`], the `*_file`
//! functions of [`audio`], and [`video::inspect_video_file`], which runs ffprobe and
//! ffmpeg on it (subprocesses with timeouts and output limits, local files only).

#[cfg(feature = "audio")]
pub mod audio;
pub mod compare;
pub mod error;
pub mod hash;
pub mod index;
pub mod metadata;
pub mod picture;
#[cfg(feature = "video")]
pub mod video;

pub use compare::{Fingerprint, HashThresholds, MatchLevel, Similarity};
pub use error::MediaError;
pub use hash::{ImageHashes, hamming, hash_image};
pub use index::{HammingIndex, Hit};
pub use metadata::ExifInfo;
pub use picture::{ImageReport, Limits, inspect_bytes, inspect_file};
