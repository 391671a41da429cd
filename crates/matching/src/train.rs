//! Training the Fellegi–Sunter model: m and the priors by EM on the histogram of
//! agreement patterns (stratified by blocking rule, with an optional household class),
//! u cleared of the matches' share, and supervised fitting from labelled pairs.

use crate::comparison::Bound;
use crate::params::{ComparisonParams, Model, unpack};
use crate::table::RecordTable;

/// The largest change of a parameter in EM's last step under which a run that used up
/// its iterations still counts as settled (convergence itself is 1e-6). EM on FEBRL stops
/// at about 1e-3 after 100 iterations with the clusters it reaches when run on to 1e-6;
/// a step of a hundredth is a model still moving.
const EM_UNSETTLED: f64 = 1e-2;

/// The range the priors are kept in.
const PRIOR_BOUNDS: (f64, f64) = (1e-15, 0.4);

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

impl Model {
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
        let mut last_change = f64::MAX;
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
            last_change = delta;
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
            let next = (em / possible).clamp(PRIOR_BOUNDS.0, PRIOR_BOUNDS.1);
            let hnext = if household {
                (eh / possible).clamp(PRIOR_BOUNDS.0, PRIOR_BOUNDS.1)
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
        self.training.em_last_change = last_change;
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
    /// with the cleaner u; then the result is checked ([`Model::check_training`]).
    pub fn train(&mut self, data: TrainingData<'_>, max_iterations: usize) {
        self.train_em(data, max_iterations);
        self.remove_matches_from_u();
        let first = self.training.em_iterations;
        self.train_em(data, max_iterations);
        self.training.em_iterations += first;
        self.unobserved_levels_take_cold_m(data);
        self.check_training();
    }

    /// A level that no training pair shows (outside the strata of the rules that block
    /// on its comparison) gives EM nothing to learn its m from: EM lets it decay towards
    /// nothing, which would weigh any later pair at that level as all but impossible for
    /// a match. Such a level takes its cold-start m ([`crate::cold`]), and the levels
    /// seen share the rest in the proportions EM gave them. Names that never agree
    /// exactly (one register in Hebrew letters, the other in Latin) keep EM's weight for
    /// the level they do meet at, and an exact agreement later still counts for a match.
    pub fn unobserved_levels_take_cold_m(&mut self, data: TrainingData<'_>) {
        let nc = self.comparisons.len();
        let mut seen: Vec<Vec<bool>> = self
            .comparisons
            .iter()
            .map(|c| vec![false; c.levels.len()])
            .collect();
        for h in data.histogram.iter().filter(|h| h.count > 0) {
            let covered = data.covered.get(usize::from(h.rule));
            for (c, l) in unpack(h.pattern, nc).into_iter().enumerate() {
                let blocked = covered.and_then(|v| v.get(c)).copied().unwrap_or(false);
                if l > 0
                    && !blocked
                    && let Some(s) = seen[c].get_mut(usize::from(l) - 1)
                {
                    *s = true;
                }
            }
        }
        for (c, seen) in self.comparisons.iter_mut().zip(&seen) {
            let observed = seen.iter().filter(|s| **s).count();
            if c.function.is_calibrated() || observed == 0 || observed == seen.len() {
                continue;
            }
            let cold = Model::cold_start(&[c.function]);
            let Some(cold) = cold.comparisons.first() else {
                continue;
            };
            if cold.levels.len() != c.levels.len() {
                continue;
            }
            let unseen_m: f64 = cold
                .levels
                .iter()
                .zip(seen)
                .filter(|(_, s)| !**s)
                .map(|(q, _)| q.m)
                .sum();
            let seen_m: f64 = c
                .levels
                .iter()
                .zip(seen)
                .filter(|(_, s)| **s)
                .map(|(p, _)| p.m)
                .sum();
            if seen_m <= 0.0 || unseen_m >= 1.0 {
                continue;
            }
            for ((p, q), s) in c.levels.iter_mut().zip(&cold.levels).zip(seen) {
                p.m = if *s {
                    p.m / seen_m * (1.0 - unseen_m)
                } else {
                    q.m
                };
            }
        }
    }

    /// Checks what EM found, so that training cannot fail silently: a comparison whose
    /// agreement weighs no more than its disagreement (EM swapped the classes on it, or
    /// found no signal where a signal must be) falls back to the cold-start m
    /// ([`crate::cold`]), keeping its measured u; EM that did not converge, a prior at
    /// its bound and training without any pair are reported. Every finding is kept in
    /// `TrainingInfo::warnings` (so in `model.json`) for the
    /// run summary to print.
    pub fn check_training(&mut self) {
        let mut warnings = Vec::new();
        if self.training.pattern_pairs == 0 {
            warnings.push(
                "no candidate pair to train on: m stays at its starting guess; check the \
                 blocking rules"
                    .to_string(),
            );
        } else if !self.training.em_converged && self.training.em_last_change > EM_UNSETTLED {
            warnings.push(format!(
                "EM had not settled when it stopped (its last step moved a parameter by \
                 {:.1e}): the model is its last iterate; raise resolve.em_max_iterations",
                self.training.em_last_change
            ));
        }
        let household = self.household_prior > 0.0;
        for c in self
            .comparisons
            .iter_mut()
            .filter(|c| !c.function.is_calibrated())
        {
            let (agree, disagree) = (c.partial(1), c.partial(c.levels.len() as u8));
            if agree > disagree {
                continue;
            }
            let cold = Model::cold_start(&[c.function]);
            let shared = c.function.shared_by_household();
            for (p, q) in c.levels.iter_mut().zip(&cold.comparisons[0].levels) {
                p.m = q.m;
                if household && shared {
                    p.h = q.m;
                }
            }
            warnings.push(format!(
                "comparison {}: EM made agreement weigh {agree:.1} bits and disagreement \
                 {disagree:.1}; degenerate, so its m falls back to the cold-start values",
                c.name
            ));
        }
        if self.training.pattern_pairs > 0
            && (self.prior >= PRIOR_BOUNDS.1 || self.prior <= PRIOR_BOUNDS.0)
        {
            warnings.push(format!(
                "the prior λ = {:.3e} is at its bound: EM found {} among the candidate pairs; \
                 check the blocking rules and the column mapping",
                self.prior,
                if self.prior >= PRIOR_BOUNDS.1 {
                    "almost every pair a match"
                } else {
                    "no match"
                }
            ));
        }
        self.training.warnings = warnings;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::comparison::Function;
    use crate::params::tests::model_with;
    use crate::params::{LevelParams, pack};
    use crate::score::Scorer;

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
    fn levels_no_training_pair_shows_take_the_cold_start_m() {
        let cold = Model::cold_start(&[Function::GivenName, Function::Surname]);
        let mut model = cold.clone();
        let given_levels = model.comparisons[0].levels.len() as u8;
        // EM's result when given names only ever met at `similar` (level 5) or not at
        // all: every other level's m decayed to nothing.
        for (i, p) in model.comparisons[0].levels.iter_mut().enumerate() {
            p.m = match i + 1 {
                5 => 0.6,
                l if l == usize::from(given_levels) => 0.4,
                _ => 1e-12,
            };
        }
        let hist = [
            PatternCount {
                rule: 0,
                first: true,
                pattern: pack(&[5, 1]),
                count: 40,
            },
            PatternCount {
                rule: 0,
                first: true,
                pattern: pack(&[given_levels, 2]),
                count: 60,
            },
        ];
        let covered = [vec![false, false]];
        let data = TrainingData {
            histogram: &hist,
            covered: &covered,
            rule_scale: &[1.0],
            possible_pairs: 1e4,
        };
        model.unobserved_levels_take_cold_m(data);
        let (given, cold_given) = (&model.comparisons[0].levels, &cold.comparisons[0].levels);
        assert_eq!(given[0].m, cold_given[0].m, "exact takes its cold-start m");
        let sum: f64 = given.iter().map(|p| p.m).sum();
        assert!((sum - 1.0).abs() < 1e-9, "m sums to {sum}");
        let (similar, other) = (given[4].m, given[usize::from(given_levels) - 1].m);
        assert!(
            (similar / other - 1.5).abs() < 1e-9,
            "EM's proportions kept"
        );
        // Surname: levels 1 and 2 seen, the others take their cold-start m.
        let surname = &model.comparisons[1].levels;
        assert_eq!(surname[3].m, cold.comparisons[1].levels[3].m);
    }

    /// A trained-looking model of given name and surname, checked.
    fn checked(edit: impl FnOnce(&mut Model)) -> Model {
        let mut model = Model::cold_start(&[Function::GivenName, Function::Surname]);
        model.training.pattern_pairs = 1000;
        model.training.em_converged = true;
        edit(&mut model);
        model.check_training();
        model
    }

    #[test]
    fn a_degenerate_comparison_falls_back_to_the_cold_start_m_and_says_so() {
        let sound = checked(|_| {});
        assert!(
            sound.training.warnings.is_empty(),
            "{:?}",
            sound.training.warnings
        );
        // EM swapped the classes on the surname: its matches almost never agree, so
        // agreement weighs less than disagreement.
        let model = checked(|m| {
            let levels = &mut m.comparisons[1].levels;
            let n = levels.len();
            for (i, p) in levels.iter_mut().enumerate() {
                p.m = if i + 1 == n { 0.996 } else { 0.001 };
            }
        });
        let cold = Model::cold_start(&[Function::Surname]);
        let got: Vec<f64> = model.comparisons[1].levels.iter().map(|p| p.m).collect();
        let want: Vec<f64> = cold.comparisons[0].levels.iter().map(|p| p.m).collect();
        assert_eq!(got, want);
        assert!(model.comparisons[1].partial(1) > model.comparisons[1].partial(5));
        assert_eq!(
            model.training.warnings.len(),
            1,
            "{:?}",
            model.training.warnings
        );
        assert!(model.training.warnings[0].starts_with("comparison surname:"));
        // The given name was sound and is left as it was.
        assert_eq!(model.comparisons[0], sound.comparisons[0]);
        // What EM reports about itself.
        let slow = checked(|m| {
            m.training.em_converged = false;
            m.training.em_last_change = 0.05;
        });
        assert!(slow.training.warnings[0].contains("had not settled"));
        let close = checked(|m| {
            m.training.em_converged = false;
            m.training.em_last_change = 1e-5;
        });
        assert!(close.training.warnings.is_empty());
        let empty = checked(|m| m.training.pattern_pairs = 0);
        assert!(empty.training.warnings[0].contains("no candidate pair"));
    }

    #[test]
    fn training_on_pairs_that_all_agree_reports_a_prior_at_its_bound() {
        let mut model = Model::cold_start(&[Function::GivenName, Function::Surname]);
        let hist = [PatternCount {
            rule: 0,
            first: true,
            pattern: pack(&[1, 1]),
            count: 1000,
        }];
        model.train(
            TrainingData {
                histogram: &hist,
                covered: &[vec![false; 2]],
                rule_scale: &[1.0],
                possible_pairs: 1000.0,
            },
            100,
        );
        assert!(
            model
                .training
                .warnings
                .iter()
                .any(|w| w.contains("at its bound") && w.contains("almost every pair")),
            "{:?}",
            model.training.warnings
        );
        // It is kept in model.json.
        let back = Model::from_json(&model.to_json()).unwrap();
        assert_eq!(back.training.warnings, model.training.warnings);
    }
}
