//! The pair features of authorship verification: similarities of two profiles per
//! feature group, some standardised against reference frequencies.

use std::borrow::Cow;

use super::StyleError;
use super::lexicon::FORMAT_PER_WORD;
use super::profile::{Profile, ratio};

/// Number of pair features.
pub const N_FEATURES: usize = 15;

/// Names of the pair features, in the order of [`PairFeatures::values`] and of the
/// weights of a [`Calibration`](super::Calibration).
pub const FEATURE_NAMES: [&str; N_FEATURES] = [
    "ngram_cosine",
    "ngram_minmax",
    "function_cosine",
    "function_minmax",
    "format_distance",
    "word_length_l1",
    "sentence_length_l1",
    "mean_sentence_log_ratio",
    "length",
    "length_x_ngram_cosine",
    "length_x_function_cosine",
    "function_zcosine",
    "function_delta",
    "ngram_zcosine",
    "ngram_delta",
];

/// How many n-gram buckets a [`Reference`] fitted by [`Reference::fit`] standardises.
pub const REFERENCE_NGRAMS: usize = 1500;

/// Reference frequencies for standardising features (Burrows' Delta): the mean and standard
/// deviation of each function word's relative frequency, and of the most frequent n-gram
/// buckets', over a reference set of accounts. Part of a [`Calibration`](super::Calibration).
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    /// Mean relative frequency of each function word (per word).
    pub function_mean: Cow<'static, [f64]>,
    /// Its standard deviation across reference accounts.
    pub function_sd: Cow<'static, [f64]>,
    /// The standardised n-gram buckets, sorted.
    pub ngram_buckets: Cow<'static, [u32]>,
    /// Mean relative frequency of each (per n-gram counted).
    pub ngram_mean: Cow<'static, [f64]>,
    /// Its standard deviation.
    pub ngram_sd: Cow<'static, [f64]>,
}

impl Reference {
    /// Fits reference frequencies on a set of profiles: all function words, and the `top`
    /// n-gram buckets of highest mean relative frequency (ties by bucket number).
    pub fn fit(profiles: &[&Profile], top: usize) -> Result<Reference, StyleError> {
        if profiles.len() < 2 {
            return Err(StyleError::Fit(
                "a reference needs at least two profiles".into(),
            ));
        }
        let n = profiles.len() as f64;
        let nf = profiles[0].function.len();
        let fw: Vec<Vec<f64>> = profiles.iter().map(|p| rel(&p.function, p.words)).collect();
        let (function_mean, function_sd) =
            mean_sd((0..nf).map(|k| fw.iter().map(move |v| v[k])), n);
        let mut sums: rustc_hash::FxHashMap<u32, f64> = Default::default();
        for p in profiles {
            let t = p.ngram_total.max(1) as f64;
            for &(b, c) in &p.ngrams {
                *sums.entry(b).or_insert(0.0) += c as f64 / t;
            }
        }
        let mut by_mean: Vec<(u32, f64)> = sums.into_iter().collect();
        by_mean.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
        by_mean.truncate(top);
        let mut buckets: Vec<u32> = by_mean.into_iter().map(|x| x.0).collect();
        buckets.sort_unstable();
        let freqs: Vec<Vec<f64>> = profiles.iter().map(|p| ngram_freqs(p, &buckets)).collect();
        let (ngram_mean, ngram_sd) = mean_sd(
            (0..buckets.len()).map(|k| freqs.iter().map(move |v| v[k])),
            n,
        );
        Ok(Reference {
            function_mean: function_mean.into(),
            function_sd: function_sd.into(),
            ngram_buckets: buckets.into(),
            ngram_mean: ngram_mean.into(),
            ngram_sd: ngram_sd.into(),
        })
    }

    fn z(values: &[f64], mean: &[f64], sd: &[f64]) -> Vec<f64> {
        values
            .iter()
            .zip(mean.iter().zip(sd.iter()))
            .map(|(v, (m, s))| (v - m) / s)
            .collect()
    }
}

