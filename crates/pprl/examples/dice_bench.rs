//! Dice throughput on one core: one query scanned against a contiguous block of filters
//! (the batch kernel), and random pairs (the single-pair function), for 1024-bit filters.
//! Run: cargo run --release --example dice_bench [-- <filters> <rounds>]
use std::time::Instant;

use spirit_pprl::dice::{self, FilterSet};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(65_536);
    let rounds: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(3);
    for words in [16usize, 32] {
        let mut state = 0x1234_5678_9abc_def0u64 ^ words as u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut set = FilterSet::new(words * 64).unwrap();
        for _ in 0..n {
            // ~44% density, like hardened encodings.
            let f: Vec<u64> = (0..words).map(|_| next() & (next() | next())).collect();
            set.push(&f).unwrap();
        }
        println!(
            "{} filters of {} bits, kernel level {:?}",
            n,
            words * 64,
            dice::level()
        );
        for _ in 0..rounds {
            // Batch kernel: 200 queries against the whole set, threshold 0.8.
            let queries = 200usize.min(n);
            let mut hits = Vec::new();
            let t = Instant::now();
            let mut found = 0usize;
            for q in 0..queries {
                hits.clear();
                set.scan(
                    set.get(q * 7 % n),
                    set.count(q * 7 % n),
                    0..n,
                    0.8,
                    &mut hits,
                );
                found += hits.len();
            }
            let secs = t.elapsed().as_secs_f64();
            let cmp = (queries * n) as f64;
            // Random pairs.
            let pairs = 5_000_000usize;
            let t2 = Instant::now();
            let mut acc = 0.0f64;
            let mut x = 12345usize;
            for _ in 0..pairs {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let (i, j) = ((x >> 20) % n, (x >> 40) % n);
                acc += set.dice_with(i, &set, j);
            }
            let secs2 = t2.elapsed().as_secs_f64();
            println!(
                "  batch scan: {:.1} M comparisons/s ({} hits)   random pairs: {:.1} M/s (checksum {:.1})",
                cmp / secs / 1e6,
                found,
                pairs as f64 / secs2 / 1e6,
                acc
            );
        }
    }
}
