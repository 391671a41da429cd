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
//! | [`compare`] | how do two fingerprints become a distance, a score and a match level? The seam for learned embeddings. |
//! | [`error`] | the error enum; every error names the file. |
//!
//! Images: JPEG, PNG, WebP, GIF (first frame) and TIFF. Audio: WAV, FLAC, MP3, Ogg Vorbis.
//! Video (keyframes) is not implemented yet.
//!
//! **Measured** (`bench/media`, real photographs, ten edits per picture, 11.5 M negative
//! pairs): recall 0.968 at a false-positive rate ≤ 10⁻³ with 2·pHash + dHash; weakest on
//! 10 % crops (0.85) and 3° rotations (0.86). See ARCHITECTURE.md for the figures.
//!
//! **Embeddings.** Face or speaker embeddings from an ONNX model on a local path are not
//! implemented; [`compare::Embedder`] and [`compare::Fingerprint::Embedding`] are the
//! interface such a model plugs into, and [`compare::compare`] already compares two
//! embeddings of one model by cosine similarity.
//!
//! Like the other library crates this one does no network I/O and is deterministic; it
//! reads a file only in [`picture::inspect_file`] and [`picture::hash_file`].

#[cfg(feature = "audio")]
pub mod audio;
pub mod compare;
pub mod error;
pub mod hash;
pub mod index;
pub mod metadata;
pub mod picture;

pub use compare::{Fingerprint, HashThresholds, MatchLevel, Similarity};
pub use error::MediaError;
pub use hash::{ImageHashes, hamming, hash_image};
pub use index::{HammingIndex, Hit};
pub use metadata::ExifInfo;
pub use picture::{ImageReport, Limits, inspect_bytes, inspect_file};
