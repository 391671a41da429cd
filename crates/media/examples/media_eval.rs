//! Near-duplicate evaluation on a labelled set: how many edited copies of a picture are
//! found at a given false-positive rate, per edit, for pHash, dHash and both combined.
//!
//! The set is written by `bench/media/make_set.py` (real photographs; see there):
//! `manifest.csv` with `id,source,variant,path`, one `orig` per id and its edits.
//!
//! Positives: each original against each of its own edits. Negatives: each original
//! against every file (original or edit) of every other id. For each distance threshold
//! t, recall = positives at distance ≤ t, FPR = negatives at distance ≤ t.
//!
//! `cargo run --release -p spirit-media --example media_eval -- MANIFEST [--threads N]`

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use spirit_media::compare::compare_hashes;
use spirit_media::picture::{Limits, hash_file};
use spirit_media::{HammingIndex, HashThresholds, ImageHashes, MatchLevel};

struct Item {
    id: usize,
    source: String,
    variant: String,
    path: PathBuf,
}

fn read_manifest(path: &str) -> Vec<Item> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    text.lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|line| {
            let f: Vec<&str> = line.splitn(4, ',').collect();
            assert_eq!(f.len(), 4, "{path}: bad line {line}");
            let n = ids.len();
            let id = *ids.entry(f[0].to_string()).or_insert(n);
            Item {
                id,
                source: f[1].to_string(),
                variant: f[2].to_string(),
                path: PathBuf::from(f[3]),
            }
        })
        .collect()
}

