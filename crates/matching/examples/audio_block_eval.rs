//! Blocking and comparison of `audio_fingerprint` values on the audio evaluation set of
//! `bench/media` (`make_audio_set.py`: 342 distinct clips of real music, recorded speech
//! and espeak-ng speech, each with four edits: MP3 at 64 kbit/s, the first 30 % cut,
//! −6 dB, and all three).
//!
//! Every file is fingerprinted with `spirit-media` and turned into its canonical
//! attribute value (at most [`AUDIO_MAX_SUBPRINTS`] sub-fingerprints), as folder ingest
//! stores it. For a grid of min-hash settings (top bits per feature, number of keys) it
//! prints the **pair recall of blocking** (an original and its edit share at least one
//! key) and the **candidate pairs** the keys propose between distinct clips. The setting
//! is chosen on the clips with even ids and measured on the odd ones: features of at
//! least 16 bits (a key takes at most 2^bits values, so fewer bits cannot keep blocks
//! small in a store of millions of recordings, whatever this small set shows), recall ≥
//! 0.95 on the `all` edit, then the fewest candidate pairs; the constants
//! [`AUDIO_MINHASH_BITS`] and [`AUDIO_MINHASH_KEYS`] are that choice.
//! Finally the comparison levels ([`audio_fingerprint_level`]) of the positive pairs and
//! of the negative pairs that blocking proposes.
//!
//! `cargo run --release -p spirit-matching --example audio_block_eval -- MANIFEST`

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::time::Instant;

use spirit_matching::evidence::{
    AUDIO_MAX_SUBPRINTS, AUDIO_MINHASH_BITS, AUDIO_MINHASH_KEYS, audio_fingerprint_level,
    audio_minhash, encode_audio_fingerprint, parse_audio_fingerprint,
};
use spirit_media::audio::{AudioLimits, fingerprint_file};

struct Item {
    id: usize,
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
            Item {
                id,
                variant: rec[3].to_string(),
                path: PathBuf::from(&rec[4]),
            }
        })
        .collect()
}

/// Recall per edit over positives (original, edit) and candidate pairs between distinct
/// clips, restricted to clips with `id % 2 == half` (all clips for `half == 2`).
fn measure(
    items: &[Item],
    keys: &[Vec<u64>],
    k: usize,
    half: usize,
) -> (BTreeMap<String, (usize, usize)>, usize, usize) {
    let keep = |i: usize| half == 2 || items[i].id % 2 == half;
    let orig: HashMap<usize, usize> = items
        .iter()
        .enumerate()
        .filter(|(_, it)| it.variant == "orig")
        .map(|(i, it)| (it.id, i))
        .collect();
    let mut recall: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (i, it) in items.iter().enumerate() {
        if it.variant == "orig" || !keep(i) {
            continue;
        }
        let o = orig[&it.id];
        let hit = (0..k).any(|j| keys[i][j] == keys[o][j] && keys[i][j] != u64::MAX);
        let e = recall.entry(it.variant.clone()).or_default();
        e.0 += usize::from(hit);
        e.1 += 1;
    }
    let mut pairs: HashSet<(u32, u32)> = HashSet::new();
    for j in 0..k {
        let mut blocks: HashMap<u64, Vec<u32>> = HashMap::new();
        for (i, key) in keys.iter().enumerate() {
            if keep(i) && key[j] != u64::MAX {
                blocks.entry(key[j]).or_default().push(i as u32);
            }
        }
        for b in blocks.values() {
            for (x, &a) in b.iter().enumerate() {
                for &c in &b[x + 1..] {
                    if items[a as usize].id != items[c as usize].id {
                        pairs.insert((a, c));
                    }
                }
            }
        }
    }
    let n = (0..items.len()).filter(|&i| keep(i)).count();
    let same: usize = {
        let mut per: HashMap<usize, usize> = HashMap::new();
        for (i, it) in items.iter().enumerate() {
            if keep(i) {
                *per.entry(it.id).or_default() += 1;
            }
        }
        per.values().map(|c| c * (c - 1) / 2).sum()
    };
    (recall, pairs.len(), n * (n - 1) / 2 - same)
}

