//! Clustering of scored edges into entities.
//!
//! Records are dense indices `0..n`; an edge is a [`ScoredPair`] carrying its match weight.
//! Two clusterers share one labelling convention — a label per record, labels dense
//! (`0..clusters`) and numbered in order of the smallest record index of each cluster — so
//! their outputs are deterministic and directly comparable:
//!
//! - [`connected_components`]: every edge at or above the threshold joins its endpoints.
//!   Simple and fast, but one spurious edge merges two worlds.
//! - [`robust_clusters`]: resists chaining (a merge needs enough supporting edges between
//!   the two clusters) and honours analyst "not-same" judgements as hard constraints.
//!
//! ```
//! use spirit_matching::cluster::{connected_components, robust_clusters, RobustParams, ScoredPair};
//!
//! let e = |left, right, weight| ScoredPair { left, right, weight };
//! let edges = [e(0, 1, 9.0), e(1, 2, 8.0), e(3, 4, 7.0)];
//! assert_eq!(connected_components(5, &edges, 5.0), vec![0, 0, 0, 1, 1]);
//! // Judge 0 and 2 "not same": they can never share a cluster.
//! let labels = robust_clusters(5, &edges, 5.0, RobustParams::default(), &[(0, 2)]);
//! assert_ne!(labels[0], labels[2]);
//! ```

use rustc_hash::FxHashSet;
use spirit_model::probability_to_weight;

use crate::settings::{ClusterMethod, Settings};

/// An undirected scored edge between dense record indices.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoredPair {
    /// One endpoint (a dense record index).
    pub left: u32,
    /// The other endpoint (a dense record index).
    pub right: u32,
    /// The pair's match weight (log2 Bayes factor).
    pub weight: f64,
}

/// Parameters of [`robust_clusters`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RobustParams {
    /// Share of all possible cross pairs between two clusters that must be joined by a
    /// supporting edge before the clusters merge (see [`robust_clusters`]).
    pub min_density: f64,
    /// Smallest weight of an edge that counts as support. It may be below the merge
    /// threshold: weaker edges cannot start a merge but can vouch for one.
    pub support_weight: f64,
}

impl Default for RobustParams {
    /// `min_density` 0.5, `support_weight` 0.0 (any pair more likely a match than not).
    fn default() -> Self {
        RobustParams {
            min_density: 0.5,
            support_weight: 0.0,
        }
    }
}

/// Connected components over the edges with `weight >= threshold_weight`.
///
/// Returns a cluster label per record (`0..n`); labels are dense and assigned in order of
/// the smallest record index of each cluster, so the output does not depend on edge order.
/// An edge naming an index `>= n` is a programming error: it trips a debug assertion and
/// is skipped in release builds.
pub fn connected_components(n: usize, edges: &[ScoredPair], threshold_weight: f64) -> Vec<u32> {
    assert!(n <= u32::MAX as usize, "record indices are u32");
    let mut parent: Vec<u32> = (0..n as u32).collect();
    let mut size: Vec<u32> = vec![1; n];
    for e in edges {
        if !in_range(n, e.left, e.right) || e.weight.is_nan() || e.weight < threshold_weight {
            continue;
        }
        let a = find(&mut parent, e.left);
        let b = find(&mut parent, e.right);
        if a == b {
            continue;
        }
        let (big, small) = if size[a as usize] >= size[b as usize] {
            (a, b)
        } else {
            (b, a)
        };
        parent[small as usize] = big;
        size[big as usize] += size[small as usize];
    }
    dense_labels(n, |i| find(&mut parent, i))
}

