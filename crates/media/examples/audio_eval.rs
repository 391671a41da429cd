//! Audio fingerprint evaluation on real recordings: is the same clip found after an MP3
//! re-encode at 64 kbit/s, a 30 % trim and −6 dB, and are distinct clips never matched?
//!
//! The set is written by `bench/media/make_audio_set.py` (music and recorded speech from
//! Debian packages, speech synthesised with espeak-ng; see there): `manifest.csv` with
//! `id,source,kind,variant,path`, one `orig` per id and its edits.
//!
//! Positives: each original against each of its own edits. Negatives: every file of one
//! id against the original of every other id. A pair matches under a rule (minimum
//! segment seconds, maximum bit errors) when [`compare_audio`] finds a common segment
//! meeting both. The program prints the grid of rules, a two-fold held-out choice (rule
//! chosen on the clips with even ids, measured on the odd ones, and back), and the
//! figures of [`AudioThresholds::default`].
//!
//! Music clips cut from one track can share a repeated passage (game music loops), so
//! false matches are also counted without the pairs from one track.
//!
//! `cargo run --release -p spirit-media --example audio_eval -- MANIFEST`

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use spirit_media::audio::{
    AudioFingerprint, AudioLimits, AudioThresholds, compare_audio, fingerprint_file,
};

struct Item {
    id: usize,
    /// Clips with the same group may share material (music from one track).
    group: String,
    kind: String,
    variant: String,
    path: PathBuf,
}

fn read_manifest(path: &str) -> Vec<Item> {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap_or_else(|e| panic!("{path}: {e}"));
            let n = ids.len();
            let id = *ids.entry(rec[0].to_string()).or_insert(n);
            let kind = rec[2].to_string();
            let group = if kind == "music" {
                rec[1].split('@').next().unwrap_or("").to_string()
            } else {
                format!("clip {id}")
            };
            Item {
                id,
                group,
                kind,
                variant: rec[3].to_string(),
                path: PathBuf::from(&rec[4]),
            }
        })
        .collect()
}

/// One compared pair: the file, the original it was compared with, and the common
/// segments as (seconds, bit errors).
struct Pair {
    file: usize,
    orig: usize,
    positive: bool,
    segments: Vec<(f32, f64)>,
}

#[derive(Clone, Copy, Debug)]
struct Rule {
    min_seconds: f32,
    max_bit_errors: f64,
}

impl Rule {
    fn hit(&self, p: &Pair) -> bool {
        p.segments
            .iter()
            .any(|&(s, e)| s >= self.min_seconds && e <= self.max_bit_errors)
    }
}

/// Recall on the combined edit ("all"), the lowest recall over edits, false matches,
/// and false matches between different source groups.
fn score(items: &[Item], pairs: &[&Pair], rule: Rule) -> (f64, f64, usize, usize) {
    let mut per: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let (mut fm, mut fm_groups) = (0, 0);
    for p in pairs {
        let hit = rule.hit(p);
        if p.positive {
            let e = per.entry(&items[p.file].variant).or_default();
            e.0 += usize::from(hit);
            e.1 += 1;
        } else if hit {
            fm += 1;
            if items[p.file].group != items[p.orig].group {
                fm_groups += 1;
            }
        }
    }
    let rate = |v: &str| per.get(v).map_or(0.0, |&(h, n)| h as f64 / n.max(1) as f64);
    let min = per
        .values()
        .map(|&(h, n)| h as f64 / n.max(1) as f64)
        .fold(1.0, f64::min);
    (rate("all"), min, fm, fm_groups)
}

