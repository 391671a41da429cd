//! Authorship verification between two profiles: the pair features combined by the
//! shipped calibration into calibrated log-odds, and the bands a match model uses.

use super::bands::BAND_SHARES;
use super::calibration::Calibration;
use super::features::{PairFeatures, hour_similarity};
use super::fitted::DEFAULT_CALIBRATION;
use super::profile::Profile;

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
    pub const DEFAULT: Calibration = DEFAULT_CALIBRATION;

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
}

/// Compares two profiles with [`Calibration::DEFAULT`].
pub fn verify(a: &Profile, b: &Profile) -> Verification {
    Calibration::DEFAULT.verify(a, b)
}
