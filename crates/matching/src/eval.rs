//! Quality of a clustering against ground truth: pairwise, B-cubed and exact-cluster
//! precision, recall and F1, and the recall of blocking (candidate generation).
//!
//! Records are dense indices `0..n`, each with a source label. Predicted and true clusters
//! are labels per record (any `u32` values; only equality matters), or, for truth, a list
//! of matching pairs. Pair counts come from contingency tables, never from enumerating
//! pairs, so a million records evaluate in well under a second.
//!
//! ```
//! use spirit_matching::eval::{evaluate_clusters, Scope};
//!
//! let sources = [0, 0, 0, 0];
//! let predicted = [0, 0, 0, 1];
//! let truth = [5, 5, 7, 7];
//! let report = evaluate_clusters(&sources, &predicted, &truth, Scope::AllPairs);
//! // Predicted pairs {01, 02, 12}; true pairs {01, 23}; one in common.
//! assert_eq!(report.pairwise.true_positives, 1);
//! assert_eq!(report.pairwise.predicted, 3);
//! assert_eq!(report.pairwise.actual, 2);
//! ```

use std::fmt;
use std::hash::Hash;
use std::str::FromStr;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::cluster::{ScoredPair, connected_components};

/// Precision, recall and F1, with the counts they come from.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Prf {
    /// `true_positives / predicted`; 1.0 when nothing was predicted.
    pub precision: f64,
    /// `true_positives / actual`; 1.0 when there was nothing to find.
    pub recall: f64,
    /// Harmonic mean of precision and recall; 0.0 when both are 0.
    pub f1: f64,
    /// Predicted items that are true.
    pub true_positives: u64,
    /// Items predicted.
    pub predicted: u64,
    /// Items in the truth.
    pub actual: u64,
}

impl Prf {
    /// Precision, recall and F1 from counts (see the field docs for the empty cases).
    pub fn from_counts(tp: u64, predicted: u64, actual: u64) -> Prf {
        let ratio = |num: u64, den: u64| {
            if den == 0 {
                1.0
            } else {
                num as f64 / den as f64
            }
        };
        let (precision, recall) = (ratio(tp, predicted), ratio(tp, actual));
        Prf {
            precision,
            recall,
            f1: harmonic(precision, recall),
            true_positives: tp,
            predicted,
            actual,
        }
    }

    /// Precision and recall that are averages rather than ratios of counts (B-cubed): the
    /// count fields are 0.
    pub fn from_rates(precision: f64, recall: f64) -> Prf {
        Prf {
            precision,
            recall,
            f1: harmonic(precision, recall),
            true_positives: 0,
            predicted: 0,
            actual: 0,
        }
    }
}

fn harmonic(p: f64, r: f64) -> f64 {
    if p + r > 0.0 {
        2.0 * p * r / (p + r)
    } else {
        0.0
    }
}

/// Which record pairs count in pairwise and blocking measures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Every unordered pair of distinct records (deduplication).
    #[default]
    AllPairs,
    /// Only pairs of records from different sources (linkage between sources).
    CrossSource,
}

impl Scope {
    /// The name used in reports and on the command line: `all_pairs` or `cross_source`.
    pub fn name(self) -> &'static str {
        match self {
            Scope::AllPairs => "all_pairs",
            Scope::CrossSource => "cross_source",
        }
    }

    fn counts(self, sources: &[u32], a: u32, b: u32) -> bool {
        match self {
            Scope::AllPairs => true,
            Scope::CrossSource => sources[a as usize] != sources[b as usize],
        }
    }
}

impl FromStr for Scope {
    type Err = String;

