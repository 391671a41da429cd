//! The Fellegi–Sunter model: prior, m and u per comparison level, term-frequency
//! adjustment of exact agreement, unsupervised training (u from value frequencies and
//! random pairs, m and the prior by EM on the histogram of agreement patterns),
//! supervised fitting from labelled pairs, scoring and explanation.

use serde::{Deserialize, Serialize};

use crate::comparison::{Bound, Function};
use crate::table::RecordTable;

pub use crate::score::{Explanation, ExplanationItem, HOUSEHOLD, Scorer};

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
}

/// What EM trains on: the histogram of training pairs, which comparisons each rule
/// blocks on (`covered[rule][comparison]`), how many candidate pairs each counted pair
/// stands for (`rule_scale[rule]`, when a rule's pairs were sampled), and the number of
/// possible pairs (for the prior).
#[derive(Clone, Copy, Debug)]
pub struct TrainingData<'a> {
    pub histogram: &'a [PatternCount],
    pub covered: &'a [Vec<bool>],
    pub rule_scale: &'a [f64],
    pub possible_pairs: f64,
}

/// How many training pairs of blocking rule `rule` have `pattern`. `first` tells
/// whether `rule` is the first rule proposing those pairs (so each candidate pair is
/// counted once over the rows with `first`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PatternCount {
    pub rule: u8,
    pub first: bool,
    pub pattern: u64,
    pub count: u64,
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
    /// A starting model: u from the table (value frequencies for exact levels and a
    /// random sample for the others) and an initial guess for m and the prior.
    pub fn initial(
        table: &RecordTable,
        functions: &[Function],
        sample_pairs: usize,
        link_only: bool,
        seed: u64,
    ) -> Result<Model, ModelError> {
        if functions.len() > MAX_COMPARISONS {
            return Err(ModelError::TooMany(functions.len()));
        }
        let bounds: Vec<Bound> = functions.iter().map(|f| Bound::new(*f, table)).collect();
        let sampled = sample_levels(table, &bounds, sample_pairs, link_only, seed);
        let comparisons = functions
            .iter()
            .zip(&bounds)
            .zip(&sampled)
            .map(|((f, _), counts)| {
                let labels = f.levels();
                let n = labels.len();
                let total: f64 = counts.iter().sum();
                let mut u: Vec<f64> = counts
                    .iter()
                    .map(|c| (c + 0.5) / (total + 0.5 * n as f64))
                    .collect();
                if let Some(exact_u) = exact_u_from_frequencies(table, *f) {
                    let rest: f64 = u[1..].iter().sum();
                    let scale = if rest > 0.0 {
                        (1.0 - exact_u) / rest
                    } else {
                        0.0
                    };
                    u[0] = exact_u;
                    for x in &mut u[1..] {
                        *x *= scale;
                    }
                }
                let mut m = initial_m(n);
                if f.is_calibrated() {
                    m = spirit_text::style::BAND_M.to_vec();
                    u = spirit_text::style::BAND_U.to_vec();
                }
                let shared = f.shared_by_household();
                let levels = labels
                    .iter()
                    .zip(u.iter().zip(&m))
                    .enumerate()
                    .map(|(i, (label, (u, m)))| LevelParams {
                        label: (*label).to_string(),
                        m: *m,
                        u: u.max(1e-12),
                        h: if shared { *m } else { u.max(1e-12) },
                        tf: i == 0 && tf_applies(*f),
                    })
                    .collect();
                ComparisonParams {
                    name: f.default_name(),
                    function: *f,
                    levels,
                    advisory: f.is_calibrated(),
                }
            })
            .collect();
        // A household class only makes sense where both a household's shared attributes
        // (surname, location) and a person's own ones (given name, date of birth) exist.
        let household = functions.contains(&Function::Surname)
            && (functions.contains(&Function::Address) || functions.contains(&Function::Area))
            && (functions.contains(&Function::GivenName)
                || functions.contains(&Function::DateOfBirth));
        Ok(Model {
            format: MODEL_FORMAT.into(),
            prior: 0.01,
            household_prior: if household { 1e-3 } else { 0.0 },
            comparisons,
            tf_min_frequency: 0.0,
            training: TrainingInfo {
                method: "unsupervised".into(),
                u_sample_pairs: sample_pairs as u64,
                ..TrainingInfo::default()
            },
        })
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

    /// Estimates m and the prior by EM on the histogram of agreement patterns, with u
    /// fixed at its population value.
    ///
    /// Candidate pairs are not random pairs: a pair proposed by a blocking rule agrees on
    /// that rule's keys whether or not it is a match. So the histogram is stratified by
    /// rule — each stratum holds the pairs of one rule (a sample of them when the rule
    /// proposes many), every rule has its own match share λᵣ, and the comparisons a rule
    /// blocks on (`covered[rule][comparison]`) are left out of that stratum's likelihood.
    /// m is shared by all strata, and each comparison learns its m from the strata that
    /// did not block on it.
    ///
    /// The prior — the probability that two random records match — is then the fixed
    /// point of λ = Σ P(match | pattern, λ) / `possible_pairs` over the candidate pairs
    /// (the rows flagged `first`, each standing for `rule_scale[rule]` pairs): pairs that
    /// no rule proposes are taken as non-matches. Returns the number of EM iterations.
    pub fn train_em(&mut self, data: TrainingData<'_>, max_iterations: usize) -> usize {
        let TrainingData {
            histogram,
            covered,
            rule_scale,
            possible_pairs,
        } = data;
        let nc = self.comparisons.len();
        let total: f64 = histogram.iter().map(|h| h.count as f64).sum();
        self.training.pattern_pairs = total as u64;
        self.training.distinct_patterns = histogram.len() as u64;
        if total == 0.0 {
            return 0;
        }
        let household = self.household_prior > 0.0;
        let rules = histogram
            .iter()
            .map(|h| usize::from(h.rule) + 1)
            .max()
            .unwrap_or(1);
        let is_covered = |r: usize, c: usize| {
            covered
                .get(r)
                .and_then(|v| v.get(c))
                .copied()
                .unwrap_or(false)
        };
        let levels: Vec<Vec<u8>> = histogram
            .iter()
            .map(|h| {
                let mut lv = unpack(h.pattern, nc);
                for (c, l) in lv.iter_mut().enumerate() {
                    // A calibrated comparison's parameters are fixed, and EM does not
                    // let it move anything else either.
                    if is_covered(usize::from(h.rule), c)
                        || self.comparisons[c].function.is_calibrated()
                    {
                        *l = 0;
                    }
                }
                lv
            })
            .collect();
        let mut stratum_total = vec![0.0; rules];
        for h in histogram {
            stratum_total[usize::from(h.rule)] += h.count as f64;
        }
        // Per stratum: share of matches and of household pairs.
        let mut lambda: Vec<f64> = vec![0.1; rules];
        let mut eta: Vec<f64> = vec![if household { 0.05 } else { 0.0 }; rules];
        let mut iterations = 0;
        let mut converged = false;
        let zeros = |c: &ComparisonParams| vec![0.0; c.levels.len()];
        for _ in 0..max_iterations {
            iterations += 1;
            let mut m_acc: Vec<Vec<f64>> = self.comparisons.iter().map(zeros).collect();
            let mut h_acc: Vec<Vec<f64>> = self.comparisons.iter().map(zeros).collect();
            let mut matched = vec![0.0; rules];
            let mut housed = vec![0.0; rules];
            // ln m, ln h, ln u per comparison level, once per iteration
            let logs: Vec<Vec<[f64; 3]>> = self
                .comparisons
                .iter()
                .map(|c| {
                    c.levels
                        .iter()
                        .map(|p| [p.m.ln(), p.h.max(1e-300).ln(), p.u.ln()])
                        .collect()
                })
                .collect();
            let priors: Vec<[f64; 3]> = (0..rules)
                .map(|r| {
                    let h = if household {
                        eta[r].ln()
                    } else {
                        f64::NEG_INFINITY
                    };
                    [lambda[r].ln(), h, (1.0 - lambda[r] - eta[r]).ln()]
                })
                .collect();
            for (hc, lv) in histogram.iter().zip(&levels) {
                let r = usize::from(hc.rule);
                let [mut log_m, mut log_h, mut log_u] = priors[r];
                for (lg, &l) in logs.iter().zip(lv) {
                    if l > 0 {
                        let [lm, lh, lu] = lg[l as usize - 1];
                        log_m += lm;
                        log_u += lu;
                        if household {
                            log_h += lh;
                        }
                    }
                }
                let top = log_m.max(log_u).max(log_h);
                let (em, eh, eu) = (
                    (log_m - top).exp(),
                    (log_h - top).exp(),
                    (log_u - top).exp(),
                );
                let z = em + eh + eu;
                let n = hc.count as f64;
                let (wm, wh) = (n * em / z, n * eh / z);
                matched[r] += wm;
                housed[r] += wh;
                for ((ma, ha), &l) in m_acc.iter_mut().zip(h_acc.iter_mut()).zip(lv) {
                    if l > 0 {
                        ma[l as usize - 1] += wm;
                        ha[l as usize - 1] += wh;
                    }
                }
            }
            let mut delta: f64 = 0.0;
            for r in 0..rules {
                if stratum_total[r] > 0.0 {
                    // Every class keeps some share, so no logarithm meets a zero.
                    let new = (matched[r] / stratum_total[r]).clamp(1e-9, 0.999);
                    delta = delta.max((new - lambda[r]).abs());
                    lambda[r] = new;
                    if household {
                        let room = (0.999 - lambda[r]).max(1e-9);
                        let new = (housed[r] / stratum_total[r]).clamp(1e-9, room);
                        delta = delta.max((new - eta[r]).abs());
                        eta[r] = new;
                    }
                }
            }
            for (c, (ma, ha)) in self.comparisons.iter_mut().zip(m_acc.iter().zip(&h_acc)) {
                let k = ma.len() as f64;
                let (sm, sh): (f64, f64) = (ma.iter().sum(), ha.iter().sum());
                for (p, (a, b)) in c.levels.iter_mut().zip(ma.iter().zip(ha)) {
                    if sm > 0.0 {
                        let m = (a + 1e-6) / (sm + 1e-6 * k);
                        delta = delta.max((m - p.m).abs());
                        p.m = m;
                    }
                    // A household is different people: what is a person's own (given
                    // name, birth date, e-mail) agrees between members no more than
                    // between strangers, so h stays u there and is learned only for
                    // what a household shares.
                    if household && sh > 0.0 && c.function.shared_by_household() {
                        let h = (b + 1e-6) / (sh + 1e-6 * k);
                        delta = delta.max((h - p.h).abs());
                        p.h = h;
                    }
                }
            }
            if delta < 1e-6 {
                converged = true;
                break;
            }
        }
        self.training.rule_match_share = lambda;
        self.training.rule_household_share = if household { eta } else { Vec::new() };

        // The priors: a fixed point over the candidate pairs, with every comparison.
        let candidates: Vec<(f64, f64, f64)> = histogram
            .iter()
            .filter(|h| h.first)
            .map(|h| {
                let scale = rule_scale.get(usize::from(h.rule)).copied().unwrap_or(1.0);
                let (mut lr_m, mut lr_h) = (0.0, if household { 0.0 } else { f64::NEG_INFINITY });
                for (c, l) in self.comparisons.iter().zip(unpack(h.pattern, nc)) {
                    // Advisory evidence does not count towards any decision.
                    if l > 0 && !c.advisory {
                        let p = &c.levels[l as usize - 1];
                        lr_m += (p.m / p.u).ln();
                        if household {
                            lr_h += (p.h / p.u).ln();
                        }
                    }
                }
                (h.count as f64 * scale, lr_m, lr_h)
            })
            .collect();
        let possible = possible_pairs.max(1.0);
        let (mut prior, mut hprior): (f64, f64) = (1e-4, if household { 1e-4 } else { 0.0 });
        for _ in 0..500 {
            let (lm, lh) = (
                (prior / (1.0 - prior - hprior)).ln(),
                (hprior / (1.0 - prior - hprior)).ln(),
            );
            let (mut em, mut eh) = (0.0, 0.0);
            for (n, lr_m, lr_h) in &candidates {
                let (a, b) = (
                    lm + lr_m,
                    if household {
                        lh + lr_h
                    } else {
                        f64::NEG_INFINITY
                    },
                );
                let top = a.max(b).max(0.0);
                let (pa, pb, pu) = ((a - top).exp(), (b - top).exp(), (-top).exp());
                let z = pa + pb + pu;
                em += n * pa / z;
                eh += n * pb / z;
            }
            let next = (em / possible).clamp(1e-15, 0.4);
            let hnext = if household {
                (eh / possible).clamp(1e-15, 0.4)
            } else {
                0.0
            };
            let done = (next - prior).abs() <= 1e-9 * prior
                && (hnext - hprior).abs() <= 1e-9 * hprior.max(1e-15);
            prior = next;
            hprior = hnext;
            if done {
                break;
            }
        }
        self.prior = prior;
        self.household_prior = hprior;
        self.training.expected_matches = prior * possible;
        self.training.em_iterations = iterations;
        self.training.em_converged = converged;
        iterations
    }

    /// Removes the matches' share from u. u is measured on random pairs, and a random
    /// pair is a match with probability `prior`: where duplicates are dense, the rarest
    /// agreement levels are seen mostly *because of* matches, and u would be overstated.
    /// With the trained m and prior, u ← (u − λ·m) / (1 − λ), bounded below at a
    /// thousandth of its measured value (at most ten bits of added weight).
    pub fn remove_matches_from_u(&mut self) {
        let (lambda, eta) = (self.prior, self.household_prior);
        for c in self
            .comparisons
            .iter_mut()
            .filter(|c| !c.function.is_calibrated())
        {
            for p in &mut c.levels {
                let corrected = (p.u - lambda * p.m - eta * p.h) / (1.0 - lambda - eta);
                p.u = corrected.max(p.u * 1e-3).max(1e-12);
            }
            let sum: f64 = c.levels.iter().map(|p| p.u).sum();
            let shared = c.function.shared_by_household();
            for p in &mut c.levels {
                p.u /= sum;
                if !shared && eta > 0.0 {
                    p.h = p.u;
                }
            }
        }
    }

    /// Unsupervised training: EM, then u cleared of the matches' share, then EM again
    /// with the cleaner u.
    pub fn train(&mut self, data: TrainingData<'_>, max_iterations: usize) {
        self.train_em(data, max_iterations);
        self.remove_matches_from_u();
        let first = self.training.em_iterations;
        self.train_em(data, max_iterations);
        self.training.em_iterations += first;
    }

    /// Fits m (and u, where enough non-matches are given) from labelled pairs, and sets
    /// the prior from the labels when both kinds are present.
    pub fn fit_labels(
        &mut self,
        table: &RecordTable,
        matches: &[(u32, u32)],
        non_matches: &[(u32, u32)],
    ) {
        let bounds: Vec<Bound> = self
            .functions()
            .iter()
            .map(|f| Bound::new(*f, table))
            .collect();
        let sizes: Vec<usize> = self.comparisons.iter().map(|c| c.levels.len()).collect();
        let count = |pairs: &[(u32, u32)]| -> Vec<Vec<f64>> {
            let mut acc: Vec<Vec<f64>> = sizes.iter().map(|&n| vec![0.0; n]).collect();
            for &(a, b) in pairs {
                for (acc, bound) in acc.iter_mut().zip(&bounds) {
                    let l = bound.level(table, a, b);
                    if l > 0 {
                        acc[l as usize - 1] += 1.0;
                    }
                }
            }
            acc
        };
        let smooth = |acc: &[f64]| -> Vec<f64> {
            let sum: f64 = acc.iter().sum();
            let k = acc.len() as f64;
            acc.iter().map(|a| (a + 0.5) / (sum + 0.5 * k)).collect()
        };
        if !matches.is_empty() {
            for (c, acc) in self
                .comparisons
                .iter_mut()
                .zip(count(matches))
                .filter(|(c, _)| !c.function.is_calibrated())
            {
                for (p, m) in c.levels.iter_mut().zip(smooth(&acc)) {
                    p.m = m;
                }
            }
        }
        if non_matches.len() >= 100 {
            for (c, acc) in self
                .comparisons
                .iter_mut()
                .zip(count(non_matches))
                .filter(|(c, _)| !c.function.is_calibrated())
            {
                for (p, u) in c.levels.iter_mut().zip(smooth(&acc)) {
                    p.u = u;
                }
            }
        }
        self.training.method = "labelled".into();
        self.training.labelled_matches = matches.len() as u64;
        self.training.labelled_non_matches = non_matches.len() as u64;
    }
}