type Metric = fn(&ImageHashes, &ImageHashes) -> u32;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let manifest = args
        .first()
        .expect("usage: media_eval MANIFEST [--threads N]");
    let threads: usize = args
        .iter()
        .position(|a| a == "--threads")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let items = read_manifest(manifest);
    let limits = Limits::default();

    // Hash everything; time it.
    let start = Instant::now();
    let mut hashes: Vec<Option<ImageHashes>> = vec![None; items.len()];
    std::thread::scope(|s| {
        let per = items.len().div_ceil(threads.max(1));
        for (part, out) in items.chunks(per.max(1)).zip(hashes.chunks_mut(per.max(1))) {
            let limits = &limits;
            s.spawn(move || {
                for (it, o) in part.iter().zip(out.iter_mut()) {
                    match hash_file(&it.path, limits) {
                        Ok(h) => *o = Some(h),
                        Err(e) => eprintln!("skipped: {e}"),
                    }
                }
            });
        }
    });
    let secs = start.elapsed().as_secs_f64();
    let ok = hashes.iter().filter(|h| h.is_some()).count();
    let bytes: u64 = items
        .iter()
        .filter_map(|i| std::fs::metadata(&i.path).ok())
        .map(|m| m.len())
        .sum();
    println!(
        "hashed {ok}/{} files ({:.1} MB) in {secs:.1} s on {threads} thread(s): {:.0} images/s per core",
        items.len(),
        bytes as f64 / 1e6,
        ok as f64 / secs / threads as f64
    );

    let n_ids = items.iter().map(|i| i.id).max().map_or(0, |m| m + 1);
    let mut orig: Vec<Option<ImageHashes>> = vec![None; n_ids];
    let mut orig_source: Vec<&str> = vec![""; n_ids];
    for (it, h) in items.iter().zip(&hashes) {
        if it.variant == "orig" {
            orig[it.id] = *h;
            orig_source[it.id] = &it.source;
        }
    }
    let sources: std::collections::BTreeSet<&str> =
        items.iter().map(|i| i.source.as_str()).collect();
    println!(
        "{n_ids} distinct images (tiles) from {} photographs, {} edited copies",
        sources.len(),
        items.len() - n_ids
    );

    let flat = orig
        .iter()
        .flatten()
        .filter(|h| !(3..=61).contains(&h.dhash.count_ones()))
        .count();
    println!(
        "{flat} distinct images have a dHash with ≤ 2 or ≥ 62 ones (a monotone left-right ramp)"
    );

    let metrics: [(&str, Metric, usize); 4] = [
        ("pHash", |a, b| a.phash_distance(b), 64),
        ("dHash", |a, b| a.dhash_distance(b), 64),
        (
            "pHash+dHash",
            |a, b| a.phash_distance(b) + a.dhash_distance(b),
            128,
        ),
        (
            "2·pHash+dHash",
            |a, b| 2 * a.phash_distance(b) + a.dhash_distance(b),
            192,
        ),
    ];
    let variants: Vec<String> = {
        let mut v: Vec<String> = items
            .iter()
            .map(|i| i.variant.clone())
            .filter(|v| v != "orig")
            .collect();
        v.sort();
        v.dedup();
        v
    };
    for (name, metric, max) in metrics {
        // Histograms of distances.
        let mut pos: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
        let mut neg = vec![0u64; max + 1];
        let mut neg_same_photo = vec![0u64; max + 1];
        // Two-fold check of the calibration: pairs within even ids and within odd ids.
        let mut fold_pos = [vec![0u64; max + 1], vec![0u64; max + 1]];
        let mut fold_neg = [vec![0u64; max + 1], vec![0u64; max + 1]];
        for (it, h) in items.iter().zip(&hashes) {
            let Some(h) = h else { continue };
            if it.variant != "orig"
                && let Some(o) = &orig[it.id]
            {
                let d = metric(o, h) as usize;
                pos.entry(it.variant.as_str())
                    .or_insert_with(|| vec![0; max + 1])[d] += 1;
                fold_pos[it.id % 2][d] += 1;
            }
            for (j, o) in orig.iter().enumerate() {
                let Some(o) = o else { continue };
                if j == it.id {
                    continue;
                }
                let d = metric(o, h) as usize;
                neg[d] += 1;
                if j % 2 == it.id % 2 {
                    fold_neg[j % 2][d] += 1;
                }
                if orig_source[j] == it.source {
                    neg_same_photo[d] += 1;
                }
            }
        }
        let total_neg: u64 = neg.iter().sum();
        let cum = |h: &[u64], t: usize| h[..=t].iter().sum::<u64>();
        let fpr = |t: usize| cum(&neg, t) as f64 / total_neg as f64;
        let all_pos: Vec<u64> = (0..=max)
            .map(|d| pos.values().map(|h| h[d]).sum())
            .collect();
        let total_pos: u64 = all_pos.iter().sum();
        println!(
            "\n## {name} ({total_pos} positive pairs, {total_neg} negative pairs, {} from the same photograph)",
            neg_same_photo.iter().sum::<u64>()
        );
        println!(
            "{:>4} {:>10} {:>8}   {}",
            "t",
            "FPR",
            "recall",
            variants
                .iter()
                .map(|v| format!("{v:>10}"))
                .collect::<String>()
        );
        let mut last_fpr = -1.0;
        for t in 0..=max {
            let f = fpr(t);
            let r = cum(&all_pos, t) as f64 / total_pos as f64;
            // ROC points: print where the FPR changes materially, up to FPR 0.05.
            if f > 0.05 {
                break;
            }
            if f > last_fpr * 1.5 || t % 4 == 0 {
                let per: String = variants
                    .iter()
                    .map(|v| {
                        let h = &pos[v.as_str()];
                        format!("{:>10.3}", cum(h, t) as f64 / h.iter().sum::<u64>() as f64)
                    })
                    .collect();
                println!("{t:>4} {f:>10.2e} {r:>8.4}   {per}");
                last_fpr = f;
            }
        }
        for target in [1e-3, 1e-4, 1e-5] {
            let t = (0..=max).take_while(|&t| fpr(t) <= target).last();
            match t {
                Some(t) => {
                    let r = cum(&all_pos, t) as f64 / total_pos as f64;
                    let per: Vec<String> = variants
                        .iter()
                        .map(|v| {
                            let h = &pos[v.as_str()];
                            format!("{v} {:.3}", cum(h, t) as f64 / h.iter().sum::<u64>() as f64)
                        })
                        .collect();
                    println!(
                        "{name}: recall {r:.4} at FPR ≤ {target:.0e} (threshold {t}, FPR {:.2e}; same-photograph negatives under it: {}) | {}",
                        fpr(t),
                        cum(&neg_same_photo, t),
                        per.join(", ")
                    );
                }
                None => println!("{name}: no threshold reaches FPR ≤ {target:.0e}"),
            }
        }
        for target in [1e-3, 1e-4] {
            for (calib, test) in [(0, 1), (1, 0)] {
                let f = |h: &[u64], t: usize| cum(h, t) as f64 / h.iter().sum::<u64>() as f64;
                let Some(t) = (0..=max)
                    .take_while(|&t| f(&fold_neg[calib], t) <= target)
                    .last()
                else {
                    continue;
                };
                println!(
                    "{name}: held out: threshold {t} set at FPR ≤ {target:.0e} on {} ids → on the {} ids recall {:.4}, FPR {:.2e}",
                    ["even", "odd"][calib],
                    ["even", "odd"][test],
                    f(&fold_pos[test], t),
                    f(&fold_neg[test], t)
                );
            }
        }
    }

    // The index in front of the comparison: pHash search at radius r (with the mirror
    // as a second query), how many true copies it returns, and how many others.
    println!("\n## index pre-filter: pHash radius → recall of the search (mirror queried too)");
    let stored: Vec<u64> = hashes.iter().map(|h| h.map_or(!0, |h| h.phash)).collect();
    let thresholds = HashThresholds::default();
    println!(
        "then compare_hashes with the default thresholds (2·pHash+dHash ≤ {} near duplicate, ≤ {} similar)",
        thresholds.near_duplicate, thresholds.similar
    );
    for r in [8, 10, 12, 14, 16, 18, 20] {
        let index = HammingIndex::new(stored.clone(), r);
        let (mut found, mut want, mut others) = (0u64, 0u64, 0u64);
        let (mut kept, mut kept_others) = (0u64, 0u64);
        for (id, o) in orig.iter().enumerate() {
            let Some(o) = o else { continue };
            let hits = index.search_any(&[o.phash, o.phash_mirror], r);
            for (it, h) in items.iter().zip(&hashes) {
                if it.id == id && it.variant != "orig" && h.is_some() {
                    want += 1;
                }
            }
            for hit in hits {
                let it = &items[hit.id as usize];
                let Some(h) = &hashes[hit.id as usize] else {
                    continue;
                };
                let level = compare_hashes(o, h, &thresholds).level;
                let linked = level != MatchLevel::Different;
                if it.id == id {
                    if it.variant != "orig" {
                        found += 1;
                        kept += u64::from(linked);
                    }
                } else {
                    others += 1;
                    kept_others += u64::from(linked);
                }
            }
        }
        println!(
            "r = {r:>2}: search recall {:.4}, {:.2} other images per query ({} chunks) | after compare: recall {:.4}, {:.3} other images per query",
            found as f64 / want as f64,
            others as f64 / n_ids as f64,
            index.chunk_count(),
            kept as f64 / want as f64,
            kept_others as f64 / n_ids as f64,
        );
    }
}
