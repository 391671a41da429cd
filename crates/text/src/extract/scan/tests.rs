//! Property tests comparing the fast scans with the patterns they stand for, and examples.
use proptest::prelude::*;

use super::digits::{DIGITS, digit_runs};
use super::email::{SPACED_EMAIL, at_words, next_spaced};
use super::tokens::{PGP_SPACED, pgp_spaced_len, tokens, tokens_bytewise};
use super::web::{URL, dotted_with, url_matches};
use super::*;
use crate::extract::Kind;

fn spans(c: &[Cand]) -> Vec<(Kind, usize, usize, String)> {
    let mut v: Vec<_> = c
        .iter()
        .map(|c| (c.kind, c.start, c.end, c.value.clone()))
        .collect();
    v.sort();
    v
}

/// Inputs built from the pieces the fast paths look at.
fn pieces() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[0-9]{1,5}",
        "[a-fA-F0-9]{4}",
        "[ .()/+-]{1,4}",
        "[a-zA-Z]{1,8}",
        Just(".".to_string()),
        Just(" ".to_string()),
        Just("  ".to_string()),
        Just("\n".to_string()),
        prop::sample::select(vec![
            ".com",
            ".co.uk",
            ".onion",
            ".xn--p1ai",
            ".pdf",
            ".js",
            ".e",
            "www.",
            "xn--",
            "_",
            "@",
            ":",
            "é",
            "+44 ",
            "(0)",
            "10.0.0.",
            "192.168.",
            "1.2.3.4",
            "GB82 ",
        ])
        .prop_map(str::to_string),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn digit_runs_match_the_pattern(s in pieces()) {
        let fast: Vec<_> = digit_runs(s.as_bytes()).collect();
        let slow: Vec<_> = DIGITS.find_iter(&s).map(|m| (m.start(), m.end())).collect();
        prop_assert_eq!(fast, slow);
    }

    #[test]
    fn spaced_fingerprints_match_the_pattern(s in pieces()) {
        let b = s.as_bytes();
        for i in 0..b.len() {
            if i > 0 && is_word(b[i - 1]) {
                continue;
            }
            let fast = pgp_spaced_len(b, i);
            let slow = PGP_SPACED
                .find_at(&s, i)
                .filter(|m| m.start() == i)
                .map(|m| m.len());
            if s.is_char_boundary(i) {
                prop_assert_eq!(fast, slow, "at {}", i);
            }
        }
    }

    #[test]
    fn dotted_prefilter_drops_nothing(s in pieces()) {
        let (mut fast, mut slow) = (Vec::new(), Vec::new());
        dotted_with(&s, &mut fast, true);
        dotted_with(&s, &mut slow, false);
        prop_assert_eq!(spans(&fast), spans(&slow));
    }
}

/// Inputs with written-out addresses and near-misses.
fn spaced() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-zA-Z0-9]{1,6}",
        "[ ._-]{1,3}",
        prop::sample::select(vec![
            " at ", " AT ", " aT ", "  at  ", " dot ", " DOT ", ".", " ", "com", "_", "@", "é",
            "\n",
        ])
        .prop_map(str::to_string),
    ];
    prop::collection::vec(piece, 0..30).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn spaced_search_matches_the_pattern(s in spaced()) {
        let ats = at_words(s.as_bytes());
        for pos in (0..=s.len()).filter(|&p| s.is_char_boundary(p)) {
            let fast = next_spaced(&s, pos, &ats).map(|m| m.range());
            let slow = SPACED_EMAIL.find_at(&s, pos).map(|m| m.range());
            prop_assert_eq!(fast, slow, "from {}", pos);
        }
    }
}

/// Text with the pieces word runs are made of: long letter and digit runs, IBAN and
/// fingerprint starts, '_', '@', '-', non-ASCII.
fn wordy() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-zA-Z0-9]{1,40}",
        "[A-Z]{2}[0-9]{2}[A-Z0-9 ]{0,30}",
        "[0-9a-fA-F]{4} ",
        "[ .@_/\n-]{1,3}",
        prop::sample::select(vec![
            "é",
            "GB82 WEST 1234 5698 7654 32",
            "0x",
            "bc1",
            "fingerprint ",
            "_",
            "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
            "0x52908400098527886E0F7030069857D2E4169EE7",
            "4",
            "8",
        ])
        .prop_map(str::to_string),
    ];
    prop::collection::vec(piece, 0..60).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn token_bitmap_finds_what_the_byte_scan_finds(s in wordy()) {
        let (mut fast, mut slow) = (Vec::new(), Vec::new());
        tokens(&s, &mut fast);
        tokens_bytewise(&s, &mut slow);
        prop_assert_eq!(spans(&fast), spans(&slow));
    }
}

/// Text around URLs: schemes (any case, defanged), "://" without a scheme, non-ASCII.
fn urlish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-zA-Z0-9]{1,6}",
        "[ ./:<>\"-]{1,3}",
        prop::sample::select(vec![
            "http",
            "https",
            "HTTP",
            "hxxps",
            "ftp",
            "://",
            "http://",
            "ftp://x.org",
            "https://example.org/p?q=1",
            "é",
            "€",
            "xhttp://",
            "\n",
            "[",
            "]",
        ])
        .prop_map(str::to_string),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn url_search_matches_the_pattern(s in urlish()) {
        let fast: Vec<_> = url_matches(&s).map(|m| m.range()).collect();
        let slow: Vec<_> = URL.find_iter(&s).map(|m| m.range()).collect();
        prop_assert_eq!(fast, slow);
    }
}

#[test]
fn spaced_search_examples() {
    let t = "seen at home, mail x.y_z at example dot com or a at b.org";
    let ats = at_words(t.as_bytes());
    assert_eq!(ats.len(), 3);
    let m = next_spaced(t, 0, &ats).unwrap();
    assert_eq!(m.as_str(), "x.y_z at example dot com");
    let m = next_spaced(t, m.end(), &ats).unwrap();
    assert_eq!(m.as_str(), "a at b.org");
    assert!(next_spaced(t, m.end(), &ats).is_none());
}

#[test]
fn spaced_fingerprint_examples() {
    let fp = "0123 4567 89AB CDEF 0123  4567 89ab cdef 0123 4567";
    assert_eq!(pgp_spaced_len(fp.as_bytes(), 0), Some(fp.len()));
    assert_eq!(pgp_spaced_len(format!("{fp}x").as_bytes(), 0), None);
    assert_eq!(pgp_spaced_len(b"4111 1111 1111 1111", 0), None);
}