/// Chaining-resistant clustering that honours "not-same" judgements.
///
/// Edges with `weight >= threshold_weight` are visited in descending weight (ties broken by
/// the endpoints, smaller index first, so the result does not depend on input order or on
/// which endpoint is `left`). An edge whose endpoints lie in different clusters `A` and
/// `B` merges them if and only if
///
/// 1. no `cannot_link` pair has one record in `A` and the other in `B`, and
/// 2. `cross >= params.min_density * |A| * |B|`, or `|A| + |B| <= 2`,
///
/// where `cross` is the number of distinct input edges (any order, duplicates counted
/// once) with `weight >= params.support_weight` joining a member of `A` to a member of `B`.
///
/// A single spurious edge between two clusters of five has density 1/25 and is refused; a
/// true duplicate joining a cluster of three typically has edges to most of its members.
/// The result refines [`connected_components`] at the same threshold: records it puts
/// together are always connected there. `cannot_link` pairs never share a cluster.
///
/// Labels follow the same convention as [`connected_components`]. Indices `>= n` in
/// `edges` or `cannot_link` are programming errors (debug assertion; skipped in release).
///
/// Cost: adjacency lists of the support edges plus union-find with member lists, merging
/// the smaller cluster into the larger. Each cluster keeps the number of support edges
/// leaving it, an upper bound on `cross` that refuses most sparse merges at once; otherwise
/// counting `cross` walks the adjacency of the side with fewer support entries. A refused
/// pair of clusters is not re-examined until one of them grows.
pub fn robust_clusters(
    n: usize,
    edges: &[ScoredPair],
    threshold_weight: f64,
    params: RobustParams,
    cannot_link: &[(u32, u32)],
) -> Vec<u32> {
    robust_clusters_constrained(n, edges, threshold_weight, params, &[], cannot_link)
}

/// [`robust_clusters`] with analyst "same" judgements as well: every `must_link` pair is
/// joined before any edge is considered (whatever the edges say), unless that would put a
/// `cannot_link` pair together — contradictory judgements are for the caller to refuse;
/// here "not same" wins. With `min_density` 0 this is connected components that honour
/// both kinds of judgement.
pub fn robust_clusters_constrained(
    n: usize,
    edges: &[ScoredPair],
    threshold_weight: f64,
    params: RobustParams,
    must_link: &[(u32, u32)],
    cannot_link: &[(u32, u32)],
) -> Vec<u32> {
    assert!(n <= u32::MAX as usize, "record indices are u32");
    let support = Adjacency::new(
        n,
        edges
            .iter()
            .filter(|e| {
                in_range(n, e.left, e.right)
                    && !e.weight.is_nan()
                    && e.weight >= params.support_weight
            })
            .map(|e| (e.left, e.right)),
    );
    let forbid = Adjacency::new(
        n,
        cannot_link
            .iter()
            .filter(|&&(a, b)| in_range(n, a, b))
            .copied(),
    );

    let mut order: Vec<(f64, u32, u32)> = edges
        .iter()
        .filter(|e| {
            in_range(n, e.left, e.right)
                && e.left != e.right
                && !e.weight.is_nan()
                && e.weight >= threshold_weight
        })
        .map(|e| (e.weight, e.left.min(e.right), e.left.max(e.right)))
        .collect();
    order.sort_unstable_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)));

    let mut clusters = Clusters::new(n, &support, &forbid);
    for &(a, b) in must_link {
        if !in_range(n, a, b) {
            continue;
        }
        let (ra, rb) = (clusters.owner[a as usize], clusters.owner[b as usize]);
        if ra != rb && !clusters.conflict(ra, rb) {
            let cross = clusters.cross(ra, rb);
            clusters.merge(ra, rb, cross);
        }
    }
    // A cluster's state is identified by (root, size): a root only ever grows, and an
    // absorbed root never becomes a root again.
    let mut refused: FxHashSet<(u32, u32, u32, u32)> = FxHashSet::default();
    for &(_, a, b) in &order {
        let ra = clusters.owner[a as usize];
        let rb = clusters.owner[b as usize];
        if ra == rb {
            continue;
        }
        let (r1, r2) = (ra.min(rb), ra.max(rb));
        let key = (r1, clusters.size(r1), r2, clusters.size(r2));
        if refused.contains(&key) {
            continue;
        }
        if let Some(cross) = clusters.may_merge(r1, r2, params.min_density) {
            clusters.merge(r1, r2, cross);
        } else {
            refused.insert(key);
        }
    }
    let owner = clusters.owner;
    dense_labels(n, |i| owner[i as usize])
}

