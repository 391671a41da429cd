//! From scored candidates to links: greedy 1:1 matching for two parties and greedy
//! clustering with at most one record per party for three or more.
//!
//! **Two parties.** When each party holds each person at most once, a record may link to
//! at most one record of the other side. [`greedy_one_to_one`] takes candidates from the
//! highest Dice down and keeps a pair when neither record is taken yet (as anonlink's
//! greedy solver does). Ties are broken by the smaller A index, then the smaller B index,
//! so the result does not depend on input order.
//!
//! **Several parties.** [`cluster_parties`] merges clusters greedily along the candidate
//! edges, highest Dice first, never putting two records of one party in a cluster. When
//! both clusters already hold several records, the merge also needs at least
//! `min_link_share` of the record pairs across them to be candidates at or above the
//! threshold: a single strong edge does not join two established groups (chaining).

use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};

use crate::block::Candidate;

fn order(x: &Candidate, y: &Candidate) -> std::cmp::Ordering {
    y.score
        .total_cmp(&x.score)
        .then(x.a.cmp(&y.a))
        .then(x.b.cmp(&y.b))
}

/// Greedy 1:1 matching: highest score first, each record used at most once, only scores
/// ≥ `threshold`. Returns the kept pairs sorted by A index.
pub fn greedy_one_to_one(candidates: &[Candidate], threshold: f64) -> Vec<Candidate> {
    let mut sorted: Vec<Candidate> = candidates
        .iter()
        .copied()
        .filter(|c| c.score >= threshold)
        .collect();
    sorted.sort_unstable_by(order);
    let mut used_a: FxHashSet<u32> = FxHashSet::default();
    let mut used_b: FxHashSet<u32> = FxHashSet::default();
    let mut out = Vec::new();
    for c in sorted {
        if !used_a.contains(&c.a) && !used_b.contains(&c.b) {
            used_a.insert(c.a);
            used_b.insert(c.b);
            out.push(c);
        }
    }
    out.sort_unstable_by_key(|c| (c.a, c.b));
    out
}

/// A record of one party.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RecordRef {
    /// Party number (position in the list of parties).
    pub party: u16,
    /// Record index within the party.
    pub index: u32,
}

/// A candidate between records of two different parties.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PartyCandidate {
    /// One record.
    pub left: RecordRef,
    /// The other record (of another party).
    pub right: RecordRef,
    /// Dice coefficient.
    pub score: f64,
}

fn key(x: RecordRef, y: RecordRef) -> (RecordRef, RecordRef) {
    if x <= y { (x, y) } else { (y, x) }
}