fn tf_applies(f: Function) -> bool {
    !matches!(
        f,
        Function::Category(_) | Function::ImageHash | Function::AudioFingerprint | Function::Style
    )
}

fn exact_u_from_frequencies(table: &RecordTable, f: Function) -> Option<f64> {
    let kind = match f {
        Function::GivenName => spirit_model::AttrKind::GivenName,
        Function::Surname => spirit_model::AttrKind::Surname,
        Function::DateOfBirth => spirit_model::AttrKind::DateOfBirth,
        Function::Email => spirit_model::AttrKind::Email,
        Function::Identifier(k) | Function::Category(k) | Function::Exact(k) => k,
        Function::Phone
        | Function::Address
        | Function::Area
        | Function::ImageHash
        | Function::AudioFingerprint
        | Function::Style => {
            return None;
        }
    };
    let col = table.column(kind)?;
    (col.non_null > 1).then(|| col.agreement_probability().max(1e-12))
}

/// A geometric starting guess: most matches agree exactly, few fall to *else*.
fn initial_m(levels: usize) -> Vec<f64> {
    let mut m: Vec<f64> = (0..levels).map(|i| 0.5f64.powi(i as i32 + 1)).collect();
    if let Some(last) = m.last_mut() {
        *last = 0.02;
    }
    let s: f64 = m.iter().sum();
    m.iter().map(|x| x / s).collect()
}