/// True when both endpoints are valid record indices (asserted in debug builds).
fn in_range(n: usize, a: u32, b: u32) -> bool {
    let ok = (a as usize) < n && (b as usize) < n;
    debug_assert!(ok, "record index out of range: ({a}, {b}) with n = {n}");
    ok
}

/// Union-find root with path halving.
fn find(parent: &mut [u32], mut x: u32) -> u32 {
    while parent[x as usize] != x {
        let grandparent = parent[parent[x as usize] as usize];
        parent[x as usize] = grandparent;
        x = grandparent;
    }
    x
}

/// Dense labels numbered by the first (smallest) record of each cluster.
fn dense_labels(n: usize, mut root_of: impl FnMut(u32) -> u32) -> Vec<u32> {
    let mut label_of_root = vec![u32::MAX; n];
    let mut next = 0u32;
    (0..n as u32)
        .map(|i| {
            let root = root_of(i) as usize;
            if label_of_root[root] == u32::MAX {
                label_of_root[root] = next;
                next += 1;
            }
            label_of_root[root]
        })
        .collect()
}

/// Undirected adjacency lists in compressed form; duplicate pairs and self-loops dropped.
struct Adjacency {
    offsets: Vec<u32>,
    targets: Vec<u32>,
}

impl Adjacency {
    fn new(n: usize, pairs: impl Iterator<Item = (u32, u32)>) -> Adjacency {
        let mut pairs: Vec<(u32, u32)> = pairs
            .filter(|&(a, b)| a != b)
            .map(|(a, b)| (a.min(b), a.max(b)))
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        assert!(
            pairs.len() <= (u32::MAX / 2) as usize,
            "too many edges for u32 offsets"
        );
        let mut offsets = vec![0u32; n + 1];
        for &(a, b) in &pairs {
            offsets[a as usize + 1] += 1;
            offsets[b as usize + 1] += 1;
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let mut fill = offsets.clone();
        let mut targets = vec![0u32; pairs.len() * 2];
        for &(a, b) in &pairs {
            targets[fill[a as usize] as usize] = b;
            fill[a as usize] += 1;
            targets[fill[b as usize] as usize] = a;
            fill[b as usize] += 1;
        }
        Adjacency { offsets, targets }
    }

    fn neighbours(&self, i: u32) -> &[u32] {
        let i = i as usize;
        &self.targets[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }

    fn degree(&self, i: u32) -> u64 {
        let i = i as usize;
        u64::from(self.offsets[i + 1] - self.offsets[i])
    }

    fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }
}

/// Clusters with explicit membership: every record knows its root (`owner`), members of a
/// cluster form a circular list through `next`, per-root totals of adjacency entries
/// decide which side of a candidate merge is cheaper to walk, and `external` counts the
/// support edges leaving each cluster.
struct Clusters<'a> {
    owner: Vec<u32>,
    next: Vec<u32>,
    size: Vec<u32>,
    support_entries: Vec<u64>,
    external: Vec<u64>,
    forbid_entries: Vec<u64>,
    support: &'a Adjacency,
    forbid: &'a Adjacency,
}

