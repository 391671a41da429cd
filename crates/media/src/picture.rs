//! Decoding an image safely and describing it: format, size, hashes, EXIF.
//!
//! Decoding is bounded: the file size is checked before reading, the header's
//! dimensions before decoding (a 50 kB PNG can announce 10⁵ × 10⁵ pixels), and the
//! decoder runs under `image::Limits` so no allocation exceeds [`Limits::max_alloc`].
//! A corrupt or truncated file is a [`MediaError::Decode`] naming the file; a panic
//! inside a codec is caught and reported the same way.

use std::io::Cursor;
use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::MediaError;
use crate::hash::{ImageHashes, hash_image};
use crate::metadata::{ExifInfo, read_exif};

/// Resource limits for one image.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest file read, in bytes.
    pub max_file_bytes: u64,
    /// Largest width × height decoded, checked from the header before decoding.
    pub max_pixels: u64,
    /// Largest single allocation the decoder may make, in bytes.
    pub max_alloc: u64,
}

impl Default for Limits {
    /// 256 MiB files, 100 megapixels, 1 GiB of decoder memory (100 MP of RGBA8 is 400 MB).
    fn default() -> Self {
        Limits {
            max_file_bytes: 256 << 20,
            max_pixels: 100_000_000,
            max_alloc: 1 << 30,
        }
    }
}

/// The formats this crate decodes.
pub const SUPPORTED: [ImageFormat; 5] = [
    ImageFormat::Jpeg,
    ImageFormat::Png,
    ImageFormat::WebP,
    ImageFormat::Gif,
    ImageFormat::Tiff,
];

fn format_name(f: ImageFormat) -> &'static str {
    match f {
        ImageFormat::Jpeg => "jpeg",
        ImageFormat::Png => "png",
        ImageFormat::WebP => "webp",
        ImageFormat::Gif => "gif",
        ImageFormat::Tiff => "tiff",
        _ => "other",
    }
}

/// A decoded image with its orientation applied.
pub struct Decoded {
    pub image: DynamicImage,
    pub format: ImageFormat,
}

/// Decodes `bytes` (named `name` in errors) within `limits`, applying the EXIF
/// orientation so that a rotated copy without EXIF hashes the same.
pub fn decode(name: &str, bytes: &[u8], limits: &Limits) -> Result<Decoded, MediaError> {
    let format = image::guess_format(bytes)
        .ok()
        .filter(|f| SUPPORTED.contains(f))
        .ok_or_else(|| MediaError::UnknownFormat {
            name: name.to_string(),
        })?;
    let decode_err = |message: String| MediaError::Decode {
        name: name.to_string(),
        format: format_name(format).to_string(),
        message,
    };
    let run = || -> Result<Decoded, MediaError> {
        // 1. Header only: refuse decompression bombs before any pixel is allocated.
        let (width, height) = ImageReader::with_format(Cursor::new(bytes), format)
            .into_dimensions()
            .map_err(|e| decode_err(e.to_string()))?;
        if u64::from(width) * u64::from(height) > limits.max_pixels {
            return Err(MediaError::TooManyPixels {
                name: name.to_string(),
                width,
                height,
                limit: limits.max_pixels,
            });
        }
        // 2. Decode under limits (also bounds frames of a GIF, strips of a TIFF, …).
        let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
        let mut l = image::Limits::default();
        l.max_image_width = Some(width.max(1));
        l.max_image_height = Some(height.max(1));
        l.max_alloc = Some(limits.max_alloc);
        reader.limits(l);
        let mut decoder = reader
            .into_decoder()
            .map_err(|e| decode_err(e.to_string()))?;
        let orientation = decoder
            .orientation()
            .unwrap_or(image::metadata::Orientation::NoTransforms);
        let mut image =
            DynamicImage::from_decoder(decoder).map_err(|e| decode_err(e.to_string()))?;
        image.apply_orientation(orientation);
        Ok(Decoded { image, format })
    };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
        Ok(result) => result,
        Err(_) => Err(decode_err("the decoder panicked".to_string())),
    }
}

/// What `spirit media inspect` prints for one image.
#[derive(Clone, Debug, Serialize)]
pub struct ImageReport {
    /// The file name given.
    pub file: String,
    /// `jpeg`, `png`, `webp`, `gif` or `tiff`.
    pub format: &'static str,
    /// Width after the EXIF orientation is applied.
    pub width: u32,
    /// Height after the EXIF orientation is applied.
    pub height: u32,
    pub bytes: u64,
    /// SHA-256 of the file: equal only for byte-identical copies.
    pub sha256: String,
    pub hashes: ImageHashes,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exif: Option<ExifInfo>,
    /// Why an EXIF block present in the file could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exif_error: Option<String>,
}

/// Decodes, hashes and reads the EXIF of an image already in memory.
pub fn inspect_bytes(name: &str, bytes: &[u8], limits: &Limits) -> Result<ImageReport, MediaError> {
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(MediaError::FileTooLarge {
            name: name.to_string(),
            bytes: bytes.len() as u64,
            limit: limits.max_file_bytes,
        });
    }
    let decoded = decode(name, bytes, limits)?;
    let (exif, exif_error) = match read_exif(bytes) {
        Ok(e) => (e, None),
        Err(e) => (None, Some(e)),
    };
    Ok(ImageReport {
        file: name.to_string(),
        format: format_name(decoded.format),
        width: decoded.image.width(),
        height: decoded.image.height(),
        bytes: bytes.len() as u64,
        sha256: Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
        hashes: hash_image(&decoded.image),
        exif,
        exif_error,
    })
}

/// A file's name (for errors) and bytes, refused before reading when it is larger than
/// `max_bytes`, and while reading when it grew past it meanwhile.
pub(crate) fn read_limited(path: &Path, max_bytes: u64) -> Result<(String, Vec<u8>), MediaError> {
    let io = |source| MediaError::Io {
        path: path.to_path_buf(),
        source,
    };
    let len = std::fs::metadata(path).map_err(io)?.len();
    let name = path.display().to_string();
    if len > max_bytes {
        return Err(MediaError::FileTooLarge {
            name,
            bytes: len,
            limit: max_bytes,
        });
    }
    let mut bytes = Vec::with_capacity(len as usize);
    {
        use std::io::Read;
        std::fs::File::open(path)
            .and_then(|f| f.take(max_bytes.saturating_add(1)).read_to_end(&mut bytes))
            .map_err(io)?;
    }
    if bytes.len() as u64 > max_bytes {
        return Err(MediaError::FileTooLarge {
            name,
            bytes: bytes.len() as u64,
            limit: max_bytes,
        });
    }
    Ok((name, bytes))
}

/// Reads a file (refusing it before reading if it is over the size limit) and inspects it.
pub fn inspect_file(path: &Path, limits: &Limits) -> Result<ImageReport, MediaError> {
    let (name, bytes) = read_limited(path, limits.max_file_bytes)?;
    inspect_bytes(&name, &bytes, limits)
}

/// Decodes and hashes a file without the report (for bulk indexing).
pub fn hash_file(path: &Path, limits: &Limits) -> Result<ImageHashes, MediaError> {
    let (name, bytes) = read_limited(path, limits.max_file_bytes)?;
    Ok(hash_image(&decode(&name, &bytes, limits)?.image))
}
