//! Scoring with a trained model: match weights, partial weights and the explanation
//! waterfall of a pair.

use serde::Serialize;
use spirit_model::weight_to_probability;

use crate::comparison::Bound;
use crate::params::{BITS, Model};
use crate::table::RecordTable;

/// One line of an explanation: a comparison, the level the pair reached, the values
/// compared and the partial weight it contributed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExplanationItem {
    pub comparison: String,
    pub level: String,
    pub left: Option<String>,
    pub right: Option<String>,
    pub partial_weight: f64,
    /// Part of the partial weight that comes from the value's frequency (exact levels).
    pub tf_adjustment: f64,
    /// Advisory evidence: the partial weight is shown but is not part of the match
    /// weight ([`crate::params::ComparisonParams::advisory`]).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub advisory: bool,
    /// What a calibrated comparison's score was and where its calibration comes from
    /// (for the style comparison: the probability of one author at even odds, the
    /// calibration's name and version, and the shorter side's word count).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calibration: Option<String>,
}

/// The waterfall of a pair: prior weight plus partial weights gives the match weight.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Explanation {
    pub prior_weight: f64,
    pub items: Vec<ExplanationItem>,
    pub match_weight: f64,
    pub probability: f64,
}

/// A model bound to a record table, ready to score pairs. Partial weights per level
/// are precomputed; exact levels with term-frequency adjustment use the value's
/// frequency in this table.
///
/// With a household class, the match weight is log2 of P(same person) over
/// P(household) + P(unrelated): the prior weight plus the partial weights log2(m/u),
/// plus one more term, the *household* correction −log2(1 + 2^(η + Σ log2(h/u))),
/// which is near 0 unless the pair looks more like two members of one household than
/// like one person. The sum stays the explanation.
///
/// An advisory comparison (the style comparison, by default) has its partial weight
/// computed, returned by [`Scorer::score`] and shown by [`Scorer::explain`], but left out
/// of the match weight and of the household correction.
#[derive(Clone, Debug)]
pub struct Scorer<'t> {
    pub table: &'t RecordTable,
    pub model: Model,
    bounds: Vec<Bound>,
    pub(crate) partials: Vec<Vec<f64>>,
    pub(crate) household_partials: Vec<Vec<f64>>,
    pub(crate) prior_weight: f64,
    pub(crate) household_weight: Option<f64>,
}

/// Name of the household correction in explanations and `edges.csv`.
pub const HOUSEHOLD: &str = "household";

impl<'t> Scorer<'t> {
    pub fn new(model: Model, table: &'t RecordTable) -> Scorer<'t> {
        let bounds = model
            .functions()
            .iter()
            .map(|f| Bound::new(*f, table))
            .collect();
        let partials = model
            .comparisons
            .iter()
            .map(|c| (0..=c.levels.len() as u8).map(|l| c.partial(l)).collect())
            .collect();
        let household_partials = model
            .comparisons
            .iter()
            .map(|c| {
                std::iter::once(0.0)
                    .chain(c.levels.iter().map(|p| (p.h.max(1e-300) / p.u).log2()))
                    .collect()
            })
            .collect();
        let unrelated = 1.0 - model.prior - model.household_prior;
        let prior_weight = (model.prior / unrelated).log2();
        let household_weight =
            (model.household_prior > 0.0).then(|| (model.household_prior / unrelated).log2());
        Scorer {
            table,
            model,
            bounds,
            partials,
            household_partials,
            prior_weight,
            household_weight,
        }
    }

    /// True when the model has a household class (and explanations a household line).
    pub fn has_household(&self) -> bool {
        self.household_weight.is_some()
    }

    /// The packed agreement pattern of the pair. An advisory comparison's level is left
    /// null: training ignores it, and leaving it out spares its kernel (a style
    /// verification costs about a quarter of a millisecond) on every training pair.
    pub fn pattern(&self, a: u32, b: u32) -> u64 {
        self.bounds.iter().enumerate().fold(0u64, |acc, (i, bd)| {
            if self.model.comparisons[i].advisory {
                return acc;
            }
            acc | (u64::from(bd.level(self.table, a, b)) << (BITS * i as u32))
        })
    }

    /// Partial weight of comparison `i` at `level` for the pair, including the
    /// term-frequency adjustment, and the adjustment alone.
    #[inline]
    fn partial(&self, i: usize, level: u8, a: u32) -> (f64, f64) {
        let base = self.partials[i][level as usize];
        if level == 1
            && self.model.comparisons[i].levels[0].tf
            && let Some(freq) = self.bounds[i].exact_frequency(self.table, a, level)
        {
            let p = &self.model.comparisons[i].levels[0];
            let freq = freq.max(self.model.tf_min_frequency).max(1e-12);
            let adjusted = (p.m / freq).log2();
            // Frequencies only sharpen evidence: a common value may weigh less than
            // average, but never turn agreement into disagreement.
            let adjusted = adjusted.max(0.0_f64.min(base));
            return (adjusted, adjusted - base);
        }
        (base, 0.0)
    }

    /// Partial weights of the pair and its household correction (0 without a class).
    #[inline]
    fn parts(
        &self,
        a: u32,
        b: u32,
        advisory: bool,
        mut each: impl FnMut(usize, u8, f64, f64),
    ) -> (f64, f64) {
        let mut w = self.prior_weight;
        let mut hw = self.household_weight.unwrap_or(0.0);
        for (i, bd) in self.bounds.iter().enumerate() {
            if !advisory && self.model.comparisons[i].advisory {
                continue; // not part of the weight: not even computed
            }
            let l = bd.level(self.table, a, b);
            let (p, tf) = self.partial(i, l, a);
            if !self.model.comparisons[i].advisory {
                w += p;
                hw += self.household_partials[i][l as usize] + tf;
            }
            each(i, l, p, tf);
        }
        let correction = if self.household_weight.is_some() {
            // −log2(1 + 2^hw), computed without overflow
            if hw > 0.0 {
                -(hw + (-hw).exp2().ln_1p() / std::f64::consts::LN_2)
            } else {
                -(hw.exp2().ln_1p() / std::f64::consts::LN_2)
            }
        } else {
            0.0
        };
        (w + correction, correction)
    }

    /// Match weight of the pair (prior and household correction included).
    pub fn weight(&self, a: u32, b: u32) -> f64 {
        self.parts(a, b, false, |_, _, _, _| {}).0
    }

    /// Match weight and partial weights of the pair; with a household class the last
    /// partial is the household correction.
    pub fn score(&self, a: u32, b: u32) -> (f64, Vec<f32>) {
        let mut parts = Vec::with_capacity(self.bounds.len() + 1);
        let (w, correction) = self.parts(a, b, true, |_, _, p, _| parts.push(p as f32));
        if self.has_household() {
            parts.push(correction as f32);
        }
        (w, parts)
    }

    /// Names of the partial weights [`Scorer::score`] returns, in order.
    pub fn partial_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .model
            .comparisons
            .iter()
            .map(|c| c.name.clone())
            .collect();
        if self.has_household() {
            names.push(HOUSEHOLD.into());
        }
        names
    }

