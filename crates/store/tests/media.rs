//! Media as evidence in resolution, on pictures and recordings made here (seeded).
//!
//! - Folder ingest stores a recording's fingerprint as `audio_fingerprint` in canonical
//!   form, and a picture's hash with its mirror's.
//! - Resolution: listings of vendors (username, photo hash, voice-note fingerprint),
//!   each vendor listed twice under the same name, so the model learns what media
//!   agreement is worth; then re-posts that carry *only* a mirrored photo or only a cut voice note
//!   link with their vendor, through the mirror-segment and min-hash blocking keys and
//!   the media comparisons alone, and unrelated media stay apart. (A store of media
//!   files only cannot learn that: every pair of such records is proposed by the very
//!   comparison whose m-probability is to be learned, see `Model::train_em`.)
#![cfg(feature = "audio")]

use std::path::Path;

use spirit_matching::evidence;
use spirit_model::NoProgress;
use spirit_store::{Workspace, folder, ingest, query};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A picture of a few soft blobs and stripes, different for every seed and not
/// symmetric; `mirror` flips it left to right.
fn picture(seed: u64, mirror: bool) -> image::RgbImage {
    let mut r = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let blobs: Vec<(f64, f64, f64, f64)> = (0..6)
        .map(|_| {
            (
                r.unit() * 256.0,
                r.unit() * 192.0,
                20.0 + r.unit() * 50.0,
                r.unit(),
            )
        })
        .collect();
    let (fx, fy) = (r.unit() * 0.08, r.unit() * 0.08);
    image::RgbImage::from_fn(256, 192, |x, y| {
        let x = if mirror { 255 - x } else { x };
        let (xf, yf) = (f64::from(x), f64::from(y));
        let mut v = 60.0 + 40.0 * (xf * fx + yf * fy).sin() + 0.3 * xf;
        for &(cx, cy, rad, w) in &blobs {
            let d2 = (xf - cx).powi(2) + (yf - cy).powi(2);
            v += 120.0 * w * (-d2 / (rad * rad)).exp();
        }
        let v = v.clamp(0.0, 255.0) as u8;
        image::Rgb([v, 255 - v / 2, v / 3])
    })
}

/// A melody: a new note with two harmonics every 0.2 s, from a seeded sequence.
fn melody(seed: u64, seconds: f64, rate: u32) -> Vec<f32> {
    let mut r = Rng(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) | 1);
    let n = (seconds * f64::from(rate)) as usize;
    let note_len = (0.2 * f64::from(rate)) as usize;
    let (mut freq, mut phase) = (440.0f64, 0.0f64);
    (0..n)
        .map(|i| {
            if i % note_len == 0 {
                let semitone = (r.next() % 24) as f64 - 12.0;
                freq = 440.0 * 2f64.powf(semitone / 12.0);
            }
            phase += 2.0 * std::f64::consts::PI * freq / f64::from(rate);
            (0.5 * phase.sin() + 0.25 * (2.0 * phase).sin() + 0.12 * (3.0 * phase).sin()) as f32
        })
        .collect()
}

/// 16-bit mono PCM WAV.
fn wav(x: &[f32], rate: u32) -> Vec<u8> {
    let data_len = (x.len() * 2) as u32;
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for &s in x {
        out.extend_from_slice(&((s.clamp(-1.0, 1.0) * 32000.0) as i16).to_le_bytes());
    }
    out
}

fn small_folder(root: &Path) {
    std::fs::create_dir_all(root.join("reposts")).unwrap();
    picture(0, false).save(root.join("photo0.png")).unwrap();
    picture(0, true)
        .save(root.join("reposts/photo0_mirrored.png"))
        .unwrap();
    std::fs::write(root.join("voice0.wav"), wav(&melody(0, 8.0, RATE), RATE)).unwrap();
    std::fs::write(root.join("reposts/voice0_cut.wav"), wav(&cut(0), RATE)).unwrap();
    // Silence has no usable fingerprint.
    std::fs::write(root.join("silence.wav"), wav(&[0.0; 11_025 * 4], RATE)).unwrap();
}

const RATE: u32 = 11_025;

/// The last 70 % of melody `seed` (8 s), at half the amplitude (−6 dB).
fn cut(seed: u64) -> Vec<f32> {
    let x = melody(seed, 8.0, RATE);
    x[(2.4 * f64::from(RATE)) as usize..]
        .iter()
        .map(|s| s * 0.5)
        .collect()
}

#[test]
fn folder_ingest_stores_canonical_media_values() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("seized");
    small_folder(&root);
    let mut ws = Workspace::init(&dir.path().join("ws"), None).unwrap();
    let report = folder::ingest_folder(&mut ws, "seized", &root, &NoProgress).unwrap();
    assert_eq!(report.stored.get("image"), Some(&2), "{report:?}");
    assert_eq!(report.stored.get("audio"), Some(&3), "{report:?}");
    let attr = |file: &str, kind: &str| {
        query::record(ws.connection(), &format!("seized:file:{file}"))
            .unwrap()
            .unwrap()
            .value(kind)
            .map(str::to_owned)
    };
    let original = attr("voice0.wav", "audio_fingerprint").unwrap();
    let copy = attr("reposts/voice0_cut.wav", "audio_fingerprint").unwrap();
    for v in [&original, &copy] {
        assert!(v.starts_with("chromaprint:"), "{v}");
        assert_eq!(evidence::audio_fingerprint(v).as_deref(), Some(v.as_str()));
    }
    let (a, b) = (
        evidence::parse_audio_fingerprint(&original).unwrap(),
        evidence::parse_audio_fingerprint(&copy).unwrap(),
    );
    assert_eq!(
        evidence::audio_fingerprint_level(&a, &b),
        1,
        "same recording"
    );
    assert_eq!(attr("silence.wav", "audio_fingerprint"), None);
    let (p, m) = (
        attr("photo0.png", "image_hash").unwrap(),
        attr("reposts/photo0_mirrored.png", "image_hash").unwrap(),
    );
    let (p, m) = (
        evidence::parse_image_hash(&p).unwrap(),
        evidence::parse_image_hash(&m).unwrap(),
    );
    assert!(evidence::image_hash_distance(p, m) <= 5, "{p:?} {m:?}");
}

