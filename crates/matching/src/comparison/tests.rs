//! Tests of the comparison levels and kernels.

use super::*;
use crate::table::table_of as table;
use crate::table::{PrepareOptions, RecordTable};
use proptest::prelude::*;

fn label(f: Function, t: &RecordTable, a: u32, b: u32) -> &'static str {
    let l = Bound::new(f, t).level(t, a, b);
    if l == 0 {
        "null"
    } else {
        f.levels()[l as usize - 1]
    }
}

#[test]
fn one_edit() {
    assert!(within_one_edit("smith", "smith"));
    assert!(within_one_edit("smith", "smyth"));
    assert!(within_one_edit("smith", "smiht"));
    assert!(within_one_edit("smith", "smit"));
    assert!(within_one_edit("smit", "smith"));
    assert!(!within_one_edit("smith", "simth2"));
    assert!(!within_one_edit("smith", "jones"));
    assert!(within_one_edit("", "a"));
    // Spaces put in or left out cost nothing; one more edit is still allowed.
    assert!(within_one_edit_ignoring_spaces(
        "walkercrescent",
        "walker crescent"
    ));
    assert!(within_one_edit_ignoring_spaces(
        "kirklandc ircuit",
        "kirkland circuitt"
    ));
    assert!(!within_one_edit_ignoring_spaces(
        "kirklandc ircuit",
        "kirkland street"
    ));
    assert!(!within_one_edit_ignoring_spaces(
        &"a".repeat(200),
        &"a".repeat(200)
    ));
}

#[test]
fn given_name_levels() {
    use AttrKind::{GivenName as G, Surname as S};
    let t = table(&[
        &[(G, "William"), (S, "Smith")],
        &[(G, "Bill"), (S, "Smith")],
        &[(G, "Wiliam"), (S, "Smith")],
        &[(G, "Smith"), (S, "William")],
        &[(G, "W."), (S, "Smith")],
        &[(G, "Zebedee"), (S, "Smith")],
        &[(S, "Smith")],
        &[(G, "Smiht"), (S, "William")],
        &[(G, "Smiht"), (S, "Wiliam")],
    ]);
    assert_eq!(label(Function::GivenName, &t, 0, 0), "exact");
    assert_eq!(label(Function::GivenName, &t, 0, 1), "variant");
    assert_eq!(label(Function::GivenName, &t, 0, 2), "close");
    assert_eq!(label(Function::GivenName, &t, 0, 3), "swapped");
    assert_eq!(label(Function::Surname, &t, 0, 3), "swapped");
    assert_eq!(label(Function::GivenName, &t, 0, 4), "initial");
    assert_eq!(label(Function::GivenName, &t, 0, 5), "else");
    assert_eq!(label(Function::GivenName, &t, 0, 6), "null");
    assert_eq!(label(Function::GivenName, &t, 0, 7), "swapped", "one typo");
    assert_eq!(label(Function::Surname, &t, 7, 0), "swapped", "one typo");
    assert_ne!(label(Function::GivenName, &t, 0, 8), "swapped", "two typos");
}

#[test]
fn dob_levels() {
    use AttrKind::DateOfBirth as D;
    let t = table(&[
        &[(D, "1980-03-05")],
        &[(D, "05/03/1980")],
        &[(D, "1980-05-03")],
        &[(D, "1981-03-05")],
        &[(D, "1980")],
        &[(D, "1975-11-30")],
        &[(D, "1980-03-27")],
    ]);
    assert_eq!(label(Function::DateOfBirth, &t, 0, 1), "exact");
    assert_eq!(label(Function::DateOfBirth, &t, 0, 2), "transposed");
    assert_eq!(label(Function::DateOfBirth, &t, 0, 3), "typo");
    assert_eq!(label(Function::DateOfBirth, &t, 0, 4), "partial");
    assert_eq!(label(Function::DateOfBirth, &t, 0, 5), "else");
    assert_eq!(label(Function::DateOfBirth, &t, 0, 6), "near");
    assert_eq!(label(Function::DateOfBirth, &t, 4, 5), "else");
}

#[test]
fn contact_levels() {
    use AttrKind::{Email as E, Phone as P};
    let t = table(&[
        &[(E, "Jon.Smith+shop@Example.com"), (P, "+1 904 535 6889")],
        &[(E, "jon.smith@example.com"), (P, "(904) 535-6889")],
        &[(E, "jon.smith@other.org"), (P, "904 535 6888")],
        &[(E, "someone@else.net"), (P, "+44 20 7946 0000")],
    ]);
    assert_eq!(label(Function::Email, &t, 0, 1), "exact");
    assert_eq!(label(Function::Email, &t, 0, 2), "same_user");
    assert_eq!(label(Function::Email, &t, 0, 3), "else");
    assert_eq!(label(Function::Phone, &t, 0, 1), "exact");
    assert_eq!(label(Function::Phone, &t, 1, 2), "close");
    assert_eq!(label(Function::Phone, &t, 0, 3), "else");
}

