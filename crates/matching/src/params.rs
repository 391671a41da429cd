//! The Fellegi–Sunter model's parameters and their JSON form (`model.json`): prior,
//! m, u and h per comparison level, how the model was trained, validation on load, and
//! the packed agreement patterns that training and scoring share.

use serde::{Deserialize, Serialize};

use crate::comparison::Function;

/// The format tag written into every `model.json`.
pub const MODEL_FORMAT: &str = "spirit-model/1";

/// Bits per comparison in a packed agreement pattern.
pub(crate) const BITS: u32 = 4;
/// At most this many comparisons fit in a packed pattern (the top bit stays free for
/// the engine's own use).
pub const MAX_COMPARISONS: usize = 15;

/// Errors of model handling.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model format {found:?} is not supported (expected {MODEL_FORMAT:?})")]
    Format { found: String },
    #[error("comparison {name:?}: {message}")]
    Comparison { name: String, message: String },
    #[error("too many comparisons ({0}); at most {MAX_COMPARISONS} are supported")]
    TooMany(usize),
    #[error("model JSON: {0}")]
    Json(String),
}

/// Parameters of one level of a comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LevelParams {
    pub label: String,
    /// P(level | match).
    pub m: f64,
    /// P(level | non-match).
    pub u: f64,
    /// P(level | different people of one household): the third class, for records that
    /// share surname, address and phone but not a person. 0 when the model has none.
    #[serde(default)]
    pub h: f64,
    /// Whether exact agreement on this level is adjusted by the value's frequency.
    #[serde(default)]
    pub tf: bool,
}

/// One comparison of the model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComparisonParams {
    pub name: String,
    #[serde(flatten)]
    pub function: Function,
    /// Levels strongest first, *else* last (the null level is implicit: weight 0).
    pub levels: Vec<LevelParams>,
    /// Advisory evidence: its partial weight is computed, stored with every edge and
    /// shown in explanations, but is not part of the match weight, so it never decides
    /// a link. The style comparison is advisory unless the settings'
    /// `resolve.style_can_link` is true ([`Model::set_style_can_link`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub advisory: bool,
}

impl ComparisonParams {
    /// Partial weight of a level (1-based; 0 is null and weighs nothing).
    pub fn partial(&self, level: u8) -> f64 {
        if level == 0 {
            return 0.0;
        }
        let p = &self.levels[level as usize - 1];
        (p.m / p.u).log2()
    }
}

/// How a model was trained.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainingInfo {
    pub method: String,
    pub em_iterations: usize,
    pub em_converged: bool,
    /// The largest change of a parameter in EM's last step.
    #[serde(default)]
    pub em_last_change: f64,
    pub pattern_pairs: u64,
    pub distinct_patterns: u64,
    pub u_sample_pairs: u64,
    pub labelled_matches: u64,
    pub labelled_non_matches: u64,
    /// EM's estimate of the share of matches among the pairs each blocking rule proposed.
    #[serde(default)]
    pub rule_match_share: Vec<f64>,
    /// EM's estimate of the share of household pairs among each rule's pairs.
    #[serde(default)]
    pub rule_household_share: Vec<f64>,
    /// EM's estimate of the number of matching candidate pairs.
    #[serde(default)]
    pub expected_matches: f64,
    /// What the check after training found (non-convergence, degenerate comparisons
    /// and their fallback, a prior at its bound); empty when all is well.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// A trained Fellegi–Sunter model. Serialises to `model.json`. It holds no personal
/// data: term frequencies are recomputed from the data being scored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub format: String,
    /// Probability that two random records are the same person (λ).
    pub prior: f64,
    /// Probability that two random records are different people of one household;
    /// 0 when the model has no household class.
    #[serde(default)]
    pub household_prior: f64,
    pub comparisons: Vec<ComparisonParams>,
    /// Lower bound on a value's frequency in the term-frequency adjustment, so that a
    /// value seen once cannot outweigh everything else.
    pub tf_min_frequency: f64,
    pub training: TrainingInfo,
}

impl Model {
    /// The match weight of a packed agreement pattern ([`crate::Scorer::pattern`]): the
    /// prior weight plus each level's partial weight, without term-frequency or
    /// household adjustment.
    pub fn pattern_weight(&self, pattern: u64) -> f64 {
        let unrelated = 1.0 - self.prior - self.household_prior;
        let prior = (self.prior / unrelated).log2();
        unpack(pattern, self.comparisons.len())
            .into_iter()
            .zip(&self.comparisons)
            .map(|(l, c)| c.partial(l))
            .sum::<f64>()
            + prior
    }

