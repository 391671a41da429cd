//! The perceptual hashes: the DCT against its definition, the mirror identities, and
//! robustness to the edits a re-posted photo goes through.

mod common;

use common::{Rng, jpeg, picture};
use image::{DynamicImage, imageops::FilterType};
use proptest::prelude::*;
use spirit_media::hash::{DCT_SIZE, dhash_from_grid, hash_image, low_dct9, phash_from_grid};
use spirit_media::picture::{Limits, decode};

fn random_grid(seed: u64, len: usize) -> Vec<f32> {
    let mut r = Rng::new(seed);
    (0..len).map(|_| (r.unit() * 255.0).round()).collect()
}

#[test]
fn dct_matches_the_definition() {
    let g = random_grid(7, DCT_SIZE * DCT_SIZE);
    let got = low_dct9(&g);
    let n = DCT_SIZE as f64;
    for (v, row) in got.iter().enumerate() {
        for (u, &coefficient) in row.iter().enumerate() {
            let s = |k: usize| {
                if k == 0 {
                    (1.0 / n).sqrt()
                } else {
                    (2.0 / n).sqrt()
                }
            };
            let mut want = 0.0f64;
            for y in 0..DCT_SIZE {
                for x in 0..DCT_SIZE {
                    want += f64::from(g[y * DCT_SIZE + x])
                        * ((2.0 * x as f64 + 1.0) * u as f64 * std::f64::consts::PI / (2.0 * n))
                            .cos()
                        * ((2.0 * y as f64 + 1.0) * v as f64 * std::f64::consts::PI / (2.0 * n))
                            .cos();
                }
            }
            want *= s(u) * s(v);
            assert!(
                (f64::from(coefficient) - want).abs() < 1e-2,
                "coefficient ({v},{u}): {coefficient} vs {want}"
            );
        }
    }
}

fn mirror_rows(g: &[f32], width: usize) -> Vec<f32> {
    g.chunks(width)
        .flat_map(|row| row.iter().rev().copied())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The mirror pHash, computed from sign flips of the coefficients, is the pHash of the
    /// mirrored grid (up to float rounding of a coefficient lying on the median).
    #[test]
    fn mirror_phash_is_the_phash_of_the_mirrored_grid(seed in any::<u64>()) {
        let g = random_grid(seed, DCT_SIZE * DCT_SIZE);
        let (direct, mirror) = phash_from_grid(&g);
        let (m_direct, m_mirror) = phash_from_grid(&mirror_rows(&g, DCT_SIZE));
        prop_assert!((mirror ^ m_direct).count_ones() <= 1);
        prop_assert!((direct ^ m_mirror).count_ones() <= 1);
        prop_assert_eq!(direct.count_ones(), 32, "median threshold gives 32 ones");
    }

    /// dHash has no floats in its comparisons: the identity is exact.
    #[test]
    fn mirror_dhash_is_exact(seed in any::<u64>()) {
        let g = random_grid(seed, 72);
        let (direct, mirror) = dhash_from_grid(&g);
        let (m_direct, m_mirror) = dhash_from_grid(&mirror_rows(&g, 9));
        prop_assert_eq!(mirror, m_direct);
        prop_assert_eq!(direct, m_mirror);
    }

    /// Brightness and contrast (affine grey changes) do not move pHash.
    #[test]
    fn phash_ignores_affine_grey_changes(seed in any::<u64>(), gain in 0.3f32..3.0, offset in -80f32..80.0) {
        let g = random_grid(seed, DCT_SIZE * DCT_SIZE);
        let changed: Vec<f32> = g.iter().map(|v| v * gain + offset).collect();
        let a = phash_from_grid(&g).0;
        let b = phash_from_grid(&changed).0;
        prop_assert!((a ^ b).count_ones() <= 2, "distance {}", (a ^ b).count_ones());
    }
}

fn brighten(img: &DynamicImage, delta: i32) -> DynamicImage {
    img.brighten(delta)
}

#[test]
fn edits_stay_close_and_other_pictures_stay_far() {
    let limits = Limits::default();
    let mut same = Vec::new();
    let mut other = Vec::new();
    for seed in 0..6u64 {
        let img = picture(seed, 320, 240);
        let h = hash_image(&img);
        let (w, hh) = (img.width(), img.height());
        let edits: Vec<(&str, DynamicImage)> = vec![
            (
                "half size",
                img.resize_exact(w / 2, hh / 2, FilterType::Triangle),
            ),
            ("brighter", brighten(&img, 40)),
            ("darker", brighten(&img, -40)),
            ("grayscale", DynamicImage::ImageLuma8(img.to_luma8())),
            (
                "crop 5%",
                img.crop_imm(w / 40, hh / 40, w - w / 20, hh - hh / 20),
            ),
            (
                "jpeg q30",
                decode("q30", &jpeg(&img, 30), &limits)
                    .expect("decode")
                    .image,
            ),
        ];
        for (what, e) in &edits {
            let d = h.phash_distance(&hash_image(e));
            same.push(d);
            assert!(d <= 10, "seed {seed}, {what}: pHash distance {d}");
        }
        let mirrored = hash_image(&img.fliph());
        assert!(
            h.phash_distance(&mirrored) <= 4,
            "mirror: {}",
            h.phash_distance(&mirrored)
        );
        assert!(
            h.dhash_distance(&mirrored) <= 6,
            "mirror dHash: {}",
            h.dhash_distance(&mirrored)
        );
        assert!(h.is_mirrored_match(&mirrored));
        for other_seed in 100..106u64 {
            other.push(h.phash_distance(&hash_image(&picture(other_seed, 320, 240))));
        }
    }
    let worst_same = *same.iter().max().expect("some edits");
    let closest_other = *other.iter().min().expect("some pairs");
    assert!(
        worst_same < closest_other,
        "edited copies (max {worst_same}) must be nearer than different pictures (min {closest_other})"
    );
}

#[test]
fn hashing_is_deterministic_and_lossless_roundtrips_are_exact() {
    let img = picture(3, 300, 200);
    let png = common::encode(&img, image::ImageFormat::Png);
    let back = decode("x.png", &png, &Limits::default())
        .expect("decode png")
        .image;
    assert_eq!(hash_image(&img), hash_image(&back));
}
