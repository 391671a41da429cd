//! FEBRL4 linkage on encodings: P/R/F1 with and without hardening, encoding throughput.
//! Run: cargo run --release --example febrl4 [-- none|default|<toml hardening>]
#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::HashSet;
use std::time::Instant;

use spirit_pprl::block::all_pairs;
use spirit_pprl::solve::greedy_one_to_one;
use spirit_pprl::{Encoder, HardeningConfig, Schema, Secret};

fn main() {
    let dir = common::febrl4_dir().expect("FEBRL4 data");
    let (ids_a, recs_a) = common::febrl_side(&dir.join("febrl4_a.csv"));
    let (ids_b, recs_b) = common::febrl_side(&dir.join("febrl4_b.csv"));
    let (_, truth_rows) = common::read_csv(&dir.join("febrl4_true_pairs.csv")).unwrap();
    let truth: HashSet<(String, String)> = truth_rows
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    let arg = std::env::args().nth(1).unwrap_or_else(|| "default".into());
    let hardening = match arg.as_str() {
        "none" => HardeningConfig::none(),
        "default" => HardeningConfig::default(),
        other => toml::from_str(other).expect("hardening TOML"),
    };
    let mut schema = Schema::for_kinds(&[
        spirit_model::AttrKind::GivenName,
        spirit_model::AttrKind::Surname,
        spirit_model::AttrKind::Address,
        spirit_model::AttrKind::City,
        spirit_model::AttrKind::Postcode,
        spirit_model::AttrKind::Region,
        spirit_model::AttrKind::DateOfBirth,
    ]);
    if let Ok(s) = std::env::var("SCHEMA") {
        schema = toml::from_str(&s).expect("schema TOML");
    }
    if let Ok(l) = std::env::var("LENGTH") {
        schema.length = l.parse().unwrap();
    }
    schema.hardening = hardening;
    println!("hardening: {:?}", schema.hardening);
    let secret = Secret::from_bytes([9; 32]);
    let enc = Encoder::new(&schema, &secret).unwrap();
    let _ = enc.encode("warm", &recs_a[0]);
    let t = Instant::now();
    let ta = enc.encode_table(&ids_a, &recs_a).unwrap();
    let tb = enc.encode_table(&ids_b, &recs_b).unwrap();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "encoded {} records in {:.3}s: {:.0} records/s ({} threads)",
        ids_a.len() + ids_b.len(),
        secs,
        (ids_a.len() + ids_b.len()) as f64 / secs,
        rayon::current_num_threads()
    );
    // Pure comparison throughput: all pairs at a high threshold, one thread, then all.
    for threads in [1usize, rayon::current_num_threads()] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let mut best = f64::MAX;
        for _ in 0..3 {
            let t = Instant::now();
            let (c, _) = pool.install(|| all_pairs(&ta.filters, &tb.filters, 0.8).unwrap());
            best = best.min(t.elapsed().as_secs_f64());
            std::hint::black_box(c);
        }
        println!(
            "Dice all pairs, {threads} thread(s): {:.1} M comparisons/s",
            25e6 / best / 1e6
        );
    }
    let t = Instant::now();
    let (cands, st) = all_pairs(&ta.filters, &tb.filters, 0.3).unwrap();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "all pairs: {} comparisons in {:.3}s ({:.1} M/s), {} candidates >= 0.3",
        st.comparisons,
        secs,
        st.comparisons as f64 / secs / 1e6,
        cands.len()
    );
    let mut best = (0.0, 0.0, 0.0, 0.0);
    // Greedy at threshold t keeps the pairs of one greedy run over all candidates that
    // score at least t.
    let all_links = greedy_one_to_one(&cands, 0.3);
    let auto = spirit_pprl::link_two(&ta, &tb, &spirit_pprl::LinkConfig::default())
        .unwrap()
        .threshold;
    let mut at_auto = (0.0, 0.0, 0.0);
    for i in (30..=99).chain([0]) {
        let th = if i == 0 { auto } else { f64::from(i) / 100.0 };
        let links: Vec<_> = all_links.iter().filter(|c| c.score >= th).collect();
        let pairs: Vec<(String, String)> = links
            .iter()
            .map(|c| (ids_a[c.a as usize].clone(), ids_b[c.b as usize].clone()))
            .collect();
        let (p, r, f) = common::prf(&pairs, &truth);
        if i == 0 {
            at_auto = (p, r, f);
            continue;
        }
        if std::env::var_os("SWEEP").is_some() && (i % 5 == 0 || (45..=65).contains(&i)) {
            println!("t={th:.2} P={p:.4} R={r:.4} F1={f:.4}");
        }
        if f > best.3 {
            best = (th, p, r, f);
        }
    }
    println!(
        "best: t={:.2} P={:.4} R={:.4} F1={:.4}",
        best.0, best.1, best.2, best.3
    );
    println!(
        "automatic threshold {auto:.3}: P={:.4} R={:.4} F1={:.4}",
        at_auto.0, at_auto.1, at_auto.2
    );
}