    /// The waterfall explanation of the pair.
    pub fn explain(&self, a: u32, b: u32) -> Explanation {
        let mut items = Vec::new();
        let (w, correction) = self.parts(a, b, true, |i, l, p, tf| {
            let c = &self.model.comparisons[i];
            let kinds = crate::explain_kinds(c.function);
            let (left, right, calibration) = match c.function {
                crate::Function::AudioFingerprint => {
                    let (left, right) = audio_explanation(self.table, a, b);
                    (left, right, None)
                }
                crate::Function::Style => {
                    let col = self.table.column(spirit_model::AttrKind::StyleProfile);
                    let summary = |r: u32| -> Option<String> {
                        let v = col?.get(r)?;
                        Some(match spirit_text::style::Profile::parse(v) {
                            Ok(p) => {
                                format!("style profile: {} words in {} texts", p.words(), p.texts())
                            }
                            Err(e) => format!("unreadable style profile: {e}"),
                        })
                    };
                    let verification = self.bounds[i].style_verification(self.table, a, b);
                    (
                        summary(a),
                        summary(b),
                        Some(style_note(verification.as_ref())),
                    )
                }
                _ => {
                    let value = |r: u32| -> Option<String> {
                        let vals: Vec<&str> = kinds
                            .iter()
                            .filter_map(|k| self.table.column(*k)?.get(r))
                            .collect();
                        (!vals.is_empty()).then(|| vals.join(" | "))
                    };
                    (value(a), value(b), None)
                }
            };
            items.push(ExplanationItem {
                comparison: c.name.clone(),
                level: if l == 0 {
                    "null".into()
                } else {
                    c.levels[l as usize - 1].label.clone()
                },
                left,
                right,
                partial_weight: p,
                tf_adjustment: tf,
                advisory: c.advisory,
                calibration,
            });
        });
        if self.has_household() {
            items.push(ExplanationItem {
                comparison: HOUSEHOLD.into(),
                level: if correction < -1.0 {
                    "likely".into()
                } else {
                    "unlikely".into()
                },
                left: None,
                right: None,
                partial_weight: correction,
                tf_adjustment: 0.0,
                advisory: false,
                calibration: None,
            });
        }
        Explanation {
            prior_weight: self.prior_weight,
            items,
            match_weight: w,
            probability: weight_to_probability(w),
        }
    }
}

/// What an explanation shows for two audio fingerprints (the values are kilobytes of
/// base64): each recording's fingerprinted length and, when they share a segment, where
/// it starts in each, how long it is and its bit errors.
fn audio_explanation(table: &RecordTable, a: u32, b: u32) -> (Option<String>, Option<String>) {
    use crate::evidence::{audio_best_segment, audio_seconds, parse_audio_fingerprint};
    let Some(col) = table.column(spirit_model::AttrKind::AudioFingerprint) else {
        return (None, None);
    };
    let print = |r: u32| col.get(r).and_then(parse_audio_fingerprint);
    let (pa, pb) = (print(a), print(b));
    let describe = |p: &Option<Vec<u32>>| {
        p.as_ref()
            .map(|p| format!("{:.1} s fingerprinted", audio_seconds(p.len())))
    };
    let (mut left, mut right) = (describe(&pa), describe(&pb));
    if let (Some(x), Some(y)) = (&pa, &pb)
        && let Some(s) = audio_best_segment(x, y)
    {
        let common = format!(
            "; common {:.1} s at {:.2} bit errors of 32",
            s.seconds, s.bit_errors
        );
        if let Some(l) = left.as_mut() {
            l.push_str(&format!("{common}, from {:.1} s", s.start_left));
        }
        if let Some(r) = right.as_mut() {
            r.push_str(&format!("{common}, from {:.1} s", s.start_right));
        }
    }
    (left, right)
}

/// The calibration note of a style comparison's explanation line.
pub fn style_note(v: Option<&spirit_text::style::Verification>) -> String {
    let name = spirit_text::style::CALIBRATION_NAME;
    match v {
        Some(v) => format!(
            "P(one author) = {:.3} at even odds (log-odds {:+.2}, shorter side {} words); {name}",
            v.probability, v.log_odds, v.min_words
        ),
        None => format!(
            "not compared: a side has no style profile or fewer than {} words; {name}",
            spirit_text::style::MIN_WORDS
        ),
    }
}
