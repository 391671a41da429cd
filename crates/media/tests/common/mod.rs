//! Fixtures made in the tests: synthetic pictures, encoders, and a hand-written EXIF
//! (TIFF) block, so no test needs a tool or a file from outside.
#![allow(dead_code)]

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, Rgb, RgbImage};

/// xorshift64*: deterministic pseudo-random numbers for fixtures.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// A picture with structure at several scales (waves, discs, a little noise), different
/// for every seed.
pub fn picture(seed: u64, width: u32, height: u32) -> DynamicImage {
    let mut r = Rng::new(seed);
    let waves: Vec<[f32; 5]> = (0..4)
        .map(|_| {
            [
                r.unit() * 6.0 + 0.5,
                r.unit() * 6.0 + 0.5,
                r.unit() * 6.3,
                r.unit() * 60.0,
                r.unit() * 3.0,
            ]
        })
        .collect();
    let discs: Vec<[f32; 6]> = (0..6)
        .map(|_| {
            [
                r.unit(),
                r.unit(),
                r.unit() * 0.25 + 0.05,
                r.unit() * 255.0,
                r.unit() * 255.0,
                r.unit() * 255.0,
            ]
        })
        .collect();
    let mut img = RgbImage::new(width, height);
    for (x, y, p) in img.enumerate_pixels_mut() {
        let fx = x as f32 / width as f32;
        let fy = y as f32 / height as f32;
        let mut v = [110.0f32, 120.0, 130.0];
        for (i, w) in waves.iter().enumerate() {
            let tau = std::f32::consts::TAU;
            let s = (w[0] * fx * tau + w[1] * fy * tau + w[2]).sin() * w[3];
            v[i % 3] += s;
            v[(i + 1) % 3] += s * 0.5;
        }
        for d in &discs {
            let dist = ((fx - d[0]).powi(2) + (fy - d[1]).powi(2)).sqrt();
            if dist < d[2] {
                v = [d[3], d[4], d[5]];
            }
        }
        let n = (r.unit() - 0.5) * 8.0;
        *p = Rgb(v.map(|c| (c + n).clamp(0.0, 255.0) as u8));
    }
    DynamicImage::ImageRgb8(img)
}

/// Encodes with the format's default encoder (JPEG at quality `q` when given).
pub fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    match format {
        ImageFormat::WebP => DynamicImage::ImageRgba8(img.to_rgba8())
            .write_to(&mut out, format)
            .expect("encode webp"),
        ImageFormat::Gif => DynamicImage::ImageRgba8(img.to_rgba8())
            .write_to(&mut out, format)
            .expect("encode gif"),
        _ => img.write_to(&mut out, format).expect("encode"),
    }
    out.into_inner()
}

pub fn jpeg(img: &DynamicImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality);
    img.to_rgb8().write_with_encoder(enc).expect("encode jpeg");
    out
}

/// TIFF field types.
pub const ASCII: u16 = 2;
pub const SHORT: u16 = 3;
pub const LONG: u16 = 4;
pub const RATIONAL: u16 = 5;

/// One IFD entry: tag, type, count, value bytes (little-endian).
pub struct Entry {
    pub tag: u16,
    pub kind: u16,
    pub count: u32,
    pub data: Vec<u8>,
}

pub fn ascii(tag: u16, s: &str) -> Entry {
    let mut data = s.as_bytes().to_vec();
    data.push(0);
    Entry {
        tag,
        kind: ASCII,
        count: data.len() as u32,
        data,
    }
}

pub fn short(tag: u16, v: u16) -> Entry {
    Entry {
        tag,
        kind: SHORT,
        count: 1,
        data: v.to_le_bytes().to_vec(),
    }
}

pub fn rationals(tag: u16, values: &[(u32, u32)]) -> Entry {
    let mut data = Vec::new();
    for &(n, d) in values {
        data.extend_from_slice(&n.to_le_bytes());
        data.extend_from_slice(&d.to_le_bytes());
    }
    Entry {
        tag,
        kind: RATIONAL,
        count: values.len() as u32,
        data,
    }
}

/// A little-endian TIFF block with IFD0, and an Exif IFD and a GPS IFD when non-empty
/// (their pointers are added to IFD0).
pub fn tiff_block(mut ifd0: Vec<Entry>, exif: Vec<Entry>, gps: Vec<Entry>) -> Vec<u8> {
    let size = |n: usize| 2 + 12 * n + 4;
    let extra = usize::from(!exif.is_empty()) + usize::from(!gps.is_empty());
    let off0 = 8usize;
    let off_exif = off0 + size(ifd0.len() + extra);
    let off_gps = off_exif + if exif.is_empty() { 0 } else { size(exif.len()) };
    let data_start = off_gps + if gps.is_empty() { 0 } else { size(gps.len()) };
    let pointer = |tag: u16, off: usize| Entry {
        tag,
        kind: LONG,
        count: 1,
        data: (off as u32).to_le_bytes().to_vec(),
    };
    if !exif.is_empty() {
        ifd0.push(pointer(0x8769, off_exif));
    }
    if !gps.is_empty() {
        ifd0.push(pointer(0x8825, off_gps));
    }
    let mut head = b"II*\0".to_vec();
    head.extend_from_slice(&(off0 as u32).to_le_bytes());
    let mut data: Vec<u8> = Vec::new();
    let mut write_ifd = |entries: &mut Vec<Entry>, head: &mut Vec<u8>| {
        entries.sort_by_key(|e| e.tag);
        head.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        for e in entries.iter() {
            head.extend_from_slice(&e.tag.to_le_bytes());
            head.extend_from_slice(&e.kind.to_le_bytes());
            head.extend_from_slice(&e.count.to_le_bytes());
            if e.data.len() <= 4 {
                let mut v = e.data.clone();
                v.resize(4, 0);
                head.extend_from_slice(&v);
            } else {
                let off = data_start + data.len();
                head.extend_from_slice(&(off as u32).to_le_bytes());
                data.extend_from_slice(&e.data);
                if data.len() % 2 == 1 {
                    data.push(0);
                }
            }
        }
        head.extend_from_slice(&0u32.to_le_bytes());
    };
    let (mut exif, mut gps) = (exif, gps);
    write_ifd(&mut ifd0, &mut head);
    if !exif.is_empty() {
        write_ifd(&mut exif, &mut head);
    }
    if !gps.is_empty() {
        write_ifd(&mut gps, &mut head);
    }
    assert_eq!(head.len(), data_start);
    head.extend_from_slice(&data);
    head
}

/// A JPEG with `tiff` inserted as an APP1 `Exif` segment right after SOI.
pub fn jpeg_with_exif(jpeg: &[u8], tiff: &[u8]) -> Vec<u8> {
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
    let len = (2 + 6 + tiff.len()) as u16;
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(b"Exif\0\0");
    out.extend_from_slice(tiff);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// CRC-32 (IEEE) as PNG chunks use.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A PNG chunk (length, type, data, CRC).
pub fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
    out
}
