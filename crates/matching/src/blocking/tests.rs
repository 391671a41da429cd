use super::*;
use crate::table::table_of as table;

#[test]
fn parses_and_prints_rules() {
    let r = BlockingRule::parse(&["surname:metaphone", "given_name:prefix3"]).unwrap();
    assert_eq!(r.to_string(), "surname:metaphone & given_name:prefix3");
    assert!(
        BlockingRule::parse(&["shoe:exact"])
            .unwrap_err()
            .contains("shoe")
    );
    assert!(
        BlockingRule::parse(&["surname:soundex"])
            .unwrap_err()
            .contains("soundex")
    );
    assert!(BlockingRule::parse(&["surname"]).is_err());
    assert!(BlockingRule::parse(&["surname:prefix0"]).is_err());
    assert!(BlockingRule::parse(&["surname:metaphone_set"]).is_err());
    assert!(BlockingRule::parse::<&str>(&[]).is_err());
}

#[test]
fn metaphone_set_ignores_name_order() {
    use AttrKind::{GivenName as G, Surname as S};
    let t = table(&[
        &[(G, "John"), (S, "Smith")],
        &[(G, "Smith"), (S, "Jon")],
        &[(G, "Mary")],
    ]);
    let rules = vec![BlockingRule::parse(&["name:metaphone_set"]).unwrap()];
    let k = BlockKeys::compute(&t, rules, 100);
    assert!(k.keys[0][0].is_some());
    assert_eq!(k.keys[0][0], k.keys[0][1]);
    assert_eq!(k.keys[0][2], None);
    assert_eq!(k.pairs_per_rule(), [1]);
}

#[test]
fn the_first_rule_proposing_a_pair_counts_it() {
    use AttrKind::{GivenName as G, Surname as S};
    let t = table(&[
        &[(G, "Ann"), (S, "Lee")],
        &[(G, "Ann"), (S, "Lee")],
        &[(G, "Ann"), (S, "Kim")],
    ]);
    let rules = vec![
        BlockingRule::parse(&["surname:exact"]).unwrap(),
        BlockingRule::parse(&["given_name:exact"]).unwrap(),
    ];
    let k = BlockKeys::compute(&t, rules, 100);
    assert!(k.is_first(0, 1, 0));
    assert!(!k.is_first(0, 1, 1), "surname proposed (0, 1) first");
    assert!(k.is_first(0, 2, 1));
    assert!(k.is_first(1, 2, 1));
}

#[test]
fn oversized_blocks_are_capped() {
    use AttrKind::Surname as S;
    let mut rows: Vec<&[(AttrKind, &str)]> = vec![&[(S, "Smith")]; 5];
    rows.push(&[(S, "Jones")]);
    rows.push(&[(S, "Jones")]);
    let t = table(&rows);
    let rules = vec![BlockingRule::parse(&["surname:exact"]).unwrap()];
    let k = BlockKeys::compute(&t, rules, 3);
    assert_eq!(k.capped_records, vec![5]);
    assert_eq!(k.capped_blocks, vec![1]);
    assert!(k.keys[0][..5].iter().all(Option::is_none));
    assert!(k.keys[0][5].is_some());
    assert_eq!(k.pairs_per_rule(), [1]);
}

#[test]
fn street_keys_ignore_the_rest_of_the_address() {
    use AttrKind::Address as A;
    let t = table(&[
        &[(A, "12 High Street Flat 3")],
        &[(A, "12 high st")],
        &[(A, "14 High St")],
        &[(A, "High St")],
    ]);
    let rules = vec![BlockingRule::parse(&["address:street"]).unwrap()];
    let k = BlockKeys::compute(&t, rules, 100);
    assert_eq!(k.keys[0][0], k.keys[0][1]);
    assert_ne!(k.keys[0][0], k.keys[0][2]);
    assert_eq!(k.keys[0][3], None);
}