fn main() {
    let manifest = std::env::args()
        .nth(1)
        .expect("usage: audio_eval MANIFEST.csv");
    let items = read_manifest(&manifest);
    let t0 = Instant::now();
    let limits = AudioLimits::default();
    let fps: Vec<AudioFingerprint> = items
        .iter()
        .map(|it| {
            fingerprint_file(&it.path, &limits)
                .unwrap_or_else(|e| panic!("{}: {e}", it.path.display()))
        })
        .collect();
    let secs: f64 = fps.iter().map(|f| f.seconds).sum();
    println!(
        "fingerprinted {} files ({:.0} s of audio) in {:.1} s: {:.0}x real time, one core",
        fps.len(),
        secs,
        t0.elapsed().as_secs_f64(),
        secs / t0.elapsed().as_secs_f64()
    );
    let n_ids = items.iter().map(|i| i.id).max().map_or(0, |m| m + 1);
    let mut orig = vec![usize::MAX; n_ids];
    for (k, it) in items.iter().enumerate() {
        if it.variant == "orig" {
            orig[it.id] = k;
        }
    }
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for it in items.iter().filter(|i| i.variant == "orig") {
        *kinds.entry(&it.kind).or_default() += 1;
    }
    println!("{n_ids} distinct clips: {kinds:?}");

    let t1 = Instant::now();
    let mut pairs = Vec::new();
    for (k, it) in items.iter().enumerate() {
        for (id, &o) in orig.iter().enumerate() {
            if o == k {
                continue;
            }
            pairs.push(Pair {
                file: k,
                orig: o,
                positive: id == it.id,
                segments: compare_audio(&fps[o], &fps[k])
                    .iter()
                    .map(|m| (m.seconds, m.bit_errors))
                    .collect(),
            });
        }
    }
    let n_pos = pairs.iter().filter(|p| p.positive).count();
    println!(
        "{} pairs compared in {:.1} s: {n_pos} positive, {} negative",
        pairs.len(),
        t1.elapsed().as_secs_f64(),
        pairs.len() - n_pos
    );

    let all: Vec<&Pair> = pairs.iter().collect();
    let grid: Vec<Rule> = [1.0f32, 2.0, 3.0]
        .iter()
        .flat_map(|&min_seconds| {
            [2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0]
                .iter()
                .map(move |&max_bit_errors| Rule {
                    min_seconds,
                    max_bit_errors,
                })
        })
        .collect();
    println!(
        "\n== rules (recall: the \"all\" edit = trim 30 % + −6 dB + MP3 64 kbit/s; lowest over the four edits)"
    );
    println!("min s  max bit errors  recall all  lowest  false matches  (other source)");
    for r in &grid {
        let (all_r, min_r, fm, fmg) = score(&items, &all, *r);
        println!(
            "{:<6} {:<15} {all_r:<11.3} {min_r:<7.3} {fm:<14} {fmg}",
            r.min_seconds, r.max_bit_errors
        );
    }

    println!(
        "\n== held out: rule with no false match and the best recall on one half, measured on the other"
    );
    for fold in 0..2 {
        let part = |f: usize| -> Vec<&Pair> {
            pairs
                .iter()
                .filter(|p| items[p.file].id % 2 == f && items[p.orig].id % 2 == f)
                .collect()
        };
        let (train, test) = (part(fold), part(1 - fold));
        let best = grid
            .iter()
            .filter(|r| score(&items, &train, **r).2 == 0)
            .max_by(|a, b| {
                let (sa, sb) = (score(&items, &train, **a), score(&items, &train, **b));
                (sa.0 + sa.1)
                    .total_cmp(&(sb.0 + sb.1))
                    // On a tie, the stricter rule.
                    .then(b.max_bit_errors.total_cmp(&a.max_bit_errors))
                    .then(a.min_seconds.total_cmp(&b.min_seconds))
            });
        match best {
            Some(r) => {
                let (a, m, fm, fmg) = score(&items, &test, *r);
                println!(
                    "chosen on {} ids: {r:?} -> on {} ids: recall all {a:.3}, lowest {m:.3}, false matches {fm} ({fmg} from another source)",
                    ["even", "odd"][fold],
                    ["odd", "even"][fold]
                );
            }
            None => println!("fold {fold}: no rule without false matches"),
        }
    }

    let t = AudioThresholds::default();
    let d = Rule {
        min_seconds: t.min_seconds,
        max_bit_errors: t.max_bit_errors,
    };
    println!("\n== AudioThresholds::default() = {t:?}");
    let mut per: BTreeMap<(String, String), (usize, usize)> = BTreeMap::new();
    for p in pairs.iter().filter(|p| p.positive) {
        let it = &items[p.file];
        let hit = d.hit(p);
        for key in [
            (it.variant.clone(), "all kinds".to_string()),
            (it.variant.clone(), it.kind.clone()),
        ] {
            let e = per.entry(key).or_default();
            e.0 += usize::from(hit);
            e.1 += 1;
        }
    }
    println!("variant   kind        matched / clips   rate");
    for ((variant, kind), (hit, n)) in &per {
        println!(
            "{variant:<9} {kind:<11} {hit:>7} / {n:<6} {:.3}",
            *hit as f64 / *n as f64
        );
    }
    let (_, _, fm, fmg) = score(&items, &all, d);
    println!(
        "false matches among {} negative pairs: {fm} ({fmg} between different sources)",
        pairs.len() - n_pos
    );
    for p in pairs.iter().filter(|p| !p.positive && d.hit(p)).take(10) {
        let best = p
            .segments
            .iter()
            .filter(|&&(s, e)| s >= d.min_seconds && e <= d.max_bit_errors)
            .fold((0f32, 0f64), |a, &b| if b.0 > a.0 { b } else { a });
        println!(
            "  {:.2} s at {:.2} bit errors: {} ~ {} ({} / {})",
            best.0,
            best.1,
            items[p.orig].path.display(),
            items[p.file].path.display(),
            items[p.orig].group,
            items[p.file].group
        );
    }
}