#[test]
fn address_and_area_levels() {
    use AttrKind::{Address as A, City as C, Postcode as P, Region as R};
    let t = table(&[
        &[
            (A, "12 High Street"),
            (P, "SW1A 1AA"),
            (C, "London"),
            (R, "LDN"),
        ],
        &[(A, "12 high st"), (P, "sw1a1aa"), (C, "London")],
        &[(A, "12 High Street Flat 2"), (P, "SW1A 1AB"), (C, "London")],
        &[(A, "12 Hihg Street"), (P, "SW1A 1AA"), (C, "Leeds")],
        &[(A, "99 Other Road"), (P, "M1 1AE"), (C, "London")],
        &[
            (A, "1 Elm Close"),
            (P, "EH1 1YZ"),
            (C, "Edinburgh"),
            (R, "LDN"),
        ],
        &[
            (A, "1 Elm Close"),
            (P, "EH1 1YZ"),
            (C, "Edinburgh"),
            (R, "SCT"),
        ],
        &[(C, "")],
        &[(A, "12 HighSt")],
    ]);
    assert_eq!(label(Function::Address, &t, 0, 1), "exact");
    assert_eq!(label(Function::Address, &t, 0, 8), "close");
    assert_eq!(label(Function::Address, &t, 0, 2), "similar");
    assert_eq!(label(Function::Address, &t, 0, 3), "close");
    assert_eq!(label(Function::Address, &t, 0, 4), "else");
    assert_eq!(label(Function::Address, &t, 0, 7), "null");
    assert_eq!(label(Function::Area, &t, 0, 1), "exact");
    assert_eq!(label(Function::Area, &t, 0, 2), "postcode_close");
    assert_eq!(label(Function::Area, &t, 0, 3), "postcode");
    assert_eq!(label(Function::Area, &t, 0, 4), "city");
    assert_eq!(label(Function::Area, &t, 0, 5), "region");
    assert_eq!(label(Function::Area, &t, 5, 6), "exact");
    assert_eq!(label(Function::Area, &t, 0, 7), "null");
}