fn mean_sd<I, J>(columns: I, n: f64) -> (Vec<f64>, Vec<f64>)
where
    I: Iterator<Item = J>,
    J: Iterator<Item = f64> + Clone,
{
    let mut means = Vec::new();
    let mut sds = Vec::new();
    for col in columns {
        let m = col.clone().sum::<f64>() / n;
        let var = col.map(|v| (v - m).powi(2)).sum::<f64>() / n;
        means.push(m);
        // A word never seen in the reference gets unit spread, so it cannot dominate.
        sds.push(if var > 1e-18 { var.sqrt() } else { 1.0 });
    }
    (means, sds)
}

/// Relative frequencies of the given (sorted) buckets in a profile; 0 where not kept.
fn ngram_freqs(p: &Profile, buckets: &[u32]) -> Vec<f64> {
    let t = p.ngram_total.max(1) as f64;
    buckets
        .iter()
        .map(|b| {
            p.ngrams
                .binary_search_by_key(b, |x| x.0)
                .map_or(0.0, |i| p.ngrams[i].1 as f64 / t)
        })
        .collect()
}

/// Fewest timestamps on each side for a posting-hour similarity to be reported.
pub const MIN_TIMESTAMPS: u64 = 5;

/// The symmetric comparison of two profiles, feature by feature (see [`FEATURE_NAMES`]):
/// cosine and min–max (Ruzicka) similarities of relative character 3/4-gram and
/// function-word frequencies; the mean absolute difference of smoothed log rates of the
/// format counters; L1 distances of the word- and sentence-length distributions; the
/// absolute log ratio of mean sentence lengths; `length` = ln(fewer words / 1000) clamped
/// to [-3, 3], and its products with the two cosines (similarities grow with text length).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairFeatures {
    /// Feature values in the order of [`FEATURE_NAMES`].
    pub values: [f64; N_FEATURES],
}

impl PairFeatures {
    /// The features of a pair. Symmetric: `between(a, b) == between(b, a)` exactly.
    pub fn between(a: &Profile, b: &Profile, r: &Reference) -> PairFeatures {
        let (ng_cos, ng_minmax) = ngram_similarities(a, b);
        let fa = rel(&a.function, a.words);
        let fb = rel(&b.function, b.words);
        let (fza, fzb) = if r.function_mean.len() == fa.len() && r.function_sd.len() == fa.len() {
            (
                Reference::z(&fa, &r.function_mean, &r.function_sd),
                Reference::z(&fb, &r.function_mean, &r.function_sd),
            )
        } else {
            (Vec::new(), Vec::new())
        };
        let nza = Reference::z(
            &ngram_freqs(a, &r.ngram_buckets),
            &r.ngram_mean,
            &r.ngram_sd,
        );
        let nzb = Reference::z(
            &ngram_freqs(b, &r.ngram_buckets),
            &r.ngram_mean,
            &r.ngram_sd,
        );
        let f_cos = cosine(&fa, &fb);
        let f_minmax = minmax(&fa, &fb);
        let format = format_distance(a, b);
        let wl = l1(&rel(&a.word_len, a.words), &rel(&b.word_len, b.words));
        let sa: u64 = a.sent_len.iter().map(|&v| v as u64).sum();
        let sb: u64 = b.sent_len.iter().map(|&v| v as u64).sum();
        let sl = l1(&rel(&a.sent_len, sa), &rel(&b.sent_len, sb));
        // A difference of logarithms, not the log of a ratio: x/y and y/x are not exact
        // reciprocals in floating point, and the features must be exactly symmetric.
        let msl =
            ((a.mean_sentence_length() + 1.0).ln() - (b.mean_sentence_length() + 1.0).ln()).abs();
        let words = a.words.min(b.words).max(1) as f64;
        let len = (words / 1000.0).ln().clamp(-3.0, 3.0);
        PairFeatures {
            values: [
                ng_cos,
                ng_minmax,
                f_cos,
                f_minmax,
                format,
                wl,
                sl,
                msl,
                len,
                len * ng_cos,
                len * f_cos,
                cosine(&fza, &fzb),
                delta(&fza, &fzb),
                cosine(&nza, &nzb),
                delta(&nza, &nzb),
            ],
        }
    }
}