impl<'a> Clusters<'a> {
    fn new(n: usize, support: &'a Adjacency, forbid: &'a Adjacency) -> Clusters<'a> {
        let ids = 0..n as u32;
        Clusters {
            owner: ids.clone().collect(),
            next: ids.clone().collect(),
            size: vec![1; n],
            support_entries: ids.clone().map(|i| support.degree(i)).collect(),
            external: ids.clone().map(|i| support.degree(i)).collect(),
            forbid_entries: ids.map(|i| forbid.degree(i)).collect(),
            support,
            forbid,
        }
    }

    fn size(&self, root: u32) -> u32 {
        self.size[root as usize]
    }

    /// The members of the cluster rooted at `root`.
    fn members(&self, root: u32) -> impl Iterator<Item = u32> + '_ {
        let mut current = Some(root);
        std::iter::from_fn(move || {
            let member = current?;
            let following = self.next[member as usize];
            current = (following != root).then_some(following);
            Some(member)
        })
    }

    /// Whether clusters `a` and `b` (both roots, distinct) may merge under the rule
    /// documented on [`robust_clusters`]; if so, the number of support edges between them
    /// (0 when the density needed is 0, where it is never consulted).
    fn may_merge(&self, a: u32, b: u32, min_density: f64) -> Option<u64> {
        if self.conflict(a, b) {
            return None;
        }
        let (size_a, size_b) = (u64::from(self.size(a)), u64::from(self.size(b)));
        let needed = min_density * (size_a * size_b) as f64;
        if needed <= 0.0 {
            return Some(0);
        }
        let pair_of_singletons = size_a + size_b <= 2;
        let bound = self.external[a as usize].min(self.external[b as usize]);
        if !pair_of_singletons && (bound as f64) < needed {
            return None;
        }
        let cross = self.cross(a, b);
        (pair_of_singletons || cross as f64 >= needed).then_some(cross)
    }

    /// Whether a cannot-link pair has one record in cluster `a` and one in cluster `b`.
    fn conflict(&self, a: u32, b: u32) -> bool {
        if self.forbid.is_empty() {
            return false;
        }
        let (walk, other) = if self.forbid_entries[a as usize] <= self.forbid_entries[b as usize] {
            (a, b)
        } else {
            (b, a)
        };
        self.forbid_entries[walk as usize] > 0
            && self.members(walk).any(|m| {
                self.forbid
                    .neighbours(m)
                    .iter()
                    .any(|&x| self.owner[x as usize] == other)
            })
    }

    /// The number of support edges between clusters `a` and `b`, walking the side with
    /// fewer adjacency entries.
    fn cross(&self, a: u32, b: u32) -> u64 {
        let (walk, other) = if self.support_entries[a as usize] <= self.support_entries[b as usize]
        {
            (a, b)
        } else {
            (b, a)
        };
        let mut cross = 0u64;
        for m in self.members(walk) {
            for &x in self.support.neighbours(m) {
                if self.owner[x as usize] == other {
                    cross += 1;
                }
            }
        }
        cross
    }

    /// Merges the clusters rooted at `a` and `b`, joined by `cross` support edges; the
    /// larger root survives.
    fn merge(&mut self, a: u32, b: u32, cross: u64) {
        let (big, small) = if self.size(a) >= self.size(b) {
            (a, b)
        } else {
            (b, a)
        };
        let mut m = small;
        loop {
            self.owner[m as usize] = big;
            m = self.next[m as usize];
            if m == small {
                break;
            }
        }
        // Splice the two circular member lists into one.
        self.next.swap(big as usize, small as usize);
        self.size[big as usize] += self.size[small as usize];
        self.external[big as usize] =
            (self.external[big as usize] + self.external[small as usize]).saturating_sub(2 * cross);
        self.support_entries[big as usize] += self.support_entries[small as usize];
        self.forbid_entries[big as usize] += self.forbid_entries[small as usize];
    }
}