fn main() {
    let manifest = std::env::args()
        .nth(1)
        .expect("usage: audio_block_eval MANIFEST.csv");
    let items = read_manifest(&manifest);
    let t0 = Instant::now();
    let limits = AudioLimits::default();
    let prints: Vec<Vec<u32>> = items
        .iter()
        .map(|it| {
            let fp = fingerprint_file(&it.path, &limits)
                .unwrap_or_else(|e| panic!("{}: {e}", it.path.display()));
            encode_audio_fingerprint(&fp.fingerprint)
                .and_then(|v| parse_audio_fingerprint(&v))
                .unwrap_or_default()
        })
        .collect();
    let missing = prints.iter().filter(|p| p.is_empty()).count();
    let mean_len = prints.iter().map(Vec::len).sum::<usize>() as f64 / prints.len() as f64;
    println!(
        "{} files fingerprinted in {:.1} s; {missing} uninformative (missing); mean {mean_len:.0} sub-fingerprints (cap {AUDIO_MAX_SUBPRINTS})",
        items.len(),
        t0.elapsed().as_secs_f64()
    );

    let bits_grid = [12u32, 16, 20, 24];
    let k_grid = [2usize, 4, 6, 8, 12, 16, 20, 24];
    let all_keys: BTreeMap<u32, Vec<Vec<u64>>> = bits_grid
        .iter()
        .map(|&bits| {
            let keys = prints
                .iter()
                .map(|fp| {
                    (0..24u8)
                        .map(|j| {
                            if fp.is_empty() {
                                u64::MAX
                            } else {
                                audio_minhash(fp, bits, j).unwrap_or(u64::MAX)
                            }
                        })
                        .collect()
                })
                .collect();
            (bits, keys)
        })
        .collect();

    println!(
        "\n== blocking, all clips: recall of (original, edit) pairs sharing a key; candidate pairs between distinct clips"
    );
    println!("bits keys  all    trim30 mp3_64k gain-6  candidates / all pairs");
    let rate = |r: &BTreeMap<String, (usize, usize)>, v: &str| {
        r.get(v).map_or(0.0, |&(h, n)| h as f64 / n.max(1) as f64)
    };
    for &bits in &bits_grid {
        for &k in &k_grid {
            let (r, cand, total) = measure(&items, &all_keys[&bits], k, 2);
            println!(
                "{bits:<4} {k:<5} {:.3}  {:.3}  {:.3}   {:.3}   {cand} / {total} ({:.2e})",
                rate(&r, "all"),
                rate(&r, "trim30"),
                rate(&r, "mp3_64k"),
                rate(&r, "gain-6"),
                cand as f64 / total as f64
            );
        }
    }

    println!(
        "\n== held out: chosen on even clip ids (bits >= 16, recall `all` >= 0.95, fewest candidates), measured on odd ids"
    );
    let mut best: Option<(u32, usize, usize)> = None;
    for &bits in bits_grid.iter().filter(|&&b| b >= 16) {
        for &k in &k_grid {
            let (r, cand, _) = measure(&items, &all_keys[&bits], k, 0);
            if rate(&r, "all") >= 0.95 && best.is_none_or(|b| cand < b.2) {
                best = Some((bits, k, cand));
            }
        }
    }
    match best {
        Some((bits, k, cand)) => {
            let (r, c2, t2) = measure(&items, &all_keys[&bits], k, 1);
            println!(
                "chosen: {bits} bits, {k} keys ({cand} candidates on even ids) -> odd ids: recall all {:.3}, trim30 {:.3}, mp3 {:.3}, gain {:.3}; {c2} candidates of {t2} pairs",
                rate(&r, "all"),
                rate(&r, "trim30"),
                rate(&r, "mp3_64k"),
                rate(&r, "gain-6")
            );
        }
        None => println!("no setting reaches 0.95 on even ids"),
    }

    let (bits, k) = (AUDIO_MINHASH_BITS, usize::from(AUDIO_MINHASH_KEYS));
    let keys = &all_keys[&bits];
    let (r, cand, total) = measure(&items, keys, k, 2);
    println!(
        "\n== the constants: {bits} bits, {k} keys: recall all {:.3}, trim30 {:.3}, mp3 {:.3}, gain {:.3}; {cand} candidate pairs of {total}",
        rate(&r, "all"),
        rate(&r, "trim30"),
        rate(&r, "mp3_64k"),
        rate(&r, "gain-6")
    );
    let max_block = (0..k)
        .map(|j| {
            let mut sizes: HashMap<u64, usize> = HashMap::new();
            for key in keys {
                if key[j] != u64::MAX {
                    *sizes.entry(key[j]).or_default() += 1;
                }
            }
            sizes.values().copied().max().unwrap_or(0)
        })
        .max()
        .unwrap_or(0);
    println!("largest block: {max_block} files");

    // Comparison levels: positives, and negatives among blocked candidates.
    let orig: HashMap<usize, usize> = items
        .iter()
        .enumerate()
        .filter(|(_, it)| it.variant == "orig")
        .map(|(i, it)| (it.id, i))
        .collect();
    let t1 = Instant::now();
    let mut pos: BTreeMap<(String, u8), usize> = BTreeMap::new();
    let mut pos_blocked_l1: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (i, it) in items.iter().enumerate() {
        if it.variant == "orig" {
            continue;
        }
        let o = orig[&it.id];
        let level = if prints[i].is_empty() || prints[o].is_empty() {
            0
        } else {
            audio_fingerprint_level(&prints[o], &prints[i])
        };
        *pos.entry((it.variant.clone(), level)).or_default() += 1;
        let blocked = (0..k).any(|j| keys[i][j] == keys[o][j] && keys[i][j] != u64::MAX);
        let e = pos_blocked_l1.entry(it.variant.clone()).or_default();
        e.0 += usize::from(blocked && level == 1);
        e.1 += 1;
    }
    println!(
        "\n== levels of (original, edit) pairs (1 same_recording, 2 similar, 3 else, 0 missing)"
    );
    for ((v, l), n) in &pos {
        println!("{v:<8} level {l}: {n}");
    }
    println!("blocked and same_recording (what resolution links on audio alone):");
    for (v, (h, n)) in &pos_blocked_l1 {
        println!("{v:<8} {h} / {n} = {:.3}", *h as f64 / *n as f64);
    }
    let mut neg = [0usize; 4];
    let mut seen: HashSet<(usize, usize)> = HashSet::new();
    for j in 0..k {
        let mut blocks: HashMap<u64, Vec<usize>> = HashMap::new();
        for (i, key) in keys.iter().enumerate() {
            if key[j] != u64::MAX {
                blocks.entry(key[j]).or_default().push(i);
            }
        }
        for b in blocks.values() {
            for (x, &a) in b.iter().enumerate() {
                for &c in &b[x + 1..] {
                    if items[a].id != items[c].id && seen.insert((a, c)) {
                        neg[usize::from(audio_fingerprint_level(&prints[a], &prints[c]))] += 1;
                    }
                }
            }
        }
    }
    println!(
        "negative candidate pairs by level: same_recording {}, similar {}, else {} ({:.1} s for all comparisons)",
        neg[1],
        neg[2],
        neg[3],
        t1.elapsed().as_secs_f64()
    );
}