fn rel(counts: &[u32], total: u64) -> Vec<f64> {
    counts.iter().map(|&c| ratio(c as u64, total)).collect()
}

fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f64 = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| x * x).sum::<f64>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

fn minmax(a: &[f64], b: &[f64]) -> f64 {
    let (mut lo, mut hi) = (0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        lo += x.min(*y);
        hi += x.max(*y);
    }
    if hi == 0.0 { 0.0 } else { lo / hi }
}

/// Burrows' Delta: mean absolute difference of standardised frequencies (0 when empty).
fn delta(a: &[f64], b: &[f64]) -> f64 {
    if a.is_empty() {
        return 0.0;
    }
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f64>() / a.len() as f64
}

fn l1(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum()
}

/// Cosine and min–max over the union of the kept n-gram buckets (merge join).
fn ngram_similarities(a: &Profile, b: &Profile) -> (f64, f64) {
    let (ta, tb) = (a.ngram_total.max(1) as f64, b.ngram_total.max(1) as f64);
    let (mut i, mut j) = (0, 0);
    let (mut dot, mut lo, mut hi) = (0.0, 0.0, 0.0);
    let (xa, xb) = (&a.ngrams, &b.ngrams);
    while i < xa.len() || j < xb.len() {
        let ka = xa.get(i).map_or(u32::MAX, |x| x.0);
        let kb = xb.get(j).map_or(u32::MAX, |x| x.0);
        let (fa, fb) = match ka.cmp(&kb) {
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
                (xa[i - 1].1 as f64 / ta, xb[j - 1].1 as f64 / tb)
            }
            std::cmp::Ordering::Less => {
                i += 1;
                (xa[i - 1].1 as f64 / ta, 0.0)
            }
            std::cmp::Ordering::Greater => {
                j += 1;
                (0.0, xb[j - 1].1 as f64 / tb)
            }
        };
        dot += fa * fb;
        lo += fa.min(fb);
        hi += fa.max(fb);
    }
    let na: f64 = xa
        .iter()
        .map(|x| (x.1 as f64 / ta).powi(2))
        .sum::<f64>()
        .sqrt();
    let nb: f64 = xb
        .iter()
        .map(|x| (x.1 as f64 / tb).powi(2))
        .sum::<f64>()
        .sqrt();
    let cos = if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    };
    let mm = if hi == 0.0 { 0.0 } else { lo / hi };
    (cos, mm)
}

/// Mean over the format counters of |ln rate_a − ln rate_b|, rates smoothed by half a
/// count so that absent habits compare without infinities.
fn format_distance(a: &Profile, b: &Profile) -> f64 {
    let n = a.format.len();
    let mut total = 0.0;
    for k in 0..n {
        let den = |p: &Profile| -> f64 {
            if k < FORMAT_PER_WORD {
                p.chars as f64
            } else if k + 1 < n {
                p.words as f64
            } else {
                p.sentences as f64
            }
        };
        let ra = (a.format[k] as f64 + 0.5) / (den(a) + 1.0);
        let rb = (b.format[k] as f64 + 0.5) / (den(b) + 1.0);
        total += (ra.ln() - rb.ln()).abs();
    }
    total / n as f64
}

/// Cosine of the posting-hour histograms, when both profiles have at least
/// [`MIN_TIMESTAMPS`] timestamps.
pub fn hour_similarity(a: &Profile, b: &Profile) -> Option<f64> {
    if a.timestamps() < MIN_TIMESTAMPS || b.timestamps() < MIN_TIMESTAMPS {
        return None;
    }
    let ha: Vec<f64> = a.hours.iter().map(|&v| v as f64).collect();
    let hb: Vec<f64> = b.hours.iter().map(|&v| v as f64).collect();
    Some(cosine(&ha, &hb))
}