/// Counts of each level among random pairs, per comparison (null pairs not counted).
/// Pairs are drawn in fixed-size chunks, each from its own seed, so the counts are the
/// same whatever the number of threads.
fn sample_levels(
    table: &RecordTable,
    bounds: &[Bound],
    pairs: usize,
    link_only: bool,
    seed: u64,
) -> Vec<Vec<f64>> {
    use rayon::prelude::*;
    const CHUNK: usize = 8192;
    let empty: Vec<Vec<f64>> = bounds
        .iter()
        .map(|b| vec![0.0; b.function.levels().len()])
        .collect();
    let n = u64::from(table.len);
    if n < 2 {
        return empty;
    }
    let chunks = pairs.div_ceil(CHUNK);
    (0..chunks)
        .into_par_iter()
        .map(|chunk| {
            let mut counts = empty.clone();
            let mut rng =
                SplitMix64(seed ^ 0x5851_f42d_4c95_7f2d ^ (chunk as u64).wrapping_mul(0x9e37_79b9));
            let want = CHUNK.min(pairs - chunk * CHUNK);
            let (mut drawn, mut attempts) = (0usize, 0usize);
            while drawn < want && attempts < want * 20 {
                attempts += 1;
                let a = (rng.next() % n) as u32;
                let b = (rng.next() % n) as u32;
                if a == b || (link_only && table.sources[a as usize] == table.sources[b as usize]) {
                    continue;
                }
                drawn += 1;
                for (acc, bound) in counts.iter_mut().zip(bounds) {
                    if bound.function.is_calibrated() {
                        continue; // its u is measured on ground truth, not sampled
                    }
                    let l = bound.level(table, a, b);
                    if l > 0 {
                        acc[l as usize - 1] += 1.0;
                    }
                }
            }
            counts
        })
        .reduce(
            || empty.clone(),
            |mut x, y| {
                for (xa, ya) in x.iter_mut().zip(&y) {
                    for (p, q) in xa.iter_mut().zip(ya) {
                        *p += q;
                    }
                }
                x
            },
        )
}

