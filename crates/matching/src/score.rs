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
    fn partial(&self, i: usize, level: u8, a: u32, b: u32) -> (f64, f64) {
        let base = self.partials[i][level as usize];
        if level == 1
            && self.model.comparisons[i].levels[0].tf
            && let Some(freq) = self.bounds[i].exact_frequency(self.table, a, b, level)
        {
            let adjusted = self.exact_partial(i, freq);
            return (adjusted, adjusted - base);
        }
        (base, 0.0)
    }

    /// Partial weight of comparison `i`'s exact level for a value of relative frequency
    /// `freq` (the term-frequency adjusted weight).
    fn exact_partial(&self, i: usize, freq: f64) -> f64 {
        let base = self.partials[i][1];
        let p = &self.model.comparisons[i].levels[0];
        let freq = freq.max(self.model.tf_min_frequency).max(1e-12);
        let adjusted = (p.m / freq).log2();
        // Frequencies only sharpen evidence: a common value may weigh less than
        // average, but never turn agreement into disagreement.
        adjusted.max(0.0_f64.min(base))
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
            let (p, tf) = self.partial(i, l, a, b);
            if !self.model.comparisons[i].advisory {
                w += p;
                hw += self.household_partials[i][l as usize] + tf;
            }
            each(i, l, p, tf);
        }
        let correction = if self.household_weight.is_some() {
            household_correction(hw)
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
                _ if let Some((x, y)) = self.bounds[i].matched_values(self.table, a, b) => {
                    // Records holding several values: the pair that matched, and how many
                    // more each holds.
                    let shown = |v: &str, r: u32| {
                        let col = self.bounds[i].main_column(self.table);
                        match col.map_or(0, |c| c.values_of(r).len()) {
                            0 | 1 => v.to_string(),
                            n => format!("{v} (+{} more)", n - 1),
                        }
                    };
                    (Some(shown(x, a)), Some(shown(y, b)), None)
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

/// A [`Scorer`] for batches of pairs, owning what it needs (no borrow of the table it
/// was built for, so a plan can build it once and keep it).
///
/// Each comparison runs once per batch over all its pairs ([`Bound::levels`]) into a
/// column of levels; the match weight is then a sum of table look-ups: per comparison
/// and level, and for exact levels with term frequencies per value id (precomputed once
/// for every value of the column). Sums run in the order [`Scorer::weight`] uses, so
/// the weights are the same to the last bit.
#[derive(Clone, Debug)]
pub struct BatchScorer {
    /// Non-advisory comparisons: (bound, partial per level, household partial per level).
    comparisons: Vec<BatchComparison>,
    prior_weight: f64,
    household_weight: Option<f64>,
    /// Levels each comparison has (bits of a packed pattern per comparison).
    pattern_slots: Vec<Option<usize>>,
}

#[derive(Clone, Debug)]
struct BatchComparison {
    bound: Bound,
    partials: Vec<f64>,
    household_partials: Vec<f64>,
    /// Partial weight at the exact level per value id of the comparison's column, when
    /// the exact level is adjusted by term frequency.
    tf: Option<Vec<f64>>,
}

impl BatchScorer {
    /// Precomputes the look-up tables of `scorer` (term-frequency weights of every value
    /// of the columns it compares).
    pub fn new(scorer: &Scorer<'_>) -> BatchScorer {
        let mut comparisons = Vec::new();
        let mut pattern_slots = Vec::new();
        for (i, c) in scorer.model.comparisons.iter().enumerate() {
            if c.advisory {
                pattern_slots.push(None);
                continue;
            }
            pattern_slots.push(Some(comparisons.len()));
            let bound = scorer.bounds[i];
            let tf = (c.levels.first().is_some_and(|l| l.tf))
                .then(|| bound.main_column(scorer.table))
                .flatten()
                .map(|col| {
                    (0..col.values.len() as u32)
                        .map(|id| scorer.exact_partial(i, col.frequency(id)))
                        .collect()
                });
            comparisons.push(BatchComparison {
                bound,
                partials: scorer.partials[i].clone(),
                household_partials: scorer.household_partials[i].clone(),
                tf,
            });
        }
        BatchScorer {
            comparisons,
            prior_weight: scorer.prior_weight,
            household_weight: scorer.household_weight,
            pattern_slots,
        }
    }

    /// Match weights of the pairs `(a[j], b[j])` of `table` into `out` (cleared first):
    /// [`Scorer::weight`] of each pair.
    pub fn weights(&self, table: &RecordTable, a: &[u32], b: &[u32], out: &mut Vec<f64>) {
        let n = a.len();
        out.clear();
        out.resize(n, self.prior_weight);
        let mut household = vec![self.household_weight.unwrap_or(0.0); n];
        let mut levels = Vec::with_capacity(n);
        for c in &self.comparisons {
            c.bound.levels(table, a, b, &mut levels);
            let tf_column = c.tf.as_ref().and(c.bound.main_column(table));
            for (j, &l) in levels.iter().enumerate() {
                let base = c.partials[l as usize];
                let (p, tf) = match (l, &c.tf, tf_column) {
                    (1, Some(tf), Some(col)) => match col.shared_id(a[j], b[j]) {
                        None => (base, 0.0),
                        Some(id) => {
                            let p = tf[id as usize];
                            (p, p - base)
                        }
                    },
                    _ => (base, 0.0),
                };
                out[j] += p;
                household[j] += c.household_partials[l as usize] + tf;
            }
        }
        if self.household_weight.is_some() {
            for (w, hw) in out.iter_mut().zip(household) {
                *w += household_correction(hw);
            }
        }
    }

    /// Packed agreement patterns of the pairs into `out` (cleared first):
    /// [`Scorer::pattern`] of each pair.
    pub fn patterns(&self, table: &RecordTable, a: &[u32], b: &[u32], out: &mut Vec<u64>) {
        out.clear();
        out.resize(a.len(), 0);
        let mut levels = Vec::with_capacity(a.len());
        for (i, slot) in self.pattern_slots.iter().enumerate() {
            let Some(slot) = slot else { continue };
            self.comparisons[*slot]
                .bound
                .levels(table, a, b, &mut levels);
            let shift = BITS * i as u32;
            for (p, &l) in out.iter_mut().zip(&levels) {
                *p |= u64::from(l) << shift;
            }
        }
    }
}

/// −log2(1 + 2^hw), computed without overflow: the household correction of a pair
/// whose household log-odds sum is `hw`.
fn household_correction(hw: f64) -> f64 {
    if hw > 0.0 {
        -(hw + (-hw).exp2().ln_1p() / std::f64::consts::LN_2)
    } else {
        -(hw.exp2().ln_1p() / std::f64::consts::LN_2)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cold::cold_start_functions;
    use crate::table::{PrepareOptions, RecordTable};
    use proptest::prelude::*;
    use spirit_model::AttrKind::{self, *};

    const GIVEN: [&str; 6] = ["john", "jon", "jane", "smith", "johnny", ""];
    const SURNAME: [&str; 5] = ["smith", "smyth", "john", "jones", ""];
    const DOB: [&str; 5] = ["1980-04-02", "1980-02-04", "1981-04-02", "1980", ""];
    const EMAIL: [&str; 4] = ["js@example.org", "js@example.com", "jx@example.org", ""];
    const PHONE: [&str; 4] = ["+44 20 7946 0001", "020 7946 0001", "+44 20 7946 0002", ""];
    const POSTCODE: [&str; 4] = ["SW1A 1AA", "SW1A 1AB", "M1 1AE", ""];
    const CITY: [&str; 3] = ["london", "manchester", ""];

    fn record(picks: &[usize; 7]) -> Vec<(AttrKind, String)> {
        let columns: [(AttrKind, &[&str]); 7] = [
            (GivenName, &GIVEN),
            (Surname, &SURNAME),
            (DateOfBirth, &DOB),
            (Email, &EMAIL),
            (Phone, &PHONE),
            (Postcode, &POSTCODE),
            (City, &CITY),
        ];
        columns
            .iter()
            .zip(picks)
            .filter_map(|((k, vals), &i)| {
                let v = vals[i % vals.len()];
                (!v.is_empty()).then(|| (*k, v.to_string()))
            })
            .collect()
    }

    proptest! {
        #[test]
        fn batches_score_as_pairs_do(
            rows in proptest::collection::vec(proptest::array::uniform7(0usize..6), 2..24),
            pairs in proptest::collection::vec((0usize..24, 0usize..24), 1..64),
            tf in any::<bool>(),
        ) {
            let records: Vec<_> = rows.iter().map(record).collect();
            let n = records.len();
            let table = RecordTable::build(&records, vec![0; n], &PrepareOptions::default());
            let mut model = Model::cold_start(&cold_start_functions(&table.kinds()));
            if tf {
                for c in &mut model.comparisons {
                    c.levels[0].tf = true;
                }
                model.tf_min_frequency = 0.05;
            }
            let scorer = Scorer::new(model, &table);
            let batch = BatchScorer::new(&scorer);
            let (a, b): (Vec<u32>, Vec<u32>) =
                pairs.iter().map(|&(x, y)| ((x % n) as u32, (y % n) as u32)).unzip();
            let (mut weights, mut patterns) = (Vec::new(), Vec::new());
            batch.weights(&table, &a, &b, &mut weights);
            batch.patterns(&table, &a, &b, &mut patterns);
            for j in 0..a.len() {
                prop_assert_eq!(weights[j].to_bits(), scorer.weight(a[j], b[j]).to_bits());
                prop_assert_eq!(patterns[j], scorer.pattern(a[j], b[j]));
            }
        }
    }
}