    /// Checks a loaded model: format, level counts matching the functions, and
    /// probabilities within (0, 1].
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.format != MODEL_FORMAT {
            return Err(ModelError::Format {
                found: self.format.clone(),
            });
        }
        if self.comparisons.len() > MAX_COMPARISONS {
            return Err(ModelError::TooMany(self.comparisons.len()));
        }
        if !(self.household_prior >= 0.0 && self.prior + self.household_prior < 1.0) {
            return Err(ModelError::Json(format!(
                "household_prior must be within [0, 1 - prior), got {}",
                self.household_prior
            )));
        }
        if !(self.prior > 0.0 && self.prior < 1.0) {
            return Err(ModelError::Json(format!(
                "prior must be within (0, 1), got {}",
                self.prior
            )));
        }
        for c in &self.comparisons {
            let labels = c.function.levels();
            let err = |message: String| ModelError::Comparison {
                name: c.name.clone(),
                message,
            };
            if c.levels.len() != labels.len() {
                return Err(err(format!(
                    "has {} levels, its function {:?} has {}",
                    c.levels.len(),
                    c.function,
                    labels.len()
                )));
            }
            for (l, want) in c.levels.iter().zip(labels) {
                if l.label != *want {
                    return Err(err(format!("level {:?} should be {:?}", l.label, want)));
                }
                if self.household_prior > 0.0 && !(l.h > 0.0 && l.h <= 1.0) {
                    return Err(err(format!(
                        "level {:?}: h = {} is not in (0, 1]",
                        l.label, l.h
                    )));
                }
                for (what, p) in [("m", l.m), ("u", l.u)] {
                    if !(p > 0.0 && p <= 1.0) {
                        return Err(err(format!(
                            "level {:?}: {what} = {p} is not in (0, 1]",
                            l.label
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    /// Reads a model from JSON text and validates it.
    pub fn from_json(text: &str) -> Result<Model, ModelError> {
        let model: Model =
            serde_json::from_str(text).map_err(|e| ModelError::Json(e.to_string()))?;
        model.validate()?;
        Ok(model)
    }

    /// The model as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a model always serialises")
    }

    /// Lets the style comparison count towards the match weight (`true`) or keeps it
    /// advisory (`false`, the default): `resolve.style_can_link` in the settings.
    pub fn set_style_can_link(&mut self, can_link: bool) {
        for c in &mut self.comparisons {
            if c.function == Function::Style {
                c.advisory = !can_link;
            }
        }
    }

    /// The comparison functions, in order.
    pub fn functions(&self) -> Vec<Function> {
        self.comparisons.iter().map(|c| c.function).collect()
    }
}

/// Packs per-comparison levels into one pattern.
pub fn pack(levels: &[u8]) -> u64 {
    levels.iter().enumerate().fold(0u64, |acc, (i, &l)| {
        acc | (u64::from(l) << (BITS * i as u32))
    })
}

/// Unpacks a pattern into `n` levels.
pub fn unpack(pattern: u64, n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| ((pattern >> (BITS * i as u32)) & ((1 << BITS) - 1)) as u8)
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use spirit_model::AttrKind;

    /// A model of `Identifier` comparisons with the given levels, m, u and prior.
    pub(crate) fn model_with(
        levels: &[usize],
        m: &[Vec<f64>],
        u: &[Vec<f64>],
        prior: f64,
    ) -> Model {
        let comparisons = levels
            .iter()
            .enumerate()
            .map(|(i, &n)| ComparisonParams {
                name: format!("c{i}"),
                function: Function::Identifier(AttrKind::NationalId),
                levels: (0..n)
                    .map(|l| LevelParams {
                        label: format!("l{l}"),
                        m: m[i][l],
                        u: u[i][l],
                        h: 0.0,
                        tf: false,
                    })
                    .collect(),
                advisory: false,
            })
            .collect();
        Model {
            format: MODEL_FORMAT.into(),
            prior,
            household_prior: 0.0,
            comparisons,
            tf_min_frequency: 0.0,
            training: TrainingInfo::default(),
        }
    }

    #[test]
    fn patterns_round_trip() {
        let lv = [0u8, 3, 7, 1, 15, 2];
        assert_eq!(unpack(pack(&lv), lv.len()), lv);
    }

    #[test]
    fn model_json_round_trip_and_validation() {
        let m = model_with(&[2], &[vec![0.9, 0.1]], &[vec![0.01, 0.99]], 0.1);
        let text = m.to_json();
        assert!(
            Model::from_json(&text).is_err(),
            "level labels must match the function"
        );
        let mut good = m.clone();
        good.comparisons[0].levels = ["exact", "close", "else"]
            .iter()
            .zip([0.9, 0.05, 0.05])
            .map(|(l, p)| LevelParams {
                label: l.to_string(),
                m: p,
                u: 1.0 - p,
                h: 0.0,
                tf: false,
            })
            .collect();
        let back = Model::from_json(&good.to_json()).unwrap();
        assert_eq!(back, good);
        let mut bad = good.clone();
        bad.comparisons[0].levels[0].m = 0.0;
        assert!(
            Model::from_json(&bad.to_json())
                .unwrap_err()
                .to_string()
                .contains("m = 0")
        );
        assert!(Model::from_json("{").is_err());
        let mut old = good;
        old.format = "spirit-model/0".into();
        assert!(matches!(
            Model::from_json(&old.to_json()),
            Err(ModelError::Format { .. })
        ));
    }
}
