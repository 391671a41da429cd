//! Authorship verification between two profiles: similarities per feature group, combined
//! by a logistic model into calibrated log-odds.

use std::borrow::Cow;

use super::StyleError;
use super::bands::BAND_SHARES;
use super::lexicon::FORMAT_PER_WORD;
use super::profile::{Profile, ratio};

/// Number of pair features.
pub const N_FEATURES: usize = 15;

/// Names of the pair features, in the order of [`PairFeatures::values`] and of the
/// weights of a [`Calibration`].
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
/// buckets', over a reference set of accounts. Part of a [`Calibration`].
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

/// Name and version of the shipped calibration ([`Calibration::DEFAULT`] with the level
/// shares [`BAND_M`] and [`BAND_U`]), shown wherever a style score is: bump the version
/// whenever `fitted.rs` or the shares are refitted.
pub const CALIBRATION_NAME: &str = "spirit-style default calibration v1";

/// The bands of calibrated log-odds that a match model's style comparison uses as its
/// levels, strongest first: `strong` (probability at even odds ≥ 0.95, log-odds ≥ ln 19),
/// `likely` (≥ 0.8, ln 4), `possible` (≥ 0.5, 0); below the last is `else`.
pub const BANDS: [(&str, f64); 3] = [
    ("strong", 2.944_438_979_166_440_5),
    ("likely", 1.386_294_361_119_890_6),
    ("possible", 0.0),
];

/// Fewest words on each side for a match model to compare two profiles: the shortest
/// account length the calibration was fitted and measured on.
pub const MIN_WORDS: u64 = 500;

/// The level (1-based into [`BANDS`], then `BANDS.len() + 1` for *else*) of a log-odds.
pub fn band(log_odds: f64) -> u8 {
    BANDS
        .iter()
        .position(|(_, t)| log_odds >= *t)
        .map_or(BANDS.len() as u8 + 1, |i| i as u8 + 1)
}

/// Share of **same-author** pairs of held-out authors in each band (the last entry is
/// *else*): the m of the style comparison. Measured by `bench/style/run` (the
/// `bands, all lengths` table: accounts of 500, 1,000 and 2,000 words of the 26 authors
/// the calibration never saw, every pair of equal length).
pub const BAND_M: [f64; 4] = BAND_SHARES.0;
/// Share of **different-author** held-out pairs in each band: the style comparison's u.
pub const BAND_U: [f64; 4] = BAND_SHARES.1;

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

/// A logistic model from [`PairFeatures`] to the log-odds that two profiles share an
/// author, fitted with both classes weighted equally: its log-odds are an estimate of the
/// log likelihood ratio, and its probability assumes even prior odds.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// Intercept of the log-odds.
    pub intercept: f64,
    /// One weight per feature, in the order of [`FEATURE_NAMES`].
    pub weights: [f64; N_FEATURES],
    /// The reference frequencies the standardised features use.
    pub reference: Reference,
}

/// The outcome of comparing two profiles.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verification {
    /// Natural-log odds that the two accounts have one author, at even prior odds: an
    /// estimate of the log likelihood ratio, to add to a model's other evidence.
    pub log_odds: f64,
    /// `1 / (1 + e^-log_odds)`: the probability at even prior odds.
    pub probability: f64,
    /// Words in the smaller profile: the calibration was fitted on 500–2,000 words, and
    /// below about 500 the score is weak.
    pub min_words: u64,
    /// The features the score was computed from.
    pub features: PairFeatures,
    /// Posting-hour similarity (cosine), when both sides have enough timestamps. Not part
    /// of the calibrated score: no timestamped ground truth was available to fit it.
    pub hour_similarity: Option<f64>,
}

impl Calibration {
    /// The shipped calibration; see the module docs for how it was fitted.
    pub const DEFAULT: Calibration = super::fitted::DEFAULT_CALIBRATION;

    /// Log-odds of same authorship for given features.
    pub fn log_odds(&self, f: &PairFeatures) -> f64 {
        let z = self.intercept
            + self
                .weights
                .iter()
                .zip(&f.values)
                .map(|(w, x)| w * x)
                .sum::<f64>();
        if z.is_finite() {
            z.clamp(-50.0, 50.0)
        } else {
            0.0
        }
    }

    /// Compares two profiles with this calibration. Symmetric in its arguments.
    pub fn verify(&self, a: &Profile, b: &Profile) -> Verification {
        let features = PairFeatures::between(a, b, &self.reference);
        let log_odds = self.log_odds(&features);
        Verification {
            log_odds,
            probability: 1.0 / (1.0 + (-log_odds).exp()),
            min_words: a.words.min(b.words),
            features,
            hour_similarity: hour_similarity(a, b),
        }
    }

