//! Multi-index hashing against a linear scan.

mod common;

use common::Rng;
use proptest::prelude::*;
use spirit_media::index::{HammingIndex, brute_force};

/// Clustered hashes: a few centres and copies with a few bits flipped, so that
/// neighbours exist at every small distance.
fn clustered(seed: u64, n: usize, centres: usize, max_flips: u32) -> Vec<u64> {
    let mut r = Rng::new(seed);
    let cs: Vec<u64> = (0..centres.max(1)).map(|_| r.next_u64()).collect();
    (0..n)
        .map(|_| {
            let mut h = cs[(r.next_u64() % cs.len() as u64) as usize];
            let flips = (r.next_u64() % u64::from(max_flips + 1)) as u32;
            for _ in 0..flips {
                h ^= 1 << (r.next_u64() % 64);
            }
            h
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn search_equals_brute_force(
        seed in any::<u64>(),
        n in 0usize..400,
        centres in 1usize..8,
        max_flips in 0u32..20,
        radius in 0u32..24,
        chunks in 4u32..12,
        query_flips in 0u32..16,
    ) {
        let hashes = clustered(seed, n, centres, max_flips);
        let index = HammingIndex::with_chunks(hashes.clone(), chunks);
        let mut r = Rng::new(seed ^ 0xABCD);
        let mut q = hashes.first().copied().unwrap_or_else(|| r.next_u64());
        for _ in 0..query_flips {
            q ^= 1 << (r.next_u64() % 64);
        }
        prop_assert_eq!(index.search(q, radius), brute_force(&hashes, q, radius));
    }

    #[test]
    fn search_any_takes_the_smaller_distance(
        seed in any::<u64>(),
        n in 1usize..300,
        radius in 0u32..20,
    ) {
        let hashes = clustered(seed, n, 4, 12);
        let index = HammingIndex::new(hashes.clone(), radius);
        let q1 = hashes[0];
        let q2 = !hashes[n / 2] ^ 0xFF;
        let got = index.search_any(&[q1, q2], radius);
        let mut want: Vec<_> = (0..n as u32)
            .filter_map(|id| {
                let h = hashes[id as usize];
                let d = (h ^ q1).count_ones().min((h ^ q2).count_ones());
                (d <= radius).then_some(spirit_media::Hit { distance: d, id })
            })
            .collect();
        want.sort_unstable();
        prop_assert_eq!(got, want);
    }
}

#[test]
fn a_large_random_index_finds_planted_neighbours() {
    let mut r = Rng::new(42);
    let mut hashes: Vec<u64> = (0..200_000).map(|_| r.next_u64()).collect();
    // Plant copies of hash 0 at distances 1..=10.
    for d in 1..=10u32 {
        let mut h = hashes[0];
        for b in 0..d {
            h ^= 1 << (b * 6);
        }
        hashes.push(h);
    }
    let index = HammingIndex::new(hashes.clone(), 10);
    let got = index.search(hashes[0], 10);
    assert_eq!(got, brute_force(&hashes, hashes[0], 10));
    assert!(
        got.len() >= 11,
        "the query and its ten planted neighbours: {got:?}"
    );
}
