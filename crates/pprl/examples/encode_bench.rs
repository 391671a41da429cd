//! Encoding throughput on FEBRL4 (10,000 records), best of five runs, on one thread and
//! on all threads, with and without the default hardening.
//! Run: cargo run --release --example encode_bench
#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use spirit_pprl::{Encoder, HardeningConfig, Schema, Secret};

fn main() {
    let dir = common::febrl4_dir().expect("FEBRL4 data");
    let (mut ids, mut recs) = common::febrl_side(&dir.join("febrl4_a.csv"));
    let (ids_b, recs_b) = common::febrl_side(&dir.join("febrl4_b.csv"));
    ids.extend(ids_b);
    recs.extend(recs_b);
    let kinds = common::FEBRL_KINDS;
    for (name, h) in [
        ("default hardening", HardeningConfig::default()),
        ("no hardening", HardeningConfig::none()),
    ] {
        let mut schema = Schema::for_kinds(&kinds);
        schema.hardening = h;
        let enc = Encoder::new(&schema, &Secret::from_bytes([1; 32])).unwrap();
        for threads in [1, rayon::current_num_threads()] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut best = f64::MAX;
            for _ in 0..5 {
                let t = Instant::now();
                let table = pool.install(|| enc.encode_table(&ids, &recs).unwrap());
                best = best.min(t.elapsed().as_secs_f64());
                std::hint::black_box(table);
            }
            println!(
                "{name}, {threads} thread(s): {:.0} records/s",
                recs.len() as f64 / best
            );
        }
    }
}