    /// Accepts `all`, `all_pairs`, `all-pairs`, `dedupe`, `cross`, `cross_source`,
    /// `cross-source` and `link`, in any case.
    fn from_str(s: &str) -> Result<Scope, String> {
        match s.to_ascii_lowercase().replace('-', "_").as_str() {
            "all" | "all_pairs" | "dedupe" => Ok(Scope::AllPairs),
            "cross" | "cross_source" | "link" => Ok(Scope::CrossSource),
            _ => Err(format!(
                "unknown scope `{s}`: expected all_pairs or cross_source"
            )),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Every quality measure of one clustering against one truth.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EvalReport {
    /// Records evaluated.
    pub records: u64,
    /// Distinct predicted clusters (singletons included).
    pub predicted_clusters: u64,
    /// Distinct true clusters (singletons included).
    pub true_clusters: u64,
    /// Over unordered record pairs in scope that share a cluster.
    pub pairwise: Prf,
    /// B-cubed: per-record precision and recall averaged over all records (whatever the
    /// scope); the count fields are 0.
    pub bcubed: Prf,
    /// Over whole clusters (singletons included, whatever the scope): a predicted cluster
    /// is a true positive when a true cluster has exactly the same records.
    pub cluster_exact: Prf,
    /// Blocking measured on candidate pairs when they are known: true pairs among the
    /// candidates, candidate pairs, true pairs (all in scope).
    pub blocking_recall: Option<Prf>,
    /// Which pairs the pairwise and blocking measures count.
    pub scope: Scope,
}

/// Evaluates predicted cluster labels against true cluster labels.
///
/// `sources[i]`, `predicted[i]` and `truth[i]` describe record `i`; only equality of labels
/// matters. Pairwise counts use contingency tables: in [`Scope::AllPairs`] a cluster of
/// `k` records holds `k(k-1)/2` pairs; in [`Scope::CrossSource`] it holds that minus the
/// same-source pairs `Σ_s k_s(k_s-1)/2`. B-cubed and exact-cluster measures use all records.
/// `blocking_recall` is `None`.
///
/// # Panics
/// When the three slices differ in length (a programming error).
pub fn evaluate_clusters(
    sources: &[u32],
    predicted: &[u32],
    truth: &[u32],
    scope: Scope,
) -> EvalReport {
    assert!(
        sources.len() == predicted.len() && predicted.len() == truth.len(),
        "sources, predicted and truth must have one entry per record"
    );
    let tables = Tables::new(predicted, truth);
    let tp = scoped_pair_count(
        &tables.cells,
        scope,
        predicted
            .iter()
            .zip(truth)
            .zip(sources)
            .map(|((&p, &t), &s)| ((p, t), s)),
    );
    let pairwise = Prf::from_counts(
        tp,
        scoped_pair_count(
            &tables.predicted,
            scope,
            predicted.iter().copied().zip(sources.iter().copied()),
        ),
        scoped_pair_count(
            &tables.truth,
            scope,
            truth.iter().copied().zip(sources.iter().copied()),
        ),
    );
    tables.report(pairwise, scope)
}

/// Evaluates predicted cluster labels against true matching pairs.
///
/// Truth pairs need not be transitive: they are deduplicated (unordered, `a != b`) and
/// filtered by scope. Pairwise: true positives are truth pairs whose records share a
/// predicted cluster, `predicted` counts the pairs inside predicted clusters (by scope,
/// as in [`evaluate_clusters`]), `actual` the distinct truth pairs in scope. B-cubed and
/// exact-cluster measures take the transitive closure of the truth pairs as true clusters.
/// A pair naming an index `>= predicted.len()` is a programming error (debug assertion;
/// skipped in release builds). `blocking_recall` is `None`.
///
/// # Panics
/// When `sources` and `predicted` differ in length (a programming error).
pub fn evaluate_pairs(
    sources: &[u32],
    predicted: &[u32],
    truth_pairs: &[(u32, u32)],
    scope: Scope,
) -> EvalReport {
    assert_eq!(sources.len(), predicted.len(), "one source per record");
    let n = predicted.len();
    let truth = closure(n, truth_pairs);
    let pairs = distinct_pairs(n, truth_pairs, sources, scope);
    let tp = pairs
        .iter()
        .filter(|&&(a, b)| predicted[a as usize] == predicted[b as usize])
        .count() as u64;
    let tables = Tables::new(predicted, &truth);
    let predicted_pairs = scoped_pair_count(
        &tables.predicted,
        scope,
        predicted.iter().copied().zip(sources.iter().copied()),
    );
    let pairwise = Prf::from_counts(tp, predicted_pairs, pairs.len() as u64);
    tables.report(pairwise, scope)
}

/// Blocking quality against true cluster labels: `true_positives` are distinct candidate
/// pairs (unordered, `a != b`, in scope) whose records share a true cluster, `predicted`
/// the distinct candidate pairs in scope, `actual` the true pairs in scope. Recall is the
/// share of true pairs blocking proposed (pair completeness), precision the share of
/// candidates that are true (pair quality).
///
/// # Panics
/// When `truth` and `sources` differ in length (a programming error).
pub fn blocking_recall_clusters(
    truth: &[u32],
    sources: &[u32],
    candidates: &[(u32, u32)],
    scope: Scope,
) -> Prf {
    assert_eq!(truth.len(), sources.len(), "one source per record");
    let candidates = distinct_pairs(truth.len(), candidates, sources, scope);
    let tp = candidates
        .iter()
        .filter(|&&(a, b)| truth[a as usize] == truth[b as usize])
        .count() as u64;
    let sizes = group_sizes(truth.iter().copied());
    let actual = scoped_pair_count(
        &sizes,
        scope,
        truth.iter().copied().zip(sources.iter().copied()),
    );
    Prf::from_counts(tp, candidates.len() as u64, actual)
}

/// Blocking quality against true matching pairs: as [`blocking_recall_clusters`], with
/// `actual` the distinct truth pairs in scope and `true_positives` the candidate pairs
/// among them. Indices must be `< sources.len()` (debug assertion; skipped otherwise).
pub fn blocking_recall_pairs(
    truth_pairs: &[(u32, u32)],
    sources: &[u32],
    candidates: &[(u32, u32)],
    scope: Scope,
) -> Prf {
    let n = sources.len();
    let truth = distinct_pairs(n, truth_pairs, sources, scope);
    let candidates = distinct_pairs(n, candidates, sources, scope);
    // Both are sorted: count the intersection by merging.
    let (mut i, mut j, mut tp) = (0, 0, 0u64);
    while i < truth.len() && j < candidates.len() {
        match truth[i].cmp(&candidates[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                tp += 1;
                i += 1;
                j += 1;
            }
        }
    }
    Prf::from_counts(tp, candidates.len() as u64, truth.len() as u64)
}

/// Cluster sizes and the contingency table of a predicted and a true labelling.
struct Tables {
    records: u64,
    predicted: FxHashMap<u32, u64>,
    truth: FxHashMap<u32, u64>,
    cells: FxHashMap<(u32, u32), u64>,
}

impl Tables {
    fn new(predicted: &[u32], truth: &[u32]) -> Tables {
        Tables {
            records: predicted.len() as u64,
            predicted: group_sizes(predicted.iter().copied()),
            truth: group_sizes(truth.iter().copied()),
            cells: group_sizes(predicted.iter().copied().zip(truth.iter().copied())),
        }
    }

    /// The report with B-cubed and exact-cluster measures from the tables.
    fn report(&self, pairwise: Prf, scope: Scope) -> EvalReport {
        let (mut precision_sum, mut recall_sum, mut exact) = (0.0, 0.0, 0u64);
        for (&(p, t), &k) in &self.cells {
            let (size_p, size_t) = (self.predicted[&p], self.truth[&t]);
            let k_f = k as f64;
            precision_sum += k_f * k_f / size_p as f64;
            recall_sum += k_f * k_f / size_t as f64;
            if k == size_p && k == size_t {
                exact += 1;
            }
        }
        let bcubed = if self.records == 0 {
            Prf::from_rates(1.0, 1.0)
        } else {
            let n = self.records as f64;
            Prf::from_rates(precision_sum / n, recall_sum / n)
        };
        EvalReport {
            records: self.records,
            predicted_clusters: self.predicted.len() as u64,
            true_clusters: self.truth.len() as u64,
            pairwise,
            bcubed,
            cluster_exact: Prf::from_counts(
                exact,
                self.predicted.len() as u64,
                self.truth.len() as u64,
            ),
            blocking_recall: None,
            scope,
        }
    }
}

/// Number of records per key.
fn group_sizes<K: Hash + Eq>(keys: impl Iterator<Item = K>) -> FxHashMap<K, u64> {
    let mut sizes = FxHashMap::default();
    for key in keys {
        *sizes.entry(key).or_insert(0) += 1;
    }
    sizes
}

fn choose2(k: u64) -> u64 {
    k * k.saturating_sub(1) / 2
}

/// Pairs within the groups of `sizes`; in cross-source scope minus the pairs within each
/// (group, source), whose keys `with_source` yields per record.
fn scoped_pair_count<K: Hash + Eq>(
    sizes: &FxHashMap<K, u64>,
    scope: Scope,
    with_source: impl Iterator<Item = (K, u32)>,
) -> u64 {
    let all: u64 = sizes.values().map(|&k| choose2(k)).sum();
    match scope {
        Scope::AllPairs => all,
        Scope::CrossSource => {
            let same_source: u64 = group_sizes(with_source).values().map(|&k| choose2(k)).sum();
            all - same_source
        }
    }
}

/// Distinct unordered pairs `(min, max)` with `a != b`, in range and in scope, sorted.
fn distinct_pairs(
    n: usize,
    pairs: &[(u32, u32)],
    sources: &[u32],
    scope: Scope,
) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = pairs
        .iter()
        .filter(|&&(a, b)| {
            let ok = (a as usize) < n && (b as usize) < n;
            debug_assert!(ok, "record index out of range: ({a}, {b}) with n = {n}");
            ok && a != b && scope.counts(sources, a, b)
        })
        .map(|&(a, b)| (a.min(b), a.max(b)))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Cluster labels of the transitive closure of `pairs` over `n` records.
fn closure(n: usize, pairs: &[(u32, u32)]) -> Vec<u32> {
    let edges: Vec<ScoredPair> = pairs
        .iter()
        .filter(|&&(a, b)| (a as usize) < n && (b as usize) < n)
        .map(|&(left, right)| ScoredPair {
            left,
            right,
            weight: 0.0,
        })
        .collect();
    connected_components(n, &edges, 0.0)
}

impl fmt::Display for EvalReport {
    /// A small aligned table of precision, recall and F1 per measure, then the counts.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "records {}, predicted clusters {}, true clusters {}, scope {}",
            self.records, self.predicted_clusters, self.true_clusters, self.scope
        )?;
        writeln!(
            f,
            "{:<14} {:>9} {:>9} {:>9}",
            "measure", "precision", "recall", "F1"
        )?;
        let mut rows = vec![
            ("pairwise", self.pairwise),
            ("b-cubed", self.bcubed),
            ("cluster exact", self.cluster_exact),
        ];
        if let Some(blocking) = self.blocking_recall {
            rows.push(("blocking", blocking));
        }
        for (name, m) in rows {
            writeln!(
                f,
                "{name:<14} {:>9.4} {:>9.4} {:>9.4}",
                m.precision, m.recall, m.f1
            )?;
        }
        let p = &self.pairwise;
        write!(
            f,
            "pairs: {} true positives, {} predicted, {} true",
            p.true_positives, p.predicted, p.actual
        )?;
        let c = &self.cluster_exact;
        write!(
            f,
            "\nclusters: {} predicted exactly, {} predicted, {} true",
            c.true_positives, c.predicted, c.actual
        )?;
        if let Some(b) = &self.blocking_recall {
            write!(
                f,
                "\ncandidates: {} true pairs among {} candidate pairs, of {} true pairs",
                b.true_positives, b.predicted, b.actual
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const EPS: f64 = 1e-12;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < EPS
    }

    #[test]
    fn prf_from_counts() {
        let m = Prf::from_counts(3, 4, 6);
        assert!(close(m.precision, 0.75) && close(m.recall, 0.5) && close(m.f1, 0.6));
        let empty = Prf::from_counts(0, 0, 0);
        assert_eq!((empty.precision, empty.recall, empty.f1), (1.0, 1.0, 1.0));
        let none = Prf::from_counts(0, 5, 5);
        assert_eq!((none.precision, none.recall, none.f1), (0.0, 0.0, 0.0));
    }

    /// Six records: predicted {0,1,2} {3,4} {5}; truth {0,1} {2,3,4} {5}.
    fn small() -> ([u32; 6], [u32; 6], [u32; 6]) {
        ([0, 0, 1, 1, 0, 1], [0, 0, 0, 1, 1, 2], [9, 9, 8, 8, 8, 7])
    }

    #[test]
    fn pairwise_all_pairs_by_hand() {
        let (sources, predicted, truth) = small();
        let r = evaluate_clusters(&sources, &predicted, &truth, Scope::AllPairs);
        // Predicted pairs: 01 02 12 34 = 4. True: 01 23 24 34 = 4. Common: 01 34 = 2.
        assert_eq!(
            (
                r.pairwise.true_positives,
                r.pairwise.predicted,
                r.pairwise.actual
            ),
            (2, 4, 4)
        );
        assert!(close(r.pairwise.precision, 0.5) && close(r.pairwise.recall, 0.5));
        assert_eq!(
            (r.records, r.predicted_clusters, r.true_clusters),
            (6, 3, 3)
        );
    }

    #[test]
    fn pairwise_cross_source_by_hand() {
        let (sources, predicted, truth) = small();
        // Sources: 0 1 4 in source 0; 2 3 5 in source 1.
        let r = evaluate_clusters(&sources, &predicted, &truth, Scope::CrossSource);
        // Predicted cross pairs: 02 12 34 = 3 (01 is same-source). True cross pairs:
        // 23? both source 1, no; 24 yes; 34 yes; 01 no = 2. Common: 34 = 1.
        assert_eq!(
            (
                r.pairwise.true_positives,
                r.pairwise.predicted,
                r.pairwise.actual
            ),
            (1, 3, 2)
        );
        assert!(close(r.pairwise.precision, 1.0 / 3.0) && close(r.pairwise.recall, 0.5));
    }

    #[test]
    fn bcubed_by_hand() {
        let (sources, predicted, truth) = small();
        let r = evaluate_clusters(&sources, &predicted, &truth, Scope::AllPairs);
        // Per-record precision |P∩T|/|P|: 0: 2/3, 1: 2/3, 2: 1/3, 3: 1, 4: 1, 5: 1 → 14/3 / 6.
        // Per-record recall |P∩T|/|T|: 0: 1, 1: 1, 2: 1/3, 3: 2/3, 4: 2/3, 5: 1 → 14/3 / 6.
        let expected = 14.0 / 18.0;
        assert!(close(r.bcubed.precision, expected) && close(r.bcubed.recall, expected));
        assert!(close(r.bcubed.f1, expected));
        assert_eq!(r.bcubed.predicted, 0);
        // Same in cross-source scope: B-cubed ignores scope.
        let cross = evaluate_clusters(&sources, &predicted, &truth, Scope::CrossSource);
        assert_eq!(cross.bcubed, r.bcubed);
    }

    #[test]
    fn cluster_exact_by_hand() {
        let (sources, predicted, truth) = small();
        let r = evaluate_clusters(&sources, &predicted, &truth, Scope::AllPairs);
        // Only {5} is predicted exactly: 1 of 3 predicted, 1 of 3 true.
        assert_eq!(
            (
                r.cluster_exact.true_positives,
                r.cluster_exact.predicted,
                r.cluster_exact.actual
            ),
            (1, 3, 3)
        );
        assert!(close(r.cluster_exact.precision, 1.0 / 3.0));
    }

    #[test]
    fn evaluate_pairs_by_hand() {
        let (sources, predicted, _) = small();
        // Non-transitive truth with a duplicate, a reversed duplicate and a self-pair.
        let truth_pairs = [(0, 1), (1, 0), (3, 2), (2, 4), (0, 1), (5, 5)];
        let r = evaluate_pairs(&sources, &predicted, &truth_pairs, Scope::AllPairs);
        // Distinct truth pairs: 01 23 24 = 3; predicted pairs 4; common: 01 = 1.
        assert_eq!(
            (
                r.pairwise.true_positives,
                r.pairwise.predicted,
                r.pairwise.actual
            ),
            (1, 4, 3)
        );
        // The closure {0,1} {2,3,4} {5} equals the cluster truth of `small`.
        let (_, _, truth) = small();
        let clusters = evaluate_clusters(&sources, &predicted, &truth, Scope::AllPairs);
        assert_eq!(r.bcubed, clusters.bcubed);
        assert_eq!(r.cluster_exact, clusters.cluster_exact);
        assert_eq!(r.true_clusters, 3);
        let cross = evaluate_pairs(&sources, &predicted, &truth_pairs, Scope::CrossSource);
        // Cross truth pairs: 24 only (01 and 23 are same-source); not predicted together.
        assert_eq!(
            (
                cross.pairwise.true_positives,
                cross.pairwise.predicted,
                cross.pairwise.actual
            ),
            (0, 3, 1)
        );
    }

    #[test]
    fn blocking_by_hand() {
        let (sources, _, truth) = small();
        let candidates = [(1, 0), (0, 1), (2, 4), (0, 5), (3, 3)];
        let b = blocking_recall_clusters(&truth, &sources, &candidates, Scope::AllPairs);
        // Candidates 01 24 05 = 3; true among them 01 24 = 2; true pairs 4.
        assert_eq!((b.true_positives, b.predicted, b.actual), (2, 3, 4));
        let b = blocking_recall_pairs(
            &[(0, 1), (2, 3), (4, 2)],
            &sources,
            &candidates,
            Scope::AllPairs,
        );
        assert_eq!((b.true_positives, b.predicted, b.actual), (2, 3, 3));
        let b = blocking_recall_clusters(&truth, &sources, &candidates, Scope::CrossSource);
        // Cross candidates: 24 05 = 2; true among them: 24; true cross pairs 24 34 = 2.
        assert_eq!((b.true_positives, b.predicted, b.actual), (1, 2, 2));
    }

    #[test]
    fn empty_input() {
        let r = evaluate_clusters(&[], &[], &[], Scope::AllPairs);
        assert_eq!(r.records, 0);
        assert_eq!(r.pairwise.f1, 1.0);
        assert_eq!(r.bcubed.f1, 1.0);
    }

    #[test]
    fn display_is_a_table() {
        let (sources, predicted, truth) = small();
        let mut r = evaluate_clusters(&sources, &predicted, &truth, Scope::AllPairs);
        r.blocking_recall = Some(Prf::from_counts(2, 3, 4));
        let text = r.to_string();
        assert!(
            text.contains("pairwise          0.5000    0.5000    0.5000"),
            "{text}"
        );
        assert!(
            text.contains("blocking          0.6667    0.5000    0.5714"),
            "{text}"
        );
        assert!(
            text.contains("pairs: 2 true positives, 4 predicted, 4 true"),
            "{text}"
        );
    }

    #[test]
    fn scope_parses() {
        assert_eq!("cross-source".parse::<Scope>(), Ok(Scope::CrossSource));
        assert_eq!("ALL_PAIRS".parse::<Scope>(), Ok(Scope::AllPairs));
        assert!("some".parse::<Scope>().is_err());
        assert_eq!(
            serde_json::to_string(&Scope::CrossSource).unwrap(),
            "\"cross_source\""
        );
    }

    fn brute_force(
        sources: &[u32],
        predicted: &[u32],
        truth: &[u32],
        scope: Scope,
    ) -> (u64, u64, u64) {
        let (mut tp, mut pred, mut actual) = (0, 0, 0);
        for a in 0..predicted.len() {
            for b in a + 1..predicted.len() {
                if scope == Scope::CrossSource && sources[a] == sources[b] {
                    continue;
                }
                let p = predicted[a] == predicted[b];
                let t = truth[a] == truth[b];
                pred += u64::from(p);
                actual += u64::from(t);
                tp += u64::from(p && t);
            }
        }
        (tp, pred, actual)
    }

    fn labelling() -> impl Strategy<Value = (Vec<u32>, Vec<u32>, Vec<u32>)> {
        (0usize..30).prop_flat_map(|n| {
            (
                prop::collection::vec(0u32..3, n),
                prop::collection::vec(0u32..6, n),
                prop::collection::vec(0u32..6, n),
            )
        })
    }

    proptest! {
        #[test]
        fn perfect_prediction_scores_one((sources, _, truth) in labelling()) {
            for scope in [Scope::AllPairs, Scope::CrossSource] {
                // Relabel to show only equality matters.
                let predicted: Vec<u32> = truth.iter().map(|&t| t * 7 + 100).collect();
                let r = evaluate_clusters(&sources, &predicted, &truth, scope);
                for m in [r.pairwise, r.bcubed, r.cluster_exact] {
                    prop_assert!(close(m.precision, 1.0) && close(m.recall, 1.0) && close(m.f1, 1.0));
                }
            }
        }

        #[test]
        fn pairwise_matches_brute_force((sources, predicted, truth) in labelling()) {
            for scope in [Scope::AllPairs, Scope::CrossSource] {
                let r = evaluate_clusters(&sources, &predicted, &truth, scope);
                let (tp, pred, actual) = brute_force(&sources, &predicted, &truth, scope);
                prop_assert_eq!((r.pairwise.true_positives, r.pairwise.predicted, r.pairwise.actual), (tp, pred, actual));
            }
        }

        #[test]
        fn pair_truth_of_all_cluster_pairs_agrees((sources, predicted, truth) in labelling()) {
            let n = truth.len() as u32;
            let pairs: Vec<(u32, u32)> = (0..n)
                .flat_map(|a| (a + 1..n).map(move |b| (a, b)))
                .filter(|&(a, b)| truth[a as usize] == truth[b as usize])
                .collect();
            for scope in [Scope::AllPairs, Scope::CrossSource] {
                let by_clusters = evaluate_clusters(&sources, &predicted, &truth, scope);
                let by_pairs = evaluate_pairs(&sources, &predicted, &pairs, scope);
                prop_assert_eq!(by_pairs.pairwise, by_clusters.pairwise);
                prop_assert!(close(by_pairs.bcubed.f1, by_clusters.bcubed.f1));
                prop_assert_eq!(by_pairs.cluster_exact, by_clusters.cluster_exact);
                prop_assert_eq!(
                    blocking_recall_pairs(&pairs, &sources, &pairs, scope),
                    blocking_recall_clusters(&truth, &sources, &pairs, scope)
                );
            }
        }
    }
}
