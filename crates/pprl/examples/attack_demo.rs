//! Runs the attack on synthetic encodings under several settings.
//! Run: cargo run --release --example attack_demo [-- layout hardening-toml]
#[path = "../tests/common/mod.rs"]
mod common;

use spirit_pprl::attack::{AttackConfig, attack, score};
use spirit_pprl::{Encoder, HardeningConfig, Layout, Schema, Secret};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let layout = match args.get(1).map(String::as_str) {
        Some("record") => Layout::Record,
        _ => Layout::Field,
    };
    let hardening = match args.get(2).map(String::as_str) {
        None | Some("none") => HardeningConfig::none(),
        Some("default") => HardeningConfig::default(),
        Some(t) => toml::from_str(t).unwrap(),
    };
    let n: usize = std::env::var("N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5000);
    let people = common::population(3 * n / 2, 7);
    let encoded = &people[..n];
    let sample = &people[n / 2..];
    let mut kinds = vec![
        spirit_model::AttrKind::GivenName,
        spirit_model::AttrKind::Surname,
    ];
    if std::env::var_os("DOB").is_some() {
        kinds.push(spirit_model::AttrKind::DateOfBirth);
    }
    let mut schema = Schema::for_kinds(&kinds);
    schema.layout = layout;
    schema.hardening = hardening;
    let enc = Encoder::new(&schema, &Secret::from_bytes([3; 32])).unwrap();
    let ids: Vec<String> = (0..n).map(|i| format!("p{i}")).collect();
    let table = enc.encode_table(&ids, encoded).unwrap();
    let t = std::time::Instant::now();
    let mut cfg = AttackConfig::default();
    if let Some(c) = std::env::var("CLUSTER_DICE")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        cfg.cluster_dice = Some(c);
    }
    let out = attack(&table.filters, &table.meta, &schema, sample, &cfg).unwrap();
    let truth_enc: Vec<usize> = (0..n).collect();
    let truth_sample: Vec<usize> = (n / 2..3 * n / 2).collect();
    let r = score(&out, &truth_enc, &truth_sample);
    let v =
        spirit_pprl::attack::score_values(&out, &schema, encoded, sample, &AttackConfig::default());
    println!("layout {layout:?} hardening {:?}", schema.hardening);
    for (k, s) in out.segments.iter().enumerate() {
        let (mut right, mut wrong) = (0, 0);
        for (i, d) in out.decoded[k].iter().enumerate() {
            if let Some(j) = d {
                let kind = s.kind.unwrap_or(spirit_model::AttrKind::GivenName);
                let val = |r: &Vec<(spirit_model::AttrKind, String)>| {
                    r.iter().find(|(kk, _)| *kk == kind).map(|(_, v)| v.clone())
                };
                if val(&encoded[i]) == val(&sample[*j as usize]) {
                    right += 1;
                } else {
                    wrong += 1;
                }
            }
        }
        println!("  {s:?} decoded right {right} wrong {wrong}");
    }
    println!(
        "values recovered {}/{} = {:.2}%",
        v.values_recovered,
        v.total,
        100.0 * v.value_share
    );
    println!(
        "re-identified {}/{} = {:.2}% (guessed {}), {:.1}s",
        r.correct,
        r.total,
        100.0 * r.share,
        r.guessed,
        t.elapsed().as_secs_f64()
    );
}