    /// Fits a calibration to labelled pairs (`true` = same author, features computed with
    /// `reference`, see [`Reference::fit`]) by L2-regularised
    /// logistic regression (Newton's method on standardised features; `ridge` is the
    /// penalty on standardised weights, 1.0 is a fair default), with the two classes
    /// weighted equally. Errors when a class is missing or a feature is not finite.
    #[allow(clippy::needless_range_loop)] // matrix code reads best with indices
    pub fn fit(
        pairs: &[(PairFeatures, bool)],
        ridge: f64,
        reference: Reference,
    ) -> Result<Calibration, StyleError> {
        let pos = pairs.iter().filter(|p| p.1).count();
        let neg = pairs.len() - pos;
        if pos == 0 || neg == 0 {
            return Err(StyleError::Fit(format!(
                "need pairs of both classes, got {pos} same-author and {neg} different-author"
            )));
        }
        if let Some(i) = pairs
            .iter()
            .position(|p| p.0.values.iter().any(|v| !v.is_finite()))
        {
            return Err(StyleError::Fit(format!(
                "pair {i} has a non-finite feature"
            )));
        }
        if !(ridge.is_finite() && ridge >= 0.0) {
            return Err(StyleError::Fit(format!(
                "ridge must be finite and >= 0, got {ridge}"
            )));
        }
        const D: usize = N_FEATURES + 1;
        let n = pairs.len() as f64;
        let mut mean = [0.0; N_FEATURES];
        let mut sd = [0.0; N_FEATURES];
        for (f, _) in pairs {
            for k in 0..N_FEATURES {
                mean[k] += f.values[k] / n;
            }
        }
        for (f, _) in pairs {
            for k in 0..N_FEATURES {
                sd[k] += (f.values[k] - mean[k]).powi(2) / n;
            }
        }
        for s in sd.iter_mut() {
            *s = if *s > 1e-24 { s.sqrt() } else { 1.0 };
        }
        let x = |f: &PairFeatures| -> [f64; D] {
            let mut v = [1.0; D];
            for k in 0..N_FEATURES {
                v[k + 1] = (f.values[k] - mean[k]) / sd[k];
            }
            v
        };
        let (cw_pos, cw_neg) = (0.5 * n / pos as f64, 0.5 * n / neg as f64);
        let mut w = [0.0; D];
        for _ in 0..100 {
            let mut g = [0.0; D];
            let mut h = [[0.0; D]; D];
            for (f, y) in pairs {
                let xi = x(f);
                let z: f64 = w.iter().zip(&xi).map(|(a, b)| a * b).sum();
                let p = 1.0 / (1.0 + (-z).exp());
                let c = if *y { cw_pos } else { cw_neg };
                let r = c * ((*y as u8 as f64) - p);
                let s = c * p * (1.0 - p);
                for a in 0..D {
                    g[a] += r * xi[a];
                    for b in 0..D {
                        h[a][b] += s * xi[a] * xi[b];
                    }
                }
            }
            for a in 1..D {
                g[a] -= ridge * w[a];
                h[a][a] += ridge;
            }
            for (a, row) in h.iter_mut().enumerate() {
                row[a] += 1e-9; // keeps constant features from making the system singular
            }
            let step = solve(h, g).ok_or_else(|| StyleError::Fit("singular system".into()))?;
            let mut biggest: f64 = 0.0;
            for a in 0..D {
                w[a] += step[a];
                biggest = biggest.max(step[a].abs());
            }
            if biggest < 1e-10 {
                break;
            }
        }
        let mut weights = [0.0; N_FEATURES];
        let mut intercept = w[0];
        for k in 0..N_FEATURES {
            weights[k] = w[k + 1] / sd[k];
            intercept -= w[k + 1] * mean[k] / sd[k];
        }
        Ok(Calibration {
            intercept,
            weights,
            reference,
        })
    }
}

/// Gaussian elimination with partial pivoting; `None` when singular.
#[allow(clippy::needless_range_loop)]
fn solve<const D: usize>(mut a: [[f64; D]; D], mut b: [f64; D]) -> Option<[f64; D]> {
    for col in 0..D {
        let piv = (col..D).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[piv][col].abs() < 1e-300 {
            return None;
        }
        a.swap(col, piv);
        b.swap(col, piv);
        for row in col + 1..D {
            let m = a[row][col] / a[col][col];
            for k in col..D {
                a[row][k] -= m * a[col][k];
            }
            b[row] -= m * b[col];
        }
    }
    let mut out = [0.0; D];
    for row in (0..D).rev() {
        let s: f64 = (row + 1..D).map(|k| a[row][k] * out[k]).sum();
        out[row] = (b[row] - s) / a[row][row];
    }
    out.iter().all(|v| v.is_finite()).then_some(out)
}

/// Compares two profiles with [`Calibration::DEFAULT`].
pub fn verify(a: &Profile, b: &Profile) -> Verification {
    Calibration::DEFAULT.verify(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_recovers_a_known_logistic_model() {
        // Labels drawn deterministically from a known model on one feature.
        let mut pairs = Vec::new();
        let mut state = 12345u64;
        for _ in 0..4000 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let x = ((state >> 11) as f64 / (1u64 << 53) as f64) * 4.0 - 2.0;
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = (state >> 11) as f64 / (1u64 << 53) as f64;
            let p = 1.0 / (1.0 + (-(3.0 * x - 1.0)).exp());
            let mut values = [0.0; N_FEATURES];
            values[0] = x;
            values[1] = (x * 7.0).sin(); // noise feature
            pairs.push((PairFeatures { values }, u < p));
        }
        let r = || Calibration::DEFAULT.reference.clone();
        let c = Calibration::fit(&pairs, 0.0, r()).unwrap();
        assert!((c.weights[0] - 3.0).abs() < 0.4, "{c:?}");
        assert!(c.weights[1].abs() < 0.4, "{c:?}");
        assert!(Calibration::fit(&pairs[..0], 1.0, r()).is_err());
        let one_class: Vec<_> = pairs.iter().filter(|p| p.1).cloned().collect();
        assert!(matches!(
            Calibration::fit(&one_class, 1.0, r()),
            Err(StyleError::Fit(_))
        ));
    }

    #[test]
    fn solve_solves() {
        let a = [[2.0, 1.0], [1.0, 3.0]];
        let x = solve(a, [3.0, 5.0]).unwrap();
        assert!((x[0] - 0.8).abs() < 1e-12 && (x[1] - 1.4).abs() < 1e-12);
        assert!(solve([[1.0, 2.0], [2.0, 4.0]], [1.0, 2.0]).is_none());
    }
}