/// Vendors, each listed twice under one name with the same photo; each listing has a
/// voice note, the same one (a little quieter) in both listings of the first
/// `SAME_VOICE` vendors and a different one otherwise. Duplicates are a small share of
/// the voice notes, as in a real market: if every recording had a copy, agreeing on a
/// recording would tell little (its u-probability would be as high as its m).
const VENDORS: u64 = 60;
const SAME_VOICE: u64 = 10;

fn image_value(img: image::RgbImage) -> String {
    let h = spirit_media::hash_image(&image::DynamicImage::ImageRgb8(img));
    format!("{:016x}:{:016x}", h.phash, h.phash_mirror)
}

fn audio_value(x: &[f32]) -> String {
    let limits = spirit_media::audio::AudioLimits::default();
    let fp = spirit_media::audio::fingerprint_bytes("melody.wav", &wav(x, RATE), &limits).unwrap();
    evidence::encode_audio_fingerprint(&fp.fingerprint).unwrap()
}

#[test]
fn mirrored_photos_and_cut_voice_notes_link_in_resolution() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("rec_id,username,image_hash,audio_fingerprint\n");
    for v in 0..VENDORS {
        csv.push_str(&format!(
            "a{v},vendor_{v:03},{},{}\n",
            image_value(picture(v, false)),
            audio_value(&melody(v, 8.0, RATE))
        ));
        let voice: Vec<f32> = if v < SAME_VOICE {
            melody(v, 8.0, RATE).iter().map(|s| s * 0.7).collect()
        } else {
            melody(500 + v, 8.0, RATE)
        };
        csv.push_str(&format!(
            "b{v},vendor_{v:03},{},{}\n",
            image_value(picture(v, false)),
            audio_value(&voice)
        ));
    }
    // Re-posts with nothing but the media: mirrored photos of vendors 0–2, cut voice
    // notes of vendors 3–4, and an unrelated photo and melody.
    for v in 0..3 {
        csv.push_str(&format!("photo{v},,{},\n", image_value(picture(v, true))));
    }
    for v in 3..5 {
        csv.push_str(&format!("voice{v},,,{}\n", audio_value(&cut(v))));
    }
    csv.push_str(&format!(
        "stranger,,{},{}\n",
        image_value(picture(999, false)),
        audio_value(&melody(999, 8.0, RATE))
    ));
    // A damaged fingerprint is missing, and counted.
    csv.push_str("damaged,vendor_999,,chromaprint:not*base64\n");
    let file = dir.path().join("listings.csv");
    std::fs::write(&file, csv).unwrap();

    let mut ws = Workspace::init(&dir.path().join("ws"), None).unwrap();
    let report = ingest::ingest(&mut ws, Some("market"), &file, None, &NoProgress).unwrap();
    let mapped: Vec<&str> = report.mapping.iter().map(|(_, k)| k.as_str()).collect();
    assert!(mapped.contains(&"audio_fingerprint"), "{mapped:?}");
    assert!(mapped.contains(&"image_hash"), "{mapped:?}");
    assert_eq!(
        report.invalid.get("audio_fingerprint"),
        Some(&1),
        "{:?}",
        report.invalid
    );
    assert_eq!(report.invalid.len(), 1, "{:?}", report.invalid);
    spirit_store::incremental::resolve_stored(&mut ws, &NoProgress).unwrap();
    let entity_of = |key: &str| {
        query::record(ws.connection(), &format!("market:{key}"))
            .unwrap()
            .unwrap()
            .entity
            .unwrap()
    };
    let vendors: std::collections::BTreeSet<String> =
        (0..VENDORS).map(|v| entity_of(&format!("a{v}"))).collect();
    assert_eq!(vendors.len() as u64, VENDORS, "vendors stay apart");
    for v in 0..3 {
        assert_eq!(
            entity_of(&format!("photo{v}")),
            entity_of(&format!("a{v}")),
            "mirrored photo of vendor {v}"
        );
    }
    for v in 3..5 {
        assert_eq!(
            entity_of(&format!("voice{v}")),
            entity_of(&format!("a{v}")),
            "cut voice note of vendor {v}"
        );
    }
    assert!(!vendors.contains(&entity_of("stranger")));

    // The voice-note re-post's edge is explained by the audio comparison alone.
    let view = query::entity(ws.connection(), &entity_of("a3"))
        .unwrap()
        .unwrap();
    let edge = view
        .edges
        .iter()
        .find(|e| e.left.ends_with("voice3") || e.right.ends_with("voice3"))
        .expect("an edge to the voice note");
    let weight = |name: &str| {
        edge.partials
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0.0, |p| p.1)
    };
    assert!(weight("audio_fingerprint") > 0.0, "{edge:?}");
    assert_eq!(weight("image_hash"), 0.0, "{edge:?}");
}
