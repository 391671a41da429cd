//! The crate's error type. Every variant that concerns a file names it.

use std::path::PathBuf;

/// What went wrong while reading or fingerprinting one piece of media.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is larger than [`crate::Limits::max_file_bytes`].
    #[error("{name}: file is {bytes} bytes, over the limit of {limit}")]
    FileTooLarge {
        name: String,
        bytes: u64,
        limit: u64,
    },
    /// The bytes are not in a format we decode (JPEG, PNG, WebP, GIF, TIFF).
    #[error("{name}: not a supported image format (JPEG, PNG, WebP, GIF, TIFF)")]
    UnknownFormat { name: String },
    /// The header announces more pixels than [`crate::Limits::max_pixels`]; nothing was decoded.
    #[error("{name}: {width}x{height} pixels is over the limit of {limit} pixels (not decoded)")]
    TooManyPixels {
        name: String,
        width: u32,
        height: u32,
        limit: u64,
    },
    /// The decoder rejected the file: corrupt, truncated, or a limit hit while decoding.
    #[error("{name}: cannot decode {format} image: {message}")]
    Decode {
        name: String,
        format: String,
        message: String,
    },
    /// An audio file could not be probed or decoded (the `audio` module).
    #[error("{name}: cannot decode audio: {message}")]
    Audio { name: String, message: String },
    /// ffprobe or ffmpeg could not be found (the `video` module).
    #[error(
        "{name}: {tool} not found (install the Debian package ffmpeg, or set SPIRIT_FFMPEG and SPIRIT_FFPROBE)"
    )]
    ToolMissing { name: String, tool: String },
    /// A video could not be probed or decoded: corrupt, truncated, unsupported, or a
    /// tool timed out (the `video` module).
    #[error("{name}: cannot read video: {message}")]
    Video { name: String, message: String },
    /// An embedding model failed (an `Embedder` of the `compare` module).
    #[error("{name}: embedding model {model}: {message}")]
    Embedding {
        name: String,
        model: String,
        message: String,
    },
}
