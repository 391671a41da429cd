//! The Fellegi–Sunter model: prior, m and u per comparison level, term-frequency
//! adjustment of exact agreement, unsupervised training (u from value frequencies and
//! random pairs, m and the prior by EM on the histogram of agreement patterns),
//! supervised fitting from labelled pairs, scoring and explanation.
//!
//! This module gathers the model's public items in one place. They are defined by
//! concept: the parameters and their JSON form in `params`, the starting model (u
//! estimation) in `initial`, EM and labelled fitting in `train`, scoring and explanation
//! in [`crate::score`].

pub use crate::initial::SplitMix64;
pub use crate::params::{
    ComparisonParams, LevelParams, MAX_COMPARISONS, MODEL_FORMAT, Model, ModelError, TrainingInfo,
    pack, unpack,
};
pub use crate::score::{BatchScorer, Explanation, ExplanationItem, HOUSEHOLD, Scorer};
pub use crate::train::{PatternCount, TrainingData};
