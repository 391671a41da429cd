//! The comparison seam: hash levels follow the thresholds, embeddings compare only
//! within one model.

mod common;

use common::picture;
use image::imageops::FilterType;
use spirit_media::compare::{
    Embedding, EmbeddingThresholds, compare, compare_embeddings, compare_hashes, cosine,
    hash_distance,
};
use spirit_media::{Fingerprint, HashThresholds, MatchLevel, hash_image};

#[test]
fn hash_levels_follow_the_thresholds() {
    let img = picture(21, 300, 200);
    let a = hash_image(&img);
    let b = hash_image(&img.resize_exact(150, 100, FilterType::Triangle));
    let c = hash_image(&picture(22, 300, 200));
    let d_ab = hash_distance(&a, &b);
    let d_ac = hash_distance(&a, &c);
    assert!(d_ab < d_ac, "resized copy {d_ab} vs other picture {d_ac}");
    let t = HashThresholds {
        near_duplicate: d_ab,
        similar: d_ac - 1,
    };
    assert_eq!(compare_hashes(&a, &b, &t).level, MatchLevel::NearDuplicate);
    assert_eq!(compare_hashes(&a, &c, &t).level, MatchLevel::Different);
    let t = HashThresholds {
        near_duplicate: d_ab.saturating_sub(1),
        similar: d_ab,
    };
    let expected = if d_ab == 0 {
        MatchLevel::NearDuplicate
    } else {
        MatchLevel::Similar
    };
    assert_eq!(compare_hashes(&a, &b, &t).level, expected);
    let s = compare_hashes(&a, &a, &t);
    assert_eq!((s.distance, s.score, s.mirrored), (0.0, 1.0, false));
    let m = compare_hashes(&a, &hash_image(&img.fliph()), &t);
    assert!(m.mirrored, "a flipped copy is reported as mirrored");
}

#[test]
fn embeddings_compare_only_within_one_model() {
    let e = |model: &str, v: &[f32]| Embedding {
        model: model.to_string(),
        vector: v.to_vec(),
    };
    let t = EmbeddingThresholds {
        near_duplicate: 0.95,
        similar: 0.7,
    };
    let a = e("face-v1", &[1.0, 0.0, 0.0]);
    let b = e("face-v1", &[0.8, 0.6, 0.0]);
    let s = compare_embeddings(&a, &b, &t).expect("same model");
    assert!((s.distance - 0.2).abs() < 1e-6, "{}", s.distance);
    assert_eq!(s.level, MatchLevel::Similar);
    assert_eq!(
        compare_embeddings(&a, &e("face-v2", &[1.0, 0.0, 0.0]), &t),
        None
    );
    assert_eq!(compare_embeddings(&a, &e("face-v1", &[1.0, 0.0]), &t), None);
    assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), None);
    // Kinds do not mix, and embeddings need their model's thresholds.
    let h = Fingerprint::ImageHashes(hash_image(&picture(1, 64, 64)));
    let fa = Fingerprint::Embedding(a.clone());
    assert_eq!(compare(&h, &fa, &HashThresholds::default(), Some(&t)), None);
    assert_eq!(compare(&fa, &fa, &HashThresholds::default(), None), None);
    let same = compare(&fa, &fa, &HashThresholds::default(), Some(&t)).expect("comparable");
    assert_eq!(same.level, MatchLevel::NearDuplicate);
}