#[test]
fn evidence_keys() {
    use AttrKind::{CryptoAddress as W, ImageHash as H};
    let t = table(&[
        &[
            (W, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),
            (H, "0123456789abcdef"),
        ],
        &[
            (W, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"),
            (H, "0123456789abcd10"),
        ],
        &[
            (W, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"),
            (H, "fedcba9876543210"),
        ],
    ]);
    let rules = BlockingRule::defaults_for(&t.kinds());
    assert_eq!(rules.len(), 1 + 8 + 8, "{rules:?}");
    assert_eq!(rules[0].to_string(), "crypto_address:exact");
    let k = BlockKeys::compute(&t, rules, 100);
    assert_eq!(k.keys[0][0], k.keys[0][1]);
    assert_eq!(k.keys[0][2], None, "an invalid address has no key");
    // 0 and 1 differ in the lowest byte only: they share the other seven segments.
    let shared = (1..9).filter(|&r| k.keys[r][0] == k.keys[r][1]).count();
    assert_eq!(shared, 7);
    assert!((1..9).all(|r| k.keys[r][0] != k.keys[r][2]));
    assert!(BlockingRule::parse(&["surname:segment1"]).is_err());
    assert!(BlockingRule::parse(&["image_hash:segment8"]).is_err());
    let e = BlockingRule::parse(&["style_profile:exact"]).unwrap_err();
    assert!(e.contains("cannot propose pairs"), "{e}");
    assert!(
        !BlockingRule::defaults_for(&AttrKind::ALL)
            .iter()
            .any(|r| r.kinds().contains(&AttrKind::StyleProfile))
    );
    assert_eq!(
        BlockingRule::parse(&["image_hash:segment3"])
            .unwrap()
            .to_string(),
        "image_hash:segment3"
    );
}

/// A mirrored copy (pHash and mirror pHash swapped, a few bits off) shares a
/// mirror-segment key with its original, and no plain segment key.
#[test]
fn mirrored_copies_share_a_mirror_segment_key() {
    use AttrKind::ImageHash as H;
    let t = table(&[
        &[(H, "0123456789abcdef:f0e1d2c3b4a59687")],
        // The mirror: its pHash is the original's mirror pHash with two bits
        // flipped, its mirror pHash the original's pHash with one flipped.
        &[(H, "f0e1d2c3b4a59784:0123456789abcdee")],
        &[(H, "0f1e2d3c4b5a6978:8796a5b4c3d2e1f0")],
        // No mirror hash: no mirror key.
        &[(H, "0123456789abcdef")],
    ]);
    let rules = BlockingRule::defaults_for(&t.kinds());
    assert_eq!(rules.len(), 16);
    assert_eq!(rules[8].to_string(), "image_hash:mirror_segment0");
    let k = BlockKeys::compute(&t, rules, 100);
    assert!(
        (0..8).all(|r| k.keys[r][0] != k.keys[r][1]),
        "segments miss it"
    );
    let shared = (8..16).filter(|&r| k.keys[r][0] == k.keys[r][1]).count();
    assert_eq!(shared, 6, "the two lowest segments differ");
    assert!((8..16).all(|r| k.keys[r][0] != k.keys[r][2]));
    assert!((8..16).all(|r| k.keys[r][3].is_none()));
    assert!(BlockingRule::parse(&["image_hash:mirror_segment8"]).is_err());
    assert!(BlockingRule::parse(&["surname:mirror_segment1"]).is_err());
}

/// A fingerprint and a copy of its last 70 % with some bits flipped share most
/// min-hash keys; an unrelated one shares none.
#[test]
fn audio_minhash_keys() {
    use crate::evidence::{AUDIO_MINHASH_KEYS, encode_audio_fingerprint};
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x as u32
    };
    let a: Vec<u32> = (0..200).map(|_| next()).collect();
    // Flip two low bits of each kept sub-fingerprint (below the feature bits).
    let b: Vec<u32> = a[60..].iter().map(|v| v ^ 0b101).collect();
    let c: Vec<u32> = (0..200).map(|_| next()).collect();
    let (a, b, c) = (
        encode_audio_fingerprint(&a).unwrap(),
        encode_audio_fingerprint(&b).unwrap(),
        encode_audio_fingerprint(&c).unwrap(),
    );
    use AttrKind::AudioFingerprint as F;
    let t = table(&[
        &[(F, &a)],
        &[(F, &b)],
        &[(F, &c)],
        &[(F, "chromaprint:AAAA")],
    ]);
    let rules = BlockingRule::defaults_for(&t.kinds());
    assert_eq!(rules.len(), usize::from(AUDIO_MINHASH_KEYS));
    assert_eq!(rules[0].to_string(), "audio_fingerprint:minhash0");
    let k = BlockKeys::compute(&t, rules, 100);
    let shared = |x: usize, y: usize| {
        (0..usize::from(AUDIO_MINHASH_KEYS))
            .filter(|&r| k.keys[r][x] == k.keys[r][y])
            .count()
    };
    assert!(shared(0, 1) >= 3, "{}", shared(0, 1));
    assert_eq!(shared(0, 2), 0);
    assert!(k.keys.iter().all(|r| r[3].is_none()), "too short: missing");
    assert!(BlockingRule::parse(&["image_hash:minhash0"]).is_err());
    assert!(BlockingRule::parse(&["audio_fingerprint:minhash99"]).is_err());
}

/// Pairs within 7 bits always share a segment key: the pigeonhole the rules rely on.
#[test]
fn segments_catch_every_pair_within_seven_bits() {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..2000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let mut y = x;
        let mut flips = x;
        for _ in 0..7 {
            flips = flips.rotate_left(23).wrapping_mul(0x2545_f491_4f6c_dd1d);
            y ^= 1 << (flips % 64);
        }
        assert!((0..8).any(|i| crate::evidence::image_hash_segment(x, i)
            == crate::evidence::image_hash_segment(y, i)));
    }
}

#[test]
fn defaults_only_use_present_kinds() {
    let rules = BlockingRule::defaults_for(&[AttrKind::GivenName, AttrKind::Surname]);
    assert_eq!(rules.len(), 1);
    let all = BlockingRule::defaults_for(&AttrKind::ALL);
    assert!(all.len() > 8);
}

#[test]
fn one_record_key_equals_the_computed_key() {
    let t = table(&[
        &[
            (AttrKind::GivenName, "Jon"),
            (AttrKind::Surname, "Smith"),
            (AttrKind::DateOfBirth, "1980-03-05"),
        ],
        &[
            (AttrKind::Surname, "Smyth"),
            (AttrKind::Postcode, "SW1A 1AA"),
        ],
    ]);
    let rules = BlockingRule::defaults_for(&t.kinds());
    let keys = BlockKeys::compute(&t, rules.clone(), usize::MAX);
    for (i, rule) in rules.iter().enumerate() {
        for r in 0..2 {
            assert_eq!(rule.key(&t, r), keys.keys[i][r as usize], "{rule} {r}");
        }
    }
}
