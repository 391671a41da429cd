//! Multi-index hashing over 1,000,000 random 64-bit hashes: build time and query
//! latency (p50, p99) per radius, each query checked against nothing but itself (the
//! proptests in `tests/index.rs` check correctness against a linear scan).
//!
//! `cargo run --release -p spirit-media --example index_bench [N] [RADIUS...]`

use std::time::Instant;

use spirit_media::HammingIndex;
use spirit_media::index::brute_force;

fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args
        .first()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let radii: Vec<u32> = if args.len() > 1 {
        args[1..].iter().filter_map(|a| a.parse().ok()).collect()
    } else {
        vec![4, 8, 10, 12, 16]
    };
    let mut s = 0x5EED_u64;
    let hashes: Vec<u64> = (0..n).map(|_| xorshift(&mut s)).collect();
    println!("{n} random 64-bit hashes");
    println!(
        "{:>6} {:>6} {:>10} {:>10} {:>10} {:>10} {:>12} {:>12}",
        "radius", "chunks", "build ms", "p50 µs", "p99 µs", "max µs", "hits/query", "scan ms"
    );
    for &radius in &radii {
        let t = Instant::now();
        let index = HammingIndex::new(hashes.clone(), radius);
        let build = t.elapsed();
        // Queries: half are stored hashes with `radius` bits flipped (a hit exists at the
        // edge of the ball), half are fresh random hashes (usually no hit).
        let queries: Vec<u64> = (0..2000)
            .map(|i| {
                let mut q = if i % 2 == 0 {
                    hashes[(xorshift(&mut s) % n as u64) as usize]
                } else {
                    xorshift(&mut s)
                };
                if i % 2 == 0 {
                    for b in 0..radius {
                        q ^= 1 << ((b * 7) % 64);
                    }
                }
                q
            })
            .collect();
        let mut times = Vec::with_capacity(queries.len());
        let mut hits = 0usize;
        for &q in &queries {
            let t = Instant::now();
            let found = index.search(q, radius);
            times.push(t.elapsed().as_secs_f64() * 1e6);
            hits += found.len();
        }
        times.sort_by(f64::total_cmp);
        let pct = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
        // One linear scan for scale.
        let t = Instant::now();
        let scan = brute_force(&hashes, queries[0], radius);
        let scan_ms = t.elapsed().as_secs_f64() * 1e3;
        assert_eq!(scan, index.search(queries[0], radius));
        println!(
            "{:>6} {:>6} {:>10.0} {:>10.1} {:>10.1} {:>10.1} {:>12.2} {:>12.2}",
            radius,
            index.chunk_count(),
            build.as_secs_f64() * 1e3,
            pct(0.5),
            pct(0.99),
            times[times.len() - 1],
            hits as f64 / queries.len() as f64,
            scan_ms
        );
    }
}