/// Greedy clustering of records of several parties (see the module docs). Returns the
/// clusters of two or more records, each sorted, in order of their first record.
/// Candidates within one party are ignored.
pub fn cluster_parties(
    candidates: &[PartyCandidate],
    threshold: f64,
    min_link_share: f64,
) -> Vec<Vec<RecordRef>> {
    let mut edges: Vec<PartyCandidate> = candidates
        .iter()
        .copied()
        .filter(|c| c.score >= threshold && c.left.party != c.right.party)
        .map(|c| {
            let (l, r) = key(c.left, c.right);
            PartyCandidate {
                left: l,
                right: r,
                score: c.score,
            }
        })
        .collect();
    edges.sort_unstable_by(|x, y| {
        y.score
            .total_cmp(&x.score)
            .then(x.left.cmp(&y.left))
            .then(x.right.cmp(&y.right))
    });
    let linked: FxHashSet<(RecordRef, RecordRef)> =
        edges.iter().map(|e| (e.left, e.right)).collect();
    // Cluster id per record; members per cluster id.
    let mut cluster_of: FxHashMap<RecordRef, usize> = FxHashMap::default();
    let mut members: Vec<Vec<RecordRef>> = Vec::new();
    for e in &edges {
        let cl = cluster_of.get(&e.left).copied();
        let cr = cluster_of.get(&e.right).copied();
        match (cl, cr) {
            (None, None) => {
                let id = members.len();
                members.push(vec![e.left, e.right]);
                cluster_of.insert(e.left, id);
                cluster_of.insert(e.right, id);
            }
            (Some(c), None) | (None, Some(c)) => {
                let new = if cl.is_some() { e.right } else { e.left };
                if members[c].iter().any(|m| m.party == new.party) {
                    continue;
                }
                members[c].push(new);
                cluster_of.insert(new, c);
            }
            (Some(x), Some(y)) => {
                if x == y {
                    continue;
                }
                let (mx, my) = (&members[x], &members[y]);
                if mx.iter().any(|m| my.iter().any(|n| n.party == m.party)) {
                    continue;
                }
                if mx.len() > 1 && my.len() > 1 {
                    let total = mx.len() * my.len();
                    let links = mx
                        .iter()
                        .flat_map(|m| my.iter().map(move |n| key(*m, *n)))
                        .filter(|k| linked.contains(k))
                        .count();
                    if (links as f64) < min_link_share * total as f64 {
                        continue;
                    }
                }
                let (keep, gone) = if x < y { (x, y) } else { (y, x) };
                let moved = std::mem::take(&mut members[gone]);
                for m in &moved {
                    cluster_of.insert(*m, keep);
                }
                members[keep].extend(moved);
            }
        }
    }
    let mut out: Vec<Vec<RecordRef>> = members
        .into_iter()
        .filter(|m| m.len() > 1)
        .map(|mut m| {
            m.sort_unstable();
            m
        })
        .collect();
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(a: u32, b: u32, score: f64) -> Candidate {
        Candidate { a, b, score }
    }

    #[test]
    fn greedy_takes_best_first_and_each_record_once() {
        let cands = [
            c(0, 0, 0.9),
            c(0, 1, 0.95),
            c(1, 1, 0.92),
            c(1, 0, 0.85),
            c(2, 2, 0.5),
        ];
        let m = greedy_one_to_one(&cands, 0.8);
        assert_eq!(m, vec![c(0, 1, 0.95), c(1, 0, 0.85)]);
    }

    #[test]
    fn greedy_is_independent_of_input_order() {
        let mut cands = vec![c(0, 0, 0.9), c(1, 0, 0.9), c(0, 1, 0.9), c(1, 1, 0.9)];
        let first = greedy_one_to_one(&cands, 0.5);
        cands.reverse();
        assert_eq!(greedy_one_to_one(&cands, 0.5), first);
        assert_eq!(first, vec![c(0, 0, 0.9), c(1, 1, 0.9)]);
    }

    fn r(party: u16, index: u32) -> RecordRef {
        RecordRef { party, index }
    }

    fn e(l: RecordRef, rr: RecordRef, score: f64) -> PartyCandidate {
        PartyCandidate {
            left: l,
            right: rr,
            score,
        }
    }

    #[test]
    fn clusters_hold_one_record_per_party() {
        let cands = [
            e(r(0, 0), r(1, 0), 0.95),
            e(r(1, 0), r(2, 0), 0.94),
            e(r(0, 0), r(2, 0), 0.93),
            // A second record of party 2 close to the cluster must stay out.
            e(r(0, 0), r(2, 1), 0.92),
            e(r(0, 5), r(1, 5), 0.90),
            e(r(0, 5), r(0, 6), 0.99), // same party: ignored
        ];
        let cl = cluster_parties(&cands, 0.8, 0.5);
        assert_eq!(
            cl,
            vec![vec![r(0, 0), r(1, 0), r(2, 0)], vec![r(0, 5), r(1, 5)]]
        );
    }

    #[test]
    fn one_edge_does_not_chain_two_groups() {
        let cands = [
            e(r(0, 0), r(1, 0), 0.95),
            e(r(2, 0), r(3, 0), 0.95),
            e(r(1, 0), r(2, 0), 0.90),
        ];
        let cl = cluster_parties(&cands, 0.8, 0.5);
        assert_eq!(cl.len(), 2);
        let cl = cluster_parties(&cands, 0.8, 0.0);
        assert_eq!(cl.len(), 1);
    }
}
