//! Which blocking rules a run keeps, from what training saw of each.
//!
//! Training counts the agreement patterns of every rule's pairs (of a sample of its
//! blocks when it proposes many), flagged by whether the rule is the first to propose
//! each pair ([`PatternCount`]). Under the trained model each pattern has a match
//! probability, so each rule has an estimated number of pairs it adds to the earlier
//! rules' and of true matches among them ([`rule_yields`]). When the rules together
//! propose more candidate pairs than the run's budget, the rules whose added pairs are
//! almost never matches are left out, lowest yield first, until the rest fit the budget
//! or no rule that poor is left ([`rules_to_drop`]). Rules that find matches are kept
//! whatever they cost.

use crate::model::PatternCount;
use crate::params::Model;
use spirit_model::weight_to_probability;

/// What training saw of one rule's pairs, scaled from its sample to all its blocks.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct RuleYield {
    /// Candidate pairs the rule adds to the earlier rules'.
    pub pairs: f64,
    /// Expected true matches among them.
    pub matches: f64,
}

impl RuleYield {
    /// Expected matches per pair the rule adds (0 when it adds none).
    pub fn rate(&self) -> f64 {
        if self.pairs > 0.0 {
            self.matches / self.pairs
        } else {
            0.0
        }
    }
}

/// Each of `rules` rules' added pairs and expected matches: the histogram's rows of
/// pairs the rule is the first to propose, times the rule's sampling scale, weighted by
/// the match probability of their pattern under `model`.
pub fn rule_yields(
    model: &Model,
    histogram: &[PatternCount],
    rule_scale: &[f64],
    rules: usize,
) -> Vec<RuleYield> {
    let mut out = vec![RuleYield::default(); rules];
    for h in histogram.iter().filter(|h| h.first) {
        let r = usize::from(h.rule);
        let Some(y) = out.get_mut(r) else { continue };
        let n = h.count as f64 * rule_scale.get(r).copied().unwrap_or(1.0);
        y.pairs += n;
        y.matches += n * weight_to_probability(model.pattern_weight(h.pattern));
    }
    out
}

/// The rules to leave out (ascending indices) so that the others propose at most
/// `budget` pairs: while the kept rules' pairs exceed it, the kept rule with the
/// lowest rate of expected matches per pair is dropped if that rate is below
/// `min_yield`. Only rules `droppable` says may go are considered.
pub fn rules_to_drop(
    yields: &[RuleYield],
    budget: f64,
    min_yield: f64,
    droppable: impl Fn(usize) -> bool,
) -> Vec<usize> {
    let mut total: f64 = yields.iter().map(|y| y.pairs).sum();
    let mut order: Vec<usize> = (0..yields.len())
        .filter(|&r| droppable(r) && yields[r].rate() < min_yield)
        .collect();
    order.sort_by(|&a, &b| {
        yields[a]
            .rate()
            .total_cmp(&yields[b].rate())
            .then(a.cmp(&b))
    });
    let mut dropped = Vec::new();
    for r in order {
        if total <= budget {
            break;
        }
        total -= yields[r].pairs;
        dropped.push(r);
    }
    dropped.sort_unstable();
    dropped
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn y(pairs: f64, matches: f64) -> RuleYield {
        RuleYield { pairs, matches }
    }

    #[test]
    fn poor_rules_go_first_and_only_while_over_budget() {
        let yields = [
            y(1000.0, 500.0), // 50%
            y(3000.0, 3.0),   // 0.1%
            y(2000.0, 0.2),   // 0.01%
            y(500.0, 40.0),   // 8%
        ];
        // Within budget: nothing goes.
        assert!(rules_to_drop(&yields, 6500.0, 0.01, |_| true).is_empty());
        // Just over: the poorest rule alone.
        assert_eq!(rules_to_drop(&yields, 6000.0, 0.01, |_| true), vec![2]);
        // Far over: every rule under the floor, never one above it.
        assert_eq!(rules_to_drop(&yields, 100.0, 0.01, |_| true), vec![1, 2]);
        // A rule that may not go stays.
        assert_eq!(rules_to_drop(&yields, 100.0, 0.01, |r| r != 2), vec![1]);
    }

    proptest! {
        #[test]
        fn dropping_never_takes_a_rule_above_the_floor_nor_stops_over_budget_with_a_poor_rule_left(
            rules in proptest::collection::vec((0.0f64..1e6, 0.0f64..1.0), 0..12),
            budget in 0.0f64..5e6,
            floor in 0.0f64..0.5,
        ) {
            let yields: Vec<RuleYield> = rules.iter().map(|&(p, share)| y(p, p * share)).collect();
            let dropped = rules_to_drop(&yields, budget, floor, |_| true);
            for &r in &dropped {
                prop_assert!(yields[r].rate() < floor);
            }
            let kept: f64 = (0..yields.len())
                .filter(|r| !dropped.contains(r))
                .map(|r| yields[r].pairs)
                .sum();
            if kept > budget {
                // Over budget only when no poor rule is left to drop.
                for r in (0..yields.len()).filter(|r| !dropped.contains(r)) {
                    prop_assert!(yields[r].rate() >= floor);
                }
            }
            // Every rule dropped was needed: without the last one dropped (the richest),
            // the rest would still be over budget.
            if let Some(&last) = dropped
                .iter()
                .max_by(|&&a, &&b| yields[a].rate().total_cmp(&yields[b].rate()).then(a.cmp(&b)))
            {
                prop_assert!(kept + yields[last].pairs > budget);
            }
        }
    }
}
