//! The record signature behind the `record:lshN` blocking rules: a min-hash signature
//! over the character trigrams of the whole person (names, street address, city,
//! postcode), cut into bands. Two records share a band's key when all its min-hashes
//! agree, which for trigram sets of Jaccard similarity J happens with probability J^rows:
//! pairs with several fields corrupted but most of their text alike meet in some band,
//! strangers almost never.

use spirit_model::AttrKind;

use crate::table::{RecordTable, hash_bytes, hash_str};

/// Rows (min-hashes) per band of the record signature: two records share a band with
/// probability J⁵ for trigram Jaccard similarity J, so strangers who share a few common
/// trigrams almost never do.
pub const LSH_ROWS: usize = 5;
/// Bands of the record signature, each a blocking rule `record:lshN`: a pair of trigram
/// sets with Jaccard similarity 0.5 meets in at least one band with probability
/// 1 − (1 − 0.5⁵)²⁰ ≈ 0.47, at 0.7 with ≈ 0.97, at 0.2 with ≈ 0.006.
pub const LSH_BANDS: usize = 20;
/// The kinds a record signature is made of.
pub const LSH_KINDS: [AttrKind; 5] = [
    AttrKind::GivenName,
    AttrKind::Surname,
    AttrKind::Address,
    AttrKind::City,
    AttrKind::Postcode,
];
/// Fewer trigrams than this are too little text to sign.
const LSH_MIN_TRIGRAMS: usize = 8;

/// Seed of the trigram hashes.
const GRAM_SEED: u64 = 0x243f_6a88_85a3_08d3;

/// The band keys of record `r`'s min-hash signature over the character trigrams of its
/// names, street address, city and postcode (lower-cased, spaces removed so that a
/// moved space changes nothing, each value padded so its first and last letters count);
/// `None` with fewer than [`LSH_MIN_TRIGRAMS`] trigrams.
pub fn record_signature(table: &RecordTable, r: u32) -> Option<[u64; LSH_BANDS]> {
    let mut grams: Vec<u64> = Vec::with_capacity(64);
    let mut chars: Vec<char> = Vec::with_capacity(64);
    for kind in LSH_KINDS {
        let Some(v) = table.column(kind).and_then(|c| c.get(r)) else {
            continue;
        };
        chars.clear();
        chars.push(' ');
        chars.extend(
            v.chars()
                .filter(|c| !c.is_whitespace())
                .flat_map(char::to_lowercase),
        );
        chars.push(' ');
        for w in chars.windows(3) {
            let mut buf = [0u8; 12];
            let mut len = 0;
            for c in w {
                len += c.encode_utf8(&mut buf[len..]).len();
            }
            grams.push(hash_bytes(GRAM_SEED, &buf[..len]));
        }
    }
    grams.sort_unstable();
    grams.dedup();
    if grams.len() < LSH_MIN_TRIGRAMS {
        return None;
    }
    let mut bands = [0u64; LSH_BANDS];
    for (band, key) in bands.iter_mut().enumerate() {
        let mut h = hash_str("lsh") ^ band as u64;
        for row in 0..LSH_ROWS {
            let seed = ((band * LSH_ROWS + row) as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let min = grams.iter().map(|&g| mix(g ^ seed)).min().unwrap_or(0);
            h = hash_bytes(h, &min.to_le_bytes());
        }
        *key = h;
    }
    Some(bands)
}

/// A 64-bit finaliser (SplitMix64's): a different permutation of hashes per seed.
#[inline]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocking::{BlockKeys, BlockingRule};
    use crate::table::table_of as table;
    use AttrKind::*;

    fn shared_bands(t: &RecordTable, a: u32, b: u32) -> usize {
        let (x, y) = (
            record_signature(t, a).unwrap(),
            record_signature(t, b).unwrap(),
        );
        x.iter().zip(&y).filter(|(p, q)| p == q).count()
    }

    #[test]
    fn a_person_with_several_fields_corrupted_still_meets_their_record() {
        let t = table(&[
            &[
                (GivenName, "Kynan"),
                (Surname, "Dooley"),
                (Address, "92 Kirkland Circuit"),
                (City, "Winston Hills"),
                (Postcode, "4223"),
            ],
            // the given name and the surname misspelt, the house number and a space moved
            &[
                (GivenName, "Kynzn"),
                (Surname, "Doolqey"),
                (Address, "92 Kirklandc ircuit"),
                (City, "Winston Hills"),
                (Postcode, "4223"),
            ],
            // a stranger in the same suburb
            &[
                (GivenName, "Holly"),
                (Surname, "Webb"),
                (Address, "7 Nivison Place"),
                (City, "Winston Hills"),
                (Postcode, "4223"),
            ],
            // too little text to sign
            &[(GivenName, "Al"), (Surname, "Wu")],
        ]);
        assert_eq!(shared_bands(&t, 0, 0), LSH_BANDS);
        assert!(
            shared_bands(&t, 0, 1) >= 1,
            "the corrupted copy shares no band"
        );
        assert_eq!(shared_bands(&t, 0, 2), 0, "the neighbour shares a band");
        assert_eq!(record_signature(&t, 3), None);
        // As blocking rules: the copy is proposed, the neighbour and the short record not.
        let rules: Vec<BlockingRule> = (0..LSH_BANDS)
            .map(|i| BlockingRule::parse(&[format!("record:lsh{i}")]).unwrap())
            .collect();
        let keys = BlockKeys::compute(&t, rules.clone(), 100);
        let meet = |a: usize, b: usize| keys.keys.iter().any(|k| k[a].is_some() && k[a] == k[b]);
        assert!(meet(0, 1) && !meet(0, 2) && !meet(1, 2));
        assert!(keys.keys.iter().all(|k| k[3].is_none()));
        // One record's key is the key the whole table computes.
        for (i, rule) in rules.iter().enumerate() {
            for r in 0..4 {
                assert_eq!(rule.key(&t, r), keys.keys[i][r as usize], "{rule} {r}");
            }
        }
    }

    #[test]
    fn record_rules_parse_print_and_apply_where_there_is_a_place() {
        let r = BlockingRule::parse(&["record:lsh7"]).unwrap();
        assert_eq!(r.to_string(), "record:lsh7");
        assert!(r.is_record_signature());
        assert!(r.covered_kinds().contains(&Address));
        for bad in [
            "record:exact",
            "name:lsh1",
            "given_name:lsh0",
            "record:lsh20",
            "record:metaphone_set",
        ] {
            assert!(BlockingRule::parse(&[bad]).is_err(), "{bad}");
        }
        let signed = |kinds: &[AttrKind]| BlockingRule::record_signature_for(kinds).len();
        assert_eq!(signed(&[GivenName, Surname]), 0);
        assert_eq!(signed(&[GivenName, Surname, City]), LSH_BANDS);
        assert_eq!(signed(&[Address, City, Postcode]), 0);
        // Only on demand: not among the defaults, added by the setting.
        let kinds = [GivenName, Surname, Address];
        assert!(
            !BlockingRule::defaults_for(&kinds)
                .iter()
                .any(BlockingRule::is_record_signature)
        );
        let mut settings = crate::Settings::default();
        let plain = settings.blocking_rules(&kinds).unwrap().len();
        settings.resolve.record_signature = true;
        assert_eq!(
            settings.blocking_rules(&kinds).unwrap().len(),
            plain + LSH_BANDS
        );
    }
}