/// A small, fast, seedable generator (SplitMix64) for deterministic sampling.
#[derive(Clone, Debug)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A draw in `0..n` (multiply-shift: no modulo bias worth speaking of).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
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
mod tests {
    use super::*;
    use spirit_model::AttrKind;

    fn model_with(levels: &[usize], m: &[Vec<f64>], u: &[Vec<f64>], prior: f64) -> Model {
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

    /// Three classes: one person, one household (shared surname and address, own given
    /// name), unrelated. EM separates them, and a household-looking pair scores low
    /// although it agrees on two strong attributes.
    #[test]
    fn em_separates_households_from_people() {
        // comparisons: given name, date of birth (a person's own), surname, location,
        // phone (a household's); level 1 agree, level 2 else
        let m = [[0.9, 0.1], [0.9, 0.1], [0.9, 0.1], [0.8, 0.2], [0.7, 0.3]];
        let h = [
            [0.02, 0.98],
            [0.01, 0.99],
            [0.95, 0.05],
            [0.95, 0.05],
            [0.8, 0.2],
        ];
        let u = [
            [0.01, 0.99],
            [0.001, 0.999],
            [0.005, 0.995],
            [0.001, 0.999],
            [0.001, 0.999],
        ];
        let (nm, nh, nu) = (30_000.0, 20_000.0, 500_000.0);
        let mut hist = Vec::new();
        for bits in 0..32u32 {
            let lv: Vec<u8> = (0..5)
                .map(|i| if bits >> i & 1 == 1 { 1 } else { 2 })
                .collect();
            let p = |t: &[[f64; 2]; 5]| -> f64 {
                lv.iter()
                    .enumerate()
                    .map(|(i, &l)| t[i][l as usize - 1])
                    .product()
            };
            let count = (nm * p(&m) + nh * p(&h) + nu * p(&u)).round() as u64;
            hist.push(PatternCount {
                rule: 0,
                first: true,
                pattern: pack(&lv),
                count,
            });
        }
        let start = vec![vec![0.7, 0.3]; 5];
        let uv: Vec<Vec<f64>> = u.iter().map(|x| x.to_vec()).collect();
        let mut model = model_with(&[2; 5], &start, &uv, 0.01);
        model.household_prior = 0.01;
        let functions = [
            Function::GivenName,
            Function::DateOfBirth,
            Function::Surname,
            Function::Address,
            Function::Phone,
        ];
        for (i, c) in model.comparisons.iter_mut().enumerate() {
            c.function = functions[i];
            for (l, p) in c.levels.iter_mut().enumerate() {
                // start: households share what comparisons 2, 3 and 4 measure
                p.h = if i < 2 { u[i][l] } else { start[i][l] };
            }
        }
        let total = nm + nh + nu;
        model.train_em(
            TrainingData {
                histogram: &hist,
                covered: &[vec![false; 5]],
                rule_scale: &[1.0],
                possible_pairs: total,
            },
            5000,
        );
        for (c, want) in model.comparisons.iter().zip(&m) {
            assert!(
                (c.levels[0].m - want[0]).abs() < 0.03,
                "{}: m {}",
                c.name,
                c.levels[0].m
            );
        }
        assert!(
            (model.household_prior - nh / total).abs() < 0.01,
            "η {}",
            model.household_prior
        );
        let table = RecordTable::default();
        let scorer = Scorer::new(model, &table);
        let odds = |lv: [u8; 5]| -> f64 {
            let mut w = scorer.prior_weight;
            let mut hw = scorer.household_weight.unwrap();
            for (i, l) in lv.iter().enumerate() {
                w += scorer.partials[i][*l as usize];
                hw += scorer.household_partials[i][*l as usize];
            }
            w - (1.0 + hw.exp2()).log2()
        };
        assert!(
            odds([1, 1, 1, 1, 1]) > 5.0,
            "same person {}",
            odds([1, 1, 1, 1, 1])
        );
        assert!(
            odds([2, 2, 1, 1, 1]) < -1.0,
            "household {}",
            odds([2, 2, 1, 1, 1])
        );
    }

    /// EM on the exact expected histogram of a known two-class mixture recovers its
    /// prior and m-probabilities (u fixed at the truth).
    #[test]
    fn em_recovers_a_known_mixture() {
        let true_m = vec![
            vec![0.9, 0.07, 0.03],
            vec![0.8, 0.15, 0.05],
            vec![0.85, 0.15],
        ];
        let true_u = vec![
            vec![0.01, 0.04, 0.95],
            vec![0.02, 0.08, 0.90],
            vec![0.1, 0.9],
        ];
        let prior = 0.2;
        let total = 1_000_000.0;
        let mut hist = Vec::new();
        for a in 0..3u8 {
            for b in 0..3u8 {
                for c in 0..2u8 {
                    let lv = [a, b, c];
                    let pm: f64 = lv
                        .iter()
                        .enumerate()
                        .map(|(i, &l)| true_m[i][l as usize])
                        .product();
                    let pu: f64 = lv
                        .iter()
                        .enumerate()
                        .map(|(i, &l)| true_u[i][l as usize])
                        .product();
                    let count = (total * (prior * pm + (1.0 - prior) * pu)).round() as u64;
                    hist.push(PatternCount {
                        rule: 0,
                        first: true,
                        pattern: pack(&[a + 1, b + 1, c + 1]),
                        count,
                    });
                }
            }
        }
        let flat = vec![vec![0.5, 0.3, 0.2], vec![0.5, 0.3, 0.2], vec![0.6, 0.4]];
        let mut model = model_with(&[3, 3, 2], &flat, &true_u, 0.05);
        let n: f64 = hist.iter().map(|h| h.count as f64).sum();
        model.train_em(
            TrainingData {
                histogram: &hist,
                covered: &[vec![false; 3]],
                rule_scale: &[1.0],
                possible_pairs: n,
            },
            500,
        );
        let share = model.training.rule_match_share[0];
        assert!((share - prior).abs() < 0.005, "match share {share}");
        assert!((model.prior - prior).abs() < 0.005, "prior {}", model.prior);
        for (c, want) in model.comparisons.iter().zip(&true_m) {
            for (p, w) in c.levels.iter().zip(want) {
                assert!(
                    (p.m - w).abs() < 0.01,
                    "{} {}: m {} want {}",
                    c.name,
                    p.label,
                    p.m,
                    w
                );
            }
        }
        assert!(model.training.em_converged);
    }

    /// A stratum whose blocking rule forces agreement on comparison 0 must not teach
    /// EM that agreement on comparison 0 means a match.
    #[test]
    fn em_ignores_what_a_rule_blocked_on() {
        let true_m = [vec![0.9, 0.1], vec![0.8, 0.2], vec![0.85, 0.15]];
        let true_u = [vec![0.01, 0.99], vec![0.02, 0.98], vec![0.02, 0.98]];
        let mut hist = Vec::new();
        for (rule, share, n) in [(0u8, 0.2, 200_000.0), (1u8, 0.5, 100_000.0)] {
            for a in 0..2u8 {
                for b in 0..2u8 {
                    for c in 0..2u8 {
                        let lv = [a, b, c];
                        let p = |t: &[Vec<f64>; 3]| -> f64 {
                            lv.iter()
                                .enumerate()
                                .map(|(i, &l)| {
                                    // rule 1 blocks on comparison 0: every pair agrees on it
                                    if rule == 1 && i == 0 {
                                        if l == 0 { 1.0 } else { 0.0 }
                                    } else {
                                        t[i][l as usize]
                                    }
                                })
                                .product()
                        };
                        let count =
                            (n * (share * p(&true_m) + (1.0 - share) * p(&true_u))).round() as u64;
                        if count > 0 {
                            hist.push(PatternCount {
                                rule,
                                first: true,
                                pattern: pack(&[a + 1, b + 1, c + 1]),
                                count,
                            });
                        }
                    }
                }
            }
        }
        let flat = vec![vec![0.6, 0.4]; 3];
        let mut model = model_with(&[2, 2, 2], &flat, &true_u, 0.05);
        let covered = vec![vec![false; 3], vec![true, false, false]];
        let n: f64 = hist.iter().map(|h| h.count as f64).sum();
        model.train_em(
            TrainingData {
                histogram: &hist,
                covered: &covered,
                rule_scale: &[1.0, 1.0],
                possible_pairs: n,
            },
            1000,
        );
        let shares = &model.training.rule_match_share;
        assert!((shares[0] - 0.2).abs() < 0.01, "{shares:?}");
        assert!((shares[1] - 0.5).abs() < 0.01, "{shares:?}");
        for (c, want) in model.comparisons.iter().zip(&true_m) {
            assert!(
                (c.levels[0].m - want[0]).abs() < 0.01,
                "{}: m {} want {}",
                c.name,
                c.levels[0].m,
                want[0]
            );
        }
    }

    /// With strong evidence, the prior's fixed point counts the matches among all pairs.
    #[test]
    fn prior_counts_the_matches_among_all_pairs() {
        let k = 5;
        let (m, u) = ([0.95, 0.05], [0.001, 0.999]);
        let (matches, non_matches, possible) = (10_000.0, 1_000_000.0, 1e9);
        let mut hist = Vec::new();
        for bits in 0..(1u32 << k) {
            let lv: Vec<u8> = (0..k)
                .map(|i| if bits >> i & 1 == 1 { 1 } else { 2 })
                .collect();
            let p = |t: [f64; 2]| -> f64 { lv.iter().map(|&l| t[l as usize - 1]).product() };
            let count = (matches * p(m) + non_matches * p(u)).round() as u64;
            if count > 0 {
                hist.push(PatternCount {
                    rule: 0,
                    first: true,
                    pattern: pack(&lv),
                    count,
                });
            }
        }
        let mut model = model_with(&[2; 5], &vec![m.to_vec(); k], &vec![u.to_vec(); k], 0.01);
        model.train_em(
            TrainingData {
                histogram: &hist,
                covered: &[vec![false; k]],
                rule_scale: &[1.0],
                possible_pairs: possible,
            },
            200,
        );
        let got = model.training.expected_matches;
        assert!(
            (got - matches).abs() / matches < 0.05,
            "expected matches {got}"
        );
        assert!((model.prior - matches / possible).abs() / (matches / possible) < 0.05);
    }

    proptest::proptest! {
        /// Training never panics and leaves a valid model, whatever the counts: strata
        /// of only matches, empty strata, a single pattern, huge counts.
        #[test]
        fn training_leaves_a_valid_model(
            rows in proptest::collection::vec((0u8..4, proptest::bool::ANY, 1u8..4, 1u8..4, 1u8..3, 0u64..1_000_000), 0..20),
            household in proptest::bool::ANY,
        ) {
            let hist: Vec<PatternCount> = rows
                .iter()
                .map(|&(rule, first, a, b, c, count)| PatternCount { rule, first, pattern: pack(&[a, b, c]), count })
                .collect();
            let m = vec![vec![0.6, 0.3, 0.1], vec![0.6, 0.3, 0.1], vec![0.7, 0.3]];
            let u = vec![vec![0.01, 0.09, 0.9], vec![0.01, 0.09, 0.9], vec![0.1, 0.9]];
            let mut model = model_with(&[3, 3, 2], &m, &u, 0.01);
            if household {
                model.household_prior = 1e-3;
                for (i, c) in model.comparisons.iter_mut().enumerate() {
                    c.function = [Function::GivenName, Function::Surname, Function::Address][i];
                    c.levels = c.function.levels().iter().take(c.levels.len()).zip(&m[i]).zip(&u[i])
                        .map(|((l, m), u)| LevelParams { label: l.to_string(), m: *m, u: *u, h: *u, tf: false })
                        .collect();
                }
            }
            let covered = vec![vec![false, false, false], vec![true, false, false], vec![false, true, true], vec![true, true, true]];
            model.train(TrainingData { histogram: &hist, covered: &covered, rule_scale: &[1.0, 2.0, 1.0, 3.0], possible_pairs: 1e7 }, 50);
            proptest::prop_assert!(model.prior > 0.0 && model.prior < 1.0, "prior {}", model.prior);
            proptest::prop_assert!(model.household_prior >= 0.0 && model.prior + model.household_prior < 1.0);
            for c in &model.comparisons {
                for p in &c.levels {
                    proptest::prop_assert!(p.m > 0.0 && p.m <= 1.0 && p.u > 0.0 && p.u <= 1.0, "{:?}", p);
                    proptest::prop_assert!(p.h.is_finite());
                }
            }
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

    #[test]
    fn sampler_is_deterministic() {
        let mut a = SplitMix64(7);
        let mut b = SplitMix64(7);
        assert_eq!(
            (0..5).map(|_| a.next()).collect::<Vec<_>>(),
            (0..5).map(|_| b.next()).collect::<Vec<_>>()
        );
    }
}