#[test]
fn evidence_levels() {
    use AttrKind::{CryptoAddress as W, Iban as I, ImageHash as H};
    let t = table(&[
        &[
            (W, "bitcoin:1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"),
            (H, "00000000000000ff:ff00000000000000"),
            (I, "GB82 WEST 1234 5698 7654 32"),
        ],
        &[
            (W, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"),
            (H, "00000000000000fe"),
            (I, "GB82WEST12345698765432"),
        ],
        &[
            (W, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"),
            (H, "ff00000000000003"),
        ],
        &[
            (W, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb"),
            (H, "000000000003ffff"),
            (I, "GB83WEST12345698765432"),
        ],
        &[(H, "ffffffffffffff00")],
    ]);
    let kinds = t.kinds();
    let defaults = Function::defaults_for(&kinds);
    assert!(defaults.contains(&Function::Exact(W)));
    assert!(defaults.contains(&Function::Exact(I)));
    assert!(defaults.contains(&Function::ImageHash));
    assert_eq!(label(Function::Exact(W), &t, 0, 1), "exact");
    assert_eq!(label(Function::Exact(W), &t, 0, 2), "else");
    assert_eq!(
        label(Function::Exact(W), &t, 0, 3),
        "null",
        "bad checksum is missing"
    );
    assert_eq!(label(Function::Exact(I), &t, 0, 1), "exact");
    assert_eq!(label(Function::Exact(I), &t, 0, 3), "null");
    assert_eq!(label(Function::ImageHash, &t, 0, 1), "near_duplicate");
    // ff00000000000003 is 2 bits from the mirror of record 0, 14 from its hash.
    assert_eq!(label(Function::ImageHash, &t, 0, 2), "near_duplicate");
    assert_eq!(label(Function::ImageHash, &t, 0, 3), "close");
    assert_eq!(label(Function::ImageHash, &t, 1, 2), "similar");
    assert_eq!(label(Function::ImageHash, &t, 1, 4), "else");
}

use crate::evidence::test_prints as prints;

#[test]
fn audio_levels() {
    use crate::evidence::encode_audio_fingerprint as enc;
    use AttrKind::AudioFingerprint as F;
    let a = prints(1, 240);
    // The last 70 %, one bit flipped in each sub-fingerprint.
    let copy: Vec<u32> = a[72..].iter().map(|x| x ^ (1 << (x % 32))).collect();
    let raw: Vec<String> = a.iter().map(u32::to_string).collect();
    let t = table(&[
        &[(F, &enc(&a).unwrap())],
        &[(F, &enc(&copy).unwrap())],
        &[(F, &enc(&prints(2, 240)).unwrap())],
        &[(F, "chromaprint:@@")],
        &[(F, &raw.join(","))],
    ]);
    assert!(Function::defaults_for(&t.kinds()).contains(&Function::AudioFingerprint));
    let f = Function::AudioFingerprint;
    assert_eq!(f.levels(), ["same_recording", "similar", "else"]);
    assert_eq!(label(f, &t, 0, 1), "same_recording");
    assert_eq!(label(f, &t, 1, 0), "same_recording");
    assert_eq!(label(f, &t, 0, 2), "else");
    assert_eq!(label(f, &t, 0, 3), "null", "a malformed value is missing");
    assert_eq!(
        label(f, &t, 0, 4),
        "same_recording",
        "fpcalc's list, same value"
    );
    assert_eq!(t.column(F).unwrap().values.len(), 3);
}

#[test]
fn explanations_show_the_common_audio_segment() {
    use crate::evidence::encode_audio_fingerprint as enc;
    use AttrKind::AudioFingerprint as F;
    let a = prints(7, 240);
    let t = table(&[&[(F, &enc(&a).unwrap())], &[(F, &enc(&a[80..]).unwrap())]]);
    let model = crate::Model::initial(&t, &[Function::AudioFingerprint], 100, false, 1).unwrap();
    let scorer = crate::Scorer::new(model, &t);
    let e = scorer.explain(0, 1);
    let item = &e.items[0];
    assert_eq!(item.comparison, "audio_fingerprint");
    assert_eq!(item.level, "same_recording");
    let left = item.left.as_deref().unwrap();
    let right = item.right.as_deref().unwrap();
    assert!(
        left.starts_with("29.7 s fingerprinted; common 19."),
        "{left}"
    );
    assert!(
        left.contains("at 0.00 bit errors") && left.ends_with("from 9.9 s"),
        "{left}"
    );
    assert!(
        right.starts_with("19.8 s fingerprinted") && right.ends_with("from 0.0 s"),
        "{right}"
    );
}

proptest! {
    #[test]
    fn one_edit_is_symmetric(a in "[a-c]{0,6}", b in "[a-c]{0,6}") {
        prop_assert_eq!(within_one_edit(&a, &b), within_one_edit(&b, &a));
        let osa = strsim::osa_distance(&a, &b);
        prop_assert_eq!(within_one_edit(&a, &b), osa <= 1);
    }

    #[test]
    fn levels_are_symmetric_and_in_range(
        names in proptest::collection::vec(("[A-Za-zé ]{0,8}", "[A-Za-z]{0,8}", "[0-9/-]{0,10}", "[a-z0-9@.]{0,12}"), 2..6)
    ) {
        use AttrKind::*;
        let rows: Vec<Vec<(AttrKind, String)>> = names
            .iter()
            .map(|(g, s, d, e)| vec![
                (GivenName, g.clone()), (Surname, s.clone()),
                (DateOfBirth, d.clone()), (Email, e.clone()),
                (Address, format!("{g} {s}")), (Phone, d.clone()),
            ])
            .collect();
        let n = rows.len();
        let t = RecordTable::build(&rows, vec![0; n], &PrepareOptions::default());
        for f in Function::defaults_for(&t.kinds()) {
            let bound = Bound::new(f, &t);
            for a in 0..n as u32 {
                for b in 0..n as u32 {
                    let l = bound.level(&t, a, b);
                    prop_assert!(usize::from(l) <= f.levels().len());
                    prop_assert_eq!(l, bound.level(&t, b, a), "{:?} {} {}", f, a, b);
                }
            }
        }
    }

    #[test]
    fn jaro_winkler_matches_the_reference(a in "[a-e ]{0,12}", b in "[a-e ]{0,12}", t in 0.5f64..1.0) {
        let ours = jaro_winkler(&a, &b);
        prop_assert!((ours - strsim::jaro_winkler(&a, &b)).abs() < 1e-9, "{} {}", a, b);
        prop_assert_eq!(ours, jaro_winkler(&b, &a));
        prop_assert_eq!(jaro_winkler_at_least(&a, &b, t), ours >= t);
    }

    #[test]
    fn the_letter_bound_never_falls_below_jaro_winkler(a in "[a-z' -]{0,14}", b in "[a-z' -]{0,14}", t in 0.7f64..1.0) {
        let jw = jaro_winkler(&a, &b);
        prop_assert!(jaro_winkler_bound(a.as_bytes(), b.as_bytes()) >= jw - 1e-12, "{} {}", a, b);
        prop_assert_eq!(jaro_winkler_at_least(&a, &b, t), jw >= t);
    }

    #[test]
    fn the_letter_bound_holds_for_near_names(a in "[a-z]{1,10}", i in 0usize..12, c in "[a-z]", t in 0.7f64..1.0) {
        let mut b = a.clone();
        b.insert_str(i % (a.len() + 1), &c);
        let jw = jaro_winkler(&a, &b);
        prop_assert!(jaro_winkler_bound(a.as_bytes(), b.as_bytes()) >= jw - 1e-12, "{} {}", a, b);
        prop_assert_eq!(jaro_winkler_at_least(&a, &b, t), jw >= t);
    }

    #[test]
    fn jaccard_in_range(x in proptest::collection::btree_set(0u64..20, 0..8), y in proptest::collection::btree_set(0u64..20, 0..8)) {
        let (x, y): (Vec<u64>, Vec<u64>) = (x.into_iter().collect(), y.into_iter().collect());
        let j = token_jaccard(&x, &y);
        prop_assert!((0.0..=1.0).contains(&j));
        prop_assert_eq!(j, token_jaccard(&y, &x));
    }
}