/// Clusters scored edges with the settings' method and threshold, honouring "same"
/// (`must_link`) and "not same" (`cannot_link`) judgements on record indices: the one
/// clustering policy of the batch, incremental and cluster paths.
pub fn cluster_edges(
    n: usize,
    edges: &[spirit_model::Edge],
    settings: &Settings,
    must_link: &[(u32, u32)],
    cannot_link: &[(u32, u32)],
) -> Vec<u32> {
    let threshold_weight = probability_to_weight(settings.resolve.threshold);
    let pairs: Vec<ScoredPair> = edges
        .iter()
        .map(|e| ScoredPair {
            left: e.left,
            right: e.right,
            weight: e.weight,
        })
        .collect();
    let params = match settings.resolve.cluster {
        ClusterMethod::Components if must_link.is_empty() && cannot_link.is_empty() => {
            return connected_components(n, &pairs, threshold_weight);
        }
        // Greedy merging without a density test is connected components that honour
        // judgements.
        ClusterMethod::Components => RobustParams {
            min_density: 0.0,
            ..RobustParams::default()
        },
        ClusterMethod::Robust => RobustParams::default(),
    };
    robust_clusters_constrained(n, &pairs, threshold_weight, params, must_link, cannot_link)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn e(left: u32, right: u32, weight: f64) -> ScoredPair {
        ScoredPair {
            left,
            right,
            weight,
        }
    }

    fn clique(members: std::ops::Range<u32>, weight: f64) -> Vec<ScoredPair> {
        let mut out = Vec::new();
        for a in members.clone() {
            for b in a + 1..members.end {
                out.push(e(a, b, weight));
            }
        }
        out
    }

    fn cluster_count(labels: &[u32]) -> u32 {
        labels.iter().max().map_or(0, |m| m + 1)
    }

    #[test]
    fn components_label_by_smallest_member() {
        let edges = [e(4, 3, 5.0), e(1, 0, 5.0), e(2, 4, 1.0)];
        assert_eq!(connected_components(5, &edges, 2.0), vec![0, 0, 1, 2, 2]);
        assert_eq!(connected_components(5, &edges, 0.5), vec![0, 0, 1, 1, 1]);
        assert_eq!(connected_components(0, &[], 0.0), Vec::<u32>::new());
    }

    #[test]
    fn two_cliques_joined_by_one_edge() {
        let mut edges = clique(0..5, 10.0);
        edges.extend(clique(5..10, 10.0));
        edges.push(e(4, 5, 9.0));
        let components = connected_components(10, &edges, 5.0);
        assert_eq!(cluster_count(&components), 1);
        let robust = robust_clusters(10, &edges, 5.0, RobustParams::default(), &[]);
        assert_eq!(robust, vec![0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
    }

    #[test]
    fn bridge_as_strong_as_the_cliques_is_refused() {
        let mut edges = clique(0..5, 10.0);
        edges.extend(clique(5..10, 10.0));
        edges.push(e(0, 5, 10.0));
        let robust = robust_clusters(10, &edges, 5.0, RobustParams::default(), &[]);
        assert_eq!(robust, vec![0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
    }

    #[test]
    fn supported_chain_merges() {
        // a-b-c-d strong; a-c, b-d, a-d weaker but above the support weight.
        let edges = [
            e(0, 1, 10.0),
            e(1, 2, 10.0),
            e(2, 3, 10.0),
            e(0, 2, 2.0),
            e(1, 3, 2.0),
            e(0, 3, 2.0),
        ];
        let params = RobustParams {
            min_density: 0.5,
            support_weight: 1.0,
        };
        assert_eq!(
            robust_clusters(4, &edges, 5.0, params, &[]),
            vec![0, 0, 0, 0]
        );
    }

    #[test]
    fn unsupported_chain_is_cut() {
        // A bare chain: {0,1} + {2} has 1 cross edge of 2 possible (density 0.5, merged);
        // {0,1,2} + {3} has 1 of 3 (refused).
        let edges = [e(0, 1, 10.0), e(1, 2, 9.0), e(2, 3, 8.0)];
        let labels = robust_clusters(4, &edges, 5.0, RobustParams::default(), &[]);
        assert_eq!(labels, vec![0, 0, 0, 1]);
    }

    #[test]
    fn support_below_support_weight_does_not_count() {
        let edges = [
            e(0, 1, 10.0),
            e(1, 2, 10.0),
            e(2, 3, 10.0),
            e(0, 3, 0.5),
            e(1, 3, 0.5),
        ];
        let strict = RobustParams {
            min_density: 0.5,
            support_weight: 1.0,
        };
        assert_eq!(
            robust_clusters(4, &edges, 5.0, strict, &[]),
            vec![0, 0, 0, 1]
        );
        let lenient = RobustParams {
            min_density: 0.5,
            support_weight: 0.0,
        };
        assert_eq!(
            robust_clusters(4, &edges, 5.0, lenient, &[]),
            vec![0, 0, 0, 0]
        );
    }

    #[test]
    fn cannot_link_holds_against_strong_edges() {
        let edges = clique(0..4, 20.0);
        let labels = robust_clusters(4, &edges, 5.0, RobustParams::default(), &[(1, 3)]);
        assert_ne!(labels[1], labels[3]);
        assert_eq!(labels[0], labels[1]);
    }

    #[test]
    fn cannot_link_holds_along_an_indirect_path() {
        let edges = [e(0, 1, 20.0), e(1, 2, 15.0)];
        let params = RobustParams {
            min_density: 0.0,
            support_weight: 0.0,
        };
        let labels = robust_clusters(3, &edges, 5.0, params, &[(0, 2)]);
        assert_eq!(labels, vec![0, 0, 1]);
    }

    #[test]
    fn zero_density_is_components_with_judgements() {
        let edges = [e(0, 1, 10.0), e(1, 2, 9.0), e(2, 3, 8.0), e(5, 4, 7.0)];
        let params = RobustParams {
            min_density: 0.0,
            support_weight: 0.0,
        };
        assert_eq!(
            robust_clusters(6, &edges, 5.0, params, &[]),
            connected_components(6, &edges, 5.0)
        );
    }

    #[test]
    fn duplicate_and_reversed_edges_count_once() {
        // {0,1} + {2}: with 1-2 listed twice (once reversed) cross is still 1, and
        // 1 >= 0.75 * 2 fails.
        let edges = [e(0, 1, 10.0), e(1, 2, 9.0), e(2, 1, 9.0)];
        let params = RobustParams {
            min_density: 0.75,
            support_weight: 0.0,
        };
        assert_eq!(robust_clusters(3, &edges, 5.0, params, &[]), vec![0, 0, 1]);
    }

    #[test]
    fn weak_edges_never_merge() {
        let edges = [e(0, 1, 4.9), e(1, 2, f64::NAN)];
        assert_eq!(
            robust_clusters(3, &edges, 5.0, RobustParams::default(), &[]),
            vec![0, 1, 2]
        );
        assert_eq!(connected_components(3, &edges, 5.0), vec![0, 1, 2]);
    }

    fn scenario() -> impl Strategy<Value = (usize, Vec<ScoredPair>, Vec<(u32, u32)>, RobustParams)>
    {
        (1usize..14).prop_flat_map(|n| {
            let idx = 0..n as u32;
            let edge =
                (idx.clone(), idx.clone(), 0u8..8).prop_map(|(a, b, w)| e(a, b, f64::from(w)));
            (
                Just(n),
                prop::collection::vec(edge, 0..40),
                prop::collection::vec((idx.clone(), idx), 0..4),
                (0u8..5, 0u8..4).prop_map(|(d, s)| RobustParams {
                    min_density: f64::from(d) * 0.25,
                    support_weight: f64::from(s),
                }),
            )
        })
    }

    fn is_dense(labels: &[u32]) -> bool {
        let mut next = 0;
        for &l in labels {
            if l > next {
                return false;
            }
            if l == next {
                next += 1;
            }
        }
        true
    }

    proptest! {
        #[test]
        fn robust_is_deterministic_under_edge_order(
            (n, edges, cannot, params) in scenario(),
            seed in any::<u64>(),
        ) {
            let expected = robust_clusters(n, &edges, 3.0, params, &cannot);
            // Shuffle deterministically from the seed and flip some edges.
            let mut shuffled = edges.clone();
            let mut state = seed | 1;
            for i in (1..shuffled.len()).rev() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let j = (state % (i as u64 + 1)) as usize;
                shuffled.swap(i, j);
                if state & 2 == 0 {
                    let p = &mut shuffled[i];
                    std::mem::swap(&mut p.left, &mut p.right);
                }
            }
            let mut cannot_rev: Vec<(u32, u32)> = cannot.iter().rev().map(|&(a, b)| (b, a)).collect();
            cannot_rev.extend(cannot.iter().copied());
            prop_assert_eq!(robust_clusters(n, &shuffled, 3.0, params, &cannot_rev), expected.clone());
            prop_assert_eq!(connected_components(n, &shuffled, 3.0), connected_components(n, &edges, 3.0));
        }

        #[test]
        fn labels_are_dense_and_ordered((n, edges, cannot, params) in scenario()) {
            for labels in [
                robust_clusters(n, &edges, 3.0, params, &cannot),
                connected_components(n, &edges, 3.0),
            ] {
                prop_assert_eq!(labels.len(), n);
                let count = cluster_count(&labels);
                prop_assert!(labels.iter().all(|&l| l < count));
                prop_assert!(is_dense(&labels));
            }
        }

        #[test]
        fn robust_refines_components((n, edges, cannot, params) in scenario()) {
            let robust = robust_clusters(n, &edges, 3.0, params, &cannot);
            let components = connected_components(n, &edges, 3.0);
            for i in 0..n {
                for j in 0..n {
                    if robust[i] == robust[j] {
                        prop_assert_eq!(components[i], components[j]);
                    }
                }
            }
        }

        #[test]
        fn cannot_link_pairs_never_share_a_cluster((n, edges, cannot, params) in scenario()) {
            let robust = robust_clusters(n, &edges, 3.0, params, &cannot);
            for &(a, b) in &cannot {
                if a != b {
                    prop_assert_ne!(robust[a as usize], robust[b as usize]);
                }
            }
        }
    }

    #[test]
    fn same_judgements_join_and_not_same_wins() {
        // No edges at all: "same" alone joins 0-1 and, through 1, 2.
        let labels = robust_clusters_constrained(
            4,
            &[],
            5.0,
            RobustParams::default(),
            &[(0, 1), (2, 1)],
            &[],
        );
        assert_eq!(labels, vec![0, 0, 0, 1]);
        // A contradicting pair of judgements: "not same" between 0 and 2 wins.
        let labels = robust_clusters_constrained(
            3,
            &[],
            5.0,
            RobustParams::default(),
            &[(0, 1), (1, 2)],
            &[(0, 2)],
        );
        assert_ne!(labels[0], labels[2]);
        // A strong edge cannot undo a "not same" that a "same" made transitive.
        let labels = robust_clusters_constrained(
            3,
            &[e(1, 2, 20.0)],
            5.0,
            RobustParams::default(),
            &[(0, 1)],
            &[(0, 2)],
        );
        assert_eq!(labels[0], labels[1]);
        assert_ne!(labels[1], labels[2]);
    }

    proptest! {
        #[test]
        fn judgements_always_hold(
            n in 2u32..12,
            raw_edges in proptest::collection::vec((0u32..12, 0u32..12, -5.0f64..20.0), 0..40),
            raw_same in proptest::collection::vec((0u32..12, 0u32..12), 0..6),
            raw_not in proptest::collection::vec((0u32..12, 0u32..12), 0..6),
            density in 0.0f64..1.0,
        ) {
            let edges: Vec<ScoredPair> = raw_edges
                .into_iter()
                .filter(|(a, b, _)| *a < n && *b < n)
                .map(|(a, b, w)| e(a, b, w))
                .collect();
            let not_same: Vec<(u32, u32)> =
                raw_not.into_iter().filter(|(a, b)| *a < n && *b < n && a != b).collect();
            // "Same" judgements that do not contradict "not same" ones (the store refuses
            // contradictions): keep those whose transitive closure stays consistent.
            let mut same = Vec::new();
            for (a, b) in raw_same.into_iter().filter(|(a, b)| *a < n && *b < n) {
                let mut trial = same.clone();
                trial.push((a, b));
                let comp = connected_components(
                    n as usize,
                    &trial.iter().map(|&(x, y)| e(x, y, 1.0)).collect::<Vec<_>>(),
                    0.0,
                );
                if not_same.iter().all(|&(x, y)| comp[x as usize] != comp[y as usize]) {
                    same = trial;
                }
            }
            let params = RobustParams { min_density: density, support_weight: 0.0 };
            let labels = robust_clusters_constrained(n as usize, &edges, 5.0, params, &same, &not_same);
            for &(a, b) in &same {
                prop_assert_eq!(labels[a as usize], labels[b as usize]);
            }
            for &(a, b) in &not_same {
                prop_assert_ne!(labels[a as usize], labels[b as usize]);
            }
        }
    }
}
