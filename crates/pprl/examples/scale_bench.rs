//! Blocking at scale: N × N synthetic encodings (1,000,000 by default) of density 0.43,
//! like hardened ones, with N/10 planted matches whose Dice spans 0.5–0.98. Reports
//! time, comparisons and recall by Dice band for Hamming-LSH blocking + Dice + greedy 1:1.
//! Run: cargo run --release --example scale_bench [-- N bands budget]
use std::time::Instant;

use spirit_pprl::block::{Blocking, LshConfig};
use spirit_pprl::dice::{FilterSet, dice};
use spirit_pprl::link::candidates_auto;
use spirit_pprl::solve::greedy_one_to_one;

use spirit_matching::model::SplitMix64 as Rng;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args
        .get(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let bands: u32 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(40);
    let budget: u64 = args
        .get(3)
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000_000);
    let words = 16;
    let mut rng = Rng(42);
    // Density 0.43: each bit set when a 7-bit uniform is below 55.
    let random_filter = |rng: &mut Rng| -> Vec<u64> {
        (0..words)
            .map(|_| {
                let mut w = 0u64;
                for b in 0..64 {
                    if rng.below(128) < 55 {
                        w |= 1 << b;
                    }
                }
                w
            })
            .collect()
    };
    let t = Instant::now();
    let mut a = FilterSet::new(words * 64).unwrap();
    let mut b = FilterSet::new(words * 64).unwrap();
    let planted = n / 10;
    let mut truth = Vec::with_capacity(planted);
    for i in 0..n {
        let f = random_filter(&mut rng);
        a.push(&f).unwrap();
        if i < planted {
            // Re-draw each bit with probability r: Dice falls roughly linearly with r.
            let r = 0.05 + 0.75 * (i as f64 / planted as f64);
            let mut g = f.clone();
            let fresh = random_filter(&mut rng);
            for (w, fw) in g.iter_mut().zip(&fresh) {
                let mut mask = 0u64;
                for bit in 0..64 {
                    if (rng.below(1 << 20) as f64) < r * f64::from(1 << 20) {
                        mask |= 1 << bit;
                    }
                }
                *w = (*w & !mask) | (fw & mask);
            }
            truth.push(dice(&f, &g));
            b.push(&g).unwrap();
        } else {
            b.push(&random_filter(&mut rng)).unwrap();
        }
    }
    // B in another order than A, so matches are not on the diagonal.
    let order: Vec<u32> = {
        let mut o: Vec<u32> = (0..n as u32).collect();
        for i in (1..n).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            o.swap(i, j);
        }
        o
    };
    let b = b.select(&order);
    let mut pos_in_b = vec![0u32; n];
    for (new, &old) in order.iter().enumerate() {
        pos_in_b[old as usize] = new as u32;
    }
    println!(
        "generated {n} × {n} filters in {:.1}s",
        t.elapsed().as_secs_f64()
    );
    let cfg = LshConfig {
        bands,
        comparisons_per_band: budget,
        ..LshConfig::default()
    };
    let t = Instant::now();
    // The default path of `link_two`: candidates down to a floor, the threshold chosen
    // from the records that appear to have no partner.
    let (cands, stats, choice) = candidates_auto(&a, &b, &Blocking::Lsh(cfg)).unwrap();
    let block_secs = t.elapsed().as_secs_f64();
    let threshold = choice.threshold;
    println!(
        "chosen threshold {threshold:.3} (floor {:.3}; unmatched records estimated {:.0} of A, {:.0} of B)",
        choice.floor, choice.unmatched.0, choice.unmatched.1
    );
    let t = Instant::now();
    let links = greedy_one_to_one(&cands, threshold);
    let solve_secs = t.elapsed().as_secs_f64();
    println!(
        "LSH: {} bands × {} bits, {:.2e} comparisons, {} candidates ≥ {threshold:.3}, {:.1}s; greedy {:.1}s; {} threads",
        stats.bands,
        stats.bits_per_band,
        stats.comparisons as f64,
        stats.candidates,
        block_secs,
        solve_secs,
        rayon::current_num_threads()
    );
    let mut found = vec![false; planted];
    for l in &links {
        let i = l.a as usize;
        if i < planted && pos_in_b[i] == l.b {
            found[i] = true;
        }
    }
    let false_links = links
        .iter()
        .filter(|l| (l.a as usize) >= planted || pos_in_b[l.a as usize] != l.b)
        .count();
    println!("false links: {false_links}");
    for (lo, hi) in [(0.5, 0.6), (0.6, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 1.01)] {
        let idx: Vec<usize> = (0..planted)
            .filter(|&i| truth[i] >= lo && truth[i] < hi)
            .collect();
        let hit = idx.iter().filter(|&&i| found[i]).count();
        if !idx.is_empty() {
            println!(
                "  planted pairs with Dice in [{lo:.1}, {hi:.1}): {:>6}, linked {:.4}",
                idx.len(),
                hit as f64 / idx.len() as f64
            );
        }
    }
}
